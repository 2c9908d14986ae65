"""A run never destroys proof, never reminds twice, never records half a run."""
from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.table import Table

from conftest import run_cli
from test_bad_input import HEADERS, SETTINGS, due_row, make_book

from relance import run as run_module
from relance.locking import run_lock
from relance.model import RelanceError
from relance.reading import files


def write_csv_settings(folder: Path) -> None:
    """The settings of CSV exports in `folder`: parametres.csv beside them."""
    (folder / "parametres.csv").write_text(
        "Paramètre;Valeur\n" + "".join(f"{k};{v}\n" for k, v in SETTINGS), encoding="utf-8")


def letters_of(proc):
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["letters"]


def test_a_reused_output_folder_never_overwrites_an_earlier_letter(tmp_path):
    """Same folder (--out), two days: both letters stay, each journal row names its own file."""
    book = make_book(tmp_path / "b.xlsx", [due_row("F1"),
                                           ["F2", "Client A", date(2026, 9, 20), 50, date(2026, 10, 20)]])
    out = tmp_path / "lettres"
    first = letters_of(run_cli("generate", book, "--as-of", "2026-11-01", "--out", out, "--json"))
    second = letters_of(run_cli("generate", book, "--as-of", "2026-11-20", "--out", out, "--json"))
    f1, f2 = first[0]["files"]["courrier"], second[0]["files"]["courrier"]
    assert f1 != f2 and os.path.exists(f1) and os.path.exists(f2)
    assert first[0]["invoices"] == ["F1"] and second[0]["invoices"] == ["F2"]
    journal = list(openpyxl.load_workbook(book)["Journal"].iter_rows(values_only=True))[1:]
    assert len({row[8] for row in journal}) == 2


