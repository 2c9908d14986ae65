"""Reading the receivables: header row, synonyms, required columns, tables, blank and totals
rows, invoice numbers, per-sheet date order, row anomalies, duplicates, which sheet, CSV files.

Hand-built Grids (reading/grid.py) for the parsing rules; small xlsx/CSV files in tmp_path for
what only a real file shows (Excel tables, sheet choice, encodings, number formats).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.worksheet.table import Table

from relance.model import RelanceError
from relance.reading import files
from relance.reading.grid import Grid
from relance.reading.ledger import assemble
from relance.reading.receivables import invoice_number, parse_receivables

HEADERS = ["N° facture", "Client", "Échéance", "Montant TTC"]


def row(number="FA-1", client="Dupont", due="15/03/2026", amount="100,00"):
    return [number, client, due, amount]


def grid(*rows, sheet="Créances", first_row=1, formats=None) -> Grid:
    return Grid(sheet, [list(r) for r in rows], first_row=first_row, formats=formats)


def numbers(result) -> list:
    return [inv.number for inv in result.invoices]


# --- header row ----------------------------------------------------------------------------

def test_header_row_found_below_title_rows():
    g = grid(["Relevé des créances au 01/12/2026"], [], HEADERS, row("FA-1"), row("FA-2"))
    result = parse_receivables(g)
    assert result.header_index == 2
    assert numbers(result) == ["FA-1", "FA-2"]
    assert [inv.row for inv in result.invoices] == [4, 5]


def test_a_row_naming_only_two_fields_is_not_the_header():
    g = grid(["Client", "Facture"], HEADERS, row("FA-1"))
    result = parse_receivables(g)
    assert result.header_index == 1
    assert numbers(result) == ["FA-1"]


def test_three_synonyms_of_one_field_do_not_make_a_header_row():
    g = grid(["Client", "Customer", "Débiteur"], HEADERS, row("FA-1"))
    assert parse_receivables(g).header_index == 1


def test_header_on_row_20_is_found():
    g = grid(*([["note"]] * 19), HEADERS, row("FA-1"))
    assert numbers(parse_receivables(g)) == ["FA-1"]


def test_header_below_row_20_is_not_found():
    g = grid(*([["note"]] * 20), HEADERS, row("FA-1"))
    with pytest.raises(RelanceError):
        parse_receivables(g)


# Every header of SPEC.md's table, canonical first: (field, header).
SPEC_HEADERS = {
    "invoice": ["N° facture", "Numéro de facture", "Facture", "Référence facture", "Invoice",
                "Invoice number", "Invoice no"],
    "client": ["Client", "Nom client", "Raison sociale", "Débiteur", "Customer", "Customer name"],
    "client_code": ["Code client", "N° client", "Compte client", "Customer ID", "Account"],
    "invoice_date": ["Date facture", "Date de facture", "Date d'émission", "Invoice date"],
    "due_date": ["Échéance", "Date d'échéance", "Date échéance", "Due date"],
    "amount": ["Montant TTC", "Montant", "Montant facture", "Total TTC", "Amount",
               "Invoice amount"],
    "paid": ["Montant réglé", "Réglé", "Déjà réglé", "Acompte", "Paid", "Amount paid"],
    "payment_date": ["Date de règlement", "Date de paiement", "Réglée le", "Date lettrage",
                     "Settled date", "Payment date", "Paid on"],
    "balance": ["Reste dû", "Solde", "Restant dû", "Balance", "Outstanding"],
    "first_reminder": ["Date 1ère relance", "1ère relance", "Relance 1", "First reminder"],
    "response": ["Réponse client", "Date réponse", "Date de réponse", "Response",
                 "Response date"],
    "second_reminder": ["Date 2e relance", "2ème relance", "2e relance", "Relance 2",
                        "Second reminder"],
    "formal_notice": ["Date mise en demeure", "Mise en demeure", "Formal notice"],
    "dispute": ["Litige", "Contestation", "Disputed", "Dispute"],
    "insolvency": ["Procédure collective", "Procédure", "Insolvency"],
    "email": ["E-mail", "Email", "Courriel", "Mail"],
    "phone": ["Téléphone", "Tél", "Portable", "Mobile", "Phone"],
    "contact": ["Contact", "Interlocuteur", "Contact name"],
    "address": ["Adresse", "Adresse 1", "Address"],
    "postcode": ["Code postal", "CP", "Postcode", "Zip"],
    "city": ["Ville", "City"],
    "country": ["Pays", "Country"],
    "language": ["Langue", "Language"],
    "client_type": ["Type client", "Type", "Client type"],
}
BASE_FIELDS = ["invoice", "client", "due_date", "amount"]  # the columns of HEADERS


@pytest.mark.parametrize("field, header", [(f, h) for f, hs in SPEC_HEADERS.items() for h in hs])
def test_every_spec_header_maps_to_its_field(field, header):
    headers = list(HEADERS)
    if field in BASE_FIELDS:
        column = BASE_FIELDS.index(field)
        headers[column] = header
    else:
        headers.append(header)
        column = len(headers) - 1
    result = parse_receivables(grid(headers, row("FA-1")))
    assert result.columns[field] == column


@pytest.mark.parametrize("header, field", [
    ("n° FACTURE", "invoice"),
    ("  client  ", "client"),
    ("ECHEANCE", "due_date"),
    ("date d’échéance", "due_date"),
    ("Montant T.T.C. (€)", "amount"),
    ("Montant TTC (€)", "amount"),
    ("Reste dû (€)", "balance"),
    ("RESTE DU", "balance"),
    ("Date_de_règlement", "payment_date"),
    ("DATE 1ERE RELANCE", "first_reminder"),
    ("Date 2e relance:", "second_reminder"),
    ("Procédure-collective", "insolvency"),
    ("e mail", "email"),
])
def test_odd_headers_match(header, field):
    headers = HEADERS + ["Notes"]
    if field in BASE_FIELDS:
        headers[BASE_FIELDS.index(field)] = header
    else:
        headers[-1] = header
    result = parse_receivables(grid(headers, row("FA-1") + [None]))
    assert result.columns[field] == headers.index(header)


def test_unknown_columns_are_ignored():
    g = grid(HEADERS + ["Commercial", "Notes"], row("FA-1") + ["Paul", "rappeler"])
    result = parse_receivables(g)
    assert numbers(result) == ["FA-1"]
    # ignored, but said once: a misnamed column (`Montant payé`) must not go unnoticed
    assert len(result.anomalies) == 1
    assert "« Commercial », « Notes »" in result.anomalies[0].message


def test_a_header_field_read_from_its_synonym_lands_in_the_invoice():
    g = grid(["Invoice", "Customer", "Due date", "Amount", "Outstanding", "First reminder"],
             ["INV-9", "ACME", "2026-03-15", "500", "120,50", "2026-04-01"])
    inv = parse_receivables(g).invoices[0]
    assert (inv.number, inv.client.name, inv.due_date, inv.amount, inv.balance_cell,
            inv.first_reminder) == ("INV-9", "ACME", date(2026, 3, 15), Decimal("500.00"),
                                    Decimal("120.50"), date(2026, 4, 1))


# --- required columns ---------------------------------------------------------------------

def test_missing_due_date_column_names_it_and_lists_the_headers_found():
    g = grid(["N° facture", "Client", "Montant TTC", "Date facture", "Notes"],
             ["FA-1", "Dupont", "100", "01/03/2026", ""])
    with pytest.raises(RelanceError) as err:
        parse_receivables(g)
    message = str(err.value)
    assert "Échéance" in message
    for found in ("N° facture", "Client", "Montant TTC", "Date facture", "Notes"):
        assert found in message


def test_a_misspelt_header_is_named_as_the_likely_missing_column():
    g = grid(["N° facture", "Client", "Date facture", "Echeanse", "Montant TCC", "Notes"],
             ["FA-1", "Dupont", "01/03/2026", "15/03/2026", "100", ""])
    with pytest.raises(RelanceError) as err:
        parse_receivables(g)
    message = str(err.value)
    assert "L'en-tête « Echeanse » désigne-t-il la colonne « Échéance » ? Si oui, renommez-le " \
        "« Échéance »." in message
    assert "L'en-tête « Montant TCC » désigne-t-il la colonne « Montant TTC » ?" in message
    assert "« Notes » désigne-t-il" not in message


@pytest.mark.parametrize("header", ["Montant HT", "Montant TVA", "Montant hors taxes",
                                    "Montant H.T."])
def test_a_pre_tax_or_tax_amount_is_never_offered_as_the_amount_due(header):
    g = grid(["N° facture", "Client", "Échéance", header],
             ["FA-1", "Dupont", "15/03/2026", "100"])
    with pytest.raises(RelanceError) as err:
        parse_receivables(g)
    assert "Montant TTC" in str(err.value) and "désigne-t-il" not in str(err.value)
    assert f"« {header} » n'est pas le montant réclamé : une relance porte sur le montant TTC" \
        in str(err.value)


def test_no_hint_when_no_header_is_close_to_the_missing_column():
    g = grid(["N° facture", "Client", "Montant TTC", "Notes", "Commercial"],
             ["FA-1", "Dupont", "100", "", ""])
    with pytest.raises(RelanceError) as err:
        parse_receivables(g)
    assert "Échéance" in str(err.value) and "désigne-t-il" not in str(err.value)


def test_missing_amount_column_names_it():
    g = grid(["N° facture", "Client", "Échéance", "Date facture"], ["FA-1", "Dupont", "", ""])
    with pytest.raises(RelanceError, match="Montant TTC"):
        parse_receivables(g)


def test_missing_invoice_number_column_names_it():
    g = grid(["Client", "Échéance", "Montant TTC"], ["Dupont", "15/03/2026", "100"])
    with pytest.raises(RelanceError, match="N° facture"):
        parse_receivables(g)


def test_missing_both_client_name_and_code_names_the_client_column():
    g = grid(["N° facture", "Échéance", "Montant TTC", "Date facture"], ["FA-1", "", "100", ""])
    with pytest.raises(RelanceError, match="« Client »"):
        parse_receivables(g)


def test_client_name_alone_is_accepted():
    inv = parse_receivables(grid(HEADERS, row(client="Dupont"))).invoices[0]
    assert inv.client.name == "Dupont" and inv.client.code == ""


def test_client_code_alone_is_accepted():
    g = grid(["N° facture", "Code client", "Échéance", "Montant TTC"],
             ["FA-1", "CL001", "15/03/2026", "100"])
    inv = parse_receivables(g).invoices[0]
    assert inv.client.code == "CL001"
    assert inv.client.key == "code:CL001"


# --- Excel table ---------------------------------------------------------------------------

def _save(wb, path):
    wb.save(path)
    return path


def test_excel_table_is_used_and_rows_outside_it_ignored(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(["Relevé des créances"])
    ws.append([])
    ws.append(HEADERS)
    ws.append(["FA-1", "Dupont", datetime(2026, 3, 15), 100])
    ws.append(["FA-2", "Martin", datetime(2026, 3, 20), 200])
    ws.append([])
    ws.append(["FA-OUT", "Hors tableau", datetime(2026, 3, 20), 300])
    ws.add_table(Table(displayName="Creances", ref="A3:D5"))
    data = files.load(_save(wb, tmp_path / "t.xlsx"))
    assert [inv.number for inv in data.ledger.invoices] == ["FA-1", "FA-2"]
    assert data.grid.table == "Creances"


# --- blank rows, rows without a number, totals rows ---------------------------------------

def test_blank_rows_are_skipped_and_do_not_hide_later_rows():
    g = grid(HEADERS, row("FA-1"), [], [None, None, "  ", None], row("FA-2"), [], row("FA-3"))
    result = parse_receivables(g)
    assert numbers(result) == ["FA-1", "FA-2", "FA-3"]
    assert result.anomalies == ()


def test_row_without_number_in_the_middle_is_an_anomaly_naming_its_row():
    g = grid(HEADERS, row("FA-1"), row(None, client="Sans numéro"), row("FA-2"))
    result = parse_receivables(g)
    assert numbers(result) == ["FA-1", "FA-2"]
    assert len(result.anomalies) == 1
    assert result.anomalies[0].where.row == 3
    assert "ligne 3" in result.anomalies[0].describe()


def test_last_row_without_number_and_without_amounts_is_an_anomaly():
    g = grid(HEADERS, row("FA-1"), [None, "Dupont", "15/03/2026", None])
    result = parse_receivables(g)
    assert numbers(result) == ["FA-1"]
    assert [a.where.row for a in result.anomalies] == [3]


def test_total_in_first_cell_is_a_totals_row():
    g = grid(["Client", "N° facture", "Échéance", "Montant TTC"],
             ["Dupont", "FA-1", "15/03/2026", "100"],
             ["Total", None, None, "100"],
             ["Martin", "FA-2", "15/03/2026", "200"])
    result = parse_receivables(g)
    assert numbers(result) == ["FA-1", "FA-2"]
    assert result.anomalies == ()


def test_client_whose_name_begins_with_total_is_not_a_totals_row():
    # A real invoice of a client such as TotalEnergies, in a sheet whose first column is the
    # client: the cell names a company, it does not say "Total".
    g = grid(["Client", "N° facture", "Échéance", "Montant TTC"],
             ["TotalEnergies Marketing France", "FA-1", "15/03/2026", "100"],
             ["Martin", "FA-2", "15/03/2026", "200"])
    result = parse_receivables(g)
    assert numbers(result) == ["FA-1", "FA-2"]


def test_sous_total_in_number_cell_is_a_totals_row():
    g = grid(["Client", "N° facture", "Échéance", "Montant TTC"],
             ["Dupont", "FA-1", "15/03/2026", "100"],
             ["Dupont", "Sous-total", None, "100"],
             ["Martin", "FA-2", "15/03/2026", "200"])
    result = parse_receivables(g)
    assert numbers(result) == ["FA-1", "FA-2"]
    assert result.anomalies == ()


def test_last_non_blank_row_with_amounts_and_no_number_is_a_totals_row():
    g = grid(HEADERS, row("FA-1"), row("FA-2"), [None, None, None, "200,00"], [], [])
    result = parse_receivables(g)
    assert numbers(result) == ["FA-1", "FA-2"]
    assert result.anomalies == ()


# --- invoice numbers -----------------------------------------------------------------------

def test_invoice_numbers_read_as_shown():
    g = grid(HEADERS, row("000123"), row(123), row(2195380883.0), row(2195380883), row(" FA-9 "),
             formats=[["General"] * 4, ["@", "General", "General", "General"],
                      ["000000", "General", "General", "General"], ["General"] * 4,
                      ["General"] * 4, ["General"] * 4])
    assert numbers(parse_receivables(g)) == ["000123", "000123", "2195380883", "2195380883",
                                             "FA-9"]


@pytest.mark.parametrize("value, number_format, expected", [
    ("000123", "@", "000123"),
    (123, "000000", "000123"),
    (123.0, "000000", "000123"),
    (123, "General", "123"),
    (2195380883.0, "General", "2195380883"),
])
def test_invoice_number(value, number_format, expected):
    assert invoice_number(value, number_format) == expected


def test_zero_padded_number_format_in_a_real_xlsx(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(HEADERS)
    ws.append([123, "Dupont", datetime(2026, 3, 15), 100])
    ws["A2"].number_format = "000000"
    data = files.load(_save(wb, tmp_path / "n.xlsx"))
    assert data.ledger.invoices[0].number == "000123"


def test_serial_dates_use_the_workbook_1904_epoch(tmp_path):
    from openpyxl.utils.datetime import CALENDAR_MAC_1904
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "Créances"
    ws.append(HEADERS)
    ws.append(["FA-1", "Dupont", 44634, 100])  # a bare serial number, General format
    data = files.load(_save(wb, tmp_path / "mac.xlsx"))
    assert data.ledger.invoices[0].due_date == date(2026, 3, 15)


# --- day/month order, once per sheet --------------------------------------------------------

def test_one_month_first_only_date_makes_every_text_date_month_first():
    g = grid(HEADERS + ["Date 1ère relance"],
             row("FA-1", due="2/25/2013") + ["3/4/2013"],
             row("FA-2", due="3/1/2013") + [None])
    result = parse_receivables(g)
    assert result.month_first is True
    assert [inv.due_date for inv in result.invoices] == [date(2013, 2, 25), date(2013, 3, 1)]
    assert result.invoices[0].first_reminder == date(2013, 3, 4)


def test_ambiguous_dates_alone_are_day_first():
    result = parse_receivables(grid(HEADERS, row("FA-1", due="3/1/2013")))
    assert result.month_first is False
    assert result.invoices[0].due_date == date(2013, 1, 3)


def test_both_orders_on_one_sheet_stop_with_an_error_naming_two_cells():
    g = grid(HEADERS, row("FA-1", due="25/02/2013"), row("FA-2", due="2/25/2013"))
    with pytest.raises(RelanceError) as err:
        parse_receivables(g)
    assert "C2" in str(err.value) and "C3" in str(err.value)


def test_both_orders_in_different_columns_stop_with_an_error_naming_both_cells():
    g = grid(HEADERS + ["Date facture"],
             row("FA-1", due="2/25/2013") + [None],
             row("FA-2", due="01/03/2013") + ["26/01/2013"])
    with pytest.raises(RelanceError) as err:
        parse_receivables(g)
    assert "C2" in str(err.value) and "E3" in str(err.value)


def _settings(*pairs) -> Grid:
    return Grid("Paramètres", [["Paramètre", "Valeur"], *[list(p) for p in pairs]])


def test_format_des_dates_setting_makes_ambiguous_dates_month_first():
    ledger, _ = assemble(grid(HEADERS, row("FA-1", due="03/04/2026")),
                         _settings(("Format des dates", "MM/JJ/AAAA")), None, "t.xlsx")
    assert ledger.invoices[0].due_date == date(2026, 3, 4)


def test_format_des_dates_day_first_setting_keeps_day_first():
    ledger, _ = assemble(grid(HEADERS, row("FA-1", due="03/04/2026")),
                         _settings(("Format des dates", "JJ/MM/AAAA")), None, "t.xlsx")
    assert ledger.invoices[0].due_date == date(2026, 4, 3)


# --- unreadable values: one anomaly, that row skipped, the others read ----------------------

def _sheet_with_bad_cell(column: str, value) -> Grid:
    """Title rows 1-2, headers on row 3 (Échéance in column E), invoices on rows 4 to 8."""
    headers = ["N° facture", "Client", "Date facture", "Montant TTC", "Échéance"]
    rows = [["FA-%d" % n, "Dupont", "01/02/2026", "100,00", "15/03/2026"] for n in range(4, 9)]
    rows[3][headers.index(column)] = value  # row 7
    return grid(["Créances au 01/12/2026"], [], headers, *rows)


@pytest.mark.parametrize("column, value, cell", [
    ("Échéance", "31/02/2026", "E7"),
    ("Échéance", "bientôt", "E7"),
    ("Montant TTC", "douze euros", "D7"),
    ("Date facture", "2026-13-01", "C7"),
])
def test_unreadable_value_is_an_anomaly_naming_sheet_cell_and_value(column, value, cell):
    result = parse_receivables(_sheet_with_bad_cell(column, value))
    assert numbers(result) == ["FA-4", "FA-5", "FA-6", "FA-8"]
    assert len(result.anomalies) == 1
    anomaly = result.anomalies[0]
    assert anomaly.where.sheet == "Créances" and anomaly.where.cell == cell
    text = anomaly.describe()
    assert "Créances" in text and cell in text and value in text


# --- duplicate invoice numbers ---------------------------------------------------------------

def test_duplicate_numbers_are_reported_and_excluded():
    result = parse_receivables(grid(HEADERS, row("FA-1"), row("FA-2"), row("FA-1", client="Autre")))
    excluded = {(inv.number, inv.row): bool(inv.excluded) for inv in result.invoices}
    assert excluded == {("FA-1", 2): True, ("FA-2", 3): False, ("FA-1", 4): True}
    assert len(result.anomalies) == 1
    message = result.anomalies[0].message
    assert "FA-1" in message and "2" in message and "4" in message


# --- which sheet -----------------------------------------------------------------------------

def _workbook(tmp_path, sheets: dict, name="w.xlsx"):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    return _save(wb, tmp_path / name)


def test_creances_sheet_chosen_by_name_even_when_not_first(tmp_path):
    path = _workbook(tmp_path, {
        "Export": [HEADERS, ["EXP-1", "Autre", "15/03/2026", 10]],
        "Créances": [HEADERS, ["FA-1", "Dupont", "15/03/2026", 100]],
    })
    data = files.load(path)
    assert data.ledger.sheet == "Créances"
    assert [inv.number for inv in data.ledger.invoices] == ["FA-1"]


def test_without_creances_the_first_sheet_with_a_header_is_used(tmp_path):
    path = _workbook(tmp_path, {
        "Notes": [["Relevé préparé par Paul"], ["à vérifier"]],
        "Factures 2026": [HEADERS, ["FA-1", "Dupont", "15/03/2026", 100]],
        "Factures 2025": [HEADERS, ["OLD-1", "Dupont", "15/03/2025", 100]],
    })
    data = files.load(path)
    assert data.ledger.sheet == "Factures 2026"
    assert [inv.number for inv in data.ledger.invoices] == ["FA-1"]


def test_creances_sheet_without_header_is_an_error(tmp_path):
    path = _workbook(tmp_path, {
        "Créances": [["rien d'utile ici"], ["ni là"]],
        "Factures": [HEADERS, ["FA-1", "Dupont", "15/03/2026", 100]],
    })
    with pytest.raises(RelanceError):
        files.load(path)


def test_no_sheet_with_a_header_is_an_error(tmp_path):
    path = _workbook(tmp_path, {"Notes": [["rien"]], "Divers": [["a", "b", "c"]]})
    with pytest.raises(RelanceError):
        files.load(path)


# --- empty sheets ----------------------------------------------------------------------------

def test_empty_grid_is_an_error():
    with pytest.raises(RelanceError):
        assemble(Grid("Créances", []), None, None, "t.xlsx")


def test_grid_of_empty_cells_is_an_error():
    with pytest.raises(RelanceError):
        assemble(Grid("Créances", [[None, None], [None, ""]]), None, None, "t.xlsx")


def test_empty_creances_sheet_in_a_file_is_an_error(tmp_path):
    path = _workbook(tmp_path, {"Créances": []})
    with pytest.raises(RelanceError):
        files.load(path)


def test_empty_csv_is_an_error(tmp_path):
    path = tmp_path / "vide.csv"
    path.write_bytes(b"")
    with pytest.raises(RelanceError):
        files.load(path)


# --- CSV exports -----------------------------------------------------------------------------

NAMES = ["Boulangerie Hélène Lefèvre", "L’Atelier d’Émile", "Cœur de Bœuf SARL"]


def _csv_text(delimiter: str) -> str:
    amount = "1 234,56" if delimiter == ";" else "1234.56"
    lines = [delimiter.join(HEADERS)]
    for n, name in enumerate(NAMES, start=1):
        lines.append(delimiter.join([f"FA-{n}", name, "15/03/2026", amount]))
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize("delimiter", [";", ","])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_exports_are_read(tmp_path, delimiter, encoding):
    path = tmp_path / "export.csv"
    path.write_bytes(_csv_text(delimiter).encode(encoding))
    invoices = files.load(path).ledger.invoices
    assert [inv.number for inv in invoices] == ["FA-1", "FA-2", "FA-3"]
    assert [inv.client.name for inv in invoices] == NAMES
    assert {inv.due_date for inv in invoices} == {date(2026, 3, 15)}
    assert {inv.amount for inv in invoices} == {Decimal("1234.56")}


def test_csv_reads_month_first_dates_once_for_the_file(tmp_path):
    path = tmp_path / "us.csv"
    path.write_text("Invoice,Customer ID,Due date,Amount\n1,C1,1/26/2013,10\n2,C1,2/3/2013,20\n",
                    encoding="utf-8")
    invoices = files.load(path).ledger.invoices
    assert [inv.due_date for inv in invoices] == [date(2013, 1, 26), date(2013, 2, 3)]


def test_csv_with_title_rows_above_a_comma_separated_header(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Relevé des créances au 01/12/2026\n\n"
                    "N° facture,Client,Échéance,Montant TTC\n"
                    "FA-1,Dupont,15/03/2026,100.00\n", encoding="utf-8")
    invoices = files.load(path).ledger.invoices
    assert [(inv.number, inv.amount) for inv in invoices] == [("FA-1", Decimal("100.00"))]


def test_csv_title_row_with_a_comma_above_a_semicolon_separated_header(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Export des créances, arrêté au 01/12/2026\n"
                    "N° facture;Client;Échéance;Montant TTC\n"
                    "FA-1;Dupont;15/03/2026;100,00\n", encoding="utf-8")
    invoices = files.load(path).ledger.invoices
    assert [(inv.number, inv.amount) for inv in invoices] == [("FA-1", Decimal("100.00"))]


def test_csv_with_a_title_row_without_separator_above_a_semicolon_header(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Relevé des créances\nN° facture;Client;Échéance;Montant TTC\n"
                    "FA-1;Dupont;15/03/2026;100,00\n", encoding="utf-8")
    assert [inv.number for inv in files.load(path).ledger.invoices] == ["FA-1"]


def test_csv_unreadable_value_names_the_line_and_the_column(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("N° facture;Client;Échéance;Montant TTC\nFA-1;Dupont;31/02/2026;100\n"
                    "FA-2;Dupont;15/03/2026;100\n", encoding="utf-8")
    data = files.load(path)
    assert [inv.number for inv in data.ledger.invoices] == ["FA-2"]
    text = data.ledger.anomalies[0].describe()
    assert "export.csv" in text and "ligne 2" in text and "Échéance" in text and "31/02/2026" in text


# --- what the column-by-column reader must not change (review of the fast reader) ----------

def test_a_row_reports_every_bad_cell_in_reading_order_even_an_absurd_amount():
    """One run shows all there is to fix: every bad cell of a row, client first, then dates,
    then amounts (the order a reader of the row meets them)."""
    g = grid(HEADERS + ["Type client"], ["F1", "A", "15/03/2026", 1e30, "bogus"],
             ["F2", "B", "31/02/2026", 1e30, ""], ["F3", "C", "15/03/2026", 2e20, ""],
             ["F4", "D", "15/03/2026", "1" + "0" * 30, ""], ["F5", "E", "15/03/2026", 12.5, ""])
    result = parse_receivables(g)
    assert numbers(result) == ["F5"]
    messages = [a.message for a in result.anomalies]
    assert messages[0].startswith("type client inconnu") and "F1" in messages[0]
    assert messages[1].startswith("montant démesuré") and "F1" in messages[1]
    assert messages[2].startswith("date inexistante") and "F2" in messages[2]
    assert all(m.startswith("montant démesuré") for m in messages[3:]), messages
    assert [a.where.cell for a in result.anomalies] == ["E2", "D2", "C3", "D3", "D4", "D5"]


def test_equal_but_different_client_cells_keep_their_own_text():
    # 1 and TRUE are equal in Python, not on the sheet (« 1 », « VRAI »): each row keeps its
    # own, whichever came first; 1 and 1.0 read alike and stay one client
    g = grid(HEADERS, ["F1", 1, "15/03/2026", 10.0], ["F2", True, "15/03/2026", 20.0],
             ["F3", 1.0, "15/03/2026", 30.0])
    invoices = parse_receivables(g).invoices
    assert [inv.client.name for inv in invoices] == ["1", "VRAI", "1"]
    assert invoices[0].client == invoices[2].client


def test_negative_zero_amounts_read_as_zero():
    from relance.stages import balance_on
    g = grid(HEADERS + ["Montant réglé"], ["F1", "A", "15/03/2026", -0.0, -0.0])
    (inv,) = parse_receivables(g).invoices
    assert str(balance_on(inv, date(2026, 12, 1))) == "0.00"


def test_invoice_numbers_in_bulk_read_as_one_by_one():
    """The bulk path of the survey (a column of numbers shown with zeros) gives exactly
    invoice_number's text for any value and format."""
    from hypothesis import given, settings, strategies as st
    from relance.reading.receivables import invoice_number, invoice_numbers
    values = st.one_of(st.none(), st.booleans(), st.integers(-10**16, 10**16),
                       st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                       st.sampled_from([0.0, -0.0, 1.0, 123.0, 1e15, 1e16, -7.0, 2.5]))
    formats = st.sampled_from(["General", "000000", '"CL"000', "\\A00", "0", "0.00",
                               '000"-X"', "00000;[Red]-00000", "", "@"])

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(values, formats), max_size=20))
    def check(pairs):
        vals, fmts = [v for v, _ in pairs], [f for _, f in pairs]
        assert invoice_numbers(vals, fmts) == [invoice_number(v, f) for v, f in pairs]

    check()


