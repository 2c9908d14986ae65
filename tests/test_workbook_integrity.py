"""The user's workbook is sacred: `relance generate` edits only the cells it must.

Checks, on realistic workbooks (tables, formulas, formats, widths, frozen panes, validations,
conditional formats, comments, defined names, hidden sheet, chart, picture, VBA, 1904 dates)
run through the real command line, that:
- every zip part other than the ones the run must edit is byte-identical, none is lost;
- on the receivables sheet only the `Date 2e relance` cells of the covered invoices changed
  (and the header cell when the column was added), holding the as-of date as a date serial;
- the Journal gets one row per letter, old rows untouched, and is created when missing;
- a backup of the original sits in the output folder; a second run writes nothing;
- an open workbook (Excel's `~$` lock file) is refused and --dry-run writes nothing;
- a CSV input is never modified (its journal is `journal.csv`).
"""
from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

from conftest import SAMPLE_DATE, run_cli
from workbooks import (AS_OF, CT_NS, FIRST_DATA_ROW, HEADER_ROW, JOURNAL_HEADERS,
                       OLD_JOURNAL_ROWS, PKG_REL_NS, REL_NS, SHEET, TABLE, build_receivables_workbook,
                       c14n, excelify, expected_covered, expected_letters, q, rels_name,
                       sheet_cells, sheet_parts, write_csv_export, xml, zip_parts)

# openpyxl (used here only to inspect) drops the Excel 2010 data bar extension on reading.
pytestmark = pytest.mark.filterwarnings("ignore:Conditional Formatting extension:UserWarning")

XLWINGS_XLSM = (Path(openpyxl.__file__).resolve().parents[1] / "xlwings" / "quickstart.xlsm")
MACRO_CT = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
EPOCH_1900, EPOCH_1904 = date(1899, 12, 30), date(1904, 1, 1)


# --- helpers ---------------------------------------------------------------------------

def generate(path: Path, out: Path | None, *extra, as_of: date = AS_OF):
    args = ["generate", path, "--as-of", as_of.isoformat()]
    if out is not None:
        args += ["--out", out]
    if "--channels" not in extra:  # these tests look at the workbook: the letters suffice
        args += ["--channels", "courrier"]
    return run_cli(*args, *extra)


def is_letter(name: str) -> bool:
    """A client's letter (not the combined print file of the run)."""
    return name.endswith(".docx") and "toutes les lettres" not in name


def listing(folder: Path) -> dict:
    """Relative path -> bytes of every file under `folder` (empty when it does not exist)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def column_of(ref: str) -> str:
    return "".join(ch for ch in ref if ch.isalpha())


def header_columns(path: Path, sheet: str = SHEET, row: int = HEADER_ROW) -> dict:
    ws = openpyxl.load_workbook(path)[sheet]
    return {c.value: c.column_letter for c in ws[row] if c.value is not None}


def style_format(parts: dict, style_index) -> str:
    """The number format code of cell style `style_index` in a package's styles.xml."""
    root = xml(parts["xl/styles.xml"])
    custom = {int(n.get("numFmtId")): n.get("formatCode") for n in root.iter(q("numFmt"))}
    xfs = root.find(q("cellXfs")).findall(q("xf"))
    fmt_id = int(xfs[int(style_index or 0)].get("numFmtId", "0"))
    return custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id, "General")