def test_a_same_day_rerun_after_an_edit_keeps_the_recorded_letter(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")])
    first = letters_of(run_cli("generate", book, "--as-of", "2026-12-01", "--json"))
    recorded = Path(first[0]["files"]["courrier"])
    before = recorded.read_bytes()
    wb = openpyxl.load_workbook(book)
    wb["Créances"].append(due_row("F9"))  # a new invoice of the same client, same day
    wb.save(book)
    second = letters_of(run_cli("generate", book, "--as-of", "2026-12-01", "--json"))
    assert second[0]["invoices"] == ["F9"]
    assert Path(second[0]["files"]["courrier"]) != recorded
    assert recorded.read_bytes() == before


def test_csv_client_whose_name_starts_like_a_formula_is_not_reminded_twice(tmp_path):
    write_csv_settings(tmp_path)
    csv_path = tmp_path / "export.csv"
    csv_path.write_text("N° facture;Client;Échéance;Montant TTC;Date 1ère relance\n"
                        "=1;@Home Services;01/09/2026;100,00;01/10/2026\n", encoding="utf-8")
    out = tmp_path / "out"
    assert len(letters_of(run_cli("generate", csv_path, "--as-of", "2026-12-01", "--out", out,
                                  "--json"))) == 1
    assert letters_of(run_cli("generate", csv_path, "--as-of", "2026-12-01", "--out", out,
                              "--json")) == []
    journal = (out / "journal.csv").read_text(encoding="utf-8-sig")
    assert "'@Home Services" in journal and "'=1" in journal  # never a formula in Excel


def test_renamed_client_is_not_reminded_twice(tmp_path):
    """Same client code, corrected name, and the Date 2e relance cell lost: the Journal still
    remembers the reminder."""
    headers = ["N° facture", "Code client", "Client", "Échéance", "Montant TTC", "Date 1ère relance"]
    book = make_book(tmp_path / "b.xlsx", [["F1", "C1", "Client A", date(2026, 9, 1), 100,
                                            date(2026, 10, 1)]], headers=headers)
    letters_of(run_cli("generate", book, "--as-of", "2026-12-01", "--json"))
    wb = openpyxl.load_workbook(book)
    ws = wb["Créances"]
    ws["C2"] = "Client A SARL"
    ws["G2"] = None
    wb.save(book)
    assert letters_of(run_cli("generate", book, "--as-of", "2026-12-02", "--json")) == []


def test_another_files_invoice_with_the_same_number_is_not_taken_for_this_one(tmp_path):
    """Two exports in one folder share Relances/journal.csv: invoice F-001 of one company says
    nothing about invoice F-001 of another."""
    write_csv_settings(tmp_path)
    for name, client in (("a.csv", "Alpha"), ("b.csv", "Beta")):
        (tmp_path / name).write_text("N° facture;Client;Échéance;Montant TTC;Date 1ère relance\n"
                                     f"F-001;{client};01/09/2026;100,00;01/10/2026\n",
                                     encoding="utf-8")
    assert len(letters_of(run_cli("generate", tmp_path / "a.csv", "--as-of", "2026-12-01",
                                  "--json"))) == 1
    assert len(letters_of(run_cli("generate", tmp_path / "b.csv", "--as-of", "2026-12-01",
                                  "--json"))) == 1



def test_a_csv_run_into_a_new_folder_says_which_journal_it_reads(tmp_path):
    """A CSV's journal lives in its output folder. A run into a folder without one, while
    the usual Relances/journal.csv exists, does not read it: said, since an invoice recorded
    there would be reminded again. A first run into a new folder says later runs must use it.
    Nothing is said when the same folder is used again. Another export's journal in the
    usual folder never stops this export's letters."""
    write_csv_settings(tmp_path)
    export = tmp_path / "export.csv"
    export.write_text("N° facture;Code client;Client;Échéance;Montant TTC;Date 1ère relance\n"
                      "F-001;C1;Alpha;01/09/2026;100,00;01/10/2026\n", encoding="utf-8")
    other = tmp_path / "autre.csv"
    other.write_text("N° facture;Code client;Client;Échéance;Montant TTC;Date 1ère relance\n"
                     "F-001;C1;Bernard SA;01/09/2026;300,00;01/10/2026\n", encoding="utf-8")
    first = run_cli("generate", other, "--as-of", "2026-12-01", "--json")
    assert len(letters_of(first)) == 1
    assert "journal" not in " ".join(json.loads(first.stdout)["warnings"])
    elsewhere = run_cli("generate", export, "--as-of", "2026-12-01", "--out",
                        tmp_path / "lettres", "--json")
    assert [lt["client"] for lt in letters_of(elsewhere)] == ["Alpha"]  # not Bernard's F-001
    said = json.loads(elsewhere.stdout)["warnings"]
    assert any("aucun journal dans" in w and "Relances" in w and "relancée de nouveau" in w
               for w in said), said
    again = run_cli("generate", export, "--as-of", "2026-12-05", "--out", tmp_path / "lettres",
                    "--json")
    assert letters_of(again) == [] and "journal" not in " ".join(json.loads(again.stdout)["warnings"])
    export.write_text(export.read_text(encoding="utf-8")
                      + "F-002;C2;Beta;01/09/2026;50,00;01/10/2026\n", encoding="utf-8")
    fresh = tmp_path / "neuf"
    (tmp_path / "Relances" / "journal.csv").unlink()
    new = run_cli("generate", export, "--as-of", "2026-12-05", "--out", fresh, "--json")
    said = json.loads(new.stdout)["warnings"]
    assert any(str(fresh / "journal.csv") in w and "même dossier" in w for w in said), said
    assert "Attention : le journal de cette série sera" in new.stderr


def test_cash_alone_is_no_way_to_pay_above_1000_euros(tmp_path):
    settings = [kv for kv in SETTINGS if kv[0] != "IBAN"] + [("Espèces", "oui")]
    book = make_book(tmp_path / "b.xlsx", [due_row("F1", amount=1500)], settings=settings)
    before = book.read_bytes()
    proc = run_cli("generate", book, "--as-of", "2026-12-01")
    assert proc.returncode == 1 and "1 000 €" in proc.stderr and "Client A" in proc.stderr
    assert book.read_bytes() == before and not (tmp_path / "Relances").exists()
    small = make_book(tmp_path / "s.xlsx", [due_row("F1", amount=900)], settings=settings)
    assert len(letters_of(run_cli("generate", small, "--as-of", "2026-12-01", "--json"))) == 1


def _table_book(path, blocked: bool, legend: bool = False):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    start = 1
    if legend:  # a small legend table above the ledger
        ws.append(["Statut", "Nb"])
        ws.append(["ouvert", 1])
        ws.add_table(Table(displayName="Legende", ref="A1:B2"))
        ws.append([])
        start = 4
    ws.append(HEADERS)
    ws.append(due_row("F1"))
    ws.append(due_row("F2", "Client B"))
    ws.add_table(Table(displayName="Ledger", ref=f"A{start}:E{start + 2}"))
    if blocked:
        ws.cell(start, 6, "Notes")
        ws.cell(start + 1, 6, "à rappeler")
    ps = wb.create_sheet("Paramètres")
    ps.append(["Paramètre", "Valeur"])
    for k, v in SETTINGS:
        ps.append([k, v])
    wb.save(path)
    return path


def test_missing_date_column_that_cannot_join_the_table_leaves_the_workbook_intact(tmp_path):
    book = _table_book(tmp_path / "b.xlsx", blocked=True)
    before = book.read_bytes()
    proc = run_cli("generate", book, "--as-of", "2026-12-01")
    assert proc.returncode == 0, proc.stderr
    assert book.read_bytes() == before
    assert "à reporter à la main" in proc.stdout and "F1 (ligne 2)" in proc.stdout
    assert "ajoutez une colonne « Date 2e relance » au tableau « Ledger »" in proc.stdout
    again = run_cli("generate", book, "--as-of", "2026-12-01")
    assert "Rien à faire" in again.stdout  # journal.csv remembers
    elsewhere = run_cli("generate", book, "--as-of", "2026-12-01", "--out", tmp_path / "autre")
    assert "Rien à faire" in elsewhere.stdout  # wherever this run writes


def test_the_table_naming_receivables_columns_is_the_ledger(tmp_path):
    book = _table_book(tmp_path / "b.xlsx", blocked=False, legend=True)
    proc = run_cli("scan", book, "--json")
    assert proc.returncode == 0, proc.stderr
    assert [x["invoice"] for x in json.loads(proc.stdout)] == ["F1", "F2"]


def test_journal_table_with_a_totals_row_and_title_rows_stays_readable(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")])
    wb = openpyxl.load_workbook(book)
    js = wb.create_sheet("Journal")
    js.append(["Journal des relances"])
    js.append([])
    js.append(["Date et heure", "Date de référence", "Code client", "Client", "Factures",
               "Total dû", "Canal", "Statut", "Fichier", "Étape"])
    js.append(["Total", None, None, None, None, "=SUM(F4:F4)", None, None, None, None])
    table = Table(displayName="JournalT", ref="A3:J4")
    table.totalsRowCount = 1
    js.add_table(table)
    wb.save(book)
    letters_of(run_cli("generate", book, "--as-of", "2026-12-01", "--json"))
    data = files.load(book)
    assert [e.invoices for e in data.ledger.journal] == [("F1",)]
    assert not [a for a in data.ledger.anomalies if "journal" in a.message]
    ref = openpyxl.load_workbook(book)["Journal"].tables["JournalT"].ref
    assert ref == "A3:J4"  # the totals row stays the totals row


def test_journal_csv_saved_by_excel_in_windows_1252_still_gets_appended(tmp_path):
    write_csv_settings(tmp_path)
    csv_path = tmp_path / "export.csv"
    csv_path.write_text("N° facture;Client;Échéance;Montant TTC;Date 1ère relance\n"
                        "F1;Hélène;01/09/2026;100,00;01/10/2026\n"
                        "F2;Émile;01/09/2026;100,00;01/10/2026\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "journal.csv").write_bytes(
        "Date et heure;Date de référence;Code client;Client;Factures;Total dû;Canal;Statut;Fichier;Étape\r\n"
        "01/11/2026 10:00:00;01/11/2026;;Hélène;F1;100,00;courrier;généré;x.docx;2e relance\r\n"
        .encode("cp1252"))
    letters = letters_of(run_cli("generate", csv_path, "--as-of", "2026-12-01", "--out", out,
                                 "--json"))
    assert [x["invoices"] for x in letters] == [["F2"]]  # F1: the cp1252 journal was read
    text = (out / "journal.csv").read_text(encoding="utf-8-sig")
    assert "Hélène" in text and "Émile" in text


def test_a_workbook_changed_during_the_run_is_not_overwritten(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1"), due_row("F2", "Client B")])

    def someone_saves_in_excel(done, total, name):
        if done == 1:
            wb = openpyxl.load_workbook(book)
            wb["Créances"]["A10"] = "saisie pendant la génération"
            wb.save(book)
    with pytest.raises(RelanceError) as err:
        run_module.generate(book, run_module.Options(as_of=date(2026, 12, 1)),
                            progress=someone_saves_in_excel)
    assert "modifié" in err.value.message
    assert openpyxl.load_workbook(book)["Créances"]["A10"].value == "saisie pendant la génération"


def test_a_second_run_at_the_same_time_refuses(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")])
    before = book.read_bytes()
    with run_lock(book):
        proc = run_cli("generate", book, "--as-of", "2026-12-01")
    assert proc.returncode == 1 and "déjà en cours" in proc.stderr
    assert book.read_bytes() == before


def test_invalid_iban_stops_generate(tmp_path):
    settings = [(k, "FR76 3000 6000 0112 3456 7890 180" if k == "IBAN" else v) for k, v in SETTINGS]
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")], settings=settings)
    proc = run_cli("generate", book, "--as-of", "2026-12-01")
    assert proc.returncode == 1 and "IBAN" in proc.stderr and "invalide" in proc.stderr


def test_unknown_setting_is_reported_with_a_suggestion(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")],
                     settings=SETTINGS + [("Délai de paiement accorde", 30), ("Délai de paiemnt", 3)])
    proc = run_cli("generate", book, "--as-of", "2026-12-01", "--dry-run")
    assert proc.returncode == 0
    assert "« Délai de paiemnt » inconnu" in proc.stderr
    assert "vouliez-vous dire « Délai de paiement accordé »" in proc.stderr


def test_a_run_dated_before_a_recorded_second_reminder_says_it_reminds_again(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")])
    letters_of(run_cli("generate", book, "--as-of", "2026-12-03", "--json"))
    proc = run_cli("generate", book, "--as-of", "2026-11-30", "--dry-run", "--json")
    assert json.loads(proc.stdout)["letters"][0]["invoices"] == ["F1"]  # SPEC: as it stood then
    assert "déjà enregistrée le 03/12/2026" in proc.stderr


def test_missing_postal_address_and_disagreeing_rows_are_flagged(tmp_path):
    headers = HEADERS + ["Adresse", "Code postal", "Ville"]
    rows = [due_row("F1") + ["1 rue A", "75001", "Paris"],
            due_row("F2") + ["9 rue B", "75002", "Paris"],
            due_row("F3", "Client B") + [None, None, None]]
    book = make_book(tmp_path / "b.xlsx", rows, headers=headers)
    proc = run_cli("generate", book, "--as-of", "2026-12-01", "--dry-run")
    assert "Client B : adresse postale incomplète" in proc.stderr
    assert "Client A : adresse différente selon les lignes (2, 3)" in proc.stderr


def test_two_workbooks_sharing_an_output_folder_never_replace_each_others_letters(tmp_path):
    a = make_book(tmp_path / "a.xlsx", [due_row("F1", "Client A")])
    b = make_book(tmp_path / "b.xlsx", [due_row("G1", "Client A")])
    first = letters_of(run_cli("generate", a, "--as-of", "2026-12-01", "--json"))
    kept = Path(first[0]["files"]["courrier"]).read_bytes()
    second = letters_of(run_cli("generate", b, "--as-of", "2026-12-01", "--json"))
    assert first[0]["files"]["courrier"] != second[0]["files"]["courrier"]
    assert Path(first[0]["files"]["courrier"]).read_bytes() == kept


def test_an_interrupted_runs_letter_is_replaced_by_the_next_run_not_duplicated(tmp_path):
    """A letter written by a run killed before it recorded anything belongs to this workbook and
    this client: the next run writes it again under the same name."""
    book = make_book(tmp_path / "b.xlsx", [due_row("F1")])
    dry = letters_of(run_cli("generate", book, "--as-of", "2026-12-01", "--json", "--dry-run"))
    real = letters_of(run_cli("generate", book, "--as-of", "2026-12-01", "--json"))
    path = Path(real[0]["files"]["courrier"])
    shutil.copy2(tmp_path / "Relances" / "2026-12-01" / next(
        p.name for p in (tmp_path / "Relances" / "2026-12-01").iterdir()
        if p.name.startswith("sauvegarde")), book)  # back to the state before the run
    again = letters_of(run_cli("generate", book, "--as-of", "2026-12-01", "--json"))
    assert again[0]["files"]["courrier"] == str(path) == dry[0]["files"]["courrier"]
    assert sorted(p.name for p in path.parent.glob("*.docx")
                  if "toutes les lettres" not in p.name) == [path.name]


def test_a_workbook_open_in_libreoffice_is_refused_with_advice(sample_copy, tmp_path):
    """LibreOffice keeps `.~lock.name#` beside an open workbook, as Excel keeps `~$name`."""
    from conftest import SAMPLE_DATE, run_cli
    lock = sample_copy.with_name(f".~lock.{sample_copy.name}#")
    lock.write_text(",moi,poste,03.12.2026 10:00,file:///home/moi/.config/libreoffice/4;")
    before = sample_copy.read_bytes()
    proc = run_cli("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                   "--out", tmp_path / "out")
    assert proc.returncode == 1
    assert "ouvert dans Excel ou LibreOffice" in proc.stderr and lock.name in proc.stderr
    assert "supprimez ce fichier" in proc.stderr
    assert sample_copy.read_bytes() == before and not (tmp_path / "out").exists()


def test_a_dry_run_says_the_real_run_would_be_refused_while_the_workbook_is_open(
        sample_copy, tmp_path):
    """--dry-run writes nothing, so an open workbook does not stop it; but it says now what
    the real run would say, not « 10 lettres seraient écrites » alone."""
    from conftest import SAMPLE_DATE, run_cli
    lock = sample_copy.with_name(f"~${sample_copy.name}")
    lock.write_bytes(b"\x05moi")
    proc = run_cli("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    message = " ".join(proc.stdout.split())
    assert f"Note : Le classeur est ouvert dans Excel ou LibreOffice ({lock.name} présent à " \
        "côté) : la vraie exécution le refusera tant qu'il n'est pas fermé." in message
    lock.unlink()
    proc = run_cli("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(), "--dry-run")
    assert "ouvert dans Excel" not in proc.stdout


def test_a_long_run_summary_stays_readable_and_in_the_sheet_s_order(tmp_path):
    """Twelve clients without `Type client`: the summary names ten and counts the rest; the
    dates to record by hand come in the sheet's order, not the letters' (by name)."""
    book = _table_book(tmp_path / "b.xlsx", blocked=True)
    wb = openpyxl.load_workbook(book)
    ws = wb["Créances"]
    ws["B2"], ws["B3"] = "Zeta", "Alpha"
    wb.save(book)
    result = json.loads(run_cli("generate", book, "--as-of", "2026-12-01", "--json").stdout)
    assert [lt["client"] for lt in result["letters"]] == ["Alpha", "Zeta"]
    assert [d["row"] for d in result["dates_to_record_by_hand"]] == [2, 3]
    many = make_book(tmp_path / "many.xlsx", [due_row(f"F{k}", f"Client {k:02d}")
                                              for k in range(12)])
    proc = run_cli("generate", many, "--as-of", "2026-12-01")
    assert proc.returncode == 0, proc.stderr
    (line,) = [ln for ln in proc.stdout.splitlines() if "sans « Type client »" in ln]
    assert line.startswith("12 lettre(s)") and "Client 09" in line and "Client 10" not in line
    assert line.endswith("Client 09 et 2 autre(s).")


def test_what_the_workbook_could_not_take_is_told(tmp_path):
    """The run records in the workbook: a column it had to add is announced; a `Date 2e
    relance` cell holding a formula is left alone and listed, to fill in by hand; no
    journal.csv is named, since none was written."""
    plain = make_book(tmp_path / "plain.xlsx", [due_row("F1")])
    proc = run_cli("generate", plain, "--as-of", "2026-12-01", "--json")
    result = json.loads(proc.stdout)
    assert result["column_added"] == "Date 2e relance" and result["journal"] is None
    assert result["dates_to_record_by_hand"] == []
    assert "Colonne « Date 2e relance » ajoutée" in proc.stderr
    formula = make_book(tmp_path / "formula.xlsx",
                        [due_row("F1") + ["=IF(1>2,1,\"\")"], due_row("F2", "Client B") + [None]],
                        headers=HEADERS + ["Date 2e relance"])
    proc = run_cli("generate", formula, "--as-of", "2026-12-01", "--json")
    result = json.loads(proc.stdout)
    assert result["column_added"] is None and result["journal"] is None
    assert result["dates_to_record_by_hand"] == [
        {"row": 2, "invoice": "F1", "reason": "la cellule contient une formule"}]
    ws = openpyxl.load_workbook(formula)["Créances"]
    assert ws["F2"].value == "=IF(1>2,1,\"\")" and ws["F3"].value is not None


def test_each_unreachable_client_has_one_line_even_among_namesakes(tmp_path):
    """Letters go by client code: three « Dupont » and a « Dupont : agence » are four
    clients, each told on its own line with all its reasons, none taken for another."""
    headers = ["N° facture", "Code client", "Client", "Échéance", "Montant TTC",
               "Date 1ère relance", "E-mail", "Téléphone"]
    first, due = date(2026, 10, 1), date(2026, 9, 1)
    rows = [["F1", "C1", "Dupont", due, 100, first, "", "04 72 43 18 90"],
            ["F2", "C2", "Dupont", due, 200, first, "", ""],
            ["F3", "C3", "Dupont", due, 300, first, "c3@example.fr", "04 72 43 18 91"],
            ["F4", "C4", "Dupont : agence", due, 400, first, "", "06 12 34 56 78"]]
    book = make_book(tmp_path / "b.xlsx", rows, headers=headers,
                     settings=SETTINGS + [("E-mail", "compta@example.fr")])
    proc = run_cli("generate", book, "--as-of", "2026-12-01", "--channels", "email,sms",
                   "--json")
    result = json.loads(proc.stdout)
    assert sorted(lt["client_code"] for lt in result["letters"]) == ["C3", "C4"]
    lines = result["unreached"]
    assert lines == [
        "Dupont (C1) : pas d'adresse e-mail, pas d'e-mail de relance ; numéro fixe « 04 72 43 18 "
        "90 », pas de SMS ; aucun document produit sur les canaux demandés ; ses factures (F1) "
        "ne sont pas marquées relancées",
        "Dupont (C2) : pas d'adresse e-mail, pas d'e-mail de relance ; pas de numéro de "
        "téléphone, pas de SMS ; aucun document produit sur les canaux demandés ; ses factures "
        "(F2) ne sont pas marquées relancées",
        "Dupont (C3) : numéro fixe « 04 72 43 18 91 », pas de SMS",
        "Dupont : agence : pas d'adresse e-mail, pas d'e-mail de relance"]
