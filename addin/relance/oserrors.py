"""System errors (file missing, access denied, disk full…) told in French."""
from __future__ import annotations

import errno

_TEXTS = {
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.EACCES: "accès refusé",
    errno.EPERM: "opération non permise",
    errno.ENOSPC: "disque plein",
    errno.EROFS: "support en lecture seule",
    errno.EEXIST: "le fichier existe déjà",
    errno.EISDIR: "c'est un dossier",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.ENAMETOOLONG: "nom de fichier trop long",
    errno.EBUSY: "fichier occupé par un autre programme",
    errno.EDQUOT: "quota disque dépassé",
}


def describe_os_error(err: OSError) -> str:
    text = _TEXTS.get(err.errno) or (err.strerror or str(err))
    where = err.filename
    return f"{text} : {where}" if where else text


def output_error_message(err: Exception, encoding: str = "") -> str:
    """What a failed write to standard output says: a full disk behind `> sortie.json`, an
    output encoding that lacks a character of the text (`encoding`: the stream's name of it,
    cp1252 rather than the codec's « charmap »)."""
    if isinstance(err, UnicodeEncodeError):
        what = (f"la sortie standard (encodage {encoding or err.encoding}) ne sait pas écrire « "
                f"{err.object[err.start:err.end]} » ; définissez PYTHONIOENCODING=utf-8 pour la "
                f"commande")
    else:
        what = f"la sortie standard n'a pas pu être écrite en entier ({describe_os_error(err)})"
    return (what + " : l'affichage est incomplet ; ce que la commande écrit ailleurs (lettres, "
            "classeur, journal) n'en dépend pas.")


def silence(stream) -> None:
    """After a failed write to `stream`: what it still holds, and what comes, goes nowhere, so
    that the process's end does not fail on it a second time."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def silence_standard_output() -> None:
    import sys
    silence(sys.stdout)
