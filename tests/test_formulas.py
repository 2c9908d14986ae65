"""The cell formulas, called with what Excel passes, agree with the command line."""
from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest

from conftest import SAMPLE, SAMPLE_DATE, run_json

from relance import formulas as f
from relance.values import excel_serial as date_to_serial

REF = datetime(2026, 12, 1)
DUE, FIRST = datetime(2026, 9, 1), datetime(2026, 10, 1)


@pytest.mark.parametrize("due, first", [
    (DUE, FIRST),  # date cells
    (date_to_serial(DUE.date()) * 1.0, date_to_serial(FIRST.date()) * 1.0),  # General cells
    ("01/09/2026", "01/10/2026"),  # typed as text
    ("2026-09-01", "1.10.2026"),
])
def test_the_same_stage_whatever_form_the_dates_arrive_in(due, first):
    assert f.RELANCE_ETAPE(due, first, None, 100.0, None, None, None, REF) == "2e relance à envoyer"


@pytest.mark.parametrize("args, expected", [
    ((DUE, FIRST, None, 0.0), "Payée"),
    ((DUE, FIRST, None, 0.004), "Payée"),
    ((DUE, FIRST, None, -50.0), "Avoir"),
    ((DUE, FIRST, None, 100.0, None, "oui"), "En litige"),
    ((DUE, FIRST, None, 100.0, None, "non"), "2e relance à envoyer"),
    ((DUE, FIRST, None, 100.0, None, None, datetime(2026, 11, 1)), "Mise en demeure envoyée"),
    ((datetime(2026, 12, 1), None, None, 100.0), "Non échue"),
    ((DUE, None, None, 100.0), "Échue, 1ère relance à envoyer"),
    ((DUE, FIRST, "promet de payer", 100.0), "Réponse reçue"),
    ((DUE, FIRST, datetime(2026, 9, 20), 100.0), "2e relance à envoyer"),  # before the reminder
    ((DUE, datetime(2026, 11, 20), None, 100.0), "1ère relance envoyée"),
    ((DUE, FIRST, None, 100.0, datetime(2026, 11, 25)), "2e relance envoyée"),
    ((DUE, FIRST, None, 100.0, datetime(2026, 11, 1)), "Mise en demeure à envoyer"),
    ((DUE, FIRST, None, "1 234,56 €"), "2e relance à envoyer"),
])
def test_every_stage(args, expected):
    padded = list(args) + [None] * (7 - len(args))
    assert f.RELANCE_ETAPE(*padded, REF) == expected


def test_optional_delays_and_today_by_default():
    assert f.RELANCE_ETAPE(DUE, datetime(2026, 11, 20), None, 100, None, None, None, REF, 5) == \
        "2e relance à envoyer"
    assert f.RELANCE_ETAPE(datetime(2999, 1, 1), None, None, 100) == "Non échue"  # today


@pytest.mark.parametrize("args, expected", [
    (("31/02/2026", FIRST, None, 100.0), "Erreur : échéance illisible"),
    ((DUE, "bientôt", None, 100.0), "Erreur : date de 1ère relance illisible"),
    ((DUE, FIRST, None, "beaucoup"), "Erreur : reste dû illisible"),
    ((DUE, FIRST, None, None), "Erreur : reste dû manquant"),
    ((None, FIRST, None, 100.0), "Erreur : échéance manquante"),
])
def test_bad_arguments_give_a_short_readable_text(args, expected):
    assert f.RELANCE_ETAPE(*args, None, None, None, REF) == expected


def test_days_late_and_penalties():
    assert f.RELANCE_JOURS_RETARD(datetime(2026, 3, 1), datetime(2026, 3, 11)) == 10
    assert f.RELANCE_JOURS_RETARD("01/03/2026", "2026-03-11") == 10
    assert f.RELANCE_JOURS_RETARD(datetime(2026, 3, 20), datetime(2026, 3, 11)) == 0
    assert f.RELANCE_JOURS_RETARD("n'importe", REF) == "Erreur : échéance illisible"
    assert f.RELANCE_PENALITES(2880.0, datetime(2026, 9, 2), 12.0, REF) == 85.22
    assert f.RELANCE_PENALITES(2880.0, datetime(2026, 9, 2), 0.12, REF) == 85.22  # a % cell
    assert f.RELANCE_PENALITES(2880.0, datetime(2026, 9, 2), "12 %", REF) == 85.22
    assert f.RELANCE_PENALITES(2880.0, datetime(2026, 9, 2), None, REF) == "Erreur : taux manquant"


