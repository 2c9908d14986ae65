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


def letter_stems(clients: list, prefix: str = "2e relance", taken=lambda stem, i: False) -> list:
    """One stem per client (name, code), in order, made unique by a numeric suffix.

    `taken(stem, i)` says a stem must not be used for the i-th client: a letter an earlier run
    recorded in the Journal is the accountant's proof, and a letter of another workbook in a
    shared folder is not ours to replace."""
    stems, seen = [], set()
    for i, (name, code) in enumerate(clients):
        label = f"{prefix} - {code} - {name}" if code.strip() else f"{prefix} - {name}"
        stem = safe_stem(label)
        base, n = stem, 2
        while stem.casefold() in seen or taken(stem, i):  # Windows and macOS ignore case
            stem = f"{base[:MAX_STEM - 5]} ({n})"
            n += 1
        seen.add(stem.casefold())
        stems.append(stem)
    return stems


def document_owner(path) -> str:
    """The `identifier` document property of a .docx (who wrote it), or "" if unreadable."""
    import re
    import zipfile
    try:
        with zipfile.ZipFile(path) as zf:
            core = zf.read("docProps/core.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return ""
    m = re.search(r"<dc:identifier(?: [^>]*)?>(.*?)</dc:identifier>", core, re.S)
    return m.group(1) if m else ""
