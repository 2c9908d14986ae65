"""Editing cells of an .xlsx/.xlsm file in place, without re-serialising the rest of it.

openpyxl rewrites a whole workbook on save and drops what it does not model (images,
charts, some extensions). Here only the parts that must change are rewritten: the sheet
XML that gets the dates, the Journal's sheet XML, the table definition when a column is
added, and (only when no suitable style exists yet) styles.xml. Every other part of the
package (drawings, charts, VBA, shared strings, defined names…) is copied unchanged.
New text cells are inline strings, so the shared-strings part stays untouched.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from xml.sax.saxutils import escape
from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional

from lxml import etree
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries

from ..values import EXCEL_EPOCH_1900, EXCEL_EPOCH_1904, excel_serial
from .write_plan import UnsupportedWorkbook

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
WORKSHEET_TYPE = REL_NS + "/worksheet"
WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")
_PARSER = etree.XMLParser(remove_blank_text=False, huge_tree=True, resolve_entities=False)

DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
AMOUNT_FORMAT = '#,##0.00\\ "€"'


def _parse(data: bytes):
    return etree.fromstring(data, _PARSER)


def _serialise(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


class Package:
    """The parts of an xlsx zip, read lazily; parts set with `put` are the ones rewritten."""

    def __init__(self, path):
        self.path = path
        with zipfile.ZipFile(path) as zf:
            self.infos = zf.infolist()
            self._raw = {info.filename: zf.read(info.filename) for info in self.infos}
        self.changed: dict[str, bytes] = {}

    def has(self, name: str) -> bool:
        return name in self._raw or name in self.changed

    def read(self, name: str) -> bytes:
        return self.changed.get(name, self._raw.get(name))

    def xml(self, name: str):
        return _parse(self.read(name))

    def put(self, name: str, root_or_bytes) -> None:
        data = root_or_bytes if isinstance(root_or_bytes, bytes) else _serialise(root_or_bytes)
        self.changed[name] = data

    def write(self, dest) -> None:
        """Write the package to `dest`: unchanged parts byte for byte, in their original order."""
        with zipfile.ZipFile(dest, "w") as out:
            for info in self.infos:
                data = self.changed.get(info.filename, self._raw[info.filename])
                out.writestr(_copy_info(info), data)
            for name, data in self.changed.items():
                if name not in self._raw:
                    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    out.writestr(info, data)

    # --- workbook structure ---------------------------------------------------------------

    def sheet_parts(self) -> dict[str, str]:
        """Sheet name -> part name (xl/worksheets/sheetN.xml)."""
        wb = self.xml("xl/workbook.xml")
        rels = self.rels("xl/workbook.xml")
        parts = {}
        for sheet in wb.iter(q("sheet")):
            rid = sheet.get(f"{{{REL_NS}}}id")
            if rid in rels:
                parts[sheet.get("name")] = rels[rid]
        return parts

    def rels(self, part: str) -> dict[str, str]:
        """Relationship id -> target part name, for a part."""
        rels_name = _rels_name(part)
        if not self.has(rels_name):
            return {}
        base = posixpath.dirname(part)
        out = {}
        for rel in self.xml(rels_name).iter(f"{{{PKG_REL_NS}}}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target")
            name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join(base, target))
            out[rel.get("Id")] = name
        return out


def _rels_name(part: str) -> str:
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def _copy_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    new.compress_type = info.compress_type
    new.external_attr = info.external_attr
    new.create_system = info.create_system
    new.comment = info.comment
    new.extra = info.extra
    return new


# --- styles ------------------------------------------------------------------------------

class Styles:
    """Finds or adds the cell formats the recorded values need (a date, a date-time, bold)."""

    PART = "xl/styles.xml"

    def __init__(self, package: Package):
        self.package = package
        self.root = package.xml(self.PART)
        self.dirty = False
        self.cell_xfs = self.root.find(q("cellXfs"))
        self.num_fmts = {int(n.get("numFmtId")): n.get("formatCode")
                         for n in self.root.iter(q("numFmt"))}

    def format_code(self, style_index: int) -> str:
        xfs = self.cell_xfs.findall(q("xf"))
        if not 0 <= style_index < len(xfs):
            return "General"
        fmt_id = int(xfs[style_index].get("numFmtId", "0"))
        return self.num_fmts.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id, "General")

    def is_date_style(self, style_index: Optional[int]) -> bool:
        return style_index is not None and is_date_format(self.format_code(style_index))

    def style_for(self, format_code: str, bold: bool = False) -> int:
        """An existing plain cell format with that number format, else a new one."""
        fmt_id = self._num_fmt_id(format_code)
        font_id = self._bold_font() if bold else 0
        for i, xf in enumerate(self.cell_xfs.findall(q("xf"))):
            if (int(xf.get("numFmtId", "0")) == fmt_id and int(xf.get("fontId", "0")) == font_id
                    and xf.get("fillId", "0") == "0" and xf.get("borderId", "0") == "0"
                    and len(xf) == 0):
                return i
        xf = etree.SubElement(self.cell_xfs, q("xf"), numFmtId=str(fmt_id), fontId=str(font_id),
                              fillId="0", borderId="0", xfId="0")
        if fmt_id:
            xf.set("applyNumberFormat", "1")
        if font_id:
            xf.set("applyFont", "1")
        self.cell_xfs.set("count", str(len(self.cell_xfs)))
        self.dirty = True
        return len(self.cell_xfs) - 1

    def with_number_format(self, style_index: int, format_code: str) -> int:
        """The user's cell format (fill, border, font, alignment) with that number format: an
        identical existing one, else a copy added once."""
        xfs = self.cell_xfs.findall(q("xf"))
        if not 0 <= style_index < len(xfs):
            return self.style_for(format_code)
        clone = etree.fromstring(etree.tostring(xfs[style_index]))
        clone.set("numFmtId", str(self._num_fmt_id(format_code)))
        clone.set("applyNumberFormat", "1")
        wanted = etree.tostring(clone)
        for i, xf in enumerate(xfs):
            if etree.tostring(xf) == wanted:
                return i
        self.cell_xfs.append(clone)
        self.cell_xfs.set("count", str(len(self.cell_xfs)))
        self.dirty = True
        return len(self.cell_xfs) - 1

    def _num_fmt_id(self, code: str) -> int:
        if code == "General":
            return 0
        for fmt_id, existing in {**BUILTIN_FORMATS, **self.num_fmts}.items():
            if existing == code:
                return fmt_id
        fmt_id = max([163, *self.num_fmts]) + 1
        num_fmts = self.root.find(q("numFmts"))
        if num_fmts is None:
            num_fmts = etree.Element(q("numFmts"))
            self.root.insert(0, num_fmts)
        etree.SubElement(num_fmts, q("numFmt"), numFmtId=str(fmt_id), formatCode=code)
        num_fmts.set("count", str(len(num_fmts)))
        self.num_fmts[fmt_id] = code
        self.dirty = True
        return fmt_id

    def _bold_font(self) -> int:
        fonts = self.root.find(q("fonts"))
        items = fonts.findall(q("font"))
        for i, font in enumerate(items):
            if font.find(q("b")) is not None and font.find(q("i")) is None and font.find(q("u")) is None:
                return i
        base = etree.fromstring(etree.tostring(items[0])) if items else etree.Element(q("font"))
        base.insert(0, etree.Element(q("b")))
        fonts.append(base)
        fonts.set("count", str(len(fonts.findall(q("font")))))
        self.dirty = True
        return len(fonts.findall(q("font"))) - 1

    def save(self) -> None:
        if self.dirty:
            self.package.put(self.PART, self.root)


# --- one worksheet -----------------------------------------------------------------------

@dataclass
class Cell:
    """A value to write: a date, a datetime, a number or a text, with a style index or None."""

    value: object
    style: Optional[int] = None


_ROW = re.compile(r"<row\b[^>]*?(?:/>|>.*?</row>)", re.S)
_ROW_NUMBER = re.compile(r"""\br=["'](\d+)["']""")
_CELL_WITHOUT_REF = re.compile(r"<c(?=[\s/>])(?![^>]*\br=)[^>]*>")
_DECLARATION = re.compile(r"""\sxmlns(?::[\w.-]+)?=("[^"]*"|'[^']*')""")


class Sheet:
    """A worksheet part, edited without building its whole tree: the rows the run touches are
    parsed (a row at a time), every other row is copied as it was, so a sheet of 100,000
    rows costs its text, not a tree of millions of nodes."""

    def __init__(self, package: Package, part: str, epoch: date):
        self.package, self.part, self.epoch = package, part, epoch
        text = package.read(part).decode("utf-8")
        start = re.search(r"<(?:\w+:)?worksheet\b[^>]*>", text)
        data = re.search(r"<sheetData\s*/>|<sheetData\b[^>]*>", text)
        if start is None or data is None or ":worksheet" in start.group(0)[:12]:
            raise UnsupportedWorkbook(f"la feuille {part} n'est pas au format Excel habituel "
                                      f"(format « Strict Open XML » ?)")
        if data.group(0).endswith("/>"):
            self.head, region = text[:data.start()] + "<sheetData>", ""
            self.tail = "</sheetData>" + text[data.end():]
        else:
            end = text.index("</sheetData>", data.end())
            self.head, region, self.tail = text[:data.end()], text[data.end():end], text[end:]
        if _CELL_WITHOUT_REF.search(region):
            raise UnsupportedWorkbook(f"la feuille {part} a des cellules sans adresse")
        self.region = region
        self.spans = {}  # row number -> (start, end) of its text in the region
        for match in _ROW.finditer(region):
            number = _ROW_NUMBER.search(match.group(0)[:match.group(0).index(">") + 1])
            if number is None:
                raise UnsupportedWorkbook(f"la feuille {part} a des lignes sans numéro")
            self.spans[int(number.group(1))] = match.span()
        # the worksheet's namespace declarations, for parsing a row on its own
        self._wrapper = "<w" + "".join(m.group(0) for m in _DECLARATION.finditer(start.group(0))) + ">"
        self.rewritten = {}  # row number -> text of a row the run edited
        self.appended = {}  # row number -> text of a new row below the others
        self.widths = {}  # column -> width to give it when it has none

    # reading (from the text: no tree for a mere look)
    def _row_text(self, row: int) -> str:
        if row in self.rewritten:
            return self.rewritten[row]
        if row in self.spans:
            begin, end = self.spans[row]
            return self.region[begin:end]
        return ""

    def _cell(self, row: int, col: int):
        """(start tag, content or None) of a cell, or None when the row has no such cell."""
        text = self._row_text(row)
        ref = f"{get_column_letter(col)}{row}"
        for quote in ('"', "'"):
            at = text.find(f" r={quote}{ref}{quote}")
            if at >= 0:
                break
        else:
            return None
        start = text.rfind("<c", 0, at)
        end = text.index(">", at)
        if text[end - 1] == "/":
            return text[start:end + 1], None
        close = text.index("</c>", end)
        return text[start:end + 1], text[end + 1:close]

    def style_of(self, row: int, col: int) -> Optional[int]:
        cell = self._cell(row, col)
        m = cell and re.search(r"""\bs=["'](\d+)["']""", cell[0])
        return int(m.group(1)) if m else None

    def has_formula(self, row: int, col: int) -> bool:
        cell = self._cell(row, col)
        return bool(cell and cell[1] and re.search(r"<f\b", cell[1]))

    def is_empty(self, row: int, col: int) -> bool:
        cell = self._cell(row, col)
        return cell is None or not re.search(r"<(v|is|f)\b", cell[1] or "")

    def append(self, row: int, cells: dict) -> None:
        """A new row below every row of the sheet, written as text at once (a Journal of
        thousands of rows builds no tree): `cells` maps column -> Cell."""
        self.appended[row] = (f'<row r="{row}">'
                              + "".join(self._cell_text(row, col, cell)
                                        for col, cell in sorted(cells.items()))
                              + "</row>")

    def _cell_text(self, row: int, col: int, cell: Cell) -> str:
        ref = f"{get_column_letter(col)}{row}"
        style = f' s="{cell.style}"' if cell.style is not None else ""
        value = cell.value
        if value is None or value == "":
            return f'<c r="{ref}"{style}/>'
        if isinstance(value, (date, datetime)):
            return f'<c r="{ref}"{style}><v>{_number(excel_serial(value, self.epoch))}</v></c>'
        if isinstance(value, bool):
            return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'
        if isinstance(value, (int, float)):
            return f'<c r="{ref}"{style}><v>{_number(value)}</v></c>'
        text = _xml_safe(str(value))
        space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
        return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


    # writing
    def set(self, row: int, col: int, cell: Cell) -> None:
        """Write a cell: its row is parsed, edited, and kept as text again."""
        text = self._row_text(row)
        r = etree.fromstring(self._wrapper + text + "</w>", _PARSER)[0] if text else \
            etree.Element(q("row"), nsmap={None: NS}, r=str(row))
        self._set_in(r, row, col, cell)
        self.rewritten[row] = self._text(r)

    def _set_in(self, r, row: int, col: int, cell: Cell) -> None:
        c = self._cell_element(r, row, col)
        for child in list(c):
            c.remove(child)
        for attr in ("t", "cm", "vm"):
            c.attrib.pop(attr, None)
        if cell.style is not None:
            c.set("s", str(cell.style))
        value = cell.value
        if value is None or value == "":
            return
        if isinstance(value, (date, datetime)):
            etree.SubElement(c, q("v")).text = _number(excel_serial(value, self.epoch))
        elif isinstance(value, bool):
            c.set("t", "b")
            etree.SubElement(c, q("v")).text = "1" if value else "0"
        elif isinstance(value, (int, float)):
            etree.SubElement(c, q("v")).text = _number(value)
        else:
            c.set("t", "inlineStr")
            t = etree.SubElement(etree.SubElement(c, q("is")), q("t"))
            t.text = _xml_safe(str(value))
            if t.text != t.text.strip() or "\n" in t.text:
                t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")

    def _cell_element(self, r, row: int, col: int):
        ref = f"{get_column_letter(col)}{row}"
        cells = r.findall(q("c"))
        for c in cells:
            if c.get("r") == ref:
                return c
        new = etree.SubElement(r, q("c"), r=ref)
        after = [c for c in cells if c.get("r") and
                 column_index_from_string(_CELL_REF.match(c.get("r")).group(1)) > col]
        if after:
            after[0].addprevious(new)
        if r.get("spans"):
            lo, hi = (int(x) for x in r.get("spans").split(":"))
            r.set("spans", f"{min(lo, col)}:{max(hi, col)}")
        return new

    def ensure_width(self, col: int, width: float) -> None:
        self.widths[col] = width

    def tables(self) -> list:
        """(part name, root) of the Excel tables on this sheet."""
        rels = self.package.rels(self.part)
        out = []
        for rid in re.findall(r"<tablePart\b[^>]*?\bid=[\"']([^\"']+)[\"']", self.tail):
            name = rels.get(rid)
            if name and self.package.has(name):
                out.append((name, self.package.xml(name)))
        return out

    def save(self) -> None:
        numbers = sorted(set(self.spans) | set(self.rewritten) | set(self.appended))
        parts = []
        for n in numbers:
            if n in self.rewritten:
                parts.append(self.rewritten[n])
            elif n in self.appended:
                parts.append(self.appended[n])
            else:
                begin, end = self.spans[n]
                parts.append(self.region[begin:end])
        head = self._with_widths(self._with_dimension(self.head, numbers))
        text = head + "".join(parts) + self.tail
        self.package.put(self.part, text.encode("utf-8"))

    def _text(self, element) -> str:
        """A row as text, without the namespace declarations the worksheet already makes."""
        text = etree.tostring(element, encoding="unicode")
        end = text.index(">")
        return _DECLARATION.sub("", text[:end]) + text[end:]

    def _with_dimension(self, head: str, numbers: list) -> str:
        m = re.search(r"""<dimension\b[^>]*\bref=["']([^"']+)["']""", head)
        if m is None or not numbers:
            return head
        bounds = m.group(1).replace("$", "").split(":")
        first = _CELL_REF.match(bounds[0])
        last = _CELL_REF.match(bounds[-1])
        if not (first and last):
            return head
        cols = [column_index_from_string(last.group(1))] + [
            column_index_from_string(ref)
            for text in (*self.rewritten.values(), *self.appended.values())
            for ref in re.findall(r"""<c\b[^>]*?\br=["']([A-Z]+)\d+["']""", text)]
        ref = f"{first.group(0)}:{get_column_letter(max(cols))}{max(max(numbers), int(last.group(2)))}"
        return head[:m.start(1)] + ref + head[m.end(1):]

    def _with_widths(self, head: str) -> str:
        if not self.widths:
            return head
        m = re.search(r"<cols\b[^>]*>.*?</cols>", head, re.S)
        cols = etree.fromstring(self._wrapper + (m.group(0) if m else "<cols/>") + "</w>",
                                _PARSER)[0]
        for col, width in sorted(self.widths.items()):
            if any(int(c.get("min")) <= col <= int(c.get("max")) for c in cols.findall(q("col"))):
                continue
            new = etree.Element(q("col"), min=str(col), max=str(col), width=str(width),
                                customWidth="1")
            later = [c for c in cols.findall(q("col")) if int(c.get("min")) > col]
            if later:
                later[0].addprevious(new)
            else:
                cols.append(new)
        text = self._text(cols)
        if m:
            return head[:m.start()] + text + head[m.end():]
        at = head.rindex("<sheetData")
        return head[:at] + text + head[at:]


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    return _ILLEGAL_XML.sub("", text)


@dataclass
class TableEdit:
    """Extend an Excel table by one column on the right, or down to a new last row."""

    part: str
    root: object

    @property
    def bounds(self):
        return range_boundaries(self.root.get("ref"))

    def _set_ref(self, min_col, min_row, max_col, max_row):
        ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}"
        self.root.set("ref", ref)
        auto = self.root.find(q("autoFilter"))
        if auto is not None:
            totals = int(self.root.get("totalsRowCount", "0") or 0)
            auto.set("ref", f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}"
                            f"{max_row - totals}")

    def add_column(self, name: str) -> None:
        min_col, min_row, max_col, max_row = self.bounds
        columns = self.root.find(q("tableColumns"))
        ids = [int(c.get("id")) for c in columns.findall(q("tableColumn"))]
        etree.SubElement(columns, q("tableColumn"), id=str(max(ids, default=0) + 1), name=name)
        columns.set("count", str(len(columns.findall(q("tableColumn")))))
        self._set_ref(min_col, min_row, max_col + 1, max_row)

    def extend_to_row(self, last_row: int) -> None:
        min_col, min_row, max_col, max_row = self.bounds
        if last_row > max_row:
            self._set_ref(min_col, min_row, max_col, last_row)

    @property
    def totals_rows(self) -> int:
        return int(self.root.get("totalsRowCount", "0") or 0)


