"""A block of cell values as every reader hands it to the parsers: plain lists, plus where it lies."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Optional

from openpyxl.utils.cell import get_column_letter

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

    def value(self, i: int, j: int):
        row = self.rows[i]
        return row[j] if j < len(row) else None

    def number_format(self, i: int, j: int) -> str:
        """`formats` is a list of rows (openpyxl), or {(i, j): format} for the few cells whose
        format matters (calamine)."""
        if not self.formats:
            return "General"
        if isinstance(self.formats, dict):
            return self.formats.get((i, j)) or "General"
        row = self.formats[i]
        return (row[j] if j < len(row) else None) or "General"

    def location(self, i: int, j: Optional[int] = None, header: str = "") -> Location:
        row = self.first_row + i
        if j is None:
            return Location(self.sheet, row, csv=self.csv)
        if self.csv:
            return Location(self.sheet, row, "", header or f"colonne {j + 1}", csv=True)
        return Location(self.sheet, row, get_column_letter(self.first_col + j), header)
