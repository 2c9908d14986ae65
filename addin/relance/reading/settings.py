"""Parsing the `Paramètres` sheet (two columns, `Paramètre` and `Valeur`) into Settings.

Keys match like headers (case, accents, punctuation ignored); missing keys keep their
defaults; a value that cannot be read stops the run, since every letter depends on it.
"""
from __future__ import annotations

import re
from typing import Optional

from ..model import Anomaly, Company, Payment, RelanceError, Settings, Smtp
from ..values import cell_text, fold, is_blank, is_yes, parse_client_type, parse_int, parse_rate
from .grid import Grid
from .typos import closest

# folded key -> (section, attribute)
_KEYS = {
    "raisonsociale": ("company", "name"),
    "formejuridique": ("company", "legal_form"),
    "capitalsocial": ("company", "capital"),
    "capital": ("company", "capital"),
    "adresse": ("company", "address"),
    "codepostal": ("company", "postcode"),
    "ville": ("company", "city"),
    "siren": ("company", "siren"),
    "rcs": ("company", "rcs"),
    "tva": ("company", "vat"),
    "ntva": ("company", "vat"),
    "numerodetva": ("company", "vat"),
    "telephone": ("company", "phone"),
    "email": ("company", "email"),
    "courriel": ("company", "email"),
    "signataire": ("company", "signatory"),
    "fonctiondusignataire": ("company", "signatory_title"),
    "fonctiondusignataireanglais": ("company", "signatory_title_en"),
    "fonctiondusignataireen": ("company", "signatory_title_en"),
    "iban": ("payment", "iban"),
    "bic": ("payment", "bic"),
    "ordredescheques": ("payment", "cheque_payee"),
    "liendepaiement": ("payment", "link"),
    "especes": ("payment", "cash"),
    "delai2erelance": ("delay", "second_reminder_delay"),
    "delaimiseendemeure": ("delay", "formal_notice_delay"),
    "delaidepaiementaccorde": ("delay", "payment_delay"),
    "tauxpenalites": ("rate", "penalty_rate"),
    "tauxinteretsmoratoires": ("rate", "public_interest_rate"),
    "typeclientpardefaut": ("type", "default_client_type"),
    "dossierdesortie": ("text", "output_folder"),
    "modeledelettre": ("text", "letter_template"),
    "formatdesdates": ("date_format", "month_first_dates"),
    "canaux": ("channels", "channels"),
    "pdf": ("flag", "pdf"),
    "envoyerlesemails": ("flag", "send_email"),
    "serveursmtp": ("smtp", "host"),
    "portsmtp": ("smtp", "port"),
    "securitesmtp": ("smtp", "security"),
    "utilisateursmtp": ("smtp", "user"),
    "expediteuremail": ("smtp", "sender"),
}

SETTINGS_SHEET = "Paramètres"

# What `generate` cannot do without, with the key to fill in.
REQUIRED_FOR_GENERATE = (("name", "Raison sociale"), ("address", "Adresse"),
                         ("postcode", "Code postal"), ("city", "Ville"))


