"""The name a user most likely meant when a header or a setting is misspelt: a hint in the
message beats a bare « introuvable »."""
from __future__ import annotations

from typing import Callable, Iterable, Optional

THRESHOLD = 0.8
# Close enough to be a misspelling beyond doubt (`Litiges`, `Montant rélgé`), letters alone:
# `Responsable` or `Mode de règlement` are other columns, not `Réponse client` misspelt
STRICT = 0.9


def _score(typed: str, candidate: str, strict: bool = False) -> float:
    """Similar letters, and (unless `strict`) the same first four letters count for more
    (`Délai de paiement` is the payment delay, not `Lien de paiement`). Both folded."""
    import difflib  # only when a message needs it
    ratio = difflib.SequenceMatcher(None, typed, candidate).ratio()
    return ratio if strict else ratio + (0.2 if candidate[:4] == typed[:4] else 0)


def closest(typed: str, known: dict) -> Optional[str]:
    """The value of `known` (folded name -> what to show) that `typed` (folded) most likely
    meant, or None when nothing is close."""
    if not typed or not known:
        return None
    best = max(known, key=lambda k: _score(typed, k))
    return known[best] if _score(typed, best) >= THRESHOLD else None


_RANK = None


def _ranks(folded: str) -> list:
    """The numbers a header holds, in digits or in words (`deuxieme`, `premiere`)."""
    global _RANK
    if _RANK is None:
        import re
        _RANK = re.compile(r"\d|premiere?|deuxieme|seconde?|troisieme|first|third")
    words = {"premier": "1", "premiere": "1", "first": "1", "deuxieme": "2", "second": "2",
             "seconde": "2", "troisieme": "3", "third": "3"}
    return [words.get(m, m) for m in _RANK.findall(folded)]


def misspelt(typed: str, candidate: str, strict: bool = False) -> float:
    """How surely `typed` is `candidate` misspelt (both folded), 0 when not at all: the same
    digits (`Relance 3` is not `Relance 2`), and letters close enough: STRICT, or THRESHOLD
    when both start alike (`Echeanse`, `Montant TCC`; `Mode de paiement` is not `Date de
    paiement`). `strict`: STRICT always."""
    import difflib  # only when a message needs it
    if _ranks(typed) != _ranks(candidate):
        return 0.0
    matcher = difflib.SequenceMatcher(None, typed, candidate)
    need = STRICT if strict or typed[:4] != candidate[:4] else THRESHOLD
    if matcher.real_quick_ratio() < need or matcher.quick_ratio() < need:  # upper bounds
        return 0.0
    ratio = matcher.ratio()
    return ratio if ratio >= need else 0.0