def test_a_balance_left_by_a_formula_near_zero_is_zero_not_minus_zero():
    g = grid(["N° facture", "Client", "Échéance", "Montant TTC", "Montant réglé", "Reste dû"],
             ["FA-1", "Dupont", "15/03/2026", 100.1, 100.1, -2.27e-13],
             ["FA-2", "Durand", "15/03/2026", 50.0, "-", 50.0])
    first, second = parse_receivables(g).invoices
    assert str(first.balance_cell) == "0.00" and not first.balance_cell.is_signed()
    assert second.paid == 0 and second.balance_cell == Decimal("50.00")


def test_the_header_row_repeated_lower_down_is_skipped_without_a_word():
    """Exports repeat the header on each printed page: those rows are no invoices and no
    « date illisible : valeur « Échéance » » either."""
    header = ["N° facture", "Client", "Échéance", "Montant TTC"]
    g = grid(header, ["FA-1", "Dupont", "15/03/2026", "100"], header,
             ["FA-2", "Durand", "15/03/2026", "50"], ["N° facture", "", "", ""])
    result = parse_receivables(g)
    assert numbers(result) == ["FA-1", "FA-2"]
    # the lone « N° facture » of row 5 is no header: that row is reported, row 3 is not
    assert {a.where.row for a in result.anomalies} == {5}


