"""Work done in a forked copy of this process, its result sent back through a temporary file.

A fork shares everything already read (the sheet's cells) without copying or pickling it,
so a second core can take half of a long pass over 100,000 rows. The caller always has a way
to do the work itself: where a fork is missing (Windows) or unsafe (macOS, whose system
libraries do not survive a fork without exec; other threads running), when the worker
cannot be started (no temporary directory, no process left), and when it fails in any way,
`result()` is None and the caller does that part.
"""
from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from typing import Callable, Optional

from .parallelism import scratch_file


def available() -> bool:
    """Linux only, and only in a single-threaded process: another thread may hold a lock the
    copy would then wait on for ever."""
    return (sys.platform.startswith("linux") and hasattr(os, "fork")
            and threading.active_count() == 1)


class _Channel:
    """One value, one way: pickled into an unlinked temporary file, a byte down a pipe saying
    it is there (a writer never blocks on a full pipe, whatever the value's size)."""

    def __init__(self):
        self.file = scratch_file()
        try:
            self.read_end, self.write_end = os.pipe()
        except OSError:
            self.file.close()
            raise

    def put(self, value) -> None:
        self.file.write(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
        self.file.flush()
        os.write(self.write_end, b"1")

    def wait(self) -> bool:
        """True once a value is there; False when the other side ended without one."""
        return os.read(self.read_end, 1) == b"1"

    def get(self):
        self.file.seek(0)
        return pickle.loads(self.file.read())

    def close(self, *ends) -> None:
        for fd in ends or (self.read_end, self.write_end):
            try:
                os.close(fd)
            except OSError:
                pass
        if not ends:
            self.file.close()


class Worker:
    """`fn()` running in a forked child; `result()` waits for its value.

    The value comes back through an unlinked temporary file, the pipe only saying when it is
    there: a reader thread draining a pipe would fight this process's own work for the GIL,
    and a large result would then crawl across.

    With `listens=True`, `fn(receive)` may wait for one value the parent gives with `send`
    while the child works (the second half of a scan asks which clients the first half
    writes letters to)."""

    def __init__(self, fn: Callable, listens: bool = False):
        self.pid = self._file = self._ready = self._inbox = None
        done, parent = None, os.getpid()
        # Ctrl-C is held back across the fork, so that the child meets it inside its own
        # handler below, never in the parent's code
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._file = scratch_file()
            self._ready, done = os.pipe()
            if listens:
                self._inbox = _Channel()
            self.pid = os.fork()
        except OSError:  # no temporary directory, no process left: the caller works alone
            self.pid = None
            for fd in (self._ready, done):
                if fd is not None:
                    os.close(fd)
            if self._file is not None:
                self._file.close()
            if self._inbox is not None:
                self._inbox.close()
                self._inbox = None
            return
        finally:
            if self.pid != 0:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if self.pid == 0:  # the child: compute, send, and leave by _exit whatever happens
            code = 1
            try:
                _die_with_parent(parent)
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
                os.close(self._ready)
                if self._inbox is not None:
                    inbox = self._inbox
                    inbox.close(inbox.write_end)

                    def receive():
                        if not inbox.wait():
                            raise EOFError("the parent sent nothing")
                        return inbox.get()

                    value = fn(receive)
                else:
                    value = fn()
                data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
                self._file.write(data)
                self._file.flush()
                os.write(done, b"1")
                code = 0
            except BaseException:  # noqa: BLE001 — Ctrl-C included: the parent does the work
                pass
            finally:
                os._exit(code)
        os.close(done)
        if self._inbox is not None:
            self._inbox.close(self._inbox.read_end)

    def send(self, value) -> None:
        """Give the child the value its `receive()` waits for (once)."""
        if self.pid is not None and self._inbox is not None:
            try:
                self._inbox.put(value)
            except (OSError, pickle.PicklingError):  # the child then fails: the caller works
                pass

    def result(self) -> Optional[object]:
        """The child's value; None when it failed or never started."""
        if self.pid is None:
            return None
        delivered = False
        try:
            delivered = os.read(self._ready, 1) == b"1"  # b"" when it ended without a value
            if not delivered:
                return None
            self._file.seek(0)
            return pickle.loads(self._file.read())
        except Exception:  # noqa: BLE001 — a damaged result: the caller does the work
            return None
        finally:
            if not delivered:  # interrupted while waiting, or failed: it must not go on
                self._kill()
            self._release()

    def stop(self) -> None:
        """The caller gives up (interrupted, failed): the child is killed, nothing is left."""
        if self.pid is not None and not self._file.closed:
            self._kill()
            self._release()

    def _kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:  # already gone
            pass

    def _release(self) -> None:
        os.close(self._ready)
        self._file.close()
        if self._inbox is not None:
            self._inbox.close(self._inbox.write_end)
            self._inbox.file.close()
        try:  # reaped in the background: the caller need not wait for the child's exit
            threading.Thread(target=os.waitpid, args=(self.pid, 0), daemon=True).start()
        except RuntimeError:  # no thread to be had: the child has written, it is ending
            os.waitpid(self.pid, 0)


def _die_with_parent(parent: int) -> None:
    """The child ends with its parent, however the parent ends (killed by a signal sent to
    it alone, by the system…): Linux's PR_SET_PDEATHSIG."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent was gone before the line above
        os._exit(1)
