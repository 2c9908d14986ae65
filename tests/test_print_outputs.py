"""Print outputs of a run: one combined .docx, PDFs (LibreOffice or Word), the sending register.

The letters are the sample run's own (`relance generate` on a copy of the sample workbook).
The PDF tests need a converter; `.ci/run` installs LibreOffice so CI runs them for real.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import time
import unicodedata
import weakref
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.oxml.ns import qn

from conftest import SAMPLE, SAMPLE_DATE, run_json
from relance.documents import combined, pdf
from relance.documents.combined import combine_letters
from relance.documents.pdf import NO_CONVERTER, find_converter, to_pdf
from relance.documents.register import REGISTERED_HEADER, RegisterRow, write_register
from relance.formatting import money
from relance.model import RelanceError

CONVERTER = find_converter()
needs_converter = pytest.mark.skipif(
    CONVERTER is None, reason="aucun convertisseur PDF sur cette machine (LibreOffice absent : "
                              ".ci/run l'installe en CI)")
MARKER = re.compile(r"^(Objet|Re)\s*:", re.MULTILINE)  # the subject line, once per letter


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The sample run: [(client, total as Decimal, letter path)] in the run's (client) order."""
    folder = tmp_path_factory.mktemp("sample")
    book = folder / "relances.xlsx"
    shutil.copy2(SAMPLE, book)
    result, _ = run_json("generate", book, "--as-of", SAMPLE_DATE.isoformat(),
                         "--channels", "courrier")
    letters = [(x["client"], Decimal(str(x["total"])), Path(x["files"]["courrier"]))
               for x in result["letters"]]
    assert len(letters) >= 2
    return letters


@pytest.fixture(scope="module")
def combined_docx(run, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("combined") / "lettres à imprimer.docx"
    combine_letters([path for _, _, path in run], dest)
    return dest


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)  # ligatures, non-breaking and narrow spaces
    return re.sub(r"[ \t\u00a0\u202f\u2009]+", " ", text)


def amounts(total: Decimal) -> tuple:
    """The total as a French or an English letter writes it."""
    return tuple(norm(money(total, lang)) for lang in ("fr", "en"))


def has_amount(text: str, total: Decimal) -> bool:
    return any(a in text for a in amounts(total))


def section_texts(path: Path) -> list:
    """The text of each section of a .docx (body paragraphs and tables), in order."""
    body = docx.Document(str(path)).element.body
    sections, current = [], []
    for el in body.iterchildren(qn("w:p"), qn("w:tbl")):
        current.append("".join(t.text or "" for t in el.iter(qn("w:t"))))
        if el.tag == qn("w:p") and el.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None:
            sections.append(norm("\n".join(current)))
            current = []
    sections.append(norm("\n".join(current)))
    return sections


def pdf_pages(path: Path) -> list:
    from pypdf import PdfReader
    return [norm(page.extract_text() or "") for page in PdfReader(str(path)).pages]


# --- the combined .docx ---------------------------------------------------------------------

def test_combined_docx_has_every_letter_in_order_each_in_its_own_section(run, combined_docx):
    document = docx.Document(str(combined_docx))
    assert len(document.sections) == len(run)
    for section in document.sections[1:]:
        assert section.start_type == docx.enum.section.WD_SECTION.NEW_PAGE
    texts = section_texts(combined_docx)
    assert len(texts) == len(run)
    for (client, total, _), text in zip(run, texts):
        assert norm(client) in text, client
        assert has_amount(text, total), (client, total)
        assert len(MARKER.findall(text)) == 1
    # No letter leaks into another's section: each client's name is in its section only.
    for i, (client, _, _) in enumerate(run):
        assert [j for j, t in enumerate(texts) if norm(client) in t] == [i]


def test_combined_docx_keeps_every_letter_footer_with_the_legal_mentions(run, combined_docx):
    own = docx.Document(str(run[0][2])).sections[0].footer
    mention = norm("".join(p.text for p in own.paragraphs)).strip()
    assert "RCS" in mention or "SIREN" in mention
    for section in docx.Document(str(combined_docx)).sections:
        assert not section.footer.is_linked_to_previous
        assert norm("".join(p.text for p in section.footer.paragraphs)).strip() == mention
    # Each letter numbers its pages from 1.
    for section in docx.Document(str(combined_docx)).sections[1:]:
        assert section._sectPr.find(qn("w:pgNumType")).get(qn("w:start")) == "1"


