"""A real xlwings.Book on xlwings' remote engine, fed the values of an .xlsx file.

The remote engine is what xlwings Server and xlwings Lite run: it takes the workbook as JSON
(the values of every sheet, its tables) and returns what the code did as a list of actions
(setValues, addSheet, resizeTable…). Tests use it to drive the button's code on Linux,
without Excel; the free non-commercial key is set here, for the tests only.
"""
from __future__ import annotations

import os
from datetime import date, datetime

import openpyxl
from openpyxl.utils.cell import get_column_letter, range_boundaries

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import xlwings as xw  # noqa: E402


def _json_value(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time()).isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, str) and value.startswith("="):
        return ""  # a formula Excel would show the result of; none is cached in these files
    return value


def _address(min_col, min_row, max_col, max_row):
    return f"${get_column_letter(min_col)}${min_row}:${get_column_letter(max_col)}${max_row}"


def payload(path, name: str | None = None) -> dict:
    wb = openpyxl.load_workbook(path, data_only=True)
    sheets = []
    for ws in wb.worksheets:
        rows = [[_json_value(v) for v in row] for row in
                ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column, values_only=True)]
        tables = []
        for table in ws.tables.values():
            c1, r1, c2, r2 = range_boundaries(table.ref)
            totals = table.totalsRowCount or 0
            tables.append({
                "name": table.displayName,
                "range_address": _address(c1, r1, c2, r2),
                "header_row_range_address": _address(c1, r1, c2, r1),
                "data_body_range_address": _address(c1, r1 + 1, c2, r2 - totals),
                "total_row_range_address": _address(c1, r2, c2, r2) if totals else None,
                "show_headers": True,
                "show_totals": bool(totals),
                "table_style": "TableStyleMedium2",
                "show_autofilter": True,
            })
        sheets.append({"name": ws.title, "values": rows or [[]], "pictures": [], "tables": tables})
    return {
        "client": "Microsoft Office Scripts",
        "version": xw.__version__,
        "book": {"name": name or os.path.basename(path), "active_sheet_index": 0, "selection": "A1"},
        "names": [],
        "sheets": sheets,
    }


def remote_book(path) -> "xw.Book":
    return xw.Book(json=payload(path))


class FakeExcel:
    """ExcelUI for the tests: answers the confirmation, remembers what Excel would show."""

    def __init__(self, answer: bool = True, formulas: bool = False):
        self.answer, self.formulas = answer, formulas
        self.statuses, self.messages, self.questions, self.saves = [], [], [], 0

    def status(self, text):
        self.statuses.append(text)

    def confirm(self, text):
        self.questions.append(text)
        return self.answer

    def message(self, text, critical=False):
        self.messages.append((text, critical))

    def save(self):
        self.saves += 1

    def has_formulas(self, rng):
        return self.formulas

    def number_format(self, rng):
        return None

    def write_problem(self, sheets):
        return ""


def writes(book, sheet_name: str | None = None) -> list:
    """The setValues actions of the run (optionally on one sheet), as (row, col, values)."""
    names = [s.name for s in book.sheets]
    out = []
    for action in book.json()["actions"]:
        if action["func"] != "setValues":
            continue
        if sheet_name is not None and names[action["sheet_position"]] != sheet_name:
            continue
        out.append((action["start_row"] + 1, action["start_column"] + 1, action["values"]))
    return out
