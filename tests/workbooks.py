"""Builders for realistic test workbooks (openpyxl), and helpers to compare xlsx packages.

`build_receivables_workbook` writes a receivables workbook with most of what an accountant's
file holds: a title row, an Excel table with a formula column, number formats, column widths,
frozen panes, a data validation list fed from a hidden sheet through a defined name,
conditional formatting (data bars included), cell comments, a print area, a second table on
another sheet, a chart and a picture, the `Paramètres` sheet, optionally a `Journal` sheet
with earlier rows and optionally a `Date 2e relance` column.

At AS_OF, the invoices are in these stages (the test expectations below rely on it):

    row  invoice  client        stage
    4    F-001    Alpha SARL    second_due
    5    F-002    Alpha SARL    second_due (partly paid: 800 - 300)
    6    F-003    Beta SAS      second_due
    7    F-004    Gamma EURL    first_sent (first reminder 5 days before)
    8    F-005    Delta SA      paid
    9    F-006    Epsilon SCI   not_due
    10   F-007    Beta SAS      responded
    11   F-008    Zeta & Cie    disputed
    12   F-009    Zeta & Cie    formal_notice_due when `Date 2e relance` holds 15/05/2026,
                                second_due when the workbook has no such column
"""
from __future__ import annotations

import struct
import zipfile
import zlib
from datetime import date, datetime
from pathlib import Path

import openpyxl
from lxml import etree
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image
from openpyxl.formatting.rule import CellIsRule, DataBarRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo

AS_OF = date(2026, 6, 30)
SHEET = "Créances"
TABLE = "TCreances"
HEADER_ROW = 3
FIRST_DATA_ROW = 4
DATE_FMT = "dd/mm/yyyy"
AMOUNT_FMT = '#,##0.00\\ "€"'

# (invoice, code, client, invoice date, due date, amount, paid, first reminder, response,
#  second reminder (used only when the column exists), dispute)
INVOICES = [
    ("F-001", "CL01", "Alpha SARL", date(2026, 3, 2), date(2026, 4, 1), 1200.00, None,
     date(2026, 5, 4), None, None, None),
    ("F-002", "CL01", "Alpha SARL", date(2026, 3, 16), date(2026, 4, 15), 800.00, 300.00,
     date(2026, 5, 11), None, None, None),
    ("F-003", "CL02", "Beta SAS", date(2026, 4, 1), date(2026, 5, 1), 540.50, None,
     date(2026, 6, 1), None, None, None),
    ("F-004", "CL03", "Gamma EURL", date(2026, 5, 2), date(2026, 6, 1), 900.00, None,
     date(2026, 6, 25), None, None, None),
    ("F-005", "CL04", "Delta SA", date(2026, 2, 1), date(2026, 3, 1), 400.00, 400.00,
     date(2026, 4, 1), None, None, None),
    ("F-006", "CL05", "Epsilon SCI", date(2026, 8, 2), date(2026, 9, 1), 2500.00, None,
     None, None, None, None),
    ("F-007", "CL02", "Beta SAS", date(2026, 3, 2), date(2026, 4, 1), 300.00, None,
     date(2026, 5, 1), "Appel : promet de payer", None, None),
    ("F-008", "CL06", "Zeta & Cie", date(2026, 1, 30), date(2026, 3, 1), 650.00, None,
     date(2026, 4, 1), None, None, "oui"),
    ("F-009", "CL06", "Zeta & Cie", date(2026, 2, 13), date(2026, 3, 15), 720.00, None,
     date(2026, 4, 10), None, date(2026, 5, 15), None),
]

SETTINGS = [
    ("Raison sociale", "Atelier Martin SARL"),
    ("Forme juridique", "SARL"),
    ("Capital social", "10 000 €"),
    ("Adresse", "12 rue des Lilas"),
    ("Code postal", "69003"),
    ("Ville", "Lyon"),
    ("SIREN", "123 456 782"),
    ("RCS", "Lyon"),
    ("IBAN", "FR76 3000 6000 0112 3456 7890 189"),
    ("BIC", "AGRIFRPP"),
    ("Délai 2e relance", 15),
]

