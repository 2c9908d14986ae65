"""Reading a workbook file (.xlsx/.xlsm with openpyxl) or a CSV export into grids and a Ledger.

Recognises, with a clear French message, what is not a readable workbook: a missing file, a
password-protected workbook, a legacy .xls, a file that is not a spreadsheet at all.
"""
from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..journal import JOURNAL_SHEET
from ..model import Ledger, RelanceError
from ..values import EXCEL_EPOCH_1900, EXCEL_EPOCH_1904
from .grid import Grid, range_bounds, span_under_table
from .headers import match_row
from .ledger import Assembly, choose_receivables, find_sheet, prepare
from .receivables import Receivables
from .settings import SETTINGS_SHEET

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
CSV_SUFFIXES = (".csv", ".txt")
SETTINGS_CSV_NAMES = ("parametres.csv", "paramètres.csv", "Paramètres.csv", "Parametres.csv")


@dataclass
class WorkbookData:
    """What a run needs from the file: the ledger, and where the receivables lie in it."""

    ledger: Ledger
    receivables: Receivables
    grid: Grid  # the receivables block (for the writer: header row, columns, table)
    path: Path
    is_csv: bool
    journal: Optional[Grid] = None  # the Journal sheet's block, None without such a sheet
    # with load(…, defer_rows=True): the rows still to read (`ledger` has no invoices yet,
    # `receivables` is None), for a caller that reads and plans them its own way (json_scan)
    assembly: Optional[Assembly] = None


def _data(grid: Grid, settings: Optional[Grid], journal: Optional[Grid], path: Path,
          is_csv: bool, defer_rows: bool) -> WorkbookData:
    assembly = prepare(grid, settings, journal, path.name)
    if defer_rows:
        return WorkbookData(assembly.ledger(), None, grid, path, is_csv, journal, assembly)
    ledger, receivables = assembly.complete()
    return WorkbookData(ledger, receivables, grid, path, is_csv, journal)


def load(path: Path, defer_rows: bool = False, part=None) -> WorkbookData:
    """`part` (a sheet_pieces.SheetPart): of the receivables sheet, only the rows this process
    of a shared-out scan reads (a workbook read with calamine)."""
    path = Path(path)
    if not path.exists():
        raise RelanceError(f"Fichier introuvable : {path}")
    if path.is_dir():
        raise RelanceError(f"{path} est un dossier, pas un classeur.")
    if path.suffix.lower() in CSV_SUFFIXES:
        return _load_csv(path, defer_rows)
    return _load_xlsx(path, defer_rows, part)


def _unreadable(path: Path, err: Exception) -> RelanceError:
    """A workbook a reader stopped on: damaged, most likely (a copy cut short, a disk error);
    what the library said follows as a technical detail, often in English."""
    detail = str(err).strip()
    if type(err).__name__ == "XmlError":  # calamine's say little (`t`: where it stopped)
        detail = f"XML endommagé ou tronqué{' : ' + detail if detail else ''}"
    return RelanceError(f"{path.name} n'est pas un classeur Excel lisible : le fichier est "
                        f"endommagé ou incomplet ; reprenez-en une copie saine"
                        f"{f' (détail technique : {detail})' if detail else ''}.")


