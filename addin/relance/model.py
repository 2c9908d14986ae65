"""The plain, immutable records every layer shares: invoices, settings, letters, runs.

Nothing here reads a file, a workbook or the clock. Amounts are Decimal (to the cent),
dates are datetime.date.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple, Optional, Union


class RelanceError(Exception):
    """A problem the user must fix (bad input, missing settings): stops the run.

    `message` is French and complete; `where` names the sheet/cell when known.
    """

    def __init__(self, message: str, where: Optional["Location"] = None):
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Location:
    """Where a value was found: sheet (or file) name, 1-based row, column letter, header."""

    sheet: str  # the sheet, or the file name for a CSV
    row: int
    column: str = ""
    header: str = ""
    csv: bool = False

    @property
    def cell(self) -> str:
        return f"{self.column}{self.row}" if self.column else f"ligne {self.row}"

    def describe(self) -> str:
        place = f"fichier « {self.sheet} »" if self.csv else f"feuille « {self.sheet} »"
        text = f"{place}, cellule {self.cell}" if self.column else f"{place}, ligne {self.row}"
        if self.header:
            text += f" (colonne « {self.header} »)"
        return text


@dataclass(frozen=True)
class Anomaly:
    """A row-level problem reported to the user while the run goes on."""

    message: str
    where: Optional[Location] = None

    def describe(self) -> str:
        return f"{self.where.describe()} : {self.message}" if self.where else self.message


class ClientType(str, enum.Enum):
    BUSINESS = "business"
    PUBLIC = "public"
    CONSUMER = "consumer"


class Stage(str, enum.Enum):
    """The SPEC's stage codes, in the order their rules are tried."""

    CREDIT_NOTE = "credit_note"
    PAID = "paid"
    DISPUTED = "disputed"
    INSOLVENCY = "insolvency"
    FORMAL_NOTICE_SENT = "formal_notice_sent"
    NOT_DUE = "not_due"
    OVERDUE = "overdue"
    RESPONDED = "responded"
    FIRST_SENT = "first_sent"
    SECOND_DUE = "second_due"
    SECOND_SENT = "second_sent"
    FORMAL_NOTICE_DUE = "formal_notice_due"


# A client's response: a date, or a free text (a promise, a call note) with no date.
Response = Union[date, str, None]


@dataclass(frozen=True)
class Client:
    """Who a letter goes to, as read from the receivables rows."""

    name: str = ""
    code: str = ""
    contact: str = ""
    address: str = ""
    postcode: str = ""
    city: str = ""
    country: str = ""
    email: str = ""
    phone: str = ""
    language: str = "fr"
    client_type: Optional[ClientType] = None  # None: the cell was empty

    @property
    def key(self) -> str:
        """Grouping key: the client code, else the name ignoring case and surrounding spaces."""
        if self.code.strip():
            return "code:" + self.code.strip()
        return "name:" + self.name.strip().casefold()


class Invoice(NamedTuple):
    """One receivables row, with raw facts only: the balance depends on the as-of date.

    A named tuple (the beancount way): ledgers of 100,000 rows are read fast."""

    number: str
    client: Client
    due_date: Optional[date]
    amount: Optional[Decimal]
    invoice_date: Optional[date] = None
    paid: Optional[Decimal] = None
    balance_cell: Optional[Decimal] = None
    payment_date: Optional[date] = None
    first_reminder: Optional[date] = None
    response: Response = None
    second_reminder: Optional[date] = None
    formal_notice: Optional[date] = None
    disputed: bool = False
    insolvency: bool = False
    row: int = 0  # 1-based row in the sheet (or line in the CSV)
    excluded: str = ""  # why this row must not get a letter (duplicate number…), or ""


@dataclass(frozen=True)
class Company:
    name: str = ""
    legal_form: str = ""
    capital: str = ""
    address: str = ""
    postcode: str = ""
    city: str = ""
    siren: str = ""
    rcs: str = ""
    vat: str = ""
    phone: str = ""
    email: str = ""
    signatory: str = ""
    signatory_title: str = ""
    signatory_title_en: str = ""  # on English letters; the French title when empty


@dataclass(frozen=True)
class Payment:
    iban: str = ""
    bic: str = ""
    cheque_payee: str = ""
    link: str = ""
    cash: bool = False

    @property
    def any(self) -> bool:
        return bool(self.iban or self.cheque_payee or self.link or self.cash)


@dataclass(frozen=True)
class Smtp:
    """Where to send e-mails from. The password is never in the workbook: it comes from the
    RELANCE_SMTP_PASSWORD environment variable or the system keyring."""

    host: str = ""
    port: int = 0  # 0: the security's usual port (587 STARTTLS, 465 TLS, 25 none)
    security: str = "starttls"  # starttls, tls or none
    user: str = ""
    sender: str = ""  # From address; the company's e-mail when empty

    @property
    def configured(self) -> bool:
        return bool(self.host.strip())


@dataclass(frozen=True)
class Settings:
    """The `Paramètres` sheet, defaults applied."""

    company: Company = field(default_factory=Company)
    payment: Payment = field(default_factory=Payment)
    smtp: Smtp = field(default_factory=Smtp)
    second_reminder_delay: int = 15
    formal_notice_delay: int = 15
    payment_delay: int = 8
    penalty_rate: Optional[Decimal] = None  # percent per year, e.g. Decimal("12.5")
    public_interest_rate: Optional[Decimal] = None
    default_client_type: ClientType = ClientType.BUSINESS
    output_folder: str = ""
    letter_template: str = ""
    month_first_dates: bool = False
    channels: tuple = ("courrier", "email", "sms")  # what the Excel button produces
    pdf: bool = False
    send_email: bool = False
    present: bool = True  # False when the workbook has no `Paramètres` sheet
    # (section, attribute) -> Location of its value cell, so a message can name the cell
    cells: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class JournalEntry:
    """One row of the proof-of-diligence journal."""

    run_at: datetime
    as_of: date
    client_code: str
    client: str
    invoices: tuple  # invoice numbers (str)
    total: Decimal
    channel: str  # courrier, e-mail, sms
    status: str  # généré, brouillon, envoyé
    file: str
    stage: str  # e.g. "2e relance"
    credit_notes: tuple = ()  # credit notes the letter deducted, so no later letter does again


@dataclass(frozen=True)
class Ledger:
    """Everything a run reads: the invoices, the settings, the journal, and what was odd."""

    invoices: tuple
    settings: Settings
    journal: tuple = ()
    anomalies: tuple = ()
    source: str = ""  # file name, for messages
    sheet: str = ""  # receivables sheet name (the file name for a CSV)
    csv: bool = False

    def where(self, row: int) -> Location:
        return Location(self.sheet, row, csv=self.csv)
