"""letters.py, law.py and journal.py: grouping into one letter per client, what a letter claims
and states beside the claim, the Journal's effect on a run; then the sample workbook at its
reference date, checked against workbook/sample_invoices.csv and workbook/README.md."""
from __future__ import annotations

import csv
import dataclasses
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from conftest import ROOT, SAMPLE, SAMPLE_DATE
from relance import law, letters
from relance.journal import parse_journal, recorded_second_reminders
from relance.model import (Client, ClientType, Invoice, JournalEntry, Ledger, Payment, Settings,
                           Stage)

AS_OF = date(2026, 12, 1)


def ago(days: int) -> date:
    return AS_OF - timedelta(days=days)


def client(name="Dupont SA", code="CL001", client_type=ClientType.BUSINESS, **kw) -> Client:
    return Client(name=name, code=code, client_type=client_type, **kw)


def second_due(number, cl=None, amount="1000.00", late=60, **kw) -> Invoice:
    """An invoice `late` days late whose first reminder went out 20 days ago: second_due."""
    return Invoice(number=number, client=cl or client(), due_date=ago(late),
                   amount=Decimal(amount), first_reminder=ago(20), **kw)


def at_stage(number, stage: Stage, cl=None, amount="500.00") -> Invoice:
    """An invoice at a given stage on AS_OF (default delays)."""
    facts = dict(number=number, client=cl or client(), amount=Decimal(amount), due_date=ago(60))
    facts.update({
        Stage.CREDIT_NOTE: dict(amount=-abs(Decimal(amount))),
        Stage.PAID: dict(payment_date=ago(5)),
        Stage.DISPUTED: dict(disputed=True, first_reminder=ago(20)),
        Stage.NOT_DUE: dict(due_date=AS_OF + timedelta(days=10)),
        Stage.OVERDUE: dict(),
        Stage.RESPONDED: dict(first_reminder=ago(20), response=ago(10)),
        Stage.FIRST_SENT: dict(first_reminder=ago(5)),
        Stage.SECOND_DUE: dict(first_reminder=ago(20)),
        Stage.SECOND_SENT: dict(first_reminder=ago(30), second_reminder=ago(3)),
    }[stage])
    return Invoice(**facts)


def plan(*invoices, journal=(), **settings) -> letters.Plan:
    ledger = Ledger(invoices=tuple(invoices), settings=Settings(**settings), journal=tuple(journal),
                    sheet="Créances")
    return letters.plan_run(ledger, AS_OF)


def only_letter(p: letters.Plan) -> letters.Letter:
    assert len(p.letters) == 1, [lt.client.name for lt in p.letters]
    return p.letters[0]


# --- grouping -------------------------------------------------------------------------------

def test_one_letter_per_client_code_whatever_the_name():
    p = plan(second_due("FA-1", client("Dupont SA", "CL001")),
             second_due("FA-2", client("DUPONT S.A.", "CL001")))
    assert only_letter(p).numbers == ("FA-1", "FA-2")


def test_different_codes_get_different_letters_even_with_the_same_name():
    p = plan(second_due("FA-1", client("Dupont", "CL001")),
             second_due("FA-2", client("Dupont", "CL002")))
    assert len(p.letters) == 2


def test_without_code_grouped_by_name_ignoring_case_and_surrounding_spaces():
    p = plan(second_due("FA-1", client("Cabinet Roussel", "")),
             second_due("FA-2", client("  CABINET ROUSSEL ", "")))
    assert only_letter(p).numbers == ("FA-1", "FA-2")


def test_without_code_different_names_get_different_letters():
    p = plan(second_due("FA-1", client("Cabinet Roussel", "")),
             second_due("FA-2", client("Cabinet Rousset", "")))
    assert len(p.letters) == 2


# --- what a letter claims and lists ---------------------------------------------------------

