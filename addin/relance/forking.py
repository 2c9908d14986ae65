"""Work done in a forked copy of this process, its result sent back pickled through a pipe.

A fork shares everything already read (the sheet's cells) without copying or pickling it,
so a second core can take half of a long pass over 100,000 rows. The caller always has a way
to do the work itself: where fork is missing (Windows) or unsafe (other threads running), and
when the worker fails in any way, `result()` is None and the caller does that part.
"""
from __future__ import annotations

import os
import pickle
import threading
from typing import Callable, Optional


def parallel_mode() -> str:
    """`RELANCE_PARALLEL`: `auto` (by size, the default), `always` (every sheet read in
    pieces, every scan shared out: the tests compare it with `never`) or `never`."""
    mode = os.environ.get("RELANCE_PARALLEL", "auto").strip().lower()
    return mode if mode in ("always", "never") else "auto"


def available() -> bool:
    """A fork is safe only in a single-threaded process: another thread may hold a lock the
    copy would then wait on for ever."""
    return hasattr(os, "fork") and threading.active_count() == 1


class Worker:
    """`fn()` running in a forked child; `result()` waits for its value."""

    def __init__(self, fn: Callable[[], object]):
        read_end, write_end = os.pipe()
        self._data = b""
        self.pid = os.fork()
        if self.pid == 0:  # the child: compute, send, leave without running the parent's exit code
            os.close(read_end)
            code = 1
            try:
                data = pickle.dumps(fn(), pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write_end, "wb") as out:
                    out.write(data)
                code = 0
            except BaseException:  # noqa: BLE001 — the parent does the work itself
                pass
            finally:
                os._exit(code)
        os.close(write_end)
        # drained while the parent works, so that a large result never blocks the child
        self._received = threading.Event()
        self._reader = threading.Thread(target=self._drain, args=(read_end,), daemon=True)
        self._reader.start()

    def _drain(self, fd: int) -> None:
        try:
            with os.fdopen(fd, "rb") as pipe:
                self._data = pipe.read()
        finally:
            self._received.set()
        os.waitpid(self.pid, 0)  # reaped here: the caller need not wait for the child's exit

    def result(self) -> Optional[object]:
        """The child's value; None when it failed (exception, crash, killed). Whole data are
        the proof of success: the child writes its result only once it has all of it."""
        self._received.wait()
        try:
            return pickle.loads(self._data) if self._data else None
        except Exception:  # noqa: BLE001 — a truncated or damaged result: do the work here
            return None
