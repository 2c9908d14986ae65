"""The known columns of the receivables sheet, their accepted headers, and the header row.

Headers match without regard to case, accents, spaces, punctuation and a trailing `(€)`.
"""
from __future__ import annotations

from typing import Optional

from ..values import cell_text, fold
from .grid import Grid

# field -> (canonical header written by the tool, other accepted headers)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "invoice": ("N° facture", ("Numéro de facture", "Facture", "Référence facture", "Invoice",
                               "Invoice number", "Invoice no", "N° de facture", "No facture",
                               "Numéro facture", "Num facture", "Réf facture")),
    "client": ("Client", ("Nom client", "Nom du client", "Raison sociale", "Débiteur", "Customer",
                          "Customer name")),
    "client_code": ("Code client", ("N° client", "Compte client", "Customer ID", "Account")),
    "invoice_date": ("Date facture", ("Date de facture", "Date d'émission", "Invoice date")),
    "due_date": ("Échéance", ("Date d'échéance", "Date échéance", "Due date")),
    "amount": ("Montant TTC", ("Montant", "Montant facture", "Total TTC", "Amount", "Invoice amount")),
    "paid": ("Montant réglé", ("Réglé", "Déjà réglé", "Acompte", "Paid", "Amount paid",
                               "Montant payé", "Payé", "Déjà payé", "Montant encaissé",
                               "Encaissé", "Acompte versé", "Acomptes")),
    "payment_date": ("Date de règlement", ("Date de paiement", "Réglée le", "Date lettrage",
                                           "Settled date", "Payment date", "Paid on",
                                           "Payée le", "Date d'encaissement",
                                           "Date encaissement", "Date règlement",
                                           "Réglé le", "Payé le", "Date paiement",
                                           "Date du paiement", "Date du règlement",
                                           "Date de lettrage")),
    "balance": ("Reste dû", ("Solde", "Soldes", "Restant dû", "Balance", "Outstanding",
                             "Reste à payer", "Solde dû")),
    "first_reminder": ("Date 1ère relance", ("1ère relance", "Relance 1", "First reminder",
                                             "Date 1re relance", "1re relance", "Date relance 1",
                                             "Date première relance", "Première relance",
                                             "1ère relance envoyée le", "Relance 1 le",
                                             "Date de 1ère relance", "Date de première relance",
                                             "Date de relance 1", "Date relance n°1")),
    "response": ("Réponse client", ("Réponse", "Date réponse", "Date de réponse", "Response",
                                    "Response date", "Date réponse client",
                                    "Date de la réponse")),
    "second_reminder": ("Date 2e relance", ("2ème relance", "2e relance", "Relance 2",
                                            "Second reminder", "Date 2ème relance",
                                            "Date deuxième relance", "Deuxième relance",
                                            "Date relance 2", "2nde relance", "Date 2nde relance",
                                            "Date de 2e relance", "Date de deuxième relance",
                                            "Date de relance 2", "Date relance n°2")),
    "formal_notice": ("Date mise en demeure", ("Mise en demeure", "Date de mise en demeure",
                                               "Mise en demeure le", "Formal notice")),
    "dispute": ("Litige", ("Litiges", "Litige O/N", "Litige (oui/non)", "Litigieux",
                           "Litigieuse", "Facture litigieuse", "Litige en cours",
                           "Litige client", "Litiges clients", "Contestée",
                           "Contestation", "Contestations", "En litige", "Disputed", "Dispute")),
    "insolvency": ("Procédure collective", ("Procédures collectives", "Procédure collective O/N",
                                            "Procédure", "Insolvency")),
    "email": ("E-mail", ("Email", "Courriel", "Mail")),
    "phone": ("Téléphone", ("Tél", "Portable", "Mobile", "Phone")),
    "contact": ("Contact", ("Interlocuteur", "Contact name")),
    "address": ("Adresse", ("Adresse 1", "Address")),
    "postcode": ("Code postal", ("CP", "Postcode", "Zip")),
    "city": ("Ville", ("City",)),
    "country": ("Pays", ("Country",)),
    "language": ("Langue", ("Language",)),
    "client_type": ("Type client", ("Type", "Type de client", "Client type")),
    # Written by the tool (formulas or the macOS button), never read as an input.
    "stage": ("Étape", ("Étape de relance", "Stage")),
}

DATE_FIELDS = ("invoice_date", "due_date", "payment_date", "first_reminder", "response",
               "second_reminder", "formal_notice")
REQUIRED = ("invoice", "due_date", "amount")

_BY_KEY: dict[str, str] = {}
for _field, (_canonical, _others) in FIELDS.items():
    for _header in (_canonical, *_others):
        _BY_KEY.setdefault(fold(_header), _field)

HEADER_SCAN_ROWS = 20


def field_of(header) -> Optional[str]:
    if header is None:
        return None
    return _BY_KEY.get(fold(cell_text(header)))


def canonical(field: str) -> str:
    return FIELDS[field][0]


def match_row(values: list) -> dict[str, int]:
    """field -> column index for one row of headers (the first column wins for a repeated field)."""
    found: dict[str, int] = {}
    for j, value in enumerate(values):
        field = field_of(value)
        if field and field not in found:
            found[field] = j
    return found


def find_header_row(grid: Grid, min_fields: int = 3) -> Optional[tuple[int, dict[str, int]]]:
    """The first row (within the first 20, or the table's first row) naming at least 3 fields."""
    candidates = range(1) if grid.table else range(min(HEADER_SCAN_ROWS, len(grid.rows)))
    for i in candidates:
        if i >= len(grid.rows):
            break
        columns = match_row(grid.rows[i])
        if len(columns) >= min_fields:
            return i, columns
    return None


def headers_found(grid: Grid, row: Optional[int] = None) -> list[str]:
    """The non-empty header texts of a row (or of the fullest of the first rows), for messages."""
    if row is None:
        rows = grid.rows[:HEADER_SCAN_ROWS]
        if not rows:
            return []
        row = max(range(len(rows)), key=lambda i: sum(1 for v in rows[i] if cell_text(v)))
    return [cell_text(v) for v in grid.rows[row] if cell_text(v)]
