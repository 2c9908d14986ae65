"""The SMS channel: `sms.csv`, one row per client with a valid mobile number, for an SMS
gateway or a bulk-SMS web form.

Numbers are checked and written in E.164 form with phonenumbers (the region comes from the
client's `Pays`). The message comes from `templates/2e_relance_sms.txt` (`_en` for English
clients) with the letter's context, so its figures are the letter's; it is kept to one
160-character GSM-7 segment when possible: a shorter variant of the template (`short`), then
characters GSM-7 lacks replaced by plain equivalents (the non-breaking spaces Babel puts in
amounts, typographic quotes, `ê`, `ç`, `œ`…). The segment count is given either way.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from ..model import Anomaly
from .countries import region_of
from .email_draft import render_template, template_name, template_path, write_atomic

# --- phone numbers -------------------------------------------------------------------------

MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def normalise_mobile(raw: str, country: str = "") -> tuple[str | None, str]:
    """(`+33612345678`, "") for a valid mobile number, else (None, French reason).

    Accepts `06 12 34 56 78`, `+33 6 12 34 56 78`, `0033 6…`, `06.12.34.56.78`; a cell holding
    several numbers (`04 72 … / 06 …`) gives its first mobile."""
    text = str(raw or "").strip()
    if not text:
        return None, "pas de numéro de téléphone"
    region = region_of(country)
    # the client's country first, then France's plan: a client abroad often keeps a French
    # mobile, and the overseas territories share France's mobiles
    number, found = None, []
    for plan in dict.fromkeys((region, "FR")):
        parsed = _parse(text, plan)
        if parsed is not None and phonenumbers.number_type(parsed) in MOBILE_TYPES:
            return phonenumbers.format_number(parsed, PhoneNumberFormat.E164), ""
        matches = [m.number for m in phonenumbers.PhoneNumberMatcher(text, plan)
                   if phonenumbers.is_valid_number(m.number)]
        for candidate in matches:
            if phonenumbers.number_type(candidate) in MOBILE_TYPES:
                return phonenumbers.format_number(candidate, PhoneNumberFormat.E164), ""
        number, found = number or parsed, found or matches
    number = number or (found[0] if found else None)
    if number is None:
        return None, _unusable(text, region)
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.FIXED_LINE:
        return None, "numéro fixe : pas de SMS"
    return None, "numéro non mobile : pas de SMS"


def _unusable(text: str, region: str) -> str:
    """Why a number reaches nobody: unreadable, or well formed in a range no operator uses
    (`06 39 98 07 64` looks like a mobile; the plan of numbering says it does not exist)."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return "numéro invalide (illisible)"
    if phonenumbers.is_possible_number(number):
        return "numéro invalide (plage non attribuée : ce numéro n'existe pas)"
    return "numéro invalide (trop court ou trop long)"


def _parse(text: str, region: str):
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


# --- GSM-7 ---------------------------------------------------------------------------------

# GSM 03.38 basic character set (the escape 0x1B excluded) and its extension table, whose
# characters take two septets (escape + character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def gsm7_info(text: str) -> tuple[str, int]:
    """("GSM-7" or "UCS-2", number of SMS segments). GSM-7: 160 septets in one SMS, else
    153 per part, extension characters (`€ [ ] { } ^ ~ | \\`) counting two and never split
    across parts. UCS-2: 70 UTF-16 units in one SMS, else 67 per part, surrogate pairs (emoji)
    never split. An empty text is 0 segments."""
    if is_gsm7(text):
        units = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return "GSM-7", _segments(units, GSM7_SINGLE, GSM7_PART)
    units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return "UCS-2", _segments(units, UCS2_SINGLE, UCS2_PART)


def _segments(units: list, single: int, part: int) -> int:
    total = sum(units)
    if total == 0:
        return 0
    if total <= single:
        return 1
    count, used = 1, 0
    for size in units:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count


# Characters GSM-7 lacks, with a plain equivalent a French reader accepts.
REPLACEMENTS = {
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u2002": " ", "\u2003": " ",
    "\u200b": "", "\u2060": "", "\ufeff": "", "\u00ad": "", "\t": " ",
    "’": "'", "‘": "'", "‚": "'", "′": "'", "´": "'", "`": "'",
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "″": '"',
    "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-",
    "…": "...", "•": "-", "·": ".",
    "œ": "oe", "Œ": "OE", "ç": "c", "À": "A", "È": "E", "Ù": "U",
    "°": "o", "²": "2", "³": "3",
}