@pytest.mark.parametrize("header, field", [("Litige", "Litige"), ("Litiges", "Litige"),
                                           ("Procédures collectives", "Procédure collective"),
                                           ("Réponse", "Réponse client")])
def test_plurals_and_short_forms_of_decisive_columns_are_recognised(header, field):
    from relance.reading.headers import canonical, field_of
    assert canonical(field_of(header)) == field


@pytest.mark.parametrize("header, meant", [
    ("Litigess", "Litige"), ("Procédure colective", "Procédure collective"),
    ("Montant rélgé", "Montant réglé"), ("Date 1ere relanse", "Date 1ère relance"),
    ("Date réponse clients", "Réponse client"), ("Litigee", "Litige")])
def test_a_misspelt_column_that_decides_the_letters_stops_the_run(header, meant):
    """A disputed invoice chased, a part payment forgotten, a promise ignored, for a typo in
    the header: a header beyond doubt a misspelling of such a column stops the run."""
    g = grid(["N° facture", "Client", "Échéance", "Montant TTC", header],
             ["FA-1", "Dupont", "15/03/2026", "100", "x"])
    with pytest.raises(RelanceError) as err:
        parse_receivables(g)
    assert f"L'en-tête « {header} » (cellule E1) n'est pas reconnu, mais ressemble à « {meant} " \
        "», une colonne qui décide des factures à relancer ou des montants réclamés" \
        in str(err.value)


