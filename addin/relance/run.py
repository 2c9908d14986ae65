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

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Optional

from .documents.context import letter_context
from .documents.docx_letters import LetterRenderer, template_for
from .documents.filenames import document_owner, letter_stems
from .formatting import money
from .journal import recorded_files, second_reminder_entries
from .letters import Letter, Plan, plan_run
from .locking import run_lock
from .model import RelanceError, Settings
from .oserrors import describe_os_error
from .reading import files
from .reading.settings import invalid_identifiers, missing_for_generate, settings_warnings
from .recording import csv_journal, xlsx_record

DEFAULT_ROOT = "Relances"


@dataclass(frozen=True)
class Options:
    as_of: date
    out: Optional[Path] = None
    channels: tuple = ("courrier",)
    dry_run: bool = False
    now: Optional[datetime] = None  # the run's clock time, for the journal


@dataclass
class LetterOutput:
    letter: Letter
    files: dict  # channel -> Path


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

    @property
    def nothing_to_do(self) -> bool:
        return not self.plan.letters


def output_dirs(workbook: Path, output_folder: str, out: Optional[Path], as_of: date) -> tuple[Path, Path]:
    """(folder for this run's files, root for journal.csv): `--out`, else `Dossier de sortie`,
    else `Relances/<as-of>/` next to the workbook."""
    if out is not None:
        folder = Path(out).expanduser().resolve()
        return folder, folder
    if output_folder.strip():
        folder = Path(output_folder.strip()).expanduser()
        folder = (folder if folder.is_absolute() else workbook.parent / folder).resolve()
        return folder, folder
    root = (workbook.parent / DEFAULT_ROOT).resolve()
    return root / as_of.isoformat(), root


def excel_lock_file(workbook: Path) -> Optional[Path]:
    """Excel's owner file `~$name.xlsx` while the workbook is open (it keeps the last name
    characters when the name is long)."""
    for name in (f"~${workbook.name}", f"~${workbook.name[2:]}"):
        lock = workbook.with_name(name)
        if lock.exists():
            return lock
    return None


def read(workbook: Path, options: Options):
    """The workbook's data, with the CSV journal folded in for a CSV input."""
    data = files.load(workbook)
    folder, root = output_dirs(workbook, data.ledger.settings.output_folder, options.out,
                               options.as_of)
    data.ledger, journal_path = with_csv_journal(data.ledger, root)
    return data, folder, journal_path


def with_csv_journal(ledger, root: Path):
    """A CSV's journal is journal.csv; a workbook's is its Journal sheet, plus journal.csv when
    a run could not update the workbook and recorded itself there instead."""
    journal_path = root / csv_journal.JOURNAL_CSV
    entries, anomalies = csv_journal.read(journal_path)
    if entries or anomalies:
        ledger = replace(ledger, journal=ledger.journal + tuple(entries),
                         anomalies=ledger.anomalies + tuple(anomalies))
    return ledger, journal_path


def scan(workbook: Path, as_of: date, out: Optional[Path] = None) -> Plan:
    data, _, _ = read(Path(workbook), Options(as_of=as_of, out=out))
    return plan_run(data.ledger, as_of)


@dataclass
class Batch:
    """A run's letters, decided and checked (settings, ways to pay, templates), not yet written.

    The command line and the Excel button both build one, then record it their own way."""

    plan: Plan
    outputs: list  # LetterOutput per letter, with the final file names
    contexts: list  # the template context of each letter
    renderers: dict  # language -> LetterRenderer
    warnings: list  # what the letters lack for want of a setting
    owners: list = field(default_factory=list)  # letter_owner of each letter


