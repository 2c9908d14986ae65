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
    assert "identique" in proc.stdout  # the button's reads and writes do not grow with rows
