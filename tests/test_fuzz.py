"""Any input gives a result or a clear French message, never a traceback, and never a write.

Property-based (hypothesis): workbooks whose every known column holds arbitrary values of
every type a cell can hold, CSV files of arbitrary bytes, and typed rows whose stage is
checked against an independent statement of SPEC.md's table. The number of cases tried is
printed with the results.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from halves import shared_out_scan, whole_scan
from relance.cli import main as cli_main
from relance.reading.headers import FIELDS

AS_OF = date(2026, 12, 1)
SETTINGS = [("Raison sociale", "Fuzz SARL"), ("Adresse", "1 rue du Test"),
            ("Code postal", "75001"), ("Ville", "Paris"),
            ("IBAN", "FR7630006000011234567890189")]
HEADERS = [canonical for canonical, _ in FIELDS.values() if canonical != "Étape"]
TRIED = {}

FUZZ = settings(max_examples=int(os.environ.get("RELANCE_FUZZ_EXAMPLES", "120")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


def run(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main(list(map(str, argv)))
        except SystemExit as exit_:
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def same_with_both_readers(*argv) -> bool:
    results = []
    for reader in ("calamine", "openpyxl"):
        os.environ["RELANCE_READER"] = reader
        try:
            results.append(run(*argv))
        finally:
            os.environ.pop("RELANCE_READER", None)
    assert results[0] == results[1], results
    return True


def assert_clean(code: int, err: str) -> None:
    assert code in (0, 1), err
    assert "Traceback" not in err and "Erreur interne" not in err, err
    if code == 1:
        assert re.search(r"(^|\n)Erreur( \(.*?\))? : ", err), err


def listing(folder: Path) -> dict:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*")}


def count(name: str, record) -> None:
    """One more case tried; the total goes in the test's report (shown by conftest)."""
    TRIED[name] = TRIED.get(name, 0) + 1
    record(f"cas essayés : {name}", TRIED[name])


# --- any value in any column -----------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_cell = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 12, 31)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 12, 31)),
    _text,
    st.sampled_from(["#N/A", "#VALUE!", "#REF!", "#DIV/0!", "=1/0", "=A1+", "=SUM(A:A)",
                     "\u202eevil\u202c", "مرحبا", "a\x01b\x1fc", "x" * 5000, " ", "Total",
                     "Sous-total", "31/02/2026", "2/25/2013", "15/03/26", "1 234,56 €", "-0",
                     "oui", "non", "en", "Particulier", "Public", "n/a"]),
)


def _write_book(path: Path, rows, headers, settings=SETTINGS) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(headers)
    for row in rows:
        clean = []
        for v in row:
            if isinstance(v, str):  # openpyxl refuses the control characters Excel refuses
                v = "".join(ch for ch in v if ch in "\t\n\r" or ord(ch) >= 32)
            clean.append(v)
        ws.append(clean)
    ps = wb.create_sheet("Paramètres")
    ps.append(["Paramètre", "Valeur"])
    for k, v in settings:
        ps.append([k, v])
    wb.save(path)


@FUZZ
@given(rows=st.lists(st.lists(_cell, min_size=len(HEADERS), max_size=len(HEADERS)),
                     min_size=0, max_size=6))
def test_any_cell_values_give_a_result_or_a_clear_message_and_write_nothing(rows,
                                                                          record_property):
    count("classeurs aux valeurs quelconques", record_property)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        book = folder / "b.xlsx"
        _write_book(book, rows, HEADERS)
        before = listing(folder)
        for argv in (["scan", book, "--as-of", AS_OF.isoformat(), "--json"],
                     ["generate", book, "--as-of", AS_OF.isoformat(), "--dry-run", "--json"]):
            code, out, err = run(*argv)
            assert_clean(code, err)
            if code == 0:
                json.loads(out)
        # the fast reader (calamine) and openpyxl give the same answer, message or result
        assert same_with_both_readers("scan", book, "--as-of", AS_OF.isoformat(), "--json")
        # and so does the sheet shared out in two halves (json_scan), used or refused
        assert shared_out_scan(book, AS_OF)[0] == whole_scan(book, AS_OF)
        assert listing(folder) == before


# --- CSV bytes -------------------------------------------------------------------------------

_csv_text = st.lists(st.lists(st.one_of(_text, st.sampled_from(
    ["01/09/2026", "2026-09-01", "1 234,56", "100.5", "\"", "\";\"", "a;b", "é", "€"])),
    min_size=1, max_size=6), min_size=0, max_size=6)


@FUZZ
@given(header=st.lists(st.sampled_from(HEADERS + ["Autre", "", "N° facture"]), min_size=1,
                       max_size=8),
       rows=_csv_text, sep=st.sampled_from([";", ",", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le",
                                 "latin-1"]),
       quote=st.booleans(), junk=st.binary(max_size=30))
def test_any_csv_gives_a_result_or_a_clear_message(header, rows, sep, encoding, quote, junk,
                                                   record_property):
    count("fichiers CSV", record_property)
    lines = [header] + rows

    def cell(v):
        return '"' + v.replace('"', '""') + '"' if quote else v
    text = "\r\n".join(sep.join(cell(v) for v in line) for line in lines)
    data = text.encode(encoding, errors="replace") + junk
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        path.write_bytes(data)
        (Path(tmp) / "parametres.csv").write_text(  # so generate gets past the settings check
            "Paramètre;Valeur\n" + "".join(f"{k};{v}\n" for k, v in SETTINGS), encoding="utf-8")
        before = listing(Path(tmp))
        code, out, err = run("scan", path, "--as-of", AS_OF.isoformat(), "--json")
        assert_clean(code, err)
        code, out, err = run("generate", path, "--as-of", AS_OF.isoformat(), "--dry-run", "--json")
        assert_clean(code, err)
        assert listing(Path(tmp)) == before


