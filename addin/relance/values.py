"""Turning cell values (Excel dates, numbers, French or English text) into dates, amounts, flags.

Pure functions: a bad value raises ValueError with a short French reason; the reader adds
the sheet, cell and value to it.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .model import ClientType

CENT = Decimal("0.01")
EXCEL_EPOCH_1900 = date(1899, 12, 30)
EXCEL_EPOCH_1904 = date(1904, 1, 1)

_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DMY_TIME = re.compile(r"^(\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{2}|\d{4}))[ T]\d{1,2}:\d{2}(?::\d{2})?$")


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


AMOUNT_LIMIT = 10 ** 15  # no invoice is that large: a cell holding more is a typing slip


def to_cents(amount: Decimal) -> Decimal:
    """To the cent; never « -0,00 » (a formula's residue, -2.27e-13, rounds to zero)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP) + 0


def strip_accents(text: str) -> str:
    """`Échéance` → `Echeance`; the ordinal signs of `N°`/`Nº` go too."""
    text = str(text)
    if text.isascii():  # most names and headers: nothing to strip
        return text
    text = unicodedata.normalize("NFKD", text.replace("\u00ba", "").replace("\u00b0", ""))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=4096)  # the same few words over and over (client types, headers)
def fold(text: str) -> str:
    """Lower case, no accents, letters and digits only: the key headers and settings match on."""
    text = _CURRENCY_SUFFIX.sub("", strip_accents(text).casefold().strip())
    return _NOT_FOLDED.sub("", text)


_CURRENCY_SUFFIX = re.compile(r"\(\s*(€|eur|euros?)\s*\)\s*$")
_NOT_FOLDED = re.compile(r"[^0-9a-z]")


# --- dates -------------------------------------------------------------------------------

DAY_FIRST, MONTH_FIRST, AMBIGUOUS = "day_first", "month_first", "ambiguous"


def text_date_order(text: str) -> str | None:
    """For a d/m/y-looking text date: which order(s) it makes sense in, or None if not such a date."""
    m = _DMY.match(_strip_time(text.strip()))
    if not m:
        return None
    a, b = int(m.group(1)), int(m.group(2))
    if a > 12 and b <= 12:
        return DAY_FIRST
    if b > 12 and a <= 12:
        return MONTH_FIRST
    if a <= 12 and b <= 12:
        return AMBIGUOUS
    return None


def _strip_time(text: str) -> str:
    m = _DMY_TIME.match(text)
    return m.group(1) if m else text


def excel_serial_to_date(serial: float, epoch: date = EXCEL_EPOCH_1900) -> date:
    if not 1 <= serial < 2958466:
        raise ValueError("nombre hors de la plage des dates Excel")
    if epoch == EXCEL_EPOCH_1900 and serial < 61:  # Excel counts a 29 February 1900
        return date(1899, 12, 31) + timedelta(days=int(serial))
    return epoch + timedelta(days=int(serial))


def excel_serial(value: date | datetime, epoch: date = EXCEL_EPOCH_1900) -> float | int:
    """The number Excel stores for a date (whole days) or a date and time (fraction of a day)."""
    if isinstance(value, datetime):
        delta = value - datetime.combine(epoch, datetime.min.time())
        return round(delta.days + delta.seconds / 86400, 6)
    return (value - epoch).days


def two_digit_year(yy: int) -> int:
    """Excel's rule: 00–29 are 2000–2029, 30–99 are 1930–1999."""
    return 2000 + yy if yy < 30 else 1900 + yy