def _mixed_client_plan():
    return plan(second_due("FA-DUE"),
                at_stage("FA-OVERDUE", Stage.OVERDUE),
                at_stage("FA-FIRST", Stage.FIRST_SENT),
                at_stage("FA-NOTDUE", Stage.NOT_DUE),
                at_stage("FA-PAID", Stage.PAID),
                at_stage("FA-DISPUTED", Stage.DISPUTED),
                at_stage("FA-RESP", Stage.RESPONDED),
                at_stage("FA-SENT", Stage.SECOND_SENT),
                at_stage("AV-1", Stage.CREDIT_NOTE, amount="150.00"))


def test_only_second_due_invoices_are_claimed():
    letter = only_letter(_mixed_client_plan())
    assert letter.numbers == ("FA-DUE",)
    assert letter.invoices_total == Decimal("1000.00")


def test_credit_notes_are_listed_and_deducted_from_the_total():
    letter = only_letter(_mixed_client_plan())
    assert [ln.invoice.number for ln in letter.credit_notes] == ["AV-1"]
    assert letter.credit_total == Decimal("-150.00")
    assert letter.total == Decimal("850.00")


def test_overdue_and_first_sent_invoices_are_listed_separately():
    letter = only_letter(_mixed_client_plan())
    assert sorted(ln.invoice.number for ln in letter.others) == ["FA-FIRST", "FA-OVERDUE"]


def test_no_letter_for_a_client_without_second_due_invoices():
    p = plan(at_stage("FA-1", Stage.OVERDUE), at_stage("FA-2", Stage.FIRST_SENT),
             at_stage("AV-1", Stage.CREDIT_NOTE))
    assert p.letters == ()


def test_another_clients_credit_note_is_not_deducted():
    p = plan(second_due("FA-1", client("Dupont", "CL001")),
             at_stage("AV-9", Stage.CREDIT_NOTE, cl=client("Martin", "CL002"), amount="300"))
    letter = only_letter(p)
    assert letter.credit_notes == () and letter.total == Decimal("1000.00")


def test_client_whose_credit_notes_cover_the_claim_gets_no_letter_but_an_anomaly():
    p = plan(second_due("FA-1", client("Dupont", "CL001"), amount="300.00"),
             at_stage("AV-1", Stage.CREDIT_NOTE, cl=client("Dupont", "CL001"), amount="300.00"))
    assert p.letters == ()
    assert any("Dupont" in a.describe() for a in p.anomalies)


def test_duplicate_excluded_invoices_get_no_letter():
    p = plan(second_due("FA-1", excluded="numéro de facture en double"),
             second_due("FA-1", excluded="numéro de facture en double"))
    assert p.letters == ()


def test_duplicate_excluded_invoice_is_left_out_of_its_clients_letter():
    p = plan(second_due("FA-1"), second_due("FA-2", excluded="numéro de facture en double"))
    assert only_letter(p).numbers == ("FA-1",)


def test_letters_are_ordered_by_client_name():
    p = plan(second_due("FA-1", client("Zénith", "C1")),
             second_due("FA-2", client("atelier Martin", "C2")),
             second_due("FA-3", client("Émile", "C3")),
             second_due("FA-4", client("Bastide", "C4")))
    assert [lt.client.name for lt in p.letters] == ["atelier Martin", "Bastide", "Émile", "Zénith"]


def test_first_reminder_dates_are_recalled():
    p = plan(second_due("FA-1"),
             Invoice(number="FA-2", client=client(), due_date=ago(90), amount=Decimal("10"),
                     first_reminder=ago(40)))
    assert only_letter(p).first_reminders == (ago(40), ago(20))


# --- penalties, indemnity, cash, deadline -----------------------------------------------------

def test_penalty_hand_computed_example():
    # 2 880,00 € × 12 % × 90 / 365 = 85,2164… → 85,22 €
    assert law.penalty(Decimal("2880.00"), Decimal("12"), 90) == Decimal("85.22")


