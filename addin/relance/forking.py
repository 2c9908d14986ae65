"""Work done in a forked copy of this process, its result sent back pickled through a pipe.

A fork shares everything already read (the sheet's cells) without copying or pickling it,
so a second core can take half of a long pass over 100,000 rows. The caller always has a way
to do the work itself: where fork is missing (Windows) or unsafe (other threads running), and
when the worker fails in any way, `result()` is None and the caller does that part.
"""
from __future__ import annotations

import os
import pickle
import tempfile
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
    """`fn()` running in a forked child; `result()` waits for its value.

    The value comes back through an unlinked temporary file, the pipe only saying when it is
    there: a reader thread draining a pipe would fight this process's own work for the GIL,
    and a large result would then crawl across."""

    def __init__(self, fn: Callable[[], object]):
        self._file = tempfile.TemporaryFile()
        ready, done = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: compute, send, leave without running the parent's exit code
            os.close(ready)
            code = 1
            try:
                data = pickle.dumps(fn(), pickle.HIGHEST_PROTOCOL)
                self._file.write(data)
                self._file.flush()
                os.write(done, b"1")
                code = 0
            except BaseException:  # noqa: BLE001 — the parent does the work itself
                pass
            finally:
                os._exit(code)
        os.close(done)
        self._ready = ready

    def result(self) -> Optional[object]:
        """The child's value; None when it failed (exception, crash, killed)."""
        try:
            ok = os.read(self._ready, 1) == b"1"  # b"" when the child ended without a value
            os.close(self._ready)
            if not ok:
                return None
            self._file.seek(0)
            return pickle.loads(self._file.read())
        except Exception:  # noqa: BLE001 — a damaged result: the caller does the work
            return None
        finally:
            self._file.close()
            # reaped in the background: the caller need not wait for the child's exit
            threading.Thread(target=os.waitpid, args=(self.pid, 0), daemon=True).start()
