"""`relance scan` and `relance generate`: the command line of SPEC.md.

Exit 0 on success (nothing to do included), 1 when bad input stopped the run (French
message on stderr, nothing written), 2 for wrong usage. With --json, stdout holds only JSON.
"""
from __future__ import annotations

import argparse
import codecs
import json
import re
import shutil
import sys
import traceback
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from . import __version__
from .formatting import money, short_date, some_of
from .journal import CHANNELS
from .model import RelanceError
from .oserrors import silence
from .workbook_io import gc_paused, scan, scan_as_json
from .stages import label
from .values import CLIENT_TYPE_NAMES

_FRENCH_DATE = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")


def _as_of(text: str) -> date:
    """AAAA-MM-JJ, or JJ/MM/AAAA as a French accountant types it (day first, four-digit year:
    nothing left to guess)."""
    try:
        m = _FRENCH_DATE.fullmatch(text.strip())
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"date invalide « {text} » (attendu AAAA-MM-JJ ou JJ/MM/AAAA)") from None


def _channels(text: str) -> tuple:
    items = tuple(dict.fromkeys(x.strip().lower().replace("e-mail", "email")
                                for x in text.split(",") if x.strip()))
    unknown = [x for x in items if x not in CHANNELS]
    if unknown or not items:
        raise argparse.ArgumentTypeError(
            f"canal inconnu : {', '.join(unknown) or '(vide)'} (attendu : courrier, email, sms)")
    return items


_ARGPARSE_FR = (  # argparse speaks English; the accountant reads French
    (r"the following arguments are required: (.*)", r"argument(s) obligatoire(s) manquant(s) : \1"),
    (r"unrecognized arguments: (.*)", r"argument(s) non reconnu(s) : \1"),
    (r"argument (\S+): invalid choice: (.*) \(choose from (.*)\)", r"\1 : choix invalide \2 (possibles : \3)"),
    (r"argument (\S+): expected one argument", r"\1 : une valeur est attendue"),
    (r"argument (\S+): (.*)", r"\1 : \2"),
)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self._optionals.title = "options"
        self._positionals.title = "arguments"
        self.add_argument("-h", "--help", action="help", help="afficher cette aide et quitter")

    def format_usage(self):
        return super().format_usage().replace("usage:", "utilisation :", 1)

    def format_help(self):
        return super().format_help().replace("usage:", "utilisation :", 1)

    def error(self, message):  # usage errors in French, exit 2
        import re
        for pattern, french in _ARGPARSE_FR:
            if re.fullmatch(pattern, message):
                message = re.sub(pattern, french, message)
                break
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="relance", description="Deuxièmes lettres de relance des factures "
                     "impayées, depuis le classeur des créances.")
    parser.add_argument("--version", action="version", version=f"relance {__version__}",
                        help="afficher la version et quitter")
    parser.add_argument("--debug", action="store_true", help="afficher le détail d'une erreur interne")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                title="commandes", metavar="{scan,generate}")

    p = sub.add_parser("scan", help="afficher l'étape de relance de chaque facture")
    p.add_argument("workbook", type=Path, metavar="CLASSEUR", help="classeur .xlsx/.xlsm ou export .csv")
    p.add_argument("--as-of", type=_as_of, default=None, metavar="AAAA-MM-JJ", help="date de référence AAAA-MM-JJ ou JJ/MM/AAAA (défaut : aujourd'hui)")
    p.add_argument("--json", action="store_true", help="sortie JSON sur la sortie standard")

    g = sub.add_parser("generate", help="écrire les 2es lettres de relance et les consigner")
    g.add_argument("workbook", type=Path, metavar="CLASSEUR", help="classeur .xlsx/.xlsm ou export .csv")
    g.add_argument("--as-of", type=_as_of, default=None, metavar="AAAA-MM-JJ", help="date de référence AAAA-MM-JJ ou JJ/MM/AAAA (défaut : aujourd'hui)")
    g.add_argument("--out", type=Path, default=None, metavar="DOSSIER", help="dossier de sortie (les fichiers y sont écrits directement)")
    g.add_argument("--channels", type=_channels, default=None, metavar="LISTE",
                   help="canaux, liste séparée par des virgules : courrier,email,sms (défaut : les trois)")
    g.add_argument("--pdf", action="store_true", help="ajouter les PDF des lettres")
    g.add_argument("--send-email", action="store_true", help="envoyer les e-mails (SMTP configuré)")
    g.add_argument("--dry-run", action="store_true", help="ne rien écrire, dire ce qui serait écrit")
    g.add_argument("--json", action="store_true", help="sortie JSON sur la sortie standard")
    return parser


