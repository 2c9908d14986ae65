"""`relance scan --json` writes its JSON by hand for speed: it must be exactly what json.dumps
writes for the same objects, on the sample and on the strings that are hard to encode."""
import json
from datetime import date
from decimal import Decimal

import pytest

from conftest import SAMPLE, SAMPLE_DATE
from relance.json_scan import lines_json as scan_json
from relance.letters import Line
from relance.model import Client, Invoice, Stage
from relance.stages import label
from relance.workbook_io import scan


def plain(lines) -> str:
    return json.dumps([{
        "invoice": ln.invoice.number, "client": ln.invoice.client.name,
        "client_code": ln.invoice.client.code, "stage": ln.stage.value,
        "stage_label": label(ln.stage), "balance": float(ln.balance),
        "due_date": ln.invoice.due_date.isoformat() if ln.invoice.due_date else None,
        "days_late": ln.days_late, "row": ln.invoice.row} for ln in lines], ensure_ascii=False)


def test_the_sample_scans_to_what_json_dumps_writes():
    lines = scan(SAMPLE, SAMPLE_DATE).lines
    assert len(lines) > 40
    assert scan_json(lines) == plain(lines)
    assert json.loads(scan_json(lines))[0]["invoice"]


HARD = ['Dupont & "Fils"', "L'Atelier <b>", "ligne 1\nligne 2\r\n\ttab", "Ça\u2028coupe\u2029",
        "\x00\x1f\x7f", "\\ barre \\", "Zoë 🎉 ß", "", "\ud800"]


@pytest.mark.parametrize("text", HARD)
def test_hard_strings_encode_as_json_dumps_does(text):
    client = Client(name=text, code=text[::-1])
    lines = [Line(Invoice(text, client, date(2026, 1, 31), Decimal("-0.10"), row=7),
                  Stage.CREDIT_NOTE, Decimal("-0.10"), Decimal("0"), 0),
             Line(Invoice("F2", client, None, Decimal("1e6"), row=8), Stage.DISPUTED,
                  Decimal("1000000.00"), Decimal("0.00"), 12)]
    assert scan_json(lines) == plain(lines)


def test_no_lines_is_an_empty_array():
    assert scan_json([]) == "[]" == plain([])


# --- where the JSON goes ------------------------------------------------------------------

def _scan_to(redirect: str, unbuffered: bool):
    import os
    import subprocess
    import sys
    from conftest import SAMPLE
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    command = f'"{sys.executable}" -m relance scan "{SAMPLE}" --as-of 2026-12-01 --json {redirect}'
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("unbuffered", [True, False])
def test_json_that_cannot_be_written_is_an_error_told_in_french(unbuffered):
    proc = _scan_to("> /dev/full", unbuffered)
    assert proc.returncode == 1
    assert "Erreur : la sortie standard n'a pas pu être écrite en entier (disque plein)" \
        in proc.stderr and "Traceback" not in proc.stderr and "Erreur interne" not in proc.stderr


def test_closed_streams_are_no_error():
    assert _scan_to("2>&- | wc -c", False).stdout.strip() != "0"
    proc = _scan_to(">&-", False)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    proc = _scan_to("| head -c 10", False)
    assert proc.returncode == 0 and proc.stdout == '[{"invoice'
    assert "Erreur" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [["scan"], ["generate", "--dry-run"]])
