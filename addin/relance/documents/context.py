"""What a template sees: a Letter turned into preformatted strings (templates/VARIABLES.md).

Every value is formatted here, in the client's language, so templates need no filters and
an accountant editing one in Word only moves variables around.
"""
from __future__ import annotations

import functools
import re

from ..formatting import join_words, long_date, money, rate, short_date
from ..law import INDEMNITY
from ..letters import Letter
from ..model import ClientType, Company, Settings, Stage
from ..values import fold
from .countries import abroad, dialled_from_abroad, foreign_address_lines, region_code


@functools.lru_cache(maxsize=8)
def company_context(company: Company, client_abroad: bool = False, lang: str = "fr") -> dict:
    """One dict per company, shared by the letters of a run (5,000 letters, one letterhead).
    `client_abroad`: for a client in another country, the town says France and the phone
    number is written as dialled from abroad (+33 …); `lang` en: the signatory's English
    title when given (`Fonction du signataire (anglais)`)."""
    return {
        "name": company.name,
        "legal_form": company.legal_form,
        "capital": _capital(company.capital),
        "address_lines": _lines(company.address),
        "postcode": company.postcode,
        "city": f"{company.city.strip()}, France" if client_abroad and company.city.strip() else
        company.city,
        "siren": company.siren,
        "rcs": company.rcs,
        "vat": company.vat,
        "legal_mentions": legal_mentions(company),
        "phone": dialled_from_abroad(company.phone) if client_abroad else company.phone,
        "email": company.email,
        "signatory": company.signatory,
        "signatory_title": (lang == "en" and company.signatory_title_en.strip()) or
        company.signatory_title,
    }


def legal_mentions(company: Company) -> str:
    """The identity a business letter must show (Code de commerce R123-237), in one line."""
    parts = []
    form = company.legal_form.strip()
    capital = _capital(company.capital)
    if form and capital:
        parts.append(f"{form} au capital de {capital}")
    elif form:
        parts.append(form)
    if company.siren.strip():
        parts.append(f"RCS {company.rcs.strip()} {company.siren.strip()}".replace("  ", " ")
                     if company.rcs.strip() else f"SIREN {company.siren.strip()}")
    if company.vat.strip():
        parts.append(f"TVA {company.vat.strip()}")
    return " · ".join(parts)


def _capital(value: str) -> str:
    """`20000` → `20 000 €`; text the user wrote (`20 000 euros`) is kept as is."""
    from ..values import parse_amount
    try:
        amount = parse_amount(value)
    except ValueError:
        return value.strip()
    if amount is None:
        return ""
    text = money(amount)
    return text.replace(",00", "") if amount == amount.to_integral_value() else text


def _lines(text: str) -> list:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


_TITLE_FR = {"m": "Monsieur", "mr": "Monsieur", "monsieur": "Monsieur", "mme": "Madame",
             "madame": "Madame", "mlle": "Madame", "mademoiselle": "Madame"}
_TITLE_EN = {"mr": "Mr", "m": "Mr", "monsieur": "Mr", "mrs": "Mrs", "ms": "Ms", "miss": "Miss",
             "mme": "Ms", "madame": "Ms", "mlle": "Ms", "mademoiselle": "Ms", "dr": "Dr",
             "docteur": "Dr", "prof": "Professor"}
_ARTICLE = {"service": "du", "departement": "du", "pole": "du", "bureau": "du", "secretariat": "du",
            "cabinet": "du", "direction": "de la", "comptabilite": "de la", "tresorerie": "de la",
            "gestion": "de la", "cellule": "de la", "division": "de la"}


_TITLE = re.compile(r"\s*([^\W\d_]+)\.?\s*(.*)", re.S)  # `M. Dupont`, `M.Dupont`, `Mme Morel`
_COUPLE = frozenset({"et", "and", "ou", "or"})
# `M. le Maire`, `Mme la Directrice`, `M. l'Abbé`: an article in lower case (`M. Le Goff`,
# `M. L'Hermite` are surnames)
_OFFICE = re.compile(r"(le|la)\s|l['’]")


