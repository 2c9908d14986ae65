"""One run at a time per workbook: a second `generate` on the same file refuses clearly.

The lock is an OS-level file lock (filelock), released by the system even when the process
is killed, kept in the temporary folder so the user's folder gets no extra file.
"""
from __future__ import annotations

import hashlib
import tempfile
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from .model import RelanceError


def lock_key(workbook: Path) -> str:
    """A short name for one workbook file (its lock, its staging folders)."""
    return hashlib.sha1(str(Path(workbook).resolve()).casefold().encode("utf-8")).hexdigest()[:12]


def lock_path(workbook: Path) -> Path:
    return Path(tempfile.gettempdir()) / f"relance-{lock_key(workbook)}.lock"


@contextmanager
def run_lock(workbook: Path):
    lock = FileLock(str(lock_path(workbook)), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RelanceError(
            f"Une autre génération de relances est déjà en cours sur {Path(workbook).name} : "
            f"attendez qu'elle se termine, puis relancez si besoin. Rien n'a été écrit.") from None
    try:
        yield
    finally:
        lock.release()
