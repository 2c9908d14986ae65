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
    """The run's letters, and what to tell about them. Only the lines of clients with a
    second_due invoice matter: `lines` may hold those alone (the ledger gives the settings,
    the journal and the sheet's name)."""
    letters, skipped = build_letters(lines, as_of, ledger.settings, ledger.where,
                                     recorded_second_reminders(ledger.journal, credit_notes=True))
    return letters, skipped + _reminded_after(letters, ledger, as_of)


def _reminded_after(letters, ledger: Ledger, as_of: date) -> list:
    """A run dated before a second reminder already recorded sees the ledger as it stood then
    and reminds again: say so, since it is rarely what the accountant meant."""
    recorded = recorded_second_reminders(ledger.journal)
    out = []
    for letter in letters:
        for line in letter.lines:
            inv = line.invoice
            later = [d for d in (inv.second_reminder, *reminded_on(recorded, inv.number, inv.client))
                     if d and d > as_of]
            if later:
                out.append(Anomaly(
                    f"facture {inv.number} : une 2e relance est déjà enregistrée le "
                    f"{max(later):%d/%m/%Y}, après la date de référence ; au {as_of:%d/%m/%Y}, "
                    f"elle est de nouveau à relancer", ledger.where(inv.row)))
    return out


def build_letters(lines, as_of: date, settings: Settings,
                  where=lambda row: Location("", row), deducted=None) -> tuple[list, list]:
    """One letter per client with second_due invoices; `where(row)` names a row in messages.

    `deducted` (from the journal: credit note -> earlier second reminders that deducted it)
    keeps a credit note from being deducted twice: a client who paid both letters would
    otherwise have used it twice."""
    lines = lines if isinstance(lines, (list, tuple)) else list(lines)  # read twice below
    by_client = defaultdict(list)
    keys = {}  # id(client) -> its key: rows share their client object, keys are computed once
    for line in lines:
        if line.stage is Stage.SECOND_DUE and not line.invoice.excluded:
            client = line.invoice.client
            if id(client) not in keys:
                keys[id(client)] = client.key
    wanted = set(keys.values())  # the clients with a letter; the others' rows are not needed
    for line in lines if wanted else ():
        inv = line.invoice
        if not inv.excluded:
            key = keys.get(id(inv.client))
            if key is None:
                key = keys[id(inv.client)] = inv.client.key
            if key in wanted:
                by_client[key].append(line)
    letters, skipped = [], []
    for key, client_lines in by_client.items():
        due = [ln for ln in client_lines if ln.stage is Stage.SECOND_DUE]
        if not due:
            continue
        used = _already_deducted(client_lines, deducted or {}, as_of)
        letter = _letter([ln for ln in client_lines if not (
            ln.stage is Stage.CREDIT_NOTE and ln.invoice.number in used)], due, as_of, settings)
        here = where(due[0].invoice.row)
        skipped += [Anomaly(f"{letter.client.name} : avoir {number} déjà déduit par la 2e relance "
                            f"du {day:%d/%m/%Y} ; il n'est pas déduit de nouveau", here)
                    for number, day in used.items()]
        skipped += [Anomaly(f"{letter.client.name} : {text}", here)
                    for text in client_warnings(letter, [ln.invoice for ln in client_lines])]
        if letter.total <= 0:
            skipped.append(Anomaly(
                f"{letter.client.name} : les avoirs ({money(letter.credit_total)}) couvrent les "
                f"factures à relancer ({money(letter.invoices_total)}) ; pas de lettre, "
                f"imputez les avoirs", here))
            continue
        letters.append(letter)
    letters.sort(key=lambda lt: (fold(lt.client.name), lt.client.key))
    return letters, skipped


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


def client_warnings(letter: Letter, rows: list) -> list:
    """What the accountant should check before posting a letter: a missing postal address,
    rows of the same client that disagree (the first filled one is used)."""
    texts = []
    missing = [label for attr, label in _POSTAL if not getattr(letter.client, attr).strip()]
    if missing and not (letter.client.address.strip() and letter.client.country.strip()):
        texts.append("adresse postale incomplète (" + ", ".join(missing) + ") : complétez-la "
                     "avant de poster la lettre")
    firsts = _first_rows(rows)
    for attr, label in _CONFLICTS:
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


def _first_rows(rows: list) -> list:
    """The first row of each client object among `rows`, in their order: rows read alike
    share their client object (the readers build one per distinct set of cells), so its
    first row says what all of them say, and a client of 50 rows is looked at once."""
    first_of = {}
    for inv in rows:
        first_of.setdefault(id(inv.client), inv)
    return list(first_of.values())


def merged_client(rows: list) -> Client:
    """One client from all its rows: each field from the first row where it is filled."""
    rows = _first_rows(rows) if len(rows) > 1 else rows
    if len(rows) == 1 and rows[0].client.language in ("fr", "en"):
        return rows[0].client  # the usual letter: that row's client as it is
    values = {}
    for f in fields(Client):
        for inv in rows:
            value = getattr(inv.client, f.name)
            if value not in ("", None):
                values[f.name] = value
                break
    values["language"] = next((inv.client.language for inv in rows if inv.client.language == "en"),
                              "fr")
    return replace(rows[0].client, **values)


def _letter(client_lines, due, as_of: date, settings: Settings) -> Letter:
    client = merged_client([ln.invoice for ln in client_lines])
    kind, defaulted = law.client_type(client, settings)
    credit = tuple(ln for ln in client_lines if ln.stage is Stage.CREDIT_NOTE)
    others = tuple(ln for ln in client_lines if ln.stage in OTHER_OVERDUE)
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
        credit_notes=credit,
        others=others,
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