def gsm_plain(text: str) -> str:
    """`text` with every character GSM-7 lacks replaced by a plain equivalent when there is
    one (accents stripped: `ê` → `e`); characters without one (emoji, other scripts) stay."""
    out = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
            out.append(ch)
        elif ch in REPLACEMENTS:
            out.append(REPLACEMENTS[ch])
        else:
            bare = "".join(c for c in unicodedata.normalize("NFKD", ch)
                           if not unicodedata.combining(c))
            out.append(bare if bare and is_gsm7(bare) else ch)
    return "".join(out)


def _one_line(text: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def render_sms(context: dict, lang: str, short: bool, template_dir: Path | None = None) -> str:
    path = template_path(template_name("sms", "en" if lang == "en" else "fr", "txt"),
                         template_dir)
    return _one_line(render_template(path, {**context, "short": short}))


def sms_text(context: dict, lang: str = "fr", *, template_dir: Path | None = None) -> str:
    """The SMS for one letter, one GSM-7 segment when possible: the full template, else its
    `short` variant; characters outside GSM-7 replaced by plain equivalents."""
    text = _one_line(gsm_plain(render_sms(context, lang, False, template_dir)))
    if gsm7_info(text) != ("GSM-7", 1):
        shorter = _one_line(gsm_plain(render_sms(context, lang, True, template_dir)))
        if _cost(shorter) < _cost(text) or (_cost(shorter) == _cost(text)
                                             and len(shorter) < len(text)):
            text = shorter
    return text


def _cost(text: str) -> tuple:
    encoding, segments = gsm7_info(text)
    return segments, encoding != "GSM-7"


# --- rows and the CSV ----------------------------------------------------------------------

@dataclass(frozen=True)
class SmsRow:
    client_code: str
    client: str
    number: str  # E.164, e.g. +33612345678
    message: str
    encoding: str  # GSM-7 or UCS-2
    segments: int


def sms_rows(items, lang_of=None, *, template_dir: Path | None = None) -> tuple[list, list]:
    """One SmsRow per (letter, context) whose client has a valid mobile; an Anomaly naming the
    client and the number for every other one. `lang_of(letter)` gives the message language
    (default: the context's `lang`)."""
    rows, anomalies = [], []
    for letter, context in items:
        row, reason = sms_row(letter, context, lang_of, template_dir=template_dir)
        if row is None:
            anomalies.append(Anomaly(f"{letter.client.name} : {reason}"))
        else:
            rows.append(row)
    return rows, anomalies


def sms_row(letter, context: dict, lang_of=None, *, template_dir: Path | None = None
            ) -> tuple[SmsRow | None, str]:
    """(The SmsRow of one letter, "") or (None, why its client gets no SMS)."""
    client = letter.client
    number, reason = normalise_mobile(client.phone, client.country)
    if number is None:
        phone = client.phone.strip()
        what = reason.replace(" : pas de SMS", "")
        return None, f"{what} « {phone} », pas de SMS" if phone else f"{what}, pas de SMS"
    lang = lang_of(letter) if lang_of else context.get("lang", client.language)
    message = sms_text(context, lang, template_dir=template_dir)
    encoding, segments = gsm7_info(message)
    return SmsRow(client.code, client.name, number, message, encoding, segments), ""


CSV_HEADER = ("Code client", "Client", "Numéro", "Message", "Encodage", "Segments")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: str) -> str:
    """A free-text cell that Excel cannot run as a formula (`=…`, `+…`, `-…`, `@…`)."""
    value = str(value or "")
    return "'" + value if value.startswith(_FORMULA_START) else value


def sms_csv_bytes(rows: list) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow((_text_cell(row.client_code), _text_cell(row.client), row.number,
                         _text_cell(row.message), row.encoding, row.segments))
    return buffer.getvalue().encode("utf-8-sig")


def write_sms_csv(rows: list, path: Path) -> None:
    """`sms.csv`: `;`-separated UTF-8 with BOM (French Excel), written atomically. The number
    column holds the E.164 number as SMS gateways expect it (`+33612345678`)."""
    write_atomic(Path(path), sms_csv_bytes(rows))
