"""Parsing the receivables block (`Créances` or a CSV) into invoices, with per-row anomalies.

Pure: a Grid in, invoices and anomalies out. A problem with one row is reported and the
row skipped; a problem with the sheet as a whole (missing column, ambiguous date order)
raises RelanceError.
"""
from __future__ import annotations

import functools
import re
from itertools import repeat
from operator import itemgetter
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple, Optional

from ..model import Anomaly, Client, Invoice, Location, RelanceError
from ..values import (AMBIGUOUS, AMOUNT_LIMIT, CENT, DAY_FIRST, MONTH_FIRST, cell_text,
                      is_blank, is_disputed, is_insolvent, parse_amount, parse_client_type,
                      parse_date, parse_language, parse_response, strip_accents,
                      text_date_order)
from .grid import Grid, column_letter
from .headers import (DATE_FIELDS, FIELDS, HEADER_SCAN_ROWS, REQUIRED, canonical,
                      find_header_row, headers_found, match_row)
from .header_hints import DECISIVE, hint_text, misspellings, tax_amounts


@dataclass(frozen=True)
class Receivables:
    """What the sheet holds: the invoices, the anomalies, and where the columns are."""

    invoices: tuple
    anomalies: tuple
    header_index: int  # index in grid.rows of the header row
    columns: dict  # field -> column index in the grid
    month_first: bool
    last_index: int  # index in grid.rows of the last row read


@dataclass(frozen=True)
class Survey:
    """The sheet-wide pass over the receivables, before the rows are read one by one: where the
    columns are, the day/month order, which rows hold invoices and their numbers. For a part
    of a sheet shared out between processes (grid.part_start), the pass covers that part's
    rows, and says what the parts must agree on (see json_scan.py)."""

    grid: Grid
    header_index: int
    columns: dict
    month_first: bool
    last_index: int
    indices: list  # grid row indexes of the invoice rows, in order
    numbers: list  # their invoice numbers, as shown
    skipped: dict  # grid row index -> Anomaly: rows without a number, ignored
    notes: list  # anomalies about the sheet as a whole (unknown columns)
    reader: "_RowReader"
    # What a part of a shared-out sheet (grid.part_start) needs to agree with the others on:
    # the first text date found that only reads day-first / month-first ({order: (Location,
    # text)}), whether some text date reads either way, and whether the last row was taken for
    # a totals row because it is the last (in a part that stops before the sheet's end: would
    # be, were it the sheet's last).
    date_evidence: dict = None
    ambiguous_dates: bool = False
    last_positional: bool = False
    below_table: Optional[tuple] = None  # invoices typed under the Excel table (invoices_below)


def parse_receivables(grid: Grid, month_first_setting: bool = False) -> Receivables:
    survey = survey_receivables(grid, month_first_setting)
    return complete_receivables(survey, *read_rows(survey, 0, len(survey.indices)))


def invoices_below(grid: Grid, columns: dict) -> Optional[tuple]:
    """(The table's last row, first, last, how many) of the rows under the Excel table that
    look like invoices typed there: a number (not « Total »), an amount that reads as one
    (a header row's « Montant TTC » does not), and a client or a due date. Notes, labelled
    sums and totals are not. None when there is none."""
    if not grid.below_table:
        return None
    end, rows = grid.below_table

    def cell(row, field):
        j = columns.get(field)
        return row[j] if j is not None and j < len(row) else None

    def amount(row):
        for field in ("amount", "balance"):
            value = cell(row, field)
            if type(value) in (int, float):  # the usual cell, without parsing it
                return True
            try:
                if value is not None and parse_amount(value) is not None:
                    return True
            except ValueError:
                pass
        return False

    def number(row):
        value = cell(row, "invoice")
        text = cell_text(value) if value is not None else ""
        return text and not (text[:1] in "TtSs" and _says_total(text))

    found = [end + 1 + k for k, row in enumerate(rows)
             if number(row) and amount(row)
             and any(not is_blank(cell(row, f)) for f in ("client", "client_code", "due_date"))]
    return (end, found[0], found[-1], len(found)) if found else None


