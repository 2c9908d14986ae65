"""The ribbon button's work, driven through a real xlwings.Book (remote engine) on Linux."""
from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from conftest import SAMPLE, SAMPLE_DATE
from remote_book import FakeExcel, remote_book, writes
from test_bad_input import due_row, make_book

import relance
from relance import excel
from relance.excel import run_button

CLAIMED = {"FA-2026-0101", "FA-2026-0102", "000123", "FA-2026-0105", "FA-2026-0107",
           "FA-2026-0110", "FA-2026-0111", "FA-2026-0112", "FA-2026-0117", "FA-2026-0118",
           "FA-2026-0120", "FA-2026-0123", "FA-2026-0124", "FA-2026-0126", "FA-2026-0129",
           "FA-2026-0130", "FA-2026-0158"}


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "relances.xlsx"
    shutil.copy2(SAMPLE, path)
    return path


def sheet_rows(path, name):
    ws = openpyxl.load_workbook(path, data_only=True)[name]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_the_package_entry_point_is_what_the_addin_calls():
    assert callable(relance.main)
    assert relance.excel.main.__module__ == "relance.excel"


def test_button_writes_letters_dates_and_journal_in_bulk(sample):
    book, ui = remote_book(sample), FakeExcel()
    result = run_button(book, ui, sample, SAMPLE_DATE, now=datetime(2026, 12, 1, 9, 30))
    assert result.error == "" and len(result.letters) == 10
    assert all(Path(o.files["courrier"]).exists() for o in result.letters)
    assert result.backup.exists() and result.backup.read_bytes() == SAMPLE.read_bytes()

    # the whole Date 2e relance column, in one write, right cells, old values kept
    rows = sheet_rows(sample, "Créances")
    header = rows[2]
    col = header.index("Date 2e relance") + 1
    (start_row, start_col, values), = writes(book, "Créances")
    assert (start_row, start_col) == (4, col) and len(values) == len(rows) - 3
    for offset, (cell,) in enumerate(values):
        number = rows[3 + offset][0]
        before = rows[3 + offset][col - 1]
        if number in CLAIMED:
            assert cell.startswith("2026-12-01"), number
        elif before is not None:
            assert cell.startswith(before.date().isoformat()), number  # kept
        else:
            assert cell in ("", None), number

    # the Journal rows, in one write, just below the existing ones
    journal = sheet_rows(sample, "Journal")
    (j_row, j_col, block), = writes(book, "Journal")
    assert (j_row, j_col) == (len(journal) + 1, 1)
    by_channel = {}
    for r in block:
        by_channel.setdefault(r[6], []).append(r)
    # one row per document: every letter, an e-mail draft per client with an address, an SMS
    # per client with a mobile
    assert len(by_channel["courrier"]) == 10 and len(by_channel["e-mail"]) == 9
    assert len(by_channel["sms"]) == 4
    assert {r[7] for r in by_channel["courrier"] + by_channel["sms"]} == {"généré"}
    assert {r[7] for r in by_channel["e-mail"]} == {"brouillon"}
    assert {r[4] for r in block} >= {"FA-2026-0110, FA-2026-0111, FA-2026-0112"}
    assert {r[9] for r in block} == {"2e relance"}
    assert all(r[1].startswith("2026-12-01") for r in block)

    assert ui.saves == 1
    assert ui.questions == ["10 lettre(s) (17 facture(s)), total 46\u202f648,30\u00a0€ — continuer ?"]
    summary, critical = ui.messages[-1]
    assert not critical and "10 lettre(s)" in summary and "FA-2026-0139" in summary
    # the clients a channel misses, a line each, the first six then a count
    assert "Non joignables (7) :\n- Boulangerie Hélène Lefèvre : numéro fixe" in summary
    assert "\n- et 1 autre(s)" in summary
    assert ui.statuses[-1] is None  # the status bar is given back to Excel
    assert any(s and "lettre 10/10" in s for s in ui.statuses)


