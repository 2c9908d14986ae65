"""The `Journal`: one row per document produced, the accountant's proof of diligence.

Pure: turning entries into rows and rows back into entries, and finding which invoices
already had their second reminder (so a run recorded only in the journal is not repeated).
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from .model import Anomaly, JournalEntry, Location
from .values import cell_text, fold, is_blank, parse_amount, parse_date

JOURNAL_SHEET = "Journal"
HEADERS = ("Date et heure", "Date de référence", "Code client", "Client", "Factures", "Total dû",
           "Canal", "Statut", "Fichier", "Étape")
_FIELDS = ("run_at", "as_of", "client_code", "client", "invoices", "total", "channel", "status",
           "file", "stage")

SECOND_REMINDER = "2e relance"
CREDIT_NOTE_MARK = "avoir "  # before a credit note's number in `Factures`: deducted, not claimed
CHANNELS = {"courrier": "courrier", "email": "e-mail", "sms": "sms"}  # CLI name -> journal name
GENERATED, DRAFT, SENT = "généré", "brouillon", "envoyé"

_SECOND_REMINDER_KEYS = {fold(SECOND_REMINDER), "secondreminder", "seconddue", "2emerelance",
                         "deuxiemerelance", "relance2"}


def to_row(entry: JournalEntry) -> list:
    """The values of one journal row, in HEADERS order (dates as dates, the total as a number)."""
    numbers = entry.invoices + tuple(CREDIT_NOTE_MARK + n for n in entry.credit_notes)
    return [entry.run_at.replace(microsecond=0), entry.as_of, entry.client_code, entry.client,
            ", ".join(numbers), float(entry.total), entry.channel, entry.status, entry.file,
            entry.stage]


def split_numbers(cell) -> tuple[tuple, tuple]:
    """(invoice numbers, credit notes deducted) of a `Factures` cell:
    `FA-12, FA-13, avoir AV-2` is FA-12 and FA-13 claimed, AV-2 deducted."""
    items = [n.strip() for n in re.split(r"[,;]", cell_text(cell)) if n.strip()]
    mark = CREDIT_NOTE_MARK.casefold()
    credits = tuple(n[len(mark):].strip() for n in items if n.casefold().startswith(mark))
    return tuple(n for n in items if not n.casefold().startswith(mark)), credits


def find_header(rows: list) -> tuple[int, dict] | None:
    """The journal's header row within the first 20 (title rows above it are allowed) and the
    column of each header found there: the reader and the writer use this one rule."""
    wanted = {fold(h): h for h in HEADERS}
    for i, row in enumerate(rows[:20]):
        found = {}
        for j, value in enumerate(row):
            header = wanted.get(fold(cell_text(value)))
            if header and header not in found:
                found[header] = j
        if len(found) >= 3:
            return i, found
    return None


def _unquote(value):
    """A CSV journal cell written as `'=…` (so Excel does not run it) reads back as `=…`."""
    if isinstance(value, str) and value[:1] == "'" and value[1:2] in ("=", "+", "-", "@"):
        return value[1:]
    return value


def parse_journal(rows: list, sheet: str = JOURNAL_SHEET, first_row: int = 1, csv: bool = False):
    """Entries from the journal's rows. Rows without a reference date (a totals row, notes)
    are not records; unreadable ones are reported and ignored: the journal is never
    rewritten, only read so that a run is not repeated."""
    found = find_header(rows)
    if found is None:
        return [], []
    header_index, columns = found
    index = {f: columns[h] for f, h in zip(_FIELDS, HEADERS) if h in columns}
    entries, anomalies = [], []
    for i in range(header_index + 1, len(rows)):
        row = rows[i]

        def get(f):
            j = index.get(f)
            return _unquote(row[j]) if j is not None and j < len(row) else None
        if is_blank(get("as_of")):
            continue
        try:
            as_of = parse_date(get("as_of"))
            run_at = get("run_at")
            numbers = split_numbers(get("invoices"))
            entries.append(JournalEntry(
                run_at=run_at if isinstance(run_at, datetime) else datetime.combine(
                    parse_date(run_at) or as_of, datetime.min.time()),
                as_of=as_of,
                client_code=cell_text(get("client_code")),
                client=cell_text(get("client")),
                invoices=numbers[0],
                credit_notes=numbers[1],
                total=parse_amount(get("total")) or Decimal("0"),
                channel=cell_text(get("channel")),
                status=cell_text(get("status")),
                file=cell_text(get("file")),
                stage=cell_text(get("stage")),
            ))
        except ValueError as err:
            anomalies.append(Anomaly(f"ligne du journal illisible ({err}), ignorée",
                                     Location(sheet, first_row + i, csv=csv)))
    return entries, anomalies


def recorded_second_reminders(entries, credit_notes: bool = False) -> dict:
    """invoice number -> (client code, folded client name, date) of each second-reminder
    document the journal records; `reminded_on` picks those of one invoice's client. With
    `credit_notes`, the same for the credit notes those letters deducted."""
    recorded = defaultdict(list)
    for entry in entries:
        if fold(entry.stage) not in _SECOND_REMINDER_KEYS or entry.as_of is None:
            continue
        for number in entry.credit_notes if credit_notes else entry.invoices:
            recorded[number].append((entry.client_code.strip(), fold(entry.client), entry.as_of))
    return dict(recorded)


def reminded_on(recorded: dict, number: str, client) -> list:
    """Dates the journal records a second reminder of this invoice of this client.

    The same client: same code, or same name (so a name corrected while the code stayed, or
    a code added later, still matches); another company's invoice that happens to bear the
    same number, in a journal shared by several files, does not."""
    entries = recorded.get(number)
    if not entries:
        return []
    code, name = client.code.strip(), fold(client.name)
    return [day for entry_code, entry_name, day in entries
            if (code and entry_code == code) or (name and entry_name == name)]


def recorded_files(entries) -> set:
    """The output files the journal records (as written there), so none is overwritten."""
    return {entry.file for entry in entries if entry.file}


def second_reminder_entries(outputs, run_at: datetime, as_of, base) -> list:
    """One journal entry per document of the run: each output is (letter, {channel: path}, status).

    Paths are shown relative to `base` (the workbook's folder) when inside it."""
    entries = []
    for letter, files, statuses in outputs:
        for channel, path in files.items():
            if channel not in CHANNELS:  # a PDF is the letter again, not another document
                continue
            try:
                shown = str(path.relative_to(base))
            except ValueError:
                shown = str(path)
            entries.append(JournalEntry(
                run_at=run_at, as_of=as_of, client_code=letter.client.code,
                client=letter.client.name, invoices=letter.numbers, total=letter.total,
                channel=CHANNELS[channel], status=statuses.get(channel, GENERATED), file=shown,
                stage=SECOND_REMINDER,
                credit_notes=tuple(ln.invoice.number for ln in letter.credit_notes)))
    return entries
