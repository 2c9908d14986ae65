"""The parallel paths of `relance scan --json` (the sheet parsed in pieces, half the rows read
by a forked worker) give the plain path's answer, byte for byte, stdout and stderr alike."""
from __future__ import annotations

import json
import pickle
import shutil
from datetime import date, datetime, timedelta

import openpyxl
import pytest

from conftest import SAMPLE, SAMPLE_DATE, SHARED_DATA, run_cli
from test_readers_agree import workbooks

AS_OF = date(2026, 12, 1)
HEADERS = ["N° facture", "Code client", "Client", "Adresse", "Ville", "Échéance", "Montant TTC",
           "Date 1ère relance", "Réponse client"]
OVERDUE = date(2026, 9, 1)
FIRST = date(2026, 10, 1)


def scan(book, mode: str, as_of=AS_OF) -> tuple:
    proc = run_cli("scan", book, "--as-of", as_of.isoformat(), "--json",
                   env={"RELANCE_PARALLEL": mode})
    return proc.returncode, proc.stdout, proc.stderr


def assert_same(book, as_of=AS_OF) -> tuple:
    plain = scan(book, "never", as_of)
    assert plain == scan(book, "always", as_of), book
    return plain


def filler(n: int, start: int) -> list:
    return [[f"N{start + k:04d}", f"Z{k % 7}", f"Filler {k % 7}", "1 rue", "Lyon",
             date(2027, 1, 1), 100 + k, None, None] for k in range(n)]