def test_the_button_and_the_command_line_claim_the_same_invoices(sample, tmp_path):
    from conftest import run_json
    other = tmp_path / "cli.xlsx"
    shutil.copy2(SAMPLE, other)
    cli, _ = run_json("generate", other, "--as-of", SAMPLE_DATE.isoformat(), "--dry-run")
    result = run_button(remote_book(sample), FakeExcel(), sample, SAMPLE_DATE)
    assert [(o.letter.client.name, list(o.letter.numbers), float(o.letter.total))
            for o in result.letters] == \
        [(x["client"], x["invoices"], x["total"]) for x in cli["letters"]]


def _big_book(path, n):
    """n invoices, of which only 3 clients' are second_due: the letters stay few, the rows many."""
    rows = [due_row(f"F{i:05d}", f"Client {i % 3}") if i < 6 else
            [f"F{i:05d}", f"Client {i}", date(2027, 1, 1), 100, None] for i in range(n)]
    return make_book(path, rows)


def test_reads_and_writes_do_not_grow_with_the_number_of_rows(tmp_path):
    counts = []
    for n in (20, 2000):
        path = _big_book(tmp_path / f"b{n}.xlsx", n)
        book = remote_book(path)
        result = run_button(book, FakeExcel(), path, date(2026, 12, 1))
        assert result.error == "" and len(result.letters) == 3
        counts.append((result.reads, len(book.json()["actions"])))
    assert counts[0] == counts[1]
    reads, actions = counts[0]
    assert reads == 3  # Créances, the column right of it, Paramètres (no Journal yet)
    assert actions == 4  # a new Journal sheet, its headers, its rows, the date column


def test_missing_journal_sheet_is_added_with_its_headers(tmp_path):
    path = make_book(tmp_path / "b.xlsx", [due_row("F1")])
    book = remote_book(path)
    run_button(book, FakeExcel(), path, date(2026, 12, 1))
    funcs = [(a["func"], a["args"]) for a in book.json()["actions"]]
    assert ("addSheet", [2, "Journal"]) in funcs
    (h_row, h_col, header), (row, col, block) = writes(book, "Journal")
    assert (h_row, h_col) == (1, 1) and header[0][:3] == ["Date et heure", "Date de référence",
                                                          "Code client"]
    assert (row, col) == (2, 1) and block[0][4] == "F1"


def test_missing_date_column_is_added_beside_the_table_and_the_table_grows(tmp_path):
    from openpyxl.worksheet.table import Table
    path = make_book(tmp_path / "b.xlsx", [due_row("F1"), due_row("F2", "Client B")])
    wb = openpyxl.load_workbook(path)
    wb["Créances"].add_table(Table(displayName="T", ref="A1:E3"))
    wb.save(path)
    book = remote_book(path)
    run_button(book, FakeExcel(), path, date(2026, 12, 1))
    (row, col, values), = writes(book, "Créances")
    assert (row, col) == (1, 6) and values[0] == ["Date 2e relance"]
    assert values[1][0].startswith("2026-12-01") and values[2][0].startswith("2026-12-01")
    resize = [a for a in book.json()["actions"] if a["func"] == "resizeTable"]
    assert resize and resize[0]["args"] == [0, "$A$1:$F$3"]


def test_blank_rows_in_the_middle_do_not_hide_the_rows_after_them(tmp_path):
    path = make_book(tmp_path / "b.xlsx", [due_row("F1"), [None] * 5, [None] * 5, due_row("F2", "B")])
    book = remote_book(path)
    result = run_button(book, FakeExcel(), path, date(2026, 12, 1))
    assert sorted(n for o in result.letters for n in o.letter.numbers) == ["F1", "F2"]


def test_declining_the_confirmation_writes_nothing(sample):
    book, ui = remote_book(sample), FakeExcel(answer=False)
    result = run_button(book, ui, sample, SAMPLE_DATE)
    assert result.cancelled and book.json()["actions"] == []
    assert not (sample.parent / "Relances").exists()
    assert ui.messages[-1][0].startswith("Annulé")


