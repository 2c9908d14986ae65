"""A run is all or nothing, and can always be resumed: a rendering that fails midway, a killed
process, a full disk, an output folder that cannot be written."""
from __future__ import annotations

import errno
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from conftest import SAMPLE, SAMPLE_DATE, run_cli, run_json

from relance import run as run_module
from relance.batch import Channels
from relance.documents import docx_letters, fast_docx
from relance.model import RelanceError

CLAIMED = 17


def recorded_count(book: Path) -> int:
    """How many invoices carry the sample date in Date 2e relance."""
    ws = openpyxl.load_workbook(book)["Créances"]
    header = [c.value for c in ws[3]]
    col = header.index("Date 2e relance") + 1
    return sum(1 for r in range(4, ws.max_row + 1)
               if (v := ws.cell(r, col).value) is not None and v.date() == SAMPLE_DATE)


def letter_files(folder: Path) -> list:
    return sorted(p.name for p in folder.glob("*.docx") if "toutes les lettres" not in p.name)


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "relances.xlsx"
    shutil.copy2(SAMPLE, path)
    return path


def test_rendering_that_fails_after_a_few_letters_leaves_nothing_then_the_next_run_does_all(
        book, monkeypatch):
    before = book.read_bytes()
    real_render = docx_letters.LetterRenderer.render
    calls = []

    def failing(self, context, dest, owner=""):
        calls.append(dest)
        if len(calls) > 3:
            raise RelanceError("panne simulée au 4e courrier")
        return real_render(self, context, dest, owner)
    monkeypatch.setattr(docx_letters.LetterRenderer, "render", failing)
    with pytest.raises(RelanceError, match="panne simulée"):
        run_module.generate(book, run_module.Options(as_of=SAMPLE_DATE,
                                                     channels=Channels.of(["courrier"])))
    assert book.read_bytes() == before
    assert not (book.parent / "Relances").exists()  # no letter, no staging, no folder
    monkeypatch.undo()
    result, _ = run_json("generate", book, "--as-of", SAMPLE_DATE.isoformat(), "--channels",
                         "courrier")
    assert len(result["letters"]) == 10 and recorded_count(book) == CLAIMED
    assert len(letter_files(book.parent / "Relances" / SAMPLE_DATE.isoformat())) == 10


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.8, 1.5])
def test_a_killed_run_leaves_the_workbook_whole_and_the_next_run_writes_exactly_the_rest(
        book, delay):
    original = book.read_bytes()
    folder = book.parent / "Relances" / SAMPLE_DATE.isoformat()
    proc = subprocess.Popen([sys.executable, "-m", "relance.cli", "generate", str(book),
                             "--as-of", SAMPLE_DATE.isoformat(), "--channels", "courrier"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if folder.exists() and any(folder.glob(".relance-en-cours-*")):
            break
        time.sleep(0.005)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    # the workbook: either untouched, or fully updated — never in between
    if book.read_bytes() == original:
        assert recorded_count(book) == 0
    else:
        assert recorded_count(book) == CLAIMED
    # the next run completes the work: every letter once, no "(2)" copies
    again = run_cli("generate", book, "--as-of", SAMPLE_DATE.isoformat(), "--channels",
                    "courrier")
    assert again.returncode == 0, again.stderr
    assert recorded_count(book) == CLAIMED
    names = letter_files(folder)
    assert len(names) == 10 and not [n for n in names if "(2)" in n], names
    assert not list(folder.glob(".relance-en-cours-*"))  # the killed run's staging is gone
    assert not list(book.parent.glob(".~relance-*"))  # and its temporary workbook


def test_a_full_disk_is_a_clear_message_and_the_workbook_is_unchanged(book, monkeypatch):
    before = book.read_bytes()

    def no_space(self, path, *args):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(docx_letters.DocxTemplate, "save", no_space)  # the plain path
    monkeypatch.setattr(fast_docx.RawZip, "write", no_space)  # the compiled path
    with pytest.raises(RelanceError) as err:
        run_module.generate(book, run_module.Options(as_of=SAMPLE_DATE,
                                                     channels=Channels.of(["courrier"])))
    assert "disque plein" in err.value.message
    assert book.read_bytes() == before and not (book.parent / "Relances").exists()


def test_an_output_folder_that_cannot_be_written_is_a_clear_message(book, tmp_path):
    blocker = tmp_path / "pas-un-dossier"
    blocker.write_text("un fichier, pas un dossier")
    before = book.read_bytes()
    proc = run_cli("generate", book, "--as-of", SAMPLE_DATE.isoformat(), "--out",
                   blocker / "lettres")
    assert proc.returncode == 1
    assert "Impossible de créer le dossier de sortie" in proc.stderr
    assert "Traceback" not in proc.stderr and book.read_bytes() == before


@pytest.mark.parametrize("point", ["after-first-letter", "after-moves", "after-backup",
                                   "before-workbook-swap"])
def test_a_run_killed_at_each_step_is_resumed_without_any_duplicate(book, point):
    """The process dies at a named step (as a kill would); the next run leaves the folder with
    each document once — letters, e-mails, the print file, the register, the SMS list — and
    the Journal with each document once."""
    original = book.read_bytes()
    folder = book.parent / "Relances" / SAMPLE_DATE.isoformat()
    killed = run_cli("generate", book, "--as-of", SAMPLE_DATE.isoformat(),
                     env={"RELANCE_FAULT": point})
    assert killed.returncode == 137, killed.stderr
    assert book.read_bytes() == original  # every step here is before the workbook's swap
    again = run_cli("generate", book, "--as-of", SAMPLE_DATE.isoformat())
    assert again.returncode == 0, again.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if "(2)" in n], names
    assert len([n for n in names if n.endswith(".docx") and "toutes les lettres" not in n]) == 10
    assert len([n for n in names if n.endswith(".eml")]) == 9
    assert len([n for n in names if "toutes les lettres" in n]) == 1
    assert names.count("bordereau.xlsx") == 1 and names.count("sms.csv") == 1
    assert not [n for n in names if n.startswith(".")], names  # no staging, no partial backup
    assert not list(book.parent.glob(".~relance-*"))
    assert recorded_count(book) == CLAIMED
    journal = list(openpyxl.load_workbook(book)["Journal"].iter_rows(values_only=True))
    new = [r for r in journal[1:] if r[1] is not None and r[1].date() == SAMPLE_DATE]
    assert len(new) == 10 + 9 + 4  # one row per document, none twice
    assert len({(r[3], r[6]) for r in new}) == len(new)


def test_a_large_run_killed_while_its_processes_render_is_resumed_once(tmp_path):
    """160 letters are rendered by several processes; the run dies once the first batch is
    back: nothing is recorded, and the next run writes each letter once."""
    from test_bad_input import due_row, make_book
    book = make_book(tmp_path / "grand.xlsx", [due_row(f"F{k:03d}", f"Client {k:03d}")
                                               for k in range(160)])
    original = book.read_bytes()
    killed = run_cli("generate", book, "--as-of", "2026-12-01",
                     env={"RELANCE_FAULT": "after-first-letter"})
    assert killed.returncode == 137, killed.stderr
    assert book.read_bytes() == original
    time.sleep(0.5)  # the rendering processes see their parent gone and end
    again = run_cli("generate", book, "--as-of", "2026-12-01")
    assert again.returncode == 0, again.stderr
    names = sorted(p.name for p in (tmp_path / "Relances" / "2026-12-01").iterdir())
    letters = [n for n in names if n.endswith(".docx") and "toutes les lettres" not in n]
    assert len(letters) == 160 and not [n for n in names if "(2)" in n or n.startswith(".")]
    journal = list(openpyxl.load_workbook(book)["Journal"].iter_rows(values_only=True))
    assert len([r for r in journal[1:] if r[6] == "courrier"]) == 160
