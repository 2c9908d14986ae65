"""Rendering letters with docxtpl, safely: templates are user files, never code.

Jinja runs sandboxed, autoescaped (so `Dupont & Fils <Nord>` prints as is) and strict (a
variable the code does not provide stops the run with the template's and variable's name:
never a blank in a legal letter).
"""
from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from docxtpl import DocxTemplate

from ..model import RelanceError, Settings
from .fast_docx import FastTemplate, Unsupported
from .template_check import check_template_file, leftover_tags
from .templating import (NOTHING_WRITTEN, TEMPLATE_FAILURES, sandbox, template_error,
                         unknown_variables)

SHIPPED = {"fr": "2e_relance.docx", "en": "2e_relance_en.docx"}


def jinja_env():
    return sandbox(autoescape=True)


def _rendered_parts(docx: Path) -> dict:
    import zipfile
    with zipfile.ZipFile(docx) as zf:
        return {n: zf.read(n) for n in zf.namelist()
                if re.match(r"word/(document|header\d*|footer\d*)\.xml$", n)}


def _may_hold_tags(parts: dict) -> bool:
    """A quick look before the paragraph-by-paragraph check: any brace pair at all?"""
    return any(re.search(rb"\{\{|\{%|%\}|\}\}", xml) for name, xml in parts.items()
               if name.startswith("word/"))


def shipped_template(language: str) -> Path:
    return Path(str(resources.files("relance.templates") / SHIPPED.get(language, SHIPPED["fr"])))


def template_for(language: str, settings: Settings, workbook_dir: Path) -> Path:
    """The user's `Modèle de lettre` (its `_en` sibling for English letters) or the shipped one."""
    custom = settings.letter_template.strip()
    if not custom:
        return shipped_template(language)
    path = Path(custom).expanduser()
    if not path.is_absolute():
        path = workbook_dir / path
    if not path.exists():
        raise RelanceError(f"Paramètre « Modèle de lettre » : fichier introuvable : {path}")
    if language == "en":
        sibling = path.with_name(f"{path.stem}_en{path.suffix}")
        return sibling if sibling.exists() else shipped_template("en")
    return path


class LetterRenderer:
    """Renders one template for many letters, checking it once before the first letter."""

    def __init__(self, template: Path):
        self.template = Path(template)
        self.env = jinja_env()
        self._checked = False
        self._fast = None  # FastTemplate, False when this template needs the plain path

    def check(self, context: dict) -> None:
        """Stop before any file is written when the template is not a .docx, has a tag Word
        broke, or names a variable we do not give."""
        check_template_file(self.template)
        try:
            tpl = DocxTemplate(str(self.template))
            unknown = tpl.get_undeclared_template_variables(self.env, context)
        except TEMPLATE_FAILURES as err:  # (check_template_file made sure it is a .docx)
            raise self._error(err) from None
        if unknown:
            raise unknown_variables(self.template.name, unknown)
        self._checked = True

    def render(self, context: dict, dest: Path, owner: str = "") -> None:
        """Write the letter; `owner` (workbook and client) goes in its document properties, so
        a later run knows whether a file of that name in a shared folder is its own."""
        if not self._checked:
            self.check(context)
        fast = self.fast()
        if fast:
            try:
                parts = fast.render(context, owner)
            except TEMPLATE_FAILURES as err:
                raise self._error(err) from None
            fast.zip.write(dest, parts)  # a full disk is a disk error, not the template's
        else:
            self._render_plain(context, dest, owner)
            parts = _rendered_parts(dest)
        left = leftover_tags(dest, context) if _may_hold_tags(parts) else ""
        if left:  # never a letter showing a tag to the client
            raise RelanceError(
                f"Le modèle « {self.template.name} » laisse une balise non remplie dans la lettre "
                f"(« {left} ») : retapez-la d'un seul tenant dans Word. {NOTHING_WRITTEN}")

    def fast(self):
        """The compiled template (documents/fast_docx), or None for the plain docxtpl loop."""
        if self._fast is None:
            try:
                self._fast = FastTemplate(self.template, self.env)
            except Unsupported:
                self._fast = False
        return self._fast or None

    def _render_plain(self, context: dict, dest: Path, owner: str) -> None:
        tpl = DocxTemplate(str(self.template))
        try:
            tpl.render(context, self.env, autoescape=True)
        except TEMPLATE_FAILURES as err:
            raise self._error(err) from None
        if owner:
            tpl.docx.core_properties.identifier = owner
        tpl.save(str(dest))

    def _error(self, err: Exception) -> RelanceError:
        near = " ".join(x.strip() for x in getattr(err, "docx_context", []) if x.strip())[:200]
        try:
            source = re.sub(r"<[^>]+>", "", DocxTemplate(str(self.template)).get_xml())
        except Exception:
            source = ""
        return template_error(self.template.name, err, source, near)
