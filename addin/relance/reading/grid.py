"""A block of cell values as every reader hands it to the parsers: plain lists, plus where it lies."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Optional

from ..model import Location
from ..values import EXCEL_EPOCH_1900


@dataclass
class Grid:
    """Values of a rectangular block of a sheet (or a CSV file), row by row.

    `first_row`/`first_col` are the 1-based sheet coordinates of rows[0][0], so parsers can
    name cells; `formats` holds the number formats where the reader knows them (they decide
    how a number such as 123 formatted `000000` reads: `000123`). `table` is the Excel
    table's name when the block is one: its first row is then the header row.
    """

    sheet: str
    rows: list
    first_row: int = 1
    first_col: int = 1
    formats: Optional[list] = None
    epoch: date = EXCEL_EPOCH_1900
    table: str = ""
    csv: bool = False
    # column index -> the set of types of its data cells, where the reader counted them
    column_types: dict = field(default_factory=dict)
    # Index of the first row this process reads, the titles and header aside: the rows between
    # the header and it are another process's (a large sheet shared out, see json_scan.py)
    part_start: int = 0
    # False for such a part that stops before the sheet's end: its last row is not the sheet's
    # last (a row without its number there is no totals row for being last)
    ends_sheet: bool = True
    # Under the Excel table read: (the table's last sheet row, the rows under it as lists of
    # the values in its columns). Not invoices of the ledger, but the survey tells the user of
    # those that look like invoices (typed under a table that did not grow to take them)
    below_table: Optional[tuple] = None
    # column index -> the one number format of every number in that column, where the reader
    # found them all alike (the usual column of numbers shown 000123): no entry per cell then
    column_format: dict = field(default_factory=dict)

    @property
    def has_formats(self) -> bool:
        """Whether any number format is known (else every cell reads as "General")."""
        return bool(self.formats or self.column_format)

    def value(self, i: int, j: int):
        row = self.rows[i]
        return row[j] if j < len(row) else None

    def number_format(self, i: int, j: int) -> str:
        """`formats` is a list of rows (openpyxl), or {(i, j): format} for the few cells whose
        format matters (calamine), `column_format` the format of a whole column's numbers."""
        if self.column_format and j in self.column_format:
            return self.column_format[j]
        if not self.formats:
            return "General"
        if isinstance(self.formats, dict):
            return self.formats.get((i, j)) or "General"
        row = self.formats[i]
        return (row[j] if j < len(row) else None) or "General"

    def column_formats(self, indices: list, j: int) -> list:
        """`number_format(i, j)` for each row index of `indices`, at C speed where it can."""
        if j in self.column_format:
            return [self.column_format[j]] * len(indices)
        formats = self.formats
        if not formats:
            return ["General"] * len(indices)
        if isinstance(formats, dict):
            get = formats.get
            return [get((i, j)) or "General" for i in indices]
        return list(map(self.number_format, indices, [j] * len(indices)))

    @property
    def place(self) -> str:
        """How a message names the block: « Fichier « x.csv » », « Feuille « Créances » »."""
        return f"Fichier « {self.sheet} »" if self.csv else f"Feuille « {self.sheet} »"

    def location(self, i: int, j: Optional[int] = None, header: str = "") -> Location:
        row = self.first_row + i
        if j is None:
            return Location(self.sheet, row, csv=self.csv)
        if self.csv:
            return Location(self.sheet, row, "", header or f"colonne {j + 1}", csv=True)
        return Location(self.sheet, row, column_letter(self.first_col + j), header)


def span_under_table(last_row: int, sheet_last_row: int, table_rows) -> Optional[tuple]:
    """(first, last) sheet rows under a table ending at `last_row` that the readers hand the
    survey (Grid.below_table): down to the sheet's last row, or to the row above the next
    table starting lower (`table_rows`: the first rows of the sheet's tables), whose rows are
    that table's. None when there is none."""
    stop = min((r for r in table_rows if r > last_row), default=sheet_last_row + 1)
    return (last_row + 1, stop - 1) if stop - 1 > last_row else None


# Cell references. openpyxl has these, but importing openpyxl costs a seventh of a second,
# which `relance scan` would pay on every run for three lines of arithmetic.

def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA, 16384 -> XFD."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """A -> 1, AA -> 27, XFD -> 16384."""
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index


def range_bounds(ref: str) -> tuple[int, int, int, int]:
    """`B3:F120` -> (min_col, min_row, max_col, max_row); `$B$3:$F$120` and `B3` as well."""
    parts = ref.replace("$", "").split(":")
    cells = [re.fullmatch(r"([A-Za-z]{1,3})(\d+)", part) for part in parts]
    if len(cells) not in (1, 2) or not all(cells):
        raise ValueError(f"référence de plage invalide : {ref}")
    first, last = cells[0], cells[-1]
    return (column_index(first.group(1)), int(first.group(2)),
            column_index(last.group(1)), int(last.group(2)))
