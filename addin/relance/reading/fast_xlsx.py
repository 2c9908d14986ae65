"""Reading a workbook's values fast, with python-calamine (Rust), for large ledgers.

calamine gives the cached values of every cell in one call, about ten times faster than
openpyxl. It does not give what the result also depends on, which is fetched here from the
file itself, so that both readers give the same answer on every workbook:
- the Excel tables (their ranges, from xl/tables/*.xml);
- number formats, only for the text columns that hold numbers (an invoice number 123
  formatted `000000` reads `000123`), from styles.xml and the sheet's cells;
- error values (`#N/A`), which calamine returns as empty cells;
- the 1904 date system, for serial numbers in cells without a date format.
"""
from __future__ import annotations

import posixpath
from itertools import repeat
from operator import itemgetter, sub
import re
import zipfile
from pathlib import Path
from typing import NamedTuple, Optional

from ..values import EXCEL_EPOCH_1900, EXCEL_EPOCH_1904, fold
from . import sheet_pieces
from .grid import Grid, column_index, column_letter, range_bounds, span_under_table
from .headers import find_header_row, match_row

# Text fields whose numbers are shown through their format (codes, postcodes, invoice numbers)
TEXT_FIELDS = ("invoice", "client", "client_code", "contact", "address", "postcode", "city",
               "country", "email", "phone")


_NUMBERS = {int, float}  # a cell's exact type: True is a bool, not a number here
# An error cell's type, either quote (no \b before it: a pattern starting with a literal is
# searched ten times faster, and a false match only costs the exact search below)
_ERROR_CELL = re.compile(rb"""t=["']e["']""")
_STYLE = re.compile(rb"""\bs=["'](\d+)["']""")
# A cell's opening tag, its reference (column letters, row) when it has one
_CELL_TAG = re.compile(rb"""<c\b(?:[^>]*?\br=["']([A-Z]+)(\d+)["'])?[^>]*>""")
_ERROR_VALUE = re.compile(rb"""<c\b[^>]*\br=["']([A-Z]+)(\d+)["'][^>]*\bt=["']e["'][^>]*>"""
                          rb"""(?:(?!</c>).)*?<v>([^<]*)</v>""", re.S)


class NeedsOpenpyxl(Exception):
    """The sheet holds what this reader cannot place: cells written without their reference
    (`<c>` without `r="B7"`, valid though Excel never writes it), where a number format or an
    error value matters. openpyxl, which counts cells, reads such a workbook instead."""


