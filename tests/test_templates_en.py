"""The shipped templates' wording, read back from real letters and e-mails of the sample run:
singular or plural as the number of claimed invoices says (English and French letters and
e-mails), and the English e-mail laid out as the French one (the attention line, one blank
line after the salutation)."""
from __future__ import annotations

import dataclasses
import email
import email.policy
import re

import pytest

from conftest import SAMPLE, SAMPLE_DATE
from docx_text import docx_text
from relance.documents.context import letter_context
from relance.documents.docx_letters import LetterRenderer, shipped_template
from relance.documents.email_draft import build_email, write_eml
from relance.letters import plan_run
from relance.reading import files


@pytest.fixture(scope="module")
def sample():
    ledger = files.load(SAMPLE).ledger
    return ledger.settings, plan_run(ledger, SAMPLE_DATE).letters


def sample_letter(sample, code, **client_changes):
    """The sample run's letter to client `code`, its client changed as asked (language…)."""
    settings, letters = sample
    letter = next(lt for lt in letters if lt.client.code == code)
    if client_changes:
        letter = dataclasses.replace(letter,
                                     client=dataclasses.replace(letter.client, **client_changes))
    return letter, letter_context(letter, settings, SAMPLE_DATE), settings


def letter_text(sample, tmp_path, code, **client_changes) -> str:
    """The rendered .docx letter, read back as text (one line a paragraph, spaces normalised)."""
    letter, context, _ = sample_letter(sample, code, **client_changes)
    dest = tmp_path / f"{code}-{context['lang']}.docx"
    LetterRenderer(shipped_template(context["lang"])).render(context, dest)
    return docx_text(dest)


def email_bodies(sample, tmp_path, code, **client_changes) -> tuple:
    """(text body with \\n line ends, HTML body) of the .eml draft, parsed back."""
    letter, context, settings = sample_letter(sample, code, **client_changes)
    dest = tmp_path / f"{code}-{context['lang']}.eml"
    write_eml(build_email(letter, context, settings, None), dest)
    msg = email.message_from_bytes(dest.read_bytes(), policy=email.policy.default)
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return text, msg.get_body(("html",)).get_content()


def html_text(html: str) -> str:
    """The HTML body's visible text, tags replaced by line breaks."""
    text = re.sub(r"<[^>]+>", "\n", html).replace("&#39;", "'").replace("&amp;", "&")
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


# --- letters and e-mails: singular or plural ------------------------------------------------

# CL003 (L'Atelier d'Émile) and CL008 (Garage Lemoine Frères) are claimed one invoice, CL007
# (Harcourt & Pembrey, English) and CL001 (Dupont & Fils) two. Each test reads a letter of each
# count: a wording always plural fails, and so does one always singular.

def invoice_counts(sample, *codes) -> list:
    return [sample_letter(sample, code)[1]["invoice_count"] for code in codes]


def test_english_letter_wording_follows_the_number_of_invoices(sample, tmp_path):
    assert invoice_counts(sample, "CL003", "CL007") == [1, 2]
    one = letter_text(sample, tmp_path, "CL003", language="en")
    assert "about the invoice listed below." in one
    assert "the following amount is still outstanding:" in one
    assert "amounts are" not in one
    assert "quoting the invoice number as the payment reference" in one

    two = letter_text(sample, tmp_path, "CL007")
    assert "about the invoices listed below." in two
    assert "the following amounts are still outstanding:" in two
    assert "amount is still" not in two
    assert "quoting the invoice numbers as the payment reference" in two


def test_french_letter_wording_follows_the_number_of_invoices(sample, tmp_path):
    assert invoice_counts(sample, "CL008", "CL001") == [1, 2]
    one = letter_text(sample, tmp_path, "CL008")
    assert "la facture ci-dessous était arrivée à échéance" in one
    assert "cette facture demeure impayée à ce jour" in one
    assert "en indiquant le numéro de la facture réglée en référence" in one
    assert "numéros des factures" not in one

    two = letter_text(sample, tmp_path, "CL001")
    assert "les factures ci-dessous étaient arrivées à échéance" in two
    assert "ces factures demeurent impayées à ce jour" in two
    assert "en indiquant les numéros des factures réglées en référence" in two


def test_e_mail_wording_follows_the_number_of_invoices(sample, tmp_path):
    assert invoice_counts(sample, "CL003", "CL007", "CL008", "CL001") == [1, 2, 1, 2]
    for code, changes, expected in [
        ("CL003", {"language": "en"}, ["the following amount is still outstanding:",
                                       "quoting the invoice number as the payment reference"]),
        ("CL007", {}, ["the following amounts are still outstanding:",
                       "quoting the invoice numbers as the payment reference"]),
        ("CL008", {}, ["elle reste impayée à ce jour",
                       "en indiquant le numéro de la facture en référence"]),
        ("CL001", {}, ["elles restent impayées à ce jour",
                       "en indiquant les numéros des factures en référence"]),
    ]:
        text, html = email_bodies(sample, tmp_path, code, **changes)
        for body in (text, html_text(html)):
            for words in expected:
                assert words in body, (code, words)


# --- the English e-mail laid out as the French one -------------------------------------------

def test_english_e_mail_has_the_attention_line_when_a_contact_is_known(sample, tmp_path):
    text, html = email_bodies(sample, tmp_path, "CL007")
    head = text.split("\n\n", 1)[0].splitlines()
    assert head == ["Harcourt & Pembrey Ltd", "For the attention of Mr Oliver Harcourt",
                    "Customer ref.: CL007"]
    visible = html_text(html).splitlines()
    start = visible.index("Harcourt & Pembrey Ltd")
    assert visible[start:start + 4] == ["Harcourt & Pembrey Ltd",
                                        "For the attention of Mr Oliver Harcourt",
                                        "Customer ref.: CL007", "Dear Mr Harcourt,"]

    # no contact: no attention line, and no blank line in its place
    text, html = email_bodies(sample, tmp_path, "CL007", contact="")
    assert text.startswith("Harcourt & Pembrey Ltd\nCustomer ref.: CL007\n\n"
                           "Dear Sir or Madam,\n\nWe wrote")
    assert "attention" not in text and "attention" not in html


def test_english_text_e_mail_has_one_blank_line_after_the_salutation(sample, tmp_path):
    text, _ = email_bodies(sample, tmp_path, "CL007")
    assert "Dear Mr Harcourt,\n\nWe wrote to you on " in text
    assert "\n\n\n" not in text  # never two blank lines in a row, anywhere


@pytest.mark.parametrize("code", ["CL007", "CL003"])
def test_english_and_french_text_e_mails_have_the_same_layout(sample, tmp_path, code):
    """The same letter in either language: text and blank lines at the same places."""
    en, _ = email_bodies(sample, tmp_path, code, language="en")
    fr, _ = email_bodies(sample, tmp_path, code, language="fr")

    def layout(body):
        return ["" if not line.strip() else "text" for line in body.splitlines()]

    assert layout(en) == layout(fr)
