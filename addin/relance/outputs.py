"""Writing a batch's documents: letters, PDFs, the combined print file, the sending register,
the e-mail drafts and the SMS list — all into a staging folder, then given their final names
together, so a partial file never carries a final name; then, when asked, the e-mails sent.
"""
from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .batch import Batch
from .documents import pdf as pdf_module
from .documents.combined import combine_letters
from .documents.fast_docx import combine_same_template
from .documents.email_draft import build_email, write_eml
from .documents.register import register_row, write_register
from .documents.sms import write_sms_csv
from . import faults
from .parallelism import die_with_parent, usable_cores
from .journal import DRAFT, GENERATED, SENT
from .locking import lock_key
from .model import RelanceError, Settings
from .oserrors import describe_os_error


@dataclass
class Written:
    """What a batch wrote; `status` is the journal status of each letter's documents."""

    notes: list = field(default_factory=list)  # French: no PDF converter, e-mails not sent…
    messages: dict = field(default_factory=dict)  # letter index -> EmailMessage, to send
    status: list = field(default_factory=list)  # per letter: channel -> journal status


def write_documents(batch: Batch, settings: Settings, folder: Path, progress=None,
                    workbook: Path | None = None) -> Written:
    """On failure nothing is left behind: not the staged files, nor the folders this run made.
    A staging folder a killed run of the same workbook left is removed first (the caller holds
    that workbook's run lock; another workbook's staging folder is not touched)."""
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    prefix = f".relance-en-cours-{lock_key(workbook)}-" if workbook else ".relance-en-cours-"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if workbook:
            for stale in folder.glob(prefix + "*"):
                shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
    except OSError as err:
        _remove_empty(created)
        raise RelanceError(f"Impossible de créer le dossier de sortie {folder} "
                           f"({describe_os_error(err)}). Rien n'a été écrit.") from None
    done = False
    try:
        written = _write_staged(batch, settings, staging, progress)
        moves = [(staging / p.name, p) for out in batch.outputs for p in out.files.values()]
        moves += [(staging / p.name, p) for p in batch.shared.values()]
        _move_all([m for m in dict((str(f), (t, f)) for t, f in moves).values() if m[0].exists()])
        faults.point("after-moves")
        done = True
        return written
    except OSError as err:
        raise RelanceError(f"Écriture impossible dans {folder} ({describe_os_error(err)}) : "
                           f"rien n'a été enregistré dans le classeur.") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:
            _remove_empty(created)


def _move_all(moves: list) -> None:
    """Give every staged file its final name; if one cannot (a PDF open in a viewer on
    Windows), take back the new files already moved, so the folder is as it was."""
    done = []
    try:
        for temp, final in moves:
            existed = final.exists()
            os.replace(temp, final)
            done.append((final, existed))
    except OSError:
        for final, existed in done:
            if not existed:
                final.unlink(missing_ok=True)
        raise


def _write_staged(batch: Batch, settings: Settings, staging: Path, progress) -> Written:
    written = Written(status=[{} for _ in batch.outputs])
    # the drafts are written beside their letters, by the processes that render them, unless
    # something must come first (the PDF they attach) or stay here (the messages to send)
    drafts = {} if batch.channels.pdf or batch.channels.send_email else {
        i: staging / out.files["email"].name for i, out in enumerate(batch.outputs)
        if "email" in out.files}
    letters, drafted = render_letters(batch, staging, progress, drafts, settings)
    shared = {k: staging / p.name for k, p in batch.shared.items()}
    if "combined" in shared and not combine_same_template(letters, shared["combined"],
                                                          batch.run_owner):
        combine_letters(letters, shared["combined"], owner=batch.run_owner)  # several templates
    pdfs = {}
    if batch.channels.pdf:
        pdfs = _pdfs(batch, letters, shared, staging, written)
    if "register" in shared:
        rows = [register_row(out.letter, out.files["pdf"] if i in pdfs else out.files["courrier"])
                for i, out in enumerate(batch.outputs)]
        write_register(rows, shared["register"], as_of=batch.plan.as_of, owner=batch.run_owner)
    for i, out in enumerate(batch.outputs):
        for channel in ("courrier", "pdf", "sms"):
            if channel in out.files:
                written.status[i][channel] = GENERATED
        if "email" in out.files:
            if not drafted:
                attachment = pdfs.get(i) or letters[i]
                message = build_email(out.letter, batch.context(out.letter), settings,
                                      attachment)
                write_eml(message, staging / out.files["email"].name)
                if batch.channels.send_email:  # else each goes once written: memory stays flat
                    written.messages[i] = message
            written.status[i]["email"] = DRAFT
    if "sms" in shared:
        write_sms_csv(batch.sms, shared["sms"])
    return written


PARALLEL_FROM = 150  # letters: below, starting a second process costs more than it saves


