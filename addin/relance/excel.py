"""The ribbon button « Générer les 2es relances »: the run of `relance generate`, on the
workbook open in Excel, through xlwings.

Reads each sheet in one bulk read (the Excel table, or the whole used block: never
`expand()`, which stops at the first blank row), then writes the Journal rows in one write
and the `Date 2e relance` column in one write, whatever the number of rows, in the cells
the shared write plan (recording/write_plan) chooses for the file writer too. The few calls
only a desktop Excel can answer (status bar, message boxes, saving, formulas, number formats,
protection) sit behind `DesktopExcel`; everything else runs, and is tested, against xlwings'
remote engine on any machine.
"""
from __future__ import annotations

import re
import shutil
import sys
import traceback
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Optional, Protocol

from . import __version__
from .formatting import money, short_date, some_of
from .journal import HEADERS as JOURNAL_HEADERS, JOURNAL_SHEET, second_reminder_entries
from .letters import classify
from .locking import run_lock
from .model import RelanceError
from .reading.grid import Grid, span_under_table
from .reading.headers import canonical, find_header_row, match_row
from .reading.ledger import assemble, choose_receivables, find_sheet
from .reading.settings import SETTINGS_SHEET
from .recording.write_plan import UnsupportedWorkbook, block_width, date_column, journal_write
from .batch import Channels, prepare_batch
from .outputs import check_sending, keep_sent, send_emails, write_documents
from .run import backup_path
from .workbook_io import output_dirs, with_csv_journal
from .stages import label

TITLE = "Relance"
LOG_FILE = Path.home() / ".relance" / "relance.log"


class ExcelUI(Protocol):
    """What only a desktop Excel can do or tell."""

    def status(self, text: Optional[str]) -> None: ...  # None gives the status bar back to Excel
    def confirm(self, text: str) -> bool: ...
    def message(self, text: str, critical: bool = False) -> None: ...
    def save(self) -> None: ...
    def has_formulas(self, rng) -> bool: ...
    def number_format(self, rng) -> Optional[str]: ...  # the range's format when uniform
    def write_problem(self, sheets) -> str: ...  # why these sheets cannot be written, or ""


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
        formulas = rng.formula  # a string for one cell, nested tuples for several
        cells = [formulas] if isinstance(formulas, str) else [f for row in formulas for f in row]
        return any(str(f).startswith("=") for f in cells)

    def number_format(self, rng):
        return rng.number_format or None

    def write_problem(self, sheets):
        try:  # Windows (COM); macOS answers through AppleScript, where these may be missing
            if self.book.api.ReadOnly:
                return "le classeur est ouvert en lecture seule"
            locked = [s.name for s in sheets if s.api.ProtectContents]
        except Exception:
            return ""
        return f"la feuille « {locked[0]} » est protégée" if locked else ""


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
                if not table.show_headers:
                    continue
                if len(match_row(self.values(table.header_row_range)[0])) < 3:
                    continue
                rng = table.range
                rows = self.values(rng)
                if table.show_totals:
                    rows = rows[:-1]
                grid = Grid(name, rows, rng.row, rng.column, table=table.name)
                # rows typed under the table, not part of it: one read more, to tell the user
                last = rng.last_cell.row
                span = span_under_table(last, sheet.used_range.last_cell.row,
                                        (t.range.row for t in sheet.tables if t.show_headers))
                if span is not None:
                    grid.below_table = last, self.values(sheet.range(
                        (span[0], rng.column), (span[1], rng.last_cell.column)))
                return grid
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
    run_button(book, DesktopExcel(book), as_of=date.today(), macos=sys.platform == "darwin")


def run_button(book, ui: ExcelUI, path=None, as_of: Optional[date] = None,
               now: Optional[datetime] = None, macos: bool = False) -> ButtonResult:
    """`path`: the workbook's file (by default, asked to the book: `book.fullname`)."""
    result = ButtonResult()
    try:
        local = _local_path(book if path is None else None, path)
        with run_lock(local):
            _run(book, ui, local, as_of or date.today(), now, macos, result)
    except RelanceError as err:
        result.error = err.message
        ui.message(err.message, critical=True)
    except Exception:
        result.error = _log_unexpected()
        ui.message(result.error, critical=True)
    finally:
        ui.status(None)
    return result


