"""The benchmark of issue 6: `make bench` (or `python scripts/bench.py [--smoke]`).

Generates its inputs (fixed seed), runs each comparison side by side on this machine, and
prints a table: letters per second for the plain docxtpl loop and for `relance generate`,
`relance scan --json` against python-calamine's bare read (on a workbook written by
openpyxl, its texts inline, on one written as Excel writes, its texts shared, on one
whose invoice numbers and postcodes are numbers shown with zeros, and on a ledger where
nearly every client gets a letter), the
stage computation against the read, peak memory for 100 and 5,000 letters, and the Excel
button's reads and writes for a small and a large sheet. Ratios matter, not absolute times:
they vary less from run to run.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 12, 1)
SETTINGS = [("Raison sociale", "Banc d'essai SARL"), ("Forme juridique", "SARL"),
            ("Adresse", "1 rue du Test"), ("Code postal", "75001"), ("Ville", "Paris"),
            ("SIREN", "123 456 782"), ("RCS", "Paris"), ("Téléphone", "01 23 45 67 89"),
            ("E-mail", "compta@banc.example"),
            ("Signataire", "A. Testeur"), ("IBAN", "FR76 3000 6000 0112 3456 7890 189")]
HEADERS = ["N° facture", "Code client", "Client", "Adresse", "Code postal", "Ville", "Échéance",
           "Montant TTC", "Montant réglé", "Date 1ère relance", "Date 2e relance", "E-mail",
           "Téléphone"]


def _with_settings(wb, path: Path) -> Path:
    """The write-only workbook `wb` with its `Paramètres` sheet, saved at `path`."""
    ps = wb.create_sheet("Paramètres")
    ps.append(["Paramètre", "Valeur"])
    for key, value in SETTINGS:
        ps.append([key, value])
    wb.save(path)
    return path


def make_workbook(path: Path, letters: int, other_rows: int = 0, seed: int = 6) -> Path:
    """`letters` clients with one invoice at the second-reminder stage each, then
    `other_rows` invoices not yet due."""
    import openpyxl
    rnd = random.Random(seed)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Créances")
    ws.append(HEADERS)
    for i in range(letters):
        ws.append([f"F{i:06d}", f"C{i:05d}", f"Client {i} SARL", f"{i} rue du Test", "75001",
                   "Paris", date(2026, 9, 1), round(rnd.uniform(50, 5000), 2), None,
                   date(2026, 10, 1), None, f"c{i}@x.example", "06 12 34 56 78"])
    for j in range(other_rows):
        ws.append([f"G{j:06d}", f"D{j % 5000:05d}", f"Autre {j % 5000}", "1 rue", "75001",
                   "Paris", date(2027, 1, 1), round(rnd.uniform(50, 5000), 2), None, None, None,
                   None, None])
    return _with_settings(wb, path)


def make_reminded_workbook(path: Path, rows: int, clients: int = 5000, seed: int = 6) -> Path:
    """A ledger as a collection department keeps it: `rows` invoices of `clients` clients,
    due over the year, six in ten reminded once, some part-paid, some answered, a few credit
    notes and disputes: nearly every client gets a letter, so the scan also plans 5,000
    letters (the other reading rows hold only invoices not yet due)."""
    import openpyxl
    rnd = random.Random(seed)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Créances")
    ws.append(HEADERS + ["Réponse client", "Litige"])
    for j in range(rows):
        c = rnd.randrange(clients)
        due = date(2026, 1, 1) + timedelta(days=rnd.randrange(400))
        first = due + timedelta(days=rnd.randrange(5, 60)) if rnd.random() < 0.6 else None
        first = first if first and first <= AS_OF else None
        amount = round(rnd.uniform(-200, 5000), 2)
        paid = round(amount * rnd.random(), 2) if amount > 0 and rnd.random() < 0.2 else None
        answer = (first + timedelta(days=3) if rnd.random() < 0.5 else "promet de payer") \
            if first and rnd.random() < 0.05 else None
        ws.append([f"F{j:06d}", f"C{c:05d}", f"Client {c} SARL", f"{c} rue du Test", "75001",
                   "Paris", due, amount, paid, first, None, f"c{c}@x.example",
                   "06 12 34 56 78", answer, "oui" if rnd.random() < 0.02 else None])
    return _with_settings(wb, path)


def make_excel_like_workbook(path: Path, rows: int, seed: int = 6, numbered: bool = False
                             ) -> Path:
    """The same invoices not yet due as `make_workbook`'s, written as Excel writes a workbook:
    every text in the shared strings table (openpyxl's write-only mode writes each text in its
    cell instead). The sheet's XML is over a quarter smaller, so calamine reads it faster, while
    Relance's work per row stays the same. `numbered`: the invoice numbers and postcodes kept
    as numbers shown with zeros (000123, 01000), as many ledgers keep them: the reader then
    looks up the number formats too."""
    import xlsxwriter
    rnd = random.Random(seed)
    with xlsxwriter.Workbook(str(path)) as wb:
        ws = wb.add_worksheet("Créances")
        day = wb.add_format({"num_format": "dd/mm/yyyy"})
        number = wb.add_format({"num_format": "000000"})
        postcode = wb.add_format({"num_format": "00000"})
        ws.write_row(0, 0, HEADERS)
        for j in range(rows):
            client = j % 5000
            if numbered:
                ws.write_number(j + 1, 0, j + 1, number)
                ws.write_row(j + 1, 1, [f"D{client:05d}", f"Autre {client}", "1 rue"])
                ws.write_number(j + 1, 4, 1000 + client, postcode)
                ws.write_string(j + 1, 5, "Paris")
            else:
                ws.write_row(j + 1, 0, [f"G{j:06d}", f"D{client:05d}", f"Autre {client}",
                                        "1 rue", "75001", "Paris"])
            ws.write_datetime(j + 1, 6, datetime(2027, 1, 1), day)
            ws.write_number(j + 1, 7, round(rnd.uniform(50, 5000), 2))
        ps = wb.add_worksheet("Paramètres")
        ps.write_row(0, 0, ["Paramètre", "Valeur"])
        for i, row in enumerate(SETTINGS):
            ps.write_row(i + 1, 0, row)
    return path


def scan_rounds(books: list, count: int) -> list:
    """For each book, the best of `count` rounds (a shared machine's hiccups hit one run, not
    the best) of (calamine's bare read, `relance scan --json`, the same without sharing the
    work out), every measure of a round taken in turn, the books included."""
    plain_env = {**os.environ, "RELANCE_PARALLEL": "never"}
    rounds = [[(calamine_read(book), relance("scan", book, "--as-of", AS_OF, "--json")[0],
                relance("scan", book, "--as-of", AS_OF, "--json", env=plain_env)[0])
               for book in books] for _ in range(count)]
    return [tuple(min(r[b][k] for r in rounds) for k in range(3)) for b in range(len(books))]


def relance(*args, env=None) -> tuple[float, int]:
    """Wall time and peak memory (kB, the command and its worker processes) of `relance …`."""
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL); "
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
            " r.returncode)")
    out = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "relance",
                          *map(str, args)], capture_output=True, text=True, env=env, check=True)
    seconds, rss, returncode = out.stdout.split()
    if returncode != "0":
        raise SystemExit(f"relance {' '.join(map(str, args))} a échoué ({returncode})")
    return float(seconds), int(rss)


def plain_loop(book: Path, count: int, work: Path) -> float:
    """The straightforward docxtpl loop on the shipped French template: seconds for `count`."""
    from docxtpl import DocxTemplate
    from relance.documents.context import letter_context
    from relance.documents.docx_letters import jinja_env, shipped_template
    from relance.letters import plan_run
    from relance.reading import files
    data = files.load(book)
    plan = plan_run(data.ledger, AS_OF)
    contexts = [letter_context(lt, data.ledger.settings, AS_OF) for lt in plan.letters[:count]]
    template = shipped_template("fr")
    start = time.perf_counter()
    for i, context in enumerate(contexts):
        tpl = DocxTemplate(str(template))
        tpl.render(context, jinja_env(), autoescape=True)
        tpl.save(str(work / f"plain{i}.docx"))
    return time.perf_counter() - start


def calamine_read(book: Path) -> float:
    from python_calamine import CalamineWorkbook
    start = time.perf_counter()
    CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Créances").to_python()
    return time.perf_counter() - start


def stage_time(book: Path) -> tuple[float, float, float]:
    """(seconds to read the ledger, to compute every invoice's stage, to classify them all:
    stage, balance, amount paid and days late, as `relance scan` does)."""
    from relance.letters import classify
    from relance.reading import files
    from relance.stages import invoice_stage
    from relance.workbook_io import gc_paused
    with gc_paused():  # as `relance scan` reads and plans
        start = time.perf_counter()
        data = files.load(book)
        read = time.perf_counter() - start
        settings = data.ledger.settings
        start = time.perf_counter()
        [invoice_stage(inv, AS_OF, settings) for inv in data.ledger.invoices]
        stages = time.perf_counter() - start
        start = time.perf_counter()
        classify(data.ledger, AS_OF)
        return read, stages, time.perf_counter() - start


def excel_counts(book: Path) -> tuple[int, int]:
    """Bulk reads and write actions of the Excel button on `book`, through xlwings' remote
    engine (the free non-commercial key, for this measurement only)."""
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    sys.path.insert(0, str(ROOT / "tests"))
    from remote_book import FakeExcel, remote_book
    from relance.excel import run_button
    book_obj = remote_book(book)
    result = run_button(book_obj, FakeExcel(), book, AS_OF)
    if result.error:
        raise SystemExit(result.error)
    return result.reads, len(book_obj.json()["actions"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Banc d'essai de Relance")
    parser.add_argument("--smoke", action="store_true", help="petites tailles (vérifie le banc)")
    args = parser.parse_args(argv)
    letters, small, large, rows, excel_rows = (20, 5, 40, 2000, 200) if args.smoke else \
        (1000, 100, 5000, 100_000, 20_000)
    plain_count = 20 if args.smoke else 200  # the plain loop is timed on a sample, then scaled
    work = Path(tempfile.mkdtemp(prefix="relance-bench-"))
    try:
        print(f"Banc d'essai Relance — {datetime.now():%Y-%m-%d %H:%M}, {platform.node()}, "
              f"{os.cpu_count()} cœurs, Python {platform.python_version()}", flush=True)
        book = make_workbook(work / "lettres.xlsx", letters)
        plain = plain_loop(book, plain_count, work) / plain_count * letters
        ours, _ = relance("generate", book, "--as-of", AS_OF, "--channels", "courrier",
                          "--out", work / "sortie")
        rows_out = [("", "référence", "Relance", "rapport"),
                    ("Lettres", f"boucle docxtpl : {letters / plain:.0f} lettres/s "
                     f"({plain:.1f} s pour {letters}, mesuré sur {plain_count})",
                     f"relance generate : {letters / ours:.0f} lettres/s ({ours:.1f} s)",
                     f"× {plain / ours:.1f} plus vite")]

        big = make_workbook(work / "grand.xlsx", 0, rows)
        excel_like = make_excel_like_workbook(work / "grand-excel.xlsx", rows)
        numbered = make_excel_like_workbook(work / "grand-numeros.xlsx", rows, numbered=True)
        reminded = make_reminded_workbook(work / "grand-relances.xlsx", rows)
        measured = scan_rounds([big, excel_like, numbered, reminded], 3 if args.smoke else 5)
        for label, (calamine, scan, plain_scan) in zip(
                ("Lecture", "  comme Excel", "  numéros 000123", "  relancé"), measured):
            rows_out.append((label, f"calamine seul : {calamine:.2f} s ({rows} lignes)",
                             f"relance scan --json : {scan:.2f} s (sans partage : "
                             f"{plain_scan:.2f} s)",
                             f"× {scan / calamine:.2f} (× {plain_scan / calamine:.2f}) "
                             f"le temps de calamine"))
        timings = [stage_time(reminded) for _ in range(3)]  # every stage met, not only the first
        read, stages, lines = (min(t[k] for t in timings) for k in range(3))
        rows_out.append(("Étapes", f"lecture : {read:.2f} s",
                         f"{rows} étapes : {stages:.2f} s ; avec soldes et retards : "
                         f"{lines:.2f} s",
                         f"{stages / read:.2f} ; {lines / read:.2f} de la lecture"))

        for label, channels, what in (("Mémoire", "courrier", "lettres"),
                                      ("  3 canaux", "courrier,email,sms",
                                       "lettres, e-mails et SMS")):
            mem, seconds = [], 0.0
            for n in (small, large):
                wb = make_workbook(work / f"m{n}.xlsx", n)
                seconds, rss = relance("generate", wb, "--as-of", AS_OF, "--channels", channels,
                                       "--out", work / f"m{n}-{channels.replace(',', '-')}")
                mem.append(rss / 1024)
            rows_out.append((label, f"{small} {what} : {mem[0]:.0f} Mo",
                             f"{large} {what} : {mem[1]:.0f} Mo ({seconds:.1f} s)",
                             f"{round(mem[1] - mem[0]):+d} Mo"))

        counts = [excel_counts(make_workbook(work / f"x{n}.xlsx", 3, n)) for n in (20, excel_rows)]
        rows_out.append(("Excel", f"20 lignes : {counts[0][0]} lectures, {counts[0][1]} écritures",
                         f"{excel_rows} lignes : {counts[1][0]} lectures, {counts[1][1]} écritures",
                         "identique" if counts[0] == counts[1] else "DIFFÉRENT"))

        widths = [max(len(r[i]) for r in rows_out) for i in range(4)]
        for row in rows_out:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