def _other_amounts(ignored: list, missing: list) -> str:
    """When the amount due is missing, why a pre-tax or tax amount found instead is not it."""
    taxes = tax_amounts(ignored) if "amount" in missing else []
    if not taxes:
        return ""
    verb = "n'est pas le montant réclamé" if len(taxes) == 1 else \
        "ne sont pas le montant réclamé"
    return (f" {_quote_list(taxes)} {verb} : une relance porte sur le montant TTC (toutes "
            f"taxes comprises).")


def _below_table_note(grid: Grid, below: tuple) -> Anomaly:
    """Invoices typed under the Excel table: Excel did not take them in (a table grows only
    when one types right under its last row), so they are not read."""
    end, first, last, count = below
    what = ("1 facture", "elle n'est pas lue") if count == 1 else \
        (f"{count} factures (jusqu'à la ligne {last})", "elles ne sont pas lues")
    return Anomaly(
        f"{what[0]} sous le tableau Excel « {grid.table} », qui s'arrête à la ligne {end} : "
        f"hors du tableau, {what[1]}. Agrandissez le tableau pour les y inclure (Création de "
        f"tableau > Redimensionner le tableau).", Location(grid.sheet, first))


def survey_receivables(grid: Grid, month_first_setting: bool = False) -> Survey:
    found = find_header_row(grid)
    if found is None:
        seen = headers_found(grid)
        raise RelanceError(
            f"{grid.place} : ligne d'en-têtes introuvable dans les {HEADER_SCAN_ROWS} premières "
            f"lignes (il faut au moins trois colonnes connues, par exemple « N° facture », « Client », "
            f"« Échéance », « Montant TTC »). En-têtes vus : {_quote_list(seen) or 'aucun'}.")
    header_index, columns = found
    ignored = [cell_text(v) for j, v in enumerate(grid.rows[header_index])
               if cell_text(v) and j not in columns.values()]
    missing = [f for f in REQUIRED if f not in columns]
    if "client" not in columns and "client_code" not in columns:
        missing.append("client")
    if missing:
        names = " et ".join(f"« {canonical(f)} »" for f in missing)
        raise RelanceError(
            f"{grid.place} : colonne {names} introuvable (ligne d'en-têtes "
            f"{grid.first_row + header_index}). En-têtes trouvés : "
            f"{_quote_list(headers_found(grid, header_index))}."
            f"{hint_text(misspellings(ignored, missing))}{_other_amounts(ignored, missing)}")
    decisive = misspellings(ignored, [f for f in DECISIVE if f not in columns], strict=True)
    if decisive:
        raise RelanceError(
            f"{grid.place}, ligne d'en-têtes {grid.first_row + header_index} : "
            + " ".join(f"L'en-tête « {written} »{_where_header(grid, header_index, written)} "
                       f"n'est pas reconnu, mais ressemble à « {canonical(f)} », une colonne "
                       f"qui décide des factures à relancer ou des montants réclamés."
                       for written, f in decisive)
            + " Si c'est bien elle, renommez l'en-tête ainsi ; sinon, donnez-lui un nom qui ne "
              "s'y confonde pas. Rien n'a été lu ni écrit.")
    headers = {f: cell_text(grid.value(header_index, j)) for f, j in columns.items()}

    first_data = max(header_index + 1, grid.part_start)  # rows before: another process's
    data = list(range(first_data, len(grid.rows)))
    month_first, evidence, ambiguous = _date_order(grid, data, columns, headers,
                                                   month_first_setting)

    inv_col = columns["invoice"]
    body = grid.rows[first_data:]
    cells = _column(body, inv_col)
    non_blank = [i for i, v in zip(data, cells)
                 if (v is not None and (type(v) is not str or v.strip()))
                 or not _is_blank_row(grid, i, columns)]
    last = non_blank[-1] if non_blank else header_index
    anomalies = {}  # grid row index -> Anomaly, reported in row order
    rows = grid.rows
    if len(non_blank) < len(data):
        cells = [cells[i - first_data] for i in non_blank]
        body = list(map(rows.__getitem__, non_blank))
    if grid.has_formats and not all(type(v) is str for v in cells):  # numbers shown so
        numbers = invoice_numbers(cells, grid.column_formats(non_blank, inv_col))
    else:
        numbers = [v.strip() if type(v) is str else invoice_number(v) for v in cells]
    # Rows that may be totals or lack a number, found in one pass (`""[:1]` is in any string)
    firsts = cells if inv_col == 0 else _column(body, 0)
    suspects = [p for p, (first, number) in enumerate(zip(firsts, numbers))
                if number[:1] in "TtSs " or (type(first) is str and first[:1] in "TtSs ")]
    dropped, positional = set(), False
    for p in suspects:
        i, number, row = non_blank[p], numbers[p], rows[non_blank[p]]
        if _is_totals(row, number, i == last and grid.ends_sheet, columns, grid, i):
            dropped.add(p)
            positional = positional or (i == last and not _is_totals(row, number, False,
                                                                        columns, grid, i))
        elif not number:
            dropped.add(p)
            anomalies[i] = Anomaly("ligne sans numéro de facture, ignorée", grid.location(i))
            # a part that stops before the sheet's end: would its last row, were it the
            # sheet's, be taken for totals?
            positional = positional or (i == last and not grid.ends_sheet
                                        and _is_totals(row, number, True, columns, grid, i))
    # the header row repeated lower down (an export that repeats it on each page): no
    # invoice, nothing to report
    if headers["invoice"] in numbers:
        dropped.update(p for p, n in enumerate(numbers) if n == headers["invoice"]
                       and len(match_row(rows[non_blank[p]])) >= 3)
    for p in _text_lines(columns, body, numbers, dropped):
        dropped.add(p)
        anomalies[non_blank[p]] = Anomaly(
            f"ligne de texte seule, sans client, montant ni échéance (une note ?), ignorée : "
            f"« {numbers[p]} »", grid.location(non_blank[p]))
    indices = [i for p, i in enumerate(non_blank) if p not in dropped] if dropped else non_blank
    numbers = [n for p, n in enumerate(numbers) if p not in dropped] if dropped else numbers
    hints = hint_text(misspellings(
        ignored, [f for f in FIELDS if f not in columns and f != "stage"]))
    notes = [Anomaly(f"colonnes non reconnues, ignorées : {_quote_list(ignored)} ; si l'une "
                     f"tient un champ connu (montant réglé, date de relance…), renommez-la "
                     f"(en-têtes admis : voir le README).{hints}", grid.location(header_index))] \
        if ignored else []
    below = invoices_below(grid, columns)
    if below:
        notes.append(_below_table_note(grid, below))
    return Survey(grid, header_index, columns, month_first, last, indices, numbers, anomalies,
                  notes, _RowReader(grid, columns, headers, month_first), evidence, ambiguous,
                  positional, below)


