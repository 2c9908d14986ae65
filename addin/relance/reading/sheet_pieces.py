"""One large sheet read by calamine on every core: its XML cut into pieces at row boundaries,
each piece parsed as a small workbook of its own, the values put back together.

calamine parses a sheet on one core, letting go of the GIL; a 100,000-row sheet takes most of
a second. Cut in two, it takes little more than half that on two cores. The pieces give the
same values as one read because every row and cell of the sheet names its own position
(`<row r="…">`, `<c r="A2">`): a sheet where some do not (allowed, rare) is read whole.
"""
from __future__ import annotations

import io
import os
import posixpath
import re
import zipfile
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from ..parallelism import LARGE_SHEET_BYTES, parallel_mode, scratch_file, usable_cores
from .headers import HEADER_SCAN_ROWS

PIECE_MIN_BYTES = 4_000_000
MAX_PIECES = 4  # on two cores, four pieces beat two: calamine slows down on long sheets

_OPEN, _CLOSE = b"<sheetData>", b"</sheetData>"


def _rows_numbered(xml: bytes, start: int, end: int) -> bool:
    """Every row between `start` and `end` names its number first (`<row r="…"`): counted,
    not searched with a pattern, ten times faster on 40 MB."""
    return xml.count(b"<row", start, end) == xml.count(b'<row r="', start, end)


