"""A sheet read in pieces gives calamine's values of the sheet read whole; the read ahead and
the light entry point never change what the command says."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from conftest import SAMPLE, run_cli
from relance.launcher import workbook_argument
from relance.reading import ahead, sheet_pieces

PART = "xl/worksheets/sheet1.xml"


def book_bytes(fill) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    fill(ws)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def irregular(ws):
    """Title rows, blank rows inside, a block starting in column B, rows of every width,
    every kind of value."""
    ws["A1"] = "Suivi"
    for r in range(3, 60):
        if r % 11 == 0:
            continue  # a blank row
        width = 2 + r % 7
        for c in range(2, 2 + width):
            ws.cell(r, c, [f"t{r}-{c}", r * 1.5, date(2026, 1, 1 + r % 28), r % 2 == 0,
                           datetime(2026, 3, 1, r % 24, 30), -r, None][(r + c) % 7])
    ws["Z40"] = "far right"
    ws.cell(58, 3).number_format = "000000"


def sparse_start(ws):
    """Nothing before row 30, nor left of column D."""
    for r in range(30, 80):
        ws.cell(r, 4, f"x{r}")
        ws.cell(r, 6, r)


def sheet_xml_and_parts(data: bytes):
    zf = zipfile.ZipFile(io.BytesIO(data))
    return zf.read(PART), sheet_pieces.non_sheet_parts(zf)


def whole(parts, xml):
    sheet = CalamineWorkbook.from_filelike(sheet_pieces.piece_book(parts, PART, xml)) \
        .get_sheet_by_name("Créances")
    return sheet.to_python(skip_empty_area=False) if sheet.height else []


def read_pieces(open_piece, pieces: list, name: str) -> list:
    """calamine's values of the whole sheet from A1 (as `to_python(skip_empty_area=False)`
    gives them), from its pieces parsed side by side, as the grid reader joins them."""
    parsed = sheet_pieces.Pieces(open_piece, pieces, name)
    try:
        return sheet_pieces.join_pieces(parsed.sheets())
    finally:
        parsed.close()


def in_pieces(parts, xml, count):
    cut = sheet_pieces.split_sheet_xml(xml, count)
    if cut is None:
        return None
    return read_pieces(
        lambda piece: CalamineWorkbook.from_filelike(sheet_pieces.piece_book(parts, PART, piece)),
        cut, "Créances")


def variants(xml: bytes) -> dict:
    """The sheet as written, and as other writers write it: cells without their reference."""
    return {"as written": xml,
            "cells without reference": re.sub(rb'<c r="[A-Z]+\d+"', b"<c", xml)}


@pytest.mark.parametrize("fill", [irregular, sparse_start])
def test_pieces_give_the_values_of_one_read(fill):
    xml, parts = sheet_xml_and_parts(book_bytes(fill))
    for name, variant in variants(xml).items():
        expected = whole(parts, variant)
        assert expected, name
        as_grids_want = [[None if v == "" else v for v in row] for row in expected]
        for count in range(2, 9):
            assert in_pieces(parts, variant, count) == expected, (name, count)
            pieces = sheet_pieces.Pieces(lambda piece: CalamineWorkbook.from_filelike(
                sheet_pieces.piece_book(parts, PART, piece)),
                sheet_pieces.split_sheet_xml(variant, count), "Créances", workers=2)
            assert sheet_pieces.join_pieces(pieces.sheets(), empty=None) == as_grids_want


def test_pieces_of_the_sample_and_of_a_shared_strings_workbook(tmp_path):
    """Every sheet of the sample; and a workbook written as Excel writes one (text in shared
    strings, dates as styled serial numbers, a formula with its cached value), by xlsxwriter."""
    import xlsxwriter
    from relance.reading.fast_xlsx import CalamineBook
    path = tmp_path / "excel-like.xlsx"
    with xlsxwriter.Workbook(str(path)) as wb:
        ws = wb.add_worksheet("Créances")
        day = wb.add_format({"num_format": "dd/mm/yyyy"})
        ws.write_row(1, 0, ["N° facture", "Client", "Échéance", "Montant TTC", "Double"])
        for r in range(2, 400):
            ws.write_string(r, 0, f"F{r:05d}")
            ws.write_string(r, 1, f"Client {r % 13} & fils <SA>")
            ws.write_datetime(r, 2, datetime(2026, 1 + r % 12, 1 + r % 28), day)
            ws.write_number(r, 3, r * 10.25)
            ws.write_formula(r, 4, f"=D{r + 1}*2", None, r * 20.5)
    for book_path in (SAMPLE, path):
        zf = zipfile.ZipFile(book_path)
        parts = sheet_pieces.non_sheet_parts(zf)
        book = CalamineBook(book_path)
        wb = CalamineWorkbook.from_path(str(book_path))
        for name, part in book.parts.items():
            xml = zf.read(part)
            sheet = wb.get_sheet_by_name(name)
            expected = sheet.to_python(skip_empty_area=False) if sheet.height else []
            for count in (2, 3, 7):
                cut = sheet_pieces.split_sheet_xml(xml, count)
                if cut is None:
                    continue
                got = read_pieces(lambda piece: CalamineWorkbook.from_filelike(
                    sheet_pieces.piece_book(parts, part, piece)), cut, name)
                assert got == expected, (book_path.name, name, count)
    assert "xl/sharedStrings.xml" in sheet_pieces.non_sheet_parts(zipfile.ZipFile(path))


def test_a_sheet_that_cannot_be_cut_safely_is_read_whole():
    xml, _ = sheet_xml_and_parts(book_bytes(irregular))
    assert sheet_pieces.split_sheet_xml(xml, 1) is None
    # rows placed by counting, not by their number: a cut would move them
    assert sheet_pieces.split_sheet_xml(re.sub(rb'<row r="\d+"', b"<row", xml), 2) is None
    assert sheet_pieces.split_sheet_xml(xml.replace(b"<sheetData>", b"<x:sheetData>"), 2) is None
    one_row, _ = sheet_xml_and_parts(book_bytes(lambda ws: ws.append(["seul"])))
    assert sheet_pieces.split_sheet_xml(one_row, 2) is None


def test_how_many_pieces(monkeypatch):
    monkeypatch.setenv("RELANCE_PARALLEL", "never")
    assert sheet_pieces.piece_count(100_000_000, cores=8) == 1
    monkeypatch.setenv("RELANCE_PARALLEL", "always")
    assert sheet_pieces.piece_count(10, cores=1) == 2
    monkeypatch.delenv("RELANCE_PARALLEL")
    assert sheet_pieces.piece_count(1_000_000, cores=2) == 1  # small: one read is quick
    assert sheet_pieces.piece_count(40_000_000, cores=1) == 1  # one core: nothing to share
    assert sheet_pieces.piece_count(40_000_000, cores=2) == 4
    assert sheet_pieces.piece_count(9_000_000, cores=2) == 2


@pytest.mark.parametrize("args, expected", [
    (["scan", "b.xlsx", "--json"], "b.xlsx"),
    (["--debug", "generate", "--as-of", "2026-12-01", "b.xlsx"], "b.xlsx"),
    (["generate", "--channels", "courrier", "--out", "o", "b.xlsm"], "b.xlsm"),
    (["scan", "--", "-b.xlsx"], "-b.xlsx"),
    (["scan"], None), (["--version"], None), (["autre", "b.xlsx"], None), ([], None),
])
def test_the_entry_point_finds_the_workbook_argument(args, expected):
    assert workbook_argument(args) == expected


def test_a_read_ahead_is_used_only_for_the_very_file_it_read(tmp_path):
    import os
    import shutil
    book = tmp_path / "b.xlsx"
    shutil.copy(SAMPLE, book)
    ahead.start(book)
    taken = ahead.take(book)
    assert taken is not None and "Créances" in taken._parsed
    taken.grid("Créances")  # its pieces' threads end with it
    assert ahead.take(book) is None  # taken once
    ahead.start(book)
    os.utime(book, ns=(1, 1))  # changed since: read again
    assert ahead.take(book) is None
    # replaced by a copy keeping size and date (`cp -p`): another file all the same
    stat = book.stat()
    ahead.start(book)
    copy = tmp_path / "copie.xlsx"
    shutil.copy2(book, copy)
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(copy, book)
    assert ahead.take(book) is None


def test_a_read_ahead_of_a_damaged_file_leaves_the_message_unchanged(tmp_path):
    bad = tmp_path / "faux.xlsx"
    bad.write_text("pas un classeur", encoding="utf-8")
    ahead.start(bad)
    assert ahead.take(bad) is None
    proc = run_cli("scan", bad, "--json")
    assert proc.returncode == 1 and "faux.xlsx n'est pas un classeur Excel" in proc.stderr
    assert proc.stdout == ""


def test_shared_strings_written_into_the_head_rows_read_as_calamine_reads_them():
    """Plain, rich (runs), phonetic and escaped texts, an empty one: the head rows with their
    texts inline read as the same rows with the shared strings table."""
    shared = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
              b'spreadsheetml/2006/main" count="5" uniqueCount="5">'
              b'<si><t>N\xc2\xb0 facture</t></si>'
              b'<si><r><rPr><b/></rPr><t>Cli</t></r><r><t xml:space="preserve">ent </t></r></si>'
              b'<si><t>Dupont &amp; fils &lt;SA&gt;</t><rPh sb="0" eb="1"><t>DUPON</t></rPh></si>'
              b'<si/>'
              b'<si><t>\xc3\x89ch\xc3\xa9ance</t></si></sst>')
    rows = (b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" s="1" t="s"><v>1</v></c>'
            b'<c r="C1" t="s"><v>4</v></c><c r="D1"><v>12.5</v></c></row>'
            b'<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>')
    inlined = sheet_pieces.inline_shared_strings(rows, shared)
    assert b't="s"' not in inlined

    def values(sheet_rows, with_shared):
        data = book_bytes(lambda ws: ws.append(["x"]))
        zf = zipfile.ZipFile(io.BytesIO(data))
        parts = sheet_pieces.non_sheet_parts(zf)
        parts = {n: d for n, d in parts.items() if n != "xl/sharedStrings.xml"}
        if with_shared:
            parts["xl/sharedStrings.xml"] = shared
        xml = zf.read(PART)
        start, end = xml.index(b"<sheetData>") + 11, xml.rindex(b"</sheetData>")
        book = CalamineWorkbook.from_filelike(sheet_pieces.piece_book(
            parts, PART, (xml[:start], sheet_rows, xml[end:])))
        return book.get_sheet_by_name("Créances").to_python()

    expected = values(rows, True)
    assert expected[0][:3] == ["N° facture", "Client ", "Échéance"]
    assert expected[1][0] == "Dupont & fils <SA>"
    assert values(inlined, False) == expected
    # an index past the table's end, or no table at all: not resolved
    assert sheet_pieces.inline_shared_strings(rows.replace(b"<v>4</v>", b"<v>9</v>"), shared) is None
    assert sheet_pieces.inline_shared_strings(rows, None) is None
    plain = b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
    assert sheet_pieces.inline_shared_strings(plain, None) == plain