class CalamineBook:
    """A workbook file read with calamine; `grid(name, use_table)` as the openpyxl reader."""

    @classmethod
    def open(cls, path: Path, part: Optional[sheet_pieces.SheetPart] = None) -> "CalamineBook":
        """The book `ahead.start` opened for this very file (same size and date), else a new one.
        `part`: the rows of the receivables sheet this process reads (see json_scan)."""
        if part is not None:
            return cls(path, part)
        from .ahead import take
        return take(path) or cls(path)

    def __init__(self, path: Path, part: Optional[sheet_pieces.SheetPart] = None):
        from python_calamine import CalamineWorkbook
        self.path = Path(path)
        self.part = part
        self._head = None  # the head rows' sheet of a part that has them apart
        if part is None:  # calamine first: it says best what is wrong with a damaged file
            self.book = CalamineWorkbook.from_path(str(self.path))
        self.zip = zipfile.ZipFile(self.path)
        workbook = self.zip.read("xl/workbook.xml").decode("utf-8", "replace")
        self.parts = sheet_parts(self.zip, workbook)
        if part is not None:
            self.book = self._part_book()
        self.sheetnames = list(self.book.sheet_names)
        self.epoch = EXCEL_EPOCH_1904 if re.search(
            r"""<(?:\w+:)?workbookPr\b[^>]*\bdate1904=["'](?:1|true)["']""", workbook) \
            else EXCEL_EPOCH_1900
        self._styles = None
        self._parsed = {}  # sheet name -> (calamine sheets, one or pieces; the sheet's XML)

    def close(self) -> None:
        """Close the file; pieces still being parsed for a sheet nobody took are waited for."""
        for parsed, _ in self._parsed.values():
            if isinstance(parsed, sheet_pieces.Pieces):
                parsed.close()
        self._parsed.clear()
        self.zip.close()

    def parse(self, name: str, xml: Optional[bytes] = None) -> None:
        """Have calamine parse the sheet (in pieces on a large sheet), without making Python
        values of it yet: what a read ahead does, and all it can do without the GIL. `xml`:
        the sheet's XML when the caller has inflated it already."""
        if name not in self._parsed:
            self._parsed[name] = self._parse(name, xml)

    def _parse(self, name: str, xml: Optional[bytes] = None) -> tuple:
        """(sheet_pieces.Pieces, or the calamine sheet read whole, or the sheets of this
        process's part; the sheet's XML or None)."""
        part = self.parts.get(name)
        if self.part is not None and part == self.part.part:
            return self._part_sheets(name), None
        info = self.zip.NameToInfo.get(part) if part else None
        count = sheet_pieces.piece_count(info.file_size) if info is not None else 1
        if count > 1:
            xml = xml if xml is not None else self.zip.read(info)
            pieces = self._pieces(name, part, xml, count)
            return (pieces or self.book.get_sheet_by_name(name)), xml
        if xml is not None or info is None:
            return self.book.get_sheet_by_name(name), xml
        # The sheet's XML is inflated in a thread while calamine parses: both let go of
        # the GIL, so on two cores the second read costs nothing.
        from concurrent.futures import ThreadPoolExecutor  # with its logging: only when used
        with ThreadPoolExecutor(1) as pool:
            raw = pool.submit(self.zip.read, info)
            sheet = self.book.get_sheet_by_name(name)
            return sheet, raw.result()

    def _pieces(self, name: str, part: str, xml: bytes, count: int):
        """The sheet's pieces being parsed, or None when they cannot be (a sheet that cannot
        be cut safely, a part of the package unreadable, no thread to be had…): the sheet is
        then read whole, which says in its own words what is wrong, if anything is."""
        cut = sheet_pieces.split_sheet_xml(xml, count)
        if cut is None:
            return None
        try:
            parts = sheet_pieces.non_sheet_parts(self.zip)
            return sheet_pieces.Pieces(lambda piece: sheet_pieces.open_piece_book(
                parts, part, piece), cut, name)
        except Exception:  # noqa: BLE001
            return None

    def _part_book(self):
        """A workbook of this process's rows of the receivables sheet, with the settings and
        journal sheets (one parse of the shared strings serves them all); the head rows of
        the second process go in a workbook of their own, their texts written in their cells."""
        from python_calamine import CalamineWorkbook
        from ..journal import JOURNAL_SHEET
        from .settings import SETTINGS_SHEET
        part = self.part
        parts = sheet_pieces.non_sheet_parts(self.zip)
        if part.head is not None:
            head = bytes(part.piece(part.head)[1])
            inlined = sheet_pieces.inline_shared_strings(head, parts.get("xl/sharedStrings.xml"))
            if inlined is None:
                raise sheet_pieces.PiecesDisagree("head rows whose texts cannot be resolved")
            view = part.piece(part.head)
            self._head = CalamineWorkbook.from_filelike(sheet_pieces.piece_book(
                {n: d for n, d in parts.items() if n != "xl/sharedStrings.xml"}, part.part,
                (view[0], inlined, view[2])))
        kept = {fold(SETTINGS_SHEET), fold(JOURNAL_SHEET)}
        others = {p: self.zip.read(p) for n, p in self.parts.items()
                  if fold(n) in kept and p != part.part and p in self.zip.NameToInfo}
        return sheet_pieces.open_piece_book({**parts, **others}, part.part, part.piece(part.own))

    def _part_sheets(self, name: str) -> list:
        """This process's sheets of the receivables: the head rows (if apart), its own rows."""
        own = self.book.get_sheet_by_name(name)
        return [self._head.get_sheet_by_name(name), own] if self._head is not None else [own]

    def _part_rows(self, sheets: list) -> list:
        """The part's cells from A1 (the other process's rows blank), checked to hold its own
        rows only: rows out of order across the cut make the part unusable."""
        part = self.part
        rows = sheet_pieces.join_pieces(sheets, empty=None, shared_gaps=True)
        if part.own_until is not None and len(rows) >= part.own_until:
            raise sheet_pieces.PiecesDisagree(f"row {len(rows)} in the part before row "
                                              f"{part.own_until}")
        body = sheets[-1]
        if len(sheets) > 1 and body.height and body.start[0] + 1 < part.own_from:
            raise sheet_pieces.PiecesDisagree(f"row {body.start[0] + 1} in the part from row "
                                              f"{part.own_from}")
        return rows

    def _rows(self, name: str) -> tuple:
        """(The sheet's cells from A1, as openpyxl gives them (the header search counts sheet
        rows; an empty cell is None), the sheet's XML or None)."""
        parsed, xml = self._parsed.pop(name, None) or self._parse(name)
        if isinstance(parsed, list):  # this process's part: no fallback, the caller has one
            return self._part_rows(parsed), self.part.buffers()
        if isinstance(parsed, sheet_pieces.Pieces):
            rows = None
            try:
                rows = sheet_pieces.join_pieces(parsed.sheets(), empty=None)
            except Exception:  # noqa: BLE001 — a piece calamine refused, rows out of order…
                pass  # …: the sheet read whole decides, below
            finally:
                parsed.close()
            if rows is not None:
                return rows, xml
            parsed = self.book.get_sheet_by_name(name)
        values = parsed.to_python(skip_empty_area=False) if parsed.height else []
        return sheet_pieces.empty_to_none(values), xml

    def grid(self, name: str, use_table: bool = True) -> Grid:
        # the sheet's XML stays bytes: searched as such, 43 MB need not be decoded
        rows, xml = self._rows(name)
        buffers = None if xml is None else xml if isinstance(xml, list) else [xml]
        if buffers is not None:
            self._errors(buffers, rows)
        tables = sheet_tables(self.zip, self.parts[name], buffers[-1]) \
            if use_table and buffers else []
        table = self._table(tables, rows)
        if table is not None:
            first, last, width = table.min_col - 1, table.last_data_row, table.max_col
            block = [(r + [None] * width)[first:width]
                     for r in (rows + [[]] * last)[table.min_row - 1:last]]
            grid = Grid(name, block, table.min_row, table.min_col, None, self.epoch, table.name)
            span = span_under_table(table.last_row, len(rows), (t.min_row for t in tables))
            if span is not None:
                grid.below_table = table.last_row, [r[first:width]
                                                    for r in rows[span[0] - 1:span[1]]]
        else:
            grid = Grid(name, rows, 1, 1, None, self.epoch)
        if self.part is not None and name == self._part_sheet_name():
            grid.part_start = max(0, self.part.own_from - grid.first_row)
            grid.ends_sheet = self.part.own_until is None
        if buffers is not None:
            self._formats(buffers, grid)
        return grid

    def _part_sheet_name(self) -> Optional[str]:
        return next((n for n, p in self.parts.items() if p == self.part.part), None)

    # --- what calamine does not give ---------------------------------------------------

    @staticmethod
    def _table(tables: list, rows: list) -> Optional[SheetTable]:
        """Of the sheet's tables, the one whose header names receivables columns (as the
        openpyxl reader)."""
        for table in tables:
            header = (rows[table.min_row - 1] if table.min_row - 1 < len(rows) else []
                      )[table.min_col - 1:table.max_col]
            if len(match_row(header)) >= 3:
                return table
        return None

    @staticmethod
    def _errors(buffers: list, rows: list) -> None:
        """Error values (`#N/A`) in place of the empty cells calamine gives for them."""
        for xml in buffers:
            if not _ERROR_CELL.search(xml):  # one pass, either quote
                continue
            placed = 0
            for m in _ERROR_VALUE.finditer(xml):
                placed += 1
                r, c = int(m.group(2)) - 1, column_index(m.group(1).decode()) - 1
                if r < len(rows) and c < len(rows[r]):
                    rows[r][c] = _unescape(m.group(3).decode("utf-8", "replace"))
            if placed != len(_ERROR_CELL.findall(xml)):  # one without its reference (or value)
                raise NeedsOpenpyxl("error values in cells without their reference")

    def _formats(self, buffers: list, grid: Grid) -> None:
        """Number formats of the cells of text columns that hold numbers."""
        found = find_header_row(grid)
        if found is None:
            return
        header, columns = found
        data = grid.rows[max(header + 1, grid.part_start):]
        narrow = min(map(len, data), default=0)  # calamine's rows are all as wide
        grid.column_types = {j: set(map(type, map(itemgetter(j), data) if j < narrow else
                                        [r[j] if j < len(r) else None for r in data]))
                             for f, j in columns.items() if f in TEXT_FIELDS}
        wanted = [j for j, types in grid.column_types.items() if _NUMBERS & types]
        if not wanted:
            return
        codes = self._style_codes()
        default = codes.get(0) or "General"  # what a cell without a style has (xf 0)
        letters = {column_letter(grid.first_col + j).encode(): j for j in wanted}
        formats, first = {}, grid.first_row
        regions = [_cell_region(xml) for xml in buffers]
        if default == "General" and all(xml.count(b"<c", a, b) == xml.count(b'<c r="', a, b)
                                        for xml, a, b in regions):
            # every cell names its place first, as Excel writes it: each column's styled cells
            # are found by their reference's start (a word is found far faster than a pattern
            # is matched at every cell)
            for letter, j in letters.items():
                pattern = re.compile(rb'<c r="' + letter + rb"""(\d+)"[^>]*?\ss=["'](\d+)["']""")
                styled = [pair for xml, a, b in regions for pair in pattern.findall(xml, a, b)]
                if not styled:
                    continue
                rows, styles = zip(*styled)
                if self._one_format(grid, data, j, rows, styles, codes):
                    continue
                # (row, style) pairs made keys and formats at C speed
                formats.update(zip(zip(map(sub, map(int, rows), repeat(first)), repeat(j)),
                                   map(codes.get, map(int, styles))))
        else:
            for xml, a, b in regions:
                for m in _CELL_TAG.finditer(xml, a, b):
                    if m.group(1) is None:
                        raise NeedsOpenpyxl("number formats of cells without their reference")
                    j = letters.get(m.group(1))
                    if j is None:
                        continue
                    s = _STYLE.search(m.group(0))
                    fmt = (codes.get(int(s.group(1))) or "General") if s else default
                    if fmt != "General":
                        formats[(int(m.group(2)) - first, j)] = fmt
        grid.formats = formats

    @staticmethod
    def _one_format(grid: Grid, data: list, j: int, rows: tuple, styles: tuple,
                    codes: dict) -> bool:
        """Whether every number of column `j` (in the grid's data rows `data`) has the one
        style of the column's styled cells (`rows`, `styles`): the column's format is then
        noted once (grid.column_format)."""
        if len(set(styles)) != 1:
            return False
        start = grid.first_row + len(grid.rows) - len(data)  # sheet row of data[0]
        numbers = [start + k for k, v in enumerate(
            [r[j] if j < len(r) else None for r in data]) if type(v) in _NUMBERS]
        if not set(numbers) <= set(map(int, rows)):
            return False
        grid.column_format[j] = codes.get(int(styles[0])) or "General"
        return True

    def _style_codes(self) -> dict:
        """{cell style index: its number format}. Only a workbook's own formats are read: a
        format changes an invoice number's text only by padding it with zeros (`000000`), and
        no built-in format (ids below 164) does (tests/test_readers_agree.py checks them all),
        so they read "General" here (importing openpyxl for its table costs a tenth of a
        second)."""
        if self._styles is None:
            try:
                text = self.zip.read("xl/styles.xml").decode("utf-8", "replace")
            except KeyError:
                text = ""
            # the workbook's own formats: in <numFmts> (those of <dxfs>, the conditional
            # formats, are not cells'), their attributes in any order
            numfmts = re.search(r"<(?:\w+:)?numFmts\b.*?</(?:\w+:)?numFmts>", text, re.S)
            custom = {}
            for tag in re.findall(r"<(?:\w+:)?numFmt\b[^>]*>", numfmts.group(0) if numfmts else ""):
                fmt_id = re.search(r"""\bnumFmtId=["'](\d+)["']""", tag)
                code = re.search(r"""\bformatCode=(?:"([^"]*)"|'([^']*)')""", tag)
                if fmt_id and code:
                    custom[int(fmt_id.group(1))] = _unescape(code.group(1) or code.group(2) or "")
            xfs = re.search(r"<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>", text, re.S)
            self._styles = {}
            for i, xf in enumerate(re.findall(r"<(?:\w+:)?xf\b[^>]*>", xfs.group(0) if xfs else "")):
                fmt = re.search(r"""numFmtId=["'](\d+)["']""", xf)
                fmt_id = int(fmt.group(1)) if fmt else 0
                self._styles[i] = custom.get(fmt_id) or "General"
        return self._styles


