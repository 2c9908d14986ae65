"""E-mail drafts: built from the sample run's letters, written as .eml, parsed back with the
standard library the way a mail client would read them."""
from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from email.utils import parseaddr, parsedate_to_datetime

import pytest

from relance.documents.context import letter_context
from relance.documents.email_draft import (DOCX_TYPE, build_email, email_problem, email_subject,
                                           template_path, write_eml)
from relance.formatting import money
from relance.letters import plan_run
from relance.model import RelanceError
from relance.reading import files

from conftest import SAMPLE, SAMPLE_DATE


@pytest.fixture(scope="module")
def sample():
    ledger = files.load(SAMPLE).ledger
    plan = plan_run(ledger, SAMPLE_DATE)
    return ledger.settings, plan.letters


def letter_of(sample, start):
    settings, letters = sample
    letter = next(lt for lt in letters if lt.client.name.startswith(start))
    return letter, letter_context(letter, settings, SAMPLE_DATE), settings


def parse(path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


@pytest.fixture
def dupont_eml(sample, tmp_path):
    letter, context, settings = letter_of(sample, "Dupont")
    attachment = tmp_path / "2e relance - CL001 - Dupont & Fils Nord – échéancier.docx"
    attachment.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 40)
    path = tmp_path / "Dupont.eml"
    write_eml(build_email(letter, context, settings, attachment), path)
    return path, attachment, letter, context, settings


def test_headers(dupont_eml):
    path, _, letter, context, settings = dupont_eml
    msg = parse(path)
    assert msg["X-Unsent"] == "1"
    to = msg["To"].addresses
    assert len(to) == 1
    assert to[0].display_name == "Dupont & Fils <Nord>"
    assert to[0].addr_spec == "compta@dupont-fils-nord.example"
    sender = msg["From"].addresses[0]
    assert sender.display_name == "Menuiserie Garnier & Associés"
    assert sender.addr_spec == settings.company.email
    total = money(letter.total)
    assert msg["Subject"] == f"2e relance – factures FA-2026-0101, FA-2026-0102 – {total} à régler"
    assert msg["Subject"] == email_subject(letter, "fr")
    assert parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert parseaddr(msg["Message-ID"])[1].endswith("@menuiserie-garnier.example")
    assert msg["Content-Type"].startswith("multipart/mixed")


def test_file_is_crlf_and_ascii_headers(dupont_eml):
    raw = dupont_eml[0].read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # non-ASCII header text is RFC 2047-encoded
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_text_body(dupont_eml):
    path, _, letter, context, _ = dupont_eml
    text = parse(path).get_body(("plain",)).get_content()
    assert "Dupont & Fils <Nord>" in text
    assert "&amp;" not in text
    for number in ("FA-2026-0101", "FA-2026-0102", "AV-2026-0007"):
        assert number in text
    assert context["total"] in text  # the letter's figures, formatted the same way
    assert context["deadline"] in text
    assert "FR76 1234 5678 9000 0123 4567 858" in text
    assert "échéancier" in text and "04 78 92 15 40" in text
    assert "pièce jointe" in text


def test_html_body_is_escaped(dupont_eml):
    path, _, _, context, _ = dupont_eml
    html = parse(path).get_body(("html",)).get_content()
    assert "Dupont &amp; Fils &lt;Nord&gt;" in html
    assert "Dupont & Fils <Nord>" not in html
    assert "<table" in html and 'style="' in html
    assert context["total"] in html and context["deadline"] in html
    assert "FA-2026-0101" in html and "FA-2026-0102" in html


def test_attachment_name_type_and_size(dupont_eml):
    path, attachment, *_ = dupont_eml
    parts = list(parse(path).iter_attachments())
    assert len(parts) == 1
    part = parts[0]
    assert part.get_filename() == attachment.name  # non-ASCII name intact (RFC 2231)
    assert part.get_content_type() == DOCX_TYPE
    data = part.get_content()
    assert len(data) == attachment.stat().st_size
    assert data == attachment.read_bytes()