def add_worksheet(package: Package, name: str) -> str:
    """A new empty sheet `name` at the end of the workbook; returns its part name."""
    existing = {n for n in package._raw} | set(package.changed)
    k = 1
    while f"xl/worksheets/sheet{k}.xml" in existing:
        k += 1
    part = f"xl/worksheets/sheet{k}.xml"
    package.put(part, (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                       f'<worksheet xmlns="{NS}" xmlns:r="{REL_NS}"><sheetData/></worksheet>')
                .encode("utf-8"))

    rels_name = "xl/_rels/workbook.xml.rels"
    rels = package.xml(rels_name)
    ids = {r.get("Id") for r in rels}
    n = 1
    while f"rId{n}" in ids:
        n += 1
    rid = f"rId{n}"
    etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship", Id=rid, Type=WORKSHEET_TYPE,
                     Target=f"worksheets/sheet{k}.xml")
    package.put(rels_name, rels)

    wb = package.xml("xl/workbook.xml")
    sheets = wb.find(q("sheets"))
    sheet_id = max((int(s.get("sheetId")) for s in sheets), default=0) + 1
    new = etree.SubElement(sheets, q("sheet"), name=name, sheetId=str(sheet_id))
    new.set(f"{{{REL_NS}}}id", rid)
    package.put("xl/workbook.xml", wb)

    ct = package.xml("[Content_Types].xml")
    etree.SubElement(ct, f"{{{CT_NS}}}Override", PartName="/" + part, ContentType=WORKSHEET_CT)
    package.put("[Content_Types].xml", ct)
    return part