@pytest.mark.parametrize("header", ["Date de relance", "Relance", "Date relance 3", "Relancé le",
                                    "Compte", "Mode de paiement", "Responsable", "Montant impayé",
                                    "Mode de règlement",
                                    "Montant à régler", "Date limite de paiement", "Encaissé le",
                                    "Date de paiement prévue", "Payée", "Réglée", "Encaissée",
                                    "Soldée", "Date de paiement promise", "Adresse e-mail",
                                    "Date 1ère relance prévue", "Frais de mise en demeure",
                                    "Réponse attendue le", "Date 1ère relance 2026",
                                    "Acompte demandé", "Montant réel", "Email client"])
def test_columns_near_a_known_name_never_stop_the_run(header):
    """Other columns a ledger keeps: reported, never a stop; the digits must agree for a hint
    (« Date relance 3 » is no « Date 2e relance »)."""
    g = grid(["N° facture", "Code client", "Échéance", "Montant TTC", header],
             ["FA-1", "CL1", "15/03/2026", "100", "x"])
    result = parse_receivables(g)
    assert numbers(result) == ["FA-1"]
    (note,) = [a.message for a in result.anomalies if "non reconnues" in a.message]
    assert f"« {header} »" in note
    assert "désigne-t-il" not in note  # no hint that, followed, would misread the ledger