def test_nothing_to_do_is_a_message_not_an_error(sample):
    book = remote_book(sample)
    run_button(book, FakeExcel(), sample, SAMPLE_DATE)
    # the run recorded its dates in the file (as Excel would have saved them)
    wb = openpyxl.load_workbook(sample)
    ws = wb["Créances"]
    col = [c.value for c in ws[3]].index("Date 2e relance") + 1
    for r in range(4, ws.max_row + 1):
        if ws.cell(r, 1).value in CLAIMED:
            ws.cell(r, col).value = SAMPLE_DATE
    wb.save(sample)
    again, ui = remote_book(sample), FakeExcel()
    result = run_button(again, ui, sample, SAMPLE_DATE)
    assert result.error == "" and result.letters == [] and again.json()["actions"] == []
    assert ui.messages[-1][0].startswith("Rien à faire") and not ui.messages[-1][1]


@pytest.mark.parametrize("path, expected", [
    (None, "Enregistrez d'abord le classeur"),
    ("Classeur1", "Enregistrez d'abord le classeur"),
    ("https://contoso.sharepoint.com/sites/compta/Documents/relances.xlsx", "SharePoint"),
])
def test_unsaved_or_web_workbooks_get_a_french_message(sample, path, expected):
    book, ui = remote_book(sample), FakeExcel()
    run_button(book, ui, path, SAMPLE_DATE)
    text, critical = ui.messages[-1]
    assert expected in text and critical and "Traceback" not in text
    assert book.json()["actions"] == []


def test_missing_column_is_a_message_box_naming_it(tmp_path):
    path = make_book(tmp_path / "b.xlsx", [["F1", "A", 100, date(2026, 10, 1)]],
                     headers=["N° facture", "Client", "Montant TTC", "Date 1ère relance"])
    ui = FakeExcel()
    result = run_button(remote_book(path), ui, path, date(2026, 12, 1))
    assert "« Échéance »" in result.error and ui.messages[-1] == (result.error, True)


def test_missing_settings_are_a_message_box(tmp_path):
    path = make_book(tmp_path / "b.xlsx", [due_row("F1")], settings=[("Raison sociale", "X")])
    ui = FakeExcel()
    run_button(remote_book(path), ui, path, date(2026, 12, 1))
    assert "Code postal" in ui.messages[-1][0] and ui.messages[-1][1]


def test_an_unexpected_error_is_an_apology_with_the_log_file(sample, monkeypatch, tmp_path):
    monkeypatch.setattr(excel, "LOG_FILE", tmp_path / "relance.log")

    def boom(*args, **kwargs):
        raise ZeroDivisionError("bug")
    monkeypatch.setattr(excel, "prepare_batch", boom)
    ui = FakeExcel()
    run_button(remote_book(sample), ui, sample, SAMPLE_DATE)
    text, critical = ui.messages[-1]
    assert critical and "Désolé" in text and str(tmp_path / "relance.log") in text
    assert "ZeroDivisionError" not in text
    assert "ZeroDivisionError" in (tmp_path / "relance.log").read_text()
    assert ui.statuses[-1] is None


def test_macos_writes_stage_labels_as_values_into_the_stage_column(sample):
    book = remote_book(sample)
    run_button(book, FakeExcel(), sample, SAMPLE_DATE, macos=True)
    header = sheet_rows(sample, "Créances")[2]
    col = header.index("Étape") + 1
    stage_writes = [w for w in writes(book, "Créances") if w[1] == col]
    (row, _, values), = stage_writes
    labels = [v[0] for v in values]
    # the stages once the run is recorded: the 17 invoices just reminded are now "sent"
    assert row == 4 and "2e relance à envoyer" not in labels and "Payée" in labels
    assert labels.count("2e relance envoyée") == 17 + 2