def test_pdf_attachment(sample, tmp_path):
    letter, context, settings = letter_of(sample, "Boulangerie")
    pdf = tmp_path / "2e relance - CL002 - Boulangerie Hélène Lefèvre.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + b"x" * 5000)
    out = tmp_path / "lefevre.eml"
    write_eml(build_email(letter, context, settings, pdf), out)
    part = next(parse(out).iter_attachments())
    assert part.get_content_type() == "application/pdf"
    assert part.get_filename() == pdf.name
    assert len(part.get_content()) == pdf.stat().st_size
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_english_client(sample, tmp_path):
    letter, context, settings = letter_of(sample, "Harcourt")
    out = tmp_path / "harcourt.eml"
    write_eml(build_email(letter, context, settings, None), out)
    msg = parse(out)
    assert msg["Subject"].startswith("Second reminder – invoices FA-2026-0123, FA-2026-0124")
    assert msg["Subject"].endswith(f"{money(letter.total, 'en')} due")
    text = msg.get_body(("plain",)).get_content()
    assert "Dear Mr Harcourt," in text and context["total"] in text  # as the letter
    assert list(msg.iter_attachments()) == []


def test_every_sample_letter_with_an_address(sample, tmp_path):
    settings, letters = sample
    built = 0
    for letter in letters:
        context = letter_context(letter, settings, SAMPLE_DATE)
        if email_problem(letter):
            continue
        out = tmp_path / f"{built}.eml"
        write_eml(build_email(letter, context, settings, None), out)
        msg = parse(out)
        assert msg["To"].addresses[0].display_name == letter.client.name
        assert context["total"] in msg.get_body(("plain",)).get_content()
        built += 1
    assert built == len(letters) - 1  # M. Julien Marchand has no e-mail address


def test_client_without_email(sample):
    letter, context, settings = letter_of(sample, "M. Julien Marchand")
    assert "M. Julien Marchand" in email_problem(letter)
    with pytest.raises(RelanceError, match="pas d'adresse e-mail"):
        build_email(letter, context, settings, None)


def test_several_addresses_in_the_cell(sample):
    letter, context, settings = letter_of(sample, "Dupont")
    both = replace(letter, client=replace(letter.client, email="a@x.example; b@y.example"))
    msg = build_email(both, context, settings, None)
    assert [a.addr_spec for a in msg["To"].addresses] == ["a@x.example", "b@y.example"]


def test_sender_setting_wins(sample):
    letter, context, settings = letter_of(sample, "Dupont")
    custom = replace(settings, smtp=replace(settings.smtp, sender="relances@garnier.example"))
    msg = build_email(letter, context, custom, None)
    assert msg["From"].addresses[0].addr_spec == "relances@garnier.example"
    assert msg["Message-ID"].rstrip(">").endswith("@garnier.example")


@pytest.mark.parametrize("body, name", [
    ("Bonjour {{ client.nom }}", "client.nom"),
    ("{% if false %}{{ montant_du }}{% endif %}{{ total }}", "montant_du"),
])
def test_unknown_variable_stops_before_writing(sample, tmp_path, body, name):
    letter, context, settings = letter_of(sample, "Dupont")
    custom = tmp_path / "modeles"
    custom.mkdir()
    (custom / "2e_relance_email.txt").write_text(body, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RelanceError) as err:
        write_eml(build_email(letter, context, settings, None, template_dir=custom),
                  out / "x.eml")
    assert "2e_relance_email.txt" in str(err.value)
    assert f"« {name} »" in str(err.value)
    assert list(out.iterdir()) == []


def test_shipped_templates_exist():
    for name in ("2e_relance_email.txt", "2e_relance_email.html", "2e_relance_email_en.txt",
                 "2e_relance_email_en.html", "2e_relance_sms.txt", "2e_relance_sms_en.txt"):
        assert template_path(name).is_file(), name


