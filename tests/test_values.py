"""values.py: turning cell values (Excel dates, numbers, French or English text) into
dates, amounts, rates and flags, as SPEC.md's "Values" section describes."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from relance.model import ClientType
from relance.values import (AMBIGUOUS, DAY_FIRST, EXCEL_EPOCH_1900, EXCEL_EPOCH_1904, MONTH_FIRST,
                            fold, is_disputed, is_insolvent, parse_amount, parse_client_type,
                            parse_date, parse_language, parse_rate, text_date_order)

MARCH_15 = date(2026, 3, 15)
NNBSP = "\u202f"  # narrow no-break space: French thousands separator in Excel/Word exports
NBSP = "\u00a0"


# --- parse_date ----------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (datetime(2026, 3, 15, 0, 0), MARCH_15),          # an Excel date cell (openpyxl: datetime)
    (datetime(2026, 3, 15, 17, 45), MARCH_15),        # with a time part
    (MARCH_15, MARCH_15),                             # a date
    (46096, MARCH_15),                                # Excel serial number (1900 epoch)
    (46096.75, MARCH_15),                             # serial with a time fraction
    ("15/03/2026", MARCH_15),
    ("15.03.2026", MARCH_15),
    ("2026-03-15", MARCH_15),
    ("15/03/26", MARCH_15),                           # two-digit year
    ("5/3/2026", date(2026, 3, 5)),                   # no leading zeros
    ("  15/03/2026  ", MARCH_15),                     # surrounding spaces
], ids=repr)
def test_parse_date_day_first(value, expected):
    assert parse_date(value) == expected


def test_parse_date_serial_number_with_1904_epoch():
    assert parse_date(44634, epoch=EXCEL_EPOCH_1904) == MARCH_15


def test_same_serial_differs_between_the_two_epochs():
    assert parse_date(44634, epoch=EXCEL_EPOCH_1900) != parse_date(44634, epoch=EXCEL_EPOCH_1904)


@pytest.mark.parametrize("value, expected", [
    ("03/15/2026", MARCH_15),
    ("3/15/26", MARCH_15),
    ("2/25/2013", date(2013, 2, 25)),
    ("03/04/2026", date(2026, 3, 4)),                 # ambiguous text read month-first
    ("2026-03-15", MARCH_15),                         # ISO is unaffected by the order
])
def test_parse_date_month_first_mode(value, expected):
    assert parse_date(value, month_first=True) == expected


def test_ambiguous_text_date_is_day_first_by_default():
    assert parse_date("03/04/2026") == date(2026, 4, 3)


@pytest.mark.parametrize("value", [
    "31/02/2026",                                     # no 31 February
    "29/02/2026",                                     # 2026 is not a leap year
    "2026-02-31",
    "15/13/2026",                                     # month 13
    "03/15/2026",                                     # month-first text in day-first mode
])
def test_parse_date_impossible_dates_raise(value):
    with pytest.raises(ValueError):
        parse_date(value)


def test_month_first_mode_rejects_a_day_first_only_date():
    with pytest.raises(ValueError):
        parse_date("25/02/2013", month_first=True)


@pytest.mark.parametrize("value", ["bientôt", "fin du mois", "15 mars", "n/a", "12345abc", True])
def test_parse_date_garbage_raises(value):
    with pytest.raises(ValueError):
        parse_date(value)


@pytest.mark.parametrize("value", [None, "", "   ", "\t"])
def test_parse_date_empty_is_none(value):
    assert parse_date(value) is None


# --- text_date_order -----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2/25/2013", MONTH_FIRST),
    ("12/31/26", MONTH_FIRST),
    ("25/02/2013", DAY_FIRST),
    ("31.12.2026", DAY_FIRST),
    ("02/03/2013", AMBIGUOUS),
    ("12/12/2026", AMBIGUOUS),
    ("2013-02-25", None),                             # ISO: not a d/m/y text
    ("31/31/2013", None),                             # no order makes sense
    ("promet de payer", None),
    ("", None),
])
def test_text_date_order(text, expected):
    assert text_date_order(text) == expected


# --- parse_amount --------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("1 234,56 €", "1234.56"),
    ("1234,56", "1234.56"),
    ("1,234.56", "1234.56"),
    ("1.234,56", "1234.56"),
    ("-120,00", "-120.00"),
    (f"1{NNBSP}234,56{NNBSP}€", "1234.56"),
    (f"1{NBSP}234,56{NBSP}€", "1234.56"),
    (f"12{NNBSP}480,00", "12480.00"),
    ("(45,00)", "-45.00"),                            # accounting negative
    ("186", "186.00"),
    ("  312,40  ", "312.40"),
    (1234.56, "1234.56"),
    (2880, "2880.00"),
    (Decimal("1072.8"), "1072.80"),
    (0.1 + 0.2, "0.30"),                              # binary float noise gone, to the cent
    (0.004, "0.00"),
    (0.005, "0.01"),                                  # half up
    (-0.004, "0.00"),
])
def test_parse_amount(value, expected):
    result = parse_amount(value)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -2  # always to the cent


@pytest.mark.parametrize("value", ["douze euros", "N/A", "?", "12,5,3.2.1x", "€", "--", "abc€"])
def test_parse_amount_garbage_raises(value):
    with pytest.raises(ValueError):
        parse_amount(value)


@pytest.mark.parametrize("value", [True, False, date(2026, 3, 15), datetime(2026, 3, 15, 10, 0)],
                         ids=repr)
def test_parse_amount_refuses_booleans_and_dates(value):
    with pytest.raises(ValueError):
        parse_amount(value)


@pytest.mark.parametrize("value", [None, "", "  "])
def test_parse_amount_empty_is_none(value):
    assert parse_amount(value) is None


# --- parse_rate ----------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (12, "12"),
    ("12", "12"),
    ("12,5 %", "12.5"),
    ("12,5%", "12.5"),
    (f"12,5{NBSP}%", "12.5"),
    (0.125, "12.5"),                                  # a cell formatted as a percentage
    (0.12, "12"),
    (10.15, "10.15"),
])
def test_parse_rate(value, expected):
    assert parse_rate(value) == Decimal(expected)


def test_parse_rate_empty_is_none():
    assert parse_rate("") is None and parse_rate(None) is None


@pytest.mark.parametrize("value", ["douze", "-5", 250])
def test_parse_rate_rejects_non_rates(value):
    with pytest.raises(ValueError):
        parse_rate(value)


# --- flags ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [None, "", "  ", "non", "Non", "NON", " non ", "no", "No", "faux",
                                   "FAUX", "false", "False", "0", 0])
def test_not_disputed(value):
    assert is_disputed(value) is False


@pytest.mark.parametrize("value", ["oui", "Oui", "x", "X", "litige", "prix contesté", "yes", 1])
def test_disputed(value):
    assert is_disputed(value) is True


@pytest.mark.parametrize("value", [None, "", "non", "Non", "NO", " no "])
def test_not_insolvent(value):
    assert is_insolvent(value) is False


@pytest.mark.parametrize("value", ["Redressement judiciaire", "Liquidation", "Liquidation judiciaire",
                                   "Sauvegarde", "oui", "x"])
def test_insolvent(value):
    assert is_insolvent(value) is True


# --- fold (how headers and settings match) ------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("Échéance", "echeance"),
    ("ÉCHÉANCE", "Echeance"),
    ("Reste dû", "reste du"),
    ("Montant TTC (€)", "Montant TTC"),
    ("Montant TTC(€)", "montant ttc"),
    ("Montant TTC (EUR)", "Montant TTC"),
    ("Reste dû (€) ", "Reste dû"),
    ("N° facture", "N facture"),
    ("Date d'échéance", "date d echeance"),
    ("Date d’échéance", "Date d'échéance"),          # typographic apostrophe
    ("E-mail", "email"),
    ("Date 1ère relance", "date 1ere relance"),
    ("Taux pénalités (%)", "taux penalites"),
    ("  Code   client ", "CODE_CLIENT"),
])
def test_fold_makes_variants_equal(a, b):
    assert fold(a) == fold(b)


def test_fold_result_is_lowercase_ascii_letters_and_digits():
    assert fold("Date 1ère relance (€)") == "date1ererelance"


def test_fold_keeps_different_words_different():
    assert fold("Montant réglé") != fold("Montant TTC")


# --- client type and language --------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("Particulier", ClientType.CONSUMER),
    ("PARTICULIER", ClientType.CONSUMER),
    (" particulier ", ClientType.CONSUMER),
    ("Public", ClientType.PUBLIC),
    ("public", ClientType.PUBLIC),
    ("Professionnel", ClientType.BUSINESS),
    ("professionnel", ClientType.BUSINESS),
    (None, None),
    ("", None),
])
def test_parse_client_type(value, expected):
    assert parse_client_type(value) == expected


def test_parse_client_type_unknown_raises():
    with pytest.raises(ValueError):
        parse_client_type("Martien")


@pytest.mark.parametrize("value, expected", [
    ("en", "en"), ("EN", "en"), (" en ", "en"), ("fr", "fr"), ("FR", "fr"),
    ("", "fr"), (None, "fr"),
])
def test_parse_language(value, expected):
    assert parse_language(value) == expected


@pytest.mark.parametrize("value", [-2.27e-13, -0.0, "-0,00", Decimal("-0.001"), "(0,00)"])
def test_an_amount_that_rounds_to_zero_is_never_minus_zero(value):
    """A formula's residue (-2.27e-13) is 0,00 €, never « -0,00 € » nor -0.0 in JSON."""
    from relance.values import parse_amount
    amount = parse_amount(value)
    assert amount == 0 and not amount.is_signed() and str(amount) == "0.00"


