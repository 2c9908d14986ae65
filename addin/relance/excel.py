"""The ribbon button « Générer les 2es relances »: the run of `relance generate`, on the
workbook open in Excel, through xlwings.

Reads each sheet in one bulk read (the Excel table, or the whole used block: never
`expand()`, which stops at the first blank row), writes the `Date 2e relance` column in one
write and the Journal rows in one write, whatever the number of rows. The few calls only a
desktop Excel can answer (status bar, message boxes, saving) sit behind `DesktopExcel`, so
everything else runs, and is tested, against xlwings' remote engine on any machine.
"""
from __future__ import annotations

import shutil
import sys
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Optional, Protocol

from . import __version__
from .formatting import money, short_date
from .journal import HEADERS as JOURNAL_HEADERS, JOURNAL_SHEET, find_header, second_reminder_entries, to_row
from .locking import run_lock
from .model import RelanceError
from .reading.grid import Grid
from .reading.headers import canonical, match_row
from .reading.ledger import assemble, choose_receivables, find_sheet
from .reading.settings import SETTINGS_SHEET
from .run import output_dirs, prepare_batch, with_csv_journal, write_letters
from .stages import label
from .values import fold

TITLE = "Relance"
LOG_FILE = Path.home() / ".relance" / "relance.log"


class ExcelUI(Protocol):
    """What only a desktop Excel can do."""

    def status(self, text: Optional[str]) -> None: ...  # None gives the status bar back to Excel
    def confirm(self, text: str) -> bool: ...
    def message(self, text: str, critical: bool = False) -> None: ...
    def save(self) -> None: ...
    def has_formulas(self, rng) -> bool: ...


class DesktopExcel:
    """ExcelUI for Excel on Windows and macOS."""

    def __init__(self, book):
        self.book = book

    def status(self, text):
        self.book.app.status_bar = text if text else False

    def confirm(self, text):
        return self.book.app.alert(text, title=TITLE, buttons="yes_no", mode="info") == "yes"

    def message(self, text, critical=False):
        self.book.app.alert(text, title=TITLE, mode="critical" if critical else "info")

    def save(self):
        self.book.save()

    def has_formulas(self, rng):
        formulas = rng.options(ndim=2).formula
        return any(str(f).startswith("=") for row in formulas for f in row)


class BookIO:
    """Bulk reads of a live workbook, counted (the count must not grow with the rows)."""

    def __init__(self, book):
        self.book = book
        self.reads = 0

    def values(self, rng) -> list:
        self.reads += 1
        values = rng.options(ndim=2).value
        return values if values else [[]]

    def sheet_grid(self, name: str, use_table: bool = True) -> Grid:
        sheet = self.book.sheets[name]
        if use_table:
            for table in sheet.tables:
                rng = table.range
                rows = self.values(rng)
                if rows and len(match_row(rows[0])) >= 3:
                    if table.show_totals:
                        rows = rows[:-1]
                    return Grid(name, rows, rng.row, rng.column, table=table.name)
        used = sheet.used_range
        return Grid(name, self.values(used), used.row, used.column)


@dataclass
class ButtonResult:
    """What the button did, for the summary (and the tests)."""

    letters: list = field(default_factory=list)
    folder: Optional[Path] = None
    backup: Optional[Path] = None
    cancelled: bool = False
    error: str = ""
    reads: int = 0  # bulk range reads made (constant, whatever the number of rows)


def main() -> None:
    """Entry point of the ribbon button (RibbonMyAddin.RunMain → relance.main())."""
    import xlwings as xw
    book = xw.Book.caller()
    run_button(book, DesktopExcel(book), path=book.fullname, as_of=date.today(),
               macos=sys.platform == "darwin")


def run_button(book, ui: ExcelUI, path, as_of: date, now: Optional[datetime] = None,
               macos: bool = False) -> ButtonResult:
    result = ButtonResult()
    try:
        _run(book, ui, _local_path(path), as_of, now, macos, result)
    except RelanceError as err:
        result.error = err.message
        ui.message(err.message, critical=True)
    except Exception:
        result.error = _log_unexpected()
        ui.message(result.error, critical=True)
    finally:
        ui.status(None)
    return result