def parse_date(value, month_first: bool = False, epoch: date = EXCEL_EPOCH_1900) -> date | None:
    """An Excel date, a serial number or a text date; None for an empty cell."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError("valeur logique au lieu d'une date")
    if isinstance(value, (int, float, Decimal)):
        return excel_serial_to_date(float(value), epoch)
    text = str(value).strip()
    m = _ISO.match(text)
    if m:
        return _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _DMY.match(_strip_time(text))
    if m:
        a, b, y = int(m.group(1)), int(m.group(2)), m.group(3)
        year = two_digit_year(int(y)) if len(y) == 2 else int(y)
        day, month = (b, a) if month_first else (a, b)
        return _make_date(year, month, day)
    raise ValueError("date illisible (attendu JJ/MM/AAAA)")


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("date inexistante") from None


def parse_response(value, month_first: bool = False, epoch: date = EXCEL_EPOCH_1900):
    """A client's response: a date (or text reading as one) is its date; any other non-empty
    text (a promise, a call note) is a response without a date; empty is no response."""
    if is_blank(value):
        return None
    try:
        return parse_date(value, month_first, epoch)
    except ValueError:
        return cell_text(value) or "oui"


# --- amounts -----------------------------------------------------------------------------

_CURRENCY = re.compile(r"(€|eur(?:os?)?|\$|usd|£|gbp|ttc|ht)", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'’]")
_DASHES = ("-", "\u2212", "\u2013", "\u2014")
_EXPONENT = re.compile(r"(.*\d)[eE]([+-]?\d{1,4})")


def parse_amount(value) -> Decimal | None:
    """A number or a text amount (`1 234,56 €`, `1,234.56`, `-120,00`, `(45,00)`), to the cent."""
    if isinstance(value, str) and _SPACES.sub("", _CURRENCY.sub("", value)) in _DASHES:
        return Decimal("0.00")  # zero as French accounting formats show it (` -   € `)
    number = parse_decimal(value)
    if number is None:
        return None
    if not -AMOUNT_LIMIT < number < AMOUNT_LIMIT:  # beyond, cents would overflow the sums
        raise ValueError("montant démesuré (un million de milliards d'euros ou plus)")
    return to_cents(number)


def parse_decimal(value) -> Decimal | None:
    """A number or a number written as text, unrounded; None for an empty cell."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError("valeur logique au lieu d'un nombre")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("montant illisible")
        return Decimal(repr(value))
    if isinstance(value, (date, datetime)):
        raise ValueError("date au lieu d'un montant")
    text = _CURRENCY.sub("", str(value))
    text = _SPACES.sub("", text)
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    if text.endswith("-"):
        negative, text = True, text[:-1]
    if text.startswith(("-", "\u2212")):
        negative, text = not negative, text[1:]
    elif text.startswith("+"):
        text = text[1:]
    # a tool's float in scientific notation (`-2.27e-13`, `1,5E+03`)
    scientific = _EXPONENT.fullmatch(text)
    if scientific:  # its mantissa is a plain decimal: `1,234E+03` is 1234, not 1234000
        text, exponent = scientific.group(1).replace(",", "."), int(scientific.group(2))
    else:
        text, exponent = _normalise_separators(text), 0
    if not re.fullmatch(r"\d+(\.\d+)?", text):
        raise ValueError("montant illisible")
    number = Decimal(text).scaleb(exponent)
    return -number if negative else number


def _normalise_separators(text: str) -> str:
    """Decide which of `,` and `.` is the decimal separator; the other groups thousands."""
    if "," in text and "." in text:
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
        group_sep = "." if decimal_sep == "," else ","
        whole, _, fraction = text.rpartition(decimal_sep)
        if decimal_sep in whole or not _grouped(whole.split(group_sep)):
            return text  # 1.234,5,6 or 12,34.5: not an amount
        return whole.replace(group_sep, "") + "." + fraction
    for sep in (",", "."):
        if sep in text:
            parts = text.split(sep)
            if len(parts) > 2:  # 1.234.567: thousands, every group of three digits
                return text.replace(sep, "") if _grouped(parts) else text
            # 1,234 (one leading group, three digits after): thousands.
            if len(parts[1]) == 3 and parts[0] not in ("", "0") and len(parts[0]) <= 3:
                return text.replace(sep, "")
            return text.replace(sep, ".")
    return text


def _grouped(parts) -> bool:
    """Digit groups of a number written with thousands separators: 1 to 3 digits, then threes."""
    return (len(parts[0]) in (1, 2, 3) and parts[0].isdigit()
            and all(len(p) == 3 and p.isdigit() for p in parts[1:]))


