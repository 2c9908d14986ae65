"""Recording a run in an .xlsx/.xlsm file: `Date 2e relance` cells and `Journal` rows.

The new file is prepared next to the workbook before any letter is written (so a workbook
we cannot update stops the run early), then swapped in atomically at the end, after a
backup copy of the original has been made.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Optional

from .. import faults
from ..journal import HEADERS as JOURNAL_HEADERS, JOURNAL_SHEET
from ..model import RelanceError
from ..reading.grid import Grid
from ..reading.headers import canonical
from ..reading.ledger import find_sheet
from ..reading.receivables import Receivables
from .write_plan import JournalWrite, UnsupportedWorkbook, block_width, date_column, journal_write
from .xlsx_cells import (AMOUNT_FORMAT, DATE_FORMAT, DATETIME_FORMAT, Cell, Package, Sheet, Styles,
                         TableEdit, add_worksheet, request_full_recalc, workbook_epoch)

__all__ = ["PreparedWorkbook", "UnsupportedWorkbook", "prepare"]

DATE_COLUMN_WIDTH = 14


@dataclass
class PreparedWorkbook:
    """The updated workbook, written to a temporary file beside the original."""

    path: Path
    temp: Path
    skipped: list = field(default_factory=list)  # (row, reason): dates not written
    column_added: Optional[str] = None

    def commit(self, backup: Path) -> None:
        """Back the original up (a copy under a temporary name, renamed once complete: a full
        disk never leaves half a backup), then replace the workbook in one atomic rename."""
        backup.parent.mkdir(parents=True, exist_ok=True)
        partial = backup.with_name(f".~{backup.name}")
        try:
            shutil.copy2(self.path, partial)
            os.replace(partial, backup)
        except OSError:
            partial.unlink(missing_ok=True)
            raise
        faults.point("after-backup")
        shutil.copymode(self.path, self.temp)
        with open(self.temp, "rb+") as fh:  # on disk before it takes the workbook's name
            os.fsync(fh.fileno())
        faults.point("before-workbook-swap")
        os.replace(self.temp, self.path)

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)


def prepare(path: Path, grid: Grid, receivables: Receivables, dates: dict,
            journal_entries: list, journal: Optional[Grid]) -> PreparedWorkbook:
    """Build the updated workbook: `dates` maps sheet row -> second-reminder date; `journal`
    is the Journal sheet's block as read (None when the sheet is missing).

    Raises UnsupportedWorkbook when the file cannot be edited safely (the caller then leaves
    it untouched and says which dates to record by hand)."""
    try:
        package = Package(path)
    except (OSError, ValueError) as err:
        raise RelanceError(f"Impossible de relire {path.name} pour l'enregistrer ({err}).") from None
    try:
        return _prepare(package, path, grid, receivables, dates, journal_entries, journal)
    except (KeyError, AttributeError, TypeError, ValueError, SyntaxError) as err:
        raise UnsupportedWorkbook(f"structure inattendue ({type(err).__name__}: {err})") from None


def _prepare(package: Package, path: Path, grid: Grid, receivables: Receivables, dates: dict,
             journal_entries: list, journal: Optional[Grid]) -> PreparedWorkbook:
    epoch = workbook_epoch(package)
    styles = Styles(package)
    parts = package.sheet_parts()
    if grid.sheet not in parts:
        raise UnsupportedWorkbook(f"feuille « {grid.sheet} » introuvable dans le fichier")
    sheet = Sheet(package, parts[grid.sheet], epoch)
    columns = {f: grid.first_col + j for f, j in receivables.columns.items()}
    table = _table(sheet, grid.table)
    last_table_row = table.bounds[3] if table is not None else 0
    right = grid.first_col + block_width(grid)  # the column right of the block
    last = max(grid.first_row + len(grid.rows), last_table_row + 1)
    plan = date_column(grid, receivables, dates, next_column_empty=all(
        sheet.is_empty(r, right) for r in range(grid.first_row, last)))
    journal_plan = journal_write(journal, journal_entries) if journal_entries else None

    if plan.add_header:
        sheet.set(plan.header_row, plan.column,
                  Cell(canonical("second_reminder"), sheet.style_of(plan.header_row, plan.column - 1)))
        sheet.ensure_width(plan.column, DATE_COLUMN_WIDTH)
        if table is not None:
            table.add_column(canonical("second_reminder"))
            package.put(table.part, table.root)
    skipped = []
    for row, day in sorted(plan.dates.items()):
        if sheet.has_formula(row, plan.column):
            skipped.append((row, "la cellule contient une formule"))
            continue
        neighbours = [sheet.style_of(row, columns[f]) for f in ("first_reminder", "due_date")
                      if f in columns]
        style = _date_style(styles, sheet.style_of(row, plan.column), *neighbours)
        sheet.set(row, plan.column, Cell(day, style))
    sheet.save()

    if journal_plan is not None:
        _append_journal(package, styles, parts, journal_plan, epoch)
    request_full_recalc(package)
    styles.save()

    fd, temp = tempfile.mkstemp(prefix=f".~relance-{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        package.write(temp)
    except OSError as err:
        Path(temp).unlink(missing_ok=True)
        raise RelanceError(f"Impossible d'écrire à côté de {path.name} ({err}) : le classeur n'a "
                           f"pas été modifié.") from None
    return PreparedWorkbook(path, Path(temp), skipped,
                            canonical("second_reminder") if plan.add_header else None)


def _table(sheet: Sheet, name: str) -> Optional[TableEdit]:
    if not name:
        return None
    return next((TableEdit(p, r) for p, r in sheet.tables()
                 if name in (r.get("displayName"), r.get("name"))), None)


def _date_style(styles: Styles, own, *neighbours) -> int:
    """The cell's own format when it shows dates; else its own look (fill, border, font) with a
    date number format; for a cell without format, that of a neighbouring date cell."""
    if styles.is_date_style(own):
        return own
    if own is not None and own != 0:
        return styles.with_number_format(own, DATE_FORMAT)
    return next((s for s in neighbours if styles.is_date_style(s)), None) or \
        styles.style_for(DATE_FORMAT)


def _append_journal(package: Package, styles: Styles, parts: dict, plan: JournalWrite,
                    epoch: date) -> None:
    if plan.create_sheet:
        sheet = Sheet(package, add_worksheet(package, JOURNAL_SHEET), epoch)
    else:
        sheet = Sheet(package, parts[find_sheet(parts, JOURNAL_SHEET)], epoch)
    bold = styles.style_for("General", bold=True)
    for header, col in plan.new_headers.items():
        sheet.set(plan.header_row, col, Cell(header, bold))
        sheet.ensure_width(col, 40 if header == "Fichier" else 18)
    formats = {"Date et heure": DATETIME_FORMAT, "Date de référence": DATE_FORMAT,
               "Total dû": AMOUNT_FORMAT}
    style = {h: styles.style_for(code) for h, code in formats.items()}
    row = plan.first_row
    for values in plan.rows:
        sheet.append(row, {plan.columns[header]: Cell(value, style.get(header))
                           for header, value in zip(JOURNAL_HEADERS, values)})
        row += 1
    for part, root in sheet.tables():
        table = TableEdit(part, root)
        min_col, min_row, max_col, max_row = table.bounds
        # Grow a journal table that ends on the last row; one with a totals row keeps its
        # range (new rows below a totals row would otherwise become its body).
        if min_row == plan.header_row and max_row == plan.first_row - 1 and not table.totals_rows:
            table.extend_to_row(row - 1)
            package.put(part, table.root)
    sheet.save()