def _titled(contact: str) -> tuple[str, str, bool]:
    """(The folded title, the rest, whether the rest names an office) of one titled person:
    `M.Dupont` -> ("m", "Dupont", False), `Mme Morel, service compta` -> ("mme", "Morel,
    service compta", False), `M. le Maire` -> ("m", "le Maire", True); ("", "", False) for
    anything else: no title, a couple (`M. et Mme Dupont`)."""
    m = _TITLE.fullmatch(contact)
    if not m or fold(m.group(1)) not in _TITLE_FR.keys() | _TITLE_EN.keys():
        return "", "", False
    rest = " ".join(m.group(2).split())
    words = [fold(w) for w in rest.split()]
    if not words or _COUPLE.intersection(words) or "&" in rest:
        return "", "", False
    return fold(m.group(1)), rest, bool(_OFFICE.match(rest))


_PARTICLES = frozenset({"le", "la", "de", "du", "des", "d", "l", "van", "von", "der", "den",
                        "di", "da", "del", "della", "mac", "mc", "st", "saint", "sainte"})


def _surname(name: str) -> str:
    """The surname at the end of a name, its particles with it: `Oliver Harcourt` ->
    `Harcourt`, `Jean de La Fontaine` -> `de La Fontaine`, `Dupont (DAF)` -> `Dupont`."""
    words = re.sub(r"\([^)]*\)?", " ", name).split()  # `Dupont (DAF)`: no part of the name
    if not words:
        return name.strip()
    start = len(words) - 1
    while start > 0 and fold(words[start - 1].rstrip("'’")) in _PARTICLES:
        start -= 1
    return " ".join(words[start:])


def attention_line(contact: str, lang: str) -> str:
    """`À l'attention de M. Dupont`, `… du Service des finances`, `… de la Direction financière`;
    in English `For the attention of Mr Dupont` (a French title put in English)."""
    contact = contact.strip()
    if not contact:
        return ""
    if lang == "en":
        title, rest, office = _titled(contact)
        english = _TITLE_EN.get(title)
        return f"For the attention of {english} {rest}" if english and not office else \
            f"For the attention of {contact}"
    article = _ARTICLE.get(fold(contact.split()[0]))
    if article:  # a department: its name becomes a common noun after the article
        return f"À l’attention {article} {contact[0].lower()}{contact[1:]}"
    return f"À l’attention de {contact}"


def salutation(contact: str, lang: str) -> str:
    """`Monsieur` / `Madame` for one named person with a title, `Monsieur le Maire` for an
    office, `Madame, Monsieur` otherwise (a couple, a department); in English `Dear Mr
    Harcourt`, or `Dear Sir or Madam`."""
    title, rest, office = _titled(contact)
    if lang == "en":
        if title in _TITLE_EN and not office:
            return f"Dear {_TITLE_EN[title]} {_surname(rest.split(',')[0])}"
        return "Dear Sir or Madam"
    if title in _TITLE_FR and office:
        return f"{_TITLE_FR[title]} {rest.split(',')[0]}"
    return _TITLE_FR.get(title, "Madame, Monsieur")


def client_address_lines(letter: Letter) -> list:
    """The postal lines under the client's name: street lines, postcode and city, country;
    abroad, in the destination country's order (see countries.py)."""
    c = letter.client
    foreign = foreign_address_lines(_lines(c.address), c.postcode, c.city, c.country)
    if foreign is not None:
        return foreign
    lines = _lines(c.address)
    town = " ".join(x for x in (c.postcode.strip(), c.city.strip()) if x)
    if town:
        lines.append(town)
    if c.country.strip() and region_code(c.country) != "FR":  # France (métropole) included
        lines.append(c.country.strip())
    return lines