_WEB = ("Ce classeur est ouvert depuis une adresse web (SharePoint ou OneDrive) : Relance doit "
        "écrire les lettres à côté de lui sur le disque. Ouvrez la copie synchronisée sur votre "
        "ordinateur (depuis l'Explorateur ou le Finder), puis recliquez.")


def _local_path(book, path) -> Path:
    if book is not None:
        try:
            path = book.fullname  # xlwings maps a synced OneDrive address to its local copy…
        except Exception as err:  # …or says it cannot
            if re.search(r"onedrive|sharepoint|https?://", str(err), re.I):
                raise RelanceError(_WEB) from None
            raise
    text = str(path or "")
    if text.lower().startswith(("http://", "https://")):
        raise RelanceError(_WEB)
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
    _invoice_number_format(grid, book.sheets[grid.sheet], ui)
    settings_name = find_sheet(names, SETTINGS_SHEET)
    journal_name = find_sheet(names, JOURNAL_SHEET)
    settings = io.sheet_grid(settings_name, False) if settings_name else None
    journal = io.sheet_grid(journal_name, False) if journal_name else None
    ledger, receivables = assemble(grid, settings, journal, path.name)
    folder, root = output_dirs(path, ledger.settings.output_folder, None, as_of)
    ledger = with_csv_journal(ledger, root)
    settings = ledger.settings
    channels = Channels.of(settings.channels, pdf=settings.pdf, send_email=settings.send_email)
    batch = prepare_batch(ledger, is_csv=False, workbook_dir=path.parent, folder=folder,
                          as_of=as_of, channels=channels)
    plan = batch.plan
    sheet = book.sheets[grid.sheet]
    if not batch.outputs:
        if macos:
            _write_stage_column(sheet, grid, receivables, plan.lines, ui)
            ui.save()
        ui.message(f"Rien à faire au {short_date(as_of)} : aucune facture n'attend de 2e relance."
                   + _follow_up(plan))
        return

    # Everything that could stop the recording is checked before the first letter is written.
    stamp = (now or datetime.now()).replace(microsecond=0)

    def entries(statuses):
        return second_reminder_entries([(o.letter, o.files, st) for o, st in
                                        zip(batch.outputs, statuses)], stamp, as_of, path.parent)
    try:
        dates = date_column(grid, receivables, batch.second_reminder_dates(),
                            next_column_empty=_next_column_empty(io, sheet, grid))
        journal_write(journal, entries([{}] * len(batch.outputs)))
    except UnsupportedWorkbook as err:
        raise RelanceError(f"Le classeur ne peut pas être mis à jour : {err}. Rien n'a été "
                           f"écrit.") from None
    if channels.send_email and any("email" in o.files for o in batch.outputs):
        check_sending(settings)
    if not dates.add_header and ui.has_formulas(_date_range(sheet, dates)):
        raise RelanceError(f"La colonne « {canonical('second_reminder')} » contient des formules : "
                           f"Relance y inscrit des dates. Remplacez-les par des valeurs, puis "
                           f"recliquez. Rien n'a été écrit.")
    targets = [sheet] + ([book.sheets[journal_name]] if journal_name else [])
    problem = ui.write_problem(targets)
    if problem:
        raise RelanceError(f"Relance ne peut pas écrire dans ce classeur : {problem}. Rien n'a été "
                           f"écrit.")

    letters = [out.letter for out in batch.outputs]
    n_invoices = sum(len(lt.lines) for lt in letters)
    total = sum((lt.total for lt in letters), start=letters[0].total * 0)
    if not ui.confirm(f"{len(letters)} lettre(s) ({n_invoices} facture(s)), total "
                      f"{money(total)} — continuer ?"):
        result.cancelled = True
        ui.message("Annulé : rien n'a été écrit.")
        return

    written = write_documents(batch, settings, folder, workbook=path, progress=
                              lambda i, n, name: ui.status(f"Relance : lettre {i}/{n} – {name}"))
    sent = 0
    if channels.send_email and written.messages:
        ui.status("Relance : envoi des e-mails…")
        sent = send_emails(batch, written, settings)
    actual = entries(written.status)
    result.folder, result.letters = folder, batch.outputs
    ui.status("Relance : enregistrement dans le classeur…")
    try:
        journal_plan = journal_write(journal, actual)
        result.backup = backup_path(folder, path, stamp)
        shutil.copy2(path, result.backup)  # the file as last saved, before the run changes it
        _write_journal(book, journal_plan)  # the proof first
        _write_dates(sheet, grid, receivables, dates)
        if macos:
            _write_stage_column(sheet, grid, receivables, _stages_after(ledger, batch), ui)
    except Exception as err:
        failure = RelanceError(
            f"Les documents sont écrits dans {folder}, mais le classeur n'a pas pu être mis à "
            f"jour ({err}). Fermez-le sans l'enregistrer, puis recommencez : les mêmes lettres "
            f"seront réécrites.")
        if sent:  # never send them twice
            raise keep_sent(root / "journal.csv", actual, failure) from None
        raise failure from None
    saved = _save(ui)
    ui.message(_summary(plan, batch, folder, result.backup, saved, written.notes, sent)
               + _follow_up(plan))