@pytest.mark.parametrize("balance, rate, days, expected", [
    ("1000.00", "10", 365, "100.00"),
    ("1000.00", "12.5", 73, "25.00"),
    ("186.00", "12", 81, "4.95"),       # 4.9533 → 4.95
    ("1000.00", "12", 0, "0.00"),
])
def test_penalty_formula(balance, rate, days, expected):
    assert law.penalty(Decimal(balance), Decimal(rate), days) == Decimal(expected)


def test_letter_penalty_for_a_business_client():
    p = plan(second_due("FA-1", amount="2880.00", late=90), penalty_rate=Decimal("12"))
    letter = only_letter(p)
    assert letter.rate == Decimal("12")
    assert letter.penalties == (Decimal("85.22"),)
    assert letter.penalty_total == Decimal("85.22")


def test_penalties_are_stated_beside_the_total_not_added():
    letter = only_letter(plan(second_due("FA-1", amount="2880.00", late=90),
                              penalty_rate=Decimal("12")))
    assert letter.total == Decimal("2880.00")


def test_no_rate_means_no_penalty_figure():
    letter = only_letter(plan(second_due("FA-1"), penalty_rate=None))
    assert letter.rate is None
    assert letter.penalties == (None,)
    assert letter.penalty_total is None


def test_public_client_uses_the_moratorium_interest_rate():
    cl = client("Mairie", "CL006", ClientType.PUBLIC)
    letter = only_letter(plan(second_due("FA-1", cl, amount="2880.00", late=90),
                              penalty_rate=Decimal("12"), public_interest_rate=Decimal("8")))
    assert letter.rate == Decimal("8")
    assert letter.penalties == (law.penalty(Decimal("2880.00"), Decimal("8"), 90),)
    assert letter.penalties == (Decimal("56.81"),)


def test_public_client_without_moratorium_rate_gets_no_figure_even_with_a_penalty_rate():
    cl = client("Mairie", "CL006", ClientType.PUBLIC)
    letter = only_letter(plan(second_due("FA-1", cl), penalty_rate=Decimal("12")))
    assert letter.rate is None and letter.penalty_total is None


def test_consumer_gets_no_penalty_and_no_indemnity():
    cl = client("M. Marchand", "CL005", ClientType.CONSUMER)
    letter = only_letter(plan(second_due("FA-1", cl), second_due("FA-2", cl),
                              penalty_rate=Decimal("12"), public_interest_rate=Decimal("8")))
    assert letter.rate is None and letter.penalty_total is None
    assert letter.indemnity_total == Decimal("0")


@pytest.mark.parametrize("kind", [ClientType.BUSINESS, ClientType.PUBLIC])
def test_indemnity_of_40_euros_per_invoice(kind):
    cl = client("X", "C1", kind)
    letter = only_letter(plan(second_due("FA-1", cl), second_due("FA-2", cl),
                              second_due("FA-3", cl)))
    assert letter.indemnity_total == Decimal("120.00")


def test_indemnity_counts_only_claimed_invoices():
    letter = only_letter(plan(second_due("FA-1"), at_stage("FA-2", Stage.OVERDUE),
                              at_stage("AV-1", Stage.CREDIT_NOTE, amount="10")))
    assert letter.indemnity_total == Decimal("40.00")


@pytest.mark.parametrize("amount, cash_setting, expected", [
    ("999.99", True, True),
    ("1000.00", True, True),       # at most 1 000 €: allowed
    ("1000.01", True, False),
    ("500.00", False, False),      # Espèces = non
])
def test_cash_offered_only_up_to_1000_euros_and_when_enabled(amount, cash_setting, expected):
    letter = only_letter(plan(second_due("FA-1", amount=amount),
                              payment=Payment(iban="FR76…", cash=cash_setting)))
    assert letter.cash is expected


def test_cash_limit_applies_to_the_total_after_credit_notes():
    letter = only_letter(plan(second_due("FA-1", amount="1200.00"),
                              at_stage("AV-1", Stage.CREDIT_NOTE, amount="300.00"),
                              payment=Payment(cash=True)))
    assert letter.total == Decimal("900.00") and letter.cash is True