def read_rows(survey: Survey, start: int, stop: int) -> tuple[list, dict]:
    """The invoices of the surveyed rows [start:stop], and {grid row index: (Anomaly, one per
    bad cell)} for the rows among them that could not be read (left out)."""
    indices, numbers = survey.indices[start:stop], survey.numbers[start:stop]
    invoices, failed = survey.reader.read_all(indices, numbers)
    number_of = dict(zip(indices, numbers)) if failed else {}
    return invoices, {i: tuple(Anomaly(f"{err.reason} : valeur « {cell_text(err.value)} » ; "
                                       f"facture {number_of[i]} ignorée", err.location)
                               for err in errs)
                      for i, errs in failed.items()}


def complete_receivables(survey: Survey, invoices: list, failed: dict) -> Receivables:
    """The receivables from every surveyed row's reading: duplicates flagged, anomalies in
    row order."""
    invoices, duplicates = _flag_duplicates(invoices, survey.grid)
    return Receivables(tuple(invoices), row_anomalies(survey, failed) + tuple(duplicates),
                       survey.header_index, survey.columns, survey.month_first, survey.last_index)


def row_anomalies(survey: Survey, failed: dict, skipped: Optional[dict] = None) -> tuple:
    """What the sheet and its rows call for, duplicates aside: the sheet's notes, then the rows
    skipped by the survey (or `skipped`, the surveys of a sheet's parts together) or
    unreadable (`failed`, from every `read_rows`), in row order."""
    skipped = survey.skipped if skipped is None else skipped
    anomalies = {**{i: (a,) for i, a in skipped.items()}, **failed}
    return tuple(survey.notes) + tuple(a for i in sorted(anomalies) for a in anomalies[i])


