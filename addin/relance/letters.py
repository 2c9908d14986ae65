"""From invoices to letters: the stage of every invoice on the run's date, then one letter per
client covering all of its `second_due` invoices, with the amounts the letter states.

Pure: the ledger and the as-of date in, a Plan out.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields, replace
from typing import NamedTuple
from datetime import date
from decimal import Decimal
from typing import Optional

from . import law
from .journal import recorded_second_reminders, reminded_on
from .model import Anomaly, Client, ClientType, Invoice, Ledger, Location, Settings, Stage
from .stages import balance_on, days_late, invoice_stage, paid_on
from .formatting import money
from .values import fold

OTHER_OVERDUE = (Stage.OVERDUE, Stage.FIRST_SENT)


class Line(NamedTuple):
    """One invoice at its stage on the run's date (OCA's "credit control line")."""

    invoice: Invoice
    stage: Stage
    balance: Decimal
    paid: Decimal
    days_late: int


if Line._fields != ("invoice", "stage", "balance", "paid", "days_late"):
    raise RuntimeError("Line a changé : mettez à jour classify, qui fait ses lignes à la main")


@dataclass(frozen=True)
class Letter:
    """One client's second reminder: what it claims and what it states beside the claim."""

    client: Client
    client_type: ClientType
    type_defaulted: bool
    lines: tuple  # the second_due invoices claimed
    credit_notes: tuple  # the client's credit notes, deducted
    others: tuple  # the client's invoices at the overdue and first_sent stages
    first_reminders: tuple  # dates of the first reminders these invoices got
    invoices_total: Decimal
    credit_total: Decimal  # negative or zero
    total: Decimal  # claimed: invoices_total + credit_total
    rate: Optional[Decimal]
    penalties: tuple  # per line, None when no rate applies
    penalty_total: Optional[Decimal]
    indemnity_total: Decimal
    deadline: date
    cash: bool

    @property
    def numbers(self) -> tuple:
        return tuple(line.invoice.number for line in self.lines)


@dataclass(frozen=True)
class Plan:
    """A run decided: every invoice's line, the letters to write, what to tell the user."""

    as_of: date
    lines: tuple
    letters: tuple
    anomalies: tuple

    @property
    def responded(self) -> tuple:
        return tuple(line for line in self.lines if line.stage is Stage.RESPONDED)

    @property
    def defaulted_type_count(self) -> int:
        return sum(1 for letter in self.letters if letter.type_defaulted)



def classify(ledger: Ledger, as_of: date) -> tuple[list, list]:
    """Every invoice's line on the as-of date; rows whose stage cannot be decided are reported.

    Written for 100,000 invoices: names bound locally, lines made as plain tuples, and the
    journal consulted only for the invoices it mentions."""
    recorded = recorded_second_reminders(ledger.journal)
    lines, anomalies = [], []
    settings = ledger.settings
    append, make, stage_of_invoice = lines.append, tuple.__new__, invoice_stage
    for inv in ledger.invoices:
        balance = balance_on(inv, as_of)
        try:
            stage = stage_of_invoice(inv, as_of, settings, reminded_on(recorded, inv.number,
                                                                       inv.client)
                                     if inv.number in recorded else (), balance)
        except ValueError as err:
            anomalies.append(Anomaly(f"facture {inv.number} : {err}, ignorée",
                                     ledger.where(inv.row)))
            continue
        due = inv.due_date
        late = days_late(due, as_of) if due is not None and balance > 0 else 0
        append(make(Line, (inv, stage, balance, paid_on(inv, as_of, balance), late)))
    return lines, anomalies


def plan_run(ledger: Ledger, as_of: date) -> Plan:
    lines, anomalies = classify(ledger, as_of)
    letters, notes = plan_letters(ledger, lines, as_of)
    return Plan(as_of, tuple(lines), tuple(letters),
                tuple(ledger.anomalies) + tuple(anomalies) + tuple(notes))


def plan_letters(ledger: Ledger, lines, as_of: date) -> tuple[list, list]:
    """The run's letters, and what to tell about them, client by client in the letters'
    order. Only the lines of clients with a second_due invoice matter: `lines` may hold those
    alone (the ledger gives the settings, the journal and the sheet's name)."""
    plans = plan_clients(ledger, lines, as_of)
    return [p.letter for p in plans if p.letter is not None], notes_of(plans)


