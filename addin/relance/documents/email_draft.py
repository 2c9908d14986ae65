"""The e-mail channel: one standard `.eml` draft per letter, the letter attached.

The body is rendered from `templates/2e_relance_email.txt` (plain text, no escaping) and
`templates/2e_relance_email.html` (HTML, autoescaped: `Dupont & Fils <Nord>` cannot break the
markup), `_en` variants for English-speaking clients, with the letter's own context
(documents/context.py) so the figures are the letter's figures. Jinja runs sandboxed and
strict: a variable the code does not provide stops the run before anything is written.

The draft carries `X-Unsent: 1`, so Outlook opens it as a message ready to send; sending.py
removes that header from the copy it actually sends.
"""
from __future__ import annotations

import email.errors
import email.policy
import functools
import mimetypes
import os
import re
import tempfile
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, localtime, make_msgid
from importlib import resources
from pathlib import Path

from jinja2 import meta

from ..formatting import money
from ..letters import Letter
from ..model import RelanceError, Settings
from .templating import TEMPLATE_FAILURES, sandbox, template_error, unknown_variables

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MIME_TYPES = {".pdf": "application/pdf", ".docx": DOCX_TYPE}

# Variables the channel templates get besides the letter context.
EXTRA_VARIABLES = frozenset({"short"})

_SEPARATORS = re.compile(r"[;,\s]+")


# --- templates -----------------------------------------------------------------------------

def template_name(kind: str, lang: str, ext: str) -> str:
    """`2e_relance_email.txt`, `2e_relance_email_en.html`, `2e_relance_sms_en.txt`…"""
    suffix = "_en" if lang == "en" else ""
    return f"2e_relance_{kind}{suffix}.{ext}"


def template_path(name: str, folder: Path | None = None) -> Path:
    """The template `name`: from `folder` when given and the file is there, else the one
    shipped in the package (relance.templates)."""
    if folder is not None:
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    return Path(str(resources.files("relance.templates") / name))