def _text_lines(columns: dict, body: list, numbers: list, dropped: set) -> list:
    """The positions (in `body`, not yet `dropped`) of lines of text alone in the number
    column (a note, an export's « Édité le … par … »): said once, as what they are, not as
    invoices missing their client, amount and due date. Looked for among the rows without an
    amount only (found at C speed: there are few)."""
    amount_cols = [columns[f] for f in ("amount", "balance") if f in columns]
    first = _column(body, amount_cols[0]) if amount_cols else []
    if None not in first:
        return []
    rest = [j for f, j in columns.items() if f not in ("invoice", "stage")]
    return [p for p, v in enumerate(first)
            if v is None and p not in dropped and numbers[p]
            and all(j >= len(body[p]) or _shows_nothing(body[p][j]) for j in rest)]


def _shows_nothing(value) -> bool:
    """Blank, or a zero a formula filled down a column shows on a row without data."""
    return is_blank(value) or (type(value) in (int, float) and value == 0)


def _column(rows: list, j: int) -> list:
    """Column `j` of `rows` (None where a row is too short), at C speed when all are wide."""
    if j < min(map(len, rows), default=0):
        return list(map(itemgetter(j), rows))
    return [row[j] if j < len(row) else None for row in rows]


_IDENTITY = ("invoice", "client", "client_code", "amount", "paid")


def _is_blank_row(grid: Grid, i: int, columns) -> bool:
    """Empty, or holding only what formulas filled down a sheet show on unused rows (a balance
    of 0, an empty text): no invoice number, client, amount or payment."""
    row = grid.rows[i]
    if all(is_blank(v) for v in row):
        return True
    if any(not is_blank(grid.value(i, columns[f])) for f in _IDENTITY if f in columns):
        return False
    others = [v for j, v in enumerate(row) if j not in {columns.get(f) for f in _IDENTITY}]
    return all(map(_shows_nothing, others))


def _where_header(grid: Grid, header_index: int, written: str) -> str:
    """` (cellule W3)`, ` (colonne 23)` in a CSV: where to rename a header."""
    for j, value in enumerate(grid.rows[header_index]):
        if cell_text(value) == written:
            return f" (colonne {j + 1})" if grid.csv else \
                f" (cellule {column_letter(grid.first_col + j)}{grid.first_row + header_index})"
    return ""


def _quote_list(items) -> str:
    return ", ".join(f"« {x} »" for x in items)


class _RowError(Exception):
    def __init__(self, reason, value, location):
        super().__init__(reason)
        self.reason, self.value, self.location = reason, value, location


# --- invoice numbers and totals rows -----------------------------------------------------

_ZERO_PAD = re.compile(r'^(?:"([^"]*)"|\\(.))?(0+)(?:"([^"]*)")?$')