def features(path: Path) -> dict:
    """What openpyxl models of each sheet, in comparable form."""
    wb = openpyxl.load_workbook(path)
    out = {"sheets": [(ws.title, ws.sheet_state) for ws in wb.worksheets],
           "defined_names": {n: d.attr_text for n, d in wb.defined_names.items()},
           "epoch": wb.epoch}
    for ws in wb.worksheets:
        cells = [c for row in ws.iter_rows() for c in row]
        out[ws.title] = {
            "local_names": {n: d.attr_text for n, d in ws.defined_names.items()},
            "print_area": ws.print_area,
            "freeze": ws.freeze_panes,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "validations": sorted((str(dv.sqref), dv.type, dv.formula1, dv.operator,
                                   dv.showErrorMessage, dv.error)
                                  for dv in ws.data_validations.dataValidation),
            "cf": sorted((str(cf.sqref), etree.tostring(rule.to_tree()))
                         for cf in ws.conditional_formatting for rule in cf.rules),
            "comments": {c.coordinate: (c.comment.text, c.comment.author) for c in cells
                         if c.comment is not None},
            "tables": {name: (t.ref, [col.name for col in t.tableColumns],
                              t.tableStyleInfo.name if t.tableStyleInfo else None)
                       for name, t in ((t.displayName, t) for t in ws.tables.values())},
            "widths": {k: d.width for k, d in ws.column_dimensions.items() if d.customWidth},
            "heights": {k: d.height for k, d in ws.row_dimensions.items() if d.height},
            "values": {c.coordinate: c.value for c in cells if c.value is not None},
            "formats": {c.coordinate: c.number_format for c in cells},
        }
    return out


@dataclass
class Run:
    """A workbook before and after `generate` (then after a second, identical `generate`)."""

    path: Path
    out: Path
    original: Path  # an untouched copy of the workbook as built
    before: dict  # part -> bytes
    after: dict
    first: object  # CompletedProcess
    out_after_first: dict
    after_second_bytes: bytes = b""
    after_first_bytes: bytes = b""
    second: object = None
    out_after_second: dict = None
    dir_after_first: list = None
    dir_after_second: list = None
    journal: bool = True  # the workbook had a Journal sheet
    column: bool = True  # the workbook had a `Date 2e relance` column


def run_twice(path: Path, out: Path) -> Run:
    original_dir = path.parent / "originals"
    original_dir.mkdir(exist_ok=True)
    original = original_dir / path.name
    shutil.copy2(path, original)
    before = zip_parts(path)
    first = generate(path, out)
    run = Run(path, out, original, before, zip_parts(path), first, listing(out),
              after_first_bytes=path.read_bytes())
    run.dir_after_first = sorted(p.name for p in path.parent.iterdir())
    run.second = generate(path, out)
    run.after_second_bytes = path.read_bytes()
    run.out_after_second = listing(out)
    run.dir_after_second = sorted(p.name for p in path.parent.iterdir())
    return run


VARIANTS = [(True, True), (True, False), (False, True), (False, False)]


def _id(v):
    journal, column = v
    return ("journal" if journal else "no-journal") + "-" + ("col" if column else "no-col")


@pytest.fixture(scope="module", params=VARIANTS, ids=[_id(v) for v in VARIANTS])
def run(request, tmp_path_factory):
    journal, column = request.param
    base = tmp_path_factory.mktemp(_id(request.param))
    folder = base / "compta"
    folder.mkdir()
    path = build_receivables_workbook(folder / "créances clients.xlsx", journal=journal,
                                      second_column=column)
    excelify(path)
    r = run_twice(path, base / "sortie")
    r.journal, r.column = journal, column
    return r


def receivables_part(parts: dict) -> str:
    return sheet_parts(parts)[SHEET]


def journal_part(parts: dict) -> str | None:
    return sheet_parts(parts).get("Journal")


def table_part(parts: dict, display_name: str) -> str:
    for name, data in parts.items():
        if name.startswith("xl/tables/") and xml(data).get("displayName") == display_name:
            return name
    raise AssertionError(f"table {display_name} not found")


# --- the main scenario: four workbooks (with/without Journal, with/without the column) ----

def test_generate_succeeds_and_writes_one_letter_per_client(run):
    assert run.first.returncode == 0, run.first.stderr
    letters = expected_letters(run.column)
    docx = sorted(n for n in run.out_after_first if is_letter(n))
    assert len(docx) == len(letters), docx
    assert not [n for n in run.out_after_first if n.startswith(".")], \
        "staging or temporary files left in the output folder"
    # recorded in the workbook itself, not in the journal.csv fallback for unsupported files
    assert "journal.csv" not in run.out_after_first, run.first.stdout + run.first.stderr


