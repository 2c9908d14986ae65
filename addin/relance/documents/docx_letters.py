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
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from ..model import RelanceError, Settings
from .template_check import check_template_file, leftover_tags

SHIPPED = {"fr": "2e_relance.docx", "en": "2e_relance_en.docx"}


def jinja_env() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


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

    def check(self, context: dict) -> None:
        """Stop before any file is written when the template is not a .docx, has a tag Word
        broke, or names a variable we do not give."""
        check_template_file(self.template)
        try:
            tpl = DocxTemplate(str(self.template))
            unknown = tpl.get_undeclared_template_variables(self.env, context)
        except TemplateSyntaxError as err:
            raise self._syntax_error(err) from None
        except Exception as err:  # not a Word document at all
            raise RelanceError(f"Le modèle « {self.template.name} » n'est pas un document Word "
                               f"lisible ({err}).") from None
        if unknown:
            names = ", ".join(f"« {n} »" for n in sorted(unknown))
            raise RelanceError(
                f"Le modèle « {self.template.name} » utilise une variable inconnue : {names}. "
                f"Corrigez la balise (la liste des variables est dans templates/VARIABLES.md) ; "
                f"aucune lettre n'a été écrite.")
        self._checked = True

    def render(self, context: dict, dest: Path, owner: str = "") -> None:
        """Write the letter; `owner` (workbook and client) goes in its document properties, so
        a later run knows whether a file of that name in a shared folder is its own."""
        if not self._checked:
            self.check(context)
        tpl = DocxTemplate(str(self.template))
        try:
            tpl.render(context, self.env, autoescape=True)
        except UndefinedError as err:
            raise RelanceError(
                f"Le modèle « {self.template.name} » utilise une variable inconnue "
                f"({self._undefined_name(err)}). Corrigez la balise (la liste des variables est "
                f"dans templates/VARIABLES.md) ; aucune lettre n'a été enregistrée.") from None
        except TemplateSyntaxError as err:
            raise self._syntax_error(err) from None
        except SecurityError as err:
            m = re.search(r"attribute '([^']+)'", str(err))
            what = f" (accès à « {m.group(1)} »)" if m else ""
            raise RelanceError(
                f"Le modèle « {self.template.name} » contient une balise interdite{what} : un "
                f"modèle ne peut utiliser que les variables de la lettre (templates/VARIABLES.md). "
                f"Aucune lettre n'a été enregistrée.") from None
        except (TemplateError, TypeError) as err:  # TypeError: {% include %} has no loader
            raise RelanceError(f"Le modèle « {self.template.name} » ne peut pas être rempli "
                               f"({str(err).rstrip('.')}) : un modèle ne peut utiliser que les "
                               f"variables de la lettre. Aucune lettre n'a été enregistrée.") from None
        if owner:
            tpl.docx.core_properties.identifier = owner
        tpl.save(str(dest))
        left = leftover_tags(dest, context)
        if left:  # never a letter showing a tag to the client
            raise RelanceError(
                f"Le modèle « {self.template.name} » laisse une balise non remplie dans la lettre "
                f"(« {left} ») : retapez-la d'un seul tenant dans Word. Aucune lettre n'a été "
                f"enregistrée.")

    def _syntax_error(self, err: TemplateSyntaxError) -> RelanceError:
        near = " ".join(x.strip() for x in getattr(err, "docx_context", []) if x.strip())[:200]
        return RelanceError(
            f"Le modèle « {self.template.name} » contient une balise mal formée ({err.message})"
            + (f", près de : « {near} »" if near else "")
            + ". Retapez la balise d'un seul tenant, avec des guillemets droits.")


    def _undefined_name(self, err: UndefinedError) -> str:
        """`client.nom` rather than Jinja's bare `nom`: the dotted name as the template writes it."""
        m = re.search(r"has no attribute '([^']+)'", str(err)) or \
            re.search(r"'([^']+)' is undefined", str(err))
        if not m:
            return str(err)
        name = m.group(1)
        try:
            text = DocxTemplate(str(self.template)).get_xml()
        except Exception:
            text = ""
        text = re.sub(r"<[^>]+>", "", text)
        dotted = re.search(r"[A-Za-z_][\w.]*\." + re.escape(name) + r"\b", text)
        return f"« {dotted.group(0) if dotted else name} »"