def parse_settings(grid: Optional[Grid]) -> Settings:
    if grid is None:
        return Settings(present=False)
    key_col, value_col, start = _columns(grid)
    company, payment, smtp, top, cells = {}, {}, {}, {}, {}
    bad = []  # (where, message): every unreadable value, said together
    for i in range(start, len(grid.rows)):
        key_raw = grid.value(i, key_col)
        if is_blank(key_raw):
            continue
        key, value = fold(cell_text(key_raw)), grid.value(i, value_col)
        target = _KEYS.get(key)
        if target is None:  # a key of the user's own (notes…): kept, ignored
            continue
        section, attr = target
        where = cells[target] = grid.location(i, value_col, "Valeur")
        try:
            if section == "company":
                company[attr] = cell_text(value).replace("\r\n", "\n")
            elif section == "payment":
                payment[attr] = is_yes(value) if attr == "cash" else cell_text(value)
            elif section == "smtp":
                smtp[attr] = _smtp_value(attr, value)
            elif section == "flag":
                top[attr] = is_yes(value)
            elif section == "channels":
                top[attr] = _channels(value)
            elif section == "delay":
                days = parse_int(value)
                if days is not None:
                    top[attr] = days
            elif section == "rate":
                top[attr] = parse_rate(value)
            elif section == "type":
                if not is_blank(value):
                    top[attr] = parse_client_type(value)
            elif section == "date_format":
                top[attr] = _month_first(value)
            else:
                top[attr] = cell_text(value)
        except ValueError as err:
            spot = f"cellule {where.cell}" if where.column else f"ligne {where.row}"
            bad.append((where, f"{spot} (« {cell_text(key_raw)} » = "
                               f"« {cell_text(value)} ») : {str(err).rstrip('.')}"))
    if bad:
        plural = "s" if len(bad) > 1 else ""
        place = "le fichier" if grid.csv else "la feuille"
        raise RelanceError(f"Paramètre{plural} illisible{plural} dans {place} « {grid.sheet} » : "
                           + " ; ".join(message for _, message in bad) + ".", bad[0][0])
    return Settings(company=Company(**company), payment=Payment(**payment), smtp=Smtp(**smtp),
                    cells=cells, **top)


def _channels(value) -> tuple:
    names = {"courrier": "courrier", "lettre": "courrier", "lettres": "courrier", "email": "email",
             "mail": "email", "courriel": "email", "sms": "sms"}
    items = [fold(x) for x in re.split(r"[,;/+ ]+", cell_text(value)) if fold(x)]
    if not items:  # an empty cell: the default, every channel
        return ("courrier", "email", "sms")
    unknown = [x for x in items if x not in names]
    if unknown:
        raise ValueError("attendu une liste parmi courrier, e-mail, sms")
    return tuple(dict.fromkeys(names[x] for x in items))


def _smtp_value(attr: str, value):
    if attr == "port":
        return parse_int(value) or 0
    if attr == "security":
        key = fold(cell_text(value))
        if key in ("", "starttls", "tls12", "explicite"):
            return "starttls"
        if key in ("tls", "ssl", "ssltls", "implicite"):
            return "tls"
        if key in ("aucune", "none", "non", "sans"):
            return "none"
        raise ValueError("attendu STARTTLS, TLS ou aucune")
    return cell_text(value)


def _columns(grid: Grid) -> tuple[int, int, int]:
    """Key and value columns: under `Paramètre`/`Valeur` headers, else the first two columns."""
    for i, row in enumerate(grid.rows[:20]):
        folded = [fold(cell_text(v)) for v in row]
        if "parametre" in folded and "valeur" in folded:
            return folded.index("parametre"), folded.index("valeur"), i + 1
    return 0, 1, 0


def _month_first(value) -> bool:
    key = fold(cell_text(value))
    if key in ("", "jjmmaaaa", "ddmmyyyy"):
        return False
    if key in ("mmjjaaaa", "mmddyyyy"):
        return True
    raise ValueError("attendu JJ/MM/AAAA ou MM/JJ/AAAA")


def missing_for_generate(settings: Settings) -> list[str]:
    """The settings `generate` needs and does not have, as the keys to fill in."""
    missing = [key for attr, key in REQUIRED_FOR_GENERATE if not getattr(settings.company, attr).strip()]
    if not settings.payment.any:
        missing.append("un moyen de paiement (IBAN, Ordre des chèques, Lien de paiement ou "
                       "Espèces = oui)")
    return missing


