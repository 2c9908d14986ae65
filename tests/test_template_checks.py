"""Templates are user files: broken ones are refused before any letter, in words a Word user
can act on; nothing in a template can reach Python or the disk; no letter shows a tag."""
from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest
from docx import Document

from conftest import run_cli
from test_bad_input import SETTINGS, assert_nothing_written, due_row, make_book

from relance.documents.template_check import check_template_file, leftover_tags
from relance.model import RelanceError

AS_OF = "2026-12-01"


def book_with_template(tmp_path: Path, template: Path, rows=None) -> Path:
    return make_book(tmp_path / "b.xlsx", rows or [due_row("F1")],
                     settings=SETTINGS + [("Modèle de lettre", template.name)])


def refused(tmp_path, template: Path, *needles, rows=None):
    book = book_with_template(tmp_path, template, rows)
    before = book.read_bytes()
    proc = run_cli("generate", book, "--as-of", AS_OF, "--channels", "courrier")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert_nothing_written(tmp_path, book, before)
    return proc.stderr


def test_a_tag_cut_across_two_paragraphs_names_its_paragraph(tmp_path):
    doc = Document()
    doc.add_paragraph("Madame, Monsieur,")
    doc.add_paragraph("Nous attendons le règlement de {{ total")  # Enter typed inside the tag
    doc.add_paragraph("}} avant le {{ deadline }}.")
    doc.save(tmp_path / "modele.docx")
    err = refused(tmp_path, tmp_path / "modele.docx", "paragraphe 2", "coupée", "retapez-la")
    assert "Nous attendons le règlement" in err


def test_a_tag_whose_braces_word_formatted_differently_still_works(tmp_path):
    """Word often puts the two braces in two runs (a bold one, a spell-check mark): docxtpl
    puts them back together, so such a template must not be refused."""
    doc = Document()
    p = doc.add_paragraph("Reste dû : ")
    p.add_run("{").bold = True
    p.add_run("{ total }} au plus tard le {{ deadline }}.")
    doc.save(tmp_path / "modele.docx")
    check_template_file(tmp_path / "modele.docx")
    from relance.documents.docx_letters import LetterRenderer
    LetterRenderer(tmp_path / "modele.docx").render({"total": "12,00 €", "deadline": "9 décembre"},
                                                   tmp_path / "out.docx")
    assert "Reste dû : 12,00 € au plus tard le 9 décembre." in \
        Document(tmp_path / "out.docx").paragraphs[0].text


def test_a_whole_loop_inside_one_table_cell_is_allowed(tmp_path):
    doc = Document()
    table = doc.add_table(rows=1, cols=1)
    table.cell(0, 0).text = "{% for f in invoices %}{{ f.number }} {% endfor %}"
    doc.save(tmp_path / "modele.docx")
    check_template_file(tmp_path / "modele.docx")


def test_typographic_quotes_inside_a_tag(tmp_path):
    doc = Document()
    doc.add_paragraph("{% if clientele == “business” %}Pénalités{% endif %}")
    doc.save(tmp_path / "modele.docx")
    refused(tmp_path, tmp_path / "modele.docx", "paragraphe 1", "guillemets typographiques",
            "guillemets droits")


def test_a_loop_in_a_table_without_the_row_form(tmp_path):
    doc = Document()
    doc.add_paragraph("Factures :")
    table = doc.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "{% for f in invoices %}{{ f.number }}"
    table.cell(0, 1).text = "{{ f.balance }}{% endfor %}"
    doc.save(tmp_path / "modele.docx")
    refused(tmp_path, tmp_path / "modele.docx", "{%tr for f in invoices %}", "ligne")


@pytest.mark.parametrize("suffix, needle", [(".doc", "97-2003"), (".dotx", "modèle Word")])
def test_legacy_or_template_files_are_refused(tmp_path, suffix, needle):
    template = tmp_path / f"modele{suffix}"
    shutil.copy2(Path(__file__).parents[1] / "templates" / "2e_relance.docx", template)
    refused(tmp_path, template, needle, "Document Word (.docx)")


def test_a_dotx_renamed_docx_is_refused_by_its_content_type(tmp_path):
    src = Path(__file__).parents[1] / "templates" / "2e_relance.docx"
    template = tmp_path / "modele.docx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(template, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"wordprocessingml.document.main+xml",
                                    b"wordprocessingml.template.main+xml")
            zout.writestr(item, data)
    refused(tmp_path, template, "n'est pas un document Word (.docx)")


def test_a_template_cannot_read_files(tmp_path):
    doc = Document()
    doc.add_paragraph("{% include '/etc/passwd' %}")
    doc.save(tmp_path / "modele.docx")
    err = refused(tmp_path, tmp_path / "modele.docx", "modele.docx")
    assert "root:" not in err


def test_a_template_cannot_reach_python_internals(tmp_path):
    doc = Document()
    doc.add_paragraph("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    doc.save(tmp_path / "modele.docx")
    refused(tmp_path, tmp_path / "modele.docx", "balise interdite")


def test_shipped_templates_pass_the_checks():
    root = Path(__file__).parents[1] / "templates"
    for name in ("2e_relance.docx", "2e_relance_en.docx"):
        check_template_file(root / name)


def test_no_rendered_letter_keeps_a_tag_but_braces_in_data_are_the_clients(tmp_path):
    doc = Document()
    doc.add_paragraph("Client : {{ client.name }}")
    doc.add_paragraph("{{ '{' ~ '{' }} reste")  # renders a literal "{{": must not go out
    doc.save(tmp_path / "bad.docx")
    from relance.documents.docx_letters import LetterRenderer
    context = {"client": {"name": "{{Evil}} & Co"}}
    with pytest.raises(RelanceError, match="balise non remplie"):
        LetterRenderer(tmp_path / "bad.docx").render(context, tmp_path / "out.docx")
    good = Document()
    good.add_paragraph("Client : {{ client.name }}")
    good.save(tmp_path / "good.docx")
    LetterRenderer(tmp_path / "good.docx").render(context, tmp_path / "ok.docx")
    assert leftover_tags(tmp_path / "ok.docx", context) == ""
    assert "{{Evil}} & Co" in Document(tmp_path / "ok.docx").paragraphs[0].text


def test_check_refuses_a_broken_tag_before_rendering(tmp_path):
    doc = Document()
    doc.add_paragraph("{{ client.name }")
    doc.save(tmp_path / "m.docx")
    with pytest.raises(RelanceError, match=re.escape("paragraphe 1")):
        check_template_file(tmp_path / "m.docx")