def build_mixed(path):
    """Rows whose handling crosses the halves: Alpha's letter takes a credit note and an
    overdue invoice from the second half, with another address there; Beta's credit note is in
    the first half and its letter's invoice in the second; each half holds an unreadable amount
    and an invoice without due date; the second half a row without a number; a totals row
    ends the sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(["Suivi des créances"])
    ws.append(HEADERS)
    first = [
        ["A-1", "A1", "Alpha SARL", "1 rue A", "Paris", OVERDUE, 500, FIRST, None],
        ["B-0", "", "Beta", "2 rue B", "Nantes", OVERDUE, -80, None, None],
        ["X-1", "X1", "Xi", "3 rue X", "Lille", OVERDUE, "douze euros", FIRST, None],
        ["E-1", "E1", "Eta", "4 rue E", "Metz", None, 90, FIRST, None],
        ["R-1", "R1", "Rho", "5 rue R", "Caen", OVERDUE, 70, FIRST, "rappel promis"],
    ] + filler(14, 0)
    second = filler(14, 100) + [
        ["A-2", "A1", "Alpha SARL", "9 avenue Autre", "Paris", OVERDUE, -120, None, None],
        ["A-3", "A1", "Alpha SARL", "1 rue A", "Paris", OVERDUE, 60, None, None],
        ["B-1", "", "beta ", "2 rue B", "Nantes", OVERDUE, 300, FIRST, None],
        ["X-2", "X2", "Xi bis", "3 rue X", "Lille", OVERDUE, "n/a", FIRST, None],
        ["E-2", "E2", "Eta bis", "4 rue E", "Metz", None, 40, FIRST, None],
        [None, "C9", "Sans numéro", "6 rue S", "Pau", OVERDUE, 10, FIRST, None],
        ["Total", None, None, None, None, None, 99999, None, None],
    ]
    for row in first + second:
        ws.append(row)
    ps = wb.create_sheet("Paramètres")
    for row in (("Paramètre", "Valeur"), ("Raison sociale", "Testeur SARL"),
                ("Adresse", "1 rue du Test"), ("Code postal", "75001"), ("Ville", "Paris"),
                ("IBAN", "FR7630006000011234567890189")):
        ps.append(row)
    wb.save(path)
    return path


def test_plain_and_parallel_scans_agree_on_every_test_workbook(tmp_path):
    for book in workbooks(tmp_path):
        assert assert_same(book, SAMPLE_DATE)[0] == 0


def test_rows_handled_across_the_halves_give_the_same_answer(tmp_path):
    code, out, err = assert_same(build_mixed(tmp_path / "mixed.xlsx"))
    assert code == 0
    lines = {ln["invoice"]: ln for ln in json.loads(out)}
    assert lines["A-1"]["stage"] == "second_due" and lines["B-1"]["stage"] == "second_due"
    assert "X-1" not in lines and "X-2" not in lines and "Total" not in lines
    # what the run says names rows of both halves, in row order
    assert err.index("« douze euros »") < err.index("« n/a »")
    assert err.index("facture E-1 : échéance manquante") < err.index("facture E-2 : échéance")
    assert "ligne sans numéro de facture" in err
    assert "adresse différente selon les lignes (3, 36)" in err  # Alpha: rows of both halves


def test_the_same_client_in_both_halves_gets_one_letter_with_all_its_rows(tmp_path):
    """What the scans above compare is worth comparing: letters that take rows of both halves."""
    book = build_mixed(tmp_path / "mixed.xlsx")
    proc = run_cli("generate", book, "--as-of", AS_OF.isoformat(), "--dry-run", "--json",
                   env={"RELANCE_PARALLEL": "always"})
    letters = {lt["client"]: lt for lt in json.loads(proc.stdout)["letters"]}
    assert letters["Alpha SARL"]["invoices"] == ["A-1"]
    assert letters["Alpha SARL"]["total"] == 380.0  # 500 less the credit note of the 2nd half
    assert letters["Beta"]["total"] == 220.0  # 300 less the credit note of the 1st half


def test_a_journal_and_a_second_scan_agree_too(tmp_path):
    """Second reminders recorded by a run (the journal, the dates written) are read alike:
    an earlier as-of date is told of reminders already recorded after it."""
    book = build_mixed(tmp_path / "mixed.xlsx")
    assert run_cli("generate", book, "--as-of", AS_OF.isoformat(), "--channels", "courrier",
                   "--out", tmp_path / "out").returncode == 0
    assert "déjà enregistrée" in assert_same(book, AS_OF - timedelta(days=1))[2]
    wb = openpyxl.load_workbook(book)  # A-3 (second half) reminded once since: a new letter
    wb["Créances"]["H37"] = FIRST
    wb.save(book)
    code, _, err = assert_same(book, AS_OF + timedelta(days=40))
    assert code == 0 and "avoir A-2 déjà déduit" in err


def test_duplicated_numbers_give_the_same_answer(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(HEADERS)
    for row in filler(10, 0) + filler(10, 0):
        ws.append(row)
    wb.save(tmp_path / "dup.xlsx")
    code, _, err = assert_same(tmp_path / "dup.xlsx")
    assert code == 0 and "en double" in err


def test_a_csv_export_and_the_public_sample_agree(tmp_path):
    csv_path = tmp_path / "export.csv"
    csv_path.write_text("N° facture;Client;Échéance;Montant TTC;Date 1ère relance\n" + "".join(
        f"F{k};Client {k % 5};01/09/2026;{100 + k},50;01/10/2026\n" for k in range(30)),
        encoding="utf-8")
    assert assert_same(csv_path)[0] == 0
    public = SHARED_DATA / "ar-public-sample.csv"
    if public.exists():
        shutil.copy(public, tmp_path / "public.csv")
        assert assert_same(tmp_path / "public.csv")[0] in (0, 1)


def test_a_failed_worker_leaves_the_work_to_this_process(monkeypatch, tmp_path):
    """Whatever happens to the worker, the answer is the same: this process reads its half
    (and does not fall back on reading the whole sheet)."""
    from relance import forking, json_scan

    book = build_mixed(tmp_path / "mixed.xlsx")
    plain_pieces, plain_notes = json_scan.plain_scan_json(book, AS_OF)

    class Lost:  # a worker that crashed, or whose result came back damaged
        def __init__(self, fn):
            pass

        def send(self, value):
            pass

        def receive(self):
            return None

        def result(self):
            return None

        def stop(self):
            pass

    from halves import InProcessWorker  # a worker's result, through pickle as a real one's

    def whole_read(*args):
        raise AssertionError("the sheet was read whole")

    monkeypatch.setenv("RELANCE_PARALLEL", "always")
    monkeypatch.setattr(forking, "available", lambda: True)
    monkeypatch.setattr(json_scan, "plain_scan_json", whole_read)
    for worker in (Lost, InProcessWorker):
        monkeypatch.setattr(forking, "Worker", worker)
        pieces, notes = json_scan.scan_json(book, AS_OF)
        text = "".join(p.decode() if isinstance(p, bytes) else p for p in pieces)
        assert text == "".join(plain_pieces) and notes == plain_notes, worker



@pytest.mark.parametrize("lost_at", [1, 2, 3])
def test_a_worker_lost_midway_leaves_the_work_to_this_process(monkeypatch, tmp_path, lost_at):
    """The worker dies after the meeting, after sending its clients' lines, or with its
    result: this process reads that half itself and gives the same answer, without reading
    the whole sheet."""
    from relance import forking, json_scan
    from halves import InProcessWorker

    class LostAt(InProcessWorker):
        heard = 0

        def receive(self):
            self.heard += 1
            if self.heard >= lost_at:
                self.stop()
                return None
            return super().receive()

    book = build_mixed(tmp_path / "mixed.xlsx")
    plain_pieces, plain_notes = json_scan.plain_scan_json(book, AS_OF)
    reads = []
    real_read = json_scan._Half.read.__func__
    monkeypatch.setattr(json_scan._Half, "read", classmethod(
        lambda cls, *args, **kw: reads.append(kw["second"]) or real_read(cls, *args, **kw)))
    monkeypatch.setenv("RELANCE_PARALLEL", "always")
    monkeypatch.setattr(forking, "available", lambda: True)
    monkeypatch.setattr(forking, "Worker", LostAt)
    monkeypatch.setattr(json_scan, "plain_scan_json", lambda *args: pytest.fail("read whole"))
    pieces, notes = json_scan.scan_json(book, AS_OF)
    text = "".join(p.decode() if isinstance(p, bytes) else p for p in pieces)
    assert text == "".join(plain_pieces) and notes == plain_notes
    assert reads.count(True) == 2  # the worker's read, then this process's


@pytest.mark.parametrize("split", ["worker", "parent", "alternating"])
def test_either_process_may_plan_any_client(monkeypatch, tmp_path, split):
    """Whichever process plans a client's letter (each plans some, or one plans all), the
    notes are the same and in the same order as one read gives."""
    from relance import json_scan
    book = build_mixed(tmp_path / "mixed.xlsx")
    rule = {"worker": lambda key: True, "parent": lambda key: False,
            "alternating": lambda key: key.startswith("code:")}[split]
    monkeypatch.setattr(json_scan, "_plans_in_second", rule)
    planned = []
    real_plan = json_scan._Half.plan

    def plan(self, own, others):
        real_plan(self, own, others)
        planned.append((self.second, len(self.plans)))

    monkeypatch.setattr(json_scan._Half, "plan", plan)
    answer, used = shared_out_scan(book, AS_OF)
    assert used and answer == whole_scan(book, AS_OF)
    assert "Alpha SARL : adresse différente" in " ".join(answer[1])
    counts = dict(planned)
    assert sorted(counts) == [False, True] and sum(counts.values()) == 2  # Alpha, Beta
    if split != "alternating":
        assert counts[split == "parent"] == 0
    else:
        assert all(counts.values())


WORKER_SCRIPT = """
import os, sys
from relance import forking
kind = sys.argv[1]
def work(link):
    if kind == "raise":
        raise ValueError("boom")
    if kind == "die":
        os._exit(3)
    return {"big": "é" * 5_000_000, "pid": os.getpid()}