def piece_count(xml_size: int, cores: Optional[int] = None) -> int:
    """How many pieces to cut a sheet of `xml_size` bytes into: one per core, each large
    enough to be worth a thread."""
    mode = parallel_mode()
    if mode == "never":
        return 1
    if mode == "always":
        return 2
    cores = cores or usable_cores()
    if xml_size < LARGE_SHEET_BYTES:
        return 1
    if cores < 2:
        return 1
    return max(2, min(2 * cores, MAX_PIECES, xml_size // PIECE_MIN_BYTES))


def split_sheet_xml(xml: bytes, pieces: int) -> Optional[list]:
    """The sheet's XML as `pieces` sheets, each a tuple of buffers (the same head, a run of
    the rows, the same tail: slices, not copies); None when it cannot be cut safely (rows
    without their number, a prefixed namespace, too few rows)."""
    start, end = xml.find(_OPEN), xml.rfind(_CLOSE)
    if pieces < 2 or start < 0 or end < start:
        return None
    start += len(_OPEN)
    # A row without its number is placed after the row before it: cut there, it would move.
    # (A cell without its reference is placed within its row, which a cut does not change.)
    if not _rows_numbered(xml, start, end):
        return None
    cuts = [start]
    for k in range(1, pieces):
        cut = xml.find(b'<row r="', start + (end - start) * k // pieces, end)
        if cut <= cuts[-1]:
            break
        cuts.append(cut)
    if len(cuts) < 2:
        return None
    cuts.append(end)
    view = memoryview(xml)
    head, tail = view[:start], view[end:]
    return [(head, view[a:b], tail) for a, b in zip(cuts, cuts[1:])]


def piece_book(parts: dict, sheet_part: str, piece, out_file=None):
    """A workbook holding the original's parts but its worksheets, and one sheet piece (bytes,
    or a tuple of buffers written one after the other), in `out_file` or a new BytesIO.
    Stored, not compressed: it is read at once."""
    buf = io.BytesIO() if out_file is None else out_file
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
        with out.open(sheet_part, "w") as sheet:
            for chunk in (piece,) if isinstance(piece, bytes) else piece:
                sheet.write(chunk)
    buf.seek(0)
    return buf


def open_piece_book(parts: dict, sheet_part: str, piece):
    """calamine's workbook of `piece_book(…)`. Written to a scratch file that calamine opens by
    its path under /proc (Linux): handed a file-like object instead, calamine copies it whole
    first, which costs as much as a tenth of the piece's parse."""
    from python_calamine import CalamineWorkbook
    proc = "/proc/self/fd"
    if os.path.isdir(proc):
        try:
            with scratch_file() as scratch:
                piece_book(parts, sheet_part, piece, scratch)
                scratch.flush()
                return CalamineWorkbook.from_path(f"{proc}/{scratch.fileno()}")
        except OSError:  # no scratch file to be had: from memory
            pass
    return CalamineWorkbook.from_filelike(piece_book(parts, sheet_part, piece))


# What calamine reads besides the sheet: the package's and the workbook's relationships, the
# workbook, its styles (dates) and shared strings (text). Nothing else goes into a piece.
_NEEDED_TYPES = ("/styles", "/sharedStrings")


def non_sheet_parts(zf: zipfile.ZipFile, workbook_part: str = "xl/workbook.xml") -> dict:
    """The parts a piece needs besides its sheet: none of the worksheets (wherever they are
    stored), none of the pictures, macros or embedded files."""
    folder, name = workbook_part.rsplit("/", 1) if "/" in workbook_part else ("", workbook_part)
    rels_part = f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"
    # calamine reads styles and shared strings at these paths whatever the relationships say
    wanted = ["[Content_Types].xml", "_rels/.rels", workbook_part, rels_part,
              "xl/styles.xml", "xl/sharedStrings.xml"]
    try:
        rels = zf.read(rels_part).decode("utf-8", "replace")
    except KeyError:
        rels = ""
    for m in re.finditer(r"<Relationship\b([^>]*)/?>", rels):
        attrs = m.group(1)
        kind = re.search(r"""\bType=["']([^"']*)["']""", attrs)
        target = re.search(r"""\bTarget=["']([^"']*)["']""", attrs)
        if kind and target and kind.group(1).endswith(_NEEDED_TYPES):
            t = target.group(1)
            wanted.append(t.lstrip("/") if t.startswith("/") else
                          posixpath.normpath(posixpath.join(folder, t)))
    names = set(zf.namelist())
    return {n: zf.read(n) for n in dict.fromkeys(wanted) if n in names}


class Pieces:
    """The pieces of a sheet being parsed by calamine, one thread per core; `sheets()` gives
    them in sheet order, each as soon as it is parsed, so that making Python values of the
    first ones overlaps the parsing of the last ones. `close()` waits for every thread."""

    def __init__(self, open_piece: Callable, pieces: list, name: str,
                 workers: Optional[int] = None):
        from concurrent.futures import ThreadPoolExecutor  # with its logging: only when used
        self._pool = ThreadPoolExecutor(workers or min(len(pieces), usable_cores()))
        self._futures = []
        try:
            for xml in pieces:
                self._futures.append(self._pool.submit(
                    lambda xml=xml: open_piece(xml).get_sheet_by_name(name)))
        except BaseException:  # no thread to be had: none left behind either
            self.close()
            raise

    def sheets(self):
        for future in self._futures:
            yield future.result()

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
        self._pool.shutdown(wait=True)  # no thread left behind (a fork may follow)


class PiecesDisagree(ValueError):
    """The pieces overlap: the sheet's rows are not in order. It is read whole instead."""


def empty_to_none(values: list) -> list:
    """calamine's empty cells ("") made None, as the grids want them, in place: twice as
    fast as a new list of every row."""
    for row in values:
        if "" in row:
            for j in range(row.index(""), len(row)):  # from the first one, found at C speed
                if row[j] == "":
                    row[j] = None
    return values


def join_pieces(sheets, empty="", shared_gaps: bool = False) -> list:
    """The pieces' values as one block from A1: each piece placed at its own position, rows
    between them blank, every row as wide as the widest piece (as one read gives them).
    `empty`: what an empty cell holds (calamine's "", or None as the grids want it, put
    there piece by piece as they come). `shared_gaps`: the blank rows between pieces are one
    list, never to be changed (thousands of rows another process reads cost nothing)."""
    placed = []
    for sheet in sheets:
        if sheet.height:
            values = sheet.to_python(skip_empty_area=True)
            if empty is None:
                empty_to_none(values)
            placed.append((sheet.start, values))
    width = max((col + len(values[0]) for (_, col), values in placed if values), default=0)
    rows = []
    for (row, col), values in placed:
        if row < len(rows):  # a row before the end of the previous piece: out of order
            raise PiecesDisagree(f"row {row + 1} after row {len(rows)}")
        if shared_gaps:
            rows.extend([[empty] * width] * (row - len(rows)))
        else:
            rows.extend([empty] * width for _ in range(row - len(rows)))
        right = [empty] * (width - col - len(values[0]))
        if right:
            for v in values:
                v.extend(right)
        rows.extend([[empty] * col + v for v in values] if col else values)
    return rows


# --- a sheet shared out between two processes -------------------------------------------

_ROW_NUMBER = re.compile(rb'<row r="(\d+)"')


@dataclass(frozen=True)
class SheetPart:
    """The rows of a large sheet that one process of a shared-out scan reads: a run of the
    sheet's XML (`own`, byte offsets), parsed as a sheet of its own, and for the second
    process the sheet's first rows (`head`: titles, the header), parsed apart. Its own rows
    start at sheet row `own_from` and end before `own_until` (None: the sheet's end); rows of
    the head that lie after the header belong to the other process."""

    part: str  # the sheet's part in the package, e.g. xl/worksheets/sheet1.xml
    xml: bytes
    own: tuple  # (start, stop) of a run of <sheetData>'s content
    head: Optional[tuple]  # (start, stop) of the first rows, when they are not in `own`
    own_from: int
    own_until: Optional[int]

    def piece(self, run: tuple) -> tuple:
        """A run as a sheet of its own: the sheet's head and tail around it (buffers)."""
        view = memoryview(self.xml)
        start = (self.head or self.own)[0]
        return view[:start], view[run[0]:run[1]], view[self._end:]

    @property
    def _end(self) -> int:
        return self.xml.rfind(_CLOSE)

    def buffers(self) -> list:
        """The XML this process reads, as pieces to search one after the other (cell styles,
        error values): its runs, then the tail (tables). Bytes: a copy costs a few
        milliseconds, and bytes have the fast searches a memoryview lacks."""
        runs = [self.head, self.own] if self.head else [self.own]
        return [self.xml[a:b] for a, b in runs] + [self.xml[self._end:]]


def split_in_two(part: str, xml: bytes, table_rows: Iterable[int] = ()) -> Optional[tuple]:
    """(SheetPart of the first half, SheetPart of the second) of a sheet's XML, cut at a row
    boundary in the middle; None when it cannot be cut safely (a prefixed namespace, a
    comment or CDATA section, a single row). The second part also has the sheet's first rows
    (all of the first part's, when the cut comes within them): those the header is looked
    in, and down to the first row of each Excel table (`table_rows`) that starts above the
    cut (a table lower down, a summary below the ledger, lies in the second part already).

    Rows without their number need no check: calamine places such a row after the row before
    it, and each run starts at the sheet's start or at the numbered row of the cut, so they
    land where one read of the sheet puts them (tests/test_parallel_scan.py keeps to that)."""
    start, end = xml.find(_OPEN), xml.rfind(_CLOSE)
    if start < 0 or end < start:
        return None
    start += len(_OPEN)
    # in a comment or a CDATA section, `<row r="` is not a row (`!`, rare in a sheet, is
    # looked for first: one byte is found ten times faster than a word)
    if xml.find(b"!", start, end) >= 0 and (xml.find(b"<!--", start, end) >= 0
                                           or xml.find(b"<![CDATA[", start, end) >= 0):
        return None
    cut = xml.find(b'<row r="', start + (end - start) // 2, end)
    number = _ROW_NUMBER.match(xml, cut) if cut > start else None
    if number is None:
        return None
    cut_row = int(number.group(1))
    head_rows = max([HEADER_SCAN_ROWS] + [t for t in table_rows if t < cut_row])
    # where the rows past those the header is looked in begin (every process reads those)
    head_end = cut
    for m in _ROW_NUMBER.finditer(xml, start, cut):
        if int(m.group(1)) > head_rows:
            head_end = m.start()
            break
    first = SheetPart(part, xml, (start, cut), None, 1, cut_row)
    second = SheetPart(part, xml, (cut, end), (start, head_end), cut_row, None)
    return first, second


# --- the second process's head rows, without the shared strings ------------------------

_SHARED_CELL = re.compile(rb"""<c\b([^>]*?)\st=["']s["']([^>/]*)>(.*?)</c>""", re.S)
_VALUE = re.compile(rb"<v>\s*(\d+)\s*</v>")
_SI = re.compile(rb"<si\b[^>]*?(?:/>|>(.*?)</si>)", re.S)
_TEXT_RUN = re.compile(rb"<t\b[^>]*?(?:/>|>(.*?)</t>)", re.S)
_PHONETIC = re.compile(rb"<rPh\b.*?</rPh>", re.S)


def inline_shared_strings(rows: bytes, shared: Optional[bytes]) -> Optional[bytes]:
    """The XML of a few rows with their shared-string cells written as inline strings, from
    the workbook's shared strings table: a piece of a few rows then needs no table, whose
    parse would cost as much as the rows of thousands of invoices. None when a cell cannot
    be resolved. (A header read wrong would only make the halves disagree: the whole sheet
    is then read.)"""
    wanted = set()
    for m in _SHARED_CELL.finditer(rows):
        v = _VALUE.search(m.group(3))
        if v is None:
            return None
        wanted.add(int(v.group(1)))
    if not wanted:
        return rows
    if shared is None:
        return None
    # the table cut at each entry's start, as far as the last one wanted: at C speed (a
    # header written last has its texts at the end of a table of 100,000 entries)
    entries = shared.split(b"<si", max(wanted) + 1)[1:]
    if len(entries) <= max(wanted):
        return None
    texts = {}
    for index in wanted:
        m = _SI.match(b"<si" + entries[index])
        if m is None:
            return None
        body = _PHONETIC.sub(b"", m.group(1) or b"")
        texts[index] = b"".join(t.group(1) or b"" for t in _TEXT_RUN.finditer(body))

    def inline(m):
        text = texts[int(_VALUE.search(m.group(3)).group(1))]
        return (b"<c" + m.group(1) + b' t="inlineStr"' + m.group(2) + b'><is><t xml:space="preserve">'
                + text + b"</t></is></c>")

    return _SHARED_CELL.sub(inline, rows)
