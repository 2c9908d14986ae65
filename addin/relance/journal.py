"""The `Journal`: one row per document produced, the accountant's proof of diligence.

Pure: turning entries into rows and rows back into entries, and finding which invoices
already had their second reminder (so a run recorded only in the journal is not repeated).
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from .model import Anomaly, Client, JournalEntry, Location
from .values import cell_text, fold, is_blank, parse_amount, parse_date

JOURNAL_SHEET = "Journal"
HEADERS = ("Date et heure", "Date de référence", "Code client", "Client", "Factures", "Total dû",
           "Canal", "Statut", "Fichier", "Étape")
_FIELDS = ("run_at", "as_of", "client_code", "client", "invoices", "total", "channel", "status",
           "file", "stage")

SECOND_REMINDER = "2e relance"
CHANNELS = {"courrier": "courrier", "email": "e-mail", "sms": "sms"}  # CLI name -> journal name
GENERATED, DRAFT, SENT = "généré", "brouillon", "envoyé"

_SECOND_REMINDER_KEYS = {fold(SECOND_REMINDER), "secondreminder", "seconddue", "2emerelance",
                         "deuxiemerelance", "relance2"}


def to_row(entry: JournalEntry) -> list:
    """The values of one journal row, in HEADERS order (dates as dates, the total as a number)."""
    return [entry.run_at.replace(microsecond=0), entry.as_of, entry.client_code, entry.client,
            ", ".join(entry.invoices), float(entry.total), entry.channel, entry.status, entry.file,
            entry.stage]


def parse_journal(rows: list, sheet: str = JOURNAL_SHEET, first_row: int = 1):
    """Entries from the journal's rows (the first row holding the headers). Unreadable rows are
    reported and ignored: the journal is never rewritten, only read to avoid repeating a run."""
    if not rows:
        return [], []
    header = [fold(cell_text(v)) for v in rows[0]]
    index = {f: header.index(fold(h)) for f, h in zip(_FIELDS, HEADERS) if fold(h) in header}
    entries, anomalies = [], []
    for i, row in enumerate(rows[1:], start=1):
        def get(f):
            j = index.get(f)
            return row[j] if j is not None and j < len(row) else None
        if all(is_blank(v) for v in row):
            continue
        try:
            as_of = parse_date(get("as_of"))
            run_at = get("run_at")
            entries.append(JournalEntry(
                run_at=run_at if isinstance(run_at, datetime) else datetime.combine(
                    parse_date(run_at) or as_of or date.min, datetime.min.time()),
                as_of=as_of,
                client_code=cell_text(get("client_code")),
                client=cell_text(get("client")),
                invoices=tuple(n.strip() for n in re.split(r"[,;]", cell_text(get("invoices")))
                               if n.strip()),
                total=parse_amount(get("total")) or Decimal("0"),
                channel=cell_text(get("channel")),
                status=cell_text(get("status")),
                file=cell_text(get("file")),
                stage=cell_text(get("stage")),
            ))
        except ValueError as err:
            anomalies.append(Anomaly(f"ligne du journal illisible ({err}), ignorée",
                                     Location(sheet, first_row + i)))
    return entries, anomalies


def recorded_second_reminders(entries) -> dict:
    """(client key, invoice number) -> dates of the second-reminder documents the journal records."""
    recorded = defaultdict(list)
    for entry in entries:
        if fold(entry.stage) not in _SECOND_REMINDER_KEYS or entry.as_of is None:
            continue
        key = Client(name=entry.client, code=entry.client_code).key
        for number in entry.invoices:
            recorded[(key, number)].append(entry.as_of)
    return dict(recorded)