def test_law_cash_allowed_boundary():
    assert law.cash_allowed(Decimal("1000.00"), Settings(payment=Payment(cash=True)))
    assert not law.cash_allowed(Decimal("1000.01"), Settings(payment=Payment(cash=True)))


@pytest.mark.parametrize("delay", [8, 15, 0])
def test_deadline_is_as_of_plus_payment_delay(delay):
    letter = only_letter(plan(second_due("FA-1"), payment_delay=delay))
    assert letter.deadline == AS_OF + timedelta(days=delay)


# --- client type defaults ---------------------------------------------------------------------

def test_default_client_type_counted():
    p = plan(second_due("FA-1", client("A", "C1", None)),
             second_due("FA-2", client("B", "C2", None)),
             second_due("FA-3", client("C", "C3", ClientType.BUSINESS)))
    assert p.defaulted_type_count == 2
    assert [lt.type_defaulted for lt in p.letters] == [True, True, False]


def test_default_client_type_setting_applies_to_empty_cells():
    letter = only_letter(plan(second_due("FA-1", client("A", "C1", None)),
                              default_client_type=ClientType.CONSUMER, penalty_rate=Decimal("12")))
    assert letter.client_type is ClientType.CONSUMER
    assert letter.indemnity_total == Decimal("0") and letter.penalty_total is None


def test_default_is_business():
    letter = only_letter(plan(second_due("FA-1", client("A", "C1", None))))
    assert letter.client_type is ClientType.BUSINESS and letter.type_defaulted


def test_law_client_type():
    assert law.client_type(client(client_type=ClientType.PUBLIC), Settings()) == \
        (ClientType.PUBLIC, False)
    assert law.client_type(client(client_type=None), Settings()) == (ClientType.BUSINESS, True)


# --- the Journal ------------------------------------------------------------------------------

def entry(client_code="CL001", name="Dupont SA", invoices=("FA-1",), as_of=ago(3),
          stage="2e relance") -> JournalEntry:
    return JournalEntry(run_at=datetime.combine(as_of, datetime.min.time()), as_of=as_of,
                        client_code=client_code, client=name, invoices=tuple(invoices),
                        total=Decimal("1000.00"), channel="courrier", status="généré",
                        file="x.docx", stage=stage)


def test_second_reminder_recorded_only_in_the_journal_is_not_repeated():
    p = plan(second_due("FA-1"), journal=[entry()])
    assert p.letters == ()
    assert p.lines[0].stage is Stage.SECOND_SENT


def test_journal_record_dated_after_as_of_is_ignored():
    p = plan(second_due("FA-1"), journal=[entry(as_of=AS_OF + timedelta(days=1))])
    assert only_letter(p).numbers == ("FA-1",)


def test_journal_record_of_another_stage_does_not_count():
    p = plan(second_due("FA-1"), journal=[entry(stage="1ère relance")])
    assert only_letter(p).numbers == ("FA-1",)


def test_journal_record_for_a_client_without_code_matches_by_name():
    cl = client("Cabinet Roussel", "")
    p = plan(second_due("FA-1", cl), journal=[entry(client_code="", name=" cabinet roussel ")])
    assert p.letters == ()


def test_journal_records_match_the_invoice_of_the_same_client():
    """Renamed (same code) or given a code later (same name): still the same client. Another
    company's invoice with the same number, in a journal.csv shared by several files: not."""
    from relance.journal import reminded_on
    from relance.model import Client
    recorded = recorded_second_reminders([entry(invoices=("FA-1", "FA-2"), as_of=ago(3))])
    assert reminded_on(recorded, "FA-1", Client(name="Dupont SA", code="CL001")) == [ago(3)]
    assert reminded_on(recorded, "FA-1", Client(name="Dupont SAS", code="CL001")) == [ago(3)]
    assert reminded_on(recorded, "FA-2", Client(name="DUPONT SA", code="")) == [ago(3)]
    assert reminded_on(recorded, "FA-1", Client(name="Martin", code="CL009")) == []
    assert reminded_on(recorded, "FA-3", Client(name="Dupont SA", code="CL001")) == []


