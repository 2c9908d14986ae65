"""The ribbon button's work, driven through a real xlwings.Book (remote engine) on Linux."""
from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from conftest import SAMPLE, SAMPLE_DATE
from remote_book import FakeExcel, remote_book, writes
from test_bad_input import HEADERS, SETTINGS, due_row, make_book

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
    assert (j_row, j_col) == (len(journal) + 1, 1) and len(block) == 10
    assert {r[4] for r in block} >= {"FA-2026-0110, FA-2026-0111, FA-2026-0112"}
    assert {r[6] for r in block} == {"courrier"} and {r[7] for r in block} == {"généré"}
    assert {r[9] for r in block} == {"2e relance"}
    assert all(r[1].startswith("2026-12-01") for r in block)

    assert ui.saves == 1
    assert ui.questions == ["10 lettre(s) (17 facture(s)), total 46\u202f648,30\u00a0€ — continuer ?"]
    summary, critical = ui.messages[-1]
    assert not critical and "10 lettre(s)" in summary and "FA-2026-0139" in summary
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
    assert reads == 2  # Créances, Paramètres (no Journal yet)
    assert actions == 3  # the date column, a new Journal sheet, its rows


def test_missing_journal_sheet_is_added_with_its_headers(tmp_path):
    path = make_book(tmp_path / "b.xlsx", [due_row("F1")])
    book = remote_book(path)
    run_button(book, FakeExcel(), path, date(2026, 12, 1))
    funcs = [(a["func"], a["args"]) for a in book.json()["actions"]]
    assert ("addSheet", [2, "Journal"]) in funcs
    (row, col, block), = writes(book, "Journal")
    assert (row, col) == (1, 1) and block[0][:3] == ["Date et heure", "Date de référence", "Code client"]
    assert block[1][4] == "F1"


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
    result = run_button(book, ui, path, SAMPLE_DATE)
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
    assert row == 4 and labels.count("2e relance à envoyer") == 17 and "Payée" in labels


def test_macos_leaves_a_stage_column_holding_formulas_alone(sample):
    book = remote_book(sample)
    run_button(book, FakeExcel(formulas=True), sample, SAMPLE_DATE, macos=True)
    header = sheet_rows(sample, "Créances")[2]
    col = header.index("Étape") + 1
    assert not [w for w in writes(book, "Créances") if w[1] == col]


def test_desktop_excel_is_a_handful_of_lines():
    import inspect
    assert len(inspect.getsource(excel.DesktopExcel).splitlines()) <= 25


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
