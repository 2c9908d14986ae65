"""Checking a letter template the way a Word user can act on it: which paragraph, what to fix.

Word edits tags in ways that break them silently: it splits `{{` with formatting (the tag is
then printed as text), turns straight quotes into typographic ones, and a loop written in a
table cell needs docxtpl's row form. These checks run on the template's XML before any
letter is written; `leftover_tags` runs on every letter rendered.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from docxtpl import DocxTemplate
from lxml import etree

from ..model import RelanceError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PARTS = re.compile(r"^word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$")
_TYPOGRAPHIC = "“”‘’«»„‚"
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def _paragraphs(xml: bytes):
    """(number, text, in a table cell, raw XML text) of each paragraph, in reading order."""
    root = etree.fromstring(xml)
    for n, p in enumerate(root.iter(f"{W}p"), start=1):
        text = "".join(t.text or "" for t in p.iter(f"{W}t"))
        in_cell = any(a.tag == f"{W}tc" for a in p.iterancestors())
        yield n, text, in_cell, etree.tostring(p, encoding="unicode")


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 70 else text[:67] + "…"


def check_template_file(path: Path) -> None:
    """Refuse, with what to do, a file that is not a .docx document or a tag Word broke."""
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix == ".doc":
        raise RelanceError(f"Le modèle « {name} » est au format Word 97-2003 (.doc) : ouvrez-le "
                           f"dans Word et enregistrez-le au format « Document Word (.docx) ».")
    if suffix in (".dotx", ".dotm", ".docm"):
        raise RelanceError(f"Le modèle « {name} » est un {'modèle Word' if suffix.startswith('.dot') else 'document avec macros'} "
                           f"({suffix}) : ouvrez-le dans Word et enregistrez-le au format "
                           f"« Document Word (.docx) ».")
    try:
        with zipfile.ZipFile(path) as zf:
            parts = {n: zf.read(n) for n in zf.namelist() if _PARTS.match(n)}
            types = zf.read("[Content_Types].xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        raise RelanceError(f"Le modèle « {name} » n'est pas un document Word .docx lisible : "
                           f"enregistrez-le depuis Word au format .docx.") from None
    if "wordprocessingml.document.main+xml" not in types:
        raise RelanceError(f"Le modèle « {name} » n'est pas un document Word (.docx) : "
                           f"enregistrez-le depuis Word au format « Document Word (.docx) ».")
    for part, xml in parts.items():
        where = "" if part == "word/document.xml" else \
            (" (en-tête)" if "header" in part else " (pied de page)")
        for n, text, in_cell, raw in _paragraphs(xml):
            _check_paragraph(name, where, n, text, in_cell, raw)


def _check_paragraph(name: str, where: str, n: int, text: str, in_cell: bool, raw: str) -> None:
    def fail(problem: str, fix: str):
        raise RelanceError(f"Le modèle « {name} », paragraphe {n}{where} (« {_quote(text)} ») : "
                           f"{problem}. {fix} Aucune lettre n'a été écrite.")
    for tag in _TAG.findall(text):
        if any(q in tag for q in _TYPOGRAPHIC):
            fail(f"la balise {_quote(tag)} contient des guillemets typographiques",
                 "Retapez-les en guillemets droits (' ou \"), par exemple après avoir désactivé "
                 "la correction automatique des guillemets dans Word.")
    loops = [t for t in _TAG.findall(text) if re.match(r"\{%-?\s*(for|endfor)\b", t)]
    if in_cell and sum(1 if "endfor" not in t else -1 for t in loops) != 0:
        fail("une boucle commencée dans une case de tableau doit répéter la ligne entière",
             "Écrivez {%tr for f in invoices %} seul dans une ligne du tableau et "
             "{%tr endfor %} seul dans une autre ligne (ou toute la boucle dans la même case).")
    # a tag seen in the text that docxtpl's own repair (patch_xml) cannot put back together
    visible = re.findall(r"\{\{|\{%|%\}|\}\}", text)
    patched = DocxTemplate.patch_xml(None, raw)
    in_xml = re.findall(r"\{\{|\{%|%\}|\}\}", re.sub(r"<[^>]+>", "\u0000", patched))
    if len(visible) != len(in_xml) or _unbalanced(text):
        fail("une balise est coupée ou incomplète (Word l'a sans doute découpée en appliquant "
             "une mise en forme ou une correction)",
             "Sélectionnez la balise entière, effacez-la et retapez-la d'un seul tenant, "
             "sans changer sa mise en forme au milieu.")


def _unbalanced(text: str) -> bool:
    opened = text.count("{{") + text.count("{%")
    closed = text.count("}}") + text.count("%}")
    return opened != closed


def leftover_tags(docx: Path, context: dict | None = None) -> str:
    """The first paragraph of a rendered letter still showing a tag (`{{`, `{%`), or "".

    Braces that come from the data (a client named `{{Evil}}`) are the client's, not a tag."""
    data = sorted({v for v in _strings(context or {}) if re.search(r"[{}%]", v)}, key=len,
                  reverse=True)
    with zipfile.ZipFile(docx) as zf:
        parts = [zf.read(n) for n in zf.namelist() if _PARTS.match(n)]
    for xml in parts:
        for _, text, _, _ in _paragraphs(xml):
            bare = text
            for value in data:
                bare = bare.replace(value, "")
            if re.search(r"\{\{|\{%|%\}|\}\}", bare):
                return _quote(text)
    return ""


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)