# --- typed rows: the stage of every accepted row -------------------------------------------

INVALID = object()


def _date_cell(day: date):
    return st.sampled_from([day, datetime.combine(day, datetime.min.time()), day.isoformat(),
                            day.strftime("%d/%m/%Y") if day.day > 12 else day.isoformat(),
                            day.strftime("%d.%m.%Y") if day.day > 12 else day.isoformat()])


@st.composite
def typed_date(draw, optional=True, days=(-90, 20)):
    """(meaning, cell): a date, None (empty) or INVALID (a text that is no date)."""
    kind = draw(st.sampled_from(["date"] * 5 + ["empty"] * 3 + ["bad"] if optional
                                else ["date"] * 8 + ["bad"]))
    if kind == "empty":
        return None, None
    if kind == "bad":
        return INVALID, draw(st.sampled_from(["bientôt", "n/c", "31/02/2026", "hier"]))
    day = AS_OF + timedelta(days=draw(st.integers(*days)))
    return day, draw(_date_cell(day))


@st.composite
def typed_amount(draw):
    cents = draw(st.one_of(st.integers(20_000, 2_000_000), st.integers(20_000, 2_000_000),
                           st.integers(20_000, 2_000_000), st.integers(-50000, 0)))
    amount = Decimal(cents) / 100
    text = f"{amount:,.2f}".replace(",", " ").replace(".", ",") + " €"
    cell = draw(st.sampled_from([float(amount), text, str(amount).replace(".", ",")]))
    return amount, cell


@st.composite
def typed_row(draw, number):
    due = draw(typed_date(optional=False, days=(-150, 20)))
    first = draw(typed_date(days=(-60, 5)))
    second = draw(st.one_of(st.just((None, None)), typed_date(days=(-40, 5))))
    notice_day = AS_OF + timedelta(days=draw(st.integers(-10, 10)))
    notice = draw(st.sampled_from([(None, None)] * 6 + [(notice_day, notice_day)]))
    amount = draw(typed_amount())
    paid_cents = draw(st.one_of(st.none(), st.none(), st.none(), st.integers(0, 10_000)))
    response = draw(st.one_of(st.just((None, None)), st.just(("texte", "promet de payer")),
                              typed_date()))
    dispute = draw(st.sampled_from([(False, None)] * 6 + [(False, "non"), (False, "FAUX"),
                                                          (True, "oui"), (True, "prix contesté")]))
    insolvent = draw(st.sampled_from([(False, None)] * 8 + [(False, "non"),
                                                            (True, "Redressement judiciaire")]))
    meaning = dict(due=due[0], first=first[0], second=second[0], notice=notice[0],
                   amount=amount[0], paid=None if paid_cents is None else Decimal(paid_cents) / 100,
                   response=response[0], disputed=dispute[0], insolvent=insolvent[0])
    cells = [number, f"Client {number}", due[1], amount[1],
             None if paid_cents is None else paid_cents / 100, first[1], response[1],
             second[1], notice[1], dispute[1], insolvent[1]]
    return meaning, cells


TYPED_HEADERS = ["N° facture", "Client", "Échéance", "Montant TTC", "Montant réglé",
                 "Date 1ère relance", "Réponse client", "Date 2e relance",
                 "Date mise en demeure", "Litige", "Procédure collective"]


def expected_stage(m, d2: int = 15, d3: int = 15) -> str | None:
    """SPEC.md's stage table, restated independently of the product (None: row skipped)."""
    if any(m[k] is INVALID for k in ("due", "first", "second")):
        return None
    balance = (m["amount"] - (m["paid"] or 0)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if balance < 0:
        return "credit_note"
    if balance == 0:
        return "paid"
    if m["disputed"]:
        return "disputed"
    if m["insolvent"]:
        return "insolvency"
    if m["notice"] and m["notice"] <= AS_OF:
        return "formal_notice_sent"
    if AS_OF <= m["due"]:
        return "not_due"
    first = m["first"] if m["first"] and m["first"] <= AS_OF else None
    if first is None:
        return "overdue"
    response = m["response"]
    if response is INVALID:  # a text that is no date is a response without a date (a note)
        response = "texte"
    if response == "texte" or (isinstance(response, date) and response is not INVALID
                               and first <= response <= AS_OF):
        return "responded"
    if AS_OF < first + timedelta(days=d2):
        return "first_sent"
    second = m["second"] if m["second"] and m["second"] <= AS_OF else None
    if second is None:
        return "second_due"
    if AS_OF < second + timedelta(days=d3):
        return "second_sent"
    return "formal_notice_due"


@FUZZ
@given(rows=st.lists(st.integers(1, 10**6), min_size=1, max_size=6, unique=True).flatmap(
    lambda numbers: st.tuples(*[typed_row(f"F{n}") for n in numbers])),
    d2=st.integers(0, 30), d3=st.integers(0, 30))
def test_every_accepted_row_has_the_stage_of_the_spec(rows, d2, d3, record_property):
    count("lignes typées", record_property)
    for meaning, _ in rows:
        count("lignes typées, étape " + str(expected_stage(meaning, d2, d3)), record_property)
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "b.xlsx"
        _write_book(book, [cells for _, cells in rows], TYPED_HEADERS,
                    SETTINGS + [("Délai 2e relance", d2), ("Délai mise en demeure", d3)])
        code, out, err = run("scan", book, "--as-of", AS_OF.isoformat(), "--json")
        assert_clean(code, err)
        assert code == 0, err
        got = {x["invoice"]: x["stage"] for x in json.loads(out)}
        for meaning, cells in rows:
            assert got.get(cells[0]) == expected_stage(meaning, d2, d3), (cells, meaning)