@pytest.mark.parametrize("header", ["Réglé le", "Payé le", "Date paiement", "Type de client",
                                    "Date de mise en demeure", "Date de 1ère relance",
                                    "2nde relance", "Date réponse client", "Litiges clients",
                                    "Nom du client"])
def test_synonyms_ledgers_use_are_recognised(header):
    from relance.reading.headers import field_of
    assert field_of(header) == {
        "Réglé le": "payment_date", "Payé le": "payment_date", "Date paiement": "payment_date",
        "Type de client": "client_type", "Date de mise en demeure": "formal_notice",
        "Date de 1ère relance": "first_reminder", "2nde relance": "second_reminder",
        "Date réponse client": "response", "Litiges clients": "dispute",
        "Nom du client": "client"}[header]


def test_an_unrecognised_column_near_an_optional_one_gets_a_hint():
    g = grid(["N° facture", "Client", "Échéance", "Montant TTC", "Adrese", "Code postale",
              "Montant TVA"],
             ["FA-1", "Dupont", "15/03/2026", "100", "1 rue", "75001", "16,67"])
    (note,) = [a.message for a in parse_receivables(g).anomalies if "non reconnues" in a.message]
    assert "L'en-tête « Adrese » désigne-t-il la colonne « Adresse » ? Si oui, renommez-le " \
        "« Adresse »." in note
    assert "L'en-tête « Code postale » désigne-t-il la colonne « Code postal » ?" in note
    assert "« Montant TVA » désigne-t-il" not in note  # a tax amount is not what was paid


