"""The Jinja side of every template (letters, e-mails, SMS): a sandbox, and errors in French.

Templates are user files: they render in Jinja's sandbox (no Python internals, no file
access), strictly (an unknown variable is an error, never a blank), and any problem becomes
a RelanceError naming the template and what to fix.
"""
from __future__ import annotations

import re

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from ..model import RelanceError

NOTHING_WRITTEN = "Aucun document n'a été écrit."


def sandbox(**options) -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, **options)


def unknown_variables(name: str, names) -> RelanceError:
    names = sorted(names)
    listed = ", ".join(f"« {n} »" for n in names)
    word = "une variable inconnue" if len(names) == 1 else "des variables inconnues"
    return RelanceError(
        f"Le modèle « {name} » utilise {word} : {listed}. Corrigez la balise (la liste des "
        f"variables est dans templates/VARIABLES.md). {NOTHING_WRITTEN}")


def undefined_name(source: str, message: str) -> str:
    """`client.nom` rather than Jinja's bare `nom`: the dotted name as the template writes it."""
    m = re.search(r"has no attribute '([^']+)'", message) or \
        re.search(r"'([^']+)' is undefined", message)
    if not m:
        return message
    name = m.group(1)
    dotted = re.search(r"[A-Za-z_][\w.]*\." + re.escape(name) + r"\b", source)
    return dotted.group(0) if dotted else name


def template_error(name: str, err: Exception, source: str = "", near: str = "") -> RelanceError:
    """A Jinja failure (or the TypeError of `{% include %}`, which has no loader here) in words
    a user can act on."""
    if isinstance(err, RelanceError):
        return err
    if isinstance(err, UndefinedError):
        return unknown_variables(name, [undefined_name(source, str(err))])
    if isinstance(err, TemplateSyntaxError):
        where = f", près de : « {near} »" if near else (f", ligne {err.lineno}" if err.lineno else "")
        return RelanceError(
            f"Le modèle « {name} » contient une balise mal formée ({err.message}){where}. "
            f"Retapez la balise d'un seul tenant, avec des guillemets droits. {NOTHING_WRITTEN}")
    if isinstance(err, SecurityError):
        m = re.search(r"attribute '([^']+)'", str(err))
        what = f" (accès à « {m.group(1)} »)" if m else ""
        return RelanceError(
            f"Le modèle « {name} » contient une balise interdite{what} : un modèle ne peut "
            f"utiliser que les variables de la lettre (templates/VARIABLES.md). {NOTHING_WRITTEN}")
    if not isinstance(err, TemplateError):
        return RelanceError(
            f"Le modèle « {name} » provoque une erreur en se remplissant ({type(err).__name__} : "
            f"{str(err).rstrip('.')}) : vérifiez ses calculs et ses balises. {NOTHING_WRITTEN}")
    return RelanceError(
        f"Le modèle « {name} » ne peut pas être rempli ({str(err).rstrip('.')}) : un modèle ne "
        f"peut utiliser que les variables de la lettre. {NOTHING_WRITTEN}")


# Anything raised while Jinja fills a user's template comes from the template ({{ 1 // 0 }},
# a sandbox limit, {% include %} without a loader): the user's to fix, never an internal error.
TEMPLATE_FAILURES = (Exception,)