def tiny_png() -> bytes:
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_combined_docx_gives_each_letter_its_own_header_and_footer_when_they_differ(run, tmp_path):
    """Letters from different templates (or a custom one with a logo) keep their own."""
    first, second = tmp_path / "a.docx", tmp_path / "b.docx"
    shutil.copy2(run[0][2], first)
    letter = docx.Document(str(run[1][2]))
    letter.sections[0].footer.paragraphs[0].text = "Pied de page de la seconde lettre"
    logo = tmp_path / "logo.png"
    logo.write_bytes(tiny_png())
    letter.sections[0].header.paragraphs[0].add_run("Logo ").add_picture(str(logo))
    letter.save(str(second))
    dest = tmp_path / "tout.docx"
    combine_letters([first, second, first, second], dest)
    sections = docx.Document(str(dest)).sections
    footers = ["".join(p.text for p in s.footer.paragraphs) for s in sections]
    assert len(footers) == 4
    assert footers[1] == footers[3] == "Pied de page de la seconde lettre"
    assert footers[0] == footers[2] != footers[1]
    headers = [s.header for s in sections]
    # The first letter has no header; the third neither, so it gets a blank one rather than
    # showing the second letter's logo (a section without a header shows the previous one's).
    assert [h.is_linked_to_previous for h in headers] == [True, False, False, False]
    assert not headers[2]._element.xpath(".//a:blip")
    assert "".join(p.text for p in headers[2].paragraphs) == ""
    for header in (headers[1], headers[3]):
        blip = header._element.xpath(".//a:blip")[0]
        image = header.part.rels[blip.get(qn("r:embed"))].target_part
        assert image.blob == logo.read_bytes()
    with zipfile.ZipFile(dest) as z:  # shared parts are stored once
        names = z.namelist()
    assert sum(n.startswith("word/footer") for n in names) == 2
    assert sum(n.startswith("word/header") for n in names) == 2  # the logo one, a blank one
    assert sum(n.startswith("word/media/") for n in names) == 1


def test_combined_docx_holds_one_letter_at_a_time_and_is_written_atomically(run, tmp_path,
                                                                            monkeypatch):
    alive, peak = [0], [0]
    real = combined.Document

    def counted(path):
        doc = real(path)
        alive[0] += 1
        peak[0] = max(peak[0], alive[0])
        weakref.finalize(doc, lambda: alive.__setitem__(0, alive[0] - 1))
        return doc

    monkeypatch.setattr(combined, "Document", counted)
    dest = tmp_path / "imprimer.docx"
    dest.write_bytes(b"ancien")
    combine_letters([p for _, _, p in run], dest)
    assert peak[0] <= 2  # the combined document and the letter being appended
    assert docx.Document(str(dest)).sections
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imprimer.docx"]

    # A letter that cannot be read: a French error, the previous file intact, no temp file.
    dest.write_bytes(b"ancien")
    broken = tmp_path / "cassée.docx"
    broken.write_bytes(b"pas un document Word")
    with pytest.raises(RelanceError, match="illisible"):
        combine_letters([run[0][2], broken], dest)
    assert dest.read_bytes() == b"ancien"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cassée.docx", "imprimer.docx"]


# --- PDF ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pdfs(run, combined_docx, tmp_path_factory) -> tuple:
    """Every letter and the combined file converted in one call: (outdir, {docx: pdf})."""
    if CONVERTER is None:
        pytest.skip("aucun convertisseur PDF")
    out = tmp_path_factory.mktemp("pdf")
    sources = [p for _, _, p in run] + [combined_docx]
    made = to_pdf(sources, out)
    assert list(made) == sources
    return out, made


@needs_converter
def test_each_letter_pdf_holds_the_client_name_and_the_total(run, pdfs):
    out, made = pdfs
    for client, total, path in run:
        target = made[path]
        assert target == out / f"{path.stem}.pdf"
        text = "\n".join(pdf_pages(target))
        assert norm(client) in text, client
        assert has_amount(text, total), (client, total)
        assert len(MARKER.findall(text)) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}.pdf" for p in made)


@needs_converter
def test_combined_pdf_has_as_many_letters_as_the_run(run, combined_docx, pdfs):
    _, made = pdfs
    pages = pdf_pages(made[combined_docx])
    starts = [i for i, page in enumerate(pages) if MARKER.search(page)]
    assert len(starts) == len(run)
    assert sum(len(MARKER.findall(page)) for page in pages) == len(run)
    # Each letter starts on its own page, in the run's order, and states its total; no blank
    # page between letters: the combined file has exactly the letters' pages.
    for (client, total, _), begin, end in zip(run, starts, starts[1:] + [len(pages)]):
        letter = "\n".join(pages[begin:end])
        assert norm(client) in pages[begin], client
        assert has_amount(letter, total), (client, total)
    assert starts[0] == 0
    assert len(pages) == sum(len(pdf_pages(made[p])) for _, _, p in run)
    footer = pages[0].strip().splitlines()[-1]
    assert all(page.strip().splitlines()[-1] == footer for page in pages)  # legal mentions