def prepare_batch(ledger, *, is_csv: bool, workbook_dir: Path, folder: Path,
                  as_of: date) -> Batch:
    settings = ledger.settings
    _check_settings(settings, is_csv, ledger.anomalies)
    plan = plan_run(ledger, as_of)
    batch = Batch(plan, [], [], {}, settings_warnings(settings))
    if not plan.letters:
        return batch
    _check_payment_ways(plan, settings)
    batch.contexts = [letter_context(letter, settings, as_of) for letter in plan.letters]
    for letter, context in zip(plan.letters, batch.contexts):
        lang = letter.client.language
        if lang not in batch.renderers:
            batch.renderers[lang] = LetterRenderer(template_for(lang, settings, workbook_dir))
            batch.renderers[lang].check(context)
    recorded = _recorded_stems(ledger.journal, workbook_dir, folder)
    owners = [letter_owner(ledger.source, lt) for lt in plan.letters]

    def taken(stem: str, i: int) -> bool:
        path = folder / f"{stem}.docx"
        return stem.casefold() in recorded or (path.exists() and document_owner(path) != owners[i])
    stems = letter_stems([(lt.client.name, lt.client.code) for lt in plan.letters],
                         prefix=f"2e relance {as_of.isoformat()}", taken=taken)
    batch.outputs = [LetterOutput(letter, {"courrier": folder / f"{stem}.docx"})
                     for letter, stem in zip(plan.letters, stems)]
    batch.owners = owners
    return batch


def letter_owner(source: str, letter: Letter) -> str:
    """Who a letter file belongs to: the workbook's name and the client. A run may replace its
    own unrecorded letter (left by an interrupted run), never another workbook's."""
    digest = hashlib.sha1(f"{source}|{letter.client.key}".encode("utf-8")).hexdigest()[:20]
    return f"relance:{digest}"  # a document property holds at most 255 characters


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
    data, folder, journal_path = read(workbook, options)
    batch = prepare_batch(data.ledger, is_csv=data.is_csv, workbook_dir=workbook.parent,
                          folder=folder, as_of=options.as_of)
    plan = batch.plan
    result = RunResult(plan, folder, outputs=batch.outputs,
                       journal=journal_path if data.is_csv else None,
                       dry_run=options.dry_run, warnings=batch.warnings)
    if not plan.letters or options.dry_run:
        return result
    if not data.is_csv:
        _refuse_if_open_in_excel(workbook)

    _remove_stale_temp_files(workbook)  # the run lock is held (see generate)
    now = (options.now or datetime.now()).replace(microsecond=0)
    entries = second_reminder_entries(
        [(out.letter, out.files, {}) for out in result.outputs], now, options.as_of,
        workbook.parent)
    prepared_book = prepared_journal = None
    unsupported = ""
    try:
        if data.is_csv:
            prepared_journal = csv_journal.prepare(journal_path, entries)
        else:
            try:
                prepared_book = xlsx_record.prepare(workbook, data.grid, data.receivables,
                                                    plan.second_reminder_dates(), entries,
                                                    data.journal)
            except xlsx_record.UnsupportedWorkbook as err:
                unsupported = f"classeur laissé intact : {err}"
                prepared_journal = csv_journal.prepare(journal_path, entries)
    except OSError as err:
        raise RelanceError(f"Impossible de préparer l'enregistrement de la relance "
                           f"({describe_os_error(err)}). Rien n'a été écrit.") from None
    try:
        write_letters(batch, folder, progress)
        _commit(result, workbook, stamp, prepared_book, prepared_journal, now, folder)
    finally:
        for prepared in (prepared_book, prepared_journal):
            if prepared is not None:
                prepared.discard()
    if prepared_book is not None:
        rows = dict(prepared_book.skipped)
        result.column_added = prepared_book.column_added
    else:
        result.journal = journal_path
        rows = {line.invoice.row: unsupported for out in result.outputs
                for line in out.letter.lines} if unsupported else {}
    result.manual_dates = [(line.invoice.row, line.invoice.number, rows[line.invoice.row])
                           for out in result.outputs for line in out.letter.lines
                           if line.invoice.row in rows]
    return result