def test_journal_with_title_rows_and_a_totals_row_is_read():
    rows = [["Journal des relances"], [],
            ["Date et heure", "Date de référence", "Code client", "Client", "Factures", "Total dû",
             "Canal", "Statut", "Fichier", "Étape"],
            [datetime(2026, 11, 20, 10, 12), datetime(2026, 11, 20), "CL014", "Caron", "FA-9",
             100.0, "courrier", "généré", "x.docx", "2e relance"],
            ["Total", None, None, None, None, 100.0, None, None, None, None]]
    entries, anomalies = parse_journal(rows)
    assert anomalies == [] and [e.invoices for e in entries] == [("FA-9",)]


def test_csv_journal_cells_quoted_against_formulas_read_back_unquoted():
    rows = [["Date et heure", "Date de référence", "Code client", "Client", "Factures", "Total dû",
             "Canal", "Statut", "Fichier", "Étape"],
            ["20/11/2026 10:12:00", "20/11/2026", "", "'@Home Services", "'-7", "100,00",
             "courrier", "généré", "x.docx", "2e relance"]]
    entries, _ = parse_journal(rows)
    assert entries[0].client == "@Home Services" and entries[0].invoices == ("-7",)


def test_parse_journal_reads_rows_written_by_the_tool():
    rows = [["Date et heure", "Date de référence", "Code client", "Client", "Factures", "Total dû",
             "Canal", "Statut", "Fichier", "Étape"],
            [datetime(2026, 11, 20, 10, 12), datetime(2026, 11, 20), "CL014", "Ébénisterie Caron",
             "FA-2026-0146, FA-2026-0147", 3237.5, "courrier", "généré", "x.docx", "2e relance"]]
    entries, anomalies = parse_journal(rows)
    assert anomalies == []
    assert entries[0].as_of == date(2026, 11, 20)
    assert entries[0].invoices == ("FA-2026-0146", "FA-2026-0147")
    assert entries[0].total == Decimal("3237.50")


# --- the sample workbook at its reference date --------------------------------------------------

@pytest.fixture(scope="module")
def sample_plan():
    from relance.reading import files
    return letters.plan_run(files.load(SAMPLE).ledger, SAMPLE_DATE)


def _expected_stages():
    with open(ROOT / "workbook" / "sample_invoices.csv", encoding="utf-8", newline="") as fh:
        return [(r["N° facture"], r["Étape attendue"]) for r in csv.DictReader(fh, delimiter=";")]


EXPECTED_STAGES = _expected_stages()


def test_sample_every_stage_of_the_spec_occurs(sample_plan):
    assert {line.stage for line in sample_plan.lines} == set(Stage)


def test_sample_reads_every_documented_invoice_without_anomaly(sample_plan):
    assert sorted(line.invoice.number for line in sample_plan.lines) == \
        sorted(n for n, _ in EXPECTED_STAGES)
    assert [a.describe() for a in sample_plan.anomalies] == []


@pytest.mark.parametrize("number, expected", EXPECTED_STAGES, ids=[n for n, _ in EXPECTED_STAGES])
def test_sample_invoice_stage(sample_plan, number, expected):
    stages = {line.invoice.number: line.stage.value for line in sample_plan.lines}
    assert stages[number] == expected


# workbook/README.md: "Lettres de 2e relance attendues au 01/12/2026 (total = soldes − avoirs)"
EXPECTED_LETTERS = {
    "CL001": "4675.60", "CL002": "498.40", "CL003": "1860.00", "CL004": "8475.50",
    "CL005": "2160.00", "CL006": "12480.00", "CL007": "10230.00", "CL008": "2964.00",
    "Cabinet Véronique Roussel": "2232.00", "CL017": "1072.80",
}