def test_macos_leaves_a_stage_column_holding_formulas_alone(sample):
    book = remote_book(sample)
    run_button(book, FakeExcel(formulas=True), sample, SAMPLE_DATE, macos=True)
    header = sheet_rows(sample, "Créances")[2]
    col = header.index("Étape") + 1
    assert not [w for w in writes(book, "Créances") if w[1] == col]


class _App:
    """The part of xlwings' App that DesktopExcel uses, with xlwings' signatures."""

    def __init__(self, answer="yes"):
        self.status_bar, self.alerts, self.answer = None, [], answer

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        assert buttons in ("ok", "ok_cancel", "yes_no", "yes_no_cancel")
        assert mode in (None, "info", "critical")
        self.alerts.append((prompt, title, buttons, mode))
        return self.answer if buttons == "yes_no" else "ok"


class _Range:
    def __init__(self, formula, number_format="General"):
        self.formula, self.number_format = formula, number_format


def test_desktop_excel_uses_xlwings_api_as_documented():
    app = _App(answer="no")
    book = type("Book", (), {"app": app, "saved": 0, "save": lambda self: None})()
    ui = excel.DesktopExcel(book)
    ui.status("Relance : lettre 1/2")
    assert app.status_bar == "Relance : lettre 1/2"
    ui.status(None)
    assert app.status_bar is False  # xlwings: False gives the status bar back to Excel
    assert ui.confirm("continuer ?") is False and app.alerts[-1][2:] == ("yes_no", "info")
    ui.message("grave", critical=True)
    assert app.alerts[-1] == ("grave", "Relance", "ok", "critical")
    assert ui.has_formulas(_Range("=A1")) and not ui.has_formulas(_Range("2026-12-01"))
    assert ui.has_formulas(_Range((("", ), ("=B2*2", ))))
    assert ui.number_format(_Range("", "000000")) == "000000"
    assert ui.number_format(_Range("", None)) is None
    assert ui.write_problem([]) == ""  # no COM here: the check stays silent