def _other_status(line, lang: str) -> str:
    """How the letter names another open invoice's state to the client (not our stage label)."""
    first = line.invoice.first_reminder
    if line.stage is Stage.FIRST_SENT and first:
        return f"reminder sent on {short_date(first)}" if lang == "en" else \
            f"relancée le {short_date(first)}"
    # not "not reminded yet": the client need not learn how our follow-up is organised
    return "payment due" if lang == "en" else "à régler"


def letter_context(letter: Letter, settings: Settings, as_of) -> dict:
    lang = letter.client.language
    c = letter.client
    first_dates = [long_date(d, lang) for d in letter.first_reminders if d]
    numbers = [line.invoice.number for line in letter.lines]
    if lang == "en":
        subject = (f"Second reminder – unpaid invoice{'s' if len(numbers) > 1 else ''} "
                   f"{join_words(numbers, 'en')} – {money(letter.total, 'en')}")
    else:
        subject = (f"Deuxième relance – facture{'s' if len(numbers) > 1 else ''} impayée"
                   f"{'s' if len(numbers) > 1 else ''} n° {join_words(numbers)} – "
                   f"{money(letter.total)}")
    return {
        "lang": lang,
        "company": company_context(settings.company, abroad(c.country), lang),
        "client": {
            "name": c.name,
            "code": c.code,
            "contact": c.contact,
            "attention": attention_line(c.contact, lang),
            "address_lines": client_address_lines(letter),
            "email": c.email,
            "phone": c.phone,
        },
        # a consumer without a contact is the person the client's name says (`M. Marchand`)
        "salutation": salutation(c.contact or (
            c.name if letter.client_type is ClientType.CONSUMER else ""), lang),
        "place": settings.company.city.strip(),
        "date": long_date(as_of, lang),
        "subject": subject,
        "first_reminder_dates": join_words(first_dates, lang),
        "invoices": [
            {
                "number": line.invoice.number,
                "invoice_date": short_date(line.invoice.invoice_date),
                "due_date": short_date(line.invoice.due_date),
                "amount": money(line.invoice.amount, lang),
                "paid": money(line.paid, lang),
                "balance": money(line.balance, lang),
                "days_late": line.days_late,
                "penalty": money(penalty, lang),
            }
            for line, penalty in zip(letter.lines, letter.penalties)
        ],
        "invoice_count": len(letter.lines),
        "invoices_total": money(letter.invoices_total, lang),
        "credit_notes": [
            {
                "number": line.invoice.number,
                "invoice_date": short_date(line.invoice.invoice_date),
                "amount": money(line.balance, lang),
            }
            for line in letter.credit_notes
        ],
        "credit_notes_total": money(letter.credit_total, lang) if letter.credit_notes else "",
        "total": money(letter.total, lang),
        "other_invoices": [
            {
                "number": line.invoice.number,
                "due_date": short_date(line.invoice.due_date),
                "balance": money(line.balance, lang),
                "stage": _other_status(line, lang),
            }
            for line in letter.others
        ],
        "deadline": long_date(letter.deadline, lang),
        "payment_delay": settings.payment_delay,
        "formal_notice_delay": settings.formal_notice_delay,
        "payment": {
            "transfer": bool(settings.payment.iban.strip()),
            "iban": settings.payment.iban.strip(),
            "bic": settings.payment.bic.strip(),
            "cheque": bool(settings.payment.cheque_payee.strip()),
            "cheque_payee": settings.payment.cheque_payee.strip(),
            "card": bool(settings.payment.link.strip()),
            "link": settings.payment.link.strip(),
            "cash": letter.cash,
        },
        "clientele": letter.client_type.value,
        "penalty_rate": rate(letter.rate, lang),
        "penalties_total": money(letter.penalty_total, lang),
        "indemnity": money(INDEMNITY, lang),
        "indemnity_total": money(letter.indemnity_total, lang),
    }
