"""Dates, amounts and rates written the way a French (or English) reader expects, via Babel.

`3 décembre 2026`, `1 234,56 €`, `12,5 %` (Babel puts the non-breaking spaces French
typography wants, so an amount never breaks across two lines).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

# Babel is imported where it is used: `relance scan` writes no amount unless a row needs a
# message, and loading Babel's data costs a seventieth of a second at every start.

LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def locale(language: str) -> str:
    return LOCALES.get(language, "fr_FR")


def long_date(day: date | None, language: str = "fr") -> str:
    """`3 décembre 2026`; French writes the first of the month `1er décembre 2026`."""
    if not day:
        return ""
    from babel.dates import format_date
    text = format_date(day, format="long", locale=locale(language))
    if language != "en" and day.day == 1 and text.startswith("1 "):
        text = "1er " + text[2:]
    return text


def short_date(day: date | None, language: str = "fr") -> str:
    """DD/MM/YYYY in both languages: the form invoices and statements use."""
    return day.strftime("%d/%m/%Y") if day else ""


def money(amount: Decimal | None, language: str = "fr") -> str:
    if amount is None:
        return ""
    from babel.numbers import format_currency
    return format_currency(amount, "EUR", locale=locale(language))


def rate(percent: Decimal | None, language: str = "fr") -> str:
    if percent is None:
        return ""
    from babel.numbers import format_decimal
    number = format_decimal(percent, format="#,##0.00", locale=locale(language))
    return f"{number}\u00a0%" if language != "en" else f"{number}%"


def some_of(names: list, shown: int = 10) -> str:
    """A list a reader can take in, for a summary: the first names, then how many more."""
    if len(names) <= shown:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f" et {len(names) - shown} autre(s)"


def join_words(items: list[str], language: str = "fr") -> str:
    """`a`, `a et b`, `a, b et c` (`and` in English)."""
    if len(items) <= 1:
        return "".join(items)
    last = " and " if language == "en" else " et "
    return ", ".join(items[:-1]) + last + items[-1]
