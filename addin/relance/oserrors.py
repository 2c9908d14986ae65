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
