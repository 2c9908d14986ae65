"""SMS: mobile numbers, GSM-7 segment counting, the message of every sample letter, sms.csv."""
from __future__ import annotations

import csv
from dataclasses import replace

import pytest

from relance.documents.context import letter_context
from relance.documents.sms import (CSV_HEADER, SmsRow, gsm7_info, gsm_plain, normalise_mobile,
                                   region_of, sms_rows, sms_text, write_sms_csv)
from relance.letters import plan_run
from relance.model import Anomaly, RelanceError
from relance.reading import files

from conftest import SAMPLE, SAMPLE_DATE


@pytest.fixture(scope="module")
def items():
    ledger = files.load(SAMPLE).ledger
    letters = plan_run(ledger, SAMPLE_DATE).letters
    return [(lt, letter_context(lt, ledger.settings, SAMPLE_DATE)) for lt in letters]


def item_of(items, start):
    return next(it for it in items if it[0].client.name.startswith(start))


# --- numbers -------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, country, expected", [
    ("06 12 34 56 78", "France", "+33612345678"),
    ("06 12 34 56 78", "", "+33612345678"),
    ("+33 6 12 34 56 78", "FR", "+33612345678"),
    ("0033 6 12 34 56 78", "France", "+33612345678"),
    ("06.12.34.56.78", "France", "+33612345678"),
    ("06-12-34-56-78", "france", "+33612345678"),
    ("+33 (0)6 12 34 56 78", "France", "+33612345678"),
    ("612345678", "France", "+33612345678"),  # a number cell that lost its leading zero
    ("07 81 23 45 67", "France", "+33781234567"),
    ("07400 123456", "Royaume-Uni", "+447400123456"),
    ("07400 123456", "United Kingdom", "+447400123456"),
    ("07400 123456", "UK", "+447400123456"),
    ("+44 7400 123456", "France", "+447400123456"),
    ("0470 12 34 56", "Belgique", "+32470123456"),
    ("079 123 45 67", "Suisse", "+41791234567"),
    ("0151 23456789", "Allemagne", "+4915123456789"),
    ("04 72 43 18 90 / 06 12 34 56 78", "France", "+33612345678"),
])
def test_valid_mobiles(raw, country, expected):
    assert normalise_mobile(raw, country) == (expected, "")


@pytest.mark.parametrize("raw, country, reason", [
    ("04 72 43 18 90", "France", "numéro fixe : pas de SMS"),
    ("+33 4 77 32 19 05", "France", "numéro fixe : pas de SMS"),
    ("+44 161 496 0732", "Royaume-Uni", "numéro fixe : pas de SMS"),
    ("020 7946 0018", "Royaume-Uni", "numéro fixe : pas de SMS"),
    ("12345", "France", "numéro invalide (trop court ou trop long)"),
    ("06 12 34", "France", "numéro invalide (trop court ou trop long)"),
    ("pas de portable", "France", "numéro invalide (illisible)"),
    ("06 39 98 07 64", "France", "numéro invalide (plage non attribuée : ce numéro n'existe pas)"),
    ("", "France", "pas de numéro de téléphone"),
])
def test_not_mobiles(raw, country, reason):
    assert normalise_mobile(raw, country) == (None, reason)


def test_regions():
    assert region_of("") == "FR"
    assert region_of("Royaume-Uni") == "GB"
    assert region_of("BELGIQUE") == "BE"
    assert region_of("Espagne") == "ES"
    assert region_of("Italie") == "IT"
    assert region_of("Luxembourg") == "LU"
    assert region_of("Pays inconnu") == "FR"