assert forking.available()
value = forking.Worker(work).result()
if value is None:
    print("None")
else:
    print(len(value["big"]), value["pid"] != os.getpid())
"""


@pytest.mark.parametrize("kind, expected", [("ok", "5000000 True"), ("raise", "None"),
                                            ("die", "None")])
def test_a_forked_worker_sends_its_value_or_nothing(kind, expected):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", WORKER_SCRIPT, kind], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected


def test_no_fork_while_another_thread_runs():
    import threading
    from relance import forking
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forking.available()
    finally:
        stop.set()
        thread.join()


def test_sample_workbook_agrees():
    assert assert_same(SAMPLE, SAMPLE_DATE)[0] == 0


def test_a_workbook_written_as_excel_writes_one_agrees_in_every_reader(tmp_path):
    """Shared strings, an Excel table below a title, numbers formatted as codes: the plain and
    the parallel paths, and the openpyxl reader, all say the same."""
    import xlsxwriter
    path = tmp_path / "excel-like.xlsx"
    with xlsxwriter.Workbook(str(path)) as wb:
        ws = wb.add_worksheet("Créances")
        day = wb.add_format({"num_format": "dd/mm/yyyy"})
        code = wb.add_format({"num_format": "000000"})
        ws.write_string(0, 0, "Relances de décembre")
        rows = []
        for r in range(60):
            rows.append([r + 1, f"C{r % 6}", f"Client {r % 6} & fils", OVERDUE, 100.5 + r,
                         FIRST if r % 3 else None])
        ws.add_table(2, 1, 2 + len(rows), 6, {"name": "TCreances", "columns": [
            {"header": h} for h in ("N° facture", "Code client", "Client", "Échéance",
                                    "Montant TTC", "Date 1ère relance")]})
        for i, row in enumerate(rows, start=3):
            ws.write_number(i, 1, row[0], code)
            ws.write_string(i, 2, row[1])
            ws.write_string(i, 3, row[2])
            ws.write_datetime(i, 4, datetime.combine(row[3], datetime.min.time()), day)
            ws.write_number(i, 5, row[4])
            if row[5]:
                ws.write_datetime(i, 6, datetime.combine(row[5], datetime.min.time()), day)
    plain = assert_same(path)
    assert plain[0] == 0 and '"invoice": "000001"' in plain[1]
    assert_shared(path)  # the second half's title and header read without the shared strings
    proc = run_cli("scan", path, "--as-of", AS_OF.isoformat(), "--json",
                   env={"RELANCE_READER": "openpyxl"})
    assert (proc.returncode, proc.stdout, proc.stderr) == plain


# --- what a review found, kept found ----------------------------------------------------

def rewrite_sheet(src, dst, change, part="xl/worksheets/sheet1.xml", rename=None):
    """A copy of the workbook `src` whose sheet XML went through `change` (and, with `rename`,
    stored under another part name, as some writers do)."""
    import zipfile
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data, name = zin.read(info), info.filename
            if name == part:
                data, name = change(data), rename or name
            elif rename and name in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
                data = data.replace(part.split("xl/", 1)[1].encode(),
                                    rename.split("xl/", 1)[1].encode())
            zout.writestr(name, data)
    return dst


def plain_book(path, rows=40):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(HEADERS[:3] + ["Échéance", "Montant TTC", "Date 1ère relance"])
    for k in range(rows):
        ws.append([f"F{k:03d}", f"C{k % 3}", f"Client {k % 3}", OVERDUE, 100 + k, FIRST])
    wb.save(path)
    return path


def sheet_rows(xml: bytes):
    import re
    start, end = xml.index(b"<sheetData>") + 11, xml.rindex(b"</sheetData>")
    return xml[:start], re.findall(rb"<row .*?</row>", xml[start:end], re.S), xml[end:]


def test_a_client_code_true_in_one_half_and_1_in_the_other(tmp_path):
    """TRUE equals 1 as a key: each row's client comes from its own cells, whichever rows
    a process reads first (it read « 1 » in one half and « VRAI » in the other)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(HEADERS)
    for k in range(30):
        ws.append([f"F{k}", 1 if k < 15 else True, "Dupont", "1 rue", "Lyon", OVERDUE,
                   100 if k else -5000, FIRST, None])
    wb.save(tmp_path / "bool.xlsx")
    code, out, err = assert_same(tmp_path / "bool.xlsx")
    codes = {ln["client_code"] for ln in json.loads(out)}
    assert code == 0 and codes == {"1", "VRAI"}


