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


def closest_written(texts: Iterable[str], names: Iterable[str],
                    fold: Callable[[str], str], strict: bool = False) -> Optional[str]:
    """Which of `texts` (as the user wrote them: the headers the tool did not recognise) most
    likely meant one of `names` (the headers of a column it looks for), or None; `strict`:
    only a misspelling beyond doubt (STRICT)."""
    keys = [fold(n) for n in names]
    scored = [(max(_score(fold(t), k, strict) for k in keys), t) for t in texts if fold(t)]
    if not scored or not keys:
        return None
    score, text = max(scored, key=lambda st: st[0])
    return text if score >= (STRICT if strict else THRESHOLD) else None
