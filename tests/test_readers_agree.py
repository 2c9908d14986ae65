"""The fast reader (python-calamine) and openpyxl give identical results on every workbook
the tests build, the sample, and a large generated one."""
from __future__ import annotations

import pytest

from conftest import SAMPLE, SAMPLE_DATE, run_cli


def scan_with(reader: str, book) -> tuple:
    proc = run_cli("scan", book, "--as-of", SAMPLE_DATE.isoformat(), "--json",
                   env={"RELANCE_READER": reader})
    return proc.returncode, proc.stdout, proc.stderr


def workbooks(tmp_path):
    """The sample, and each variant of the realistic workbook the integrity tests build."""
    from workbooks import build_receivables_workbook
    out = [SAMPLE]
    for journal in (True, False):
        for second in (True, False):
            path = tmp_path / f"b-{journal}-{second}.xlsx"
            build_receivables_workbook(path, journal=journal, second_column=second)
            out.append(path)
    return out


def test_both_readers_agree_on_every_test_workbook(tmp_path):
    for book in workbooks(tmp_path):
        fast = scan_with("calamine", book)
        assert fast[0] == 0 and fast == scan_with("openpyxl", book), book


def test_both_readers_agree_on_leading_zeros_errors_tables_and_1904(tmp_path):
    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904
    from openpyxl.worksheet.table import Table
    from datetime import date
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "Créances"
    ws.append(["Suivi"])
    ws.append([])
    ws.append(["N° facture", "Code client", "Client", "Code postal", "Échéance", "Montant TTC",
               "Date 1ère relance"])
    ws.append([123, 7, "A", 1000, date(2026, 9, 1), 100, date(2026, 10, 1)])
    ws.append(["F2", "C2", "B", "75001", 46000, "#N/A", 46010])  # serials, an error text
    ws.append(["F3", "C3", "C", "75002", date(2026, 9, 1), 50, date(2026, 10, 1)])
    for cell, fmt in (("A4", "000000"), ("B4", '"CL"000'), ("D4", "00000")):
        ws[cell].number_format = fmt
    ws.add_table(Table(displayName="T", ref="A3:G6"))
    ws["A8"] = "en dehors du tableau"
    wb.save(tmp_path / "b.xlsx")
    # an error value cached in a cell, as Excel writes it
    import zipfile
    src = zipfile.ZipFile(tmp_path / "b.xlsx")
    parts = {n: src.read(n) for n in src.namelist()}
    src.close()
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    xml = xml.replace('<c r="F6" t="n"><v>50</v></c>', '<c r="F6" t="e"><v>#DIV/0!</v></c>')
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(tmp_path / "b.xlsx", "w") as out:
        for n, d in parts.items():
            out.writestr(n, d)
    fast, slow = scan_with("calamine", tmp_path / "b.xlsx"), scan_with("openpyxl", tmp_path / "b.xlsx")
    assert fast == slow
    assert '"000123"' in fast[1] and '"CL007"' in fast[1]
    assert "#DIV/0!" in fast[2] and "#N/A" in fast[2]


def _leading_zeros_book(path, rows=12):
    import openpyxl
    from datetime import date
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(["N° facture", "Client", "Échéance", "Montant TTC", "Date 1ère relance"])
    for k in range(rows):
        ws.append([k + 1, f"Client {k % 3}", date(2026, 9, 1), 100 + k, date(2026, 10, 1)])
        ws.cell(ws.max_row, 1).number_format = "000000"
    wb.save(path)
    return path


def _rewritten(src, dst, change, part="xl/worksheets/sheet1.xml"):
    import zipfile
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info.filename, change(data) if info.filename == part else data)
    return dst


@pytest.mark.parametrize("change", ["cells without reference", "reference not first",
                                    "error without reference"])
def test_cells_written_without_their_reference_read_alike(tmp_path, change):
    """Valid though Excel never writes it: cells that do not name their place (placed after
    the cell before), or name it after their style. Their number formats and error values
    read as openpyxl reads them."""
    import re
    book = _leading_zeros_book(tmp_path / "b.xlsx")
    if change == "cells without reference":
        edit = lambda xml: re.sub(rb'<c r="A(\d+)"', b"<c", xml)  # noqa: E731
    elif change == "reference not first":
        edit = lambda xml: re.sub(rb'<c r="(A\d+)"( s="\d+")', rb'<c\2 r="\1"', xml)  # noqa: E731
    else:
        def edit(xml):
            xml = re.sub(rb'<c r="D5"( s="\d+")? t="n"><v>[^<]*</v>',
                         rb'<c r="D5"\1 t="e"><v>#N/A</v>', xml)
            return re.sub(rb'<c r="D5"', b"<c", xml)
    odd = _rewritten(book, tmp_path / "odd.xlsx", edit)
    fast, slow = scan_with("calamine", odd), scan_with("openpyxl", odd)
    assert fast == slow
    if change != "error without reference":
        assert '"invoice": "000001"' in fast[1]
    else:
        assert "#N/A" in fast[2]


