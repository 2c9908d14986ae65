"""A run's documents, decided and checked before anything is written.

The command line and the Excel button both build a Batch from a Ledger: the letters (from
the pure plan), every file each letter gets on each channel (letter, PDF, e-mail draft,
SMS list) under its final name, the clients a channel cannot reach, and the checks that
must stop a run early (settings, ways to pay, templates).
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Optional

from .documents.context import letter_context
from .documents.docx_letters import LetterRenderer, template_for
from .documents.email_draft import (email_problem, render_template, sender_address, template_name,
                                    template_path, valid_address)
from .documents.filenames import document_owner, letter_stems
from .documents.sms import sms_row
from .formatting import money
from .journal import recorded_files
from .letters import Letter, Plan, plan_run
from .model import Anomaly, RelanceError, Settings
from .reading.settings import invalid_identifiers, missing_for_generate, settings_warnings

CHANNEL_NAMES = ("courrier", "email", "sms")


@dataclass(frozen=True)
class Channels:
    """What a run produces: SPEC's channels (courrier, email, sms), PDFs, and sending."""

    courrier: bool = True
    email: bool = True
    sms: bool = True
    pdf: bool = False
    send_email: bool = False

    @classmethod
    def of(cls, names, pdf: bool = False, send_email: bool = False) -> "Channels":
        names = set(names)
        return cls("courrier" in names, "email" in names, "sms" in names, pdf, send_email)


@dataclass
class LetterOutput:
    letter: Letter
    files: dict  # channel (courrier, pdf, email, sms) -> final Path
    stem: str = ""  # the letter's file name without extension (its .docx, .pdf, .eml)


@dataclass
class Batch:
    plan: Plan
    channels: Channels
    outputs: list = field(default_factory=list)  # LetterOutput per letter
    settings: Settings = None
    renderers: dict = field(default_factory=dict)  # language -> LetterRenderer
    owners: list = field(default_factory=list)  # letter_owner of each letter
    run_owner: str = ""  # the workbook's mark on the run's shared files
    recorded: set = field(default_factory=set)  # case-folded stems the journal records
    sms: list = field(default_factory=list)  # documents.sms.SmsRow
    shared: dict = field(default_factory=dict)  # combined, register, sms -> final Path
    unreached: list = field(default_factory=list)  # Anomaly: no e-mail, no mobile
    warnings: list = field(default_factory=list)  # what the letters lack (settings)

    def context(self, letter: Letter) -> dict:
        """A letter's template context, made when needed and not kept: a run of 5,000 letters
        holds one at a time."""
        return letter_context(letter, self.settings, self.plan.as_of)

    def second_reminder_dates(self) -> dict:
        """Sheet row -> the run's date, for the invoices of the letters that reach their client
        on at least one channel (a client the run produced nothing for is not marked)."""
        return {line.invoice.row: self.plan.as_of for out in self.outputs
                for line in out.letter.lines}


def prepare_batch(ledger, *, is_csv: bool, workbook_dir: Path, folder: Path, as_of: date,
                  channels: Channels = Channels()) -> Batch:
    settings = ledger.settings
    plan = plan_run(ledger, as_of)
    # the sender matters only when some letter goes by e-mail
    needs_sender = channels.email and any(not email_problem(lt) for lt in plan.letters)
    _check_settings(settings, is_csv, plan.anomalies, needs_sender, plan)
    english = any(letter.client.language == "en" for letter in plan.letters)
    # what the letters lack matters where a letter goes: on paper, or attached to an e-mail
    warnings = settings_warnings(settings, english, letters=channels.courrier or channels.email)
    batch = Batch(plan, channels, settings=settings, warnings=warnings)
    if not plan.letters:
        return batch
    for letter in plan.letters:
        lang = letter.client.language
        if lang not in batch.renderers:
            batch.renderers[lang] = LetterRenderer(template_for(lang, settings, workbook_dir))
            batch.renderers[lang].check(batch.context(letter))
    batch.owners = [letter_owner(ledger.source, lt) for lt in plan.letters]
    # the same workbook and the same invoices: the same run (done again after an interruption)
    numbers = "|".join(sorted(n for lt in plan.letters for n in lt.numbers))
    batch.run_owner = "relance:" + hashlib.sha1(f"{ledger.source}|{numbers}".encode("utf-8")
                                                ).hexdigest()[:20]
    batch.recorded = _recorded_stems(ledger.journal, workbook_dir, folder)
    stems = _stems(batch.recorded, plan, batch.owners, folder, as_of)
    batch.outputs = [LetterOutput(letter, {"courrier": folder / f"{stem}.docx"}, stem)
                     for letter, stem in zip(plan.letters, stems)]
    _plan_channels(batch, settings, folder, as_of)
    return batch


