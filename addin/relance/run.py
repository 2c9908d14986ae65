"""One `generate` run on a workbook file: read, plan, render, record — all or nothing.

Order matters for a run that can always be resumed:
1. read and plan (pure); stop on bad input before anything is written;
2. check the templates and prepare the updated workbook beside the original;
3. render every letter into a staging folder inside the output folder;
4. move the letters to their final names (a partial file never carries a final name);
5. back the workbook up and swap the updated one in (one rename).
Killed before 5, the workbook is unchanged and the next run writes the same letters again
under the same names; after 5, the run is recorded and will not be repeated.
"""
from __future__ import annotations

import glob
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Optional

from .batch import Channels, prepare_batch
from .journal import DRAFT, second_reminder_entries
from .letters import Plan
from .locking import run_lock
from .model import RelanceError
from .oserrors import describe_os_error
from .outputs import check_sending, keep_sent, send_emails, without_pdfs, write_documents
from .recording import csv_journal, xlsx_record
from .workbook_io import excel_lock_file, output_dirs, read


@dataclass(frozen=True)
class Options:
    as_of: date
    out: Optional[Path] = None
    channels: Channels = Channels()
    dry_run: bool = False
    now: Optional[datetime] = None  # the run's clock time, for the journal


@dataclass
class RunResult:
    plan: Plan
    output_dir: Path
    outputs: list = field(default_factory=list)
    backup: Optional[Path] = None
    journal: Optional[Path] = None  # journal.csv for a CSV input
    manual_dates: list = field(default_factory=list)  # (row, invoice, reason) not written
    column_added: Optional[str] = None
    dry_run: bool = False
    warnings: list = field(default_factory=list)  # what the letters lack (settings)
    unreached: list = field(default_factory=list)  # Anomaly: clients a channel cannot reach
    shared: dict = field(default_factory=dict)  # combined, register, sms -> Path
    notes: list = field(default_factory=list)  # no PDF converter, e-mails not sent…
    entries: list = field(default_factory=list)  # the Journal entries the run recorded

    @property
    def nothing_to_do(self) -> bool:
        return not self.outputs


def generate(workbook: Path, options: Options,
             progress: Optional[Callable[[int, int, str], None]] = None) -> RunResult:
    """A real run holds the workbook's run lock from before it reads to after it records: a
    second run waits for nothing, it refuses, so two runs never plan the same letters."""
    workbook = Path(workbook).expanduser()
    workbook = workbook.resolve() if workbook.exists() else workbook
    if options.dry_run:
        return _generate(workbook, options, progress)
    with run_lock(workbook):
        return _generate(workbook, options, progress)


def _generate(workbook: Path, options: Options, progress) -> RunResult:
    stamp = _stamp(workbook) if workbook.exists() else None
    data, folder, journal_path = read(workbook, options.as_of, options.out)
    settings = data.ledger.settings
    batch = prepare_batch(data.ledger, is_csv=data.is_csv, workbook_dir=workbook.parent,
                          folder=folder, as_of=options.as_of, channels=options.channels)
    plan = batch.plan
    result = RunResult(plan, folder, outputs=batch.outputs,
                       journal=journal_path if data.is_csv else None, dry_run=options.dry_run,
                       warnings=batch.warnings, unreached=batch.unreached, shared=batch.shared)
    if data.is_csv and batch.outputs:  # a new list: the batch's stays what the settings say
        result.warnings = batch.warnings + _journal_warnings(workbook, settings, journal_path,
                                                             options.as_of)
    if options.dry_run:
        if batch.outputs and options.channels.pdf:
            from .documents.pdf import NO_CONVERTER, find_converter
            if find_converter() is None:  # said now, as the real run would say it
                without_pdfs(batch)
                result.notes = [NO_CONVERTER]
        lock = excel_lock_file(workbook) if batch.outputs and not data.is_csv else None
        if lock is not None:  # the real run would refuse: said now
            result.notes.append(
                f"Le classeur est ouvert dans Excel ou LibreOffice ({lock.name} présent à côté) "
                f": la vraie exécution le refusera tant qu'il n'est pas fermé.")
        return result
    if not batch.outputs:
        return result
    if not data.is_csv:
        _refuse_if_open_in_excel(workbook)

    _remove_stale_temp_files(workbook)  # the run lock is held (see generate)
    now = (options.now or datetime.now()).replace(microsecond=0)

    def entries(statuses):
        return second_reminder_entries(
            [(out.letter, out.files, st) for out, st in zip(batch.outputs, statuses)],
            now, options.as_of, workbook.parent)
    expected = entries([{"email": DRAFT}] * len(batch.outputs))
    if options.channels.send_email and any("email" in o.files for o in batch.outputs):
        check_sending(settings)  # before anything is written
    record = _Recording(data, workbook, journal_path, batch)
    record.prepare(expected)  # a workbook that cannot be recorded is known before any letter
    book = None  # the workbook as recorded (what it could not take, a column it gained)
    try:
        written = write_documents(batch, settings, folder, progress, workbook)
        result.notes = written.notes
        sent = 0
        if options.channels.send_email and written.messages:
            sent = send_emails(batch, written, settings)
        result.entries = actual = entries(written.status)
        try:
            if actual != expected:  # the true statuses of the e-mails sent
                record.prepare(actual)
            _commit(result, workbook, stamp, record.book, record.journal, now, folder)
            book = record.book  # discard() below forgets it
        except (RelanceError, OSError) as err:
            if sent:  # never send them twice
                raise keep_sent(journal_path, actual, err) from None
            raise
    finally:
        record.discard()
    if book is not None:
        rows = dict(book.skipped)
        result.column_added = book.column_added
    else:
        result.journal = journal_path
        rows = {line.invoice.row: record.unsupported for out in result.outputs
                for line in out.letter.lines} if record.unsupported else {}
    result.manual_dates = sorted((line.invoice.row, line.invoice.number, rows[line.invoice.row])
                                 for out in result.outputs for line in out.letter.lines
                                 if line.invoice.row in rows)  # in the sheet's order
    return result