@needs_converter
def test_pdf_conversion_replaces_an_older_pdf_and_reports_a_missing_letter(run, tmp_path):
    path = run[0][2]
    old = tmp_path / f"{path.stem}.pdf"
    old.write_bytes(b"ancien")
    made = to_pdf([path], tmp_path)
    assert made[path].read_bytes().startswith(b"%PDF-")
    with pytest.raises(RelanceError, match="introuvable"):
        to_pdf([tmp_path / "absente.docx"], tmp_path)


def test_without_a_converter_a_french_message_and_nothing_written(run, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "vide"))
    monkeypatch.setattr(pdf, "_install_paths", lambda: [])
    monkeypatch.setattr(pdf, "_word_available", lambda: False)
    assert find_converter() is None
    out = tmp_path / "pdf"
    with pytest.raises(RelanceError) as err:
        to_pdf([run[0][2]], out)
    assert str(err.value) == NO_CONVERTER
    assert "Aucun convertisseur PDF" in str(err.value) and "LibreOffice" in str(err.value)
    assert "Word" in str(err.value)
    assert not out.exists()


def test_converter_found_at_its_usual_install_place(tmp_path, monkeypatch):
    program = tmp_path / "LibreOffice" / "program" / "soffice"
    program.parent.mkdir(parents=True)
    program.write_text("")
    monkeypatch.setenv("PATH", str(tmp_path / "vide"))
    monkeypatch.setattr(pdf, "_install_paths", lambda: [tmp_path / "ailleurs", program])
    monkeypatch.setattr(pdf, "_word_available", lambda: False)
    assert find_converter() == pdf.Converter(pdf.LIBREOFFICE, program)


def test_word_is_preferred_on_windows_when_docx2pdf_is_installed(monkeypatch):
    monkeypatch.setattr(pdf.sys, "platform", "win32")
    monkeypatch.setattr(pdf, "_word_available", lambda: True)
    assert find_converter() == pdf.Converter(pdf.WORD)
    monkeypatch.setattr(pdf, "_word_available", lambda: False)
    monkeypatch.setattr(pdf, "find_soffice", lambda: Path(r"C:\LibreOffice\soffice.exe"))
    assert find_converter().name == pdf.LIBREOFFICE


def fake_soffice(tmp_path, body: str) -> pdf.Converter:
    program = tmp_path / "soffice"
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(0o755)
    return pdf.Converter(pdf.LIBREOFFICE, program)


@pytest.mark.skipif(os.name != "posix", reason="un faux soffice en script shell")
def test_a_hanging_converter_is_stopped_after_the_timeout(run, tmp_path):
    converter = fake_soffice(tmp_path, "sleep 60")
    started = time.monotonic()
    with pytest.raises(RelanceError, match="n'a pas fini la conversion en PDF en 1 s"):
        to_pdf([run[0][2]], tmp_path / "pdf", converter=converter, timeout=1)
    assert time.monotonic() - started < 20
    assert not (tmp_path / "pdf").exists()


@pytest.mark.skipif(os.name != "posix", reason="un faux soffice en script shell")
def test_a_pdf_the_converter_did_not_make_is_reported(run, tmp_path):
    converter = fake_soffice(tmp_path, "exit 0")  # LibreOffice says nothing when a file fails
    with pytest.raises(RelanceError, match="n'a pas produit le PDF de") as err:
        to_pdf([run[0][2]], tmp_path / "pdf", converter=converter)
    assert run[0][2].name in str(err.value)
    failing = fake_soffice(tmp_path, "echo 'plantage' >&2; exit 3")
    with pytest.raises(RelanceError, match="code 3 : plantage"):
        to_pdf([run[0][2]], tmp_path / "pdf", converter=failing)
    assert not (tmp_path / "pdf").exists()


def test_soffice_runs_headless_with_a_private_profile(tmp_path):
    cmd = pdf.soffice_command(Path("soffice"), [tmp_path / "001.docx", tmp_path / "002.docx"],
                              tmp_path / "pdf", tmp_path / "profil")
    assert "--headless" in cmd and cmd[cmd.index("--convert-to") + 1] == "pdf"
    assert any(a.startswith("-env:UserInstallation=file:///") for a in cmd)
    assert cmd[-2:] == [str(tmp_path / "001.docx"), str(tmp_path / "002.docx")]  # one call