JOURNAL_HEADERS = ("Date et heure", "Date de référence", "Code client", "Client", "Factures",
                   "Total dû", "Canal", "Statut", "Fichier", "Étape")
OLD_JOURNAL_ROWS = [
    (datetime(2026, 5, 4, 9, 30), date(2026, 5, 4), "CL01", "Alpha SARL", "F-001", 1200.0,
     "courrier", "généré", "Relances/2026-05-04/Alpha SARL.docx", "1ère relance"),
    (datetime(2026, 5, 20, 17, 5), date(2026, 5, 20), "CL07", "Omega SAS", "F-000", 95.5,
     "courrier", "généré", "Relances/2026-05-20/Omega SAS.docx", "2e relance"),
]


def expected_covered(with_second_column: bool) -> dict:
    """invoice -> sheet row of the invoices a run at AS_OF must record."""
    rows = {"F-001": 4, "F-002": 5, "F-003": 6}
    if not with_second_column:
        rows["F-009"] = 12
    return rows


def expected_letters(with_second_column: bool) -> dict:
    """client code -> (client, invoices, total) of the letters a run at AS_OF writes."""
    letters = {"CL01": ("Alpha SARL", ("F-001", "F-002"), 1700.0),
               "CL02": ("Beta SAS", ("F-003",), 540.5)}
    if not with_second_column:
        letters["CL06"] = ("Zeta & Cie", ("F-009",), 720.0)
    return letters


# --- a PNG without Pillow ---------------------------------------------------------------

