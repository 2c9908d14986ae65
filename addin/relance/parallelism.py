"""How much of the machine a run may use: the RELANCE_PARALLEL setting and the usable cores.
Light on purpose (the command's entry point asks before importing anything else)."""
from __future__ import annotations

import os
import signal
import sys


_NEVER = ("never", "0", "off", "false", "no", "non", "jamais")


def parallel_mode() -> str:
    """`RELANCE_PARALLEL`: `auto` (by size, the default), `always` (every large-sheet path
    taken whatever the size: the tests compare it with `never`) or `never` (no thread nor
    process besides the command's own: no read ahead, no pieces, no worker; also `0`, `off`,
    `non`…, as such a switch is usually written)."""
    mode = os.environ.get("RELANCE_PARALLEL", "auto").strip().lower()
    if mode in _NEVER:
        return "never"
    return "always" if mode in ("always", "toujours") else "auto"


def usable_cores() -> int:
    """The cores this process may run on (its affinity, as `taskset` or a container sets it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# A sheet's XML from this size (about 20,000 rows) is parsed in pieces side by side
# (sheet_pieces.py), or shared out between two processes by `relance scan --json`: below it,
# one read is quick enough and one process quicker than two.
LARGE_SHEET_BYTES = 8_000_000


def share_out(xml_size: int) -> bool:
    """Whether `relance scan --json` shares a receivables sheet of `xml_size` bytes out between
    two processes (see json_scan.py): on Linux only, where a process forks safely."""
    import sys
    mode = parallel_mode()
    if mode == "never" or not (sys.platform.startswith("linux") and hasattr(os, "fork")):
        return False
    return mode == "always" or (xml_size >= LARGE_SHEET_BYTES and usable_cores() > 1)


# Objects kept for the process's end, when the entry point ends the process right after the
# command (`relance scan --json`): half a million rows freed one by one take a twentieth of a
# second, which the system does at once when the process ends.
_kept: list = []
_ending = False


def end_process_after_command() -> None:
    """Called by the command's entry point, which then ends the process with `os._exit`."""
    global _ending
    _ending = True


def ends_after_command() -> bool:
    return _ending


def keep_until_exit(*objects) -> None:
    """Leave `objects` to the process's end (when it ends right after the command)."""
    if _ending:
        _kept.extend(objects)


def scratch_file():
    """An unlinked temporary file, in memory (/dev/shm) where the system has that: large data
    goes through it twice as fast as through a file on disk."""
    import tempfile
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        try:
            return tempfile.TemporaryFile(dir=shm)
        except OSError:
            pass
    return tempfile.TemporaryFile()


def die_with_parent(parent: int) -> None:
    """The child ends with its parent, however the parent ends (killed by a signal sent to
    it alone, by the system…): Linux's PR_SET_PDEATHSIG."""
    if sys.platform.startswith("linux"):  # elsewhere nothing like it: the check below only
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError, TypeError):
            pass
    if os.getppid() != parent:  # the parent was gone before the line above
        os._exit(1)
