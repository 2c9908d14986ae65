"""A client abroad: the post's order for its address, our number as dialled from abroad."""
from __future__ import annotations

import pytest

from relance.documents.countries import abroad, dialled_from_abroad, foreign_address_lines


@pytest.mark.parametrize("country, street, postcode, city, expected", [
    ("Royaume-Uni", ["Unit 4, Wharfside Business Park", "18 Canal Street"], "M1 3HE",
     "Manchester", ["Unit 4, Wharfside Business Park", "18 Canal Street", "MANCHESTER",
                    "M1 3HE", "ROYAUME-UNI"]),
    ("Allemagne", ["Hauptstraße 5"], "10115", "Berlin", ["Hauptstraße 5", "10115 BERLIN",
                                                         "ALLEMAGNE"]),
    ("Pays-Bas", ["Damrak 1"], "1012 LG", "Amsterdam", ["Damrak 1", "1012 LG AMSTERDAM",
                                                        "PAYS-BAS"]),
    ("Suisse", ["Bahnhofstrasse 1"], "8001", "Zürich", ["Bahnhofstrasse 1", "CH-8001 Zürich",
                                                        "SUISSE"]),
])
def test_an_address_abroad_follows_the_destination_post(country, street, postcode, city,
                                                        expected):
    assert foreign_address_lines(street, postcode, city, country) == expected


@pytest.mark.parametrize("country", ["", "France", "FR", "France (métropole)", "Guadeloupe",
                                     "La Réunion"])
def test_france_and_its_overseas_territories_keep_the_french_order(country):
    """La Poste serves the overseas territories as France."""
    assert not abroad(country)
    assert foreign_address_lines(["1 rue X"], "97100", "Basse-Terre", country) is None


@pytest.mark.parametrize("country, postcode, city", [
    ("Japon", "100-0001", "Tokyo"),  # its format has no town
    ("Côte d'Ivoire", "BP 1234", "Abidjan"),  # its format has no postcode
    ("Burkina Faso", "01", "Ouagadougou"),  # nor this one ("01" is in the street, too)
])
def test_an_address_abroad_that_cannot_be_formatted_whole_keeps_the_user_s_order(
        country, postcode, city):
    """Nothing the user wrote may be lost: where the destination's format cannot hold it all,
    the letter keeps the address as written; our number and town still say France."""
    assert abroad(country)
    assert foreign_address_lines(["Avenue 1012"], postcode, city, country) is None


def test_a_name_we_cannot_place_is_taken_for_france():
    assert not abroad("Syldavie")
    assert foreign_address_lines(["1 rue X"], "1000", "Klow", "Syldavie") is None


@pytest.mark.parametrize("country, abroad_", [
    ("Nouvelle-Calédonie", True), ("Tahiti", True), ("Wallis-et-Futuna", True),
    ("Corse", False), ("Saint-Martin", False), ("Guyane française", False),
])
def test_our_number_needs_33_where_france_s_numbering_plan_stops(country, abroad_):
    """New Caledonia, Polynesia and Wallis-et-Futuna have plans of their own (+687, +689,
    +681), though La Poste serves them as France."""
    assert abroad(country) is abroad_


def test_formats_that_need_a_province_or_reorder_the_lines():
    """A province the sheet cannot give is left out, not the whole format; each country's
    order and its country line as the user named it (a code by its French name)."""
    assert foreign_address_lines(["1 Main Street"], "94043", "Mountain View", "États-Unis") == \
        ["1 Main Street", "MOUNTAIN VIEW, 94043", "ÉTATS-UNIS"]
    assert foreign_address_lines(["Via Roma 1"], "00184", "Roma", "Italie") == \
        ["Via Roma 1", "00184 ROMA", "ITALIE"]
    assert foreign_address_lines(["Váci utca 1"], "1052", "Budapest", "Hongrie") == \
        ["BUDAPEST", "VÁCI UTCA 1", "1052", "HONGRIE"]  # the country once
    assert foreign_address_lines(["Atatürk Cd. 1"], "21000", "Diyarbakır", "Turquie") == \
        ["Atatürk Cd. 1", "21000 DIYARBAKIR", "TURQUIE"]
    assert foreign_address_lines(["Hauptstraße 5"], "10115", "Berlin", "DE") == \
        ["Hauptstraße 5", "10115 BERLIN", "ALLEMAGNE"]


def test_country_names_in_french_or_english_and_postcodes_typed_with_their_prefix():
    assert foreign_address_lines(["Storgatan 1"], "114 55", "Stockholm", "Suède") == \
        ["Storgatan 1", "SE-114 55 STOCKHOLM", "SUÈDE"]
    assert foreign_address_lines(["Rue du Fort 2"], "L-1234", "Luxembourg", "Luxembourg") == \
        ["Rue du Fort 2", "L-1234 LUXEMBOURG", "LUXEMBOURG"]
    assert foreign_address_lines(["Rue du Rhône 1"], "CH-1204", "Genève", "Switzerland") == \
        ["Rue du Rhône 1", "CH-1204 Genève", "SWITZERLAND"]
    for typed in ("CH 1204", "ch–1204", "1204"):
        assert foreign_address_lines(["Rue du Rhône 1"], typed, "Genève", "Suisse")[1] == \
            "CH-1204 Genève"
    assert foreign_address_lines(["Rue du Fort 2"], "L1234", "Luxembourg", "LU")[1:] == \
        ["L-1234 LUXEMBOURG", "LUXEMBOURG"]


def test_our_number_as_dialled_from_abroad():
    assert dialled_from_abroad("04 78 92 15 40") == "+33 4 78 92 15 40"
    assert dialled_from_abroad("+33 6 12 34 56 78") == "+33 6 12 34 56 78"
    assert dialled_from_abroad("standard : voir site") == "standard : voir site"
    assert dialled_from_abroad("") == ""
    assert dialled_from_abroad("0 800 123 456") == "0 800 123 456"  # free call: France only