def test_no_part_lost_and_untouched_parts_byte_identical(run):
    before, after = run.before, run.after
    lost = set(before) - set(after)
    assert not lost, f"parts lost: {sorted(lost)}"
    added = set(after) - set(before)
    expected_added = set() if run.journal else {journal_part(after)}
    assert added == expected_added
    assert [n for n in after if n in before] == list(before), "part order changed"

    allowed = {receivables_part(before), "xl/styles.xml", "xl/workbook.xml"}
    if run.journal:
        allowed.add(journal_part(before))
    else:
        allowed |= {"xl/_rels/workbook.xml.rels", "[Content_Types].xml"}
    if not run.column:
        allowed.add(table_part(before, TABLE))
    changed_unexpectedly = [n for n in before if n not in allowed and before[n] != after[n]]
    assert not changed_unexpectedly, f"parts rewritten though the run had no reason to: " \
                                     f"{changed_unexpectedly}"


def test_workbook_part_changes_only_calcpr_and_new_journal_sheet(run):
    old, new = xml(run.before["xl/workbook.xml"]), xml(run.after["xl/workbook.xml"])
    for root in (old, new):
        for calc in root.findall(q("calcPr")):
            root.remove(calc)
    new_sheets = new.find(q("sheets"))
    old_names = [s.get("name") for s in old.find(q("sheets"))]
    extra = [s for s in new_sheets if s.get("name") not in old_names]
    assert [s.get("name") for s in extra] == ([] if run.journal else ["Journal"])
    for s in extra:
        new_sheets.remove(s)
    assert c14n(new) == c14n(old)
    calc = xml(run.after["xl/workbook.xml"]).find(q("calcPr"))
    assert calc is not None and calc.get("fullCalcOnLoad") == "1"


def test_rels_and_content_types_only_gain_the_journal_sheet(run):
    for name in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
        old = {c14n(e) for e in xml(run.before[name])}
        new = {c14n(e) for e in xml(run.after[name])}
        assert old <= new, f"{name}: entries lost {old - new}"
        assert len(new - old) == (0 if run.journal else 1), name
    if not run.journal:
        part = journal_part(run.after)
        overrides = {e.get("PartName"): e.get("ContentType")
                     for e in xml(run.after["[Content_Types].xml"]).iter(q("Override", CT_NS))}
        assert overrides.get("/" + part) == WORKSHEET_CT


def test_styles_only_gain_formats(run):
    old, new = xml(run.before["xl/styles.xml"]), xml(run.after["xl/styles.xml"])
    for tag in ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles",
                "dxfs"):
        o, n = old.find(q(tag)), new.find(q(tag))
        if o is None:
            continue
        assert n is not None, f"styles.xml lost <{tag}>"
        old_items, new_items = [c14n(e) for e in o], [c14n(e) for e in n]
        assert new_items[:len(old_items)] == old_items, f"styles.xml: existing <{tag}> entries changed"


