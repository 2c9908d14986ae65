"""stages.py: SPEC.md's stage table (first match wins), its boundaries, the balance on the
as-of date, and second reminders recorded only in the Journal."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from relance.model import Client, Invoice, Settings, Stage
from relance.stages import balance_on, days_late, invoice_stage, last_second_reminder, stage_of

AS_OF = date(2026, 12, 1)
D2, D3 = 15, 15  # SPEC defaults: `Délai 2e relance`, `Délai mise en demeure`


def ago(days: int) -> date:
    return AS_OF - timedelta(days=days)


def later(days: int) -> date:
    return AS_OF + timedelta(days=days)


# An invoice 60 days late whose first reminder went out 20 days ago (so second_due by default).
BASE = dict(balance=Decimal("1000.00"), due_date=ago(60), first_reminder=ago(20))


def stage(**changes) -> Stage:
    facts = {**BASE, **changes}
    return stage_of(as_of=AS_OF, **facts)


# One case per row of the stage table, then precedence (first match wins) and boundaries.
CASES = [
    # --- every row of the table ---------------------------------------------------------
    ("credit_note: balance < 0", dict(balance=Decimal("-350.00")), Stage.CREDIT_NOTE),
    ("paid: balance = 0", dict(balance=Decimal("0")), Stage.PAID),
    ("disputed: dispute flag set", dict(disputed=True), Stage.DISPUTED),
    ("insolvency: insolvency flag set", dict(insolvency=True), Stage.INSOLVENCY),
    ("formal_notice_sent: formal notice date set", dict(formal_notice=ago(5)),
     Stage.FORMAL_NOTICE_SENT),
    ("not_due: as-of before due date", dict(due_date=later(10), first_reminder=None),
     Stage.NOT_DUE),
    ("overdue: no first reminder", dict(first_reminder=None), Stage.OVERDUE),
    ("responded: dated response after first reminder", dict(response=ago(10)), Stage.RESPONDED),
    ("first_sent: as-of < first reminder + D2", dict(first_reminder=ago(3)), Stage.FIRST_SENT),
    ("second_due: no second reminder yet", dict(), Stage.SECOND_DUE),
    ("second_sent: as-of < second reminder + D3", dict(second_reminder=ago(2)),
     Stage.SECOND_SENT),
    ("formal_notice_due: otherwise", dict(second_reminder=ago(30)), Stage.FORMAL_NOTICE_DUE),
    # --- precedence: the first matching rule wins ---------------------------------------
    ("credit note that is disputed is a credit note",
     dict(balance=Decimal("-350.00"), disputed=True), Stage.CREDIT_NOTE),
    ("credit note under insolvency is a credit note",
     dict(balance=Decimal("-10.00"), insolvency=True), Stage.CREDIT_NOTE),
    ("paid invoice that is disputed is paid", dict(balance=Decimal("0"), disputed=True),
     Stage.PAID),
    ("disputed invoice with a formal notice is disputed",
     dict(disputed=True, formal_notice=ago(5)), Stage.DISPUTED),
    ("disputed wins over insolvency", dict(disputed=True, insolvency=True), Stage.DISPUTED),
    ("insolvency wins over a formal notice", dict(insolvency=True, formal_notice=ago(5)),
     Stage.INSOLVENCY),
    ("formal notice wins over not yet due", dict(formal_notice=ago(1), due_date=later(5)),
     Stage.FORMAL_NOTICE_SENT),
    ("not yet due despite a first reminder", dict(due_date=later(5)), Stage.NOT_DUE),
    ("response wins over an old second reminder",
     dict(response=ago(10), second_reminder=ago(30)), Stage.RESPONDED),
    # --- boundaries -------------------------------------------------------------------
    ("due today is not due", dict(due_date=AS_OF, first_reminder=None), Stage.NOT_DUE),
    ("due yesterday is overdue", dict(due_date=ago(1), first_reminder=None), Stage.OVERDUE),
    ("first reminder exactly D2 days ago: second_due", dict(first_reminder=ago(D2)),
     Stage.SECOND_DUE),
    ("first reminder D2-1 days ago: first_sent", dict(first_reminder=ago(D2 - 1)),
     Stage.FIRST_SENT),
    ("first reminder today: first_sent", dict(first_reminder=AS_OF), Stage.FIRST_SENT),
    ("response before the first reminder does not count",
     dict(first_reminder=ago(20), response=ago(21)), Stage.SECOND_DUE),
    ("response before the first reminder, within D2: first_sent",
     dict(first_reminder=ago(5), response=ago(6)), Stage.FIRST_SENT),
    ("response on the first reminder day counts", dict(first_reminder=ago(20), response=ago(20)),
     Stage.RESPONDED),
    ("text response counts", dict(response="promet de payer fin du mois"), Stage.RESPONDED),
    ("blank text response does not count", dict(response="   "), Stage.SECOND_DUE),
    ("balance 0.004 rounds to 0: paid", dict(balance=Decimal("0.004")), Stage.PAID),
    ("balance -0.004 rounds to 0: paid", dict(balance=Decimal("-0.004")), Stage.PAID),
    ("balance 0.005 rounds to a cent: still due", dict(balance=Decimal("0.005")),
     Stage.SECOND_DUE),
    ("second reminder exactly D3 days ago: formal_notice_due", dict(second_reminder=ago(D3)),
     Stage.FORMAL_NOTICE_DUE),
    ("second reminder D3-1 days ago: second_sent", dict(second_reminder=ago(D3 - 1)),
     Stage.SECOND_SENT),
    ("second reminder today: second_sent", dict(second_reminder=AS_OF), Stage.SECOND_SENT),
    # --- events dated after the as-of date had not happened yet -------------------------
    ("first reminder after as-of is ignored", dict(first_reminder=later(1)), Stage.OVERDUE),
    ("response after as-of is ignored", dict(response=later(1)), Stage.SECOND_DUE),
    ("second reminder after as-of is ignored", dict(second_reminder=later(1)), Stage.SECOND_DUE),
    ("formal notice after as-of is ignored", dict(formal_notice=later(1)), Stage.SECOND_DUE),
    # --- custom delays -----------------------------------------------------------------
    ("D2=10: first reminder 10 days ago is second_due",
     dict(first_reminder=ago(10), second_delay=10), Stage.SECOND_DUE),
    ("D2=10: first reminder 9 days ago is first_sent",
     dict(first_reminder=ago(9), second_delay=10), Stage.FIRST_SENT),
    ("D2=30: first reminder 20 days ago is first_sent",
     dict(first_reminder=ago(20), second_delay=30), Stage.FIRST_SENT),
    ("D3=5: second reminder 5 days ago is formal_notice_due",
     dict(second_reminder=ago(5), formal_notice_delay=5), Stage.FORMAL_NOTICE_DUE),
    ("D3=5: second reminder 4 days ago is second_sent",
     dict(second_reminder=ago(4), formal_notice_delay=5), Stage.SECOND_SENT),
    ("D3=30: second reminder 20 days ago is second_sent",
     dict(second_reminder=ago(20), formal_notice_delay=30), Stage.SECOND_SENT),
]


@pytest.mark.parametrize("changes, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_stage_table(changes, expected):
    assert stage(**changes) is expected


def test_every_stage_of_the_spec_is_covered_by_the_table_cases():
    assert {c[2] for c in CASES} == set(Stage)


def test_missing_due_date_on_an_open_invoice_raises():
    with pytest.raises(ValueError):
        stage(due_date=None)


def test_days_late_counts_calendar_days():
    assert days_late(date(2026, 3, 1), date(2026, 3, 11)) == 10


def test_days_late_is_never_negative():
    assert days_late(later(5), AS_OF) == 0


# --- Invoice-level: balance on the as-of date, then the stage ------------------------------

def invoice(**changes) -> Invoice:
    facts = dict(number="FA-1", client=Client(name="Dupont", code="CL001"), due_date=ago(60),
                 amount=Decimal("1000.00"), first_reminder=ago(20))
    facts.update(changes)
    return Invoice(**facts)


@pytest.mark.parametrize("changes, expected", [
    (dict(payment_date=ago(3)), "0.00"),
    (dict(payment_date=AS_OF), "0.00"),  # on the as-of date: paid
    (dict(payment_date=ago(3), paid=Decimal("1000.00")), "0.00"),
    (dict(payment_date=ago(3), paid=Decimal("400.00")), "600.00"),  # Montant réglé says less
    (dict(payment_date=later(1)), "1000.00"),  # paid after as-of: wholly open then
    (dict(payment_date=later(1), paid=Decimal("1000.00")), "1000.00"),
    (dict(payment_date=later(1), paid=Decimal("1000.00"), balance_cell=Decimal("0.00")),
     "1000.00"),
    (dict(balance_cell=Decimal("123.45"), paid=Decimal("100.00")), "123.45"),  # Reste dû wins
    (dict(balance_cell=Decimal("0.00")), "0.00"),
    (dict(amount=Decimal("1000.10"), paid=Decimal("300.05")), "700.05"),  # amount - paid
    (dict(), "1000.00"),  # nothing paid
    (dict(amount=Decimal("-350.00")), "-350.00"),  # credit note
], ids=["paid-before", "paid-on-as-of", "paid-in-full", "paid-less", "paid-after",
        "paid-after-with-amount", "paid-after-with-zero-cell", "reste-du-cell", "reste-du-zero",
        "amount-minus-paid", "nothing-paid", "credit-note"])
def test_balance_on(changes, expected):
    assert balance_on(invoice(**changes), AS_OF) == Decimal(expected)


def test_payment_date_after_as_of_makes_the_invoice_open_on_that_day():
    inv = invoice(payment_date=later(1), paid=Decimal("1000.00"))
    assert invoice_stage(inv, AS_OF, Settings()) is Stage.SECOND_DUE


def test_payment_date_on_as_of_makes_the_invoice_paid():
    assert invoice_stage(invoice(payment_date=AS_OF), AS_OF, Settings()) is Stage.PAID


def test_invoice_stage_uses_the_settings_delays():
    inv = invoice(first_reminder=ago(20))
    assert invoice_stage(inv, AS_OF, Settings(second_reminder_delay=21)) is Stage.FIRST_SENT
    assert invoice_stage(inv, AS_OF, Settings(second_reminder_delay=20)) is Stage.SECOND_DUE


def test_invoice_stage_uses_the_formal_notice_delay_setting():
    inv = invoice(second_reminder=ago(10))
    assert invoice_stage(inv, AS_OF, Settings(formal_notice_delay=10)) is Stage.FORMAL_NOTICE_DUE
    assert invoice_stage(inv, AS_OF, Settings(formal_notice_delay=11)) is Stage.SECOND_SENT


# --- second reminders recorded only in the Journal -----------------------------------------

def test_last_second_reminder_from_the_cell():
    assert last_second_reminder(invoice(second_reminder=ago(5)), [], AS_OF) == ago(5)


def test_last_second_reminder_from_the_journal_only():
    assert last_second_reminder(invoice(), [ago(5)], AS_OF) == ago(5)


def test_last_second_reminder_takes_the_latest_seen():
    assert last_second_reminder(invoice(second_reminder=ago(40)), [ago(20), ago(5)], AS_OF) == ago(5)


def test_last_second_reminder_ignores_dates_after_as_of():
    assert last_second_reminder(invoice(second_reminder=later(2)), [later(1)], AS_OF) is None


def test_second_reminder_recorded_only_in_the_journal_makes_it_second_sent():
    assert invoice_stage(invoice(), AS_OF, Settings(), recorded_second=[ago(3)]) is Stage.SECOND_SENT


def test_old_journal_record_makes_it_formal_notice_due():
    assert invoice_stage(invoice(), AS_OF, Settings(), recorded_second=[ago(D3)]) is \
        Stage.FORMAL_NOTICE_DUE


def test_journal_record_after_as_of_is_ignored():
    assert invoice_stage(invoice(), AS_OF, Settings(), recorded_second=[later(1)]) is \
        Stage.SECOND_DUE


def test_journal_record_on_the_as_of_date_counts():
    assert invoice_stage(invoice(), AS_OF, Settings(), recorded_second=[AS_OF]) is Stage.SECOND_SENT