def letter_owner(source: str, letter: Letter) -> str:
    """Who a letter file belongs to: the workbook's name and the client. A run may replace its
    own unrecorded letter (left by an interrupted run), never another workbook's."""
    digest = hashlib.sha1(f"{source}|{letter.client.key}".encode("utf-8")).hexdigest()[:20]
    return f"relance:{digest}"  # a document property holds at most 255 characters


def _stems(recorded: set, plan, owners, folder: Path, as_of: date) -> list:
    def taken(stem: str, i: int) -> bool:
        """Recorded by this workbook's journal, or another's: a letter written for another
        workbook or client, or a draft or PDF of that name without our letter beside it."""
        if stem.casefold() in recorded:
            return True
        letter = folder / f"{stem}.docx"
        if letter.exists():
            return document_owner(letter) != owners[i]
        return any((folder / f"{stem}{ext}").exists() for ext in (".eml", ".pdf"))
    return letter_stems([(lt.client.name, lt.client.code) for lt in plan.letters],
                        prefix=f"2e relance {as_of.isoformat()}", taken=taken)


def _recorded_stems(journal, base: Path, folder: Path) -> set:
    """Case-folded names of the files in `folder` that the journal records."""
    stems = set()
    for name in recorded_files(journal):
        path = Path(name) if Path(name).is_absolute() else base / name
        if path.parent.resolve() == folder.resolve():
            stems.add(path.stem.casefold())
    return stems


def _plan_channels(batch: Batch, settings: Settings, folder: Path, as_of: date) -> None:
    """Each letter's files on the other channels, the shared files, the clients a channel
    cannot reach; the e-mail templates are checked here, before anything is written."""
    channels = batch.channels
    day = as_of.isoformat()
    for out in batch.outputs:
        if channels.pdf and channels.courrier:
            out.files["pdf"] = folder / f"{out.stem}.pdf"
    fresh = _SharedNames(folder, batch.run_owner, batch.recorded)
    if channels.courrier and batch.outputs:
        batch.shared["combined"] = fresh(f"2e relance {day} - toutes les lettres", ".docx")
        batch.shared["register"] = fresh("bordereau", ".xlsx")
        if channels.pdf:
            batch.shared["combined_pdf"] = batch.shared["combined"].with_suffix(".pdf")
    if not channels.courrier:
        for out in batch.outputs:
            out.files.pop("courrier")  # still rendered: the e-mail attaches the letter
    why = defaultdict(list)  # output index -> what keeps a channel from reaching its client
    if channels.email:
        _check_email_templates(batch)
        for i, out in enumerate(batch.outputs):
            problem = email_problem(out.letter)
            if problem:
                why[i].append(problem.removeprefix(f"{out.letter.client.name} : "))
            else:
                out.files["email"] = folder / f"{out.stem}.eml"
    if channels.sms:
        rows = []
        for i, out in enumerate(batch.outputs):
            row, reason = sms_row(out.letter, batch.context(out.letter))
            if row is None:
                why[i].append(reason)
            else:
                rows.append(row)
        batch.sms = rows
        if rows:
            reached = {(r.client_code, r.client) for r in rows}
            batch.shared["sms"] = fresh("sms", ".csv", reached)
            for out in batch.outputs:
                if (out.letter.client.code, out.letter.client.name) in reached:
                    out.files["sms"] = batch.shared["sms"]
    _drop_unreached(batch, why)


def _drop_unreached(batch: Batch, why: dict) -> None:
    """One line a client a channel does not reach, its reasons together (`why`: output index
    -> reasons); a client no channel reaches gets no document: its invoices are not marked
    reminded."""
    keep = [i for i, out in enumerate(batch.outputs) if set(out.files) & set(CHANNEL_NAMES)]
    kept = set(keep)
    names = Counter(out.letter.client.name for out in batch.outputs)
    for i, out in enumerate(batch.outputs):
        client = out.letter.client
        name = client.name
        reasons = list(why.get(i, ()))
        if i not in kept:
            reasons.append(f"aucun document produit sur les canaux demandés ; ses factures "
                           f"({', '.join(out.letter.numbers)}) ne sont pas marquées relancées")
        if reasons:  # namesakes told apart by their codes
            who = f"{name} ({client.code})" if names[name] > 1 and client.code else name
            batch.unreached.append(Anomaly(f"{who} : " + " ; ".join(reasons)))
    batch.outputs = [batch.outputs[i] for i in keep]
    batch.owners = [batch.owners[i] for i in keep]


