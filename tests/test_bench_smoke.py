"""`make bench` is not part of `make test`; a quick run of it at tiny sizes is."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_benchmark_runs_and_prints_its_table():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), "--smoke"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for label in ("Lettres", "Lecture", "Étapes", "Mémoire", "Excel"):
        assert any(line.startswith(label) for line in lines), (label, proc.stdout)
    assert any(line.startswith("  comme Excel") for line in lines), proc.stdout
    assert any(line.startswith("  numéros 000123") for line in lines), proc.stdout
    assert any(line.startswith("  relancé") for line in lines), proc.stdout
    assert any(line.startswith("  3 canaux") for line in lines), proc.stdout
    assert "identique" in proc.stdout  # the button's reads and writes do not grow with rows


def test_scan_loads_none_of_the_document_machinery():
    """`relance scan` on a large ledger pays only for reading: the Word, PDF and e-mail
    machinery and openpyxl (a third of a second of imports) stay unloaded, and Babel too
    while no message needs an amount."""
    code = "\n".join([
        "import contextlib, io, sys",
        "from relance import cli",
        "with contextlib.redirect_stdout(io.StringIO()):",
        "    rc = cli.main(['scan', sys.argv[1], '--as-of', '2026-12-01', '--json'])",
        "heavy = sorted(m for m in ('docxtpl', 'docx', 'jinja2', 'relance.batch', 'relance.run',",
        "                           'relance.outputs', 'smtplib', 'phonenumbers', 'openpyxl',",
        "                           'babel')",
        "                if m in sys.modules)",
        "print(rc, heavy)"])
    proc = subprocess.run([sys.executable, "-c", code, str(ROOT / "workbook" / "relances.xlsx")],
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "0 []", proc.stdout + proc.stderr