def test_receivables_sheet_changes_only_the_second_reminder_cells(run):
    part = receivables_part(run.before)
    old_cells, old_rows = sheet_cells(run.before[part])
    new_cells, new_rows = sheet_cells(run.after[part])
    headers = header_columns(run.path)
    date_col = headers["Date 2e relance"]
    covered = expected_covered(run.column)
    intended = {f"{date_col}{row}" for row in covered.values()}
    if not run.column:
        intended.add(f"{date_col}{HEADER_ROW}")
        assert date_col not in {column_of(r) for r in old_cells}, "column not added at the right"

    lost = set(old_cells) - set(new_cells)
    assert not lost, f"cells lost: {sorted(lost)}"
    changed = {ref for ref in old_cells if c14n(old_cells[ref]) != c14n(new_cells[ref])}
    changed |= set(new_cells) - set(old_cells)
    assert changed == intended, (f"unexpected cells changed: {sorted(changed - intended)}; "
                                 f"intended cells not written: {sorted(intended - changed)}")
    assert set(old_rows) == set(new_rows)
    for r in old_rows:
        o = {k: v for k, v in old_rows[r].items() if k != "spans"}
        n = {k: v for k, v in new_rows[r].items() if k != "spans"}
        assert o == n, f"row {r} attributes changed"

    serial = (AS_OF - EPOCH_1900).days
    for row in covered.values():
        c = new_cells[f"{date_col}{row}"]
        assert c.find(q("f")) is None
        assert c.get("t") in (None, "n")
        assert float(c.find(q("v")).text) == serial
        assert is_date_format(style_format(run.after, c.get("s"))), \
            f"{date_col}{row}: not a date format ({style_format(run.after, c.get('s'))})"
        if run.column and row != 5:  # the existing cell's style (fill, date format) is kept
            assert c.get("s") == old_cells[f"{date_col}{row}"].get("s")
    if run.column:  # F-002 had no <c> for the column: inserted between its neighbours
        assert f"{date_col}5" not in old_cells


def test_receivables_cells_stay_in_column_order_and_inside_dimension(run):
    from openpyxl.utils.cell import column_index_from_string, range_boundaries
    part = receivables_part(run.after)
    root = xml(run.after[part])
    min_col, min_row, max_col, max_row = range_boundaries(root.find(q("dimension")).get("ref"))
    rows = root.find(q("sheetData")).findall(q("row"))
    assert [int(r.get("r")) for r in rows] == sorted(int(r.get("r")) for r in rows)
    for r in rows:
        cols = [column_index_from_string(column_of(c.get("r"))) for c in r.findall(q("c"))]
        assert cols == sorted(set(cols)), f"row {r.get('r')}: cells out of column order {cols}"
        assert all(c.get("r").endswith(r.get("r")) for c in r.findall(q("c")))
        if cols:
            assert min_col <= cols[0] and cols[-1] <= max_col and min_row <= int(r.get("r")) <= max_row
            if r.get("spans"):
                lo, hi = (int(x) for x in r.get("spans").split(":"))
                assert lo <= cols[0] and cols[-1] <= hi, f"row {r.get('r')}: spans {lo}:{hi}"


def test_receivables_sheet_structure_unchanged(run):
    part = receivables_part(run.before)
    old, new = xml(run.before[part]), xml(run.after[part])
    assert dict(old.attrib) == dict(new.attrib) and old.nsmap == new.nsmap

    def structure(root):
        return [(e.tag, c14n(e)) for e in root if e.tag not in (q("sheetData"), q("dimension"),
                                                               q("cols"))]
    assert structure(new) == structure(old), "sheet parts other than cells changed"
    assert [e.tag for e in new] == [e.tag for e in old]
    old_cols = [c14n(e) for e in old.find(q("cols"))]
    new_cols = [c14n(e) for e in new.find(q("cols"))]
    assert set(old_cols) <= set(new_cols), "column widths lost"
    assert len(new_cols) - len(old_cols) == (0 if run.column else 1)

    # The drawing (chart + picture) and the comments are still referenced and present.
    rels = {e.get("Id"): e.get("Type").rsplit("/", 1)[1]
            for e in xml(run.after[rels_name(part)]).iter(q("Relationship", PKG_REL_NS))}
    drawing = new.find(q("drawing"))
    assert drawing is not None and rels[drawing.get(q("id", REL_NS))] == "drawing"
    assert new.find(q("legacyDrawing")) is not None
    for name in ("xl/drawings/drawing1.xml", "xl/charts/chart1.xml", "xl/media/image1.png",
                 "xl/comments/comment1.xml"):
        assert name in run.after and run.after[name] == run.before[name], name
    drawing_xml = run.after["xl/drawings/drawing1.xml"]
    assert b"chart" in drawing_xml and b"pic" in drawing_xml


