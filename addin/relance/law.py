"""What French law lets a second reminder claim, by kind of client.

- Business clients (Code de commerce L441-10, D441-5): late-payment penalties at the rate
  of the terms of sale (else the ECB rate plus 10 points) and a fixed 40 € recovery
  indemnity per late invoice.
- Public-sector buyers (Code de la commande publique L2192-13, R2192-31, D2192-35):
  moratorium interest (else the ECB rate plus 8 points) and the same 40 €.
- Consumers: neither; legal interest runs from a formal notice (Code civil 1231-6).
- Cash is accepted up to 1 000 € (Code monétaire et financier L112-6, D112-3).
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Optional

from .model import Client, ClientType, Settings
from .values import to_cents

INDEMNITY = Decimal("40.00")  # fixed by decree (D441-5), not a setting
CASH_LIMIT = Decimal("1000.00")
DAYS_PER_YEAR = 365


def client_type(client: Client, settings: Settings) -> tuple[ClientType, bool]:
    """The client's type, and whether it came from `Type client par défaut`."""
    if client.client_type is not None:
        return client.client_type, False
    return settings.default_client_type, True


def annual_rate(kind: ClientType, settings: Settings) -> Optional[Decimal]:
    """The yearly rate the letter may apply, None when the letter must cite the legal rule
    (or, for consumers, when nothing runs before a formal notice)."""
    if kind is ClientType.BUSINESS:
        return settings.penalty_rate
    if kind is ClientType.PUBLIC:
        return settings.public_interest_rate
    return None


def penalty(balance: Decimal, rate_percent: Decimal, days_late: int) -> Decimal:
    """balance × rate × days late ÷ 365, to the cent."""
    return to_cents(balance * rate_percent / Decimal(100) * days_late / DAYS_PER_YEAR)


def indemnity_due(kind: ClientType) -> bool:
    return kind in (ClientType.BUSINESS, ClientType.PUBLIC)


def payment_deadline(as_of: date, delay_days: int) -> date:
    """as-of + `Délai de paiement accordé`, as the contract fixes it (a weekend day included:
    the letter names the date, the debtor can pay before it)."""
    return as_of + timedelta(days=delay_days)


def cash_allowed(total: Decimal, settings: Settings) -> bool:
    return settings.payment.cash and total <= CASH_LIMIT