def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG, written by hand (Pillow is not installed in the venv)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + bytes([200, 30, 30]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class PngImage(Image):
    """openpyxl's Image needs Pillow only to read the size and the bytes: give them directly."""

    def __init__(self, data: bytes, width: int, height: int):
        self.ref = None
        self._png = data
        self.width, self.height = width, height
        self.format = "png"

    def _data(self):
        return self._png


# --- the workbook -----------------------------------------------------------------------

def build_receivables_workbook(path: Path, *, journal: bool = True, second_column: bool = True,
                               epoch1904: bool = False, vba_source: Path | None = None) -> Path:
    wb = openpyxl.Workbook()
    if epoch1904:
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = SHEET

    headers = ["N° facture", "Code client", "Client", "Date facture", "Échéance", "Montant TTC",
               "Montant réglé", "Reste dû", "Date 1ère relance", "Réponse client"]
    if second_column:
        headers.append("Date 2e relance")
    headers += ["Litige", "Notes internes"]
    col = {h: i + 1 for i, h in enumerate(headers)}
    letter = {h: openpyxl.utils.get_column_letter(i) for h, i in col.items()}
    last_col = openpyxl.utils.get_column_letter(len(headers))
    last_row = FIRST_DATA_ROW + len(INVOICES) - 1

    ws["A1"] = "Suivi des créances clients — test d'intégrité"
    ws["A1"].font = Font(bold=True, size=14, color="1F4E79")
    ws.merge_cells("A1:F1")
    ws.row_dimensions[1].height = 24
    for j, h in enumerate(headers, start=1):
        c = ws.cell(HEADER_ROW, j, h)
        c.font = Font(bold=True, color="FFFFFF")
        c.fill = PatternFill("solid", fgColor="1F4E79")
        c.alignment = Alignment(wrap_text=True, vertical="center")

    for i, inv in enumerate(INVOICES):
        r = FIRST_DATA_ROW + i
        number, code, client, inv_date, due, amount, paid, first, response, second, dispute = inv
        values = {"N° facture": number, "Code client": code, "Client": client,
                  "Date facture": inv_date, "Échéance": due, "Montant TTC": amount,
                  "Montant réglé": paid, "Date 1ère relance": first, "Réponse client": response,
                  "Litige": dispute}
        for h, v in values.items():
            if v is not None:
                ws.cell(r, col[h], v)
        ws.cell(r, col["Reste dû"], f"={letter['Montant TTC']}{r}-{letter['Montant réglé']}{r}")
        for h in ("Date facture", "Échéance", "Date 1ère relance"):
            ws.cell(r, col[h]).number_format = DATE_FMT
        for h in ("Montant TTC", "Montant réglé", "Reste dû"):
            ws.cell(r, col[h]).number_format = AMOUNT_FMT
        if second_column and number != "F-002":  # F-002: no cell at all, to be inserted
            cell = ws.cell(r, col["Date 2e relance"])
            cell.number_format = DATE_FMT  # styled, empty cells: the writer must keep the style
            cell.fill = PatternFill("solid", fgColor="FFF2CC")
            if second is not None:
                cell.value = second
    ws.cell(FIRST_DATA_ROW + 1, col["Notes internes"], "Acompte reçu par chèque")

    table = Table(displayName=TABLE, ref=f"A{HEADER_ROW}:{last_col}{last_row}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)

    widths = {"A": 12, "B": 11, "C": 22, "D": 12, "E": 12, "F": 14, "G": 14, "H": 14, "I": 14,
              "J": 26}
    for k, w in widths.items():
        ws.column_dimensions[k].width = w
    ws.column_dimensions[letter["Litige"]].width = 9
    ws.column_dimensions[letter["Notes internes"]].width = 30
    if second_column:
        ws.column_dimensions[letter["Date 2e relance"]].width = 15
    ws.freeze_panes = f"B{FIRST_DATA_ROW}"

    # Data validation fed from a hidden sheet through a defined name.
    lists = wb.create_sheet("Listes")
    for i, v in enumerate(("oui", "non", "partiel"), start=1):
        lists.cell(i, 1, v)
    lists.sheet_state = "hidden"
    wb.defined_names["ListeLitige"] = DefinedName("ListeLitige", attr_text="Listes!$A$1:$A$3")
    dv = DataValidation(type="list", formula1="=ListeLitige", allow_blank=True,
                        showErrorMessage=True, errorTitle="Litige", error="Choisir dans la liste")
    dv.add(f"{letter['Litige']}{FIRST_DATA_ROW}:{letter['Litige']}{last_row}")
    ws.add_data_validation(dv)
    dv2 = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0")
    dv2.add(f"{letter['Montant TTC']}{FIRST_DATA_ROW}:{letter['Montant réglé']}{last_row}")
    ws.add_data_validation(dv2)

    # Conditional formatting, data bars included.
    amounts = f"{letter['Montant TTC']}{FIRST_DATA_ROW}:{letter['Montant TTC']}{last_row}"
    ws.conditional_formatting.add(amounts, DataBarRule(start_type="min", end_type="max",
                                                       color="638EC6", showValue=True))
    balances = f"{letter['Reste dû']}{FIRST_DATA_ROW}:{letter['Reste dû']}{last_row}"
    ws.conditional_formatting.add(balances, CellIsRule(operator="greaterThan", formula=["1000"],
                                                       fill=PatternFill("solid", fgColor="FFC7CE"),
                                                       font=Font(color="9C0006")))
    ws.conditional_formatting.add(
        f"A{FIRST_DATA_ROW}:A{last_row}",
        FormulaRule(formula=[f'${letter["Date 1ère relance"]}{FIRST_DATA_ROW}<>""'],
                    font=Font(italic=True)))

    # Comments (a comments part and a legacy VML drawing).
    ws["A4"].comment = Comment("Client historique, relancer par téléphone d'abord.", "Compta")
    ws["C6"].comment = Comment("Nouveau contact depuis mai.", "Compta")

    ws.print_area = f"A1:{last_col}{last_row}"

    # A chart and a picture (one drawing part for the receivables sheet).
    chart = BarChart()
    chart.title = "Montants par facture"
    data = Reference(ws, min_col=col["Montant TTC"], min_row=HEADER_ROW, max_row=last_row)
    cats = Reference(ws, min_col=col["N° facture"], min_row=FIRST_DATA_ROW, max_row=last_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    ws.add_chart(chart, "P3")
    ws.add_image(PngImage(tiny_png(), 4, 3), "P20")

    # A second table on another sheet.
    clients = wb.create_sheet("Clients", 1)
    clients.append(["Code", "Nom", "Plafond"])
    for code, name, limit in (("CL01", "Alpha SARL", 5000), ("CL02", "Beta SAS", 3000),
                              ("CL03", "Gamma EURL", 2000)):
        clients.append([code, name, limit])
        clients.cell(clients.max_row, 3).number_format = AMOUNT_FMT
    clients.add_table(Table(displayName="TClients", ref="A1:C4",
                            tableStyleInfo=TableStyleInfo(name="TableStyleLight9",
                                                          showRowStripes=True)))
    clients.column_dimensions["B"].width = 20

    settings = wb.create_sheet("Paramètres")
    settings.append(["Paramètre", "Valeur"])
    for k, v in SETTINGS:
        settings.append([k, v])
    settings.column_dimensions["A"].width = 24
    settings.column_dimensions["B"].width = 40

    if journal:
        js = wb.create_sheet("Journal")
        js.append(list(JOURNAL_HEADERS))
        for c in js[1]:
            c.font = Font(bold=True)
        for row in OLD_JOURNAL_ROWS:
            js.append(list(row))
            r = js.max_row
            js.cell(r, 1).number_format = "dd/mm/yyyy hh:mm"
            js.cell(r, 2).number_format = DATE_FMT
            js.cell(r, 6).number_format = AMOUNT_FMT
        js.column_dimensions["I"].width = 40
        js.freeze_panes = "A2"

    wb.active = 0
    if vba_source is not None:
        wb.vba_archive = zipfile.ZipFile(vba_source)
    wb.save(path)
    if vba_source is not None:
        wb.vba_archive.close()
    return path


# --- a small CSV export ------------------------------------------------------------------

def write_csv_export(folder: Path) -> Path:
    """`creances.csv` (as French accounting software exports it) and `parametres.csv`."""
    rows = ["N° facture;Code client;Client;Échéance;Montant TTC;Montant réglé;"
            "Date 1ère relance;Réponse client"]
    for inv in INVOICES[:7]:
        number, code, client, _, due, amount, paid, first, response, _, _ = inv
        def d(v):
            return v.strftime("%d/%m/%Y") if v else ""
        def a(v):
            return f"{v:,.2f}".replace(",", " ").replace(".", ",") if v is not None else ""
        rows.append(";".join([number, code, client, d(due), a(amount), a(paid), d(first),
                              response or ""]))
    path = folder / "creances.csv"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("utf-8"))
    settings = ["Paramètre;Valeur"] + [f"{k};{v}" for k, v in SETTINGS]
    (folder / "parametres.csv").write_bytes(("\r\n".join(settings) + "\r\n").encode("utf-8"))
    return path


# --- reading packages ---------------------------------------------------------------------

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"


def q(tag: str, ns: str = NS) -> str:
    return f"{{{ns}}}{tag}"


def zip_parts(path: Path) -> dict:
    """Part name -> decompressed bytes, in archive order."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None, f"{path.name}: corrupt zip member"
        return {name: zf.read(name) for name in zf.namelist()}


def xml(data: bytes):
    return etree.fromstring(data)


def c14n(el) -> bytes:
    return etree.tostring(el, method="c14n")


def sheet_parts(parts: dict) -> dict:
    """Sheet name -> worksheet part name."""
    wb = xml(parts["xl/workbook.xml"])
    rels = rel_targets(parts, "xl/workbook.xml")
    return {s.get("name"): rels[s.get(q("id", REL_NS))] for s in wb.iter(q("sheet"))}


def rel_targets(parts: dict, part: str) -> dict:
    """Relationship id -> resolved target part, for `part`."""
    import posixpath
    rels_name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    if rels_name not in parts:
        return {}
    base = posixpath.dirname(part)
    out = {}
    for rel in xml(parts[rels_name]).iter(q("Relationship", PKG_REL_NS)):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target")
        out[rel.get("Id")] = (target.lstrip("/") if target.startswith("/")
                              else posixpath.normpath(posixpath.join(base, target)))
    return out


def rels_name(part: str) -> str:
    import posixpath
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def sheet_cells(data: bytes) -> tuple[dict, dict]:
    """(cell ref -> canonical XML of the <c>, row number -> row attributes) of a sheet part."""
    root = xml(data)
    cells, rows = {}, {}
    for row in root.find(q("sheetData")).findall(q("row")):
        rows[int(row.get("r"))] = dict(row.attrib)
        for c in row.findall(q("c")):
            cells[c.get("r")] = c
    return cells, rows


# --- making an openpyxl file look like one Excel saved -----------------------------------

MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
X14AC_NS = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"
SST_TYPE = REL_NS + "/sharedStrings"
SST_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


X14_DATABAR = (
    '<extLst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<ext xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main" '
    'uri="{78C0D931-6437-407d-A8EE-F0AAD7539E65}"><x14:conditionalFormattings>'
    '<x14:conditionalFormatting xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    '<x14:cfRule type="dataBar" id="{A1B2C3D4-0000-4000-8000-000000000001}">'
    '<x14:dataBar minLength="0" maxLength="100" gradient="0"><x14:cfvo type="autoMin"/>'
    '<x14:cfvo type="autoMax"/><x14:negativeFillColor rgb="FFFF0000"/>'
    '<x14:axisColor rgb="FF000000"/></x14:dataBar></x14:cfRule><xm:sqref>G4:G12</xm:sqref>'
    '</x14:conditionalFormatting></x14:conditionalFormattings></ext></extLst>')


def excelify(path: Path) -> Path:
    """Rewrite an openpyxl-written package the way Excel stores it: text in a shared-strings
    part (openpyxl 3.1 writes inline strings), rows with `spans` and `x14ac:dyDescent`, the
    worksheet declaring the `mc`/`x14ac` namespaces, an Excel 2010 data bar (`extLst`) on
    the first sheet. Other parts are copied as they are."""
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        parts = {i.filename: zf.read(i.filename) for i in infos}
    strings: list = []
    index: dict = {}
    for name in list(parts):
        if not (name.startswith("xl/worksheets/sheet") and name.endswith(".xml")):
            continue
        old = xml(parts[name])
        root = etree.Element(old.tag, nsmap={None: NS, "r": REL_NS, "mc": MC_NS, "x14ac": X14AC_NS})
        root.set(q("Ignorable", MC_NS), "x14ac")
        for k, v in old.attrib.items():
            root.set(k, v)
        for child in list(old):
            root.append(child)
        if name == "xl/worksheets/sheet1.xml" and root.find(q("extLst")) is None:
            root.append(etree.fromstring(X14_DATABAR))  # Excel 2010 data bar extension
        for row in root.iter(q("row")):
            cols = [openpyxl.utils.column_index_from_string(
                "".join(ch for ch in c.get("r") if ch.isalpha())) for c in row.findall(q("c"))]
            if cols:
                row.set("spans", f"{min(cols)}:{max(cols)}")
            row.set(q("dyDescent", X14AC_NS), "0.25")
            for c in row.findall(q("c")):
                if c.get("t") != "inlineStr":
                    continue
                text = "".join(c.find(q("is")).itertext())
                if text not in index:
                    index[text] = len(strings)
                    strings.append(text)
                c.remove(c.find(q("is")))
                c.set("t", "s")
                etree.SubElement(c, q("v")).text = str(index[text])
        parts[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    if not strings:
        return path
    sst = etree.Element(q("sst"), nsmap={None: NS}, count=str(len(strings)),
                        uniqueCount=str(len(strings)))
    for text in strings:
        t = etree.SubElement(etree.SubElement(sst, q("si")), q("t"))
        t.text = text
        if text != text.strip():
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    new_parts = {"xl/sharedStrings.xml": etree.tostring(sst, xml_declaration=True,
                                                        encoding="UTF-8", standalone=True)}
    rels = xml(parts["xl/_rels/workbook.xml.rels"])
    etree.SubElement(rels, q("Relationship", PKG_REL_NS), Id="rIdSst", Type=SST_TYPE,
                     Target="sharedStrings.xml")
    parts["xl/_rels/workbook.xml.rels"] = etree.tostring(rels, xml_declaration=True,
                                                         encoding="UTF-8", standalone=True)
    ct = xml(parts["[Content_Types].xml"])
    etree.SubElement(ct, q("Override", CT_NS), PartName="/xl/sharedStrings.xml", ContentType=SST_CT)
    parts["[Content_Types].xml"] = etree.tostring(ct, xml_declaration=True, encoding="UTF-8",
                                                  standalone=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info in infos:
            out.writestr(info, parts[info.filename])
        for name, data in new_parts.items():
            out.writestr(name, data)
    tmp.replace(path)
    return path