def _journal_warnings(csv_path: Path, settings, journal_path: Path, as_of) -> list:
    """A CSV's journal is in its output folder: a run into a folder without one (a new
    `--out`) does not see the usual journal, and later runs elsewhere will not see its own.
    Said when that happens, not on every run into the same folder."""
    _, usual_root = output_dirs(csv_path, settings.output_folder, None, as_of)
    usual = usual_root / csv_journal.JOURNAL_CSV
    if journal_path == usual or journal_path.exists():
        return []
    if usual.exists():
        return [f"aucun journal dans {journal_path.parent} : celui du dossier habituel "
                f"({usual}) n'est pas lu ; une facture qui y est consignée serait relancée "
                f"de nouveau (relancez sans --out, ou avec le dossier de la série précédente)"]
    return [f"le journal de cette série sera {journal_path} : les prochaines séries sur ce "
            f"CSV devront écrire dans le même dossier (--out), sinon elles ne le liront pas "
            f"et relanceront ces factures"]


class _Recording:
    """The run's record, prepared in temporary files: the updated workbook, or journal.csv
    (for a CSV, or a workbook that cannot be edited safely)."""

    def __init__(self, data, workbook: Path, journal_path: Path, batch):
        self.data, self.workbook, self.journal_path, self.batch = data, workbook, journal_path, batch
        self.book = self.journal = None
        self.unsupported = ""

    def prepare(self, entries: list) -> None:
        self.discard()
        try:
            if not self.data.is_csv and not self.unsupported:
                try:
                    self.book = xlsx_record.prepare(
                        self.workbook, self.data.grid, self.data.receivables,
                        self.batch.second_reminder_dates(), entries, self.data.journal)
                    return
                except xlsx_record.UnsupportedWorkbook as err:
                    self.unsupported = f"classeur laissé intact : {err}"
            self.journal = csv_journal.prepare(self.journal_path, entries)
        except OSError as err:
            raise RelanceError(f"Impossible de préparer l'enregistrement de la relance "
                               f"({describe_os_error(err)}). Rien n'a été écrit.") from None

    def discard(self) -> None:
        for prepared in (self.book, self.journal):
            if prepared is not None:
                prepared.discard()
        self.book = self.journal = None


def _refuse_if_open_in_excel(workbook: Path) -> None:
    lock = excel_lock_file(workbook)
    if lock is not None:
        raise RelanceError(
            f"Le classeur {workbook.name} est ouvert dans Excel ou LibreOffice (fichier "
            f"{lock.name} présent à côté) : fermez-le puis relancez la commande. Rien n'a été "
            f"écrit. S'il n'est ouvert nulle part (le tableur s'est arrêté brutalement), "
            f"supprimez ce fichier {lock.name}, puis relancez.")


def _stamp(path: Path):
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def _commit(result, workbook: Path, stamp, prepared_book, prepared_journal, now, folder) -> None:
    """Record the run, once its letters are all in place."""
    try:
        if prepared_journal is not None:
            prepared_journal.commit()
        if prepared_book is None:
            return
        if _stamp(workbook) != stamp or excel_lock_file(workbook) is not None:
            raise RelanceError(
                f"Le classeur {workbook.name} a été modifié ou ouvert pendant la génération : il "
                f"n'a pas été mis à jour, pour ne pas écraser ces changements. Les lettres sont "
                f"dans {folder} ; fermez le classeur et relancez la commande : elle réécrira les "
                f"mêmes lettres et enregistrera la relance.")
        result.backup = backup_path(folder, workbook, now)
        prepared_book.commit(result.backup)
    except OSError as err:
        raise RelanceError(
            f"Les lettres sont écrites dans {folder}, mais la relance n'a pas pu être enregistrée "
            f"({describe_os_error(err)}). Rien n'est consigné : réglez le problème et relancez la "
            f"commande ; elle réécrira les mêmes lettres.") from None


def backup_path(folder: Path, workbook: Path, now: datetime) -> Path:
    """A new name in the output folder for the copy of the workbook made before the run changes
    it; never the name of an earlier backup."""
    base = f"sauvegarde {workbook.stem} {now:%Y-%m-%d %H%M%S}"
    path, n = folder / f"{base}{workbook.suffix}", 2
    while path.exists():
        path, n = folder / f"{base} ({n}){workbook.suffix}", n + 1
    return path


def _remove_stale_temp_files(workbook: Path) -> None:
    """Temporary files a killed run left beside the workbook (we hold the run lock). The name
    is the workbook's, then mkstemp's 8 random characters: another workbook's never matches."""
    pattern = f".~relance-{glob.escape(workbook.stem)}-{'?' * 8}{glob.escape(workbook.suffix)}"
    for temp in workbook.parent.glob(pattern):
        temp.unlink(missing_ok=True)
