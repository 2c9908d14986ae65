"""What the cell formulas compute, as plain functions (formulas.py only wraps them for Excel).

Arguments arrive as Excel passes them: a date cell as a datetime, a date in a cell formatted
General as its serial number, a date typed as text, an empty cell as None. All give the same
stage, through the same rules as the command line (stages.stage_of). A bad argument gives a
short French text in the cell instead of an Excel error nobody can read.
"""
from __future__ import annotations

from datetime import date

from .law import penalty
from .letters import classify
from .model import Ledger, RelanceError, Settings
from .reading.grid import Grid
from .reading.receivables import parse_receivables
from .stages import days_late, label, stage_of
from .values import (is_disputed, is_insolvent, parse_amount, parse_date, parse_int, parse_rate,
                     parse_response)

STAGE_HEADER = "Étape"


class ArgumentError(ValueError):
    """A formula argument that cannot be read; its text goes into the cell."""


def _date(value, name: str, required: bool = False):
    try:
        day = parse_date(value)
    except ValueError:
        raise ArgumentError(f"Erreur : {name} illisible") from None
    if day is None and required:
        raise ArgumentError(f"Erreur : {name} manquante")
    return day


def _delay(value, name: str, default: int) -> int:
    try:
        days = parse_int(value)
    except ValueError:
        raise ArgumentError(f"Erreur : {name} illisible") from None
    return default if days is None else days


def _reference(value, today: date | None) -> date:
    return _date(value, "date de référence") or today or date.today()


def stage_label(echeance, date_1ere_relance, reponse, reste_du, date_2e_relance=None,
                litige=None, date_mise_en_demeure=None, date_reference=None,
                delai_2e_relance=None, delai_mise_en_demeure=None, procedure_collective=None,
                today: date | None = None) -> str:
    """RELANCE_ETAPE: the French label of the invoice's stage (the 11th argument, the
    insolvency cell, goes beyond SPEC's signature so a cell formula can see it too)."""
    try:
        try:
            balance = parse_amount(reste_du)
        except ValueError:
            raise ArgumentError("Erreur : reste dû illisible") from None
        if balance is None:
            raise ArgumentError("Erreur : reste dû manquant")
        stage = stage_of(
            as_of=_reference(date_reference, today),
            balance=balance,
            due_date=_date(echeance, "échéance"),
            first_reminder=_date(date_1ere_relance, "date de 1ère relance"),
            response=parse_response(reponse),
            second_reminder=_date(date_2e_relance, "date de 2e relance"),
            formal_notice=_date(date_mise_en_demeure, "date de mise en demeure"),
            disputed=is_disputed(litige),
            insolvency=is_insolvent(procedure_collective),
            second_delay=_delay(delai_2e_relance, "délai 2e relance", 15),
            formal_notice_delay=_delay(delai_mise_en_demeure, "délai mise en demeure", 15),
        )
    except ArgumentError as err:
        return str(err)
    except ValueError as err:  # the due date was needed and is missing
        return f"Erreur : {err}"
    return label(stage)


def days_late_value(echeance, date_reference=None, today: date | None = None):
    """RELANCE_JOURS_RETARD: days between the due date and the reference date (0 if not late)."""
    try:
        due = _date(echeance, "échéance", required=True)
        return days_late(due, _reference(date_reference, today))
    except ArgumentError as err:
        return str(err)


def penalty_value(reste_du, echeance, taux, date_reference=None, today: date | None = None):
    """RELANCE_PENALITES: balance × rate × days late ÷ 365, to the cent (as a number)."""
    try:
        try:
            balance = parse_amount(reste_du)
        except ValueError:
            raise ArgumentError("Erreur : reste dû illisible") from None
        try:
            rate = parse_rate(taux)
        except ValueError:
            raise ArgumentError("Erreur : taux illisible") from None
        if rate is None:
            raise ArgumentError("Erreur : taux manquant")
        due = _date(echeance, "échéance", required=True)
        late = days_late(due, _reference(date_reference, today))
        if balance is None or balance <= 0:
            return 0.0
        return float(penalty(balance, rate, late))
    except ArgumentError as err:
        return str(err)


def stages_column(table, date_reference=None, delai_2e_relance=None,
                  delai_mise_en_demeure=None, today: date | None = None) -> list:
    """RELANCE_ETAPES: the stage of every row of the receivables table (header row included),
    computed in one call by the very parser and rules of the command line.

    Returns one cell per row of `table`: `Étape` for the header row (and rows above it),
    the stage label for an invoice, an error text for a row that cannot be read, and an
    empty text for blank and totals rows."""
    rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in (table or [])]
    if not rows:
        return [[""]]
    try:
        settings = Settings(second_reminder_delay=_delay(delai_2e_relance, "délai 2e relance", 15),
                            formal_notice_delay=_delay(delai_mise_en_demeure,
                                                       "délai mise en demeure", 15))
        as_of = _reference(date_reference, today)
    except ArgumentError as err:
        return [[str(err)]] * len(rows)
    grid = Grid("Créances", rows)
    try:
        parsed = parse_receivables(grid, settings.month_first_dates)
    except RelanceError as err:
        return [[f"Erreur : {err.message[:120]}"]] * len(rows)
    ledger = Ledger(invoices=parsed.invoices, settings=settings, sheet="Créances")
    lines, anomalies = classify(ledger, as_of)
    out = [[STAGE_HEADER] if i <= parsed.header_index else [""] for i in range(len(rows))]
    for line in lines:
        out[line.invoice.row - 1] = [label(line.stage)]
    for anomaly in (*parsed.anomalies, *anomalies):  # rows skipped: say why, briefly
        i = anomaly.where.row - 1 if anomaly.where else -1
        if parsed.header_index < i < len(rows) and out[i] == [""]:
            out[i] = [f"Erreur : {anomaly.message[:80]}"]
    return out