def _cell_region(xml: bytes) -> tuple:
    """(xml, start, end): where a sheet's cells lie in `xml`, the content of <sheetData> (a
    piece of it holds nothing else; the end of a sheet after </sheetData>, nothing)."""
    end = xml.find(b"</sheetData>")
    end = len(xml) if end < 0 else end
    start = xml.find(b"<sheetData", 0, end)
    start = 0 if start < 0 else xml.find(b">", start) + 1
    return xml, start, end


class SheetTable(NamedTuple):
    """An Excel table (ListObject) with a header row, as sheet_tables reads it."""

    min_col: int
    min_row: int  # its header row
    max_col: int
    last_data_row: int  # above its totals row, if it has one
    name: str
    last_row: int


def sheet_tables(zf: zipfile.ZipFile, part: str, sheet_xml) -> list:
    """The Excel tables (ListObjects) of the sheet stored at `part`, those with a header row
    (SheetTable). `sheet_xml`: the sheet's XML, or at least its end (from its
    `</sheetData>`), where tableParts are. A table part missing or unreadable (as openpyxl
    would not read it either) is a damaged file."""
    import xml.etree.ElementTree as ET
    rels = relationships(zf, part)
    tail = sheet_xml[sheet_xml.rfind(b"</sheetData>"):]
    tail = tail.decode("utf-8", "replace")
    tables = []
    for rid in re.findall(r"""<(?:\w+:)?tablePart\b[^>]*:id=["']([^"']+)["']""", tail):
        target = rels.get(rid)
        if not target:
            continue
        try:
            root = ET.fromstring(zf.read(target))
        except KeyError:
            raise zipfile.BadZipFile(f"le tableau {target} est introuvable") from None
        except ET.ParseError:
            raise zipfile.BadZipFile(f"le tableau {target} est illisible") from None
        attrs = root.attrib
        try:
            if root.tag.rpartition("}")[2] != "table":
                raise ValueError(root.tag)
            if int(attrs.get("headerRowCount", 1)) == 0:
                continue
            totals = int(attrs.get("totalsRowCount", 0))
            min_col, min_row, max_col, max_row = range_bounds(attrs["ref"])
        except (KeyError, ValueError):
            raise zipfile.BadZipFile(f"le tableau {target} est illisible") from None
        tables.append(SheetTable(min_col, min_row, max_col, max_row - totals,
                                 attrs.get("displayName") or attrs.get("name") or "", max_row))
    return tables