def render_letters(batch: Batch, staging: Path, progress=None, drafts=None,
                   settings: Settings | None = None) -> tuple[list, bool]:
    """Every letter into the staging folder, in order; on several cores when the run is large
    (each process compiles the templates once, then renders its share, and writes the e-mail
    drafts `drafts` asks for, letter index -> path, attaching the letter). Returns the
    letters' paths and whether the drafts were written (only on several cores)."""
    drafts = drafts or {}
    # the contexts are made as the letters are rendered, not all at once (memory stays flat)
    jobs = ((out.letter.client.language, batch.context(out.letter), staging / f"{out.stem}.docx",
             owner, out.letter if i in drafts else None, drafts.get(i))
            for i, (out, owner) in enumerate(zip(batch.outputs, batch.owners)))
    dests = [staging / f"{out.stem}.docx" for out in batch.outputs]
    names = [out.letter.client.name for out in batch.outputs]
    total = len(dests)
    workers = min(usable_cores(), 4)
    templates = {lang: r.template for lang, r in batch.renderers.items()}
    if total >= PARALLEL_FROM and workers > 1 and all(r.fast() for r in batch.renderers.values()):
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        size = 50  # letters a task: few enough in flight that memory stays flat
        chunks = iter(lambda: list(itertools.islice(jobs, size)), [])
        done, running = 0, set()
        with ProcessPoolExecutor(workers, initializer=_worker_init,
                                 initargs=(templates, settings, os.getpid())) as pool:
            while True:
                while len(running) < workers * 2:
                    chunk = next(chunks, None)
                    if chunk is None:
                        break
                    running.add(pool.submit(_worker_render, chunk))
                if not running:
                    break
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    if not done:
                        faults.point("after-first-letter")
                    done += future.result()
                    if progress:
                        progress(done, total, names[min(done, total) - 1])
        return dests, bool(drafts)
    for i, (lang, context, dest, owner, _, _) in enumerate(jobs, start=1):
        batch.renderers[lang].render(context, dest, owner)
        if i == 1:
            faults.point("after-first-letter")
        if progress:
            progress(i, total, names[i - 1])
    return dests, False


_WORKER = {"renderers": {}, "settings": None}  # a rendering process's state


def _worker_init(templates: dict, settings: Settings | None, parent: int) -> None:
    """A rendering process: it ends with the run, even a run killed outright (a pool's idle
    process would otherwise wait for work forever)."""
    die_with_parent(parent)
    from .documents.docx_letters import LetterRenderer
    for lang, path in templates.items():
        renderer = LetterRenderer(path)
        renderer._checked = True  # the parent process checked the template
        _WORKER["renderers"][lang] = renderer
    _WORKER["settings"] = settings


def _worker_render(jobs: list) -> int:
    for lang, context, dest, owner, letter, draft in jobs:
        _WORKER["renderers"][lang].render(context, dest, owner)
        if draft is not None:
            write_eml(build_email(letter, context, _WORKER["settings"], dest), draft)
    return len(jobs)


def _pdfs(batch: Batch, letters: list, shared: dict, staging: Path, written: Written) -> dict:
    """All PDFs in one conversion; without a converter, a note and the .docx files as before."""
    sources = letters + ([shared["combined"]] if "combined" in shared else [])
    try:
        converted = pdf_module.to_pdf(sources, staging)
    except RelanceError as err:
        written.notes.append(err.message)
        without_pdfs(batch)
        return {}
    return {i: converted[path] for i, path in enumerate(letters)}


def without_pdfs(batch: Batch) -> None:
    """The run goes on without PDFs (no converter): none announced, none recorded."""
    for out in batch.outputs:
        out.files.pop("pdf", None)
    batch.shared.pop("combined_pdf", None)


def check_sending(settings: Settings) -> None:
    """A run asked to send e-mails stops before writing anything when it could not send them."""
    from .sending import check_connection, smtp_password
    problem = check_connection(settings.smtp, smtp_password(settings.smtp))
    if problem:
        raise RelanceError(f"Envoi des e-mails impossible : {problem}. Rien n'a été écrit ; "
                           f"corrigez, ou relancez sans l'envoi (les brouillons .eml seront "
                           f"écrits, à envoyer depuis votre messagerie).")


def send_emails(batch: Batch, written: Written, settings: Settings) -> int:
    """Send the drafts; only those the server accepted are recorded `envoyé`, and their .eml
    loses its "to send" mark, so that opening it does not send it again. Returns how many."""
    from .documents.email_draft import write_eml
    from .sending import send_all, smtp_password
    results = send_all(sorted(written.messages.items()), settings.smtp,
                       smtp_password(settings.smtp))
    sent = 0
    for i, error in sorted(results.items()):
        if error:
            written.notes.append(f"{batch.outputs[i].letter.client.name} : {error}")
            continue
        written.status[i]["email"] = SENT
        sent += 1
        message = written.messages[i]
        del message["X-Unsent"]
        try:
            write_eml(message, batch.outputs[i].files["email"])
        except OSError:
            pass  # the message is sent; the draft keeps its mark, which is only a convenience
    return sent


def keep_sent(journal_path: Path, entries: list, err: Exception) -> RelanceError:
    """The run could not be recorded after e-mails went out: record them in journal.csv (read
    by every run) so they are never sent again, and say so."""
    from .recording import csv_journal
    message = describe_os_error(err) if isinstance(err, OSError) else \
        getattr(err, "message", str(err))
    sent = [e for e in entries if e.status == SENT]
    try:
        prepared = csv_journal.prepare(journal_path, entries)
        prepared.commit()
    except OSError:
        clients = ", ".join(e.client for e in sent)
        return RelanceError(f"{message} ATTENTION : {len(sent)} e-mail(s) sont partis ({clients}) "
                            f"mais n'ont pu être consignés nulle part : ne relancez pas l'envoi "
                            f"avant d'avoir noté la 2e relance de ces clients.")
    return RelanceError(f"{message} La relance, avec les {len(sent)} e-mail(s) envoyés, est "
                        f"consignée dans {journal_path} : rien ne sera renvoyé ; reportez la date "
                        f"de 2e relance dans le classeur à la main.")


def _remove_empty(folders) -> None:
    for path in folders:  # deepest first
        try:
            path.rmdir()
        except OSError:
            break