# --- reading details -------------------------------------------------------------------------

def _invoice_number_format(grid: Grid, sheet, ui: ExcelUI) -> None:
    """Invoice numbers stored as numbers but shown with leading zeros (123 as `000123`): the
    values alone lose the zeros, so the column's format is asked for (one more read, only
    then), as the file reader gets it from the cells."""
    found = find_header_row(grid)
    if found is None or "invoice" not in found[1]:
        return
    i, j = found[0], found[1]["invoice"]
    if not any(isinstance(grid.value(r, j), (int, float)) and not isinstance(grid.value(r, j), bool)
               for r in range(i + 1, len(grid.rows))):
        return
    column = sheet.range((grid.first_row + i + 1, grid.first_col + j),
                         (grid.first_row + len(grid.rows) - 1, grid.first_col + j))
    fmt = ui.number_format(column)
    if fmt:
        grid.formats = [[fmt if c == j else None for c in range(len(row))] for row in grid.rows]


def _next_column_empty(io: BookIO, sheet, grid: Grid) -> bool:
    col = grid.first_col + block_width(grid)
    rows = io.values(sheet.range((grid.first_row, col), (grid.first_row + len(grid.rows), col)))
    return all(v is None or v == "" for row in rows for v in row)


def _stages_after(ledger, batch) -> list:
    """Every invoice's line once this run is recorded (its invoices now have their second
    reminder), for the `Étape` column."""
    plan, dates = batch.plan, batch.second_reminder_dates()
    invoices = tuple(inv._replace(second_reminder=dates[inv.row]) if inv.row in dates else inv
                     for inv in ledger.invoices)
    lines, _ = classify(replace(ledger, invoices=invoices), plan.as_of)
    return lines


# --- writing back, in bulk -------------------------------------------------------------------

_COERCED = re.compile(r"^\s*([=+\-@]|[\d\s.,/:%€$-]+$)")


def _as_text(value):
    """A text Excel must store as typed: `000123`, `12/11`, `=…` would otherwise turn into a
    number, a date or a formula; the leading apostrophe is Excel's own "this is text" mark."""
    if isinstance(value, str) and value and _COERCED.match(value):
        return "'" + value
    return value


def _date_range(sheet, dates):
    return sheet.range((dates.first_row, dates.column), (dates.last_row, dates.column))


def _write_dates(sheet, grid: Grid, receivables, dates) -> None:
    """The whole `Date 2e relance` column in one write: existing values kept as they were
    (texts stay texts), the run's date for the invoices it covered."""
    rows = range(dates.first_row, dates.last_row + 1)
    j = receivables.columns.get("second_reminder")

    def kept(r):
        return None if j is None else _as_text(grid.value(r - grid.first_row, j))
    column = [[dates.dates.get(r, kept(r))] for r in rows]
    if dates.add_header:
        sheet.range((dates.header_row, dates.column), (dates.last_row, dates.column)).value = \
            [[canonical("second_reminder")]] + column
        if dates.grow_table:
            table = sheet.tables[dates.grow_table]
            last = dates.last_row + (1 if table.show_totals else 0)
            table.resize(sheet.range((dates.header_row, grid.first_col), (last, dates.column)))
    elif len(rows):
        _date_range(sheet, dates).value = column


