"""Output file names valid everywhere; the progress bar; a workbook the writer must not touch."""
from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
import zipfile

import openpyxl
import pytest

from conftest import run_cli
from test_bad_input import due_row, make_book

from relance.documents.filenames import MAX_STEM, letter_stems, safe_stem

WINDOWS_FORBIDDEN = set('<>:"/\\|?*') | {chr(i) for i in range(32)}
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
            *(f"LPT{i}" for i in range(1, 10))}


@pytest.mark.parametrize("name", [
    "Dupont & Fils <Nord>", 'a/b\\c:d*e?f"g|h', "CON", "nul", "Café.", "  espaces  ",
    "x" * 400, "Société\tà\nlignes", "COM1.txt", "...", "Émile d'Aubigné",
])
def test_safe_stem_is_valid_on_windows_and_macos(name):
    stem = safe_stem(name)
    assert stem and not (set(stem) & WINDOWS_FORBIDDEN)
    assert stem.split(".")[0].upper() not in RESERVED
    assert not stem.endswith((".", " ")) and len(stem) <= MAX_STEM
    assert safe_stem(name) == stem  # stable from run to run


def test_letter_stems_are_unique_ignoring_case_and_keep_accents():
    stems = letter_stems([("Dupont", ""), ("DUPONT", ""), ("Dupont", ""), ("Hélène", "C1")])
    assert len({s.casefold() for s in stems}) == 4
    assert stems[3] == "2e relance - C1 - Hélène"


def test_reserved_and_forbidden_client_names_give_files_that_exist(tmp_path):
    rows = [due_row("F1", "CON"), due_row("F2", 'A/B:C*"D"?<E>|'), due_row("F3", "y" * 300)]
    book = make_book(tmp_path / "b.xlsx", rows)
    proc = run_cli("generate", book, "--as-of", "2026-12-01", "--json", "--channels", "courrier")
    assert proc.returncode == 0, proc.stderr
    files = [x["files"]["courrier"] for x in json.loads(proc.stdout)["letters"]]
    assert len(files) == 3 and all(os.path.exists(f) for f in files)
    assert all(len(os.path.basename(f)) <= MAX_STEM + 5 for f in files)


def test_progress_bar_on_a_terminal_only(tmp_path):
    rows = [due_row(f"F{i}", f"Client {i:02d}") for i in range(12)]
    book = make_book(tmp_path / "b.xlsx", rows)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "relance.cli", "generate", str(book), "--as-of",
                             "2026-12-01", "--channels", "courrier", "--out", str(tmp_path / "o")],
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    reader = threading.Thread(target=_drain, args=(master, chunks))
    reader.start()
    assert proc.wait(timeout=120) == 0
    reader.join(timeout=10)
    os.close(master)
    seen = b"".join(chunks)
    assert re.search(rb"12/12", seen) and b"lettre" in seen  # tqdm's counter and unit
    # without a terminal: no bar, nothing on stderr but the notes
    quiet = run_cli("generate", make_book(tmp_path / "c.xlsx", rows), "--as-of", "2026-12-01",
                    "--channels", "courrier", "--out", tmp_path / "p")
    assert "12/12" not in quiet.stderr


def _drain(fd, chunks):
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal closed
            return
        if not chunk:
            return
        chunks.append(chunk)


def _strip_cell_refs(path):
    """Rewrite the sheet XML with cells that carry no `r` address (valid, but unusual)."""
    src = zipfile.ZipFile(path)
    parts = {n: src.read(n) for n in src.namelist()}
    src.close()
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = re.sub(r'<c r="[A-Z]+\d+"', "<c", xml).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)


def test_workbook_the_writer_cannot_edit_is_left_untouched_with_dates_to_record_by_hand(tmp_path):
    book = make_book(tmp_path / "b.xlsx", [due_row("F1"), due_row("F2", "Client B")])
    _strip_cell_refs(book)
    assert openpyxl.load_workbook(book)["Créances"]["A2"].value == "F1"  # still a valid file
    before = book.read_bytes()
    proc = run_cli("generate", book, "--as-of", "2026-12-01", "--channels", "courrier")
    assert proc.returncode == 0, proc.stderr
    assert book.read_bytes() == before
    assert "à reporter à la main" in proc.stdout and "F1 (ligne 2)" in proc.stdout
    assert "F2 (ligne 3)" in proc.stdout
    journal = tmp_path / "Relances" / "journal.csv"
    assert "F1" in journal.read_text(encoding="utf-8-sig")
    again = run_cli("generate", book, "--as-of", "2026-12-01", "--channels", "courrier")
    assert again.returncode == 0 and "Rien à faire" in again.stdout
