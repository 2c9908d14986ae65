"""Relance: second reminder letters for unpaid invoices, from the receivables workbook."""

__version__ = "0.1.0"


def main() -> None:
    """The ribbon button's entry point: the add-in runs `import relance; relance.main()`."""
    from .excel import main as run_button_in_excel
    run_button_in_excel()