# --- GSM-7 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("", ("GSM-7", 0)),
    ("a" * 160, ("GSM-7", 1)),
    ("a" * 161, ("GSM-7", 2)),
    ("a" * 306, ("GSM-7", 2)),
    ("a" * 307, ("GSM-7", 3)),
    ("€" * 80, ("GSM-7", 1)),  # € takes two septets
    ("€" + "a" * 158, ("GSM-7", 1)),
    ("€" + "a" * 159, ("GSM-7", 2)),
    ("^{}\\[~]|" + "a" * 144, ("GSM-7", 1)),  # 8 extension characters = 16 septets
    ("^{}\\[~]|" + "a" * 145, ("GSM-7", 2)),
    ("a" * 152 + "€" + "a" * 152, ("GSM-7", 3)),  # € never split across two parts
    ("Réglez à Évian, où ça ? Ça va : Ünïcode", ("UCS-2", 1)),  # ï is not GSM-7
    ("éèùìòàÉÇÄÖÑÜäöñüßÆæØøÅå" * 6, ("GSM-7", 1)),
    ("ê" * 70, ("UCS-2", 1)),
    ("ê" * 71, ("UCS-2", 2)),
    ("ç" * 134, ("UCS-2", 2)),
    ("ç" * 135, ("UCS-2", 3)),
    ("Total\u00a0: 4\u202f675,60\u00a0€", ("UCS-2", 1)),  # Babel's non-breaking spaces
    ("L’Atelier", ("UCS-2", 1)),
    ("œ", ("UCS-2", 1)),
    ("😀" * 35, ("UCS-2", 1)),  # a surrogate pair counts two units
    ("😀" * 36, ("UCS-2", 2)),
])
def test_gsm7_info(text, expected):
    assert gsm7_info(text) == expected


def test_plain_equivalents():
    assert gsm_plain("4\u202f675,60\u00a0€") == "4 675,60 €"
    assert gsm_plain("L’Atelier « Fenêtre » – Cœur français… Île") == \
        "L'Atelier \" Fenetre \" - Coeur francais... Ile"
    assert gsm_plain("Hélène, Émile, à très bientôt") == "Hélène, Émile, à très bientot"
    assert gsm_plain("北京") == "北京"  # no plain equivalent: kept, the SMS is UCS-2


# --- messages ------------------------------------------------------------------------------

def test_every_sample_letter_fits_one_gsm7_sms(items):
    for letter, context in items:
        text = sms_text(context, context["lang"])
        assert gsm7_info(text) == ("GSM-7", 1), text
        assert gsm_plain(context["total"]) in text  # the letter's total, same figure
        assert gsm_plain(context["deadline"]) in text
        assert context["company"]["name"] in text
        assert ("2e relance" in text) if context["lang"] == "fr" else ("2nd reminder" in text)
        assert "https://paiement.example.fr/menuiserie-garnier" in text


def test_full_variant_when_it_fits(items):
    letter, context = item_of(items, "Dupont")
    small = {**context, "company": {**context["company"], "name": "Garnier"},
             "payment": {**context["payment"], "link": "", "card": False}}
    text = sms_text(small, "fr")
    assert text.startswith("Garnier : 2e relance, 4 675,60 € dus (fact. FA-2026-0101, "
                           "FA-2026-0102).")
    assert text.endswith("au plus tard le 9 décembre 2026 Tél 04 78 92 15 40")  # as the letter
    assert gsm7_info(text) == ("GSM-7", 1)


def test_phone_when_there_is_no_payment_link(items):
    letter, context = item_of(items, "Bâtiments Morel")
    no_link = {**context, "payment": {**context["payment"], "link": "", "card": False}}
    text = sms_text(no_link, "fr")
    assert "04 78 92 15 40" in text and "https://" not in text
    assert gsm7_info(text) == ("GSM-7", 1)


def test_too_long_anyway_gives_the_segment_count(items):
    letter, context = item_of(items, "Dupont")
    long_name = {**context, "company": {**context["company"], "name": "Menuiserie " * 15}}
    text = sms_text(long_name, "fr")
    encoding, segments = gsm7_info(text)
    assert encoding == "GSM-7" and segments == 2


def test_unknown_variable_in_sms_template(items, tmp_path):
    letter, context = item_of(items, "Dupont")
    (tmp_path / "2e_relance_sms.txt").write_text("{{ societe }} : {{ total }}", encoding="utf-8")
    with pytest.raises(RelanceError) as err:
        sms_text(context, "fr", template_dir=tmp_path)
    assert "2e_relance_sms.txt" in str(err.value) and "« societe »" in str(err.value)


# --- rows and anomalies --------------------------------------------------------------------

