"""The compiled renderer gives the documents of the straightforward docxtpl loop."""
from __future__ import annotations

import re
import zipfile
from datetime import date
from decimal import Decimal

import docx
import pytest
from docxtpl import DocxTemplate

from relance.documents.context import letter_context
from relance.documents.docx_letters import jinja_env, shipped_template
from relance.documents.fast_docx import FastTemplate, combine_same_template
from relance.letters import plan_run
from relance.model import Client, ClientType, Invoice, Ledger, Settings, Company, Payment

AS_OF = date(2026, 12, 1)
SETTINGS = Settings(company=Company(name="Atelier & Fils <Sud>", address="1 rue A\nBât. B",
                                    postcode="69001", city="Lyon", legal_form="SARL",
                                    siren="123456782", rcs="Lyon", phone="04 00 00 00 00",
                                    email="a@b.example", signatory="A. B."),
                    payment=Payment(iban="FR7630006000011234567890189", cheque_payee="Atelier",
                                    link="https://pay.example", cash=True),
                    penalty_rate=Decimal("12"))


def letter_for(n: int, lang: str, kind: ClientType):
    client = Client(name="Dupont & Fils <Nord>", code="C1", contact="M. Jean Dupont",
                    address="1 rue X\nZI des Prés", postcode="59000", city="Lille",
                    language=lang, client_type=kind)
    invoices = [Invoice(f"F{i:03d}", client, date(2026, 9, 1), Decimal("100.50") + i,
                        invoice_date=date(2026, 8, 1), paid=Decimal("10.00") if i % 3 else None,
                        first_reminder=date(2026, 10, 1 + i % 5), row=2 + i) for i in range(n)]
    invoices.append(Invoice("AV1", client, date(2026, 9, 1), Decimal("-20.00"), row=100))
    invoices.append(Invoice("G1", client, date(2026, 11, 1), Decimal("30.00"), row=101))
    plan = plan_run(Ledger(tuple(invoices), SETTINGS), AS_OF)
    (letter,) = plan.letters
    return letter_context(letter, SETTINGS, AS_OF)


def normalised(xml: bytes) -> str:
    return re.sub(r"\s+", " ", xml.decode("utf-8")).strip()


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("n", [1, 2, 10, 50])
@pytest.mark.parametrize("kind", [ClientType.BUSINESS, ClientType.CONSUMER, ClientType.PUBLIC])
def test_compiled_rendering_equals_the_plain_docxtpl_loop(tmp_path, lang, n, kind):
    context = letter_for(n, lang, kind)
    template = shipped_template(lang)
    FastTemplate(template, jinja_env()).write(context, tmp_path / "fast.docx")
    plain = DocxTemplate(str(template))
    plain.render(context, jinja_env(), autoescape=True)
    plain.save(str(tmp_path / "plain.docx"))
    with zipfile.ZipFile(tmp_path / "fast.docx") as fast, \
            zipfile.ZipFile(tmp_path / "plain.docx") as ref:
        assert set(fast.namelist()) == set(ref.namelist())
        for name in ref.namelist():
            if name.startswith("word/") and name.endswith(".xml"):
                assert normalised(fast.read(name)) == normalised(ref.read(name)), name
    texts = [[p.text for p in docx.Document(tmp_path / f).paragraphs] for f in ("fast.docx", "plain.docx")]
    assert texts[0] == texts[1]
    assert any("Dupont & Fils <Nord>" in t for t in texts[0])


def test_the_streamed_print_file_has_each_letter_as_its_own_section(tmp_path):
    fast = FastTemplate(shipped_template("fr"), jinja_env())
    paths = []
    for i in range(30):
        path = tmp_path / f"l{i}.docx"
        fast.write(letter_for(1 + i % 4, "fr", ClientType.BUSINESS), path, f"relance:{i}")
        paths.append(path)
    assert combine_same_template(paths, tmp_path / "all.docx", "relance:run")
    document = docx.Document(tmp_path / "all.docx")
    assert len(document.sections) == 30
    assert all(s.footer.paragraphs and "SARL" in s.footer.paragraphs[0].text
               for s in document.sections)
    assert sum(p.text.startswith("Objet") for p in document.paragraphs) == 30
    with zipfile.ZipFile(tmp_path / "all.docx") as zf:
        assert b"relance:run" in zf.read("docProps/core.xml")
        assert zf.read("word/document.xml").count(b'w:pgNumType w:start="1"') == 30