@pytest.mark.parametrize("text", ["-", " -   € ", "\u2013", "- €"])
def test_a_dash_is_zero_as_french_accounting_formats_show_it(text):
    from relance.values import parse_amount
    assert parse_amount(text) == Decimal("0.00")


def test_a_duration_reads_as_excel_shows_it():
    from datetime import timedelta
    from relance.values import cell_text
    assert cell_text(timedelta(days=1234, hours=12)) == "29628:00"
    assert cell_text(timedelta(minutes=-90)) == "-1:30"


@pytest.mark.parametrize("text, expected", [("-2.27e-13", "0.00"), ("-2,27E-13", "0.00"),
                                            ("-2.2737367544323206e-13", "0.00"),
                                            ("1.5E+03", "1500.00"), ("1,5e3", "1500.00")])
def test_an_amount_in_scientific_notation_reads(text, expected):
    """A tool's float in a CSV (`-2.27e-13` left by a sum): read, not « montant illisible »."""
    from relance.values import parse_amount
    assert str(parse_amount(text)) == expected


@pytest.mark.parametrize("parse", ["parse_int", "parse_rate"])
def test_a_dash_is_zero_for_amounts_only(parse):
    """A setting of « - » days or « - » % stays unreadable: 0 days would chase at once."""
    import relance.values as values
    with pytest.raises(ValueError):
        getattr(values, parse)("-")


def test_a_huge_number_is_quoted_as_excel_would_show_it():
    from relance.values import cell_text
    assert cell_text(1e308) == "1e+308" and cell_text(123456789012345.0) == "123456789012345"


@pytest.mark.parametrize("text, expected", [("1.234E+03", "1234.00"), ("1,234E+03", "1234.00"),
                                            ("1.000e3", "1000.00")])
def test_a_scientific_mantissa_is_a_plain_decimal(text, expected):
    """Not the thousands rule: « 1.234E+03 » is 1234, never 1234000."""
    from relance.values import parse_amount
    assert str(parse_amount(text)) == expected
