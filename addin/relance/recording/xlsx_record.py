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

from ..journal import HEADERS as JOURNAL_HEADERS, JOURNAL_SHEET, find_header, to_row
from ..model import RelanceError
from ..reading.grid import Grid
from ..reading.headers import canonical
from ..reading.ledger import find_sheet
from ..reading.receivables import Receivables
from .xlsx_cells import (AMOUNT_FORMAT, DATE_FORMAT, DATETIME_FORMAT, Cell, Package, Sheet, Styles,
                         TableEdit, UnsupportedWorkbook, add_worksheet, request_full_recalc,
                         shared_strings, workbook_epoch)

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
        """Back the original up, then replace it in one atomic rename."""
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.path, backup)
        shutil.copymode(self.path, self.temp)
        os.replace(self.temp, self.path)

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)


def prepare(path: Path, grid: Grid, receivables: Receivables, dates: dict,
            journal_entries: list) -> PreparedWorkbook:
    """Build the updated workbook: `dates` maps sheet row -> second-reminder date.

    Raises UnsupportedWorkbook when the file cannot be edited safely (the caller then leaves
    it untouched and says which dates to record by hand)."""
    try:
        package = Package(path)
    except (OSError, ValueError) as err:
        raise RelanceError(f"Impossible de relire {path.name} pour l'enregistrer ({err}).") from None
    try:
        return _prepare(package, path, grid, receivables, dates, journal_entries)
    except (KeyError, AttributeError, TypeError, ValueError, SyntaxError) as err:
        raise UnsupportedWorkbook(f"structure inattendue ({type(err).__name__}: {err})") from None


def _prepare(package: Package, path: Path, grid: Grid, receivables: Receivables, dates: dict,
             journal_entries: list) -> PreparedWorkbook:
    epoch = workbook_epoch(package)
    styles = Styles(package)
    parts = package.sheet_parts()
    if grid.sheet not in parts:
        raise UnsupportedWorkbook(f"feuille « {grid.sheet} » introuvable dans le fichier")
    sheet = Sheet(package, parts[grid.sheet], epoch)
    header_row = grid.first_row + receivables.header_index
    columns = {f: grid.first_col + j for f, j in receivables.columns.items()}

    added = None
    col = columns.get("second_reminder")
    if col is None:
        col = _add_date_column(sheet, grid, header_row)
        added = canonical("second_reminder")
    skipped = []
    for row, day in sorted(dates.items()):
        if sheet.has_formula(row, col):
            skipped.append((row, "la cellule contient une formule"))
            continue
        neighbours = [sheet.style_of(row, columns[f]) for f in ("first_reminder", "due_date")
                      if f in columns]
        style = _date_style(styles, sheet.style_of(row, col), *neighbours)
        sheet.set(row, col, Cell(day, style))
    sheet.save()

    if journal_entries:
        _append_journal(package, styles, parts, journal_entries, epoch)
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
    return PreparedWorkbook(path, Path(temp), skipped, added)


def _date_style(styles: Styles, own, *neighbours) -> int:
    """The cell's own format when it shows dates; else its own look (fill, border, font) with a
    date number format; for a cell without format, that of a neighbouring date cell."""
    if styles.is_date_style(own):
        return own
    if own is not None and own != 0:
        return styles.with_number_format(own, DATE_FORMAT)
    return next((s for s in neighbours if styles.is_date_style(s)), None) or \
        styles.style_for(DATE_FORMAT)


