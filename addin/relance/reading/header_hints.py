"""Which known column an unrecognised header of the receivables sheet likely meant: a hint
for the user (« L'en-tête … désigne-t-il … ? »), or a stop when the header is beyond doubt a
misspelling of a column that decides the letters. Words that say another thing (a tax, a
planned date, a yes/no column) keep a header from being offered as a field it is not."""
from __future__ import annotations

import re

from ..values import fold, strip_accents
from .headers import FIELDS, canonical
from .typos import misspelt

# Columns that, missed, have a letter chase what must not be chased or claim what was paid: a
# header that is beyond doubt (typos.misspelt, strict) a misspelling of one of them
# (`Litigess`, `Montant rélgé`) stops the run, as a missing required column does. Other near
# misses are only hinted.
DECISIVE = ("dispute", "insolvency", "paid", "balance", "payment_date", "response",
            "first_reminder", "second_reminder", "formal_notice")
# Decisive columns with short names (« Litige »): no other column is named near them, so a
# misspelling of a short one stops the run too (« Payée » is near « Payé le », a question)
_SHORT_NAMED = ("dispute", "insolvency")

_TAX_WORDS = r"ht|htva|hors\s+taxes?|tva"
_TAXES = re.compile(rf"\b({_TAX_WORDS})\b")
_PLANNED = r"limite|prevu\w*|previsionnel\w*|promis\w*|attendu\w*|convenu\w*|estim\w*|envoyer"
# Headers near a known name that say another thing: a pre-tax, tax or paid amount is not the
# amount due (« Montant HT »); a date is no amount (« Encaissé le »); what is unpaid is no
# payment (« Montant impayé », « à régler »); a planned or limit date is no payment date
# (« Date limite de paiement »); an e-mail address is no postal address.
_NOT_OF_FIELD = {
    "amount": re.compile(rf"\b({_TAX_WORDS}|acomptes?|regl\w*|pay\w*|encaiss\w*|vers\w*|"
                         rf"avoirs?|remises?|escomptes?)\b"),
    "paid": re.compile(rf"\b({_TAX_WORDS}|le|date|par|impaye\w*|non|restant|reste|du|a|reel|"
                       rf"demande|facture|n|acompte)\b"),
    "balance": re.compile(rf"\b({_TAX_WORDS}|le|date)\b"),
    "payment_date": re.compile(rf"\b({_PLANNED}|echeance)\b"),
    "first_reminder": re.compile(rf"\b({_PLANNED}|frais)\b"),
    "second_reminder": re.compile(rf"\b({_PLANNED}|frais)\b"),
    "formal_notice": re.compile(rf"\b({_PLANNED}|frais)\b"),
    "response": re.compile(rf"\b({_PLANNED})\b"),
    "address": re.compile(r"\b(e|mail|email|courriel)\b"),
}
# « Payée », « Réglées », « Soldée »: a yes/no column, neither an amount nor a date
_YES_NO = re.compile(r"[a-z]+ees?")
_YES_NO_NOT = ("paid", "balance", "payment_date")


def _words(header: str) -> str:
    """The header's words, lower case and without accents (`fold` also drops the spaces the
    word rules above need)."""
    return strip_accents(header).casefold().replace(".", "")


def misspellings(ignored: list, fields, strict: bool = False) -> list:
    """[(header, field)]: the unrecognised headers that likely meant one of `fields` (absent),
    each paired with the field it matches best and each field with its best header (a header
    is not given to the first field it is near: « Date réponse clients » is no « Date de
    règlement »)."""
    best = {}  # field -> (score, header)
    names = {f: [fold(name) for name in (FIELDS[f][0], *FIELDS[f][1])] for f in fields}
    for header in ignored:
        key, words = fold(header), _words(header)
        yes_no = _YES_NO.fullmatch(words)
        scores = [(max(misspelt(key, name, strict, 6 if f in _SHORT_NAMED else 9)
                       for name in names[f]), f) for f in fields
                  if not (f in _NOT_OF_FIELD and _NOT_OF_FIELD[f].search(words))
                  and not (yes_no and f in _YES_NO_NOT)]
        score, f = max(scores, default=(0.0, None))
        if score and score > best.get(f, (0.0, None))[0]:
            best[f] = (score, header)
    return [(header, f) for f, (_, header) in best.items()]


def tax_amounts(ignored: list) -> list:
    """The unrecognised headers of a pre-tax or tax amount (« Montant HT »)."""
    return [h for h in ignored if _TAXES.search(_words(h))]


def hint_text(pairs: list) -> str:
    """The misspellings asked as questions: the user then knows which cell to look at."""
    return "".join(f" L'en-tête « {written} » désigne-t-il la colonne « {canonical(f)} » ? "
                   f"Si oui, renommez-le « {canonical(f)} »." for written, f in pairs)