def test_table_extended_only_when_column_added(run):
    part = table_part(run.before, TABLE)
    if run.column:
        assert run.after[part] == run.before[part]
        return
    old, new = xml(run.before[part]), xml(run.after[part])
    assert old.get("ref") == "A3:L12" and new.get("ref") == "A3:M12"
    old_cols = [c.get("name") for c in old.find(q("tableColumns"))]
    new_cols = [c.get("name") for c in new.find(q("tableColumns"))]
    assert new_cols == old_cols + ["Date 2e relance"]
    assert new.find(q("tableColumns")).get("count") == str(len(new_cols))
    auto = new.find(q("autoFilter"))
    if auto is not None:
        assert auto.get("ref") == "A3:M12"
    ids = [c.get("id") for c in new.find(q("tableColumns"))]
    assert len(set(ids)) == len(ids)
    ws = openpyxl.load_workbook(run.path)[SHEET]
    assert ws["M3"].value == "Date 2e relance" == new_cols[-1]
    for tag in ("tableStyleInfo",):
        assert c14n(new.find(q(tag))) == c14n(old.find(q(tag)))


def test_features_equal_after_reopen(run):
    old, new = features(run.original), features(run.path)
    assert new["sheets"][:len(old["sheets"])] == old["sheets"]
    assert new["defined_names"] == old["defined_names"]
    covered = expected_covered(run.column)
    headers = header_columns(run.path)
    date_col = headers["Date 2e relance"]
    intended = {f"{date_col}{row}" for row in covered.values()}
    if not run.column:
        intended.add(f"{date_col}{HEADER_ROW}")
    for title, _ in old["sheets"]:
        o, n = old[title], new[title]
        for key in ("local_names", "print_area", "freeze", "merged", "validations", "cf",
                    "comments", "heights"):
            assert n[key] == o[key], f"{title}: {key} changed"
        if title == SHEET and not run.column:
            ref, cols, style = o["tables"][TABLE]
            assert n["tables"] == {**o["tables"], TABLE: ("A3:M12", cols + ["Date 2e relance"], style)}
            assert {k: v for k, v in n["widths"].items() if k != date_col} == o["widths"]
            assert date_col in n["widths"]
        else:
            assert n["tables"] == o["tables"], f"{title}: tables changed"
            assert n["widths"] == o["widths"], f"{title}: column widths changed"
        if title == SHEET:
            assert {k: v for k, v in n["values"].items() if k not in intended} == o["values"]
            # (the grid openpyxl iterates grows with the added column: compare old cells)
            assert {k: n["formats"].get(k) for k in o["formats"] if k not in intended} == \
                   {k: v for k, v in o["formats"].items() if k not in intended}
            for ref in intended - {f"{date_col}{HEADER_ROW}"}:
                assert n["values"][ref] == datetime.combine(AS_OF, datetime.min.time())
            for r in range(FIRST_DATA_ROW, FIRST_DATA_ROW + 9):  # the formula column is intact
                assert n["values"][f"H{r}"] == o["values"][f"H{r}"] == f"=F{r}-G{r}"
        elif title != "Journal":
            assert n["values"] == o["values"] and n["formats"] == o["formats"]