def test_sheets_that_cannot_be_cut_safely_give_the_whole_read_answer(tmp_path):
    base = plain_book(tmp_path / "base.xlsx")

    def reorder(xml):  # row 5 moved to the end: rows out of order
        head, rows, tail = sheet_rows(xml)
        return head + b"".join(rows[:4] + rows[5:] + [rows[4]]) + tail

    def split_row(xml):  # one row written as two <row> elements, across the middle
        import re
        head, rows, tail = sheet_rows(xml)
        mid = len(rows) // 2
        m = re.match(rb"(<row [^>]*>)(.*)</row>", rows[mid], re.S)
        cells = re.findall(rb"<c .*?</c>", m.group(2), re.S)
        parts = [m.group(1) + b"".join(cells[:3]) + b"</row>",
                 m.group(1) + b"".join(cells[3:]) + b"</row>"]
        return head + b"".join(rows[:mid] + parts + rows[mid + 1:]) + tail

    def comment(xml):  # a comment holding `<row r=` where the cut would fall
        head, rows, tail = sheet_rows(xml)
        total = sum(map(len, rows))
        rows.insert(len(rows) // 2, b"<!-- " + b"x" * (total * 2) + b' <row r="999"> '
                    + b"x" * (total // 2) + b" -->")
        return head + b"".join(rows) + tail

    for change in (reorder, split_row, comment):
        book = rewrite_sheet(base, tmp_path / f"{change.__name__}.xlsx", change)
        assert assert_same(book)[0] == 0, change.__name__
    # a comment is not cut at all: its `<row r=` is no row
    import zipfile
    from relance.reading.sheet_pieces import split_in_two
    with zipfile.ZipFile(tmp_path / "comment.xlsx") as zf:
        part = "xl/worksheets/sheet1.xml"
        assert split_in_two(part, zf.read(part)) is None
    moved = rewrite_sheet(base, tmp_path / "moved.xlsx", lambda x: x, rename="xl/sheet1.xml")
    code, _, err = assert_same(moved)
    assert code == 0 and "Warning" not in err


def test_an_error_cell_quoted_unlike_the_others_is_still_seen(tmp_path):
    import re
    import xlsxwriter
    path = tmp_path / "errors.xlsx"
    with xlsxwriter.Workbook(str(path)) as wb:
        ws = wb.add_worksheet("Créances")
        ws.write_row(0, 0, ["N° facture", "Client", "Échéance", "Montant TTC"])
        day = wb.add_format({"num_format": "dd/mm/yyyy"})
        for k in range(12):
            ws.write_string(k + 1, 0, f"F{k}")
            ws.write_string(k + 1, 1, "X")
            ws.write_datetime(k + 1, 2, datetime(2026, 9, 1), day)
            if k == 7:
                ws.write_formula(k + 1, 3, "=NA()", None, "#N/A")
            else:
                ws.write_number(k + 1, 3, 10)
    book = rewrite_sheet(path, tmp_path / "quoted.xlsx", lambda xml: re.sub(
        rb'<c r="D9"([^>]*)t="e"', rb"<c r='D9'\1t='e'", xml))
    code, _, err = assert_same(book)
    assert code == 0 and "« #N/A »" in err


def test_a_worker_that_cannot_start_leaves_the_work_to_this_process(monkeypatch):
    import tempfile
    from relance import forking

    def no_temporary_directory(*args, **kwargs):
        raise FileNotFoundError("No usable temporary directory found")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_temporary_directory)
    worker = forking.Worker(lambda link: "never run")
    assert worker.pid is None and worker.result() is None


def test_a_stdout_that_is_not_utf8_gets_the_same_bytes(tmp_path):
    import os
    import subprocess
    import sys
    book = build_mixed(tmp_path / "mixed.xlsx")
    for encoding in ("latin-1", "cp1252", "ascii"):
        runs = [subprocess.run([sys.executable, "-m", "relance", "scan", str(book), "--as-of",
                                AS_OF.isoformat(), "--json"], capture_output=True, timeout=300,
                               env={**os.environ, "RELANCE_PARALLEL": mode,
                                    "PYTHONIOENCODING": encoding})
                for mode in ("never", "always")]
        assert (runs[0].returncode, runs[0].stdout) == (runs[1].returncode, runs[1].stdout)
        assert runs[0].returncode == 0 and max(runs[0].stdout) < 128, encoding  # \\u escapes


def test_pieces_carry_what_calamine_reads_whatever_the_relationships_say(tmp_path):
    """calamine reads xl/styles.xml (dates) wherever the workbook's relationships point, or
    when they name none; a damaged part only the pieces would read changes nothing."""
    import re
    import zipfile
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(HEADERS[:3] + ["Échéance", "Montant TTC", "Date 1ère relance"])
    for k in range(40):
        ws.append([f"F{k}", date(2026, 1, 1 + k % 28), f"Client {k % 3}", OVERDUE, 100 + k, FIRST])
    wb.save(tmp_path / "dates.xlsx")

    def without_styles_relation(rels):
        return re.sub(rb"<Relationship [^>]*styles[^>]*/>", b"", rels)

    books = [rewrite_sheet(tmp_path / "dates.xlsx", tmp_path / "norel.xlsx",
                           without_styles_relation, part="xl/_rels/workbook.xml.rels")]
    bad = tmp_path / "badcrc.xlsx"  # [Content_Types].xml fails its CRC: calamine never reads it
    with zipfile.ZipFile(tmp_path / "dates.xlsx") as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
    raw = bytearray(bad.read_bytes())
    at = raw.find(b"[Content_Types].xml")  # its local header: the CRC sits 12 bytes before
    raw[at - 16] ^= 0xFF
    bad.write_bytes(bytes(raw))
    books.append(bad)
    for book in books:
        code, out, _ = assert_same(book)
        assert code == 0 and '"client_code": "01/01/2026"' in out, book.name


def test_a_worker_given_up_is_killed_and_reaped():
    import os
    import time
    from relance import forking
    worker = forking.Worker(lambda link: time.sleep(60))
    pid = worker.pid
    worker.stop()
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the worker is still there")


# --- the halves' answer is used where it is the whole read's, and only there ------------

from halves import shared_out_scan, whole_scan  # noqa: E402


def assert_shared(book, as_of=AS_OF, shared=True):
    answer, used = shared_out_scan(book, as_of)
    assert answer == whole_scan(book, as_of), book
    assert used is shared, f"{book}: halves {'refused' if shared else 'used'}"
    return answer


def numbered_book(path, rows, headers=HEADERS, title=None, settings=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    if title:
        ws.append([title])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    if settings:
        ps = wb.create_sheet("Paramètres")
        ps.append(["Paramètre", "Valeur"])
        for row in settings:
            ps.append(row)
    wb.save(path)
    return path


def cut_row(book) -> int:
    """The sheet row where the second half begins."""
    import zipfile
    from relance.reading.sheet_pieces import split_in_two
    with zipfile.ZipFile(book) as zf:
        part = "xl/worksheets/sheet1.xml"
        return split_in_two(part, zf.read(part))[1].own_from


def test_the_halves_answer_is_used_on_every_test_workbook(tmp_path):
    books = workbooks(tmp_path) + [build_mixed(tmp_path / "mixed.xlsx")]
    for book in books:
        assert_shared(book, SAMPLE_DATE)
    answer = assert_shared(build_mixed(tmp_path / "mixed.xlsx"), AS_OF)
    assert "adresse différente selon les lignes (3, 36)" in " ".join(answer[1])


def test_the_real_worker_gives_the_answer(tmp_path):
    """Through a real fork (a process of its own: no other thread), the halves are used."""
    import subprocess
    import sys
    book = build_mixed(tmp_path / "mixed.xlsx")
    script = (
        "import sys, datetime\n"
        "from relance import json_scan\n"
        "from halves import text\n"
        "def whole(*a):\n"
        "    raise SystemExit('the sheet was read whole')\n"
        "plain = json_scan.plain_scan_json(sys.argv[1], datetime.date(2026, 12, 1))\n"
        "json_scan.plain_scan_json = whole\n"
        "from relance import forking\n"
        "delivered, result = [], forking.Worker.result\n"
        "forking.Worker.result = lambda self: delivered.append(result(self)) or delivered[-1]\n"
        "shared = json_scan.scan_json(sys.argv[1], datetime.date(2026, 12, 1))\n"
        "assert text(shared[0]) == text(plain[0]) and shared[1] == plain[1]\n"
        "assert isinstance(delivered[0], json_scan._Half), delivered  # the forked child's\n"
        "print('ok', len(shared[1]))\n")
    import os
    from pathlib import Path
    proc = subprocess.run([sys.executable, "-c", script, str(book)], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).parent,
                          env={**os.environ, "RELANCE_PARALLEL": "always",
                               "PYTHONPATH": str(Path(__file__).parent)})
    assert proc.returncode == 0 and proc.stdout.startswith("ok"), proc.stderr


def test_invoice_numbers_on_several_rows_are_flagged_as_one_read_flags_them(tmp_path):
    """Numbers found twice in one half, or once in each: the same messages, in the same
    order, and no letter for those rows (a client without an address, whose only invoice
    to remind is such a row, gets no warning about its address)."""
    rows = filler(30, 0) + filler(30, 100)
    rows[3][0] = rows[5][0]  # twice in the first half
    for k in (8, 50):  # once in each half: the client's only invoice to remind
        rows[k] = ["X-1", "X", "Sans adresse", None, None, OVERDUE, 70, FIRST, None]
    rows[55][0] = rows[1][0]  # a number of the first half again in the second
    book = numbered_book(tmp_path / "dup.xlsx", rows)
    answer = assert_shared(book)
    said = " ".join(answer[1])
    assert said.count("en double") == 3 and "Sans adresse" not in said
    assert '"invoice": "X-1"' in answer[0]


def test_a_text_date_read_month_first_only_in_the_second_half(tmp_path):
    """The second half alone says month-first (2/25/2026), the first half has nothing to
    say: one read of the sheet reads every text date month-first, the first half's too."""
    rows = filler(30, 0)
    rows[2][7] = "05/10/2026"  # read 5 October day-first, 10 May month-first
    rows[25][7] = "2/25/2026"
    answer = assert_shared(numbered_book(tmp_path / "order.xlsx", rows), shared=False)
    assert '"invoice": "N0002"' in answer[0]


def test_a_half_without_text_dates_needs_not_know_their_order(tmp_path):
    """The second half says month-first; the first half has no text date to read: its rows
    read the same in either order, and the halves' answer stands."""
    rows = filler(30, 0)
    rows[25][7] = "2/25/2026"
    # in the second half: 11 December month-first (after the as-of date, so no reminder yet),
    # where day-first would have read 12 November (a second reminder due)
    rows[27][5], rows[27][7] = OVERDUE, "12/11/2026"
    answer = assert_shared(numbered_book(tmp_path / "order.xlsx", rows))
    lines = {ln["invoice"]: ln for ln in json.loads(answer[0])}
    assert lines["N0027"]["stage"] == "overdue"


def test_text_dates_of_both_orders_in_different_halves_stop_the_run(tmp_path):
    rows = filler(30, 0)
    rows[2][7] = "25/02/2026"
    rows[25][7] = "2/25/2026"
    answer = assert_shared(numbered_book(tmp_path / "both.xlsx", rows), shared=False)
    assert "mélangent deux ordres" in answer


def test_a_number_less_row_ending_the_first_half_is_not_taken_for_totals(tmp_path):
    """The last row of the first half has amounts but no number: the last row of a sheet
    would be a totals row, that one is a row without its number."""
    rows = filler(40, 0)
    book = numbered_book(tmp_path / "n.xlsx", rows)
    for _ in range(5):  # blanking a number moves the cut a little: until it stays
        row = cut_row(book) - 1
        rows = filler(40, 0)
        rows[row - 2][0] = None  # sheet row `row` (the header is row 1)
        book = numbered_book(tmp_path / "n.xlsx", rows)
        if cut_row(book) - 1 == row:
            break
    else:
        pytest.fail("the cut does not settle")
    # the first half knows it does not end the sheet: its answer stands
    answer = assert_shared(book)
    assert f"ligne {row} : ligne sans numéro de facture" in " ".join(answer[1])


def test_a_number_less_row_ending_the_data_before_blank_rows_is_a_totals_row(tmp_path):
    """The first half ends with a row of amounts without a number, and the second holds only
    blank rows (formatted, empty): that row is the sheet's last, a totals row; the halves'
    answer would call it a row without its number, so the sheet is read whole."""
    from openpyxl.styles import Font
    rows = filler(40, 0) + [[None, None, "Total", None, None, None, 4780, None, None]]
    book = numbered_book(tmp_path / "t.xlsx", rows)
    wb = openpyxl.load_workbook(book)
    ws = wb.active
    for r in range(50, 400):  # empty cells with a format: rows in the XML, nothing in them
        for c in range(1, 10):
            ws.cell(r, c).font = Font(bold=True)
    wb.save(book)
    assert cut_row(book) > 50  # the cut falls among the blank rows
    answer = assert_shared(book, shared=False)
    assert "sans numéro" not in " ".join(answer[1]) and '"invoice": "N0039"' in answer[0]


def test_a_table_whose_header_lies_below_the_first_rows(tmp_path):
    """The header is looked for in the sheet's first 20 rows, or it is a table's first row:
    the second half reads the first rows down to the table's header, wherever it lies."""
    from openpyxl.worksheet.table import Table
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    for r in range(1, 25):
        ws.cell(r, 1, f"note {r}")
    ws.append(HEADERS)
    for row in filler(60, 0):
        ws.append(row)
    ws.add_table(Table(displayName="T", ref="A25:I85"))
    wb.save(tmp_path / "low.xlsx")
    answer = assert_shared(tmp_path / "low.xlsx")
    assert '"invoice": "N0059"' in answer[0]


def test_a_table_below_the_cut_does_not_give_the_second_half_the_first_half(tmp_path):
    """A small table under the ledger (a summary) lies in the second half already: the
    second process reads only the first rows as its head, not the first half again."""
    from openpyxl.worksheet.table import Table
    book = numbered_book(tmp_path / "summary.xlsx", filler(60, 0))
    wb = openpyxl.load_workbook(book)
    ws = wb.active
    ws["A70"], ws["B70"], ws["A71"], ws["B71"] = "Poste", "Total", "Encours", 1234
    ws.add_table(Table(displayName="Synthese", ref="A70:B71"))
    wb.save(book)
    from relance.reading.ahead import receivables_halves
    first, second = receivables_halves(book, lambda size: True)
    head_rows = second.xml[second.head[0]:second.head[1]].count(b"<row ")
    assert head_rows == 20, head_rows  # the header is looked for in the first 20 rows only
    answer = assert_shared(book)
    assert '"invoice": "N0059"' in answer[0]


def test_rows_under_a_table_that_ends_early_are_told_as_one_read_tells_them(tmp_path):
    """A table that did not grow with the ledger: the rows under it, in either half, are
    not read and are pointed out; the halves never say it alone (the sheet is read whole)."""
    from openpyxl.worksheet.table import Table
    book = numbered_book(tmp_path / "short.xlsx", filler(60, 0))
    wb = openpyxl.load_workbook(book)
    wb.active.add_table(Table(displayName="T", ref="A1:I11"))
    wb.save(book)
    answer = assert_shared(book, shared=False)
    assert "ligne 12 : 50 factures (jusqu'à la ligne 61) sous le tableau Excel « T »" \
        in " ".join(answer[1])
    assert '"invoice": "N0009"' in answer[0] and '"invoice": "N0010"' not in answer[0]


def test_a_table_and_formats_and_errors_in_both_halves(tmp_path):
    """An Excel table below a title, numbers shown with leading zeros, error values: each
    half reads its own, and together they say what the whole read says."""
    import re
    from openpyxl.worksheet.table import Table
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Créances"
    ws.append(["Suivi"])
    ws.append(HEADERS)
    for k, row in enumerate(filler(60, 0)):
        row[0] = k + 1
        ws.append(row)
        ws.cell(ws.max_row, 1).number_format = "000000"
    ws.add_table(Table(displayName="T", ref="A2:I62"))
    ws["A70"] = "en dehors du tableau"
    wb.save(tmp_path / "t.xlsx")

    def errors(xml):  # an error value in each half
        for cell in (b"G5", b"G55"):
            xml = re.sub(rb'<c r="' + cell + rb'"( s="\d+")? t="n"><v>[^<]*</v></c>',
                         rb'<c r="' + cell + rb'"\1 t="e"><v>#N/A</v></c>', xml)
        return xml

    book = rewrite_sheet(tmp_path / "t.xlsx", tmp_path / "te.xlsx", errors)
    answer = assert_shared(book)
    assert '"invoice": "000001"' in answer[0] and '"invoice": "000060"' in answer[0]
    assert " ".join(answer[1]).count("#N/A") == 2


def test_first_rows_out_of_order_give_the_second_half_another_header(tmp_path):
    """The second half reads the sheet's first rows up to the first row numbered past 20:
    rows written out of order there may hide the header from it, and show it a row further
    down that looks like one. The halves then disagree, and the sheet is read whole."""
    lookalike = ["Facture", "Client", "Échéance", "Montant", "", "", "", "", ""]
    rows = filler(40, 0)
    rows[2] = lookalike  # sheet row 5 (title row 1, header row 2)
    book = numbered_book(tmp_path / "o.xlsx", rows, title="Suivi")

    def header_after_row_21(xml):  # rows 1, 3, 4, 5, 21, 2, 6, 7…
        head, rows_xml, tail = sheet_rows(xml)
        moved = rows_xml[:1] + rows_xml[2:5] + [rows_xml[20], rows_xml[1]] + rows_xml[5:20] \
            + rows_xml[21:]
        return head + b"".join(moved) + tail

    book = rewrite_sheet(book, tmp_path / "oo.xlsx", header_after_row_21)
    assert whole_scan(book, AS_OF)[0].count('"invoice"') == 39  # the lookalike is no invoice
    answer = assert_shared(book, shared=False)
    assert '"invoice": "N0000"' in answer[0]


def test_rows_without_their_number_in_both_halves(tmp_path):
    """calamine places a row without its number after the row before it: each half starts
    with a numbered row (or the sheet's start), so such rows land where one read puts them."""
    import re
    rows = filler(60, 0)
    for k in (10, 40, 41):  # blank rows before 13, 43: the rows that follow jump over them
        rows[k] = [None] * len(HEADERS)
    book = numbered_book(tmp_path / "n.xlsx", rows)
    cut = cut_row(book)

    def unnumbered(xml):  # every third row loses its number, and its cells their reference
        def strip(m):
            row = int(m.group(1))
            if row % 3 or row == cut:
                return m.group(0)
            return re.sub(rb' r="[A-Z]+\d+"', b"", m.group(0).replace(
                f'<row r="{row}"'.encode(), b"<row", 1))
        return re.sub(rb'<row r="(\d+)".*?</row>', strip, xml, flags=re.S)

    book = rewrite_sheet(book, tmp_path / "u.xlsx", unnumbered)
    answer = assert_shared(book)
    # 57 invoices; the rows after a blank row, unnumbered, come up into it, in both reads
    assert answer[0].count('"invoice"') == 57 and '"row": 61}]' in answer[0]


TWO_WAY_SCRIPT = """
import os, sys, time
from relance import forking
if sys.argv[1] == "full":  # every message finds no room (a full /dev/shm, say)
    forking.scratch_file = lambda: open("/dev/full", "w+b")
def work(link):  # values both ways, in turn, each after the other's
    link.send("é" * 3_000_000)
    link.send(1)
    given = link.receive()
    link.send(given + 1)
    return link.receive() * given
worker = forking.Worker(work)
worker.send(21)
big, first = worker.receive(), worker.receive()
second = worker.receive()
worker.send(2)
value = worker.result()
for _ in range(100):  # reaped: no process left behind, not even a zombie
    if not os.path.exists(f"/proc/{worker.pid}"):
        break
    time.sleep(0.05)
print(big and len(big), first, second, value, os.path.exists(f"/proc/{worker.pid}"))
"""


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("kind, expected", [("ok", "3000000 1 22 42 False"),
                                            ("full", "None None None None False")])
def test_the_worker_gets_the_parent_message_or_is_stopped(kind, expected):
    """Values go both ways in turn, each whole and in order; a message the parent cannot
    give leaves no worker waiting for it (nor the parent waiting for the worker): the worker
    is stopped, the caller does its part."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", TWO_WAY_SCRIPT, kind], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected


def test_a_second_half_with_bad_input_is_not_read_twice(tmp_path, monkeypatch):
    """The worker could not read its half for a reason the user must be told (text dates of
    both orders there): the sheet is read whole at once, which tells it; this process does
    not read that half again first."""
    from relance import json_scan
    rows = filler(30, 0)
    rows[24][7], rows[26][7] = "25/02/2026", "2/25/2026"
    book = numbered_book(tmp_path / "bad.xlsx", rows)
    reads = []
    real_read = json_scan._Half.read.__func__
    monkeypatch.setattr(json_scan._Half, "read", classmethod(
        lambda cls, *args, **kw: reads.append(args[2].own_from) or real_read(cls, *args, **kw)))
    answer = assert_shared(book, shared=False)
    assert "mélangent deux ordres" in answer and len(reads) == 2 and reads[0] != reads[1]


def test_a_workbook_saved_during_the_scan_is_read_again_whole(tmp_path, monkeypatch):
    """Each half opens the file again for its shared strings and settings: when the file
    changed meanwhile (Excel saved it), the halves' answer could mix two versions; the sheet
    is read again, whole, from the file as it now is."""
    from relance import json_scan
    book = numbered_book(tmp_path / "b.xlsx", filler(40, 0))
    saved = numbered_book(tmp_path / "saved.xlsx", filler(40, 500))
    real = json_scan._scan_halves

    def saved_meanwhile(*args):
        result = real(*args)
        import os  # Excel saves while the halves are read: a new file put in its place
        shutil.copy(saved, tmp_path / "~tmp.xlsx")
        os.replace(tmp_path / "~tmp.xlsx", book)
        return result

    monkeypatch.setattr(json_scan, "_scan_halves", saved_meanwhile)
    answer, used = shared_out_scan(book, AS_OF)
    assert not used and answer == whole_scan(saved, AS_OF)
    assert '"invoice": "N0500"' in answer[0]


def test_lines_travel_packed_and_arrive_as_they_left(tmp_path):
    """The lines go with their amounts as text and their dates as day numbers (a Decimal or
    a date pickles slowly): on arrival every field is what it was, of the same type, amounts
    to the same digits; a response, a date or a text, comes back as such."""
    import typing
    from decimal import Decimal
    from relance import json_scan
    from relance.letters import classify
    from relance.model import Invoice
    from relance.workbook_io import read
    decimals = {name for name, kind in typing.get_type_hints(Invoice).items()
                if "Decimal" in str(kind)}
    assert {Invoice._fields[k] for k in json_scan._DECIMAL_FIELDS} == decimals
    dates = {name for name, kind in typing.get_type_hints(Invoice).items()
             if "date" in str(kind)}
    assert {Invoice._fields[k] for k in json_scan._DATE_FIELDS} == dates
    lines = []
    for book in (SAMPLE, build_mixed(tmp_path / "mixed.xlsx")):
        data, _, _ = read(book, AS_OF)
        lines += classify(data.ledger, AS_OF)[0]
    assert {type(ln.invoice.paid) for ln in lines} >= {Decimal, type(None)}
    assert {type(ln.invoice.response) for ln in lines} >= {date, str, type(None)}
    arrived = json_scan._unpacked(pickle.loads(pickle.dumps(json_scan._packed(lines))))
    assert arrived == lines
    for was, now in zip(lines, arrived):
        for a, b in zip([*was.invoice, *was[1:]], [*now.invoice, *now[1:]]):
            assert type(a) is type(b) and str(a) == str(b), (a, b)
