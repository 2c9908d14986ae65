"""The journal of a CSV input: `journal.csv` in the output root (the CSV itself is never modified).

Written the way French Excel opens it directly: `;` separated, UTF-8 with a byte order mark,
dates as DD/MM/YYYY. Appending rewrites the file atomically (old rows + new rows).
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from ..journal import HEADERS, parse_journal, to_row
from ..reading.files import decode_text, read_csv_rows

JOURNAL_CSV = "journal.csv"


def read(path: Path):
    if not path.exists():
        return [], []
    return parse_journal(read_csv_rows(path), path.name, csv=True)


def _text(value) -> str:
    from datetime import date, datetime
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text  # never a formula in Excel


class PreparedJournal:
    """The journal with the run's rows added, in a temporary file until the run commits."""

    def __init__(self, path: Path, temp: Path):
        self.path, self.temp = path, temp

    def commit(self) -> None:
        os.replace(self.temp, self.path)

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)


def prepare(path: Path, entries: list) -> PreparedJournal:
    """Old rows (whatever encoding Excel saved them in) + new rows, UTF-8 with a BOM."""
    old = decode_text(path.read_bytes()) if path.exists() else ""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    if not old.strip():
        writer.writerow(HEADERS)
    elif not old.endswith(("\n", "\r")):
        buf.write("\r\n")
    for entry in entries:
        writer.writerow([_text(v) for v in to_row(entry)])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".~journal-", suffix=".csv", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            fh.write(old + buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return PreparedJournal(path, Path(temp))