def test_a_note_on_a_row_whose_balance_formula_shows_zero_is_still_a_note():
    """« Reste dû » filled down as a formula (=O-P) shows 0 on a note's row."""
    g = grid(["N° facture", "Client", "Échéance", "Montant TTC", "Reste dû"],
             ["FA-1", "Dupont", "15/03/2026", "100", 100.0],
             ["Note : à revoir", None, None, None, 0.0],
             ["FA-2", "Durand", "15/03/2026", "50", 50.0])
    result = parse_receivables(g)
    assert numbers(result) == ["FA-1", "FA-2"]
    assert [a.message for a in result.anomalies] == [
        "ligne de texte seule, sans client, montant ni échéance (une note ?), ignorée : "
        "« Note : à revoir »"]


def test_a_known_name_with_more_said_is_hinted():
    g = grid(["N° facture", "Client", "Échéance", "Montant TTC", "Montant réglé TTC",
              "Procédure collective ouverte le"], ["FA-1", "Dupont", "15/03/2026", "100", "", ""])
    (note,) = [a.message for a in parse_receivables(g).anomalies if "non reconnues" in a.message]
    assert "« Montant réglé TTC » désigne-t-il la colonne « Montant réglé » ?" in note
    assert "« Procédure collective ouverte le » désigne-t-il la colonne « Procédure " \
        "collective » ?" in note
