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


@pytest.mark.parametrize("country", ["", "France", "FR", "Guadeloupe", "La Réunion",
                                     "Syldavie"])
def test_france_its_overseas_territories_and_unknown_names_keep_the_french_order(country):
    """La Poste serves the overseas territories as France; a name we do not know is not
    known to be abroad: the letter keeps the address as written."""
    assert not abroad(country)
    assert foreign_address_lines(["1 rue X"], "97100", "Basse-Terre", country) is None


def test_our_number_as_dialled_from_abroad():
    assert dialled_from_abroad("04 78 92 15 40") == "+33 4 78 92 15 40"
    assert dialled_from_abroad("+33 6 12 34 56 78") == "+33 6 12 34 56 78"
    assert dialled_from_abroad("standard : voir site") == "standard : voir site"
    assert dialled_from_abroad("") == ""