class OutputError(RelanceError):
    """Standard output could not take what the command writes (a full disk behind
    `> sortie.txt`, an encoding that lacks a character of the text)."""

    def __init__(self, err: Exception, encoding: str = ""):
        from .oserrors import output_error_message, silence_standard_output
        silence_standard_output()  # what it still holds would fail again at the end
        super().__init__(output_error_message(err, encoding))


# French typography an output encoding may lack (cp1252, Windows' for a redirected output,
# has no narrow no-break space; latin-1 and cp850 have no euro sign either): written plainer
# rather than not at all. Tried in turn.
_PLAINER = ({0x202F: 0xA0},
            {0x202F: " ", 0xA0: " ", 0x20AC: "EUR", 0xAB: '"', 0xBB: '"', 0x2019: "'",
             0x2026: "...", 0x2013: "-", 0x2014: "-"})


def fit_encoding(text: str, encoding) -> str:
    """`text` as `encoding` can write it: the same, or with its typography made plainer
    (_PLAINER) where that is all it lacks."""
    for candidate in (text, *(text.translate(table) for table in _PLAINER)):
        try:
            candidate.encode(encoding or "utf-8")
            return candidate
        except UnicodeEncodeError:
            continue
        except LookupError:  # an encoding Python does not know: the stream will say
            return text
    return text


class _Wrapped:
    """A standard stream with its writes looked after (below); anything else is the
    stream's."""

    def __init__(self, stream):
        self._stream = stream

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _GuardedOutput(_Wrapped):
    """sys.stdout while the command runs: a write that fails for another reason than a reader
    gone (`| head`, left to main) raises OutputError, told in French, not as an internal
    error; typography the encoding lacks is written plainer (fit_encoding)."""

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except UnicodeEncodeError as err:
            encoding = getattr(self._stream, "encoding", "")
            plainer = fit_encoding(text, encoding)
            if plainer is text:
                raise OutputError(err, encoding) from None
            return self.write(plainer)  # its own failures told as any other
        except OSError as err:
            raise OutputError(err) from None

    def flush(self):
        try:
            return self._stream.flush()
        except BrokenPipeError:
            raise
        except (OSError, UnicodeEncodeError) as err:
            raise OutputError(err) from None


class _QuietDiagnostics(_Wrapped):
    """sys.stderr while the command runs: warnings, progress and summaries that cannot be
    written (`2>&1 >sortie.json | head -1`, `2>/dev/full`) are dropped, and the command goes on
    (its JSON on standard output, its letters, its workbook do not depend on them)."""

    def write(self, text):
        try:
            return self._stream.write(fit_encoding(text, getattr(self._stream, "encoding", ""))
                                      if not text.isascii() else text)
        except (OSError, ValueError):
            silence(self._stream)
            return len(text)

    def flush(self):
        try:
            return self._stream.flush()
        except (OSError, ValueError):
            silence(self._stream)


