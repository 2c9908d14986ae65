"""The main job on the sample workbook, through the real CLI: letters read back as text."""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from conftest import SAMPLE_DATE, run_cli, run_json
from docx_text import docx_text

EXPECTED = {  # client code (or name) -> (invoices, total as printed)
    "CL001": (["FA-2026-0101", "FA-2026-0102"], "4 675,60 €"),
    "CL002": (["000123", "FA-2026-0105"], "498,40 €"),
    "CL003": (["FA-2026-0107"], "1 860,00 €"),
    "CL004": (["FA-2026-0110", "FA-2026-0111", "FA-2026-0112"], "8 475,50 €"),
    "CL005": (["FA-2026-0117", "FA-2026-0118"], "2 160,00 €"),
    "CL006": (["FA-2026-0120"], "12 480,00 €"),
    "CL007": (["FA-2026-0123", "FA-2026-0124"], "€10,230.00"),
    "CL008": (["FA-2026-0126"], "2 964,00 €"),
    "Cabinet Véronique Roussel": (["FA-2026-0129", "FA-2026-0130"], "2 232,00 €"),
    "CL017": (["FA-2026-0158"], "1 072,80 €"),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One generate run on a copy of the sample, shared by the tests that read its letters."""
    import shutil
    from conftest import SAMPLE
    folder = tmp_path_factory.mktemp("sample")
    book = folder / "relances.xlsx"
    shutil.copy2(SAMPLE, book)
    result, proc = run_json("generate", book, "--as-of", SAMPLE_DATE.isoformat(),
                            "--channels", "courrier")
    letters = {(x["client_code"] or x["client"]): x for x in result["letters"]}
    texts = {key: docx_text(x["files"]["courrier"]) for key, x in letters.items()}
    return {"book": book, "result": result, "letters": letters, "texts": texts, "proc": proc}


def test_one_letter_per_client_with_its_second_due_invoices_and_total(run):
    letters = run["letters"]
    assert set(letters) == set(EXPECTED)
    for key, (invoices, _) in EXPECTED.items():
        assert letters[key]["invoices"] == invoices
        assert all(isinstance(n, str) for n in letters[key]["invoices"])
    assert letters["CL001"]["total"] == pytest.approx(4675.60)
    assert letters["CL002"]["total"] == pytest.approx(498.40)


def test_json_files_are_absolute_paths_in_the_default_output_folder(run):
    folder = run["book"].parent / "Relances" / SAMPLE_DATE.isoformat()
    assert Path(run["result"]["output_dir"]) == folder
    for letter in run["letters"].values():
        path = Path(letter["files"]["courrier"])
        assert path.is_absolute() and path.parent == folder and path.suffix == ".docx"
        assert path.exists()


def test_letter_states_amounts_dates_deadline_and_escaped_name(run):
    text = run["texts"]["CL001"]
    assert "Dupont & Fils <Nord>" in text  # escaped in XML, shown exactly in Word
    assert "&amp;" not in text and "&lt;" not in text
    for needle in ("FA-2026-0101", "FA-2026-0102", "4 675,60 €", "2 880,00 €",
                   "Lyon, le 1er décembre 2026",  # place and date
                   "9 décembre 2026",  # deadline: as-of + 8 days
                   "20 septembre 2026",  # first reminder
                   "AV-2026-0007", "-350,00 €",  # credit note deducted
                   "FR76 1234 5678 9000 0123 4567 858",  # IBAN
                   "échéancier",  # payment plan offer
                   "mise en demeure", "recouvrement"):
        assert needle in text, needle
    assert "{{" not in text and "{%" not in text


def test_business_letter_states_penalties_to_the_cent_and_the_40_euro_indemnity(run):
    text = run["texts"]["CL004"]
    # 3 420,00 × 12 % × 104/365 = 116,93 ; 3 760,00 × 12 % × 88/365 = 108,78 ;
    # 1 295,50 × 12 % × 61/365 = 25,98 → 251,69 ... computed per invoice, rounded each
    expected = sum(round(b * 0.12 * d / 365 + 1e-9, 2) for b, d in
                   ((3420.00, 104), (3760.00, 88), (1295.50, 61)))
    assert f"{expected:.2f}".replace(".", ",") + " €" in text
    assert "12,00 %" in text
    assert "L441-10" in text and "D441-5" in text
    assert "40,00 €" in text and "120,00 €" in text  # 3 invoices × 40 €


def test_business_letter_lists_other_overdue_invoices_apart(run):
    text = run["texts"]["CL004"]
    assert "FA-2026-0113" in text and "FA-2026-0114" in text
    claimed = run["letters"]["CL004"]["invoices"]
    assert "FA-2026-0113" not in claimed and "FA-2026-0114" not in claimed
    # each with what the client may know of it: reminded on a date, or simply to be paid
    # (never "not reminded yet", which tells the client how our follow-up works)
    others = [ln for ln in text.splitlines() if "FA-2026-0113" in ln or "FA-2026-0114" in ln]
    assert len(others) == 2 and all(ln.endswith(")") for ln in others), others
    assert any("(relancée le " in ln for ln in others) and any("(à régler)" in ln for ln in others)
    assert "pas encore relancée" not in text


def test_consumer_letter_has_no_penalty_nor_indemnity_but_legal_interest(run):
    text = run["texts"]["CL005"]
    assert "1231-6" in text
    assert "indemnité forfaitaire" not in text and "L441-10" not in text
    assert "pénalités" not in text


def test_public_buyer_letter_cites_moratorium_interest_rule_without_figure(run):
    text = run["texts"]["CL006"]
    assert "intérêts moratoires" in text
    assert "8 points" in text  # no rate set: the legal rule is cited
    assert "40,00 €" in text


def test_a_public_buyer_is_told_of_the_summary_judge_not_of_an_agency(run):
    """A public body's goods cannot be seized: after the formal notice comes a
    référé-provision before the competent judge, not a collection agency; its 40 € come
    from D2192-35 of the Code de la commande publique."""
    public = " ".join(run["texts"]["CL006"].split())
    assert "mise en demeure" in public and "juge des référés d’une demande de provision" in public
    assert "société de recouvrement" not in public
    assert "D2192-35" in public and "R2192-32" not in public
    business = " ".join(run["texts"]["CL004"].split())
    assert "société de recouvrement" in business and "juge des référés" not in business


def test_english_client_gets_an_english_letter(run):
    text = run["texts"]["CL007"]
    assert "Second reminder" in text and "€10,230.00" in text
    assert "9 December 2026" in text
    assert "Madame, Monsieur" not in text


def test_a_letter_abroad_is_addressed_and_signed_for_abroad(run):
    """The UK client's address in the Royal Mail's order, the country last in capitals; our
    town followed by France and our number with +33, where the client reads them."""
    lines = run["texts"]["CL007"].splitlines()
    at = lines.index("18 Canal Street")
    assert lines[at + 1:at + 4] == ["MANCHESTER", "M1 3HE", "ROYAUME-UNI"]
    text = "\n".join(lines)
    assert "69007 Lyon, France" in text and "+33 4 78 92 15 40" in text
    assert "04 78 92 15 40" not in text
    french = run["texts"]["CL004"]  # a client in France: as before
    assert "Lyon, France" not in french and "04 78 92 15 40" in french


def test_cash_offered_only_when_total_is_at_most_1000(run):
    assert "espèces" in run["texts"]["CL002"].lower()  # 498,40 €
    assert "en espèces" not in run["texts"]["CL004"].lower()  # 8 475,50 €


def test_multiline_address_keeps_its_lines(run):
    lines = run["texts"]["CL004"].splitlines()
    i = lines.index("Parc d'activités des Sources")
    assert lines[i + 1] == "Bâtiment C" and lines[i + 2] == "112 avenue des Frênes"
    assert lines[i + 3] == "38090 Villefontaine"


def test_legal_mentions_of_the_sender(run):
    text = run["texts"]["CL003"]
    assert "SARL au capital de 20 000 €" in text and "RCS Lyon" in text and "TVA FR" in text


def test_workbook_records_dates_and_journal(run):
    wb = openpyxl.load_workbook(run["book"])
    ws = wb["Créances"]
    header = [c.value for c in ws[3]]
    num, col = header.index("N° facture"), header.index("Date 2e relance")
    recorded = {row[num].value for row in ws.iter_rows(min_row=4)
                if row[col].value is not None and row[col].value.date() == SAMPLE_DATE}
    claimed = {n for x in run["letters"].values() for n in x["invoices"]}
    assert recorded == claimed
    journal = list(wb["Journal"].iter_rows(values_only=True))
    new = [r for r in journal[1:] if r[1] is not None and r[1].date() == SAMPLE_DATE]
    assert len(new) == len(run["letters"])
    assert {r[6] for r in new} == {"courrier"} and {r[7] for r in new} == {"généré"}
    assert {r[9] for r in new} == {"2e relance"}
    assert Path(run["result"]["backup"]).exists()


def test_second_run_writes_nothing_new_and_says_so(run):
    before = run["book"].read_bytes()
    proc = run_cli("generate", run["book"], "--as-of", SAMPLE_DATE.isoformat(), "--channels",
                   "courrier")
    assert proc.returncode == 0, proc.stderr
    assert "Rien à faire" in proc.stdout
    assert run["book"].read_bytes() == before
    # later days do not repeat it either (those invoices are now second_sent); only invoices
    # that reached second_due since then get a letter
    proc = run_cli("generate", run["book"], "--as-of", "2026-12-20", "--json", "--dry-run")
    later = {n for x in json.loads(proc.stdout)["letters"] for n in x["invoices"]}
    done = {n for x in run["letters"].values() for n in x["invoices"]}
    assert later and not later & done


def test_summary_lists_responded_invoices_and_default_type(run):
    result = run["result"]
    assert {x["invoice"] for x in result["responded"]} == {"FA-2026-0139", "FA-2026-0143"}
    assert result["default_client_type_letters"] == 1
    assert "Type client" in run["proc"].stderr  # human summary on stderr with --json


def test_human_summary_table(sample_copy):
    planned, _ = run_json("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(),
                          "--channels", "courrier", "--dry-run")
    stems = [Path(letter["files"]["courrier"]).stem for letter in planned["letters"]]
    assert len(stems) == 10 and max(map(len, stems)) > 60  # the sample has a long one
    proc = run_cli("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(), "--channels",
                   "courrier")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "10 lettre(s)" in out
    for header in ("Client", "Factures", "Total réclamé", "Nom des fichiers"):
        assert header in out
    # the files' name in full, however long, as it is on disk (without its extensions)
    assert all(stem in out for stem in stems)
    assert "Dupont & Fils <Nord>" in out and "4 675,60 €" in out.replace("\u202f", " ").replace("\u00a0", " ")


def test_dry_run_writes_nothing(sample_copy):
    before = sample_copy.read_bytes()
    result, _ = run_json("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(), "--dry-run")
    assert len(result["letters"]) == 10 and result["dry_run"] is True
    assert sample_copy.read_bytes() == before
    assert sorted(p.name for p in sample_copy.parent.iterdir()) == ["relances.xlsx"]


def test_out_option_writes_directly_in_the_folder(sample_copy, tmp_path):
    out = tmp_path / "lettres"
    result, _ = run_json("generate", sample_copy, "--as-of", SAMPLE_DATE.isoformat(), "--out", out)
    assert {Path(x["files"]["courrier"]).parent for x in result["letters"]} == {out}


@pytest.mark.parametrize("contact, lang, attention, salutation", [
    ("M. Bernard Dupont", "fr", "À l’attention de M. Bernard Dupont", "Monsieur"),
    ("Mme Nathalie Morel, service comptabilité", "fr",
     "À l’attention de Mme Nathalie Morel, service comptabilité", "Madame"),
    ("Service des finances", "fr", "À l’attention du service des finances", "Madame, Monsieur"),
    ("Direction financière", "fr", "À l’attention de la direction financière", "Madame, Monsieur"),
    ("", "fr", "", "Madame, Monsieur"),
    ("Mr Oliver Harcourt", "en", "For the attention of Mr Oliver Harcourt", "Dear Mr Harcourt"),
    ("Accounts payable", "en", "For the attention of Accounts payable", "Dear Sir or Madam"),
    ("M. Émile Besson", "en", "For the attention of Mr Émile Besson", "Dear Mr Besson"),
    ("Mme Morel", "en", "For the attention of Ms Morel", "Dear Ms Morel"),
    ("Mlle Durand", "en", "For the attention of Ms Durand", "Dear Ms Durand"),
    ("M.Dupont", "en", "For the attention of Mr Dupont", "Dear Mr Dupont"),
    ("M.  Dupont", "en", "For the attention of Mr Dupont", "Dear Mr Dupont"),
    ("M.", "en", "For the attention of M.", "Dear Sir or Madam"),
    # a couple is greeted as both; an office by its name, in French only
    ("M. et Mme Dupont", "fr", "À l’attention de M. et Mme Dupont", "Madame, Monsieur"),
    ("M. et Mme Dupont", "en", "For the attention of M. et Mme Dupont", "Dear Sir or Madam"),
    ("Mr & Mrs Smith", "en", "For the attention of Mr & Mrs Smith", "Dear Sir or Madam"),
    ("M. le Maire", "fr", "À l’attention de M. le Maire", "Monsieur le Maire"),
    ("Mme la Directrice, achats", "fr", "À l’attention de Mme la Directrice, achats",
     "Madame la Directrice"),
    ("M. le Maire", "en", "For the attention of M. le Maire", "Dear Sir or Madam"),
    # surnames that begin with an article are no office
    ("M. Le Goff", "fr", "À l’attention de M. Le Goff", "Monsieur"),
    ("Mme La Fontaine", "en", "For the attention of Ms La Fontaine", "Dear Ms La Fontaine"),
    ("M. Jean de La Fontaine", "en", "For the attention of Mr Jean de La Fontaine",
     "Dear Mr de La Fontaine"),
    ("M. Paul Dupont (DAF)", "en", "For the attention of Mr Paul Dupont (DAF)", "Dear Mr Dupont"),
    ("M. L'Hermite", "fr", "À l’attention de M. L'Hermite", "Monsieur"),
    ("M. l'Abbé", "fr", "À l’attention de M. l'Abbé", "Monsieur l'Abbé"),
])
def test_attention_line_and_salutation_follow_the_contact(contact, lang, attention, salutation):
    from relance.documents import context
    assert context.attention_line(contact, lang) == attention
    assert context.salutation(contact, lang) == salutation


def test_letters_greet_the_named_contact(run):
    assert "Monsieur,\n" in run["texts"]["CL001"] and "agréer, Monsieur," in run["texts"]["CL001"]
    assert "Dear Mr Harcourt," in run["texts"]["CL007"]


def test_a_consumer_without_contact_is_greeted_by_the_title_in_his_name(run):
    """M. Julien Marchand, a consumer, has no contact: he is the person to greet."""
    text = run["texts"]["CL005"]
    assert "\nMonsieur,\n" in text and "Madame, Monsieur" not in text
    others = [k for k, text in run["texts"].items() if "Madame, Monsieur,\n" in text]
    assert others and "CL005" not in others  # companies without a named person still are


def test_a_credit_note_is_deducted_by_one_letter_only(sample_copy):
    """Dupont & Fils owes 2 880,00 + 2 145,60 and holds a 350,00 credit note. The letter of
    10 October claims the first invoice less the credit note; the letter of 1 December
    claims the second in full: paid as asked, the two add up to what is owed."""
    book = sample_copy
    first, _ = run_json("generate", book, "--as-of", "2026-10-10", "--channels", "courrier")
    (october,) = [x for x in first["letters"] if x["client_code"] == "CL001"]
    assert october["invoices"] == ["FA-2026-0101"] and october["total"] == pytest.approx(2530.0)
    assert "AV-2026-0007" in docx_text(october["files"]["courrier"])

    wb = openpyxl.load_workbook(book)
    journal = wb["Journal"]
    cells = [row for row in journal.iter_rows(values_only=True) if row and "CL001" in row]
    assert any("avoir AV-2026-0007" in str(cell) for row in cells for cell in row)

    second, proc = run_json("generate", book, "--as-of", SAMPLE_DATE.isoformat(),
                            "--channels", "courrier")
    (december,) = [x for x in second["letters"] if x["client_code"] == "CL001"]
    assert december["invoices"] == ["FA-2026-0102"]
    assert december["total"] == pytest.approx(2145.60)
    assert october["total"] + december["total"] == pytest.approx(4675.60)
    text = docx_text(december["files"]["courrier"])
    assert "AV-2026-0007" not in text and "2 145,60 €" in text
    assert "avoir AV-2026-0007 déjà déduit par la 2e relance du 10/10/2026" in proc.stderr


def test_english_letters_sign_with_the_english_title_when_given(run):
    """`Fonction du signataire (anglais)` (the sample has it): the English letter says
    Managing Director where the French ones keep Gérante, and the run has nothing to say."""
    texts = run["texts"]
    assert "Managing Director" in texts["CL007"] and "Gérante" not in texts["CL007"]
    assert "Gérante" in texts["CL004"] and "Managing Director" not in texts["CL004"]
    assert "sont signées" not in run["proc"].stderr


def test_english_letters_without_an_english_title_are_pointed_out(tmp_path):
    """Without the English title, the English letters keep the French one, and the run says
    so before anything is posted."""
    import shutil
    from conftest import SAMPLE
    book = tmp_path / "relances.xlsx"
    shutil.copy2(SAMPLE, book)
    wb = openpyxl.load_workbook(book)
    ws = wb["Paramètres"]
    (row,) = [row for row in ws.iter_rows(min_row=2)
              if row[0].value == "Fonction du signataire (anglais)"]
    ws.delete_rows(row[0].row)
    wb.save(book)
    result, proc = run_json("generate", book, "--as-of", SAMPLE_DATE.isoformat(),
                            "--channels", "courrier")
    texts = {x["client_code"]: docx_text(x["files"]["courrier"]) for x in result["letters"]}
    assert "Gérante" in texts["CL007"] and "Managing Director" not in texts["CL007"]
    assert "les lettres en anglais sont signées « Gérante »" in proc.stderr
    assert "Fonction du signataire (anglais)" in proc.stderr
    assert any("signées « Gérante »" in w for w in result["warnings"])