def _local_path(path) -> Path:
    text = str(path or "")
    if text.lower().startswith(("http://", "https://")):
        raise RelanceError(
            "Ce classeur est ouvert depuis une adresse web (SharePoint ou OneDrive) : Relance doit "
            "écrire les lettres à côté de lui sur le disque. Ouvrez la copie synchronisée sur "
            "votre ordinateur (Fichier > Informations > Ouvrir dans l'application de bureau, ou "
            "depuis l'Explorateur), puis recliquez.")
    candidate = Path(text)
    if not text or not candidate.is_absolute() or not candidate.exists():
        raise RelanceError("Enregistrez d'abord le classeur (Fichier > Enregistrer sous) : les "
                           "lettres sont écrites dans un dossier à côté de lui.")
    return candidate


def _run(book, ui: ExcelUI, path: Path, as_of: date, now, macos: bool, result: ButtonResult):
    io = BookIO(book)
    try:
        _work(book, ui, io, path, as_of, now, macos, result)
    finally:
        result.reads = io.reads


def _work(book, ui: ExcelUI, io: BookIO, path: Path, as_of: date, now, macos: bool,
          result: ButtonResult):
    ui.status("Relance : lecture du classeur…")
    names = [s.name for s in book.sheets]
    grid = choose_receivables(names, io.sheet_grid)
    settings_name = find_sheet(names, SETTINGS_SHEET)
    journal_name = find_sheet(names, JOURNAL_SHEET)
    settings = io.sheet_grid(settings_name, False) if settings_name else None
    journal = io.sheet_grid(journal_name, False) if journal_name else None
    ledger, receivables = assemble(grid, settings, journal, path.name)
    folder, root = output_dirs(path, ledger.settings.output_folder, None, as_of)
    ledger, _ = with_csv_journal(ledger, root)
    batch = prepare_batch(ledger, is_csv=False, workbook_dir=path.parent, folder=folder,
                          as_of=as_of)
    plan = batch.plan
    sheet = book.sheets[grid.sheet]
    if macos:
        _write_stage_column(sheet, grid, receivables, plan, ui)
    if not plan.letters:
        ui.message(f"Rien à faire au {short_date(as_of)} : aucune facture n'attend de 2e relance."
                   + _follow_up(plan))
        return
    n_invoices = sum(len(lt.lines) for lt in plan.letters)
    total = sum((lt.total for lt in plan.letters), start=plan.letters[0].total * 0)
    if not ui.confirm(f"{len(plan.letters)} lettre(s) ({n_invoices} facture(s)), total "
                      f"{money(total)} — continuer ?"):
        result.cancelled = True
        ui.message("Annulé : rien n'a été écrit.")
        return

    with run_lock(path):
        write_letters(batch, folder,
                      lambda i, n, name: ui.status(f"Relance : lettre {i}/{n} – {name}"))
        result.folder, result.letters = folder, batch.outputs
        ui.status("Relance : enregistrement dans le classeur…")
        result.backup = folder / f"sauvegarde {path.stem} {datetime.now():%Y-%m-%d %H%M%S}{path.suffix}"
        shutil.copy2(path, result.backup)  # the file as last saved, before the run changes it
        stamp = (now or datetime.now()).replace(microsecond=0)
        entries = second_reminder_entries([(o.letter, o.files, {}) for o in batch.outputs],
                                          stamp, as_of, path.parent)
        _write_dates(book, sheet, grid, receivables, plan)
        _append_journal(book, journal, entries)
        ui.save()
    ui.message(_summary(plan, batch, folder, result.backup) + _follow_up(plan))


# --- writing back, in bulk -----------------------------------------------------------------

def _data_rows(grid: Grid, receivables) -> range:
    """Sheet rows of the block below the header."""
    first = grid.first_row + receivables.header_index + 1
    return range(first, grid.first_row + len(grid.rows))


def _write_dates(book, sheet, grid: Grid, receivables, plan) -> None:
    """The whole `Date 2e relance` column in one write: existing values kept, the run's date
    for the invoices it covered (replacing a date that lay after the as-of date)."""
    dates = plan.second_reminder_dates()
    rows = _data_rows(grid, receivables)
    j = receivables.columns.get("second_reminder")
    if j is not None:
        column = [[dates.get(r, grid.value(r - grid.first_row, j))] for r in rows]
        col = grid.first_col + j
        sheet.range((rows.start, col), (rows.stop - 1, col)).value = column
        return
    header_row = rows.start - 1
    col = grid.first_col + max(len(r) for r in grid.rows)
    column = [[canonical("second_reminder")]] + [[dates.get(r)] for r in rows]
    sheet.range((header_row, col), (rows.stop - 1, col)).value = column
    if grid.table:
        table = sheet.tables[grid.table]
        table.resize(sheet.range((header_row, grid.first_col),
                                 (rows.stop - 1 + (1 if table.show_totals else 0), col)))