def _add_date_column(sheet: Sheet, grid: Grid, header_row: int) -> int:
    """Add `Date 2e relance` at the right of the table (or of the used block)."""
    name = canonical("second_reminder")
    table = next((TableEdit(p, r) for p, r in sheet.tables()
                  if r.get("displayName") == grid.table or r.get("name") == grid.table), None) \
        if grid.table else None
    if table is not None:
        min_col, min_row, max_col, max_row = table.bounds
        if not all(sheet.is_empty(r, max_col + 1) for r in range(min_row, max_row + 1)):
            # A column outside the table would not be read back: the next run would not see
            # the dates. Leave the workbook as it is instead.
            raise UnsupportedWorkbook(
                f"la colonne « {name} » manque au tableau « {grid.table} » et la colonne à sa "
                f"droite n'est pas libre ; ajoutez la colonne « {name} » au tableau")
        table.add_column(name)
        sheet.package.put(table.part, table.root)
        col = max_col + 1
    else:
        col = max(sheet.last_column(), grid.first_col + len(grid.rows[0]) - 1 if grid.rows else 0) + 1
    left_style = sheet.style_of(header_row, col - 1)
    sheet.set(header_row, col, Cell(name, left_style))
    sheet.ensure_width(col, DATE_COLUMN_WIDTH)
    return col


def _append_journal(package: Package, styles: Styles, parts: dict, entries: list, epoch: date):
    name = find_sheet(parts, JOURNAL_SHEET)
    if name is None:
        part = add_worksheet(package, JOURNAL_SHEET)
        sheet = Sheet(package, part, epoch)
        bold = styles.style_for("General", bold=True)
        for j, header in enumerate(JOURNAL_HEADERS, start=1):
            sheet.set(1, j, Cell(header, bold))
            sheet.ensure_width(j, 40 if header == "Fichier" else 18)
        header_row, mapping = 1, {h: j for j, h in enumerate(JOURNAL_HEADERS, start=1)}
    else:
        sheet = Sheet(package, parts[name], epoch)
        header_row, mapping = _journal_columns(sheet, package)
    formats = {"Date et heure": DATETIME_FORMAT, "Date de référence": DATE_FORMAT,
               "Total dû": AMOUNT_FORMAT}
    style = {h: styles.style_for(code) for h, code in formats.items()}
    row = max(sheet.last_row(), header_row) + 1
    first_new = row
    for entry in entries:
        for header, value in zip(JOURNAL_HEADERS, to_row(entry)):
            sheet.set(row, mapping[header], Cell(value, style.get(header)))
        row += 1
    for part, root in sheet.tables():
        table = TableEdit(part, root)
        min_col, min_row, max_col, max_row = table.bounds
        # Grow a journal table that ends on the last row; one with a totals row keeps its
        # range (new rows below a totals row would otherwise become its body).
        if min_row == header_row and max_row == first_new - 1 and not table.totals_rows:
            table.extend_to_row(row - 1)
            package.put(part, table.root)
    sheet.save()


def _journal_columns(sheet: Sheet, package: Package) -> tuple[int, dict]:
    """The Journal's header row (the rule the reader uses) and the 1-based column of each of
    our headers; headers it lacks are added at its right."""
    strings = shared_strings(package)
    width = max(sheet.last_column(), len(JOURNAL_HEADERS))
    rows = [[sheet.text(r, j, strings) for j in range(1, width + 1)] for r in range(1, 21)]
    found = find_header(rows)
    if found is None:
        if sheet.last_row() == 0:
            for j, header in enumerate(JOURNAL_HEADERS, start=1):
                sheet.set(1, j, Cell(header))
            return 1, {h: j for j, h in enumerate(JOURNAL_HEADERS, start=1)}
        raise UnsupportedWorkbook(
            f"la feuille « {JOURNAL_SHEET} » existe mais ses en-têtes ne sont pas reconnus "
            f"(attendu : {', '.join(JOURNAL_HEADERS)})")
    index, columns = found
    r = index + 1
    mapping = {h: j + 1 for h, j in columns.items()}
    next_col = max(j + 1 for j, text in enumerate(rows[index]) if text) + 1
    for header in JOURNAL_HEADERS:
        if header not in mapping:
            sheet.set(r, next_col, Cell(header, sheet.style_of(r, next_col - 1)))
            mapping[header] = next_col
            next_col += 1
    return r, mapping
