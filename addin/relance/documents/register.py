"""The sending register (bordereau d'envoi, `bordereau.xlsx`): one row per letter of the run,
with an empty column for the registered-mail number, filled in by hand at the post office.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Optional, Union

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from ..formatting import long_date
from .combined import save_atomically

EURO_FORMAT = '#,##0.00\\ "€"'
REGISTERED_HEADER = "N° de recommandé"
# (header, width in characters)
COLUMNS = (
    ("Client", 32),
    ("Code client", 12),
    ("Adresse postale", 38),
    ("Factures", 18),
    ("Total", 14),
    ("Fichier", 56),
    (REGISTERED_HEADER, 22),
)
TITLE_ROW, HEADER_ROW = 1, 2
LINE_HEIGHT = 15  # points per line of a wrapped cell


@dataclass(frozen=True)
class RegisterRow:
    """One letter in the register."""

    client: str
    code: str
    address_lines: tuple  # postal lines under the name: street…, postcode and city, country
    invoices: tuple  # invoice numbers the letter claims
    total: Decimal
    file: str  # the letter's file name (the register sits beside the letters)


def register_row(letter, file: Union[Path, str]) -> RegisterRow:
    """The row for a letters.Letter written to `file`."""
    from .context import client_address_lines
    return RegisterRow(client=letter.client.name, code=letter.client.code,
                       address_lines=tuple(client_address_lines(letter)),
                       invoices=tuple(letter.numbers), total=letter.total,
                       file=Path(file).name)


def write_register(rows: Iterable[RegisterRow], path: Path, *, as_of: Optional[date] = None,
                   owner: str = "") -> None:
    """Write the register to `path` (.xlsx), replacing it whole (temporary file, then rename).
    `owner` (the run's workbook) goes in its document properties."""
    rows = list(rows)
    wb = Workbook()
    if owner:
        wb.properties.identifier = owner
    ws = wb.active
    ws.title = "Bordereau"
    last_col = get_column_letter(len(COLUMNS))

    title = "Bordereau d'envoi des deuxièmes lettres de relance"
    if as_of:
        title += f" du {long_date(as_of)}"
    ws.cell(TITLE_ROW, 1, title).font = Font(bold=True, size=14)
    ws.cell(TITLE_ROW, len(COLUMNS), f"{len(rows)} lettre{'s' if len(rows) > 1 else ''}") \
        .alignment = Alignment(horizontal="right")
    ws.row_dimensions[TITLE_ROW].height = 24

    for col, (header, width) in enumerate(COLUMNS, start=1):
        cell = ws.cell(HEADER_ROW, col, header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width

    top = Alignment(vertical="top")
    wrapped = Alignment(vertical="top", wrap_text=True)
    for r, row in enumerate(rows, start=HEADER_ROW + 1):
        values = (row.client, row.code, "\n".join(row.address_lines), "\n".join(row.invoices),
                  row.total, row.file, None)
        for col, value in enumerate(values, start=1):
            cell = ws.cell(r, col)
            cell.value = value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # a name is text, never a formula
            cell.alignment = wrapped if col in (1, 3, 4) else top
        total = ws.cell(r, 5)
        total.number_format = EURO_FORMAT
        if row.total is not None:
            total.value = Decimal(row.total)
        ws.cell(r, 7).fill = PatternFill("solid", fgColor="FFF2CC")  # to fill in by hand
        lines = max(len(row.address_lines), len(row.invoices), 1)
        ws.row_dimensions[r].height = LINE_HEIGHT * lines + 2

    # An Excel table (filters, banded rows); it needs at least one row under its header.
    end = HEADER_ROW + max(len(rows), 1)
    table = Table(displayName="Bordereau", ref=f"A{HEADER_ROW}:{last_col}{end}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)

    # Printed for the post office: landscape, one page wide, the header on every page.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"

    save_atomically(Path(path), wb.save, "le bordereau d'envoi")
