"""Bad input: a clear French message naming sheet, cell and value; nothing half-written."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from conftest import SAMPLE, run_cli

AS_OF = "2026-12-01"
HEADERS = ["N° facture", "Client", "Échéance", "Montant TTC", "Date 1ère relance"]
SETTINGS = [("Raison sociale", "Testeur SARL"), ("Adresse", "1 rue du Test"),
            ("Code postal", "75001"), ("Ville", "Paris"), ("IBAN", "FR7630006000011234567890189")]


def make_book(path: Path, rows, headers=HEADERS, settings=SETTINGS) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(headers)
    for row in rows:
        ws.append(row)
    if settings is not None:
        ps = wb.create_sheet("Paramètres")
        ps.append(["Paramètre", "Valeur"])
        for key, value in settings:
            ps.append([key, value])
    wb.save(path)
    return path


def due_row(number, client="Client A", amount=100):
    return [number, client, date(2026, 9, 1), amount, date(2026, 10, 1)]


def assert_nothing_written(folder: Path, book: Path, before: bytes):
    assert book.read_bytes() == before
    assert not (folder / "Relances").exists()


def test_missing_required_column_names_it_and_lists_headers(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [["F1", "A", 100, date(2026, 10, 1)]],
                     headers=["N° facture", "Client", "Montant TTC", "Date 1ère relance"])
    before = book.read_bytes()
    proc = run_cli("generate", book, "--as-of", AS_OF)
    assert proc.returncode == 1
    assert "« Échéance »" in proc.stderr
    for header in ("N° facture", "Client", "Montant TTC", "Date 1ère relance"):
        assert header in proc.stderr
    assert_nothing_written(tmp_path, book, before)


def test_unreadable_date_and_amount_are_reported_and_other_rows_go_on(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [
        due_row("F1"),
        ["F2", "Client B", "31/02/2026", 100, date(2026, 10, 1)],
        ["F3", "Client C", date(2026, 9, 1), "cent euros", date(2026, 10, 1)],
        due_row("F4", "Client D"),
    ])
    proc = run_cli("scan", book, "--as-of", AS_OF, "--json")
    assert proc.returncode == 0, proc.stderr
    assert [x["invoice"] for x in json.loads(proc.stdout)] == ["F1", "F4"]
    assert "« Créances », cellule C3" in proc.stderr and "31/02/2026" in proc.stderr
    assert "cellule D4" in proc.stderr and "cent euros" in proc.stderr


def test_empty_sheet(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Créances"
    wb.save(tmp_path / "vide.xlsx")
    proc = run_cli("scan", tmp_path / "vide.xlsx")
    assert proc.returncode == 1
    assert "Créances" in proc.stderr and proc.stderr.count("vide.xlsx") == 1


def test_a_stopping_error_names_the_file(tmp_path):
    """A scheduled job may run on several workbooks: the error says which one to correct."""
    wb = openpyxl.Workbook()
    wb.active.title = "Créances"
    wb.active.append(["N° facture", "Client", "Montant TTC", "Date 1ère relance"])
    wb.active.append(["F1", "Alpha", 100, "01/10/2026"])
    wb.save(tmp_path / "grand-livre.xlsx")
    proc = run_cli("scan", tmp_path / "grand-livre.xlsx")
    assert proc.returncode == 1
    assert proc.stderr.startswith("Erreur (grand-livre.xlsx) : Feuille « Créances » : "
                                  "colonne « Échéance » introuvable"), proc.stderr


def test_file_that_does_not_exist(tmp_path):
    proc = run_cli("scan", tmp_path / "absent.xlsx")
    assert proc.returncode == 1 and "introuvable" in proc.stderr
    assert proc.stderr.count("absent.xlsx") == 1  # named once, by the message itself


def test_file_that_is_not_a_spreadsheet(tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    proc = run_cli("scan", path)
    assert proc.returncode == 1 and "n'est pas un classeur" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_password_protected_workbook(tmp_path):
    msoffcrypto = pytest.importorskip("msoffcrypto")
    from msoffcrypto.format.ooxml import OOXMLFile
    plain = make_book(tmp_path / "plain.xlsx", [due_row("F1")])
    secret = tmp_path / "secret.xlsx"
    with open(plain, "rb") as src, open(secret, "wb") as dst:
        OOXMLFile(src).encrypt("motdepasse", dst)
    assert msoffcrypto.OfficeFile(open(secret, "rb")).is_encrypted()
    proc = run_cli("scan", secret)
    assert proc.returncode == 1 and "mot de passe" in proc.stderr


def test_legacy_xls(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook()
    ws = wb.add_sheet("Créances")
    for j, h in enumerate(HEADERS):
        ws.write(0, j, h)
    path = tmp_path / "ancien.xls"
    wb.save(str(path))
    proc = run_cli("scan", path)
    assert proc.returncode == 1
    assert ".xls" in proc.stderr and ".xlsx" in proc.stderr


def test_duplicate_invoice_numbers_are_reported_and_never_claimed(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1"), due_row("F1", "Client B"),
                                           due_row("F2", "Client C")])
    proc = run_cli("generate", book, "--as-of", AS_OF, "--json", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    letters = json.loads(proc.stdout)["letters"]
    assert [x["invoices"] for x in letters] == [["F2"]]
    assert "F1" in proc.stderr and "double" in proc.stderr and "lignes 2, 3" in proc.stderr


def test_missing_settings_stop_generate_before_writing(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")], settings=[("Raison sociale", "X")])
    before = book.read_bytes()
    proc = run_cli("generate", book, "--as-of", AS_OF)
    assert proc.returncode == 1
    for key in ("Adresse", "Code postal", "Ville", "moyen de paiement"):
        assert key in proc.stderr
    assert_nothing_written(tmp_path, book, before)


def test_missing_settings_sheet_stops_generate_but_not_scan(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")], settings=None)
    proc = run_cli("generate", book, "--as-of", AS_OF)
    assert proc.returncode == 1 and "Paramètres" in proc.stderr
    assert run_cli("scan", book, "--as-of", AS_OF).returncode == 0


@pytest.mark.parametrize("args", [
    ["scan"],
    ["generate", "x.xlsx", "--as-of", "12/31/2026"],  # month first: not a French date
    ["generate", "x.xlsx", "--as-of", "01/12/26"],  # two-digit year: which century?
    ["generate", "x.xlsx", "--as-of", "2026-13-01"],
    ["generate", "x.xlsx", "--channels", "fax"],
    ["frobnicate", "x.xlsx"],
])
def test_wrong_usage_exits_2(args):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert "erreur" in proc.stderr


@pytest.mark.parametrize("typed", ["01/12/2026", "1.12.2026", " 2026-12-01"])
def test_as_of_as_a_french_accountant_types_it(typed):
    """The sample's run as of 1 December 2026, the date typed the French way or ISO."""
    proc = run_cli("scan", SAMPLE, "--as-of", typed, "--json")
    assert proc.returncode == 0, proc.stderr
    reference = run_cli("scan", SAMPLE, "--as-of", "2026-12-01", "--json")
    assert proc.stdout == reference.stdout