def _write_stage_column(sheet, grid: Grid, receivables, plan, ui: ExcelUI) -> None:
    """macOS, where xlwings has no custom formulas: the stage labels as values, in one write,
    into the `Étape` column (added at the right when missing) unless it holds formulas."""
    rows = _data_rows(grid, receivables)
    if not len(rows):
        return
    labels = {line.invoice.row: label(line.stage) for line in plan.lines}
    j = receivables.columns.get("stage")
    if j is not None:
        col = grid.first_col + j
        target = sheet.range((rows.start, col), (rows.stop - 1, col))
        if ui.has_formulas(target):
            return
        target.value = [[labels.get(r, grid.value(r - grid.first_row, j))] for r in rows]
        return
    extra = 0 if "second_reminder" in receivables.columns else 1
    col = grid.first_col + max(len(r) for r in grid.rows) + extra
    sheet.range((rows.start - 1, col), (rows.stop - 1, col)).value = \
        [[canonical("stage")]] + [[labels.get(r)] for r in rows]


def _append_journal(book, journal: Optional[Grid], entries: list) -> None:
    """The run's Journal rows in one write, below the last used row (sheet created if missing)."""
    values = [to_row(e) for e in entries]
    found = find_header(journal.rows) if journal is not None else None
    if journal is None or (found is None and all(v is None for r in journal.rows for v in r)):
        sheet = book.sheets[JOURNAL_SHEET] if journal is not None else \
            book.sheets.add(JOURNAL_SHEET, after=book.sheets[len(book.sheets) - 1])
        sheet.range((1, 1)).value = [list(JOURNAL_HEADERS)] + values
        return
    if found is None:
        raise RelanceError(f"La feuille « {JOURNAL_SHEET} » existe mais ses en-têtes ne sont pas "
                           f"reconnus (attendu : {', '.join(JOURNAL_HEADERS)}). Renommez-la ou "
                           f"corrigez ses en-têtes.")
    _, columns = found
    missing = [h for h in JOURNAL_HEADERS if h not in columns]
    if missing:
        raise RelanceError(f"La feuille « {JOURNAL_SHEET} » n'a pas les colonnes "
                           + ", ".join(f"« {h} »" for h in missing) + " : ajoutez-les.")
    lo, hi = min(columns.values()), max(columns.values())
    block = []
    for row in values:
        line = [None] * (hi - lo + 1)
        for header, value in zip(JOURNAL_HEADERS, row):
            line[columns[header] - lo] = value
        block.append(line)
    sheet = book.sheets[journal.sheet]
    start = journal.first_row + len(journal.rows)
    sheet.range((start, journal.first_col + lo)).value = block


# --- messages ------------------------------------------------------------------------------

def _summary(plan, batch, folder: Path, backup: Path) -> str:
    n_invoices = sum(len(lt.lines) for lt in plan.letters)
    lines = [f"{len(plan.letters)} lettre(s) de 2e relance écrite(s) ({n_invoices} facture(s)) "
             f"dans :", str(folder), "",
             "Le classeur est mis à jour (Date 2e relance, Journal) et enregistré ; "
             f"sauvegarde de la version précédente : {backup.name}."]
    defaulted = [lt.client.name for lt in plan.letters if lt.type_defaulted]
    if defaulted:
        lines.append(f"Type client par défaut appliqué à : {', '.join(defaulted)}.")
    if plan.anomalies or batch.warnings:
        lines += ["", f"Points à vérifier ({len(plan.anomalies) + len(batch.warnings)}) :"]
        lines += [f"• {w}" for w in batch.warnings]
        lines += [f"• {a.describe()}" for a in plan.anomalies[:8]]
        if len(plan.anomalies) > 8:
            lines.append(f"• … et {len(plan.anomalies) - 8} autre(s).")
    return "\n".join(lines)


def _follow_up(plan) -> str:
    if not plan.responded:
        return ""
    items = ", ".join(f"{ln.invoice.number} ({ln.invoice.client.name})" for ln in plan.responded)
    return f"\n\nRéponses reçues, à suivre par vous : {items}."


def _log_unexpected() -> str:
    """An apology and where the details are: never a traceback in a message box."""
    try:
        LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
        with open(LOG_FILE, "a", encoding="utf-8") as log:
            log.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} relance {__version__}\n"
                      f"{traceback.format_exc()}\n")
        where = f" Le détail est dans {LOG_FILE} : transmettez ce fichier au support."
    except OSError:
        where = ""
    return ("Désolé : une erreur inattendue a arrêté Relance (ce n'est pas votre classeur)."
            + where)
