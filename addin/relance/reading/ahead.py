"""Reading the receivables sheet ahead, in a background thread, while the command imports
the rest of Relance: inflating the sheet's XML and calamine's parse let go of the GIL, so on a
large ledger they overlap the imports. Light on purpose: importing this module must cost
nothing."""
from __future__ import annotations

import os
import threading
from typing import Callable, Optional

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")  # what calamine reads ahead (a CSV is read at once)
_pending = {}  # real path -> (file stamp, thread, {"book": CalamineBook} or {"halves": …})


def file_stamp(path) -> Optional[tuple]:
    """What tells this very file apart from itself rewritten (see _stamp)."""
    return _stamp(os.path.realpath(path))


def _stamp(real: str) -> Optional[tuple]:
    """What tells the very file apart: a copy that keeps size and modification time (`cp -p`,
    `rsync -t`) still has another inode and change time."""
    try:
        st = os.stat(real)
    except (OSError, ValueError):
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def _is_zip(real: str) -> bool:
    """Whether the file starts as a workbook does (a zip): anything else (a workbook under a
    password, an old .xls, a damaged file) is for the normal read to name, calamine may even
    panic on it."""
    try:
        with open(real, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _receivables_part(zf) -> Optional[str]:
    """The part of the workbook's `Créances` sheet (case and accents aside), or None."""
    from ..values import fold
    from .fast_xlsx import sheet_parts
    from .ledger import RECEIVABLES_SHEET
    return next((p for n, p in sheet_parts(zf).items() if fold(n) == fold(RECEIVABLES_SHEET)),
                None)


def receivables_halves(path, wanted: Callable[[int], bool], inflated: Optional[tuple] = None
                       ) -> Optional[tuple]:
    """The receivables sheet cut in two (sheet_pieces.split_in_two; `()` when it cannot be
    cut) when the workbook has a `Créances` sheet whose XML size `wanted` accepts; else None,
    whatever is wrong with the file (the normal read reports it in its own words).
    `inflated`: (part, XML) of a sheet inflated already."""
    try:
        import zipfile
        from .fast_xlsx import sheet_tables
        from .sheet_pieces import split_in_two
        with zipfile.ZipFile(path) as zf:
            part = _receivables_part(zf)
            info = zf.NameToInfo.get(part) if part else None
            if info is None or not wanted(info.file_size):
                return None
            xml = inflated[1] if inflated is not None and inflated[0] == part else \
                _inflate(zf, info)
            # every process reads the rows the header is looked in, down to a table's
            table_rows = [t.min_row for t in sheet_tables(zf, part, xml)]
        return split_in_two(part, xml, table_rows) or ()
    except Exception:  # noqa: BLE001 — reported by the normal read, if it matters
        return None


def _largest_sheet(real: str, wanted: Callable[[int], bool] = lambda size: True
                   ) -> Optional[tuple]:
    """(part, XML) of the workbook's largest worksheet, most likely the receivables, when
    `wanted` accepts its size: inflated before anything of Relance is imported (the imports
    running beside it would otherwise hold this thread up)."""
    try:
        import zipfile
        with zipfile.ZipFile(real) as zf:
            sheets = [i for i in zf.infolist() if i.filename.startswith("xl/worksheets/")]
            largest = max(sheets, key=lambda i: i.file_size, default=None)
            if largest is None or not wanted(largest.file_size):
                return None
            return largest.filename, _inflate(zf, largest)
    except Exception:  # noqa: BLE001 — reported by the normal read, if it matters
        return None


def _inflate(zf, info) -> bytes:
    """A deflated part in one call to zlib, which lets go of the GIL all along (zipfile's
    reader inflates in small steps, each taking the GIL back: a third slower, and it slows
    the imports running beside it). Anything unusual goes through zipfile, which checks it."""
    import struct
    import zipfile
    import zlib
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
        return zf.read(info)
    fp = zf.fp
    fp.seek(info.header_offset)
    header = fp.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        return zf.read(info)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    fp.seek(info.header_offset + 30 + name_length + extra_length)
    data = zlib.decompress(fp.read(info.compress_size), -15)
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"{info.filename} : contenu endommagé")
    return data


def start(path, share_out: Optional[Callable[[int], bool]] = None) -> None:
    """Open the workbook `path` and parse its `Créances` sheet (case and accents aside) in the
    background. With `share_out` (`relance scan --json`): when it accepts the sheet's XML size,
    only inflate that XML and cut it in two, for two processes to parse it (json_scan.py); a
    fork must then find no other thread running. Any problem is left for the normal read to
    report."""
    real = os.path.realpath(path)
    stamp = _stamp(real)
    if stamp is None or real in _pending or not _is_zip(real):
        return
    box = {}

    def work():
        if share_out is not None:
            largest = _largest_sheet(real, share_out)
            halves = receivables_halves(real, share_out, largest) if largest else None
            if halves is not None:
                box["halves"] = halves
                return
        # First the largest sheet's XML, most likely the receivables: inflating lets go of
        # the GIL, so it runs while the command imports the rest of Relance.
        largest = _largest_sheet(real)
        inflated = dict([largest]) if largest else {}
        try:
            from pathlib import Path
            from ..values import fold
            from .fast_xlsx import CalamineBook
            from .ledger import RECEIVABLES_SHEET
            book = CalamineBook(Path(real))
            box["book"] = book
            name = next((n for n in book.sheetnames if fold(n) == fold(RECEIVABLES_SHEET)), None)
            if name is not None:
                book.parse(name, inflated.get(book.parts.get(name)))
        except BaseException:  # noqa: BLE001 — a panic of calamine too; the normal read reports
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


def take_halves(path) -> Optional[tuple]:
    """The receivables sheet of this very file (unchanged since) inflated ahead and cut in
    two (sheet_pieces.split_in_two), `()` when it could not be cut; None when the read ahead
    did not do that (a book read ahead instead stays there for `take`). Either way no thread
    of the read ahead is left running."""
    found = _finished(path)
    if found is None or "halves" not in found[1][2]:
        return None
    real, (stamp, _, box) = found
    del _pending[real]
    return box["halves"] if _stamp(real) == stamp else None
