"""The `relance` command's entry point, kept light: it starts reading the workbook in the
background, then imports the rest of Relance while calamine parses (a tenth of a second won
on a large ledger, nothing lost on a small one). For `scan --json` on a large ledger, the
background read only inflates the sheet's XML, which two processes then parse (json_scan)."""
from __future__ import annotations

import os
import sys
from typing import Optional

from . import parallelism
from .parallelism import parallel_mode, share_out
from .reading import ahead

_COMMANDS = ("scan", "generate")
_TAKE_A_VALUE = ("--as-of", "--out", "--channels")


def workbook_argument(args: list) -> Optional[str]:
    """The WORKBOOK of `relance scan|generate … WORKBOOK …`, without argparse (which the
    command line module brings with the rest); None when the arguments are not that."""
    rest = iter(args)
    for arg in rest:
        if arg in _COMMANDS:
            break
        if not arg.startswith("-"):
            return None
    else:
        return None
    for arg in rest:
        if arg == "--":
            return next(rest, None)
        if arg in _TAKE_A_VALUE:
            next(rest, None)
        elif not arg.startswith("-"):
            return arg
    return None


def is_json_scan(args: list) -> bool:
    """`relance … scan … --json …` (the options before `--`; `--js` as argparse takes it)."""
    options = args[:args.index("--")] if "--" in args else args
    commands = [a for a in options if a in _COMMANDS]
    return (bool(commands) and commands[0] == "scan"
            and any(len(a) >= 3 and "--json".startswith(a) for a in options))


def main(argv: Optional[list] = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    workbook = workbook_argument(args)
    if (workbook and workbook.lower().endswith(ahead.WORKBOOK_SUFFIXES)
            and os.environ.get("RELANCE_READER", "calamine") == "calamine"
            and parallel_mode() != "never"):
        ahead.start(workbook, share_out if is_json_scan(args) else None)
    if is_json_scan(args):
        parallelism.end_process_after_command()
    from .cli import main as cli_main
    code = _flushed(cli_main(argv))
    if parallelism.ends_after_command():
        # What is left is freeing memory object by object, which the system does at once
        # (os._exit would drop what the streams hold: they are flushed above).
        os._exit(code)
    return code


def _flushed(code: int) -> int:
    """The exit code once standard output and error are flushed (what is left after the
    command's own writes, a table or a summary): a reader gone (`… | head`) is no error, as
    the command itself says; output that could not be written (a full disk) is one, told on
    standard error."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except (OSError, ValueError) as err:
        from .oserrors import output_error_message, silence_standard_output
        silence_standard_output()
        if not isinstance(err, BrokenPipeError):
            try:
                print(f"Erreur : {output_error_message(err)}", file=sys.stderr)
            except (OSError, ValueError, AttributeError):
                pass
            code = code or 1
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return code
