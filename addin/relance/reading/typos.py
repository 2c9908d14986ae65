"""The name a user most likely meant when a header or a setting is misspelt: a hint in the
message beats a bare « introuvable »."""
from __future__ import annotations

import re
from typing import Optional

# Close enough to be a misspelling beyond doubt (`Litiges`, `Montant rélgé`), letters alone:
# `Responsable` or `Mode de règlement` are other columns, not `Réponse client` misspelt
STRICT = 0.9

_RANK = re.compile(r"\d|premiere?|deuxieme|seconde?|troisieme|first|third")
_RANK_WORDS = {"premier": "1", "premiere": "1", "first": "1", "deuxieme": "2", "second": "2",
               "seconde": "2", "troisieme": "3", "third": "3"}


def _ranks(folded: str) -> list:
    """The numbers a header holds, in digits or in words (`deuxieme`, `premiere`)."""
    return [_RANK_WORDS.get(m, m) for m in _RANK.findall(folded)]


# A setting's key misspelt or cut short (`Délai de paiemnt` for `Délai de paiement accordé`):
# similar letters, the same first four counting for more. Looser than `misspelt`, which
# headers need (a hint there may have a column read as another one).
_SETTING_CLOSE = 0.8


def closest(typed: str, known: dict) -> Optional[str]:
    """The value of `known` (folded name -> what to show) that `typed` (folded) most likely
    meant, or None when nothing is close (`Délai de paiement` is the payment delay, not
    `Lien de paiement`)."""
    import difflib  # only when a message needs it

    def score(candidate):
        ratio = difflib.SequenceMatcher(None, typed, candidate).ratio()
        return ratio + (0.2 if candidate[:4] == typed[:4] else 0)
    if not typed or not known:
        return None
    best = max(known, key=score)
    return known[best] if score(best) >= _SETTING_CLOSE else None


# A header and a known name that start alike are a misspelling from HINT on (`Echeanse`,
# `Montant TCC`; `Responsable` is not `Réponse`); otherwise only from APART on (`Compte` is
# not `Acompte`, `Mode de paiement` not `Date de paiement`).
HINT, APART = 0.85, 0.95


def misspelt(typed: str, candidate: str, strict: bool = False,
             strict_length: int = 9) -> float:
    """How surely `typed` is `candidate` misspelt (both folded), 0 when not at all: the same
    numbers (`Relance 3` is not `Relance 2`), letters close enough (HINT, APART); `strict`
    (a misspelling beyond doubt, that stops a run): the same start, a letter more or less at
    most, STRICT, in a name of `strict_length` letters or more."""
    import difflib  # only when a message needs it
    if _ranks(typed) != _ranks(candidate):
        return 0.0
    if not strict and len(candidate) >= 10 and candidate in typed:
        return HINT - 0.01  # a known name with more said (« Montant réglé TTC »): below a typo
    alike = typed[:4] == candidate[:4]
    # beyond doubt: a slip of a letter or two in a long name (« Montant rélgé »); a short name
    # near another word (« Payée » and « Payé le », « Encaissée ») is a question at most
    if strict and not (alike and abs(len(typed) - len(candidate)) <= 1
                       and len(candidate) >= strict_length):
        return 0.0
    matcher = difflib.SequenceMatcher(None, typed, candidate)
    need = STRICT if strict else HINT if alike else APART
    if matcher.real_quick_ratio() < need or matcher.quick_ratio() < need:  # upper bounds
        return 0.0
    ratio = matcher.ratio()
    return ratio if ratio >= need else 0.0
