"""Reading the receivables sheet ahead, in a background thread, while the command imports
the rest of Relance: inflating the sheet's XML and calamine's parse let go of the GIL, so on a
large ledger they overlap the imports. Light on purpose: importing this module must cost
nothing."""
from __future__ import annotations

import os
import threading
from typing import Callable, Optional

_pending = {}  # real path -> (file stamp, thread, {"book": CalamineBook} or {"sheet": …})


def _stamp(real: str) -> Optional[tuple]:
    """What tells the very file apart: a copy that keeps size and modification time (`cp -p`,
    `rsync -t`) still has another inode and change time."""
    try:
        st = os.stat(real)
    except (OSError, ValueError):
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def receivables_xml(path, wanted: Callable[[int], bool]) -> Optional[tuple]:
    """(The receivables sheet's part in the package, its XML inflated) when the workbook has a
    `Créances` sheet (case and accents aside) whose XML size `wanted` accepts; else None,
    whatever is wrong with the file (the normal read reports it in its own words)."""
    try:
        import zipfile
        from ..values import fold
        from .fast_xlsx import sheet_parts
        from .ledger import RECEIVABLES_SHEET
        with zipfile.ZipFile(path) as zf:
            parts = sheet_parts(zf)
            part = next((p for n, p in parts.items() if fold(n) == fold(RECEIVABLES_SHEET)), None)
            info = zf.NameToInfo.get(part) if part else None
            if info is None or not wanted(info.file_size):
                return None
            return part, zf.read(info)
    except Exception:  # noqa: BLE001 — reported by the normal read, if it matters
        return None


def start(path, share_out: Optional[Callable[[int], bool]] = None) -> None:
    """Open the workbook `path` and parse its `Créances` sheet (case and accents aside) in the
    background. With `share_out` (`relance scan --json`): when it accepts the sheet's XML size,
    only inflate that XML, for two processes to parse it (json_scan.py); a fork must then find
    no other thread running. Any problem is left for the normal read to report."""
    real = os.path.realpath(path)
    stamp = _stamp(real)
    if stamp is None or real in _pending:
        return
    box = {}

    def work():
        if share_out is not None:
            sheet = receivables_xml(real, share_out)
            if sheet is not None:
                box["sheet"] = sheet
                return
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


def _finished(path) -> Optional[tuple]:
    """(real path, what the read ahead of this file left) once its thread has ended; None when
    there was none."""
    real = os.path.realpath(path)
    entry = _pending.get(real)
    if entry is None:
        return None
    entry[1].join()
    return real, entry


def take(path):
    """The book read ahead for this very file (unchanged since), or None. Either way the read
    ahead is over once this returns: its thread has ended."""
    found = _finished(path)
    if found is None:
        return None
    real, (stamp, _, box) = found
    del _pending[real]
    book = box.get("book")
    if book is not None and _stamp(real) != stamp:
        book.close()  # the file changed meanwhile: read it again
        return None
    return book


def take_sheet(path) -> Optional[tuple]:
    """(part, XML) of the receivables sheet inflated ahead for this very file (unchanged
    since), or None; a book read ahead instead stays there for `take`. Either way no thread
    of the read ahead is left running."""
    found = _finished(path)
    if found is None or "sheet" not in found[1][2]:
        return None
    real, (stamp, _, box) = found
    del _pending[real]
    return box["sheet"] if _stamp(real) == stamp else None