def invoice_number(value, number_format: str = "General") -> str:
    """The invoice number as shown in the cell: 123 formatted `000000` is `000123`."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else cell_text(value)
    if isinstance(value, (int, float)) and float(value).is_integer():
        digits = str(int(value))
        padding = _padding(number_format or "")
        if padding:
            prefix, width, suffix = padding
            return prefix + digits.zfill(width) + suffix
        return digits
    return cell_text(value)


def invoice_numbers(values: list, formats: list) -> list:
    """`invoice_number` of each value with its format, whole numbers written at once (a
    column of 100,000 numbers shown 000123: a third of the time)."""
    out = []
    append, padding = out.append, _padding
    for v, fmt in zip(values, formats):
        if type(v) is str:
            append(v.strip())
        elif type(v) is float and v.is_integer() and -1e15 < v < 1e15:
            pad = padding(fmt)
            digits = "%d" % v
            append(pad[0] + digits.zfill(pad[1]) + pad[2] if pad else digits)
        else:
            append(invoice_number(v, fmt))
    return out


@functools.lru_cache(maxsize=256)
def _padding(number_format: str) -> Optional[tuple]:
    """(prefix, digits, suffix) of a format that pads whole numbers with zeros (`000000`,
    `"CL"000`), else None: a sheet has few formats, read once each."""
    m = _ZERO_PAD.match(number_format.split(";")[0])
    if not m:
        return None
    return m.group(1) or m.group(2) or "", len(m.group(3)), m.group(4) or ""


# `Total`, `TOTAL :`, `Sous-total client X`, `Total général` — but not `TotalEnergies`.
_TOTAL_WORD = re.compile(r"^(sous[\s\-]*|sub[\s\-]*)?total(?![a-z0-9])")


def _says_total(value) -> bool:
    return bool(_TOTAL_WORD.match(strip_accents(cell_text(value)).strip().casefold()))


def _is_totals(row, number: str, is_last: bool, columns, grid: Grid, i: int) -> bool:
    """A totals row: its number cell says Total, or its first cell does while no invoice number
    stands beside it (a client called `Total Bâtiment` in column A still has its invoices)."""
    if _says_total(number):
        return True
    if row and _says_total(row[0]) and (not number or columns["invoice"] == 0):
        return True
    if is_last and not number:
        return any(not is_blank(grid.value(i, columns[f]))
                   for f in ("amount", "paid", "balance") if f in columns)
    return False


# --- day/month order ---------------------------------------------------------------------

def _date_order(grid: Grid, data, columns, headers, setting: bool) -> tuple[bool, dict, bool]:
    """(Whether text dates read month-first, the first text date of each order found, whether
    some text date reads either way: the order decides what it says)."""
    first_of, ambiguous = {}, False
    for f in DATE_FIELDS:
        if f not in columns:
            continue
        j = columns[f]
        cells = _column(grid.rows[data[0]:], j) if data else []
        if str not in map(type, cells):  # text dates are rare: most cells are Excel dates
            continue
        for i, value in [(i, v) for i, v in zip(data, cells) if type(v) is str]:
            order = text_date_order(value)
            if order in (DAY_FIRST, MONTH_FIRST) and order not in first_of:
                first_of[order] = (grid.location(i, j, headers[f]), value)
            elif order == AMBIGUOUS:
                ambiguous = True
        if len(first_of) == 2:
            (day_loc, day_val), (mon_loc, mon_val) = first_of[DAY_FIRST], first_of[MONTH_FIRST]
            raise RelanceError(
                f"{grid.place} : les dates mélangent deux ordres jour/mois. "
                f"{day_loc.describe()} : « {day_val} » ne se lit que jour en premier ; "
                f"{mon_loc.describe()} : « {mon_val} » ne se lit que mois en premier. "
                f"Corrigez l'une des deux pour que toutes les dates suivent le même ordre.")
    return decide_date_order(first_of, setting), first_of, ambiguous


def decide_date_order(first_of: dict, setting: bool) -> bool:
    """Month-first when some text date only reads so (none only day-first), day-first when
    one only reads day-first, else as the setting says."""
    if MONTH_FIRST in first_of:
        return True
    if DAY_FIRST in first_of:
        return False
    return setting


# --- one row -----------------------------------------------------------------------------

_CLIENT_FIELDS = ("client", "client_code", "contact", "address", "postcode", "city", "country",
                  "email", "phone", "language", "client_type")
_DATE_FIELDS = ("due_date", "invoice_date", "payment_date", "first_reminder", "second_reminder",
                "formal_notice")
_AMOUNT_FIELDS = ("amount", "paid", "balance")


_NUMBER_TYPES = {int, float}  # a cell's exact type: True is a bool, not a number here


class _RowReader:
    """Reads rows into invoices, fast on large sheets: column by column (one pass of C-speed
    comprehensions per field instead of a dictionary per row), typed cells (dates, numbers)
    skip the text parsers, and a client's columns are read once however many invoices it has.

    A row with several bad cells is reported for each of them, in the order client, dates,
    amounts (the order a reader of the row meets them): one run shows all there is to fix."""

    def __init__(self, grid: Grid, columns: dict, headers: dict, month_first: bool):
        self.grid, self.columns, self.headers = grid, columns, headers
        self.month_first, self.epoch = month_first, grid.epoch
        self.client_cols = [(f, columns.get(f)) for f in _CLIENT_FIELDS]
        self.formats = grid.has_formats
        self.clients = {}  # the raw client cells -> Client (or the reason it is unreadable)

    def _error(self, reason: str, value, i: int, field: str) -> _RowError:
        j = self.columns.get(field)
        where = self.grid.location(i, j, self.headers.get(field, "")) if j is not None else \
            self.grid.location(i)
        return _RowError(reason, value, where)

    def read_all(self, indices: list, numbers: list) -> tuple[list, dict]:
        """Invoices of the rows `indices` (grid row indexes) numbered `numbers`, and
        {row index: [_RowError, one per bad cell]} for the rows that could not be read (left
        out)."""
        rows = self.grid.rows
        sub = [rows[i] for i in indices]
        count = len(sub)
        narrow = min(map(len, sub), default=0)

        def column(field):
            j = self.columns.get(field)
            if j is None:
                return [None] * count
            if j < narrow:
                return list(map(itemgetter(j), sub))  # at C speed: three times as fast
            return [r[j] if j < len(r) else None for r in sub]

        errors = {}  # position in `sub` -> [(field, reason, value)], a field once

        def note(position, field, bad):
            found = errors.setdefault(position, [])
            if all(f != field for f, _, _ in found):
                found.append((field, bad.reason, bad.value))

        clients = self._clients(sub, indices, column, note)
        absent = [None] * count  # a column the sheet does not have: shared, never changed
        dates = {}
        for f in _DATE_FIELDS:
            if f not in self.columns:
                dates[f] = absent
                continue
            values = [v if v is None or type(v) is date else self._date(v) for v in column(f)]
            for position in _bad(values):
                note(position, f, values[position])
            dates[f] = values
        amounts = {}
        for f in _AMOUNT_FIELDS:
            if f not in self.columns:
                amounts[f] = absent
                continue
            # a float of sane size (so not NaN nor ±inf either), the usual cell, inline for speed
            values = [None if v is None else Decimal(repr(v)).quantize(CENT, ROUND_HALF_UP)
                      if type(v) is float and -AMOUNT_LIMIT < v < AMOUNT_LIMIT
                      else _other_amount(v) for v in column(f)]
            if _ZERO in values:  # never -0.00 (a formula's residue, -2.27e-13)
                values = [v + 0 if type(v) is Decimal and v.is_zero() else v for v in values]
            for position in _bad(values):
                note(position, f, values[position])
            amounts[f] = values
        for position in [p for p, (a, b) in enumerate(zip(amounts["amount"], amounts["balance"]))
                         if a is None and b is None]:
            note(position, "amount", _Bad("montant manquant", None))
        month_first, epoch = self.month_first, self.epoch
        responses = [None if v is None else parse_response(v, month_first, epoch)
                     for v in column("response")] if "response" in self.columns else absent
        no = [False] * count
        disputes = [False if v is None else is_disputed(v) for v in column("dispute")] \
            if "dispute" in self.columns else no
        insolvencies = [False if v is None else is_insolvent(v) for v in column("insolvency")] \
            if "insolvency" in self.columns else no
        first_row = self.grid.first_row
        make = tuple.__new__  # a named tuple's own __new__ is a Python call: 2× slower
        invoices = [make(Invoice, fields) for fields in zip(
            numbers, clients, dates["due_date"], amounts["amount"], dates["invoice_date"],
            amounts["paid"], amounts["balance"], dates["payment_date"], dates["first_reminder"],
            responses, dates["second_reminder"], dates["formal_notice"], disputes,
            insolvencies, [first_row + i for i in indices], repeat("", count))]
        if not errors:
            return invoices, {}
        failed = {indices[p]: [self._error(reason, value, indices[p], field)
                               for field, reason, value in found]
                  for p, found in errors.items()}
        return [inv for p, inv in enumerate(invoices) if p not in errors], failed

    def _date(self, value):
        if type(value) is datetime:
            return value.date()
        try:
            return parse_date(value, self.month_first, self.epoch)
        except ValueError as err:
            return _Bad(str(err), value)

    def _clients(self, sub: list, indices: list, column, note) -> list:
        """One Client per distinct set of client cells (and their formats), shared by its rows."""
        present = [(f, j) for f, j in self.client_cols if j is not None]
        cells = [column(f) for f, _ in present]
        keys = list(zip(*cells)) if present else [()] * len(sub)
        if any(bool in self._types(j, col) for (_, j), col in zip(present, cells)):
            # TRUE equals 1 and FALSE 0 as keys, yet they read « VRAI » and « 1 »: keys then
            # carry their types, so that a row's client never depends on which rows came first
            keys = [key + tuple(map(type, key)) for key in keys]
        if self.formats:
            # a number's format decides its text (01000, not 1000): the formats of the columns
            # holding numbers are part of the key (a text reads the same whatever its format)
            shown = [self.grid.column_formats(indices, j) for (_, j), col in zip(present, cells)
                     if _NUMBER_TYPES & self._types(j, col)]
            if shown:
                keys = [key + formats for key, formats in zip(keys, zip(*shown))]
        known = self.clients
        first_row_of = dict(zip(reversed(keys), reversed(indices)))  # each key's first row
        rows = self.grid.rows
        for key, i in first_row_of.items():
            if key not in known:
                # the cells of that first row, not the key: 1 and TRUE are equal keys
                try:
                    known[key] = self._new_client(rows[i], i)
                except _RowError as err:
                    known[key] = _Bad(err.reason, err.value)
        out = list(map(known.__getitem__, keys))
        if any(type(known[key]) is _Bad for key in first_row_of):
            for position, client in enumerate(out):
                if type(client) is _Bad:
                    field = "client_type" if "type" in client.reason else \
                        ("client" if "client" in self.columns else "client_code")
                    note(position, field, client)
        return out

    def _types(self, j: int, column: list) -> set:
        """The types of column `j`'s cells: those of every data row of the grid when the reader
        counted them (blank and totals rows included), else those of `column`. In a part of a
        shared-out sheet, the part's own: only a part holding both TRUE and 1 needs typed
        keys, and a part holding no TRUE reads each row's client alike either way."""
        if self.grid.csv:
            return {str}
        known = self.grid.column_types.get(j)
        return known if known is not None else set(map(type, column))

    def _new_client(self, row: list, i: int) -> Client:
        """The client of grid row `i` (`row`), from its cells."""
        width, text = len(row), {}
        for f, j in self.client_cols[:9]:
            value = row[j] if j is not None and j < width else None
            # only a number's text depends on its format (01000 stays so)
            text[f] = _client_text(value, self.grid.number_format(i, j)
                                   if type(value) in _NUMBER_TYPES else "")
        if not text["client"] and not text["client_code"]:
            raise _RowError("client manquant", None, None)
        (_, j_language), (_, j_type) = self.client_cols[9:11]
        kind = row[j_type] if j_type is not None and j_type < width else None
        try:
            kind = parse_client_type(kind)
        except ValueError as err:
            raise _RowError(str(err), kind, None) from None
        return Client(
            name=text["client"] or text["client_code"], code=text["client_code"],
            contact=text["contact"], address=text["address"], postcode=text["postcode"],
            city=text["city"], country=text["country"], email=text["email"], phone=text["phone"],
            language=parse_language(row[j_language] if j_language is not None
                                    and j_language < width else None), client_type=kind)