def test_json_goes_out_escaped_where_the_output_encoding_lacks_accents(tmp_path, args):
    """A Windows console or PYTHONIOENCODING=ascii: the JSON is the same, its accents written
    as JSON's \\u escapes (as json.dumps writes by default), not an error."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    from conftest import SAMPLE
    shutil.copy(SAMPLE, tmp_path / "copie.xlsx")

    def run(encoding):
        return subprocess.run([sys.executable, "-m", "relance", *args, str(tmp_path / "copie.xlsx"),
                               "--as-of", "2026-12-01", "--json"], capture_output=True,
                              timeout=120, env={**os.environ, "PYTHONIOENCODING": encoding})
    ascii_run, utf8_run = run("ascii"), run("utf-8")
    assert ascii_run.returncode == 0, ascii_run.stderr
    assert max(ascii_run.stdout) < 128 and b"\\u00e9" in ascii_run.stdout  # é, escaped
    assert json.loads(ascii_run.stdout) == json.loads(utf8_run.stdout.decode("utf-8"))


@pytest.mark.parametrize("value, mode", [("never", "never"), ("0", "never"), ("off", "never"),
                                         ("non", "never"), ("always", "always"), ("", "auto"),
                                         ("1", "auto"), ("auto", "auto")])
def test_the_parallel_switch_reads_as_it_is_usually_written(monkeypatch, value, mode):
    from relance.parallelism import parallel_mode
    monkeypatch.setenv("RELANCE_PARALLEL", value)
    assert parallel_mode() == mode


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("args, where", [
    (args, where)
    for args in (["scan", "{book}", "--as-of", "2026-12-01"],
                 ["generate", "{copy}", "--as-of", "2026-12-01", "--dry-run"],
                 ["generate", "{copy}", "--as-of", "2026-12-01", "--dry-run", "--json"],
                 ["--help"])
    for where in ("full", "ascii")
    if not (where == "ascii" and "--json" in args)])  # JSON escapes what it cannot write
def test_any_output_that_cannot_be_written_is_told_in_french(tmp_path, args, where):
    """Tables, summaries, help: a full disk behind the output or an encoding without « é »
    is an error told in French (exit 1), never an internal error."""
    import os
    import shutil
    import subprocess
    import sys
    from conftest import SAMPLE
    shutil.copy(SAMPLE, tmp_path / "copie.xlsx")
    argv = [a.format(book=SAMPLE, copy=tmp_path / "copie.xlsx") for a in args]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONIOENCODING"] = "ascii" if where == "ascii" else "utf-8"
    with open("/dev/full" if where == "full" else os.devnull, "w") as out:
        proc = subprocess.run([sys.executable, "-m", "relance", *argv], stdout=out,
                              stderr=subprocess.PIPE, env=env, timeout=120)
    err = proc.stderr.decode("ascii", "backslashreplace")
    assert proc.returncode == 1, err
    assert "Erreur : la sortie standard" in err and "Traceback" not in err, err


@pytest.mark.parametrize("where", ["closed pipe", "full"])
def test_diagnostics_that_cannot_be_written_do_not_cost_the_json(tmp_path, where):
    """`relance scan … --json 2>&1 >sortie.json | head -1` or `2>/dev/full`: the warnings are
    lost, not the JSON, and the command's exit code is its own."""
    import json
    import os
    import subprocess
    import sys
    if where == "full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    book = tmp_path / "export.csv"  # one good row, one bad: a warning on standard error
    book.write_text("N° facture;Client;Échéance;Montant TTC\nF1;A;15/10/2026;100,00\n"
                    "F2;B;15/10/2026;cent\n", encoding="utf-8")
    out = tmp_path / "sortie.json"
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads the warnings
    with open(out, "w") as stdout, (open("/dev/full", "w") if where == "full"
                                    else os.fdopen(write_end, "w")) as stderr:
        proc = subprocess.run([sys.executable, "-m", "relance", "scan", str(book), "--json",
                               "--as-of", "2026-12-01"], stdout=stdout, stderr=stderr,
                              timeout=120)
    if where == "full":
        os.close(write_end)
    lines = json.loads(out.read_text(encoding="utf-8"))
    assert proc.returncode == 0 and [ln["invoice"] for ln in lines] == ["F1"]


@pytest.mark.parametrize("encoding, amount", [("cp1252", "2\u00a0880,00\u00a0€"),
                                              ("latin-1", "2 880,00 EUR"),
                                              ("cp850", "2 880,00 EUR")])
def test_tables_go_out_in_an_encoding_without_french_typography(encoding, amount):
    """`relance scan x.xlsx > liste.txt` on Windows writes cp1252, which has no narrow
    no-break space (the thousands separator), latin-1 no euro sign: written plainer, not
    stopped at the first amount."""
    import os
    import subprocess
    import sys
    from conftest import SAMPLE
    proc = subprocess.run([sys.executable, "-m", "relance", "scan", str(SAMPLE), "--as-of",
                           "2026-12-01"], capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONIOENCODING": encoding})
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode(encoding)
    assert "FA-2026-0101" in text and amount in text and "2e relance à envoyer" in text