def test_journal_rows_appended(run):
    wb = openpyxl.load_workbook(run.path)
    assert "Journal" in wb.sheetnames, "Journal sheet not created"
    ws = wb["Journal"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert tuple(rows[0][:len(JOURNAL_HEADERS)]) == JOURNAL_HEADERS
    old_count = len(OLD_JOURNAL_ROWS) if run.journal else 0
    if run.journal:
        for got, want in zip(rows[1:1 + old_count], OLD_JOURNAL_ROWS):
            assert got[1] == datetime.combine(want[1], datetime.min.time())
            assert got[0] == want[0] and tuple(got[2:10]) == want[2:]
        part = journal_part(run.before)
        old_cells, _ = sheet_cells(run.before[part])
        new_cells, _ = sheet_cells(run.after[part])
        for ref, c in old_cells.items():
            assert c14n(new_cells[ref]) == c14n(c), f"Journal!{ref} rewritten"
    new_rows = rows[1 + old_count:]
    letters = expected_letters(run.column)
    assert len(new_rows) == len(letters), new_rows
    by_code = {r[2]: r for r in new_rows}
    assert set(by_code) == set(letters)
    for code, (client, invoices, total) in letters.items():
        r = by_code[code]
        assert isinstance(r[0], datetime)
        assert r[1] == datetime.combine(AS_OF, datetime.min.time())
        assert r[3] == client
        assert [s.strip() for s in r[4].split(",")] == list(invoices)
        assert r[5] == pytest.approx(total)
        assert (r[6], r[7], r[9]) == ("courrier", "généré", "2e relance")
        shown = Path(r[8])
        full = shown if shown.is_absolute() else run.path.parent / shown
        assert full.suffix == ".docx" and full.exists(), r[8]
    for row in range(2 + old_count, 2 + old_count + len(new_rows)):
        assert is_date_format(ws.cell(row, 1).number_format)
        assert is_date_format(ws.cell(row, 2).number_format)


def test_backup_is_a_byte_identical_copy_of_the_original(run):
    backups = [n for n in run.out_after_first if n.startswith("sauvegarde")]
    assert len(backups) == 1, list(run.out_after_first)
    assert backups[0].endswith(".xlsx")
    assert run.out_after_first[backups[0]] == run.original.read_bytes()


def test_no_temporary_file_left_next_to_the_workbook(run):
    assert run.dir_after_first == sorted([run.path.name, "originals"]), run.dir_after_first


def test_second_run_writes_nothing(run):
    assert run.second.returncode == 0, run.second.stderr
    assert "rien à faire" in (run.second.stdout + run.second.stderr).lower()
    assert run.after_second_bytes == run.after_first_bytes, "workbook rewritten by the second run"
    assert run.out_after_second == run.out_after_first, "files written by the second run"
    assert run.dir_after_second == run.dir_after_first


def test_general_formatted_date_cells_keep_fill_border_and_font(tmp_path):
    """A `Date 2e relance` column the user formatted by hand (fill, border, font) but left in
    the General number format: the written cells need a date format, and must keep the rest
    of their format ("never lose a format")."""
    from openpyxl.styles import Border, Font, PatternFill, Side
    path = build_receivables_workbook(tmp_path / "créances.xlsx", second_column=True)
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET]
    for r in range(FIRST_DATA_ROW, FIRST_DATA_ROW + 9):
        c = ws.cell(r, 11)  # K = Date 2e relance
        c.number_format = "General"
        c.fill = PatternFill("solid", fgColor="FFF2CC")
        c.border = Border(left=Side("thin"), right=Side("thin"))
        c.font = Font(color="0000FF", italic=True)
    wb.save(path)
    proc = generate(path, tmp_path / "sortie")
    assert proc.returncode == 0, proc.stderr
    ws = openpyxl.load_workbook(path)[SHEET]
    for row in expected_covered(True).values():
        c = ws.cell(row, 11)
        assert c.value == datetime.combine(AS_OF, datetime.min.time())
        assert is_date_format(c.number_format), c.number_format
        lost = [what for what, ok in (
            ("fill", c.fill.fgColor.rgb == "00FFF2CC"),
            ("border", (c.border.left.style, c.border.right.style) == ("thin", "thin")),
            ("font", c.font.italic and c.font.color is not None
             and c.font.color.rgb == "000000FF")) if not ok]
        assert not lost, f"K{row}: format lost when the date was written: {lost}"


# --- .xlsm with a real VBA project --------------------------------------------------------

