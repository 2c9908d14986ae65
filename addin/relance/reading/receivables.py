"""Parsing the receivables block (`Créances` or a CSV) into invoices, with per-row anomalies.

Pure: a Grid in, invoices and anomalies out. A problem with one row is reported and the
row skipped; a problem with the sheet as a whole (missing column, ambiguous date order)
raises RelanceError.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Optional

from ..model import Anomaly, Client, Invoice, Location, RelanceError
from ..values import (DAY_FIRST, strip_accents, MONTH_FIRST, cell_text, fold, is_blank, is_disputed,
                      is_insolvent, parse_amount, parse_client_type, parse_date, parse_language,
                      parse_response,
                      text_date_order)
from .grid import Grid
from .headers import DATE_FIELDS, REQUIRED, canonical, find_header_row, headers_found


@dataclass(frozen=True)
class Receivables:
    """What the sheet holds: the invoices, the anomalies, and where the columns are."""

    invoices: tuple
    anomalies: tuple
    header_index: int  # index in grid.rows of the header row
    columns: dict  # field -> column index in the grid
    month_first: bool
    last_index: int  # index in grid.rows of the last row read


def parse_receivables(grid: Grid, month_first_setting: bool = False) -> Receivables:
    found = find_header_row(grid)
    if found is None:
        seen = headers_found(grid)
        raise RelanceError(
            f"Feuille « {grid.sheet} » : ligne d'en-têtes introuvable dans les {20} premières lignes "
            f"(il faut au moins trois colonnes connues, par exemple « N° facture », « Client », "
            f"« Échéance », « Montant TTC »). En-têtes vus : {_quote_list(seen) or 'aucun'}.")
    header_index, columns = found
    missing = [f for f in REQUIRED if f not in columns]
    if "client" not in columns and "client_code" not in columns:
        missing.append("client")
    if missing:
        names = " et ".join(f"« {canonical(f)} »" for f in missing)
        raise RelanceError(
            f"Feuille « {grid.sheet} » : colonne {names} introuvable (ligne d'en-têtes "
            f"{grid.first_row + header_index}). En-têtes trouvés : "
            f"{_quote_list(headers_found(grid, header_index))}.")
    headers = {f: cell_text(grid.value(header_index, j)) for f, j in columns.items()}
    ignored = [cell_text(v) for j, v in enumerate(grid.rows[header_index])
               if cell_text(v) and j not in columns.values()]

    data = list(range(header_index + 1, len(grid.rows)))
    month_first = _date_order(grid, data, columns, headers, month_first_setting)

    non_blank = [i for i in data if not _is_blank_row(grid, i, columns)]
    last = non_blank[-1] if non_blank else header_index
    invoices, anomalies = [], []
    inv_col = columns["invoice"]
    for i in non_blank:
        row = grid.rows[i]
        number = invoice_number(grid.value(i, inv_col), grid.number_format(i, inv_col))
        if _is_totals(row, number, i == last, columns, grid, i):
            continue
        if not number:
            anomalies.append(Anomaly("ligne sans numéro de facture, ignorée", grid.location(i)))
            continue
        try:
            invoices.append(_parse_row(grid, i, number, columns, headers, month_first))
        except _RowError as err:
            anomalies.append(Anomaly(f"{err.reason} : valeur « {cell_text(err.value)} » ; "
                                     f"facture {number} ignorée", err.location))
    invoices, duplicates = _flag_duplicates(invoices, grid)
    notes = [Anomaly(f"colonnes non reconnues, ignorées : {_quote_list(ignored)} ; si l'une "
                     f"tient un champ connu (montant réglé, date de relance…), renommez-la "
                     f"(en-têtes admis : voir le README)", grid.location(header_index))] \
        if ignored else []
    return Receivables(tuple(invoices), tuple(notes + anomalies + duplicates), header_index,
                       columns, month_first, last)


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
    return all(is_blank(v) or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0)
               for v in others)


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
        m = _ZERO_PAD.match((number_format or "").split(";")[0])
        if m:
            prefix = m.group(1) or m.group(2) or ""
            return prefix + digits.zfill(len(m.group(3))) + (m.group(4) or "")
        return digits
    return cell_text(value)


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

def _date_order(grid: Grid, data, columns, headers, setting: bool) -> bool:
    first_of = {}
    for f in DATE_FIELDS:
        if f not in columns:
            continue
        j = columns[f]
        for i in data:
            value = grid.value(i, j)
            if isinstance(value, str):
                order = text_date_order(value)
                if order in (DAY_FIRST, MONTH_FIRST) and order not in first_of:
                    first_of[order] = (grid.location(i, j, headers[f]), value)
        if len(first_of) == 2:
            (day_loc, day_val), (mon_loc, mon_val) = first_of[DAY_FIRST], first_of[MONTH_FIRST]
            raise RelanceError(
                f"Feuille « {grid.sheet} » : les dates mélangent deux ordres jour/mois. "
                f"{day_loc.describe()} : « {day_val} » ne se lit que jour en premier ; "
                f"{mon_loc.describe()} : « {mon_val} » ne se lit que mois en premier. "
                f"Corrigez l'une des deux pour que toutes les dates suivent le même ordre.")
    if MONTH_FIRST in first_of:
        return True
    if DAY_FIRST in first_of:
        return False
    return setting


# --- one row -----------------------------------------------------------------------------

_CLIENT_FIELDS = ("client", "client_code", "contact", "address", "postcode", "city", "country",
                  "email", "phone")


def _parse_row(grid: Grid, i: int, number: str, columns, headers, month_first: bool) -> Invoice:
    def raw(f):
        return grid.value(i, columns[f]) if f in columns else None

    def loc(f):
        return grid.location(i, columns[f], headers[f])

    def as_date(f):
        try:
            return parse_date(raw(f), month_first, grid.epoch)
        except ValueError as err:
            raise _RowError(str(err), raw(f), loc(f)) from None

    def as_amount(f):
        try:
            return parse_amount(raw(f))
        except ValueError as err:
            raise _RowError(str(err), raw(f), loc(f)) from None

    text = {f: _client_text(raw(f), grid.number_format(i, columns[f]) if f in columns else "")
            for f in _CLIENT_FIELDS}
    if not text["client"] and not text["client_code"]:
        col = "client" if "client" in columns else "client_code"
        raise _RowError("client manquant", None, loc(col))
    amount, balance = as_amount("amount"), as_amount("balance")
    if amount is None and balance is None:
        raise _RowError("montant manquant", None, loc("amount"))
    client = Client(
        name=text["client"] or text["client_code"],
        code=text["client_code"],
        contact=text["contact"],
        address=text["address"],
        postcode=text["postcode"],
        city=text["city"],
        country=text["country"],
        email=text["email"],
        phone=text["phone"],
        language=parse_language(raw("language")),
        client_type=_client_type(raw("client_type"), loc("client_type") if "client_type" in columns else None),
    )
    return Invoice(
        number=number,
        client=client,
        due_date=as_date("due_date"),
        amount=amount,
        invoice_date=as_date("invoice_date"),
        paid=as_amount("paid"),
        balance_cell=balance,
        payment_date=as_date("payment_date"),
        first_reminder=as_date("first_reminder"),
        response=parse_response(raw("response"), month_first, grid.epoch),
        second_reminder=as_date("second_reminder"),
        formal_notice=as_date("formal_notice"),
        disputed=is_disputed(raw("dispute")),
        insolvency=is_insolvent(raw("insolvency")),
        row=grid.first_row + i,
    )


def _client_text(value, number_format: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return invoice_number(value, number_format)  # postcodes, client codes: 01000 stays so
    return cell_text(value).replace("\r\n", "\n").replace("\r", "\n")


def _client_type(value, location):
    try:
        return parse_client_type(value)
    except ValueError as err:
        raise _RowError(str(err), value, location) from None


# --- duplicates --------------------------------------------------------------------------

def _flag_duplicates(invoices: list, grid: Grid):
    rows = defaultdict(list)
    for inv in invoices:
        rows[inv.number].append(inv.row)
    anomalies, out = [], []
    for inv in invoices:
        where = rows[inv.number]
        if len(where) > 1:
            if inv.row == where[0]:
                listed = ", ".join(str(r) for r in where)
                anomalies.append(Anomaly(
                    f"numéro de facture « {inv.number} » en double (lignes {listed}) : ces lignes "
                    f"ne recevront pas de lettre tant que le doublon n'est pas corrigé",
                    Location(grid.sheet, inv.row, csv=grid.csv)))
            inv = replace(inv, excluded="numéro de facture en double")
        out.append(inv)
    return out, anomalies