_ZERO = Decimal(0)

# read_all builds invoices as plain tuples in this order (a named tuple's __new__ is slow)
_INVOICE_FIELDS = ("number", "client", "due_date", "amount", "invoice_date", "paid",
                   "balance_cell", "payment_date", "first_reminder", "response",
                   "second_reminder", "formal_notice", "disputed", "insolvency", "row", "excluded")
if Invoice._fields != _INVOICE_FIELDS:
    raise RuntimeError("Invoice a changé : mettez à jour _RowReader.read_all")


class _Bad(NamedTuple):
    """A cell that could not be read, in place of its value until the row is reported."""

    reason: str
    value: object


def _bad(values: list) -> list:
    return [p for p, v in enumerate(values) if type(v) is _Bad] if _Bad in map(type, values) \
        else []


def _other_amount(v):
    if v is None:
        return None
    if type(v) is float and v - v != 0:  # NaN, ±inf
        return _Bad("montant illisible", v)
    try:
        return parse_amount(v)
    except ValueError as err:
        return _Bad(str(err), v)


def _client_text(value, number_format: str) -> str:
    if value is None:
        return ""
    if type(value) is str:
        value = value.strip()
        return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return invoice_number(value, number_format)  # postcodes, client codes: 01000 stays so
    return cell_text(value).replace("\r\n", "\n").replace("\r", "\n")


