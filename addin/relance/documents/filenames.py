"""Output file names: stable from run to run, valid on Windows and macOS whatever the client's name.

pathvalidate removes the characters Windows forbids (`/ \\ : * ? " < > |`, control
characters), renames reserved device names (`CON`, `NUL`, `COM1`…) and trailing dots or
spaces; names are cut to a length that keeps full paths well under Windows' limit.
"""
from __future__ import annotations

import unicodedata

from pathvalidate import sanitize_filename

MAX_STEM = 80


def safe_stem(text: str, max_len: int = MAX_STEM) -> str:
    text = unicodedata.normalize("NFC", " ".join(str(text).split()))
    stem = sanitize_filename(text, platform="universal", max_len=max_len).strip(" .")
    stem = sanitize_filename(stem, platform="universal")  # a cut may uncover a reserved name
    return stem or "client"


def letter_stems(clients: list, prefix: str = "2e relance", taken=frozenset()) -> list:
    """One stem per client (name, code), in order, made unique by a numeric suffix.

    `taken` holds stems (case-folded) that must not be reused: the letters an earlier run
    recorded in the Journal are the accountant's proof and are never overwritten."""
    stems, seen = [], set(taken)
    for name, code in clients:
        label = f"{prefix} - {code} - {name}" if code.strip() else f"{prefix} - {name}"
        stem = safe_stem(label)
        base, n = stem, 2
        while stem.casefold() in seen:  # Windows and macOS compare names without case
            stem = f"{base[:MAX_STEM - 5]} ({n})"
            n += 1
        seen.add(stem.casefold())
        stems.append(stem)
    return stems