def sheet_parts(zf: zipfile.ZipFile, workbook: Optional[str] = None) -> dict:
    """{sheet name: its part in the package} (`workbook`: xl/workbook.xml's text, if read)."""
    if workbook is None:
        workbook = zf.read("xl/workbook.xml").decode("utf-8", "replace")
    rels = relationships(zf, "xl/workbook.xml")
    parts = {}
    for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/?>", workbook):
        attrs = m.group(1)
        name = re.search(r"""\bname=["']([^"']*)["']""", attrs)
        rid = re.search(r""":id=["']([^"']*)["']""", attrs)
        if name and rid and rid.group(1) in rels:
            parts[_unescape(name.group(1))] = rels[rid.group(1)]
    return parts


def relationships(zf: zipfile.ZipFile, part: str) -> dict:
    """{relationship id: target part} of a part of the package (external targets left out)."""
    name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    try:
        text = zf.read(name).decode("utf-8", "replace")
    except KeyError:
        return {}
    out = {}
    for m in re.finditer(r"<Relationship\b([^>]*)/?>", text):
        attrs = m.group(1)
        rid = re.search(r"""\bId=["']([^"']*)["']""", attrs)
        target = re.search(r"""\bTarget=["']([^"']*)["']""", attrs)
        if rid and target and "External" not in attrs:
            t = target.group(1)
            out[rid.group(1)] = t.lstrip("/") if t.startswith("/") else posixpath.normpath(
                posixpath.join(posixpath.dirname(part), t))
    return out


_CHARACTER_REFERENCE = re.compile(r"&#(?:x([0-9a-fA-F]+)|([0-9]+));")


def _unescape(text: str) -> str:
    """XML text as it reads: `&amp;`, `&#233;` (a sheet named `Cr&#233;ances`), `&#xE9;`."""
    from xml.sax.saxutils import unescape
    if "&#" in text:
        text = _CHARACTER_REFERENCE.sub(
            lambda m: chr(int(m.group(1), 16) if m.group(1) else int(m.group(2))), text)
    return unescape(text, {"&quot;": '"', "&apos;": "'"})
