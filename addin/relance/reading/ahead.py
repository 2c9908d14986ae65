"""Reading the receivables sheet ahead, in a background thread, while the command imports
the rest of Relance: calamine lets go of the GIL, so on a large ledger the parse and the
imports overlap. Light on purpose: importing this module must cost nothing."""
from __future__ import annotations

import os
import threading
from typing import Optional

_pending = {}  # file key -> (thread, {"book": CalamineBook with the receivables sheet read})


def _file_key(path) -> Optional[tuple]:
    try:
        real = os.path.realpath(path)
        stat = os.stat(real)
    except (OSError, ValueError):
        return None
    return real, stat.st_size, stat.st_mtime_ns


def start(path) -> None:
    """Open the workbook `path` and read its `Créances` sheet (case and accents aside) in the
    background. Any problem is left for the normal read to report in its own words."""
    key = _file_key(path)
    if key is None or key in _pending:
        return
    box = {}

    def work():
        try:
            import zipfile
            # First the largest sheet's XML, most likely the receivables: inflating lets go of
            # the GIL, so it runs while the command imports the rest of Relance.
            with zipfile.ZipFile(path) as zf:
                sheets = [i for i in zf.infolist() if i.filename.startswith("xl/worksheets/")]
                largest = max(sheets, key=lambda i: i.file_size, default=None)
                inflated = {largest.filename: zf.read(largest)} if largest else {}
            from pathlib import Path
            from ..values import fold
            from .fast_xlsx import CalamineBook
            from .ledger import RECEIVABLES_SHEET
            book = CalamineBook(Path(path))
            box["book"] = book
            name = next((n for n in book.sheetnames if fold(n) == fold(RECEIVABLES_SHEET)), None)
            if name is not None:
                book.parse(name, inflated.get(book.parts.get(name)))
        except Exception:  # noqa: BLE001 — reported by the normal read, if it matters
            box.pop("book", None)

    thread = threading.Thread(target=work, name="relance-read-ahead", daemon=True)
    _pending[key] = (thread, box)
    thread.start()


def take(path):
    """The book read ahead for this very file (same size and modification time), or None."""
    key = _file_key(path)
    entry = _pending.pop(key, None) if key else None
    if entry is None:
        return None
    thread, box = entry
    thread.join()
    return box.get("book")