# --- the whole sample workbook, as Excel would pass it -------------------------------------

def _excel_rows():
    """The receivables table as Excel passes a range: dates as datetimes, numbers as floats,
    empty cells as None, formulas as their values (Reste dû = Montant TTC − Montant réglé)."""
    ws = openpyxl.load_workbook(SAMPLE, data_only=True)["Créances"]
    rows = [list(r) for r in ws.iter_rows(min_row=3, max_row=ws.max_row, values_only=True)]
    header = rows[0]
    amount, paid, rest = (header.index(h) for h in ("Montant TTC", "Montant réglé", "Reste dû"))
    for row in rows[1:]:
        row[rest] = (row[amount] or 0) - (row[paid] or 0)
        row[header.index("Étape")] = None
        for j, v in enumerate(row):
            if isinstance(v, int) and not isinstance(v, bool):
                row[j] = float(v)
    return rows


@pytest.fixture(scope="module")
def cli_stages():
    result, _ = run_json("scan", SAMPLE, "--as-of", SAMPLE_DATE.isoformat())
    return {x["invoice"]: x["stage_label"] for x in result}


def test_array_formula_gives_the_stage_column_of_the_cli_in_one_call(cli_stages):
    rows = _excel_rows()
    column = f.RELANCE_ETAPES(rows, REF)
    assert len(column) == len(rows) and column[0] == ["Étape"]
    assert {row[0]: cell[0] for row, cell in zip(rows[1:], column[1:])} == cli_stages


def test_single_cell_formula_on_every_row_agrees_with_the_cli(cli_stages):
    rows = _excel_rows()
    h = {name: j for j, name in enumerate(rows[0])}
    for row in rows[1:]:
        expected = cli_stages[row[h["N° facture"]]]
        got = f.RELANCE_ETAPE(row[h["Échéance"]], row[h["Date 1ère relance"]],
                              row[h["Réponse client"]], row[h["Reste dû"]],
                              row[h["Date 2e relance"]], row[h["Litige"]],
                              row[h["Date mise en demeure"]], REF, None, None,
                              row[h["Procédure collective"]])
        assert got == expected, row[h["N° facture"]]


def test_array_formula_reports_unreadable_rows_and_skips_blank_ones():
    rows = [["N° facture", "Client", "Échéance", "Montant TTC", "Date 1ère relance"],
            ["F1", "A", DUE, 100.0, FIRST],
            [None, None, None, None, None],
            ["F2", "B", "31/02/2026", 100.0, FIRST]]
    column = f.RELANCE_ETAPES(rows, REF)
    assert column[1] == ["2e relance à envoyer"] and column[2] == [""]
    assert column[3][0].startswith("Erreur : ")


def test_formulas_are_declared_as_xlwings_functions():
    """On Windows xlwings builds the VBA wrappers from these decorators; on Linux xw.func is a
    no-op, so the declarations are checked in the source."""
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(f))
    decorated = {node.name: [ast.unparse(d) for d in node.decorator_list]
                 for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert {"RELANCE_ETAPE", "RELANCE_JOURS_RETARD", "RELANCE_PENALITES",
            "RELANCE_ETAPES"} <= {name for name, decs in decorated.items() if "xw.func" in decs}
    assert "xw.arg('tableau', ndim=2)" in decorated["RELANCE_ETAPES"]
    spec = inspect.signature(f.RELANCE_ETAPE)
    assert list(spec.parameters)[:4] == ["echeance", "date_1ere_relance", "reponse", "reste_du"]
    assert all(p.default is None for p in list(spec.parameters.values())[4:])  # optional in Excel