def test_a_public_buyer_s_email_names_the_summary_judge(sample, tmp_path):
    """The same next steps as the letter: the summary judge for a public buyer, an agency
    otherwise (text and HTML parts alike)."""
    for start, expected, absent in (("Mairie", "juge des référés", "organisme spécialisé"),
                                    ("Dupont", "organisme spécialisé", "juge des référés")):
        letter, context, settings = letter_of(sample, start)
        path = tmp_path / f"{start}.eml"
        write_eml(build_email(letter, context, settings, None), path)
        msg = parse(path)
        for kind in ("plain", "html"):
            body = " ".join(msg.get_body(preferencelist=(kind,)).get_content().split())
            assert expected in body and absent not in body, (start, kind)


def test_an_e_mail_abroad_names_our_country_once(sample, tmp_path):
    letter, context, settings = letter_of(sample, "Harcourt")
    path = tmp_path / "Harcourt.eml"
    write_eml(build_email(letter, context, settings, None), path)
    msg = parse(path)
    for kind in ("plain", "html"):
        body = " ".join(msg.get_body(preferencelist=(kind,)).get_content().split())
        assert "69007 Lyon, France" in body and "France, France" not in body, kind
        assert "+33 4 78 92 15 40" in body, kind


def test_a_template_is_compiled_once_a_run_and_again_when_edited(sample, tmp_path, monkeypatch):
    """Compiling a template costs a hundred times rendering it: a thousand e-mails compile it
    once. A template edited between two renderings is what the next one uses."""
    from relance.documents import email_draft
    compiled = []
    real = email_draft.sandbox
    monkeypatch.setattr(email_draft, "sandbox", lambda **kw: compiled.append(kw) or real(**kw))
    email_draft._compiled.cache_clear()
    letter, context, settings = letter_of(sample, "Dupont")
    custom = tmp_path / "modeles"
    custom.mkdir()
    template = custom / "2e_relance_email.txt"
    template.write_text("Total : {{ total }}", encoding="utf-8")
    for _ in range(3):
        message = build_email(letter, context, settings, None, template_dir=custom)
    assert len(compiled) == 2  # the text template and the shipped HTML one, once each
    assert f"Total : {context['total']}" in message.get_body(("plain",)).get_content()
    template.write_text("Reste : {{ total }}", encoding="utf-8")
    message = build_email(letter, context, settings, None, template_dir=custom)
    assert len(compiled) == 3
    assert f"Reste : {context['total']}" in message.get_body(("plain",)).get_content()


@pytest.mark.parametrize("send", [False, True])
def test_drafts_are_kept_in_memory_only_to_be_sent(tmp_path, send):
    """Each draft holds its letter attached: a run of thousands kept them all until the end
    (0.25 MB each). They are kept only when they are to be sent."""
    from relance.batch import Channels, prepare_batch
    from relance.outputs import write_documents
    ledger = files.load(SAMPLE).ledger
    channels = Channels.of(["email"], send_email=send)
    folder = tmp_path / "out"
    batch = prepare_batch(ledger, is_csv=False, workbook_dir=tmp_path, folder=folder,
                          as_of=SAMPLE_DATE, channels=channels)
    written = write_documents(batch, ledger.settings, folder)
    drafts = sorted(folder.glob("*.eml"))
    assert len(drafts) >= 5
    assert len(written.messages) == (len(drafts) if send else 0)


@pytest.mark.parametrize("address", ["jean@dupont.fr.", "a@x..example", "a@.x.example"])
def test_an_address_the_header_parser_refuses_is_invalid_not_a_crash(sample, address):
    letter, _, _ = letter_of(sample, "Dupont")
    problem = email_problem(replace(letter, client=replace(letter.client, email=address)))
    assert f"adresse e-mail invalide « {address} »" in problem


def test_a_name_on_two_lines_of_its_cell_is_one_line_in_the_headers(sample, tmp_path):
    letter, context, settings = letter_of(sample, "Dupont")
    letter = replace(letter, client=replace(letter.client, name="Dupont\nSARL"))
    message = build_email(letter, context, settings, None)
    write_eml(message, tmp_path / "x.eml")
    parsed = parse(tmp_path / "x.eml")
    assert parsed["To"].addresses[0].display_name == "Dupont SARL"
