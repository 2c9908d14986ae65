"""The reminder stage of an invoice on a given day: SPEC.md's stage table, in one place.

Everything (the CLI, the ribbon button, the cell formulas) calls `stage_of` or
`invoice_stage`; the first matching rule wins.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Optional

from .model import Invoice, Response, Settings, Stage
from .values import CENT, to_cents

LABELS_FR = {
    Stage.CREDIT_NOTE: "Avoir",
    Stage.PAID: "Payée",
    Stage.DISPUTED: "En litige",
    Stage.INSOLVENCY: "Procédure collective",
    Stage.FORMAL_NOTICE_SENT: "Mise en demeure envoyée",
    Stage.NOT_DUE: "Non échue",
    Stage.OVERDUE: "Échue, 1ère relance à envoyer",
    Stage.RESPONDED: "Réponse reçue",
    Stage.FIRST_SENT: "1ère relance envoyée",
    Stage.SECOND_DUE: "2e relance à envoyer",
    Stage.SECOND_SENT: "2e relance envoyée",
    Stage.FORMAL_NOTICE_DUE: "Mise en demeure à envoyer",
}

def label(stage: Stage) -> str:
    """The stage as the accountant reads it (the SPEC's French labels)."""
    return LABELS_FR[stage]


def stage_of(
    *,
    as_of: date,
    balance: Decimal,
    due_date: Optional[date],
    first_reminder: Optional[date] = None,
    response: Response = None,
    second_reminder: Optional[date] = None,
    formal_notice: Optional[date] = None,
    disputed: bool = False,
    insolvency: bool = False,
    second_delay: int = 15,
    formal_notice_delay: int = 15,
) -> Stage:
    """The stage table of SPEC.md. Raises ValueError when the due date is needed and missing."""
    balance = to_cents(Decimal(balance))  # a formula may pass 0.004: that is paid
    return _stage(as_of, balance, due_date, first_reminder, response, second_reminder,
                  formal_notice, disputed, insolvency, second_delay, formal_notice_delay)


def _stage(as_of, balance, due_date, first_reminder, response, second_reminder, formal_notice,
           disputed, insolvency, second_delay, formal_notice_delay) -> Stage:
    """The table itself, the balance already to the cent."""
    if balance < 0:
        return Stage.CREDIT_NOTE
    if balance == 0:
        return Stage.PAID
    if disputed:
        return Stage.DISPUTED
    if insolvency:
        return Stage.INSOLVENCY
    if formal_notice is not None and formal_notice <= as_of:  # events after as-of: not yet
        return Stage.FORMAL_NOTICE_SENT
    if due_date is None:
        raise ValueError("échéance manquante")
    if as_of <= due_date:
        return Stage.NOT_DUE
    first = first_reminder
    if first is None or first > as_of:
        return Stage.OVERDUE
    if _answers(response, first, as_of):
        return Stage.RESPONDED
    if as_of < first + timedelta(days=second_delay):
        return Stage.FIRST_SENT
    second = second_reminder
    if second is None or second > as_of:
        return Stage.SECOND_DUE
    if as_of < second + timedelta(days=formal_notice_delay):
        return Stage.SECOND_SENT
    return Stage.FORMAL_NOTICE_DUE


def _answers(response: Response, first_reminder: date, as_of: date) -> bool:
    """A dated response answers the first reminder when dated on/after it (and by the as-of date);
    a text response (a promise, a call note) always counts."""
    if response is None or (isinstance(response, str) and not response.strip()):
        return False
    if isinstance(response, date):
        return first_reminder <= response <= as_of
    return True


def balance_on(invoice: Invoice, as_of: date) -> Optional[Decimal]:
    """What was still due on the as-of date, from the amount, the payments and the payment date."""
    amount, paid = invoice.amount, invoice.paid
    if invoice.payment_date is None and invoice.balance_cell is None and amount is not None:
        # the usual row, first: amount less what was paid, to the cent
        return (amount - (paid or 0)).quantize(CENT, ROUND_HALF_UP)
    if invoice.payment_date is not None:
        if invoice.payment_date > as_of:
            return amount if amount is not None else invoice.balance_cell
        if paid is None or amount is None or paid >= amount:
            return Decimal("0.00")
    if invoice.balance_cell is not None:
        return invoice.balance_cell
    if amount is None:
        return None
    return to_cents(amount - (paid or 0))


def paid_on(invoice: Invoice, as_of: date, balance: Optional[Decimal] = None) -> Decimal:
    balance = balance_on(invoice, as_of) if balance is None else balance
    if invoice.amount is None or balance is None:
        return invoice.paid or Decimal("0.00")
    return invoice.amount - balance  # both to the cent


def last_second_reminder(invoice: Invoice, recorded: Iterable[date], as_of: date) -> Optional[date]:
    """The second reminder as of that day: the cell's date or a Journal record, the latest seen."""
    if not recorded:  # the usual case, quickly
        second = invoice.second_reminder
        return second if second is not None and second <= as_of else None
    dates = [d for d in (invoice.second_reminder, *recorded) if d is not None and d <= as_of]
    return max(dates) if dates else None


def invoice_stage(invoice: Invoice, as_of: date, settings: Settings,
                  recorded_second: Iterable[date] = (), balance: Optional[Decimal] = None) -> Stage:
    balance = balance_on(invoice, as_of) if balance is None else balance
    if balance is None:
        raise ValueError("montant manquant")
    second = invoice.second_reminder
    if recorded_second:
        second = last_second_reminder(invoice, recorded_second, as_of)
    elif second is not None and second > as_of:  # not sent yet on that day
        second = None
    return _stage(as_of, balance, invoice.due_date, invoice.first_reminder, invoice.response,
                  second, invoice.formal_notice, invoice.disputed, invoice.insolvency,
                  settings.second_reminder_delay, settings.formal_notice_delay)


def days_late(due_date: date, as_of: date) -> int:
    """Due 1 March, as of 11 March: 10 days late; never negative."""
    return max(0, (as_of - due_date).days)
