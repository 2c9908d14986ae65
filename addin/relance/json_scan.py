"""`relance scan --json`: every invoice's line as JSON, fast on a large ledger.

On 100,000 rows, parsing the sheet takes about as long as reading the rows into invoices,
deciding their stages and writing their JSON. Two processes share both out from the start:
the sheet's XML, inflated once, is cut at a row in the middle; this process parses, reads,
classifies and encodes the first half, a forked copy of it (forking.py) the second half, each
also parsing the sheet's first rows (titles, header). What depends on the whole sheet is then
checked: the header, the order of day and month in text dates, a totals row that ends the first
half. Wherever the halves could say something else than one read of the sheet would, the sheet
is read whole instead. Midway, the halves swap the clients they write to and the invoice
numbers they read (numbers on several rows are flagged as one read flags them); each then
sends the other the lines of the clients the other plans, and both plan letters at once, half
the clients each (a client's rows lie in both halves). The answer is the plain path's, byte
for byte: tests run both on every test workbook.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Optional

from . import forking
from .letters import Line, classify, plan_clients, plan_run
from .model import Invoice, Stage
from .parallelism import keep_until_exit, share_out
from .reading import ahead
from .reading.receivables import decide_date_order, duplicate_numbers, read_rows, row_anomalies
from .reading.sheet_pieces import SheetPart
from .stages import label
from .values import DAY_FIRST, MONTH_FIRST
from .workbook_io import read


def scan_json(workbook: Path, as_of: date) -> tuple[list, tuple]:
    """(The JSON array of every invoice's line, in pieces to write one after the other: text,
    or UTF-8 bytes as the worker sent them; the run's anomalies)."""
    # Each half opens the file again (shared strings, styles, settings): a save by Excel
    # meanwhile would mix two versions, so the halves' answer holds only for an unchanged file
    stamp = ahead.file_stamp(workbook)
    halves = _halves(Path(workbook))
    if halves is not None:
        result = _scan_halves(Path(workbook), as_of, *halves)
        if result is not None and ahead.file_stamp(workbook) == stamp:
            return result
        del halves  # the sheet's XML: not kept while the sheet is read again
    return plain_scan_json(workbook, as_of)


def plain_scan_json(workbook: Path, as_of: date) -> tuple[list, tuple]:
    """The same answer, the sheet read whole by this process alone."""
    data, _, _ = read(Path(workbook), as_of)
    plan = plan_run(data.ledger, as_of)
    keep_until_exit(data, plan)
    return [lines_json(plan.lines)], plan.anomalies


def _halves(path: Path) -> Optional[tuple]:
    """The receivables sheet cut in two (SheetPart, SheetPart), when it is to be shared out:
    a `Créances` sheet large enough, of a workbook calamine reads, where a fork is safe."""
    import importlib.util
    import os
    if (path.suffix.lower() not in ahead.WORKBOOK_SUFFIXES
            or os.environ.get("RELANCE_READER", "calamine") != "calamine"
            or importlib.util.find_spec("python_calamine") is None):
        return None
    halves = ahead.take_halves(path)  # inflated and cut while the command started, if it was
    if halves is None:
        halves = ahead.receivables_halves(path, share_out)
    return halves if halves and forking.available() else None


def _scan_halves(path: Path, as_of: date, first: SheetPart, second: SheetPart
                 ) -> Optional[tuple[list, tuple]]:
    """The scan with the second half read by a worker; None when the halves do not give what
    one read gives for sure (or a half cannot be read: the sheet read whole says why).

    Midway, each side tells the other which clients it writes to and which invoice numbers
    it read; then each sends the other the lines of the clients the other plans (half the
    clients each), and both plan letters at once."""
    def worker_half(link):
        try:
            half = _Half.read(path, as_of, second, second=True)
        except Exception:  # noqa: BLE001 — bad input, or a sheet this way cannot read
            return _UNREADABLE
        link.send(half.meeting())
        half.meet(link.receive())
        link.send(_packed(half.lines_for(worker_plans=False)))
        half.encode()
        half.plan(half.lines_for(worker_plans=True), _unpacked(link.receive()))
        keep_until_exit(half)  # a worker of the command ends with os._exit: why free it
        return half.shipped()

    worker = forking.Worker(worker_half)
    try:
        mine = _Half.read(path, as_of, first, second=False)
        worker.send(mine.meeting())
        meeting = worker.receive()
        if meeting == _UNREADABLE:
            worker.stop()
            return None
        theirs = None  # the worker's half, when it comes back whole
        if meeting is not None:
            mine.meet(meeting)
            worker.send(_packed(mine.lines_for(worker_plans=True)))
            mine.encode()
            lines = worker.receive()
            if lines is not None:
                mine.plan(mine.lines_for(worker_plans=False), _unpacked(lines))
                theirs = worker.result()
        if theirs is None:  # the worker failed or could not start
            worker.stop()
            theirs = _Half.read(path, as_of, second, second=True)  # this process reads it too
            mine.alone_with(theirs)
    except Exception:  # noqa: BLE001 — a bad workbook, say: the whole read tells it as usual
        worker.stop()
        return None
    except BaseException:  # interrupted: the worker must not outlive the run
        worker.stop()
        raise
    if not mine.agrees_with(theirs):
        return None
    keep_until_exit(mine, theirs)
    return mine.joined(theirs)


# What the worker says of a half it could not read (a text date of each order, cells openpyxl
# must read…): the sheet is then read whole at once, which says what is wrong in its own words
# or reads it the way it must be read; this process would only fail the same way on that half.
_UNREADABLE = "second half unreadable"


def _plans_in_second(key: str) -> bool:
    """Whether the worker, which reads the second half, plans this client's letter: half the
    clients each, by a sum both processes compute alike whatever their hash seeds."""
    return zlib.crc32(key.encode("utf-8")) & 1 == 1


@dataclass
class _Half:
    """One half of a shared-out sheet: its rows read, staged and written as JSON, its share
    of the letters planned, and what the other half must agree with."""

    json: object  # the lines' JSON objects, comma separated (str; UTF-8 bytes once shipped)
    failed: dict  # grid row index -> (Anomaly, one per bad cell): rows that could not be read
    skipped: dict  # grid row index -> Anomaly: rows without an invoice number
    anomalies: list  # lines whose stage could not be decided
    due: set  # keys of the clients with a second_due invoice here
    sheet: tuple  # where the receivables are: header row, columns, first row and column, table,
    # invoices under the table (each half sees its own: the halves then disagree)
    month_first: bool
    date_evidence: dict  # order -> first text date found that reads only that way
    ambiguous_dates: bool  # a text date it read reads either way: the order decided it
    last_positional: bool  # its last row a totals row if it were the sheet's last
    has_rows: bool  # it holds non-blank rows of its own
    numbers: list  # the numbers of the invoices read…
    rows: list  # …and their sheet rows (for numbers on several rows)
    second: bool  # the half after the cut
    as_of: date
    lines: list = field(default_factory=list)  # the lines (kept in this process)
    keys: list = field(default_factory=list)  # each line's client key (kept in this process)
    month_first_setting: bool = False
    assembly: object = None  # kept in this process
    wanted: set = field(default_factory=set)  # the clients written to, in either half
    duplicated: set = field(default_factory=set)  # invoice numbers on several rows
    twice: list = field(default_factory=list)  # their anomalies
    plans: list = field(default_factory=list)  # (order, notes) of the clients planned here

    @classmethod
    def read(cls, path: Path, as_of: date, part: SheetPart, *, second: bool) -> "_Half":
        data, _, _ = read(path, as_of, defer_rows=True, part=part)
        assembly = data.assembly
        survey = assembly.survey
        invoices, failed = read_rows(survey, 0, len(survey.indices))
        lines, anomalies = classify(assembly.ledger(invoices), as_of)
        keys_of = {}  # id(client) -> key: rows share their client object
        keys = [keys_of.get(id(c)) or keys_of.setdefault(id(c), c.key)
                for c in (ln.invoice.client for ln in lines)]
        grid = survey.grid
        first_data = max(survey.header_index + 1, grid.part_start)
        return cls(
            json="", failed=failed, skipped=survey.skipped, anomalies=anomalies,
            due={key for key, ln in zip(keys, lines) if ln.stage is Stage.SECOND_DUE},
            sheet=(survey.header_index, survey.columns, grid.first_row, grid.first_col,
                   grid.table, survey.below_table),
            month_first=survey.month_first, date_evidence=dict(survey.date_evidence),
            ambiguous_dates=survey.ambiguous_dates, last_positional=survey.last_positional,
            has_rows=survey.last_index >= first_data, numbers=[inv.number for inv in invoices],
            rows=[inv.row for inv in invoices], second=second, as_of=as_of,
            lines=lines, keys=keys, month_first_setting=assembly.settings.month_first_dates,
            assembly=assembly)

    def meeting(self) -> tuple:
        """What the other half must know before letters are planned: the clients written to
        here, the invoice numbers read here and their rows."""
        return self.due, self.numbers, self.rows

    def meet(self, theirs: tuple) -> None:
        """The other half's `meeting()` taken in: the clients written to in either half, the
        invoice numbers on several rows of the sheet (no letter for those rows), flagged as
        one read flags them."""
        due, numbers, rows = theirs
        self.wanted = self.due | due
        if self.second:
            numbers, rows = numbers + self.numbers, rows + self.rows
        else:
            numbers, rows = self.numbers + numbers, self.rows + rows
        self.duplicated, self.twice = duplicate_numbers(numbers, rows, self.assembly.sheet)

    def lines_for(self, worker_plans: Optional[bool] = None) -> list:
        """This half's lines of the clients written to, but those of invoices numbered twice:
        of the clients the worker plans (`worker_plans` True), the others (False), or all."""
        wanted, duplicated = self.wanted, self.duplicated
        if not wanted:
            return []
        side = {}  # key -> whether the worker plans it: computed once per client
        for key in wanted if worker_plans is not None else ():
            side[key] = _plans_in_second(key) == worker_plans
        return [ln for ln, key in zip(self.lines, self.keys)
                if key in wanted and (worker_plans is None or side[key])
                and not (duplicated and ln.invoice.number in duplicated)]

    def plan(self, own: list, others: list) -> None:
        """The letters of this half's clients planned from the lines of both halves, in the
        sheet's order: only their notes are kept, with the order they take among all."""
        lines = others + own if self.second else own + others
        self.plans = [(p.order, p.notes)
                      for p in plan_clients(self.assembly.ledger(), lines, self.as_of)]

    def alone_with(self, theirs: "_Half") -> None:
        """Every client planned here, the second half read here too (no worker to share
        with)."""
        self.meet(theirs.meeting())
        theirs.meet(self.meeting())
        theirs.encode()
        self.encode()
        self.plan(self.lines_for(), theirs.lines_for())

    def encode(self) -> None:
        if not self.json:
            self.json = _json_items(self.lines)

    def shipped(self) -> "_Half":
        """What goes back from the worker: the JSON as the bytes to write (neither decoded nor
        encoded again on arrival), the notes of the clients it planned; not its lines."""
        return replace(self, json=self.json.encode("utf-8"), lines=[], keys=[], numbers=[],
                       rows=[], due=set(), assembly=None, wanted=set(), duplicated=set(),
                       twice=[])

    def agrees_with(self, theirs: "_Half") -> bool:
        """Whether this first half and the second say together what one read would say: the
        same header; no text dates of both orders (an error to report); a half whose text
        dates read either way read in the order the whole sheet decides; no last row of the
        first half that would be a totals row as the sheet's last, when it is (the second half
        has no row of its own)."""
        evidence = {**theirs.date_evidence, **self.date_evidence}
        order = decide_date_order(evidence, self.month_first_setting)
        return (self.sheet == theirs.sheet
                and not (DAY_FIRST in evidence and MONTH_FIRST in evidence)
                and all(half.month_first == order or not half.ambiguous_dates
                        for half in (self, theirs))
                and not (self.last_positional and not theirs.has_rows))

    def joined(self, theirs: "_Half") -> tuple[list, tuple]:
        """(The JSON pieces, the anomalies) of the whole sheet, as the plain path gives them:
        the notes of both halves' clients in the letters' order."""
        assembly = self.assembly
        ledger = assembly.ledger(anomalies=row_anomalies(
            assembly.survey, {**self.failed, **theirs.failed},
            {**self.skipped, **theirs.skipped}) + tuple(self.twice))
        notes = [note for _, notes in sorted(self.plans + theirs.plans, key=lambda p: p[0])
                 for note in notes]
        anomalies = ledger.anomalies + tuple(self.anomalies) + tuple(theirs.anomalies) + \
            tuple(notes)
        if not self.json or not theirs.json:  # a half without lines (every row unreadable)
            return ["[" + self.json, theirs.json, "]"], anomalies
        return ["[" + self.json + ", ", theirs.json, "]"], anomalies


# A Decimal pickles as a call to its class with its text, ten times slower than the text
# alone, and a date as a call too: on a ledger where most clients get a letter, the lines
# took longer to pickle than to read. They travel with their amounts as text and their dates
# as day numbers (a response is a date or a text: a number there is a date), rebuilt on
# arrival.
_DECIMAL_FIELDS = tuple(Invoice._fields.index(f) for f in ("amount", "paid", "balance_cell"))
_DATE_FIELDS = tuple(Invoice._fields.index(f) for f in (
    "due_date", "invoice_date", "payment_date", "first_reminder", "response",
    "second_reminder", "formal_notice"))


def _packed(lines) -> list:
    """The lines as pickle carries them fast: plain tuples, amounts as text, dates as day
    numbers, stage by value."""
    packed, day = [], date
    for inv, stage, balance, paid, late in lines:
        fields = list(inv)
        for k in _DECIMAL_FIELDS:
            if fields[k] is not None:
                fields[k] = str(fields[k])
        for k in _DATE_FIELDS:
            if type(fields[k]) is day:
                fields[k] = fields[k].toordinal()
        packed.append((fields, stage.value, None if balance is None else str(balance),
                       None if paid is None else str(paid), late))
    return packed


def _unpacked(packed: list) -> list:
    """The lines _packed packed, as they were."""
    stages, make, day = {s.value: s for s in Stage}, tuple.__new__, date.fromordinal
    lines = []
    for fields, stage, balance, paid, late in packed:
        for k in _DECIMAL_FIELDS:
            if fields[k] is not None:
                fields[k] = Decimal(fields[k])
        for k in _DATE_FIELDS:
            if type(fields[k]) is int:
                fields[k] = day(fields[k])
        lines.append(make(Line, (make(Invoice, fields), stages[stage],
                                 None if balance is None else Decimal(balance),
                                 None if paid is None else Decimal(paid), late)))
    return lines


def lines_json(lines) -> str:
    """The lines as one JSON array, exactly as `json.dumps` writes the list of objects
    {invoice, client, client_code, stage, stage_label, balance, due_date, days_late, row}
    (ensure_ascii off)."""
    return "[" + _json_items(lines) + "]"


def _json_items(lines) -> str:
    """The lines' JSON objects, comma separated, written directly: twice as fast as
    `json.dumps` on 100,000 lines. What repeats (a client, a stage, a due date) is encoded
    once, found by identity."""
    from json.encoder import encode_basestring as quote  # json's own C string encoder
    stages = {id(s): f'"stage": {quote(s.value)}, "stage_label": {quote(label(s))}'
              for s in Stage}
    clients, days = {}, {None: "null"}

    def client_json(client) -> str:
        text = clients[id(client)] = \
            f'"client": {quote(client.name)}, "client_code": {quote(client.code)}'
        return text

    def day_json(day) -> str:
        text = days[day] = f'"{day.isoformat()}"'
        return text

    return ", ".join([
        f'{{"invoice": {quote(inv.number)}, '
        f'{clients.get(id(inv.client)) or client_json(inv.client)}, {stages[id(ln.stage)]}, '
        f'"balance": {float(ln.balance)!r}, '
        f'"due_date": {days.get(inv.due_date) or day_json(inv.due_date)}, '
        f'"days_late": {ln.days_late}, "row": {inv.row}}}'
        for ln in lines for inv in (ln.invoice,)])