def plan_clients(ledger: Ledger, lines, as_of: date) -> list:
    """`client_plans` with the ledger's settings, sheet and journal."""
    return client_plans(lines, as_of, ledger.settings, ledger.where,
                        recorded_second_reminders(ledger.journal, credit_notes=True),
                        recorded_second_reminders(ledger.journal))


def notes_of(plans) -> list:
    return [note for plan in plans for note in plan.notes]


class ClientPlan(NamedTuple):
    """One client's part of a run: its letter (None when its credit notes cover what it
    owes) and what to tell about it. `order` sorts letters and notes alike, so that plans
    made apart (a shared-out scan plans half the clients in each process) merge as one."""

    order: tuple
    letter: Optional["Letter"]
    notes: list


def client_plans(lines, as_of: date, settings: Settings,
                 where=lambda row: Location("", row), deducted=None, recorded=None) -> list:
    """One plan per client with second_due invoices, sorted by client name; `where(row)`
    names a row in messages.

    `deducted` (from the journal: credit note -> earlier second reminders that deducted it)
    keeps a credit note from being deducted twice: a client who paid both letters would
    otherwise have used it twice. `recorded` (invoice -> second reminders in the journal)
    tells of a run dated before a second reminder already made."""
    lines = lines if isinstance(lines, (list, tuple)) else list(lines)  # read twice below
    second_due, credit_note = Stage.SECOND_DUE, Stage.CREDIT_NOTE
    by_client = defaultdict(list)
    keys = {}  # id(client) -> its key: rows share their client object, keys are computed once
    for line in lines:
        if line.stage is second_due and not line.invoice.excluded:
            client = line.invoice.client
            if id(client) not in keys:
                keys[id(client)] = client.key
    wanted = set(keys.values())  # the clients with a letter; the others' rows are not needed
    # key -> the first row of each distinct client it names: rows read alike share their
    # client object (a reader builds one per distinct set of cells), so that row says what
    # all of them say, and a client of 50 rows is looked at once
    firsts_of = defaultdict(list)
    met = set()  # the client objects seen
    distinct = set()  # their values: rows read apart (by two processes) make equal objects
    for line in lines if wanted else ():
        inv = line.invoice
        if not inv.excluded:
            client = id(inv.client)
            key = keys.get(client)
            if key is None:
                key = keys[client] = inv.client.key
            if key in wanted:
                by_client[key].append(line)
                if client not in met:
                    met.add(client)
                    if inv.client not in distinct:
                        distinct.add(inv.client)
                        firsts_of[key].append(inv)
    plans = []
    for key, client_lines in by_client.items():
        due = [ln for ln in client_lines if ln.stage is second_due]
        if not due:
            continue
        used = _already_deducted(client_lines, deducted, as_of) if deducted else {}
        kept = [ln for ln in client_lines if not (
            ln.stage is credit_note and ln.invoice.number in used)] if used else client_lines
        firsts = firsts_of[key]
        letter = _letter(kept, due, merged_client(firsts), as_of, settings)
        here, order = where(due[0].invoice.row), (fold(letter.client.name), key)
        notes = [Anomaly(f"{letter.client.name} : avoir {number} déjà déduit par la 2e relance "
                         f"du {day:%d/%m/%Y} ; il n'est pas déduit de nouveau", here)
                 for number, day in used.items()]
        notes += [Anomaly(f"{letter.client.name} : {text}", here)
                  for text in client_warnings(letter, firsts)]
        if letter.total <= 0:
            notes.append(Anomaly(
                f"{letter.client.name} : les avoirs ({money(letter.credit_total)}) couvrent les "
                f"factures à relancer ({money(letter.invoices_total)}) ; pas de lettre, "
                f"imputez les avoirs", here))
            letter = None
        else:
            notes += _reminded_after(letter, recorded or {}, where, as_of)
        plans.append(ClientPlan(order, letter, notes))
    plans.sort(key=lambda plan: plan.order)
    return plans