def test_a_sheet_name_written_with_character_references(tmp_path):
    """`Cr&#233;ances` in the workbook's part is the sheet `Créances`: its table, formats
    and error values are read as for any other."""
    book = _leading_zeros_book(tmp_path / "b.xlsx")
    odd = _rewritten(book, tmp_path / "ref.xlsx",
                     lambda xml: xml.replace("Créances".encode(), b"Cr&#233;ances"),
                     part="xl/workbook.xml")
    fast, slow = scan_with("calamine", odd), scan_with("openpyxl", odd)
    assert fast == slow and '"invoice": "000001"' in fast[1]


def test_no_builtin_number_format_changes_an_invoice_number():
    """The fast reader reads only a workbook's own number formats (fast_xlsx._style_codes):
    none of Excel's built-in ones pads a whole number with zeros, the only way a format
    changes the text of an invoice number, a client code or a postcode."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS
    from relance.reading.receivables import invoice_number
    for number in (0, 5, 123, 5.0, 1234567):
        expected = invoice_number(number)
        assert all(invoice_number(number, fmt) == expected for fmt in BUILTIN_FORMATS.values())


def test_numbers_of_one_column_shown_in_several_ways(tmp_path):
    """One column, numbers shown 000000, 0000 or as they are (General), and text: each
    number read with its own cell's format, by both readers, in either half of a sheet."""
    import openpyxl
    from datetime import date
    from halves import shared_out_scan, whole_scan
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(["N° facture", "Client", "Code postal", "Échéance", "Montant TTC"])
    for k in range(40):
        ws.append([k + 1 if k % 5 else f"T{k}", f"Client {k % 4}", 1000 + k % 4,
                   date(2026, 9, 1), 100 + k])
        if k % 3 == 0:
            ws.cell(ws.max_row, 1).number_format = "000000"
        elif k % 3 == 1:
            ws.cell(ws.max_row, 1).number_format = "0000"
        ws.cell(ws.max_row, 3).number_format = "00000"
    wb.save(tmp_path / "mixed.xlsx")
    fast, slow = scan_with("calamine", tmp_path / "mixed.xlsx"), scan_with("openpyxl",
                                                                          tmp_path / "mixed.xlsx")
    assert fast == slow
    for shown in ('"000004"', '"0005"', '"9"', '"T10"'):
        assert shown in fast[1], shown
    answer, used = shared_out_scan(tmp_path / "mixed.xlsx", SAMPLE_DATE)
    assert used and answer == whole_scan(tmp_path / "mixed.xlsx", SAMPLE_DATE)


@pytest.mark.parametrize("change", ["newline before the reference", "default style pads",
                                    "format attributes reversed", "a conditional format id"])
def test_number_formats_however_the_workbook_writes_them(tmp_path, change):
    """Cells written `<c\\n r=…>`; the default style (cells without one) padding with zeros;
    a custom format's attributes in the other order; a conditional format (dxfs) reusing the
    id of a cell format: both readers read the same numbers."""
    import re
    book = _leading_zeros_book(tmp_path / "b.xlsx")
    part = "xl/worksheets/sheet1.xml"
    if change == "newline before the reference":
        edit = lambda xml: re.sub(rb'<c r="A(\d*[13579])"', rb'<c\n r="A\1"', xml)  # noqa: E731
    elif change == "default style pads":  # style 0 takes the padding format, cells lose theirs
        part = "xl/styles.xml"
        book = _rewritten(book, tmp_path / "unstyled.xlsx",
                          lambda xml: re.sub(rb'(<c r="A\d+") s="\d+"', rb"\1", xml))

        def edit(xml):  # the first cell format (xf 0 of cellXfs, not of cellStyleXfs)
            fmt = re.search(rb'<numFmt numFmtId="(\d+)" formatCode="000000"', xml).group(1)
            at = xml.index(b"<cellXfs")
            return xml[:at] + xml[at:].replace(b'<xf numFmtId="0" ',
                                                b'<xf numFmtId="' + fmt + b'" ', 1)
    elif change == "format attributes reversed":
        part = "xl/styles.xml"
        edit = lambda xml: re.sub(rb'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"',  # noqa
                                  rb'<numFmt formatCode="\2" numFmtId="\1"', xml)
    else:
        part = "xl/styles.xml"

        def edit(xml):
            fmt = re.search(rb'<numFmt numFmtId="(\d+)" formatCode="000000"', xml).group(1)
            dxf = (b'<dxfs count="1"><dxf><numFmt numFmtId="' + fmt + b'" formatCode="0.00"/>'
                   b'</dxf></dxfs>')
            return re.sub(rb'<dxfs count="0"\s*/>|<dxfs[^>]*>.*?</dxfs>', dxf, xml, flags=re.S) \
                if b"<dxfs" in xml else xml.replace(b"</styleSheet>", dxf + b"</styleSheet>")
    odd = _rewritten(book, tmp_path / "odd.xlsx", edit, part=part)
    fast, slow = scan_with("calamine", odd), scan_with("openpyxl", odd)
    assert fast == slow
    assert '"invoice": "000001"' in fast[1]