def invalid_identifiers(settings: Settings) -> list[str]:
    """Identifiers printed on every letter that fail their check digits (python-stdnum): a
    client must never be given a wrong IBAN to pay to."""
    from stdnum import iban
    from stdnum.fr import siren, tva
    problems = []
    checks = (("IBAN", ("payment", "iban"), settings.payment.iban, iban.is_valid),
              ("SIREN", ("company", "siren"), settings.company.siren, siren.is_valid),
              ("TVA", ("company", "vat"), settings.company.vat, tva.is_valid))
    for key, target, value, valid in checks:
        if value.strip() and not valid(value):
            where = settings.cells.get(target)
            cell = f"{where.describe()} : " if where is not None else ""
            problems.append(f"{cell}« {key} » = « {value.strip()} » : numéro invalide (clé de "
                            f"contrôle fausse ou longueur incorrecte)")
    return problems


_LEGAL_MENTIONS = (("legal_form", "Forme juridique"), ("siren", "SIREN"), ("rcs", "RCS"))


def settings_warnings(settings: Settings, english_letters: bool = False,
                      letters: bool = True) -> list[str]:
    """What the documents will lack for want of a setting (`english_letters`: some letter of
    the run is in English; `letters`: letters go out, on paper or attached to e-mails, else
    only SMS, which lack only a way to call back)."""
    phone, mail = settings.company.phone.strip(), settings.company.email.strip()
    if not letters:  # an SMS gives only the phone number to call back
        return [] if phone else ["pas de « Téléphone » : le SMS ne peut pas dire comment vous "
                                 "joindre pour convenir d'un échéancier"]
    warnings = []
    missing = [key for attr, key in _LEGAL_MENTIONS if not getattr(settings.company, attr).strip()]
    if missing:
        warnings.append("mentions légales manquantes sur les lettres (Code de commerce "
                        "R123-237) : " + ", ".join(f"« {k} »" for k in missing))
    if not settings.company.signatory.strip():
        warnings.append("pas de « Signataire » : les lettres ne seront pas signées d'un nom")
    if not phone and not mail:
        warnings.append("ni « Téléphone » ni « E-mail » : la lettre ne peut pas dire comment vous "
                        "joindre pour convenir d'un échéancier")
    title = settings.company.signatory_title.strip()
    if english_letters and title and not settings.company.signatory_title_en.strip():
        warnings.append(f"les lettres en anglais sont signées « {title} » : indiquez la fonction "
                        f"en anglais dans « Fonction du signataire (anglais) »")
    return warnings


def unknown_keys(grid: Optional[Grid]) -> list:
    """Keys of `Paramètres` the tool does not know: a typo would silently keep the default."""
    if grid is None:
        return []
    key_col, _, start = _columns(grid)
    known = {fold(k): k for k in KNOWN_KEYS}
    anomalies = []
    for i in range(start, len(grid.rows)):
        raw = cell_text(grid.value(i, key_col))
        if raw and fold(raw) not in _KEYS:
            close = closest(fold(raw), known)
            hint = f" : vouliez-vous dire « {close} » ?" if close else ""
            anomalies.append(Anomaly(f"paramètre « {raw} » inconnu, ignoré{hint}",
                                     grid.location(i, key_col, "Paramètre")))
    return anomalies


KNOWN_KEYS = ("Raison sociale", "Forme juridique", "Capital social", "Adresse", "Code postal",
              "Ville", "SIREN", "RCS", "TVA", "Téléphone", "E-mail", "Signataire",
              "Fonction du signataire", "Fonction du signataire (anglais)", "IBAN", "BIC", "Ordre des chèques", "Lien de paiement",
              "Espèces", "Délai 2e relance", "Délai mise en demeure", "Délai de paiement accordé",
              "Taux pénalités (%)", "Taux intérêts moratoires (%)", "Type client par défaut",
              "Dossier de sortie", "Modèle de lettre", "Format des dates", "Serveur SMTP",
              "Port SMTP", "Sécurité SMTP", "Utilisateur SMTP", "Expéditeur e-mail", "Canaux",
              "PDF", "Envoyer les e-mails")
