"""Reading the receivables sheet ahead, in a background thread, while the command imports
the rest of Relance: calamine lets go of the GIL, so on a large ledger the parse and the
imports overlap. Light on purpose: importing this module must cost nothing."""
from __future__ import annotations

import os
import threading
from typing import Optional

_pending = {}  # real path -> (file stamp, thread, {"book": CalamineBook, sheet parsed})


def _stamp(real: str) -> Optional[tuple]:
    """What tells the very file apart: a copy that keeps size and modification time (`cp -p`,
    `rsync -t`) still has another inode and change time."""
    try:
        st = os.stat(real)
    except (OSError, ValueError):
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def start(path) -> None:
    """Open the workbook `path` and parse its `Créances` sheet (case and accents aside) in the
    background. Any problem is left for the normal read to report in its own words."""
    real = os.path.realpath(path)
    stamp = _stamp(real)
    if stamp is None or real in _pending:
        return
    box = {}

    def work():
        try:
            import zipfile
            # First the largest sheet's XML, most likely the receivables: inflating lets go of
            # the GIL, so it runs while the command imports the rest of Relance.
            with zipfile.ZipFile(real) as zf:
                sheets = [i for i in zf.infolist() if i.filename.startswith("xl/worksheets/")]
                largest = max(sheets, key=lambda i: i.file_size, default=None)
                inflated = {largest.filename: zf.read(largest)} if largest else {}
            from pathlib import Path
            from ..values import fold
            from .fast_xlsx import CalamineBook
            from .ledger import RECEIVABLES_SHEET
            book = CalamineBook(Path(real))
            box["book"] = book
            name = next((n for n in book.sheetnames if fold(n) == fold(RECEIVABLES_SHEET)), None)
            if name is not None:
                book.parse(name, inflated.get(book.parts.get(name)))
        except Exception:  # noqa: BLE001 — reported by the normal read, if it matters
            book = box.pop("book", None)
            if book is not None:
                book.close()

    thread = threading.Thread(target=work, name="relance-read-ahead", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no thread to be had: the command reads as usual
        return
    _pending[real] = (stamp, thread, box)


def take(path):
    """The book read ahead for this very file (unchanged since), or None. Either way the read
    ahead is over once this returns: its thread has ended."""
    real = os.path.realpath(path)
    entry = _pending.pop(real, None)
    if entry is None:
        return None
    stamp, thread, box = entry
    thread.join()
    book = box.get("book")
    if book is not None and _stamp(real) != stamp:
        book.close()  # the file changed meanwhile: read it again
        return None
    return book
