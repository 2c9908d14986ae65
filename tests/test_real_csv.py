"""`relance scan` on a real, public accounts-receivable export (../shared/data), run as a user
would, checked against stage counts computed here with the standard library only.

The CSV: `,`-separated, month-first text dates (`1/26/2013`), no client names (only
`customerID`), `SettledDate` = payment date, `Disputed` Yes/No, no reminder dates.
"""
from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, datetime

import pytest

from conftest import SHARED_DATA, run_cli

CSV_PATH = SHARED_DATA / "ar-public-sample.csv"
AS_OF = date(2013, 6, 30)
ROWS = 2586

pytestmark = pytest.mark.skipif(
    not CSV_PATH.is_file(),
    reason=f"real-data sample absent ({CSV_PATH}): the shared data folder is not checked out here")


def us_date(text: str) -> date:
    return datetime.strptime(text.strip(), "%m/%d/%Y").date()


def expected_stage(row: dict) -> str:
    """SPEC.md's stage table, for a file with no reminder dates."""
    settled = row["SettledDate"].strip()
    if settled and us_date(settled) <= AS_OF:
        return "paid"
    if row["Disputed"].strip().lower() == "yes":
        return "disputed"
    if AS_OF <= us_date(row["DueDate"]):
        return "not_due"
    return "overdue"


@pytest.fixture(scope="module")
def source_rows() -> list:
    with open(CSV_PATH, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def scanned() -> list:
    proc = run_cli("scan", CSV_PATH, "--as-of", AS_OF.isoformat(), "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_source_file_is_the_expected_one(source_rows):
    assert len(source_rows) == ROWS


def test_every_row_is_read(scanned):
    assert len(scanned) == ROWS


def test_stage_counts_match_the_spec_rules(scanned, source_rows):
    expected = Counter(expected_stage(r) for r in source_rows)
    assert Counter(item["stage"] for item in scanned) == expected


def test_each_invoice_has_the_stage_the_spec_rules_give(scanned, source_rows):
    expected = {r["invoiceNumber"]: expected_stage(r) for r in source_rows}
    wrong = {item["invoice"]: (item["stage"], expected.get(item["invoice"])) for item in scanned
             if item["stage"] != expected.get(item["invoice"])}
    assert wrong == {}


def test_invoice_numbers_are_strings_as_in_the_file(scanned, source_rows):
    assert all(isinstance(item["invoice"], str) for item in scanned)
    assert sorted(item["invoice"] for item in scanned) == \
        sorted(r["invoiceNumber"] for r in source_rows)


def test_client_code_is_the_customer_id(scanned, source_rows):
    expected = {r["invoiceNumber"]: r["customerID"] for r in source_rows}
    assert {item["invoice"]: item["client_code"] for item in scanned} == expected


def test_balances_and_due_dates(scanned, source_rows):
    by_number = {r["invoiceNumber"]: r for r in source_rows}
    for item in scanned:
        row = by_number[item["invoice"]]
        assert item["due_date"] == us_date(row["DueDate"]).isoformat()
        expected_balance = 0.0 if expected_stage(row) == "paid" else float(row["InvoiceAmount"])
        assert item["balance"] == pytest.approx(expected_balance, abs=0.005)