@pytest.mark.parametrize("shared", [False, True])
def test_both_readers_decode_the_escapes_excel_writes_in_texts(tmp_path, shared):
    """Excel writes a carriage return in a text as `_x000D_`, a control character as
    `_x0001_`, and a written `_x0041_` as `_x005F_x0041_`: both readers show the text as
    Excel shows it, whether it is stored in its cell or in the shared strings."""
    import json
    import openpyxl
    from datetime import date
    from workbooks import excelify
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(["N° facture", "Client", "Échéance", "Montant TTC", "Date 1ère relance"])
    # a typed `_x0041_` (saved as `_x005F_x0041_`) reads alike only in a cell: openpyxl
    # unmasks it in shared strings itself (see files._shown)
    first = "F1" if shared else "F_x005F_x0041_"
    ws.append([first, "Dupont_x000D_ et fils", date(2026, 9, 1), 100, date(2026, 10, 1)])
    ws.append(["F2", "Caf_x00E9__x005f_e_x0001__xD83D__x0153_", date(2026, 9, 1), 50,
               date(2026, 10, 1)])
    wb.save(tmp_path / "e.xlsx")
    book = excelify(tmp_path / "e.xlsx") if shared else tmp_path / "e.xlsx"
    fast, slow = scan_with("calamine", book), scan_with("openpyxl", book)
    assert fast[0] == 0 and fast == slow, (fast, slow)
    lines = json.loads(fast[1])
    assert [(ln["invoice"], ln["client"]) for ln in lines] == [
        ("F1" if shared else "F_x0041_", "Dupont\n et fils"),  # a line break, as typed
        ("F2", "Café_e\x01_xD83D__x0153_")]  # above _x00FF_, calamine leaves them


def test_rows_typed_under_the_table_are_pointed_out_by_both_readers(tmp_path):
    """Invoices typed under the Excel table (it did not grow): not read, and said so, with
    the rows, by either reader; a note, a sum or a totals row under it is no invoice."""
    import json
    import openpyxl
    from datetime import date
    from openpyxl.worksheet.table import Table
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(["N° facture", "Client", "Échéance", "Montant TTC", "Date 1ère relance"])
    ws.append(["F1", "A", date(2026, 9, 1), 100, date(2026, 10, 1)])
    ws.append(["F2", "B", date(2026, 9, 1), 50, date(2026, 10, 1)])
    ws.add_table(Table(displayName="Suivi", ref="A1:E3"))
    ws["A5"], ws["B5"], ws["D5"], ws["A9"], ws["C9"], ws["D9"] = "F3", "C", 80, "F4", \
        date(2026, 9, 1), 20
    ws["A7"] = "   "  # blank
    ws["A10"] = "note : à revoir"  # a note, no amount
    ws["D11"], ws["A12"], ws["D12"] = 250, "Total", 250  # a sum under the table, a totals row
    ws["A13"], ws["D13"] = "Solde au 30/11", 150  # a labelled sum
    ws["B14"], ws["D14"] = "client injoignable", "à relancer"  # a note in the amount column
    ws["H6"] = "note hors des colonnes du tableau"
    # another table lower down, a summary: its header and rows are its own
    for row in (["Client", "Nb", "Échéance", "Montant TTC"], ["A", 1, date(2026, 9, 1), 100],
                ["B", 1, date(2026, 9, 1), 50]):
        ws.append(row)
    ws.add_table(Table(displayName="Synthese", ref=f"A{ws.max_row - 2}:D{ws.max_row}"))
    wb.save(tmp_path / "sous.xlsx")
    fast, slow = (scan_with(r, tmp_path / "sous.xlsx") for r in ("calamine", "openpyxl"))
    assert fast[0] == 0 and fast == slow, (fast, slow)
    assert [ln["invoice"] for ln in json.loads(fast[1])] == ["F1", "F2"]
    assert "feuille « Créances », ligne 5 : 2 factures (jusqu'à la ligne 9) sous le " \
        "tableau Excel « Suivi », qui s'arrête à la ligne 3" in " ".join(fast[2].split())