def request_full_recalc(package: Package) -> None:
    """Ask Excel to recompute formulas on opening: cells that depend on the recorded dates
    (a stage formula, a conditional format) must not show values cached before the run."""
    wb = package.xml("xl/workbook.xml")
    calc = wb.find(q("calcPr"))
    if calc is not None and calc.get("fullCalcOnLoad") == "1":
        return
    if calc is None:
        calc = etree.Element(q("calcPr"))
        # CT_Workbook's order: … sheets, functionGroups, externalReferences, definedNames, calcPr
        for tag in ("definedNames", "externalReferences", "functionGroups", "sheets"):
            anchor = wb.find(q(tag))
            if anchor is not None:
                anchor.addnext(calc)
                break
    calc.set("fullCalcOnLoad", "1")
    package.put("xl/workbook.xml", wb)


def shared_strings(package: Package) -> list:
    name = "xl/sharedStrings.xml"
    if not package.has(name):
        return []
    return ["".join(si.itertext()) for si in package.xml(name).findall(q("si"))]


def workbook_epoch(package: Package) -> date:
    pr = package.xml("xl/workbook.xml").find(q("workbookPr"))
    if pr is not None and pr.get("date1904") in ("1", "true"):
        return EXCEL_EPOCH_1904
    return EXCEL_EPOCH_1900