def _by_client(p):
    return {(lt.client.code or lt.client.name.strip()): lt for lt in p.letters}


def test_sample_expected_letters_and_totals(sample_plan):
    totals = {key: lt.total for key, lt in _by_client(sample_plan).items()}
    assert totals == {k: Decimal(v) for k, v in EXPECTED_LETTERS.items()}


def test_sample_credit_note_deducted_for_cl001(sample_plan):
    letter = _by_client(sample_plan)["CL001"]
    assert [ln.invoice.number for ln in letter.credit_notes] == ["AV-2026-0007"]
    assert letter.invoices_total == Decimal("5025.60")


def test_sample_cl001_penalty_matches_the_hand_computed_example(sample_plan):
    letter = _by_client(sample_plan)["CL001"]
    line = letter.lines[letter.numbers.index("FA-2026-0101")]
    assert (line.balance, line.days_late) == (Decimal("2880.00"), 90)
    assert letter.penalties[letter.numbers.index("FA-2026-0101")] == Decimal("85.22")


def test_sample_cl002_is_offered_cash(sample_plan):
    letters_by = _by_client(sample_plan)
    assert letters_by["CL002"].cash is True
    assert not any(lt.cash for key, lt in letters_by.items() if key != "CL002")


def test_sample_cl004_lists_its_other_invoices(sample_plan):
    letter = _by_client(sample_plan)["CL004"]
    assert letter.numbers == ("FA-2026-0110", "FA-2026-0111", "FA-2026-0112")
    assert sorted(ln.invoice.number for ln in letter.others) == ["FA-2026-0113", "FA-2026-0114"]


def test_sample_consumer_and_public_clients(sample_plan):
    letters_by = _by_client(sample_plan)
    consumer, public = letters_by["CL005"], letters_by["CL006"]
    assert consumer.client_type is ClientType.CONSUMER
    assert consumer.penalty_total is None and consumer.indemnity_total == 0
    assert public.client_type is ClientType.PUBLIC
    assert public.penalty_total is None  # Taux intérêts moratoires left empty: rule cited
    assert public.indemnity_total == Decimal("40.00")


def test_sample_default_client_type_used_once(sample_plan):
    assert sample_plan.defaulted_type_count == 1
    assert _by_client(sample_plan)["CL008"].type_defaulted


def test_sample_roussel_rows_grouped_by_name(sample_plan):
    letter = _by_client(sample_plan)["Cabinet Véronique Roussel"]
    assert letter.numbers == ("FA-2026-0129", "FA-2026-0130")


def test_sample_letters_ordered_by_client_name(sample_plan):
    from relance.values import fold
    names = [fold(lt.client.name) for lt in sample_plan.letters]
    assert names == sorted(names)


def test_letters_from_lines_given_once_as_an_iterator():
    from relance.reading import files
    ledger = files.load(SAMPLE).ledger
    lines, _ = letters.classify(ledger, SAMPLE_DATE)
    from_list = letters.client_plans(lines, SAMPLE_DATE, ledger.settings)
    from_iterator = letters.client_plans(iter(lines), SAMPLE_DATE, ledger.settings)
    assert from_list and from_iterator == from_list


def test_journal_cell_names_claimed_invoices_then_deducted_credit_notes():
    from relance.journal import split_numbers, to_row
    entry = JournalEntry(run_at=datetime(2026, 12, 1, 9, 30), as_of=date(2026, 12, 1),
                         client_code="CL001", client="Dupont", invoices=("FA-1", "FA-2"),
                         total=Decimal("100.00"), channel="courrier", status="généré",
                         file="x.docx", stage="2e relance", credit_notes=("AV-3",))
    cell = to_row(entry)[4]
    assert cell == "FA-1, FA-2, avoir AV-3"
    assert split_numbers(cell) == (("FA-1", "FA-2"), ("AV-3",))
    assert split_numbers("FA-1; Avoir  AV-3 ;AVOIR-9") == (("FA-1", "AVOIR-9"), ("AV-3",))
    recorded = recorded_second_reminders([entry], credit_notes=True)
    assert list(recorded) == ["AV-3"] and list(recorded_second_reminders([entry])) == ["FA-1", "FA-2"]