def test_unknown_template_variable_stops_before_any_file(tmp_path):
    from docx import Document
    template = tmp_path / "modele.docx"
    doc = Document()
    doc.add_paragraph("Bonjour {{ client.name }}, vous devez {{ montant_du }}.")
    doc.save(template)
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")],
                     settings=SETTINGS + [("Modèle de lettre", "modele.docx")])
    before = book.read_bytes()
    proc = run_cli("generate", book, "--as-of", AS_OF)
    assert proc.returncode == 1
    assert "modele.docx" in proc.stderr and "montant_du" in proc.stderr
    assert_nothing_written(tmp_path, book, before)


def test_unknown_attribute_in_template_stops_before_any_file(tmp_path):
    from docx import Document
    template = tmp_path / "modele.docx"
    doc = Document()
    doc.add_paragraph("Bonjour {{ client.nom_complet }}.")
    doc.save(template)
    book = make_book(tmp_path / "b.xlsx", [due_row("F1"), due_row("F2", "Client B")],
                     settings=SETTINGS + [("Modèle de lettre", "modele.docx")])
    before = book.read_bytes()
    proc = run_cli("generate", book, "--as-of", AS_OF)
    assert proc.returncode == 1
    assert "nom_complet" in proc.stderr and "modele.docx" in proc.stderr
    assert_nothing_written(tmp_path, book, before)