def check_spreadsheet(path: Path) -> None:
    """Refuse, with the reason, a file openpyxl cannot read as a workbook."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head == OLE_MAGIC:
        encrypted = _is_encrypted(path)
        if encrypted is None:
            raise RelanceError(
                f"{path.name} est un fichier Office endommagé (ni un classeur .xlsx ni un .xls "
                f"lisible) : Relance ne peut pas le lire. Reprenez-en une copie saine.")
        if encrypted:
            raise RelanceError(
                f"Le classeur {path.name} est protégé par un mot de passe : Relance ne peut pas le "
                f"lire. Enregistrez-en une copie sans mot de passe (Fichier > Informations > "
                f"Protéger le classeur > Chiffrer avec mot de passe, puis effacez-le).")
        raise RelanceError(
            f"{path.name} est au format Excel 97-2003 (.xls), que Relance ne lit pas. Ouvrez-le dans "
            f"Excel et enregistrez-le au format « Classeur Excel (.xlsx) ».")
    if path.suffix.lower() == ".xls":
        raise RelanceError(f"{path.name} n'est pas un classeur .xls lisible ; enregistrez-le au "
                           f"format .xlsx.")
    if not zipfile.is_zipfile(path):
        if head.startswith(b"PK\x03\x04"):  # a workbook's start, without its end
            raise RelanceError(f"{path.name} est un classeur Excel endommagé ou incomplet (une "
                               f"copie interrompue ?) : reprenez-en une copie saine.")
        raise RelanceError(f"{path.name} n'est pas un classeur Excel (.xlsx, .xlsm) ni un fichier "
                           f"CSV : Relance ne peut pas le lire.")


def _is_encrypted(path: Path) -> Optional[bool]:
    """Whether an Office (OLE) file is a workbook under a password; None when it is damaged
    (olefile stops on it)."""
    import olefile
    try:
        with olefile.OleFileIO(str(path)) as ole:
            return ole.exists("EncryptionInfo") or ole.exists("EncryptedPackage")
    except (OSError, ValueError, EOFError, IndexError, KeyError):
        return None


def _load_xlsx(path: Path, defer_rows: bool = False, part=None) -> WorkbookData:
    check_spreadsheet(path)
    if part is not None or os.environ.get("RELANCE_READER", "calamine") == "calamine":
        try:
            return _load_with_calamine(path, defer_rows, part)
        except ImportError:  # python-calamine has no wheel for this machine: openpyxl reads
            if part is not None:  # (the whole sheet: a part is calamine's)
                raise
    return _load_with_openpyxl(path, defer_rows)


def _load_with_calamine(path: Path, defer_rows: bool = False, part=None) -> WorkbookData:
    from .fast_xlsx import CalamineBook, NeedsOpenpyxl
    try:
        book = CalamineBook.open(path, part)
    except ImportError:
        raise
    except Exception as err:  # calamine's own errors: a damaged or unusual file
        raise _unreadable(path, err) from None
    from python_calamine import CalamineError, WorksheetNotFound
    try:
        grid = choose_receivables(book.sheetnames, book.grid)
        settings_name = find_sheet(book.sheetnames, SETTINGS_SHEET)
        journal_name = find_sheet(book.sheetnames, JOURNAL_SHEET)
        settings = book.grid(settings_name, False) if settings_name else None
        journal = book.grid(journal_name, False) if journal_name else None
    except WorksheetNotFound as err:
        raise RelanceError(f"{path.name} n'est pas un classeur Excel lisible : la feuille « {err} » "
                           f"y est déclarée mais son contenu est introuvable.") from None
    except (CalamineError, zipfile.BadZipFile, zlib.error, EOFError) as err:  # a damaged part
        raise _unreadable(path, err) from None
    except NeedsOpenpyxl:
        if part is not None:  # a part of a sheet is calamine's: the caller reads it whole
            raise
        return _load_with_openpyxl(path, defer_rows)
    finally:
        book.close()
    return _data(grid, settings, journal, path, False, defer_rows)


def _load_with_openpyxl(path: Path, defer_rows: bool = False) -> WorkbookData:
    import warnings

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():  # « extension is not supported »: of the formatting,
            warnings.simplefilter("ignore")  # which is not read; nothing for the user
            wb = openpyxl.load_workbook(path, data_only=True, keep_links=False)
    # a damaged part fails in openpyxl's parse of it: a truncated or badly encoded XML
    # (SyntaxError, ValueError), a part missing (KeyError), an attribute of the wrong kind
    except (InvalidFileException, zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError,
            TypeError, SyntaxError, OSError) as err:
        raise _unreadable(path, err) from None
    epoch = EXCEL_EPOCH_1904 if wb.epoch.year == 1904 else EXCEL_EPOCH_1900

    def sheet_grid(name: str, use_table: bool = True) -> Grid:
        return _sheet_grid(wb[name], epoch, use_table)

    try:
        grid = choose_receivables(wb.sheetnames, sheet_grid)
    except zipfile.BadZipFile as err:
        raise _unreadable(path, err) from None
    settings_name = find_sheet(wb.sheetnames, SETTINGS_SHEET)
    journal_name = find_sheet(wb.sheetnames, JOURNAL_SHEET)
    settings = sheet_grid(settings_name, False) if settings_name else None
    journal = sheet_grid(journal_name, False) if journal_name else None
    return _data(grid, settings, journal, path, False, defer_rows)


def _receivables_table(ws):
    """The sheet's Excel table whose header row names receivables columns (a legend or a
    summary table beside it is not the ledger); None when there is none."""
    for table in ws.tables.values():
        if table.headerRowCount == 0:
            continue
        min_col, min_row, max_col, _ = _table_bounds(table)
        header = _shown([ws.cell(min_row, c).value for c in range(min_col, max_col + 1)])
        if len(match_row(header)) >= 3:
            return table
    return None


def _table_bounds(table) -> tuple:
    try:
        return range_bounds(table.ref)
    except ValueError:  # a damaged table part openpyxl took in as it was
        raise zipfile.BadZipFile(f"le tableau « {table.displayName} » est illisible "
                                 f"(plage « {table.ref} »)") from None


def _sheet_grid(ws, epoch, use_table: bool) -> Grid:
    table = _receivables_table(ws) if use_table else None
    below = None
    if table is not None:
        min_col, min_row, max_col, ref_last = _table_bounds(table)
        max_row = ref_last - (table.totalsRowCount or 0)
        name = table.displayName or table.name
        span = span_under_table(ref_last, ws.max_row,
                                (_table_bounds(t)[1] for t in ws.tables.values()
                                 if t.headerRowCount != 0))
        if span is not None:
            below = ref_last, [_shown(list(r)) for r in ws.iter_rows(
                min_row=span[0], max_row=span[1], min_col=min_col, max_col=max_col,
                values_only=True)]
    else:
        min_col, min_row, max_col, max_row = 1, 1, ws.max_column, ws.max_row
        name = ""
    rows, formats = [], []
    for cells in ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col):
        rows.append(_shown([c.value for c in cells]))
        formats.append([c.number_format for c in cells])
    grid = Grid(ws.title, rows, min_row, min_col, formats, epoch, name)
    grid.below_table = below
    return grid


def _shown(values: list) -> list:
    """Texts as calamine reads them: `_xHHHH_` up to `_x00FF_` is that character (Excel
    writes `_x000D_` for a carriage return, `_x005F_` for an underscore before a text that
    would read as such an escape); calamine leaves the higher ones as they are, and so does
    this. openpyxl leaves them all, but takes `x005F_` out of shared strings itself, so a
    `_x0041_` typed in a cell and saved by Excel reads « A » here and `_x0041_` with calamine
    (nobody types that)."""
    if any(type(v) is str and "_x" in v for v in values):
        return [_EXCEL_ESCAPE.sub(_escaped_char, v) if type(v) is str and "_x" in v else v
                for v in values]
    return values


_EXCEL_ESCAPE = re.compile(r"_x(00[0-9A-Fa-f]{2})_")


def _escaped_char(m) -> str:
    return chr(int(m.group(1), 16))


# --- CSV ---------------------------------------------------------------------------------

def read_csv_rows(path: Path) -> list:
    """Rows of a CSV as French accounting software writes them: `;` or `,`, UTF-8 or Windows-1252."""
    raw = path.read_bytes()
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RelanceError(f"{path.name} n'est pas un fichier CSV texte lisible (enregistrez-le "
                           f"depuis Excel en « CSV UTF-8 » ou « CSV (séparateur : point-virgule) »).")
    text = decode_text(raw)
    delimiter = _delimiter(text.splitlines()[:50])
    return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def decode_text(raw: bytes) -> str:
    """UTF-16 with its byte order mark (Excel's « Texte Unicode »), UTF-8 (with or without
    BOM), else Windows-1252 as French Excel saves CSV files."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _delimiter(lines: list) -> str:
    """The separator that splits the most lines into the same number of fields: title lines
    above the header, or a comma inside a `;`-separated amount, do not mislead it."""
    best, best_score = ";", 0
    for candidate in ";,\t":
        counts = Counter(len(row) for row in csv.reader(lines, delimiter=candidate) if len(row) > 1)
        if counts:
            fields, lines_with_it = max(counts.items(), key=lambda kv: (kv[1] * (kv[0] - 1), kv[0]))
            score = lines_with_it * (fields - 1)
            if score > best_score:
                best, best_score = candidate, score
    return best


def _csv_grid(path: Path, name: str) -> Grid:
    rows = read_csv_rows(path)
    return Grid(name, [[v if v.strip() else None for v in row] for row in rows], csv=True)


def _load_csv(path: Path, defer_rows: bool = False) -> WorkbookData:
    grid = _csv_grid(path, path.name)
    settings_path = next((path.parent / n for n in SETTINGS_CSV_NAMES if (path.parent / n).exists()),
                         None)
    settings = _csv_grid(settings_path, settings_path.name) if settings_path else None
    return _data(grid, settings, None, path, True, defer_rows)
