"""Where a run's records go in the workbook: one plan, used by both writers (the file editor
and the live Excel writer), so they put the same values in the same cells.

Pure: grids and the run's dates and journal entries in; cells to write out. A workbook the
writers must not touch (the date column cannot join the table, the Journal's headers are
not recognised) raises UnsupportedWorkbook with the reason, before anything is written.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..journal import HEADERS, find_header, to_row
from ..reading.grid import Grid
from ..reading.headers import canonical
from ..reading.receivables import Receivables
from ..values import cell_text


class UnsupportedWorkbook(Exception):
    """The file holds a structure the run must not change; the workbook is left as is."""


@dataclass(frozen=True)
class DateColumn:
    """The `Date 2e relance` column: where it is (or goes) and the dates the run records."""

    column: int  # 1-based sheet column
    header_row: int
    first_row: int  # first data row
    last_row: int  # last data row
    add_header: bool  # a new column: its header is written too
    grow_table: str  # the Excel table to extend by this column, or ""
    dates: dict  # sheet row -> date


def block_width(grid: Grid) -> int:
    return max((len(row) for row in grid.rows), default=0)


def date_column(grid: Grid, receivables: Receivables, dates: dict,
                next_column_empty: bool) -> DateColumn:
    """`next_column_empty`: whether the sheet column right of the block (the table) is empty
    on the block's rows; the caller looks, since the block does not include it."""
    header_row = grid.first_row + receivables.header_index
    first, last = header_row + 1, grid.first_row + len(grid.rows) - 1
    j = receivables.columns.get("second_reminder")
    if j is not None:
        return DateColumn(grid.first_col + j, header_row, first, last, False, "", dict(dates))
    name = canonical("second_reminder")
    if not next_column_empty:
        where = f"au tableau « {grid.table} »" if grid.table else "à la feuille"
        raise UnsupportedWorkbook(
            f"la colonne « {name} » manque {where} et la colonne à sa droite n'est pas libre ; "
            f"ajoutez une colonne « {name} » {where}")
    return DateColumn(grid.first_col + block_width(grid), header_row, first, last, True,
                      grid.table, dict(dates))


@dataclass(frozen=True)
class JournalWrite:
    """The Journal rows of the run: below the last used row, in the sheet's own columns."""

    create_sheet: bool
    header_row: int
    columns: dict  # header -> 1-based column
    new_headers: dict  # header -> 1-based column, to write in the header row
    first_row: int
    rows: list  # values in HEADERS order, one list per entry


def journal_write(journal: Optional[Grid], entries: list) -> JournalWrite:
    """`journal`: the Journal sheet's used block (None when there is no such sheet)."""
    rows = [to_row(e) for e in entries]
    standard = {h: j for j, h in enumerate(HEADERS, start=1)}
    if journal is None:
        return JournalWrite(True, 1, standard, dict(standard), 2, rows)
    if all(cell_text(v) == "" for row in journal.rows for v in row):
        return JournalWrite(False, 1, standard, dict(standard), 2, rows)
    found = find_header(journal.rows)
    if found is None:
        raise UnsupportedWorkbook(
            f"la feuille « {journal.sheet} » existe mais ses en-têtes ne sont pas reconnus "
            f"(attendu : {', '.join(HEADERS)})")
    index, columns = found
    header_row = journal.first_row + index
    mapping = {h: journal.first_col + j for h, j in columns.items()}
    filled = [journal.first_col + j for j, v in enumerate(journal.rows[index]) if cell_text(v)]
    next_col = max(filled) + 1
    new = {}
    for header in HEADERS:
        if header not in mapping:
            mapping[header] = new[header] = next_col
            next_col += 1
    last_used = journal.first_row + max(i for i, row in enumerate(journal.rows)
                                        if any(cell_text(v) for v in row))
    return JournalWrite(False, header_row, mapping, new, max(last_used, header_row) + 1, rows)