def test_template_cannot_reach_python_internals(tmp_path):
    from docx import Document
    template = tmp_path / "modele.docx"
    doc = Document()
    doc.add_paragraph("{{ client.name.__class__.__mro__ }}")
    doc.save(template)
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")],
                     settings=SETTINGS + [("Modèle de lettre", "modele.docx")])
    before = book.read_bytes()
    proc = run_cli("generate", book, "--as-of", AS_OF)
    assert proc.returncode == 1
    assert "modele.docx" in proc.stderr and "Traceback" not in proc.stderr
    assert "<class" not in proc.stderr  # nothing of Python's internals leaks out
    assert "balise interdite" in proc.stderr and "__class__" in proc.stderr
    assert_nothing_written(tmp_path, book, before)


def test_bad_setting_value_names_the_cell(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")],
                     settings=SETTINGS + [("Délai 2e relance", "quinze")])
    proc = run_cli("scan", book, "--as-of", AS_OF)
    assert proc.returncode == 1
    assert "Paramètres" in proc.stderr and "B7" in proc.stderr and "quinze" in proc.stderr


def test_mixed_day_month_order_stops_naming_two_cells(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [
        ["F1", "A", "25/02/2026", 100, None],
        ["F2", "B", "2/25/2026", 100, None],
    ])
    proc = run_cli("scan", book)
    assert proc.returncode == 1
    assert "C2" in proc.stderr and "C3" in proc.stderr


def test_a_misspelt_required_setting_is_named_with_its_cell(tmp_path):
    settings = [("Raison socale", "Testeur SARL")] + [kv for kv in SETTINGS if kv[0] != "Raison sociale"]
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")], settings=settings)
    proc = run_cli("generate", book, "--as-of", AS_OF)
    assert proc.returncode == 1
    assert "Raison sociale" in proc.stderr and "« Raison socale » inconnu" in proc.stderr
    assert "cellule A2" in proc.stderr


def test_output_cut_short_by_the_reader_is_not_an_error(tmp_path):
    import subprocess
    import sys
    book = make_book(tmp_path / "b.xlsx", [due_row(f"F{i}") for i in range(3000)])
    proc = subprocess.run(f'"{sys.executable}" -m relance.cli scan "{book}" | head -1',
                          shell=True, capture_output=True, text=True, timeout=120)
    assert "Erreur interne" not in proc.stderr and "Traceback" not in proc.stderr


def test_a_delay_written_in_words_is_named_as_such(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")],
                     settings=SETTINGS + [("Délai 2e relance", "dix jours")])
    proc = run_cli("scan", book)
    assert proc.returncode == 1 and "nombre entier de jours" in proc.stderr


def test_wrong_check_digits_stop_the_run_naming_each_cell(tmp_path):
    settings = [(k, v) for k, v in SETTINGS if k != "IBAN"] + [
        ("SIREN", "814529633"), ("IBAN", "FR7630006000011234567890188")]
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")], settings=settings)
    before = book.read_bytes()
    proc = run_cli("generate", book, "--as-of", AS_OF)
    assert proc.returncode == 1, proc.stderr
    # the settings start on row 2 under the header: four keys on rows 2-5, then SIREN on row 6 and IBAN on row 7
    assert "cellule B6" in proc.stderr and "« SIREN » = « 814529633 »" in proc.stderr
    assert "cellule B7" in proc.stderr and "FR7630006000011234567890188" in proc.stderr
    assert_nothing_written(tmp_path, book, before)