# --- the sending register -------------------------------------------------------------------

def test_register_reads_back_with_numbers_and_an_empty_registered_mail_column(tmp_path):
    rows = [
        RegisterRow("Dupont & Fils <Nord>", "CL001",
                    ("Zone d'activité du Chemin Vert", "42 rue des Tisserands", "59000 Lille"),
                    ("FA-2026-0101", "FA-2026-0102"), Decimal("4675.60"),
                    "2e relance 2026-12-01 - CL001 - Dupont & Fils Nord.docx"),
        RegisterRow("=HYPERLINK(\"x\")", "", ("Unit 4", "M1 3HE Manchester", "Royaume-Uni"),
                    ("FA-2026-0123",), Decimal("10230"), "lettre.docx"),
    ]
    path = tmp_path / "bordereau.xlsx"
    path.write_bytes(b"ancien")
    write_register(rows, path, as_of=SAMPLE_DATE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bordereau.xlsx"]

    ws = openpyxl.load_workbook(path).active
    assert "Bordereau d'envoi" in ws["A1"].value and "1er décembre 2026" in ws["A1"].value
    assert ws["A1"].font.bold
    headers = [c.value for c in ws[2]]
    assert headers == ["Client", "Code client", "Adresse postale", "Factures", "Total",
                       "Fichier", REGISTERED_HEADER]
    assert all(c.font.bold for c in ws[2])
    assert ws.freeze_panes == "A3"
    table = ws.tables["Bordereau"]
    assert table.ref == "A2:G4"
    data = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    assert len(data) == 2
    first, second = data
    assert first[:4] == ["Dupont & Fils <Nord>", "CL001",
                         "Zone d'activité du Chemin Vert\n42 rue des Tisserands\n59000 Lille",
                         "FA-2026-0101\nFA-2026-0102"]
    assert isinstance(first[4], (int, float)) and first[4] == pytest.approx(4675.60)
    assert second[4] == pytest.approx(10230)
    assert first[5].endswith("Dupont & Fils Nord.docx")
    assert first[6] is None and second[6] is None
    assert second[0] == "=HYPERLINK(\"x\")" and ws["A4"].data_type == "s"  # text, not a formula
    assert ws["C3"].alignment.wrap_text
    assert "€" in ws["E3"].number_format
    assert ws.column_dimensions["C"].width >= 30


def test_register_row_from_a_letter_of_the_run(run):
    """register_row builds the row from a Letter the way the run will."""
    from relance.documents.register import register_row
    from relance.model import Client

    class FakeLetter:
        client = Client(name="Boulangerie Hélène Lefèvre", code="CL002",
                        address="3 place du Marché\nBâtiment B", postcode="69002", city="Lyon",
                        country="France")
        numbers = ("000123", "FA-2026-0105")
        total = Decimal("498.40")

    row = register_row(FakeLetter(), run[1][2])
    assert row == RegisterRow("Boulangerie Hélène Lefèvre", "CL002",
                              ("3 place du Marché", "Bâtiment B", "69002 Lyon"),
                              ("000123", "FA-2026-0105"), Decimal("498.40"), run[1][2].name)


def test_a_dry_run_without_a_converter_announces_no_pdf(tmp_path, monkeypatch):
    """`generate --dry-run --pdf` says what the real run would: no converter, no PDF (the
    letters' files and the shared files list none), the .docx files as usual."""
    from relance.batch import Channels
    from relance.run import Options, generate
    book = tmp_path / "relances.xlsx"
    shutil.copy2(SAMPLE, book)
    options = Options(as_of=SAMPLE_DATE, out=tmp_path / "sortie", dry_run=True,
                      channels=Channels.of(("courrier",), pdf=True))
    if CONVERTER is not None:  # where one is installed, the PDFs are announced
        announced = generate(book, options)
        assert all("pdf" in out.files for out in announced.outputs)
        assert "combined_pdf" in announced.shared and not announced.notes
    monkeypatch.setenv("PATH", str(tmp_path / "vide"))
    monkeypatch.setattr(pdf, "_install_paths", lambda: [])
    monkeypatch.setattr(pdf, "_word_available", lambda: False)
    result = generate(book, options)
    assert result.outputs and result.notes == [NO_CONVERTER]
    assert all("pdf" not in out.files and out.files["courrier"].suffix == ".docx"
               for out in result.outputs)
    assert "combined_pdf" not in result.shared and "combined" in result.shared
    assert not (tmp_path / "sortie").exists()
