"""Assembling a Ledger from the grids a reader produced (file or live workbook alike).

Which sheet holds the receivables: `Créances`; failing that, the first sheet whose header
row is recognised (a `Créances` sheet without a recognisable header is an error).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional

from ..journal import JOURNAL_SHEET, parse_journal
from ..model import Ledger, RelanceError, Settings
from ..values import fold, is_blank
from .grid import Grid
from .headers import find_header_row
from .receivables import (Receivables, Survey, complete_receivables, read_rows,
                          survey_receivables)
from .settings import SETTINGS_SHEET, parse_settings, unknown_keys

RECEIVABLES_SHEET = "Créances"


def find_sheet(names, wanted: str) -> Optional[str]:
    """The sheet named `wanted`, ignoring case and accents."""
    return next((n for n in names if fold(n) == fold(wanted)), None)


def choose_receivables(names: list, load: Callable[[str], Grid]) -> Grid:
    """The receivables grid, by SPEC.md's rule; `load` gives a sheet's grid (its table if any)."""
    named = find_sheet(names, RECEIVABLES_SHEET)
    if named is not None:
        return load(named)
    for name in names:
        if fold(name) in (fold(SETTINGS_SHEET), fold(JOURNAL_SHEET)):
            continue
        grid = load(name)
        if find_header_row(grid) is not None:
            return grid
    raise RelanceError(
        f"Aucune feuille « {RECEIVABLES_SHEET} » et aucune feuille dont une ligne d'en-têtes soit "
        f"reconnue (au moins trois colonnes telles que « N° facture », « Client », « Échéance », "
        f"« Montant TTC »). Feuilles du classeur : {', '.join(f'« {n} »' for n in names) or 'aucune'}.")


@dataclass(frozen=True)
class Assembly:
    """A ledger whose invoice rows are surveyed but not read yet: everything else is parsed
    (settings, journal). `complete` reads the rows; a caller may read them itself
    (`read_rows`) and plan from the lines it keeps (json_scan.py, for one part of a sheet)."""

    survey: Survey
    settings: Settings
    journal: tuple
    before: tuple  # anomalies reported before the receivables' (settings)
    after: tuple  # and after them (journal)
    source: str
    sheet: str
    csv: bool

    def ledger(self, invoices=(), anomalies=()) -> Ledger:
        return Ledger(invoices=tuple(invoices), settings=self.settings, journal=self.journal,
                      anomalies=self.before + tuple(anomalies) + self.after,
                      source=self.source, sheet=self.sheet, csv=self.csv)

    def with_journal(self, entries, anomalies) -> "Assembly":
        """More journal entries (journal.csv), their anomalies reported last."""
        return replace(self, journal=self.journal + tuple(entries),
                       after=self.after + tuple(anomalies))

    def complete(self) -> tuple[Ledger, Receivables]:
        """The ledger, every surveyed row read."""
        invoices, failed = read_rows(self.survey, 0, len(self.survey.indices))
        parsed = complete_receivables(self.survey, invoices, failed)
        return self.ledger(parsed.invoices, parsed.anomalies), parsed


def prepare(receivables: Grid, settings: Optional[Grid], journal: Optional[Grid],
            source: str) -> Assembly:
    parsed_settings = parse_settings(settings)
    if all(is_blank(v) for row in receivables.rows for v in row):
        what = f"Le fichier « {source} »" if receivables.csv else \
            f"La feuille « {receivables.sheet} » de {source}"
        raise RelanceError(f"{what} est vide : aucune facture à lire.")
    survey = survey_receivables(receivables, parsed_settings.month_first_dates)
    entries, journal_anomalies = ([], []) if journal is None else \
        parse_journal(journal.rows, journal.sheet, journal.first_row)
    return Assembly(survey, parsed_settings, tuple(entries), tuple(unknown_keys(settings)),
                    tuple(journal_anomalies), source, receivables.sheet, receivables.csv)


def assemble(receivables: Grid, settings: Optional[Grid], journal: Optional[Grid],
             source: str) -> tuple[Ledger, Receivables]:
    return prepare(receivables, settings, journal, source).complete()