EMAIL_HEADERS = HEADERS + ["E-mail"]


def test_every_settings_problem_is_said_at_once(tmp_path):
    """What a new user met one run at a time: a missing company name, a wrong IBAN and no
    company e-mail while a client gets an e-mail — all three in one message, naming the
    file to fix; nothing written."""
    settings = [(k, "FR76 3000 6000 0112 3456 7890 180" if k == "IBAN" else v)
                for k, v in SETTINGS if k != "Raison sociale"]
    book = make_book(tmp_path / "b.xlsx", [due_row("F1") + ["client@exemple.fr"]],
                     headers=EMAIL_HEADERS, settings=settings)
    before = book.read_bytes()
    proc = run_cli("generate", book, "--as-of", AS_OF)
    assert proc.returncode == 1, proc.stderr
    message = " ".join(proc.stderr.split())
    assert "la feuille « Paramètres » du classeur" in message
    assert "Raison sociale" in message
    assert "« IBAN » = « FR76 3000 6000 0112 3456 7890 180 »" in message
    assert "« E-mail » de la société" in message and "retirez le canal email" in message
    assert_nothing_written(tmp_path, book, before)


def test_the_sender_is_asked_for_only_when_a_letter_goes_by_e_mail(tmp_path):
    no_address = make_book(tmp_path / "a.xlsx", [due_row("F1")])  # no client e-mail
    assert run_cli("generate", no_address, "--as-of", AS_OF, "--dry-run").returncode == 0
    with_address = make_book(tmp_path / "b.xlsx", [due_row("F1") + ["client@exemple.fr"]],
                             headers=EMAIL_HEADERS)
    proc = run_cli("generate", with_address, "--as-of", AS_OF, "--dry-run")
    assert proc.returncode == 1 and "« E-mail » de la société" in proc.stderr
    proc = run_cli("generate", with_address, "--as-of", AS_OF, "--dry-run",
                   "--channels", "courrier,sms")
    assert proc.returncode == 0, proc.stderr


def test_a_wrong_sender_address_names_its_cell(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1") + ["client@exemple.fr"]],
                     headers=EMAIL_HEADERS, settings=SETTINGS + [("E-mail", "compta@")])
    proc = run_cli("generate", book, "--as-of", AS_OF)
    assert proc.returncode == 1
    message = " ".join(proc.stderr.split())
    assert "B7" in message and "« E-mail » = « compta@ » : adresse e-mail invalide" in message


def test_settings_csv_problems_name_the_csv_file(tmp_path):
    (tmp_path / "parametres.csv").write_text(
        "Paramètre;Valeur\n" + "".join(f"{k};{v}\n" for k, v in SETTINGS), encoding="utf-8")
    export = tmp_path / "export.csv"
    export.write_text("N° facture;Client;Échéance;Montant TTC;Date 1ère relance;E-mail\n"
                      "F1;Hélène;01/09/2026;100,00;01/10/2026;helene@exemple.fr\n",
                      encoding="utf-8")
    proc = run_cli("generate", export, "--as-of", AS_OF, "--out", tmp_path / "sortie")
    assert proc.returncode == 1
    message = " ".join(proc.stderr.split())
    assert "le fichier parametres.csv à côté du CSV" in message and "« E-mail »" in message
    assert not (tmp_path / "sortie").exists()