def _check_settings(settings: Settings, is_csv: bool, anomalies=()) -> None:
    where = ("la feuille « Paramètres » du classeur" if not is_csv
             else "le fichier parametres.csv à côté du CSV")
    missing = missing_for_generate(settings)
    if missing:
        intro = "" if settings.present else \
            f"Il manque {where} (deux colonnes : Paramètre, Valeur). "
        # a misspelt key is the likeliest cause of a "missing" one: say which cell
        typos = [a.describe() for a in anomalies if "inconnu, ignoré" in a.message]
        hint = (" Paramètres non reconnus : " + " ; ".join(typos) + ".") if typos else ""
        raise RelanceError(f"{intro}Paramètres à renseigner dans {where} avant de générer les "
                           f"lettres : " + " ; ".join(missing) + "." + hint)
    invalid = invalid_identifiers(settings)
    if invalid:
        raise RelanceError(f"Paramètres à corriger dans {where} avant de générer les lettres : "
                           + " ; ".join(invalid) + ".")


def _check_payment_ways(plan: Plan, settings: Settings) -> None:
    """Every letter must offer a way to pay: cash alone is allowed only up to 1 000 €."""
    payment = settings.payment
    if payment.iban.strip() or payment.cheque_payee.strip() or payment.link.strip():
        return
    stuck = [lt for lt in plan.letters if not lt.cash]
    if stuck:
        names = ", ".join(f"{lt.client.name} ({money(lt.total)})" for lt in stuck)
        raise RelanceError(
            f"Seules les espèces sont proposées comme moyen de paiement, et la loi les limite à "
            f"1 000 € : ces lettres n'auraient aucun moyen de paiement : {names}. Renseignez "
            f"« IBAN », « Ordre des chèques » ou « Lien de paiement » dans « Paramètres ».")


def _refuse_if_open_in_excel(workbook: Path) -> None:
    lock = excel_lock_file(workbook)
    if lock is not None:
        raise RelanceError(
            f"Le classeur {workbook.name} est ouvert dans Excel (fichier {lock.name} présent) : "
            f"fermez-le puis relancez la commande. Rien n'a été écrit.")


def _recorded_stems(journal, base: Path, folder: Path) -> set:
    """Case-folded names of the letters in `folder` that the journal records."""
    stems = set()
    for name in recorded_files(journal):
        path = Path(name) if Path(name).is_absolute() else base / name
        if path.parent.resolve() == folder.resolve():
            stems.add(path.stem.casefold())
    return stems


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
    for temp in workbook.parent.glob(f".~relance-{workbook.stem}-{'?' * 8}{workbook.suffix}"):
        temp.unlink(missing_ok=True)


def write_letters(batch: Batch, folder: Path, progress=None) -> None:
    """Render every letter into a staging folder, then give them their final names.

    On failure nothing is left behind: not the staged files, nor the folders this run created.
    """
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".relance-en-cours-", dir=folder))
    except OSError as err:
        _remove_empty(created)
        raise RelanceError(f"Impossible de créer le dossier de sortie {folder} "
                           f"({describe_os_error(err)}). Rien n'a été écrit.") from None
    done = False
    try:
        total = len(batch.outputs)
        staged = []
        for i, (out, context) in enumerate(zip(batch.outputs, batch.contexts), start=1):
            final = out.files["courrier"]
            temp = staging / final.name
            batch.renderers[out.letter.client.language].render(context, temp, batch.owners[i - 1])
            staged.append((temp, final))
            if progress:
                progress(i, total, out.letter.client.name)
        for temp, final in staged:
            os.replace(temp, final)
        done = True
    except OSError as err:
        raise RelanceError(f"Écriture impossible dans {folder} ({describe_os_error(err)}) : "
                           f"rien n'a été enregistré dans le classeur.") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:
            _remove_empty(created)


def _remove_empty(folders) -> None:
    for path in folders:  # deepest first
        try:
            path.rmdir()
        except OSError:
            break