def _write_journal(book, plan) -> None:
    """The Journal rows in one write (the new headers in one more, the sheet added if missing)."""
    if plan.create_sheet:
        sheet = book.sheets.add(JOURNAL_SHEET, after=book.sheets[len(book.sheets) - 1])
    else:
        sheet = book.sheets[JOURNAL_SHEET] if JOURNAL_SHEET in [s.name for s in book.sheets] \
            else book.sheets[find_sheet([s.name for s in book.sheets], JOURNAL_SHEET)]
    lo, hi = min(plan.columns.values()), max(plan.columns.values())
    if plan.new_headers:  # side by side at the right of the existing ones, which stay as they are
        first = min(plan.new_headers.values())
        sheet.range((plan.header_row, first)).value = \
            [[h for h, _ in sorted(plan.new_headers.items(), key=lambda kv: kv[1])]]
    block = []
    for values in plan.rows:
        line = [None] * (hi - lo + 1)
        for header, value in zip(JOURNAL_HEADERS, values):
            line[plan.columns[header] - lo] = _as_text(value)
        block.append(line)
    sheet.range((plan.first_row, lo)).value = block


def _write_stage_column(sheet, grid: Grid, receivables, lines, ui: ExcelUI) -> None:
    """macOS, where xlwings has no custom formulas: the stage labels as values, in one write,
    into the `Étape` column (added at the right when missing) unless it holds formulas."""
    first = grid.first_row + receivables.header_index + 1
    rows = range(first, grid.first_row + len(grid.rows))
    if not len(rows):
        return
    labels = {line.invoice.row: label(line.stage) for line in lines}
    j = receivables.columns.get("stage")
    if j is not None:
        col = grid.first_col + j
        target = sheet.range((rows.start, col), (rows.stop - 1, col))
        if ui.has_formulas(target):
            return
        target.value = [[labels.get(r, _as_text(grid.value(r - grid.first_row, j)))] for r in rows]
        return
    extra = 0 if "second_reminder" in receivables.columns else 1
    col = grid.first_col + block_width(grid) + extra
    sheet.range((rows.start - 1, col), (rows.stop - 1, col)).value = \
        [[canonical("stage")]] + [[labels.get(r)] for r in rows]


def _save(ui: ExcelUI) -> bool:
    try:
        ui.save()
        return True
    except Exception:
        return False


# --- messages --------------------------------------------------------------------------------

def _summary(plan, batch, folder: Path, backup: Path, saved: bool, notes=(), sent=0) -> str:
    letters = [out.letter for out in batch.outputs]
    n_invoices = sum(len(lt.lines) for lt in letters)
    recorded = ("Le classeur est mis à jour (Date 2e relance, Journal) et enregistré"
                if saved else "Le classeur est mis à jour (Date 2e relance, Journal) mais n'a pas "
                "pu être enregistré : enregistrez-le vous-même (Fichier > Enregistrer)")
    what = (f"{len(letters)} lettre(s) de 2e relance" if any("courrier" in o.files for o in
                                                             batch.outputs)
            else f"{len(letters)} client(s) relancé(s) une 2e fois, sans lettre")
    lines = [f"{what} ({n_invoices} facture(s)), documents dans :", str(folder), "",
             f"{recorded} ; sauvegarde de la version précédente : {backup.name}."]
    lines += [f"{kind} : {path.name}" for kind, path in (
        ("Toutes les lettres, à imprimer", batch.shared.get("combined")),
        ("Bordereau d'envoi", batch.shared.get("register")),
        ("SMS à envoyer", batch.shared.get("sms"))) if path]
    emails = sum(1 for o in batch.outputs if "email" in o.files)
    if sent:
        lines.append(f"E-mails : {sent} envoyé(s) sur {emails}.")
    elif emails:
        lines.append(f"E-mails : {emails} brouillon(s) .eml prêt(s) à envoyer.")
    lines += [f"{note}" for note in notes]
    defaulted = [lt.client.name for lt in letters if lt.type_defaulted]
    if defaulted:
        lines.append(f"Type client par défaut appliqué à : {some_of(defaulted)}.")
    if batch.unreached:
        lines += [f"Non joignables ({len(batch.unreached)}) :"] + [
            f"- {a.message}" for a in batch.unreached[:6]] + (
            [f"- et {len(batch.unreached) - 6} autre(s)"] if len(batch.unreached) > 6 else [])
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
