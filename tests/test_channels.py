"""Every channel of one run on the sample workbook, through the real CLI: the e-mail drafts,
the SMS list, the print file, the PDFs, the register, sending, and figures that agree."""
from __future__ import annotations

import csv
import email
import email.policy
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from conftest import SAMPLE, SAMPLE_DATE, run_cli, run_json
from docx_text import docx_text
from test_sending import Recorder, free_port

from relance.documents.pdf import find_converter

SMTP_ROWS = [("Serveur SMTP", "127.0.0.1"), ("Sécurité SMTP", "aucune")]


def norm(text: str) -> str:
    return re.sub(r"[ \u00a0\u202f]+", " ", text)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("channels")
    book = folder / "relances.xlsx"
    shutil.copy2(SAMPLE, book)
    result, proc = run_json("generate", book, "--as-of", SAMPLE_DATE.isoformat())
    return {"book": book, "result": result, "proc": proc,
            "letters": {(x["client_code"] or x["client"]): x for x in result["letters"]}}


def test_all_three_channels_by_default(run):
    letters = run["letters"]
    assert all({"courrier"} <= set(x["files"]) for x in letters.values())
    assert sum("email" in x["files"] for x in letters.values()) == 9
    assert sum("sms" in x["files"] for x in letters.values()) == 4
    assert "CL005" in letters and "email" not in letters["CL005"]["files"]  # no address
    unreached = " ".join(run["result"]["unreached"])
    assert "M. Julien Marchand : pas d'adresse e-mail" in unreached
    assert "numéro fixe « 03 20 55 41 17 »" in unreached  # a landline: listed, no SMS
    for path in [p for x in letters.values() for p in x["files"].values()]:
        assert Path(path).is_absolute() and Path(path).exists()


def test_email_draft_parses_back_with_its_headers_body_and_attachment(run):
    letter = run["letters"]["CL001"]
    raw = Path(letter["files"]["email"]).read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["X-Unsent"] == "1"
    assert msg["To"].addresses[0].addr_spec == "compta@dupont-fils-nord.example"
    assert msg["To"].addresses[0].display_name == "Dupont & Fils <Nord>"
    assert "FA-2026-0101" in msg["Subject"] and "4 675,60 €" in norm(msg["Subject"])
    assert msg["From"].addresses[0].addr_spec.endswith("menuiserie-garnier.example")
    text = norm(msg.get_body(("plain",)).get_content())
    assert "Dupont & Fils <Nord>" in text and "4 675,60 €" in text and "9 décembre 2026" in text
    html = msg.get_body(("html",)).get_content()
    assert "Dupont &amp; Fils &lt;Nord&gt;" in html
    (attachment,) = list(msg.iter_attachments())
    docx_path = Path(letter["files"]["courrier"])
    assert attachment.get_filename() == docx_path.name
    assert len(attachment.get_content()) == docx_path.stat().st_size


def test_sms_list_reads_back(run):
    path = Path(run["result"]["files"]["sms"])
    assert path.name == "sms.csv"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert {r["Code client"] for r in rows} == {"CL003", "CL004", "CL005", "CL017"}
    for r in rows:
        assert re.fullmatch(r"\+33[67]\d{8}", r["Numéro"])
        assert r["Encodage"] == "GSM-7" and r["Segments"] == "1" and len(r["Message"]) <= 160


def test_figures_agree_across_letter_email_and_sms(run):
    with open(run["result"]["files"]["sms"], encoding="utf-8-sig", newline="") as fh:
        sms = {r["Code client"]: r["Message"] for r in csv.DictReader(fh, delimiter=";")}
    for code in ("CL003", "CL004", "CL017"):
        letter = run["letters"][code]
        total = f"{letter['total']:,.2f}".replace(",", " ").replace(".", ",") + " €"
        letter_text = norm(docx_text(letter["files"]["courrier"]))
        msg = email.message_from_bytes(Path(letter["files"]["email"]).read_bytes(),
                                       policy=email.policy.default)
        mail_text = norm(msg.get_body(("plain",)).get_content())
        for text in (letter_text, mail_text, norm(sms[code])):
            assert total in text, code
            assert "9 décembre 2026" in text, code


def test_the_print_file_has_every_letter_in_client_order(run):
    combined = docx_text(run["result"]["files"]["combined"])
    names = [x["client"] for x in run["result"]["letters"]]
    positions = [combined.index(name) for name in names]
    assert positions == sorted(positions)
    assert combined.count("Objet : ") + combined.count("Re: ") == len(names)  # fr + en letters