def test_rows_and_anomalies_on_the_sample(items):
    rows, anomalies = sms_rows(items)
    assert all(isinstance(a, Anomaly) for a in anomalies)
    assert len(rows) + len(anomalies) == len(items)
    morel = next(r for r in rows if r.client_code == "CL004")
    assert morel.client == "Bâtiments Morel Rhône-Alpes"
    assert morel.number == "+33612345678"
    assert (morel.encoding, morel.segments) == ("GSM-7", 1)
    assert morel.message == sms_text(item_of(items, "Bâtiments Morel")[1], "fr")
    texts = [a.message for a in anomalies]
    dupont = next(t for t in texts if t.startswith("Dupont & Fils <Nord>"))
    assert "fixe" in dupont and "03 20 55 41 17" in dupont
    harcourt = next(t for t in texts if t.startswith("Harcourt"))
    assert "fixe" in harcourt and "+44 161 496 0732" in harcourt


def test_no_phone_and_invalid_phone(items):
    letter, context = item_of(items, "Dupont")
    none = replace(letter, client=replace(letter.client, phone=""))
    bad = replace(letter, client=replace(letter.client, phone="06 12 34"))
    uk = replace(letter, client=replace(letter.client, phone="07400 123456",
                                        country="Royaume-Uni"))
    rows, anomalies = sms_rows([(none, context), (bad, context), (uk, context)])
    assert [r.number for r in rows] == ["+447400123456"]
    assert "pas de numéro de téléphone" in anomalies[0].message
    assert "Dupont & Fils <Nord>" in anomalies[0].message
    assert "numéro invalide" in anomalies[1].message and "06 12 34" in anomalies[1].message


def test_english_client_gets_the_english_message(items):
    letter, context = item_of(items, "Harcourt")
    mobile = replace(letter, client=replace(letter.client, phone="07400 123456"))
    rows, _ = sms_rows([(mobile, context)])
    assert rows[0].message.startswith("Menuiserie Garnier & Associés: 2nd reminder, €10,230.00")
    assert rows[0].number == "+447400123456"


# --- the CSV -------------------------------------------------------------------------------

def test_csv_for_excel(tmp_path):
    rows = [
        SmsRow("CL001", "=HYPERLINK(\"http://evil\")", "+33612345678", "Bonjour", "GSM-7", 1),
        SmsRow("+CL2", "+33 Société", "+33781234567", "-5 € de remise", "GSM-7", 1),
        SmsRow("@3", "@SUM(A1)", "+447400123456", "=1+1", "UCS-2", 2),
        SmsRow("", "\tTab", "+32470123456", "\rCR", "GSM-7", 1),
        SmsRow("CL5", "Dupont & Fils <Nord>; « Lyon »", "+41791234567", "a;b \"c\"\nd",
               "GSM-7", 1),
    ]
    path = tmp_path / "sms.csv"
    write_sms_csv(rows, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh, delimiter=";"))
    assert table[0] == list(CSV_HEADER)
    assert table[0] == ["Code client", "Client", "Numéro", "Message", "Encodage", "Segments"]
    assert table[1] == ["CL001", "'=HYPERLINK(\"http://evil\")", "+33612345678", "Bonjour",
                        "GSM-7", "1"]
    assert table[2] == ["'+CL2", "'+33 Société", "+33781234567", "'-5 € de remise", "GSM-7", "1"]
    assert table[3] == ["'@3", "'@SUM(A1)", "+447400123456", "'=1+1", "UCS-2", "2"]
    assert table[4][1:4] == ["'\tTab", "+32470123456", "'\rCR"]
    assert table[5][1] == "Dupont & Fils <Nord>; « Lyon »" and table[5][3] == "a;b \"c\"\nd"
    assert [row[2] for row in table[1:]] == [r.number for r in rows]  # numbers untouched
    assert [p.name for p in tmp_path.iterdir()] == ["sms.csv"]  # no temporary file left


def test_csv_of_the_sample(items, tmp_path):
    rows, _ = sms_rows(items)
    path = tmp_path / "sms.csv"
    write_sms_csv(rows, path)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        table = list(csv.DictReader(fh, delimiter=";"))
    assert [r["Numéro"] for r in table] == [r.number for r in rows]
    assert [r["Message"] for r in table] == [r.message for r in rows]
    assert all(r["Segments"] == "1" and r["Encodage"] == "GSM-7" for r in table)
