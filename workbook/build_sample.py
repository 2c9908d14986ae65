"""Build the sample receivables workbook `workbook/relances.xlsx` from the CSV files beside it.

    .venv/bin/python workbook/build_sample.py [--out PATH]

Sources (UTF-8, `;`-separated, ISO dates, amounts with a decimal point):
- `sample_clients.csv`   one row per client (identity, address, language, client type);
- `sample_invoices.csv`  one row per invoice, linked to its client by the `Clé client` column;
- `sample_settings.csv`  the `Paramètres` sheet (key, value, one-line help);
- `sample_journal.csv`   the `Journal` sheet (earlier second reminders).

The sample is meant to be read as of 2026-12-01 (REFERENCE_DATE): on that date every stage of
SPEC.md occurs at least once (column `Étape attendue` of sample_invoices.csv, which is
documentation only and is not written to the workbook).

The output is byte-for-byte reproducible for a given openpyxl version: fixed document
properties (creator "Relance", created/modified timestamps) and fixed zip entry timestamps.
The script checks the data before writing (unknown client keys, duplicate invoice numbers,
SIREN/TVA/IBAN check digits, Journal rows consistent with the `Date 2e relance` cells) and
stops with a message when something is wrong.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.writer.excel import ExcelWriter

# Reference ("as of") date of the sample: 2026-12-01.
REFERENCE_DATE = date(2026, 12, 1)
# Fixed document timestamps so that rebuilding gives identical bytes.
FIXED_TIMESTAMP = datetime(2026, 12, 1, 8, 0, 0)
ZIP_TIMESTAMP = (2026, 12, 1, 8, 0, 0)

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "relances.xlsx"

TITLE = "Suivi des créances clients — Exemple"
HEADER_ROW = 3  # row 1: title, row 2: blank, row 3: header
TABLE_NAME = "Creances"
TABLE_STYLE = "TableStyleMedium2"

# Canonical headers of SPEC.md, in sheet order, with the column width.
COLUMNS = [
    ("N° facture", 15),
    ("Code client", 11),
    ("Client", 36),
    ("Contact", 30),
    ("Adresse", 34),
    ("Code postal", 10),
    ("Ville", 22),
    ("Pays", 13),
    ("E-mail", 40),
    ("Téléphone", 18),
    ("Langue", 9),
    ("Type client", 14),
    ("Date facture", 12),
    ("Échéance", 12),
    ("Montant TTC", 14),
    ("Montant réglé", 14),
    ("Reste dû", 14),
    ("Date de règlement", 13),
    ("Date 1ère relance", 13),
    ("Réponse client", 26),
    ("Date 2e relance", 13),
    ("Date mise en demeure", 13),
    ("Litige", 14),
    ("Procédure collective", 24),
    ("Étape", 28),  # =RELANCE_ETAPE(…; AUJOURDHUI()): needs the formulas imported (README)
]
HEADERS = [name for name, _ in COLUMNS]
COL = {name: get_column_letter(i) for i, name in enumerate(HEADERS, start=1)}

CLIENT_FIELDS = ["Code client", "Client", "Contact", "Adresse", "Code postal", "Ville", "Pays",
                 "E-mail", "Téléphone", "Langue", "Type client"]
DATE_FIELDS = ["Date facture", "Échéance", "Date de règlement", "Date 1ère relance",
               "Date 2e relance", "Date mise en demeure"]
AMOUNT_FIELDS = ["Montant TTC", "Montant réglé"]
TEXT_FIELDS = ["N° facture", "Code client", "Code postal", "Téléphone"]  # kept as text ("@")

DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM"
AMOUNT_FORMAT = '#,##0.00 "€"'

CLIENT_TYPES = ["Particulier", "Professionnel", "Public"]
LANGUAGES = ["fr", "en"]

NUMERIC_SETTINGS = {"Délai 2e relance", "Délai mise en demeure", "Délai de paiement accordé",
                    "Taux pénalités (%)", "Taux intérêts moratoires (%)"}

JOURNAL_COLUMNS = [
    ("Date et heure", 17),
    ("Date de référence", 13),
    ("Code client", 11),
    ("Client", 30),
    ("Factures", 30),
    ("Total dû", 14),
    ("Canal", 10),
    ("Statut", 10),
    ("Fichier", 64),
    ("Étape", 12),
]


class DataError(Exception):
    pass


# ---------------------------------------------------------------------------- reading the data

def read_csv(name: str) -> list[dict]:
    with open(HERE / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def parse_date(text: str, where: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DataError(f"{where} : date invalide « {text} » (attendu AAAA-MM-JJ)") from None


def parse_amount(text: str, where: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise DataError(f"{where} : montant invalide « {text} »") from None
    if value != value.quantize(Decimal("0.01")):
        raise DataError(f"{where} : montant au-delà du centime « {text} »")
    return value.quantize(Decimal("0.01"))


def load_clients() -> dict[str, dict]:
    clients = {}
    for row in read_csv("sample_clients.csv"):
        key = row["Clé"].strip()
        if key in clients:
            raise DataError(f"sample_clients.csv : clé client en double « {key} »")
        if row["Langue"] not in LANGUAGES:
            raise DataError(f"sample_clients.csv, {key} : langue « {row['Langue']} » inconnue")
        if row["Type client"] and row["Type client"] not in CLIENT_TYPES:
            raise DataError(f"sample_clients.csv, {key} : type client « {row['Type client']} »")
        clients[key] = row
    return clients


def load_invoices(clients: dict[str, dict]) -> list[dict]:
    invoices, seen = [], set()
    for line, row in enumerate(read_csv("sample_invoices.csv"), start=2):
        where = f"sample_invoices.csv, ligne {line}"
        key, number = row["Clé client"].strip(), row["N° facture"].strip()
        if key not in clients:
            raise DataError(f"{where} : clé client inconnue « {key} »")
        if not number or number in seen:
            raise DataError(f"{where} : numéro de facture vide ou en double « {number} »")
        seen.add(number)
        client = clients[key]
        values = {field: client[field] for field in CLIENT_FIELDS}
        if row["Client saisi"]:
            values["Client"] = row["Client saisi"]  # spelling variant as typed in the ledger
        values["N° facture"] = number
        for field in DATE_FIELDS:
            values[field] = parse_date(row[field], f"{where}, {field}")
        for field in AMOUNT_FIELDS:
            values[field] = parse_amount(row[field], f"{where}, {field}")
        if values["Montant TTC"] is None or values["Échéance"] is None:
            raise DataError(f"{where} : montant TTC et échéance obligatoires")
        response = row["Réponse client"].strip()
        try:
            values["Réponse client"] = date.fromisoformat(response) if response else None
        except ValueError:
            values["Réponse client"] = response  # free text: a promise, a call note
        values["Litige"] = row["Litige"].strip() or None
        values["Procédure collective"] = row["Procédure collective"].strip() or None
        values["_key"] = key
        invoices.append(values)
    return invoices


def balance(invoice: dict) -> Decimal:
    return invoice["Montant TTC"] - (invoice["Montant réglé"] or Decimal("0"))


def load_settings() -> list[dict]:
    rows = read_csv("sample_settings.csv")
    values = {row["Paramètre"]: row["Valeur"] for row in rows}
    check_identity(values)
    return rows


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def check_identity(values: dict[str, str]) -> None:
    siren = values.get("SIREN", "").replace(" ", "")
    if not (siren.isdigit() and len(siren) == 9 and luhn_ok(siren)):
        raise DataError(f"sample_settings.csv : SIREN « {siren} » invalide (clé de Luhn)")
    key = (12 + 3 * (int(siren) % 97)) % 97
    if values.get("TVA", "").replace(" ", "") != f"FR{key:02d}{siren}":
        raise DataError(f"sample_settings.csv : TVA attendue FR{key:02d}{siren}")
    iban = values.get("IBAN", "").replace(" ", "").upper()
    rearranged = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    if not (iban.startswith("FR") and len(iban) == 27 and int(rearranged) % 97 == 1):
        raise DataError(f"sample_settings.csv : IBAN « {iban} » invalide (clé mod 97)")


def load_journal(invoices: list[dict]) -> list[dict]:
    by_number = {inv["N° facture"]: inv for inv in invoices}
    rows = []
    recorded = set()
    for line, row in enumerate(read_csv("sample_journal.csv"), start=2):
        where = f"sample_journal.csv, ligne {line}"
        numbers = [n.strip() for n in row["Factures"].split(",")]
        as_of = parse_date(row["Date de référence"], where)
        total = parse_amount(row["Total dû"], where)
        for number in numbers:
            inv = by_number.get(number)
            if inv is None:
                raise DataError(f"{where} : facture inconnue « {number} »")
            if inv["Code client"] != row["Code client"]:
                raise DataError(f"{where} : {number} n'est pas au client {row['Code client']}")
            if row["Étape"] == "2e relance" and inv["Date 2e relance"] != as_of:
                raise DataError(f"{where} : {number} doit avoir Date 2e relance = {as_of}")
            recorded.add(number)
        expected = sum((balance(by_number[n]) for n in numbers), Decimal("0"))
        if total != expected:
            raise DataError(f"{where} : total dû {total} au lieu de {expected}")
        if row["Canal"] not in ("courrier", "e-mail", "sms"):
            raise DataError(f"{where} : canal « {row['Canal']} » inconnu")
        if row["Statut"] not in ("généré", "brouillon", "envoyé"):
            raise DataError(f"{where} : statut « {row['Statut']} » inconnu")
        rows.append({
            "Date et heure": datetime.fromisoformat(row["Date et heure"]),
            "Date de référence": as_of,
            "Code client": row["Code client"],
            "Client": row["Client"],
            "Factures": ", ".join(numbers),
            "Total dû": total,
            "Canal": row["Canal"],
            "Statut": row["Statut"],
            "Fichier": row["Fichier"],
            "Étape": row["Étape"],
        })
    missing = [inv["N° facture"] for inv in invoices
               if inv["Date 2e relance"] and inv["N° facture"] not in recorded]
    if missing:
        raise DataError("sample_journal.csv : 2e relance non journalisée pour " + ", ".join(missing))
    return rows


# ---------------------------------------------------------------------------- writing the sheets

def excel_number(value: Decimal):
    return int(value) if value == value.to_integral_value() else float(value)


def stage_formula(r: int) -> str:
    """The stage formula of SPEC.md, with TODAY() (AUJOURDHUI) as the reference date so the
    stage moves with the calendar. Files store formulas with English names and commas."""
    args = ["Échéance", "Date 1ère relance", "Réponse client", "Reste dû", "Date 2e relance",
            "Litige", "Date mise en demeure"]
    return ("=RELANCE_ETAPE(" + ",".join(f"{COL[a]}{r}" for a in args) + ",TODAY(),,,"
            f"{COL['Procédure collective']}{r})")


def write_receivables(ws, invoices: list[dict]) -> None:
    ws["A1"] = TITLE
    ws["A1"].font = Font(bold=True, size=14)
    ws.row_dimensions[1].height = 22

    for col, name in enumerate(HEADERS, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=name)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.row_dimensions[HEADER_ROW].height = 32

    top = Alignment(vertical="top")
    wrapped = Alignment(vertical="top", wrap_text=True)
    first = HEADER_ROW + 1
    for r, inv in enumerate(invoices, start=first):
        for col, name in enumerate(HEADERS, start=1):
            cell = ws.cell(row=r, column=col)
            if name == "Reste dû":
                cell.value = f"={COL['Montant TTC']}{r}-{COL['Montant réglé']}{r}"
                cell.number_format = AMOUNT_FORMAT
            elif name == "Étape":
                cell.value = stage_formula(r)
            else:
                value = inv[name]
                if isinstance(value, Decimal):
                    cell.value = excel_number(value)
                    cell.number_format = AMOUNT_FORMAT
                elif isinstance(value, date):
                    cell.value = value
                    cell.number_format = DATE_FORMAT
                else:
                    cell.value = value if value not in ("", None) else None
                    if name in TEXT_FIELDS:
                        cell.number_format = "@"
                    elif name in AMOUNT_FIELDS:
                        cell.number_format = AMOUNT_FORMAT
                    elif name in DATE_FIELDS:
                        cell.number_format = DATE_FORMAT
            cell.alignment = wrapped if name == "Adresse" else top
        lines = max(1, inv["Adresse"].count("\n") + 1)
        if lines > 1:
            ws.row_dimensions[r].height = 15 * lines
    last = first + len(invoices) - 1

    for col, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width

    table = Table(displayName=TABLE_NAME, ref=f"A{HEADER_ROW}:{get_column_letter(len(HEADERS))}{last}")
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showFirstColumn=False,
                                          showLastColumn=False, showRowStripes=True,
                                          showColumnStripes=False)
    ws.add_table(table)

    ws.freeze_panes = f"B{first}"  # header rows and the invoice-number column stay visible

    type_list = DataValidation(type="list", formula1='"' + ",".join(CLIENT_TYPES) + '"',
                               allow_blank=True, showErrorMessage=True,
                               errorTitle="Type client", error="Choisir Particulier, "
                               "Professionnel ou Public (ou laisser vide : type par défaut).",
                               promptTitle="Type client", prompt="Particulier, Professionnel "
                               "ou Public ; vide : type par défaut des Paramètres.",
                               showInputMessage=True)
    type_list.add(f"{COL['Type client']}{first}:{COL['Type client']}{last}")
    lang_list = DataValidation(type="list", formula1='"' + ",".join(LANGUAGES) + '"',
                               allow_blank=True, showErrorMessage=True, errorTitle="Langue",
                               error="Choisir fr (français) ou en (anglais).")
    lang_list.add(f"{COL['Langue']}{first}:{COL['Langue']}{last}")
    ws.add_data_validation(type_list)
    ws.add_data_validation(lang_list)

    # Red when still owed and past due (as of the day the workbook is opened).
    rest, due = COL["Reste dû"], COL["Échéance"]
    ws.conditional_formatting.add(
        f"A{first}:{get_column_letter(len(HEADERS))}{last}",
        FormulaRule(formula=[f"AND(ISNUMBER(${rest}{first}),${rest}{first}>0,"
                             f"ISNUMBER(${due}{first}),${due}{first}<TODAY())"],
                    fill=PatternFill(bgColor="FFFFC7CE"), font=Font(color="FF9C0006")),
    )


def write_settings(ws, settings: list[dict]) -> None:
    ws.append(["Paramètre", "Valeur", "Aide"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in settings:
        key, value = row["Paramètre"], row["Valeur"]
        if key in NUMERIC_SETTINGS and value:
            number = Decimal(value)
            value = excel_number(number)
        ws.append([key, value if value != "" else None, row["Aide"]])
        if key in ("SIREN", "Code postal", "Téléphone"):
            ws.cell(row=ws.max_row, column=2).number_format = "@"
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 48
    ws.column_dimensions["C"].width = 95
    ws.freeze_panes = "A2"


def write_journal(ws, rows: list[dict]) -> None:
    ws.append([name for name, _ in JOURNAL_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([excel_number(row[name]) if isinstance(row[name], Decimal) else row[name]
                   for name, _ in JOURNAL_COLUMNS])
        r = ws.max_row
        ws.cell(row=r, column=1).number_format = DATETIME_FORMAT
        ws.cell(row=r, column=2).number_format = DATE_FORMAT
        ws.cell(row=r, column=6).number_format = AMOUNT_FORMAT
    for col, (_, width) in enumerate(JOURNAL_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"


def build_workbook() -> Workbook:
    clients = load_clients()
    invoices = load_invoices(clients)
    settings = load_settings()
    journal = load_journal(invoices)

    wb = Workbook()
    receivables = wb.active
    receivables.title = "Créances"
    write_receivables(receivables, invoices)
    write_settings(wb.create_sheet("Paramètres"), settings)
    write_journal(wb.create_sheet("Journal"), journal)
    wb.active = 0

    props = wb.properties
    props.creator = "Relance"
    props.lastModifiedBy = "Relance"
    props.title = "Relance — classeur d'exemple"
    props.subject = "Suivi des créances clients, date de référence 01/12/2026"
    props.language = "fr-FR"
    props.created = FIXED_TIMESTAMP
    props.modified = FIXED_TIMESTAMP
    wb.calculation.fullCalcOnLoad = True  # `Reste dû` formulas have no cached value
    return wb


# ---------------------------------------------------------------------------- reproducible save

def save_reproducible(wb: Workbook, path: Path) -> None:
    """Save like openpyxl does, but with fixed timestamps everywhere (no clock reading)."""
    raw = io.BytesIO()
    archive = zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    wb.properties.modified = FIXED_TIMESTAMP  # openpyxl's save_workbook would put "now" here
    ExcelWriter(wb, archive).save()  # closes the archive

    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIMESTAMP)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".relances-", suffix=".xlsx", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(out.getvalue())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Construit le classeur d'exemple relances.xlsx.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUTPUT,
                        help=f"fichier à écrire (défaut : {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    try:
        wb = build_workbook()
    except DataError as exc:
        print(f"Erreur dans les données de l'exemple : {exc}", file=sys.stderr)
        return 1
    save_reproducible(wb, args.out)
    print(f"Écrit : {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