# --- duplicates --------------------------------------------------------------------------

def _flag_duplicates(invoices: list, grid: Grid):
    duplicated, anomalies = duplicate_numbers([inv.number for inv in invoices],
                                              [inv.row for inv in invoices], grid.sheet, grid.csv)
    if not duplicated:
        return invoices, []
    return [inv._replace(excluded="numéro de facture en double") if inv.number in duplicated
            else inv for inv in invoices], anomalies


def duplicate_numbers(numbers: list, rows: list, sheet: str, csv: bool = False) -> tuple:
    """(The invoice numbers found on several rows, one anomaly for each, at its first row,
    in row order) for the invoices read, numbered `numbers` on sheet rows `rows`."""
    if len(set(numbers)) == len(numbers):  # the usual case, quickly
        return set(), []
    where = defaultdict(list)
    for number, row in zip(numbers, rows):
        where[number].append(row)
    anomalies = []
    for number, row in zip(numbers, rows):
        found = where[number]
        if len(found) > 1 and row == found[0]:
            listed = ", ".join(str(r) for r in found)
            anomalies.append(Anomaly(
                f"numéro de facture « {number} » en double (lignes {listed}) : ces lignes "
                f"ne recevront pas de lettre tant que le doublon n'est pas corrigé",
                Location(sheet, row, csv=csv)))
    return {n for n, found in where.items() if len(found) > 1}, anomalies
