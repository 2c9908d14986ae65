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

import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Optional

from .documents.context import letter_context
from .documents.docx_letters import LetterRenderer, template_for
from .documents.filenames import letter_stems
from .journal import CHANNELS, GENERATED, SECOND_REMINDER
from .letters import Plan, plan_run
from .model import JournalEntry, RelanceError
from .reading import files
from .reading.settings import missing_for_generate
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
    letter: object
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
    # A CSV's journal is journal.csv; a workbook's is its Journal sheet, plus journal.csv when
    # a run could not update the workbook and recorded itself there instead.
    journal_path = root / csv_journal.JOURNAL_CSV
    entries, anomalies = csv_journal.read(journal_path)
    if entries or anomalies:
        data.ledger = replace(data.ledger, journal=data.ledger.journal + tuple(entries),
                              anomalies=data.ledger.anomalies + tuple(anomalies))
    return data, folder, journal_path


def scan(workbook: Path, as_of: date, out: Optional[Path] = None) -> Plan:
    data, _, _ = read(Path(workbook), Options(as_of=as_of, out=out))
    return plan_run(data.ledger, as_of)


def generate(workbook: Path, options: Options,
             progress: Optional[Callable[[int, int, str], None]] = None) -> RunResult:
    workbook = Path(workbook).expanduser().resolve() if Path(workbook).exists() else Path(workbook)
    data, folder, journal_path = read(workbook, options)
    settings = data.ledger.settings
    missing = missing_for_generate(settings)
    if missing:
        where = ("la feuille « Paramètres » du classeur" if not data.is_csv
                 else "le fichier parametres.csv à côté du CSV")
        intro = ("" if settings.present else
                 f"Il manque {where} (deux colonnes : Paramètre, Valeur). ")
        raise RelanceError(f"{intro}Paramètres à renseigner dans {where} avant de générer les "
                           f"lettres : " + " ; ".join(missing) + ".")
    plan = plan_run(data.ledger, options.as_of)
    result = RunResult(plan, folder, journal=journal_path if data.is_csv else None,
                       dry_run=options.dry_run)
    if not plan.letters:
        return result

    if not data.is_csv and not options.dry_run:
        lock = excel_lock_file(workbook)
        if lock is not None:
            raise RelanceError(
                f"Le classeur {workbook.name} est ouvert dans Excel (fichier {lock.name} présent) : "
                f"fermez-le puis relancez, ou utilisez le bouton « Générer les 2es relances » dans "
                f"Excel. Rien n'a été écrit.")

    contexts = [letter_context(letter, settings, options.as_of) for letter in plan.letters]
    renderers = {}
    for letter, context in zip(plan.letters, contexts):
        lang = letter.client.language
        if lang not in renderers:
            renderers[lang] = LetterRenderer(template_for(lang, settings, workbook.parent))
            renderers[lang].check(context)

    stems = letter_stems([(lt.client.name, lt.client.code) for lt in plan.letters])
    result.outputs = [LetterOutput(letter, {"courrier": folder / f"{stem}.docx"})
                      for letter, stem in zip(plan.letters, stems)]
    if options.dry_run:
        return result

    now = (options.now or datetime.now()).replace(microsecond=0)
    entries = [_journal_entry(out, now, options.as_of, workbook.parent) for out in result.outputs]
    prepared, unsupported = None, ""
    if not data.is_csv:
        dates = {line.invoice.row: options.as_of for out in result.outputs
                 for line in out.letter.lines}
        try:
            prepared = xlsx_record.prepare(workbook, data.grid, data.receivables, dates, entries)
        except xlsx_record.UnsupportedWorkbook as err:
            unsupported = f"classeur laissé intact : {err}"
    try:
        _write_letters(result, contexts, renderers, folder, progress)
        if prepared is not None:
            result.backup = folder / f"sauvegarde {workbook.stem} {now:%Y-%m-%d %H%M%S}{workbook.suffix}"
            prepared.commit(result.backup)
            rows = {row: reason for row, reason in prepared.skipped}
            result.manual_dates = [(line.invoice.row, line.invoice.number, rows[line.invoice.row])
                                   for out in result.outputs for line in out.letter.lines
                                   if line.invoice.row in rows]
            result.column_added = prepared.column_added
        else:
            csv_journal.append(journal_path, entries)
            result.journal = journal_path
            if unsupported:
                result.manual_dates = [(line.invoice.row, line.invoice.number, unsupported)
                                       for out in result.outputs for line in out.letter.lines]
    finally:
        if prepared is not None:
            prepared.discard()
    return result


def _write_letters(result: RunResult, contexts, renderers, folder: Path, progress) -> None:
    """Render every letter into a staging folder, then give them their final names.

    On failure nothing is left behind: not the staged files, nor the folders this run created.
    """
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".relance-en-cours-", dir=folder))
    except OSError as err:
        _remove_empty(created)
        raise RelanceError(f"Impossible de créer le dossier de sortie {folder} ({err.strerror}). "
                           f"Rien n'a été écrit.") from None
    done = False
    try:
        total = len(result.outputs)
        staged = []
        for i, (out, context) in enumerate(zip(result.outputs, contexts), start=1):
            final = out.files["courrier"]
            temp = staging / final.name
            renderers[out.letter.client.language].render(context, temp)
            staged.append((temp, final))
            if progress:
                progress(i, total, out.letter.client.name)
        for temp, final in staged:
            os.replace(temp, final)
        done = True
    except OSError as err:
        raise RelanceError(f"Écriture impossible dans {folder} ({err.strerror or err}) : le "
                           f"classeur n'a pas été modifié.") from None
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


def _journal_entry(out: LetterOutput, now: datetime, as_of: date, base: Path) -> JournalEntry:
    path = out.files["courrier"]
    try:
        shown = str(path.relative_to(base))
    except ValueError:
        shown = str(path)
    letter = out.letter
    return JournalEntry(run_at=now, as_of=as_of, client_code=letter.client.code,
                        client=letter.client.name, invoices=letter.numbers, total=letter.total,
                        channel=CHANNELS["courrier"], status=GENERATED, file=shown,
                        stage=SECOND_REMINDER)