def main(argv=None) -> int:
    import os
    # a stream closed by the caller (`relance … >&-`): what would go there goes nowhere
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")
    real, sys.stdout = sys.stdout, _GuardedOutput(sys.stdout)
    real_err, sys.stderr = sys.stderr, _QuietDiagnostics(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = real, real_err


def _main(argv) -> int:
    try:
        try:
            args = build_parser().parse_args(argv)  # --help writes to standard output
        except SystemExit:  # --help, --version, a usage error: what they wrote goes out now
            sys.stdout.flush()
            raise
    except OutputError as err:
        print(f"Erreur : {err.message}", file=sys.stderr)
        return 1
    as_of = args.as_of or date.today()
    try:
        if args.command == "scan":
            with gc_paused():  # a short command: what it leaves goes when it ends
                return _scan(args, as_of)
        return _generate(args, as_of)
    except RelanceError as err:
        print(f"Erreur{_in_file(args.workbook, err)} : {err.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrompu : le classeur n'a pas été modifié par cette exécution.", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `relance scan … | head`: the reader stopped listening, not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:
        if args.debug:
            raise
        print("Erreur interne de Relance (ce n'est pas votre fichier) :", file=sys.stderr)
        print("".join(traceback.format_exc(limit=-3)).rstrip(), file=sys.stderr)
        print("Relancez avec --debug pour le détail complet et signalez-le.", file=sys.stderr)
        return 1


def _in_file(workbook: Path, err: RelanceError) -> str:
    """` (relances.xlsx)`, the run the error stopped, when the message does not name the file
    already: a job that runs on several workbooks must tell which one to look at. Not for
    standard output that could not be written, which is no fault of the file."""
    name = workbook.name
    return "" if not name or name in err.message or isinstance(err, OutputError) else \
        f" ({name})"


@contextmanager
def _standard_output():
    """Writing the JSON, flushed at the end so that a failure shows here, bytes written to
    the stream's buffer included (see _GuardedOutput)."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except (OSError, UnicodeEncodeError) as err:
        raise OutputError(err) from None


def _say(*parts) -> None:
    print(*parts, file=sys.stderr)


def _out(args, text: str = "") -> None:
    """Human output: stdout normally, stderr when stdout is reserved for JSON."""
    print(text, file=sys.stderr if args.json else sys.stdout)


def _report_anomalies(args, anomalies) -> None:
    """Before the results, so a skipped row is not missed under the summary table."""
    if anomalies:
        _say(f"{len(anomalies)} point(s) à vérifier :")
        for a in anomalies:
            _say(f"  - {a.describe()}")


def _anomaly_json(a) -> dict:
    out = {"message": a.describe()}
    if a.where:
        out.update(sheet=a.where.sheet, row=a.where.row)
        if a.where.column:
            out["cell"] = a.where.cell
    return out


# --- scan --------------------------------------------------------------------------------

def _utf8_output() -> bool:
    return codecs.lookup(sys.stdout.encoding or "ascii").name == "utf-8"


def ascii_json(text: str) -> str:
    """JSON text with every character beyond ASCII as its `\\uXXXX` escape (two for those
    beyond the first plane), as `json.dumps` writes it by default: the same JSON, which any
    output encoding can carry (a Windows console, PYTHONIOENCODING=ascii)."""
    import re

    def escape(m):
        code = ord(m.group())
        if code > 0xFFFF:
            code -= 0x10000
            return "\\u%04x\\u%04x" % (0xD800 | (code >> 10), 0xDC00 | (code & 0x3FF))
        return "\\u%04x" % code
    return re.sub(r"[^\x00-\x7f]", escape, text)


def _scan(args, as_of: date) -> int:
    if args.json:
        pieces, anomalies = scan_as_json(args.workbook, as_of)
        _report_anomalies(args, anomalies)
        with _standard_output():
            if _utf8_output() and hasattr(sys.stdout, "buffer"):
                for piece in pieces:
                    if isinstance(piece, bytes):  # UTF-8 from the worker, written as it is
                        sys.stdout.flush()
                        sys.stdout.buffer.write(piece)
                    else:
                        sys.stdout.write(piece)
            else:  # another encoding: every character written as JSON's \u escape
                sys.stdout.write(ascii_json("".join(p.decode("utf-8") if isinstance(p, bytes)
                                                    else p for p in pieces)))
            sys.stdout.write("\n")
        return 0
    plan = scan(args.workbook, as_of)
    _report_anomalies(args, plan.anomalies)
    if not plan.lines:  # headers alone, or every row unreadable (reported above)
        print(f"Aucune facture lue au {short_date(as_of)}.")
        return 0
    rows = [(ln.invoice.number, ln.invoice.client.name, short_date(ln.invoice.due_date),
             money(ln.balance), label(ln.stage)) for ln in plan.lines]
    _table(("N° facture", "Client", "Échéance", "Reste dû", "Étape"), rows, right={3})
    counts = {}
    for ln in plan.lines:
        counts[ln.stage] = counts.get(ln.stage, 0) + 1
    print(f"\n{len(plan.lines)} facture(s) au {short_date(as_of)} : " +
          ", ".join(f"{label(s)} {n}" for s, n in counts.items()))
    return 0


# --- generate ----------------------------------------------------------------------------

def _generate(args, as_of: date) -> int:
    from .batch import Channels  # the document machinery, only for a run that writes
    from .run import Options, generate
    names = args.channels or tuple(CHANNELS)  # SPEC: the three channels by default
    channels = Channels.of(names, pdf=args.pdf, send_email=args.send_email)
    if args.send_email and not channels.email:
        raise RelanceError("--send-email envoie les e-mails : ajoutez le canal email à --channels.")
    progress = _progress_bar()
    try:
        result = generate(args.workbook, Options(as_of=as_of, out=args.out, dry_run=args.dry_run,
                                                 channels=channels),
                          progress=progress.update if progress else None)
    finally:
        if progress:
            progress.close()
    if args.json:
        text = json.dumps(_result_json(result), ensure_ascii=not _utf8_output(),
                          indent=1) + "\n"
        try:  # one write: an encoding that lacks a character stops it before it starts
            with _standard_output():
                sys.stdout.write(text)
        finally:
            _summary(args, result)
        return 0
    _summary(args, result)
    return 0


def _file_names(output) -> str:
    """The name the client's own files share (letter, PDF, e-mail), or the shared file that
    holds its part (sms.csv)."""
    if set(output.files) & {"courrier", "pdf", "email"}:
        return output.stem
    return ", ".join(sorted({path.name for path in output.files.values()}))


def _result_json(result) -> dict:
    plan = result.plan
    return {
        "as_of": plan.as_of.isoformat(),
        "dry_run": result.dry_run,
        "nothing_to_do": result.nothing_to_do,
        "output_dir": str(result.output_dir),
        "letters": [{
            "client": out.letter.client.name,
            "client_code": out.letter.client.code,
            "invoices": list(out.letter.numbers),
            "total": float(out.letter.total),
            "files": {channel: str(path) for channel, path in out.files.items()},
        } for out in result.outputs],
        "responded": [{"invoice": ln.invoice.number, "client": ln.invoice.client.name,
                       "response": str(ln.invoice.response)} for ln in plan.responded],
        "default_client_type_letters": plan.defaulted_type_count,
        "anomalies": [_anomaly_json(a) for a in plan.anomalies],
        "unreached": [a.message for a in result.unreached],
        "files": {kind: str(path) for kind, path in result.shared.items()},
        "notes": list(result.notes),
        "warnings": list(result.warnings),
        "backup": str(result.backup) if result.backup else None,
        "journal": str(result.journal) if result.journal else None,
        "column_added": result.column_added,
        "dates_to_record_by_hand": [{"row": r, "invoice": n, "reason": why}
                                    for r, n, why in result.manual_dates],
    }


def _summary(args, result) -> None:
    plan = result.plan
    _report_anomalies(args, plan.anomalies)
    for warning in result.warnings:
        _say(f"Attention : {warning}.")
    if result.unreached:
        _say(f"{len(result.unreached)} client(s) non joignable(s) sur un canal :")
        for a in result.unreached:
            _say(f"  - {a.message}")
    if result.nothing_to_do:
        _out(args, f"Rien à faire au {short_date(plan.as_of)} : aucune facture n'attend de 2e "
                   f"relance (celles déjà relancées ne le sont pas deux fois).")
    else:
        n_inv = sum(len(o.letter.lines) for o in result.outputs)
        if any("courrier" in o.files for o in result.outputs):
            verb = "seraient écrites" if result.dry_run else "écrites"
            what = f"{len(result.outputs)} lettre(s) de 2e relance {verb}"
        else:
            verb = "seraient relancés" if result.dry_run else "relancés"
            what = f"{len(result.outputs)} client(s) {verb} une 2e fois, sans lettre"
        _out(args, f"{what} ({n_inv} facture(s)) dans {result.output_dir} :")
        rows = [(o.letter.client.name, ", ".join(o.letter.numbers), money(o.letter.total),
                 _file_names(o), _channels_of(o)) for o in result.outputs]
        _table(("Client", "Factures", "Total réclamé", "Nom des fichiers", "Canaux"), rows,
               right={2}, whole={3},
               file=sys.stderr if args.json else sys.stdout)
        labels = {"combined": "Toutes les lettres, à imprimer", "combined_pdf": "Idem en PDF",
                  "register": "Bordereau d'envoi", "sms": "SMS à envoyer"}
        for kind, path in result.shared.items():
            _out(args, f"{labels.get(kind, kind)} : {path.name}")
        sent = sum(1 for e in result.entries if e.status == "envoyé")
        if sent:
            _out(args, f"{sent} e-mail(s) envoyé(s) (les brouillons .eml envoyés ne portent plus "
                       f"la marque « à envoyer »).")
        for note in result.notes:
            _out(args, f"Note : {note}")
        defaulted = [o.letter for o in result.outputs if o.letter.type_defaulted]
        if defaulted:
            _out(args, f"{len(defaulted)} lettre(s) sans « Type client », écrite(s) avec le type "
                       f"par défaut ({CLIENT_TYPE_NAMES[defaulted[0].client_type]}) : "
                       + some_of([lt.client.name for lt in defaulted]) + ".")
        if result.dry_run:
            _out(args, "Simulation (--dry-run) : aucun fichier écrit, classeur inchangé.")
        elif result.backup:
            _out(args, f"Classeur mis à jour (Date 2e relance, Journal) ; sauvegarde : {result.backup}")
        elif result.journal:
            _out(args, f"Journal : {result.journal}")
        if result.column_added:
            _out(args, f"Colonne « {result.column_added} » ajoutée à la feuille des créances.")
        reasons = {}
        for row, number, why in result.manual_dates:
            reasons.setdefault(why, []).append(f"{number} (ligne {row})")
        for why, items in reasons.items():
            _out(args, f"Date 2e relance à reporter à la main ({why}) : "
                       f"{short_date(plan.as_of)} pour les factures " + ", ".join(items) + ".")
    if plan.responded:
        _out(args, f"{len(plan.responded)} facture(s) avec réponse du client, à suivre par vous :")
        for ln in plan.responded:
            response = ln.invoice.response
            shown = short_date(response) if isinstance(response, date) else response
            _out(args, f"  - {ln.invoice.number} ({ln.invoice.client.name}) : {shown}")


def _channels_of(output) -> str:
    names = {"courrier": "lettre", "pdf": "PDF", "email": "e-mail", "sms": "SMS"}
    return ", ".join(names[c] for c in ("courrier", "pdf", "email", "sms") if c in output.files)


def _progress_bar():
    """A progress bar on stderr, only when a person is watching it."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    class _Bar:
        def __init__(self):
            self.bar = None

        def update(self, done, total, name):
            if self.bar is None:
                if total < 10:
                    return
                # a terminal that reports no size (0 × 0) would get no bar at all from tqdm
                size = shutil.get_terminal_size((80, 24))
                self.bar = tqdm(total=total, unit="lettre", file=sys.stderr, leave=False,
                                ncols=min(size.columns, 100), nrows=size.lines)
            self.bar.n = done
            self.bar.set_postfix_str(name[:30])

        def close(self):
            if self.bar is not None:
                self.bar.close()
    return _Bar()


def _table(headers, rows, right=(), file=None, whole=()) -> None:
    """A plain text table; a cell over 60 characters is cut, except in the columns `whole`
    (a file name the user will look for)."""
    file = file or sys.stdout
    widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(headers)]
    widths = [w if i in whole else min(w, 60) for i, w in enumerate(widths)]

    def fmt(row):
        cells = []
        for i, value in enumerate(row):
            text = str(value).replace("\n", " ")
            text = text if len(text) <= widths[i] else text[:widths[i] - 1] + "…"
            cells.append(text.rjust(widths[i]) if i in right else text.ljust(widths[i]))
        return "  ".join(cells).rstrip()
    print(fmt(headers), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for row in rows:
        print(fmt(row), file=file)


if __name__ == "__main__":
    sys.exit(main())