def parse_int(value) -> int | None:
    """A whole number of days: `15`, 15.0, `15 jours`."""
    if isinstance(value, str):
        value = re.sub(r"\s*(jours?|j)\s*$", "", value.strip(), flags=re.I)
    try:
        number = parse_decimal(value)
    except ValueError:
        raise ValueError("nombre entier de jours attendu (par exemple 15)") from None
    if number is None:
        return None
    if number != number.to_integral_value() or number < 0:
        raise ValueError("nombre entier de jours attendu")
    return int(number)


def parse_rate(value) -> Decimal | None:
    """A yearly rate in percent: `12`, `12,5 %`, or 0.125 (a cell formatted as a percentage).

    A legal late-payment rate is never below 1 % a year, so a number below 1 is a fraction.
    """
    if is_blank(value):
        return None
    try:
        if isinstance(value, str) and "%" in value:  # `0,5 %` is half a percent
            rate = parse_decimal(value.replace("%", ""))
        else:
            rate = parse_decimal(value)
            if rate is not None and 0 < rate < 1:
                rate *= 100
    except ValueError:  # said as a rate, not as an amount
        rate = None
    if rate is None:
        raise ValueError("taux annuel en % attendu (par exemple 12 ou 12,5 %)")
    if rate < 0 or rate > 100:
        raise ValueError("taux annuel en % attendu (par exemple 12 ou 12,5 %)")
    rate = rate.normalize()
    return rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate


# --- flags and choices -------------------------------------------------------------------

_NOT_DISPUTED = {"non", "no", "faux", "false", "0"}
_NOT_INSOLVENT = {"non", "no"}


def is_disputed(value) -> bool:
    if is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return value != 0
    return str(value).strip().casefold() not in _NOT_DISPUTED


def is_insolvent(value) -> bool:
    if is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    return str(value).strip().casefold() not in _NOT_INSOLVENT


def is_yes(value) -> bool:
    if isinstance(value, bool):
        return value
    return fold(value or "") in {"oui", "yes", "o", "y", "vrai", "true", "1", "x"}


def cell_text(value) -> str:
    """A cell shown as text: numbers without a trailing `.0`, dates as DD/MM/YYYY."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "VRAI" if value else "FAUX"
    if isinstance(value, float) and value.is_integer():
        # beyond 15 digits a float no longer holds every digit: 1e+308, not 309 digits
        return str(int(value)) if abs(value) < 1e15 else format(value, ".15g")
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, timedelta):  # a duration ([h]:mm), as Excel shows it
        minutes = round(value.total_seconds() / 60)
        hours, minutes = divmod(abs(minutes), 60)
        return f"{'-' if value < timedelta(0) else ''}{hours}:{minutes:02d}"
    return str(value).strip()


_CLIENT_TYPES = {
    ClientType.CONSUMER: {"particulier", "particuliers", "consommateur", "b2c", "prive", "consumer",
                          "individual"},
    ClientType.PUBLIC: {"public", "publique", "acheteurpublic", "administration", "collectivite",
                        "secteurpublic", "b2g", "publicsector"},
    ClientType.BUSINESS: {"professionnel", "professionnels", "pro", "entreprise", "societe", "b2b",
                          "business", "company"},
}


CLIENT_TYPE_NAMES = {ClientType.BUSINESS: "Professionnel", ClientType.PUBLIC: "Public",
                     ClientType.CONSUMER: "Particulier"}


def parse_client_type(value) -> ClientType | None:
    """`Particulier`, `Public` or `Professionnel` (and common variants); None for an empty cell."""
    if value is None:
        return None
    key = fold(cell_text(value))
    if not key:
        return None
    for kind, words in _CLIENT_TYPES.items():
        if key in words:
            return kind
    raise ValueError("type client inconnu (attendu Particulier, Professionnel ou Public)")


def parse_language(value) -> str:
    if value is None:
        return "fr"
    return "en" if fold(cell_text(value)) in {"en", "eng", "english", "anglais", "uk", "gb"} else "fr"