def _reminded_after(letter: Letter, recorded: dict, where, as_of: date) -> list:
    """A run dated before a second reminder already recorded sees the ledger as it stood then
    and reminds again: say so, since it is rarely what the accountant meant."""
    out = []
    for line in letter.lines:
        inv = line.invoice
        later = [d for d in (inv.second_reminder, *(reminded_on(recorded, inv.number, inv.client)
                                                    if inv.number in recorded else ()))
                 if d and d > as_of]
        if later:
            out.append(Anomaly(
                f"facture {inv.number} : une 2e relance est déjà enregistrée le "
                f"{max(later):%d/%m/%Y}, après la date de référence ; au {as_of:%d/%m/%Y}, "
                f"elle est de nouveau à relancer", where(inv.row)))
    return out


def _already_deducted(client_lines, deducted: dict, as_of: date) -> dict:
    """The client's open credit notes that an earlier second reminder (recorded by the as-of
    date) already deducted: number -> date of the latest such letter."""
    out = {}
    for ln in client_lines:
        if ln.stage is Stage.CREDIT_NOTE and ln.invoice.number in deducted:
            days = [d for d in reminded_on(deducted, ln.invoice.number, ln.invoice.client)
                    if d <= as_of]
            if days:
                out[ln.invoice.number] = max(days)
    return out


_POSTAL = (("address", "Adresse"), ("postcode", "Code postal"), ("city", "Ville"))
_CONFLICTS = (("name", "nom différent"), ("address", "adresse différente"),
              ("email", "e-mail différent"))


def client_warnings(letter: Letter, firsts: list) -> list:
    """What the accountant should check before posting a letter: a missing postal address,
    rows of the same client that disagree (the first filled one is used). `firsts`: the
    first of the client's rows that say each distinct thing of it (see client_plans)."""
    texts = []
    missing = [label for attr, label in _POSTAL if not getattr(letter.client, attr).strip()]
    if missing and not (letter.client.address.strip() and letter.client.country.strip()):
        texts.append("adresse postale incomplète (" + ", ".join(missing) + ") : complétez-la "
                     "avant de poster la lettre")
    for attr, label in _CONFLICTS if len(firsts) > 1 else ():
        seen = {}
        for inv in firsts:
            value = getattr(inv.client, attr).strip()
            if value and value.casefold() not in seen:
                seen[value.casefold()] = inv.row
        if len(seen) > 1:
            listed = ", ".join(str(r) for r in seen.values())
            texts.append(f"{label} selon les lignes ({listed}) : la valeur de la ligne "
                         f"{min(seen.values())} est retenue")
    return texts


def merged_client(firsts: list) -> Client:
    """One client from its rows (the first of each distinct client object): each field from
    the first row where it is filled."""
    if len(firsts) == 1 and firsts[0].client.language in ("fr", "en"):
        return firsts[0].client  # the usual letter: that row's client as it is
    values = {}
    for f in fields(Client):
        for inv in firsts:
            value = getattr(inv.client, f.name)
            if value not in ("", None):
                values[f.name] = value
                break
    values["language"] = next((inv.client.language for inv in firsts
                               if inv.client.language == "en"), "fr")
    return replace(firsts[0].client, **values)


def _letter(client_lines, due, client: Client, as_of: date, settings: Settings) -> Letter:
    kind, defaulted = law.client_type(client, settings)
    credit, others = [], []
    for ln in client_lines:
        if ln.stage is Stage.CREDIT_NOTE:
            credit.append(ln)
        elif ln.stage in OTHER_OVERDUE:
            others.append(ln)
    invoices_total = sum((ln.balance for ln in due), Decimal("0.00"))
    credit_total = sum((ln.balance for ln in credit), Decimal("0.00"))
    total = invoices_total + credit_total
    rate = law.annual_rate(kind, settings)
    penalties = tuple(law.penalty(ln.balance, rate, ln.days_late) if rate is not None else None
                      for ln in due)
    return Letter(
        client=client,
        client_type=kind,
        type_defaulted=defaulted,
        lines=tuple(due),
        credit_notes=tuple(credit),
        others=tuple(others),
        first_reminders=tuple(sorted({ln.invoice.first_reminder for ln in due})),
        invoices_total=invoices_total,
        credit_total=credit_total,
        total=total,
        rate=rate,
        penalties=penalties,
        penalty_total=sum(penalties, Decimal("0.00")) if rate is not None else None,
        indemnity_total=law.INDEMNITY * len(due) if law.indemnity_due(kind) else Decimal("0.00"),
        deadline=law.payment_deadline(as_of, settings.payment_delay),
        cash=law.cash_allowed(total, settings),
    )