@pytest.mark.skipif(not XLWINGS_XLSM.exists(), reason="xlwings quickstart.xlsm not installed")
def test_xlsm_keeps_vba_project_and_macro_content_type(tmp_path):
    folder = tmp_path / "compta"
    folder.mkdir()
    path = build_receivables_workbook(folder / "créances.xlsm", journal=True, second_column=False,
                                      vba_source=XLWINGS_XLSM)
    excelify(path)
    with zipfile.ZipFile(XLWINGS_XLSM) as zf:
        vba = zf.read("xl/vbaProject.bin")
    before = zip_parts(path)
    assert before["xl/vbaProject.bin"] == vba
    original = path.read_bytes()
    out = tmp_path / "sortie"
    proc = generate(path, out)
    assert proc.returncode == 0, proc.stderr
    after = zip_parts(path)
    assert not (out / "journal.csv").exists(), proc.stdout + proc.stderr
    assert after["xl/vbaProject.bin"] == vba
    assert set(before) <= set(after)
    overrides = {e.get("PartName"): e.get("ContentType")
                 for e in xml(after["[Content_Types].xml"]).iter(q("Override", CT_NS))}
    assert overrides["/xl/workbook.xml"] == MACRO_CT
    rel_types = [e.get("Type") for e in xml(after["xl/_rels/workbook.xml.rels"])]
    assert "http://schemas.microsoft.com/office/2006/relationships/vbaProject" in rel_types
    allowed = {receivables_part(before), journal_part(before), "xl/styles.xml", "xl/workbook.xml",
               table_part(before, TABLE)}
    assert [n for n in before if n not in allowed and before[n] != after[n]] == []
    backups = [p for p in out.iterdir() if p.name.startswith("sauvegarde")]
    assert len(backups) == 1 and backups[0].suffix == ".xlsm"
    assert backups[0].read_bytes() == original
    assert openpyxl.load_workbook(path, keep_vba=True).vba_archive is not None


# --- 1904 date system ---------------------------------------------------------------------

def test_1904_workbook_dates_read_back_as_the_as_of_date(tmp_path):
    path = build_receivables_workbook(tmp_path / "mac.xlsx", journal=True, second_column=False,
                                      epoch1904=True)
    excelify(path)
    before = features(path)
    proc = generate(path, tmp_path / "sortie")
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "sortie" / "journal.csv").exists(), proc.stdout + proc.stderr
    wb = openpyxl.load_workbook(path)
    assert wb.epoch.year == 1904
    ws = wb[SHEET]
    midnight = datetime.combine(AS_OF, datetime.min.time())
    for row in expected_covered(False).values():
        assert ws[f"M{row}"].value == midnight, f"M{row} = {ws[f'M{row}'].value!r}"
        assert ws[f"M{row}"].is_date
    raw, _ = sheet_cells(zip_parts(path)[receivables_part(zip_parts(path))])
    assert float(raw["M4"].find(q("v")).text) == (AS_OF - EPOCH_1904).days
    for ref, value in before[SHEET]["values"].items():  # earlier dates are untouched
        assert ws[ref].value == value, ref
    journal = [r for r in wb["Journal"].iter_rows(min_row=2 + len(OLD_JOURNAL_ROWS),
                                                   values_only=True)]
    assert journal and all(r[1] == midnight for r in journal)
    assert all(r[0].date() >= date(2020, 1, 1) for r in journal), "run time written with the wrong epoch"


# --- refusal when Excel has the file open ---------------------------------------------------

def test_refuses_when_excel_lock_file_present(tmp_path):
    folder = tmp_path / "compta"
    folder.mkdir()
    path = build_receivables_workbook(folder / "créances.xlsx")
    lock = folder / f"~${path.name}"
    lock.write_bytes(b"\x0bJean Compta" + b" " * 40)
    before_bytes = path.read_bytes()
    before_dir = listing(folder)
    out = tmp_path / "sortie"
    proc = generate(path, out)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "ouvert dans excel" in proc.stderr.lower(), proc.stderr
    assert path.read_bytes() == before_bytes
    assert listing(folder) == before_dir, "files written next to the workbook"
    assert not out.exists() or not any(out.iterdir()), "files written in the output folder"