def test_a_csv_is_called_a_file_in_messages(tmp_path):
    empty = tmp_path / "zero.csv"
    empty.write_text("", encoding="utf-8")
    proc = run_cli("scan", empty, "--as-of", AS_OF)
    assert proc.returncode == 1
    assert "Le fichier « zero.csv » est vide" in proc.stderr and "feuille" not in proc.stderr
    no_due = tmp_path / "export.csv"
    no_due.write_text("N° facture;Client;Montant TTC\nF1;A;100,00\n", encoding="utf-8")
    proc = run_cli("scan", no_due, "--as-of", AS_OF)
    assert proc.returncode == 1
    assert "Fichier « export.csv » : colonne « Échéance » introuvable" in proc.stderr


def test_a_sheet_of_headers_alone_says_there_is_no_invoice(tmp_path):
    headers_only = tmp_path / "export.csv"
    headers_only.write_text("N° facture;Client;Échéance;Montant TTC\n", encoding="utf-8")
    proc = run_cli("scan", headers_only, "--as-of", AS_OF)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Aucune facture lue au 01/12/2026."


def test_a_settings_error_also_lists_the_rows_the_run_would_skip(tmp_path):
    """Fixing the settings first, a user would otherwise meet the bad rows only once the
    letters are written without them."""
    rows = [due_row("F1"), ["F2", "Client B", "31/02/2026", "abc", date(2026, 10, 1)]]
    rows += [[f"G{k}", "Client C", f"3{k}/02/2026", 100, date(2026, 10, 1)] for k in range(12)]
    settings = [(k, v) for k, v in SETTINGS if k != "Raison sociale"]
    proc = run_cli("generate", make_book(tmp_path / "b.xlsx", rows, settings=settings),
                   "--as-of", AS_OF)
    assert proc.returncode == 1
    message = " ".join(proc.stderr.split())
    assert "Raison sociale" in message and "À vérifier aussi" in message
    assert "cellule C3" in message and "cellule D3" in message and "« abc »" in message
    assert "et 5 autre(s)" in message  # 14 bad cells, an address to complete: 10 shown


def test_cash_only_beyond_1000_euros_is_said_with_the_other_settings_problems(tmp_path):
    settings = [(k, v) for k, v in SETTINGS if k != "IBAN"] + [("Espèces", "oui"),
                                                               ("SIREN", "123 456 789")]
    book = make_book(tmp_path / "b.xlsx", [due_row("F1", amount=1500),
                                           due_row("F2", "Client B", 80)], settings=settings)
    proc = run_cli("generate", book, "--as-of", AS_OF)
    assert proc.returncode == 1
    message = " ".join(proc.stderr.split())
    assert "la loi les limite à 1 000 €" in message and "à Client A (1 500,00 €)" in message.replace(
        "\u202f", " ").replace("\u00a0", " ")
    assert "Client B (80" not in message  # 80 € in cash is allowed
    assert "« SIREN » = « 123 456 789 »" in message


def test_every_unreadable_setting_value_is_said_at_once(tmp_path):
    settings = SETTINGS + [("Délai 2e relance", "quinze"), ("Taux pénalités (%)", "beaucoup")]
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")], settings=settings)
    for command in ("scan", "generate"):
        proc = run_cli(command, book, "--as-of", AS_OF)
        assert proc.returncode == 1
        message = " ".join(proc.stderr.split())
        assert "Paramètres illisibles dans la feuille « Paramètres »" in message
        assert "cellule B7 (« Délai 2e relance » = « quinze »)" in message, message
        assert "cellule B8 (« Taux pénalités (%) » = « beaucoup ») : taux annuel" in message


def test_cash_only_is_said_even_beside_another_missing_setting(tmp_path):
    settings = [(k, v) for k, v in SETTINGS if k not in ("IBAN", "Ville")] + [("Espèces", "oui")]
    book = make_book(tmp_path / "b.xlsx", [due_row("F1", amount=1500)], settings=settings)
    message = " ".join(run_cli("generate", book, "--as-of", AS_OF).stderr.split())
    assert "Ville" in message and "la loi les limite à 1 000 €" in message