class _SharedNames:
    """Names for a run's shared files (print file, register, SMS list): an earlier run's file
    stays as it was, but the unrecorded file of an interrupted run of this workbook is
    replaced, so the next run leaves no second SMS list to send twice."""

    def __init__(self, folder: Path, owner: str, recorded: set):
        """`owner` marks this very run (its workbook and its invoices)."""
        self.folder, self.owner, self.recorded = folder, owner, recorded

    def __call__(self, stem: str, suffix: str, clients: set = frozenset()) -> Path:
        """`clients`: for a CSV, which has no document properties, the rows it would hold."""
        path, n = self.folder / f"{stem}{suffix}", 2
        while path.exists() and not self._ours(path, clients):
            path, n = self.folder / f"{stem} ({n}){suffix}", n + 1
        return path

    def _ours(self, path: Path, clients: set) -> bool:
        if path.stem.casefold() in self.recorded:
            return False
        if path.suffix.lower() == ".csv":
            return _csv_clients(path) == clients
        return document_owner(path) == self.owner


def _csv_clients(path: Path) -> set:
    import csv
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return {(row.get("Code client", ""), row.get("Client", ""))
                    for row in csv.DictReader(fh, delimiter=";")}
    except (OSError, UnicodeDecodeError, csv.Error):
        return {("?", "?")}


def _check_email_templates(batch: Batch) -> None:
    for lang in sorted({lt.client.language for lt in batch.plan.letters}):
        context = batch.context(next(lt for lt in batch.plan.letters if lt.client.language == lang))
        for ext in ("txt", "html"):
            render_template(template_path(template_name("email", lang, ext)), context,
                            html=ext == "html")


def _check_settings(settings: Settings, is_csv: bool, anomalies=(), needs_sender=False,
                    plan: Optional[Plan] = None) -> None:
    """Everything the settings lack or get wrong, said at once: one run to fix them all."""
    where = ("la feuille « Paramètres » du classeur" if not is_csv
             else "le fichier parametres.csv à côté du CSV")
    missing = missing_for_generate(settings)
    if plan is not None and settings.payment.any:  # a way to pay: enough for every letter?
        missing += _payment_ways_missing(plan, settings)
    invalid = invalid_identifiers(settings)
    if needs_sender:
        sender = sender_address(settings)
        if not sender:
            missing.append("« E-mail » de la société (ou « Expéditeur e-mail »), pour écrire "
                           "les e-mails de relance (ou retirez le canal email)")
        elif not valid_address(sender):
            target = ("smtp", "sender") if settings.smtp.sender.strip() else ("company", "email")
            key = "Expéditeur e-mail" if target[0] == "smtp" else "E-mail"
            cell = settings.cells.get(target)
            invalid.append(f"{cell.describe() + ' : ' if cell is not None else ''}« {key} » = "
                           f"« {sender} » : adresse e-mail invalide (ou retirez le canal email)")
    if not missing and not invalid:
        return
    said = []
    if missing:
        intro = "" if settings.present else \
            f"Il manque {where} (deux colonnes : Paramètre, Valeur). "
        said.append(f"{intro}Paramètres à renseigner dans {where} avant de générer les "
                    f"lettres : " + " ; ".join(missing) + ".")
    if invalid:
        said.append(("À corriger aussi" if missing else
                     f"Paramètres à corriger dans {where} avant de générer les lettres")
                    + " : " + " ; ".join(invalid) + ".")
    # a misspelt key is the likeliest cause of a "missing" one: say which cell
    typos = [a.describe() for a in anomalies if "inconnu, ignoré" in a.message]
    if missing and typos:
        said.append("Paramètres non reconnus : " + " ; ".join(typos)
                    + ("" if typos[-1].endswith("?") else "."))
    # and what the next run will skip, so that it can be fixed in the same go
    rows = [a.describe() for a in anomalies if "inconnu, ignoré" not in a.message]
    if rows:
        more = f" ; et {len(rows) - ROWS_SHOWN} autre(s)" if len(rows) > ROWS_SHOWN else ""
        said.append("À vérifier aussi : " + " ; ".join(rows[:ROWS_SHOWN]) + more + ".")
    raise RelanceError(" ".join(said))


ROWS_SHOWN = 10  # the rows' problems a settings error also lists (all are in the run's report)


def _payment_ways_missing(plan: Plan, settings: Settings) -> list:
    """Every letter must offer a way to pay: cash alone is allowed only up to 1 000 €."""
    payment = settings.payment
    if payment.iban.strip() or payment.cheque_payee.strip() or payment.link.strip():
        return []
    stuck = [lt for lt in plan.letters if not lt.cash]
    if not stuck:
        return []
    names = ", ".join(f"{lt.client.name} ({money(lt.total)})" for lt in stuck[:ROWS_SHOWN])
    more = f" et {len(stuck) - ROWS_SHOWN} autre(s)" if len(stuck) > ROWS_SHOWN else ""
    return [f"« IBAN », « Ordre des chèques » ou « Lien de paiement » (seules les espèces sont "
            f"proposées, et la loi les limite à 1 000 €, ce que dépassent les lettres à "
            f"{names}{more})"]
