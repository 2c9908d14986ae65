"""A large run renders its letters, and writes its e-mail drafts, on several processes: the
documents are those one process writes (outputs.render_letters)."""
from __future__ import annotations

import concurrent.futures
import email
import email.policy
import shutil
import zipfile
from datetime import datetime

import pytest

from conftest import SAMPLE, SAMPLE_DATE
from relance import outputs, run


def generate(folder, monkeypatch, parallel: bool, channels=None, book=None):
    """The run of `book` (a copy of the sample in `folder` by default), on several processes
    or on one; (its result, tasks sent to other processes)."""
    if book is None:
        folder.mkdir()
        book = folder / "relances.xlsx"
        shutil.copy2(SAMPLE, book)
    monkeypatch.setattr(outputs, "PARALLEL_FROM", 2 if parallel else 10 ** 9)
    monkeypatch.setattr(outputs, "usable_cores", lambda: 2)
    tasks = []
    real_submit = concurrent.futures.ProcessPoolExecutor.submit

    def submit(self, fn, *args):
        tasks.append(fn.__name__)
        return real_submit(self, fn, *args)

    monkeypatch.setattr(concurrent.futures.ProcessPoolExecutor, "submit", submit)
    options = run.Options(as_of=SAMPLE_DATE, now=datetime(2026, 12, 1, 9, 30),
                          **({"channels": channels} if channels else {}))
    return run.generate(book, options), tasks


def body_of(path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("word/document.xml").decode("utf-8")


def draft_of(path) -> tuple:
    """What a reader sees of a draft: its headers but date and id, its bodies, attachment."""
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    (attached,) = list(msg.iter_attachments())
    return (msg["From"], msg["To"], msg["Subject"], msg["X-Unsent"],
            msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content(),
            attached.get_filename(), attached.get_content())


def test_letters_and_drafts_from_several_processes_are_those_of_one(tmp_path, monkeypatch):
    one, tasks = generate(tmp_path / "one", monkeypatch, parallel=False)
    assert tasks == []
    many, tasks = generate(tmp_path / "many", monkeypatch, parallel=True)
    assert tasks and set(tasks) == {"_worker_render"}
    assert len(many.outputs) == len(one.outputs) == 10
    drafts = 0
    for a, b in zip(one.outputs, many.outputs):
        assert a.files.keys() == b.files.keys() and a.stem == b.stem
        assert body_of(a.files["courrier"]) == body_of(b.files["courrier"])
        if "email" in a.files:
            drafts += 1
            assert draft_of(a.files["email"]) == draft_of(b.files["email"])
            attached = draft_of(b.files["email"])[-1]
            assert attached == b.files["courrier"].read_bytes()  # the letter itself
    assert drafts == 9
    journal = [e.status for e in many.entries if e.channel == "e-mail"]
    assert journal == ["brouillon"] * 9


def test_drafts_with_a_pdf_wait_for_it(tmp_path, monkeypatch):
    """A draft attaches the letter's PDF, made once every letter is rendered: such drafts
    are written afterwards, here, with their PDF."""
    from relance.batch import Channels
    from relance.documents.pdf import find_converter
    if find_converter() is None:
        pytest.skip("no PDF converter (LibreOffice) here")
    many, tasks = generate(tmp_path / "pdf", monkeypatch, parallel=True,
                           channels=Channels.of(["courrier", "email"], pdf=True))
    assert tasks
    for out in many.outputs:
        if "email" in out.files:
            name, content = draft_of(out.files["email"])[-2:]
            assert name.endswith(".pdf") and content == out.files["pdf"].read_bytes()


def test_a_large_run_that_sends_keeps_its_drafts_to_send_them(tmp_path, monkeypatch):
    """Drafts to send are written here, where the sending is: a run on several processes
    sends every one and records them as sent."""
    import openpyxl
    from aiosmtpd.controller import Controller
    from test_sending import Recorder, free_port
    from relance.batch import Channels
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        folder = tmp_path / "send"
        folder.mkdir()
        book = folder / "relances.xlsx"
        shutil.copy2(SAMPLE, book)
        wb = openpyxl.load_workbook(book)
        for row in (("Serveur SMTP", "127.0.0.1"), ("Sécurité SMTP", "aucune"),
                    ("Port SMTP", port)):
            wb["Paramètres"].append(row)
        wb.save(book)
        result, tasks = generate(folder, monkeypatch, parallel=True,
                                 channels=Channels.of(["courrier", "email"], send_email=True),
                                 book=book)
    finally:
        controller.stop()
    assert tasks and len(recorder.received) == 9
    assert [e.status for e in result.entries if e.channel == "e-mail"] == ["envoyé"] * 9