def test_the_register_lists_every_letter_with_an_empty_registered_mail_column(run):
    ws = openpyxl.load_workbook(run["result"]["files"]["register"]).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header_i = next(i for i, r in enumerate(rows) if "N° de recommandé" in r)
    header, body = rows[header_i], [r for r in rows[header_i + 1:] if any(r)]
    assert len(body) == 10
    col = header.index("N° de recommandé")
    assert all(r[col] in (None, "") for r in body)
    assert any("Dupont & Fils <Nord>" in str(c) for r in body for c in r)


def test_journal_has_one_row_per_document_with_its_status(run):
    rows = list(openpyxl.load_workbook(run["book"])["Journal"].iter_rows(values_only=True))
    new = [r for r in rows[1:] if r[1] is not None and r[1].date() == SAMPLE_DATE]
    channels = sorted((r[6], r[7]) for r in new)
    assert channels.count(("courrier", "généré")) == 10
    assert channels.count(("e-mail", "brouillon")) == 9
    assert channels.count(("sms", "généré")) == 4


def test_channels_option_limits_the_documents(sample_copy):
    result, _ = run_json("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                         "--channels", "email", "--dry-run")
    assert all(set(x["files"]) <= {"email"} for x in result["letters"])
    assert "sms" not in result["files"] and "combined" not in result["files"]


@pytest.mark.skipif(find_converter() is None, reason="no PDF converter (LibreOffice) here")
def test_pdf_option_makes_a_pdf_per_letter_and_of_the_print_file(sample_copy):
    from pypdf import PdfReader
    result, _ = run_json("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(), "--pdf",
                         "--channels", "courrier,email")
    letter = next(x for x in result["letters"] if x["client_code"] == "CL001")
    text = norm(" ".join(p.extract_text() for p in PdfReader(letter["files"]["pdf"]).pages))
    assert "Dupont & Fils <Nord>" in text and "4 675,60 €" in text
    combined = norm(" ".join(p.extract_text() for p in
                             PdfReader(result["files"]["combined_pdf"]).pages))
    assert combined.count("Objet : ") + combined.count("Re: ") == len(result["letters"]) == 10
    msg = email.message_from_bytes(Path(letter["files"]["email"]).read_bytes(),
                                   policy=email.policy.default)
    assert next(msg.iter_attachments()).get_filename().endswith(".pdf")  # the PDF when made


def test_without_a_converter_pdf_gives_a_clear_note_and_the_docx(sample_copy):
    env = {"PATH": "/nonexistent"}
    proc = run_cli("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(), "--pdf",
                   "--channels", "courrier", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert all("pdf" not in x["files"] for x in result["letters"])
    assert any("LibreOffice" in n for n in result["notes"])
    assert all(Path(x["files"]["courrier"]).exists() for x in result["letters"])


def _with_smtp(book: Path, port: int):
    wb = openpyxl.load_workbook(book)
    ws = wb["Paramètres"]
    for key, value in SMTP_ROWS + [("Port SMTP", port)]:
        ws.append([key, value])
    wb.save(book)


def test_send_email_really_sends_and_the_journal_records_only_what_was_sent(sample_copy):
    from aiosmtpd.controller import Controller
    recorder = Recorder(refuse={"compta@dupont-fils-nord.example"})
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        _with_smtp(sample_copy, port)
        proc = run_cli("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                       "--channels", "email", "--send-email", "--json")
    finally:
        controller.stop()
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert len(recorder.received) == 8  # 9 drafts, one refused by the server
    assert all("X-Unsent" not in msg for _, _, msg in recorder.received)
    assert any("Dupont & Fils <Nord>" in n and "550" in n for n in result["notes"])
    rows = list(openpyxl.load_workbook(sample_copy)["Journal"].iter_rows(values_only=True))
    mails = [(r[3], r[7]) for r in rows[1:] if r[6] == "e-mail" and r[1] and r[1].date() == SAMPLE_DATE]
    assert sorted(s for _, s in mails) == ["brouillon"] + ["envoyé"] * 8
    assert ("Dupont & Fils <Nord>", "brouillon") in mails


def test_send_email_that_cannot_send_stops_before_writing_anything(sample_copy):
    before = sample_copy.read_bytes()
    proc = run_cli("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                   "--channels", "email", "--send-email")
    assert proc.returncode == 1 and "aucun serveur SMTP" in proc.stderr
    assert sample_copy.read_bytes() == before and not (sample_copy.parent / "Relances").exists()
    _with_smtp(sample_copy, free_port())  # a server that does not answer
    before = sample_copy.read_bytes()
    proc = run_cli("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                   "--channels", "email", "--send-email")
    assert proc.returncode == 1 and "Rien n'a été écrit" in proc.stderr
    assert sample_copy.read_bytes() == before


def test_only_clients_a_channel_reaches_are_marked_reminded(sample_copy):
    result, proc = run_json("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                            "--channels", "sms")
    reached = {x["client_code"] for x in result["letters"]}
    assert reached == {"CL003", "CL004", "CL005", "CL017"}
    assert any("aucun document produit" in u and "Boulangerie" in u for u in result["unreached"])
    # one line a client, why first: a fixed line is no way to send an SMS
    names = [u.split(" : ")[0] for u in result["unreached"]]
    assert len(names) == len(set(names)) == 6, result["unreached"]
    (boulangerie,) = [u for u in result["unreached"] if u.startswith("Boulangerie")]
    assert boulangerie.index("numéro fixe") < boulangerie.index("aucun document produit")
    assert "2e relance 2026" not in proc.stderr and "sms.csv" in proc.stderr  # no letter named
    ws = openpyxl.load_workbook(sample_copy)["Créances"]
    header = [c.value for c in ws[3]]
    code, col = header.index("Code client"), header.index("Date 2e relance")
    marked = {r[code].value for r in ws.iter_rows(min_row=4)
              if r[col].value and r[col].value.date() == SAMPLE_DATE}
    assert marked == reached
    again, _ = run_json("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                        "--channels", "courrier")
    assert "CL002" in {x["client_code"] for x in again["letters"]}  # not lost



def test_what_letters_lack_is_not_said_when_no_letter_goes_out(sample_copy):
    """Without an English title or a signatory, letters (on paper or attached to an e-mail)
    would lack them: said then, not on a run that sends only SMS."""
    wb = openpyxl.load_workbook(sample_copy)
    ws = wb["Paramètres"]
    for row in reversed(list(ws.iter_rows(min_row=2))):
        if row[0].value in ("Signataire", "Fonction du signataire (anglais)"):
            ws.delete_rows(row[0].row)
    wb.save(sample_copy)
    sms, proc = run_json("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                         "--channels", "sms", "--dry-run")
    assert sms["warnings"] == [] and "Attention" not in proc.stderr
    for channels in ("courrier", "email"):
        other, proc = run_json("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                               "--channels", channels, "--dry-run")
        assert any("Signataire" in w for w in other["warnings"]), (channels, other["warnings"])
        assert any("signées « Gérante »" in w for w in other["warnings"])
        assert "Attention : pas de « Signataire »" in proc.stderr
    for row in reversed(list(ws.iter_rows(min_row=2))):  # no number to call back: said
        if row[0].value == "Téléphone":
            ws.delete_rows(row[0].row)
    wb.save(sample_copy)
    sms, proc = run_json("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                         "--channels", "sms", "--dry-run")
    assert len(sms["warnings"]) == 1 and "le SMS ne peut pas dire" in sms["warnings"][0]


def test_sent_drafts_lose_their_to_send_mark_and_the_summary_counts_them(sample_copy):
    from aiosmtpd.controller import Controller
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        _with_smtp(sample_copy, port)
        proc = run_cli("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                       "--channels", "email", "--send-email", "--json")
    finally:
        controller.stop()
    result = json.loads(proc.stdout)
    assert "9 e-mail(s) envoyé(s)" in proc.stderr
    for letter in result["letters"]:
        if "email" in letter["files"]:
            raw = Path(letter["files"]["email"]).read_bytes()
            assert b"X-Unsent" not in raw


def test_emails_sent_before_a_failed_recording_are_never_sent_again(sample_copy):
    """Excel opens the workbook while the e-mails leave: the workbook cannot be updated, but
    the sent e-mails are consigned in journal.csv and a second run sends nothing."""
    from aiosmtpd.controller import Controller

    class OpensExcel(Recorder):
        async def handle_DATA(self, server, session, envelope):
            (sample_copy.parent / f"~${sample_copy.name}").write_text("owner")
            return await super().handle_DATA(server, session, envelope)
    recorder = OpensExcel()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        _with_smtp(sample_copy, port)
        first = run_cli("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                        "--channels", "email", "--send-email")
        assert first.returncode == 1 and "journal.csv" in first.stderr
        assert "rien ne sera renvoyé" in first.stderr
        sent = len(recorder.received)
        assert sent == 9
        (sample_copy.parent / f"~${sample_copy.name}").unlink()
        second = run_cli("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                         "--channels", "email", "--send-email")
    finally:
        controller.stop()
    assert second.returncode == 0, second.stderr
    assert len(recorder.received) == sent  # nothing sent twice
