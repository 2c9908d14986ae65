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
    """One value, one way, between this process and a forked one: pickled into an unlinked
    temporary file, a byte down a pipe saying it is there. A writer never blocks on a full
    pipe whatever the value's size, and a reader needs no thread draining a pipe (it would
    fight this process's own work for the GIL, and a large value would crawl across)."""

    def __init__(self):
        self.file = scratch_file()
        try:
            self.read_end, self.write_end = os.pipe()
        except OSError:
            self.file.close()
            raise

    def put(self, value) -> None:
        """Written straight to the file (no buffer: a write that fails leaves nothing to be
        flushed, and fail again, when the file is closed)."""
        data = memoryview(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
        fd = self.file.fileno()
        while data:
            data = data[os.write(fd, data):]
        os.write(self.write_end, b"1")

    def wait(self) -> bool:
        """True once a value is there; False when the other side ended without one."""
        return os.read(self.read_end, 1) == b"1"

    def get(self):
        self.file.seek(0)
        return pickle.loads(self.file.read())

    def keep_reading_end(self) -> None:
        """This side reads: the other end goes, so that a writer gone means end of file."""
        _close(self.write_end)
        self.write_end = None

    def keep_writing_end(self) -> None:
        _close(self.read_end)
        self.read_end = None

    def close(self) -> None:
        for fd in (self.read_end, self.write_end):
            _close(fd)
        self.read_end = self.write_end = None
        try:
            self.file.close()
        except OSError:
            pass


def _close(fd: Optional[int]) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


class Worker:
    """`fn(receive)` running in a forked child; `result()` waits for the value it returns.

    `receive()`, in the child, waits for the one value the parent may give with `send` while
    the child works (the second half of a scan asks which clients the first half writes
    letters to); it raises EOFError when the parent gave up without sending."""

    def __init__(self, fn: Callable):
        self.pid = self._results = self._inbox = None
        parent = os.getpid()
        # Ctrl-C is held back across the fork, so that the child meets it inside its own
        # handler below, never in the parent's code
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._results = _Channel()
            self._inbox = _Channel()
            self.pid = os.fork()
        except OSError:  # no temporary directory, no process left: the caller works alone
            self.pid = None
            self._close_channels()
            return
        finally:
            if self.pid != 0:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if self.pid == 0:  # the child: compute, send, and leave by _exit whatever happens
            code = 1
            try:
                _die_with_parent(parent)
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
                self._results.keep_writing_end()
                self._inbox.keep_reading_end()
                self._results.put(fn(self._receive))
                code = 0
            except BaseException:  # noqa: BLE001 — Ctrl-C included: the parent does the work
                pass
            finally:
                os._exit(code)
        self._results.keep_reading_end()
        self._inbox.keep_writing_end()

    def _receive(self):
        if not self._inbox.wait():
            raise EOFError("the parent sent nothing")
        return self._inbox.get()

    def send(self, value) -> None:
        """Give the child the value its `receive()` waits for (once). When it cannot be given
        (no room left for it, say), the child is stopped: it would wait for ever, and the
        caller does its part."""
        if self.pid is None or self._inbox.file.closed:
            return
        try:
            self._inbox.put(value)
        except Exception:  # noqa: BLE001 — a full disk, a value that does not pickle
            self._kill()

    def result(self) -> Optional[object]:
        """The child's value; None when it failed or never started."""
        if self.pid is None:
            return None
        delivered = False
        try:
            delivered = self._results.wait()  # False when it ended without a value
            return self._results.get() if delivered else None
        except Exception:  # noqa: BLE001 — a damaged result: the caller does the work
            return None
        finally:
            if not delivered:  # interrupted while waiting, or failed: it must not go on
                self._kill()
            self._release()

    def stop(self) -> None:
        """The caller gives up (interrupted, failed): the child is killed, nothing is left."""
        if self.pid is not None and not self._results.file.closed:
            self._kill()
            self._release()

    def _kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:  # already gone
            pass

    def _close_channels(self) -> None:
        for channel in (self._results, self._inbox):
            if channel is not None:
                channel.close()

    def _release(self) -> None:
        try:
            self._close_channels()
        finally:
            self._reap()

    def _reap(self) -> None:
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
