"""Reading a workbook for a run, and where its outputs go: what `scan` needs, without the
weight of writing documents (so `relance scan` starts quickly on a large ledger)."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Optional

from .letters import Plan, plan_run
from .reading import files
from .recording import csv_journal

DEFAULT_ROOT = "Relances"


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
    """The owner file an office suite keeps beside the workbook while it is open: Excel's
    `~$name.xlsx` (it keeps the last name characters when the name is long), LibreOffice's
    `.~lock.name.xlsx#`."""
    for name in (f"~${workbook.name}", f"~${workbook.name[2:]}", f".~lock.{workbook.name}#"):
        lock = workbook.with_name(name)
        if lock.exists():
            return lock
    return None


@contextmanager
def gc_paused():
    """Reading 100,000 rows makes a million small objects, none of them garbage: the cyclic
    collector would walk them over and over (a third of the reading time). Reference counting
    still frees everything as usual meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read(workbook: Path, as_of: date, out: Optional[Path] = None, defer_rows: bool = False,
         part=None):
    """The workbook's data, with the CSV journal folded in for a CSV input; `defer_rows`:
    the invoice rows surveyed, not read; `part`: only some of them (see files.load)."""
    with gc_paused():
        data = files.load(workbook, defer_rows, part)
    output_folder = data.ledger.settings.output_folder
    folder, root = output_dirs(workbook, output_folder, out, as_of)
    roots = [root]
    if not data.is_csv:  # a workbook's fallback journal.csv: where a run without --out put it
        usual = output_dirs(workbook, output_folder, None, as_of)[1]
        roots += [usual] if usual != root else []
    if data.assembly is not None:
        data.assembly = data.assembly.with_journal(*_csv_journals(roots))
        data.ledger = data.assembly.ledger()
    else:
        data.ledger = with_csv_journal(data.ledger, *roots)
    return data, folder, root / csv_journal.JOURNAL_CSV


def _csv_journals(roots) -> tuple[list, list]:
    """(Entries, anomalies) of the journal.csv files in these folders."""
    entries, anomalies = [], []
    for root in roots:
        more, bad = csv_journal.read(root / csv_journal.JOURNAL_CSV)
        entries += more
        anomalies += bad
    return entries, anomalies


def with_csv_journal(ledger, *roots: Path):
    """A CSV's journal is journal.csv (in its output folder); a workbook's is its Journal
    sheet, plus journal.csv when a run could not update the workbook and recorded itself
    there instead: in the output folder, or the usual one (`roots`). A CSV reads only its
    own folder's: two exports beside each other would otherwise share their records."""
    entries, anomalies = _csv_journals(roots)
    if entries or anomalies:
        ledger = replace(ledger, journal=ledger.journal + tuple(entries),
                         anomalies=ledger.anomalies + tuple(anomalies))
    return ledger


def scan(workbook: Path, as_of: date) -> Plan:
    data, _, _ = read(Path(workbook), as_of)
    with gc_paused():
        return plan_run(data.ledger, as_of)


def scan_as_json(workbook: Path, as_of: date) -> tuple[list, tuple]:
    """`relance scan --json`: (the JSON array of the lines, in pieces, the anomalies), a large
    sheet shared out between two processes (RELANCE_PARALLEL: always, never, auto)."""
    from .json_scan import scan_json
    with gc_paused():
        return scan_json(Path(workbook), as_of)