_DAMAGES = {
    "tableau absent": lambda name, data: None if name.startswith("xl/tables/") else data,
    "tableau illisible": lambda name, data: b"<notatable/>" if name.startswith("xl/tables/")
    else data,
    "plage du tableau illisible": lambda name, data: data.replace(b'ref="A1:E2"', b'ref="ZZ"')
    if name.startswith("xl/tables/") else data,
    "plage du tableau sans ligne": lambda name, data: data.replace(b'ref="A1:E2"',
                                                                   b'ref="A1:E"')
    if name.startswith("xl/tables/") else data,
    "tableau tronqué": lambda name, data: data[:len(data) // 2]
    if name.startswith("xl/tables/") else data,
    "nombre de lignes de total illisible": lambda name, data: data.replace(
        b"<table ", b'<table totalsRowCount="x" ') if name.startswith("xl/tables/") else data,
    "feuille tronquée": lambda name, data: data[:len(data) // 2]
    if name == "xl/worksheets/sheet1.xml" else data,
    "octets hors UTF-8": lambda name, data: data.replace(b"F1", b"\xff\xfe")
    if name == "xl/worksheets/sheet1.xml" else data,
}


@pytest.mark.parametrize("reader", ["calamine", "openpyxl"])
@pytest.mark.parametrize("damage", sorted(_DAMAGES))
def test_a_damaged_workbook_is_told_in_french_by_either_reader(tmp_path, damage, reader):
    """A part missing or cut short (a copy interrupted, a tool that wrote it wrong): the file
    is named as unreadable, never an internal error, whichever reader reads it."""
    import zipfile
    from openpyxl.worksheet.table import Table
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(["N° facture", "Client", "Échéance", "Montant TTC", "Date 1ère relance"])
    ws.append(["F1", "A", "2026-10-01", 100, "2026-10-20"])
    ws.add_table(Table(displayName="T", ref="A1:E2"))
    wb.save(tmp_path / "sain.xlsx")
    damaged = tmp_path / "abime.xlsx"
    with zipfile.ZipFile(tmp_path / "sain.xlsx") as zin, zipfile.ZipFile(damaged, "w") as zout:
        for info in zin.infolist():
            data = _DAMAGES[damage](info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)
    proc = run_cli("scan", damaged, "--as-of", AS_OF, env={"RELANCE_READER": reader})
    assert proc.returncode == 1, proc.stderr
    assert "Erreur : abime.xlsx n'est pas un classeur Excel lisible : le fichier est endommagé" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "interne" not in proc.stderr


def test_a_damaged_office_file_is_told_in_french(tmp_path):
    """An OLE header on a damaged body (a .xls or an encrypted workbook cut short): named
    damaged, not an internal error, and no read ahead started on it (calamine may panic)."""
    import random
    from relance.reading import ahead
    from relance.reading.files import OLE_MAGIC
    damaged = tmp_path / "abime.xlsx"
    damaged.write_bytes(OLE_MAGIC + random.Random(4).randbytes(3000))
    proc = run_cli("scan", damaged, "--as-of", AS_OF)
    assert proc.returncode == 1
    assert "Erreur : abime.xlsx est un fichier Office endommagé" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "panicked" not in proc.stderr
    ahead.start(damaged)
    assert not ahead._pending  # no read ahead started on it
    assert ahead.take(damaged) is None


def test_a_workbook_cut_short_is_named_damaged(tmp_path):
    """A copy interrupted: the file starts as a workbook and has no end. Not « pas un
    classeur Excel »: a damaged one."""
    cut = tmp_path / "coupe.xlsx"
    cut.write_bytes(SAMPLE.read_bytes()[:3000])
    proc = run_cli("scan", cut, "--as-of", AS_OF)
    assert proc.returncode == 1
    assert "Erreur : coupe.xlsx est un classeur Excel endommagé ou incomplet" in proc.stderr