@functools.lru_cache(maxsize=32)
def _compiled(source: str, html: bool) -> tuple:
    """(The template, the variables it uses) of one template text. Compiling costs 25 ms, a
    hundred times the rendering: a run of a thousand e-mails compiles each template once. The
    text is the key, so a template edited between two runs is compiled again."""
    env = sandbox(autoescape=html, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(source), frozenset(meta.find_undeclared_variables(env.parse(source)))


def render_template(path: Path, context: dict, *, html: bool = False) -> str:
    """Render one text or HTML channel template; any problem becomes a French RelanceError
    naming the template (and the variable, for an unknown one)."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise RelanceError(f"Modèle « {path.name} » illisible ({err.strerror or err}).") from None
    try:
        template, used = _compiled(source, html)
        unknown = used - set(context) - EXTRA_VARIABLES
        if unknown:
            raise unknown_variables(path.name, unknown)
        return template.render(context)
    except TEMPLATE_FAILURES as err:
        raise template_error(path.name, err, source) from None


# --- the message ---------------------------------------------------------------------------

def email_subject(letter: Letter, lang: str = "fr") -> str:
    """`2e relance – factures FA-1, FA-2 – 4 675,60 € à régler` (English equivalent)."""
    numbers = ", ".join(letter.numbers)
    plural = len(letter.numbers) > 1
    if lang == "en":
        return (f"Second reminder – invoice{'s' if plural else ''} {numbers} – "
                f"{money(letter.total, 'en')} due")
    return (f"2e relance – facture{'s' if plural else ''} {numbers} – "
            f"{money(letter.total, 'fr')} à régler")


def recipient_addresses(raw: str) -> list:
    """The addresses in an `E-mail` cell (several may be separated by `;`, `,` or spaces)."""
    return [a for a in _SEPARATORS.split(raw or "") if a]


def email_problem(letter: Letter) -> str:
    """Why this client cannot get an e-mail (French, for the run's summary), or ""."""
    raw = (letter.client.email or "").strip()
    if not raw:
        return f"{letter.client.name} : pas d'adresse e-mail, pas d'e-mail de relance"
    bad = [a for a in recipient_addresses(raw) if not valid_address(a)]
    if bad:
        return (f"{letter.client.name} : adresse e-mail invalide « {bad[0]} », pas d'e-mail "
                f"de relance")
    return ""


def valid_address(addr: str) -> bool:
    if not re.fullmatch(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+", addr):
        return False
    try:
        Address(addr_spec=addr)
    except (ValueError, IndexError, TypeError, email.errors.HeaderParseError):
        return False  # `jean@dupont.fr.`, `a@x..fr`: the header parser's own refusals
    return True


def sender_address(settings: Settings) -> str:
    return (settings.smtp.sender or "").strip() or (settings.company.email or "").strip()


def build_email(letter: Letter, context: dict, settings: Settings, attachment: Path | None,
                *, template_dir: Path | None = None, now=None) -> EmailMessage:
    """The draft for one letter. `context` is `letter_context(letter, settings, as_of)`;
    `attachment` the letter's PDF (else its .docx), or None; `template_dir` a folder whose
    `2e_relance_email*.txt/html` replace the shipped ones. Raises RelanceError for an unknown
    template variable, a missing sender address or a client without a usable e-mail."""
    lang = "en" if context.get("lang", letter.client.language) == "en" else "fr"
    text = render_template(template_path(template_name("email", lang, "txt"), template_dir),
                           context)
    html = render_template(template_path(template_name("email", lang, "html"), template_dir),
                           context, html=True)

    problem = email_problem(letter)
    if problem:
        raise RelanceError(problem)
    sender = sender_address(settings)
    if not sender or not valid_address(sender):
        raise RelanceError("Paramètres : indiquez l'« E-mail » de la société (ou l'« Expéditeur "
                           "e-mail ») pour écrire les e-mails de relance.")

    msg = EmailMessage(policy=email.policy.default)
    msg["From"] = Address(display_name=_one_line(settings.company.name), addr_spec=sender)
    msg["To"] = [Address(display_name=_one_line(letter.client.name), addr_spec=a)
                 for a in recipient_addresses(letter.client.email)]
    msg["Subject"] = email_subject(letter, lang)
    msg["Date"] = format_datetime(now or localtime())
    msg["Message-ID"] = make_msgid(idstring="relance", domain=sender.rpartition("@")[2].lower())
    msg["X-Unsent"] = "1"
    msg.set_content(_crlf_free(text), subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(_crlf_free(html), subtype="html", charset="utf-8",
                        cte="quoted-printable")
    msg["Content-Language"] = lang  # after the bodies: setting content clears Content-* headers
    if attachment is not None:
        attach(msg, Path(attachment))
    return msg


def _one_line(name: str) -> str:
    """A name as a header holds it: a cell's line breaks (Alt+Entrée) become spaces."""
    return " ".join(name.split())


def _crlf_free(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\n")
    return text if text.endswith("\n") else text + "\n"


def attach(msg: EmailMessage, path: Path) -> None:
    """Attach a file with its MIME type and its name (RFC 2231 for a non-ASCII name)."""
    ctype = MIME_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] \
        or "application/octet-stream"
    maintype, subtype = ctype.split("/", 1)
    name = path.name
    filename = name if name.isascii() else ("utf-8", "", name)
    msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype,
                       filename=filename)


# --- writing -------------------------------------------------------------------------------

def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and one rename:
    a reader never sees a half-written file."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(prefix=".~", suffix=path.suffix + ".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes it private; a document is not
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def eml_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=email.policy.SMTP)


def write_eml(message: EmailMessage, path: Path) -> None:
    """The message as a standard `.eml` file (CRLF line ends), written atomically."""
    write_atomic(Path(path), eml_bytes(message))
