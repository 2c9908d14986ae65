"""Relance: second reminder letters for unpaid invoices, from the receivables workbook."""

__version__ = "0.1.0"
