"""How much of the machine a run may use: the RELANCE_PARALLEL setting and the usable cores.
Light on purpose (the command's entry point asks before importing anything else)."""
from __future__ import annotations

import os


def parallel_mode() -> str:
    """`RELANCE_PARALLEL`: `auto` (by size, the default), `always` (every large-sheet path
    taken whatever the size: the tests compare it with `never`) or `never` (no thread nor
    process besides the command's own: no read ahead, no pieces, no worker)."""
    mode = os.environ.get("RELANCE_PARALLEL", "auto").strip().lower()
    return mode if mode in ("always", "never") else "auto"


def usable_cores() -> int:
    """The cores this process may run on (its affinity, as `taskset` or a container sets it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