def test_a_credit_note_deducted_by_another_clients_letter_is_still_deducted():
    cl = client()
    entry = JournalEntry(run_at=datetime(2026, 11, 1), as_of=ago(30), client_code="CL999",
                         client="Autre SA", invoices=("X-1",), total=Decimal("1.00"),
                         channel="courrier", status="généré", file="", stage="2e relance",
                         credit_notes=("AV-1",))
    credit = at_stage("AV-1", Stage.CREDIT_NOTE, cl, amount="-100.00")
    result = plan(second_due("F-1", cl), credit, journal=[entry])
    (letter,) = result.letters
    assert letter.credit_total == Decimal("-100.00")
    own = dataclasses.replace(entry, client_code="CL001", client="Dupont SA")
    later = plan(second_due("F-1", cl), credit, journal=[own])
    (letter,) = later.letters
    assert letter.credit_total == Decimal("0.00") and not letter.credit_notes
    assert any("AV-1 déjà déduit" in a.message for a in later.anomalies)


def test_notes_come_client_by_client_in_the_letters_order():
    """What to check is told client by client, in the order of the letters (by name),
    whatever the rows' order: all that concerns one client reads together."""
    zeta, alpha = client(name="Zeta SARL", code="Z"), client(name="Alpha SA", code="A")
    result = plan(second_due("Z-1", zeta, second_reminder=AS_OF + timedelta(days=3), row=2),
                  second_due("A-1", alpha, amount="100.00", row=3),
                  at_stage("AV-1", Stage.CREDIT_NOTE, alpha, amount="500.00"))
    said = [a.message for a in result.anomalies]
    assert [m.split(" : ")[0] for m in said] == ["Alpha SA", "Alpha SA", "Zeta SARL", "facture Z-1"]
    assert "adresse postale incomplète" in said[0] and "couvrent les factures" in said[1]
    assert "adresse postale incomplète" in said[2] and "déjà enregistrée" in said[3]
    assert [lt.client.name for lt in result.letters] == ["Zeta SARL"]


def test_a_credit_note_already_deducted_still_tells_who_the_client_is():
    """A credit note deducted by an earlier letter is not deducted again, but its row is one
    of the client's rows: the letter takes the client's name and address from the first row
    that has them, as the earlier letter did."""
    bare = client(name="Kappa")
    full = client(name="Kappa Ltd", address="1 High Street", postcode="EC1A 1BB", city="London",
                  country="Royaume-Uni")
    entry = JournalEntry(run_at=datetime(2026, 11, 1), as_of=ago(30), client_code="CL001",
                         client="Kappa Ltd", invoices=("F-0",), total=Decimal("1.00"),
                         channel="courrier", status="généré", file="", stage="2e relance",
                         credit_notes=("AV-1",))
    result = plan(at_stage("AV-1", Stage.CREDIT_NOTE, full, amount="-100.00"),
                  second_due("F-1", bare), journal=[entry])
    (letter,) = result.letters
    assert not letter.credit_notes and letter.client.name == "Kappa Ltd"
    assert letter.client.city == "London"
    said = " | ".join(a.message for a in result.anomalies)
    assert "AV-1 déjà déduit" in said and "nom différent" in said


def test_a_client_of_many_differing_rows_is_planned_in_linear_time():
    """Each row of a client naming its own contact is a distinct client value: planning looks
    at each once (a comparison of every pair took 50 s for 20,000 such rows)."""
    import time
    rows = [second_due(f"F-{i}", client(contact=f"Contact {i}"), row=i + 2) for i in range(20000)]
    start = time.perf_counter()
    result = plan(*rows)
    assert time.perf_counter() - start < 4
    (letter,) = result.letters
    assert len(letter.lines) == 20000 and letter.client.contact == "Contact 0"