# --- --dry-run --------------------------------------------------------------------------------

@pytest.mark.parametrize("with_out", [False, True], ids=["default-folder", "out"])
def test_dry_run_writes_nothing(tmp_path, with_out):
    folder = tmp_path / "compta"
    folder.mkdir()
    path = build_receivables_workbook(folder / "créances.xlsx", journal=False, second_column=False)
    before_bytes = path.read_bytes()
    out = tmp_path / "sortie"
    proc = generate(path, out if with_out else None, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes() == before_bytes
    assert sorted(p.name for p in folder.iterdir()) == [path.name], "something written next to it"
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compta"]


# --- the sample workbook ----------------------------------------------------------------------

def test_sample_workbook_keeps_everything(sample_copy, tmp_path):
    scan = run_cli("scan", sample_copy, "--as-of", SAMPLE_DATE.isoformat(), "--json")
    assert scan.returncode == 0, scan.stderr
    due = [x for x in json.loads(scan.stdout) if x["stage"] == "second_due"]
    assert len(due) == 17
    before = features(sample_copy)
    before_parts = zip_parts(sample_copy)
    proc = generate(sample_copy, tmp_path / "sortie", as_of=SAMPLE_DATE)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "sortie" / "journal.csv").exists(), proc.stdout + proc.stderr
    after = features(sample_copy)
    after_parts = zip_parts(sample_copy)

    cols = header_columns(sample_copy, SHEET, 3)
    date_col = cols["Date 2e relance"]
    intended = {f"{date_col}{x['row']}" for x in due}
    o, n = before[SHEET], after[SHEET]
    assert n["tables"] == o["tables"] and "Creances" in n["tables"]
    for key in ("validations", "cf", "freeze", "widths", "merged", "comments", "print_area",
                "local_names", "heights"):
        assert n[key] == o[key], key
    formulas = {k: v for k, v in o["values"].items() if isinstance(v, str) and v.startswith("=")}
    assert formulas and formulas["Q4"] == "=O4-P4"
    assert {k: n["values"].get(k) for k in formulas} == formulas
    assert {k: v for k, v in n["values"].items() if k not in intended} == \
           {k: v for k, v in o["values"].items() if k not in intended}
    assert {k: v for k, v in n["formats"].items() if k not in intended} == \
           {k: v for k, v in o["formats"].items() if k not in intended}
    midnight = datetime.combine(SAMPLE_DATE, datetime.min.time())
    for ref in sorted(intended):
        assert n["values"].get(ref) == midnight, ref
        assert is_date_format(n["formats"][ref]), ref
    for title in ("Paramètres",):
        assert after[title] == before[title]
    assert before["defined_names"] == after["defined_names"]
    allowed = {receivables_part(before_parts), journal_part(before_parts), "xl/styles.xml",
               "xl/workbook.xml"}
    assert set(before_parts) <= set(after_parts)
    assert [p for p in before_parts if p not in allowed and before_parts[p] != after_parts[p]] == []


# --- CSV input ----------------------------------------------------------------------------------

def test_csv_input_is_never_modified(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    csv_path = write_csv_export(folder)
    before = listing(folder)
    out = tmp_path / "sortie"
    proc = generate(csv_path, out)
    assert proc.returncode == 0, proc.stderr
    assert listing(folder) == before, "files next to the CSV modified or created"
    journal = out / "journal.csv"
    assert journal.exists()
    text = journal.read_bytes().decode("utf-8-sig")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert lines[0].split(";") == list(JOURNAL_HEADERS)
    assert len(lines) == 1 + 2  # Alpha (F-001, F-002) and Beta (F-003)
    assert len([p for p in out.iterdir() if is_letter(p.name)]) == 2
    first_out = listing(out)

    again = generate(csv_path, out)
    assert again.returncode == 0, again.stderr
    assert "rien à faire" in (again.stdout + again.stderr).lower()
    assert listing(folder) == before
    assert listing(out) == first_out, "second run wrote something"
