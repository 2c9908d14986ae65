"""Shared fixtures: the sample workbook, its reference date, and running the real CLI."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

# xlwings registers its remote engine at import time, and only with a key: the tests drive the
# button's code through that engine with xlwings' free non-commercial key. The product itself
# (desktop Excel, the command line) never needs one.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "workbook" / "relances.xlsx"
SAMPLE_DATE = date(2026, 12, 1)
# The public data folder beside the repository (../shared/data), or where RELANCE_SHARED_DATA says.
SHARED_DATA = Path(os.environ.get("RELANCE_SHARED_DATA") or ROOT.parent / "shared" / "data")


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    """A scratch copy of the sample workbook (the repository's copy is never written)."""
    dest = tmp_path / "relances.xlsx"
    shutil.copy2(SAMPLE, dest)
    return dest


def run_cli(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    """`relance …` as a subprocess, the way a user or a scheduled job runs it."""
    full_env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    return subprocess.run([sys.executable, "-m", "relance", *map(str, args)], cwd=cwd,
                          env=full_env, capture_output=True, text=True, encoding="utf-8",
                          timeout=300)


def run_json(*args, **kw):
    proc = run_cli(*args, "--json", **kw)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc


@pytest.fixture
def cli():
    return run_cli


def pytest_terminal_summary(terminalreporter):
    """The number of cases the property-based tests tried, from the `fuzz cases` property each
    records (it travels from pytest-xdist's workers in the test reports)."""
    tried = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", ()):
                if isinstance(key, str) and key.startswith("cas essayés : "):
                    tried[key[len("cas essayés : "):]] = max(value, tried.get(key, 0))
    if tried:
        terminalreporter.write_line("[fuzz] " + ", ".join(
            f"{name} : {n} cas" for name, n in sorted(tried.items())))