def test_the_product_needs_no_xlwings_key(sample, tmp_path):
    """Only the tests use xlwings' non-commercial key (for the remote engine)."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "XLWINGS_LICENSE_KEY"}
    code = ("import sys, relance, relance.formulas, relance.excel; from relance.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", code, "generate", str(sample), "--as-of",
                           SAMPLE_DATE.isoformat(), "--channels", "courrier"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "10 lettre(s)" in proc.stdout


def test_a_date_column_that_cannot_join_the_table_stops_before_any_letter(tmp_path):
    from openpyxl.worksheet.table import Table
    path = make_book(tmp_path / "b.xlsx", [due_row("F1")])
    wb = openpyxl.load_workbook(path)
    ws = wb["Créances"]
    ws.add_table(Table(displayName="T", ref="A1:E2"))
    ws["F1"], ws["F2"] = "Notes", "à rappeler"
    wb.save(path)
    book, ui = remote_book(path), FakeExcel()
    result = run_button(book, ui, path, date(2026, 12, 1))
    assert "ajoutez une colonne « Date 2e relance » au tableau « T »" in result.error
    assert book.json()["actions"] == [] and not (tmp_path / "Relances").exists()


def test_a_journal_missing_some_columns_gets_them_added(tmp_path):
    path = make_book(tmp_path / "b.xlsx", [due_row("F1")])
    wb = openpyxl.load_workbook(path)
    js = wb.create_sheet("Journal")
    js.append(["Date et heure", "Client", "Factures"])
    js.append([datetime(2026, 11, 1, 9, 0), "Autre", "X9"])
    wb.save(path)
    book = remote_book(path)
    result = run_button(book, FakeExcel(), path, date(2026, 12, 1))
    assert result.error == ""
    (h_row, h_col, header), (row, col, block) = writes(book, "Journal")
    assert (h_row, h_col, row, col) == (1, 4, 3, 1)  # new headers only, right of the old ones
    assert header[0][0] == "Date de référence" and len(header[0]) == 7
    assert block[0][1] == "Client A" and block[0][2] == "F1"


def test_texts_that_excel_would_turn_into_numbers_are_written_as_texts(tmp_path):
    path = make_book(tmp_path / "b.xlsx", [due_row("000123")])
    book = remote_book(path)
    run_button(book, FakeExcel(), path, date(2026, 12, 1))
    (_, _, header), (_, _, block) = writes(book, "Journal")
    assert block[0][header[0].index("Factures")] == "'000123"


def test_formulas_in_the_date_column_stop_before_any_letter(sample):
    book, ui = remote_book(sample), FakeExcel(formulas=True)
    result = run_button(book, ui, sample, SAMPLE_DATE)
    assert "contient des formules" in result.error and book.json()["actions"] == []


def test_a_protected_or_read_only_workbook_stops_before_any_letter(sample):
    class Locked(FakeExcel):
        def write_problem(self, sheets):
            return "la feuille « Créances » est protégée"
    book, ui = remote_book(sample), Locked()
    result = run_button(book, ui, sample, SAMPLE_DATE)
    assert "protégée" in result.error and book.json()["actions"] == []
    assert not (sample.parent / "Relances").exists()


def test_a_second_click_while_a_run_is_going_refuses(sample):
    from relance.locking import run_lock
    book, ui = remote_book(sample), FakeExcel()
    with run_lock(sample):
        result = run_button(book, ui, sample, SAMPLE_DATE)
    assert "déjà en cours" in result.error and book.json()["actions"] == []


def test_a_onedrive_workbook_without_local_copy_gets_the_french_message(sample):
    import xlwings as xw

    class OneDriveBook:
        @property
        def fullname(self):
            raise xw.XlwingsError("Couldn't find your local OneDrive file, see: xlwings.org/error")
    ui = FakeExcel()
    run_button(OneDriveBook(), ui, as_of=SAMPLE_DATE)
    assert "SharePoint ou OneDrive" in ui.messages[-1][0] and ui.messages[-1][1]


def test_a_workbook_excel_cannot_save_is_said_in_the_summary(sample):
    class NoSave(FakeExcel):
        def save(self):
            raise RuntimeError("this workbook holds VBA")
    ui = NoSave()
    result = run_button(remote_book(sample), ui, sample, SAMPLE_DATE)
    assert result.error == "" and "n'a pas pu être enregistré" in ui.messages[-1][0]


def test_macos_writes_nothing_when_the_user_declines(sample):
    book = remote_book(sample)
    run_button(book, FakeExcel(answer=False), sample, SAMPLE_DATE, macos=True)
    assert book.json()["actions"] == []


def test_rows_typed_under_the_table_are_pointed_out_not_read(sample):
    """Invoices typed under the Excel table, which did not grow to take them: the summary
    says so, as the command line does, and they get no letter."""
    wb = openpyxl.load_workbook(sample)
    ws = wb["Créances"]
    last = openpyxl.utils.cell.range_boundaries(ws.tables["Creances"].ref)[3]
    for row, number in ((last + 2, "FA-HORS-1"), (last + 3, "FA-HORS-2")):
        ws.cell(row, 1, number)
        ws.cell(row, 2, "Client hors tableau")
        ws.cell(row, 15, 120.0)  # Montant TTC
    wb.save(sample)
    excel_ui = FakeExcel()
    result = run_button(remote_book(sample), excel_ui, sample, SAMPLE_DATE)
    assert result.error == "" and {n for o in result.letters for n in o.letter.numbers} == CLAIMED
    said = " ".join(map(str, excel_ui.messages + excel_ui.questions))
    assert (f"feuille « Créances », ligne {last + 2} : 2 factures (jusqu'à la ligne "
            f"{last + 3}) sous le tableau Excel « Creances », qui s'arrête à la ligne {last}") \
        in said, said
