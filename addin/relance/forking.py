"""Work done in a forked copy of this process: values pass both ways through temporary files
(the child may send several before its result, and receive as many), their sizes down pipes.

A fork shares everything already read (the sheet's cells) without copying or pickling it,
so a second core can take half of a long pass over 100,000 rows. The caller always has a way
to do the work itself: where a fork is missing (Windows) or unsafe (macOS, whose system
libraries do not survive a fork without exec; other threads running), when the worker
cannot be started (no temporary directory, no process left), and when it fails in any way,
`receive()` or `result()` is None and the caller does that part (a value of None cannot be
told from a failure: send something else). The files are freed only with the result, so a
conversation's messages all stay in the scratch folder until then.
"""
from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from typing import Callable, Optional

from .parallelism import die_with_parent, scratch_file


def available() -> bool:
    """Linux only, and only in a single-threaded process: another thread may hold a lock the
    copy would then wait on for ever."""
    return (sys.platform.startswith("linux") and hasattr(os, "fork")
            and threading.active_count() == 1)


class _Channel:
    """Values, one way, between this process and a forked one: each pickled onto the end of
    an unlinked temporary file, its size then sent down a pipe. A writer never blocks on a
    full pipe whatever the value's size, and a reader needs no thread draining a pipe (it
    would fight this process's own work for the GIL, and a large value would crawl across).
    Each side counts for itself where the next value starts: the file's own position is
    shared by both."""

    def __init__(self):
        self.file = scratch_file()
        self.offset = 0
        try:
            self.read_end, self.write_end = os.pipe()
        except OSError:
            self.file.close()
            raise

    def put(self, value) -> None:
        """Written straight to the file (no buffer: a write that fails leaves nothing to be
        flushed, and fail again, when the file is closed)."""
        data = memoryview(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
        size, fd = len(data), self.file.fileno()
        while data:
            written = os.pwrite(fd, data, self.offset)
            data, self.offset = data[written:], self.offset + written
        os.write(self.write_end, size.to_bytes(_SIZE, "little"))  # atomic: under PIPE_BUF

    def take(self) -> tuple[bool, object]:
        """(True, the next value) once it is there; (False, None) when the other side ended
        without sending it."""
        head = b""
        while len(head) < _SIZE:
            more = os.read(self.read_end, _SIZE - len(head))
            if not more:
                return False, None
            head += more
        size, fd, parts = int.from_bytes(head, "little"), self.file.fileno(), []
        while size:
            part = os.pread(fd, size, self.offset)
            if not part:
                raise EOFError("a value cut short")
            parts.append(part)
            size, self.offset = size - len(part), self.offset + len(part)
        return True, pickle.loads(b"".join(parts) if len(parts) != 1 else parts[0])

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


_SIZE = 8  # bytes of a value's size down the pipe


def _close(fd: Optional[int]) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


class Worker:
    """`fn(link)` running in a forked child; `result()` waits for the value it returns.

    Along the way, the two sides may exchange values, each in its turn: in the child,
    `link.send(value)` and `link.receive()` (which raises EOFError when the parent gave up
    without sending); in the parent, `send(value)` and `receive()` (None when the child ended
    without sending: the parent then does the child's part). A shared-out scan swaps, midway,
    what each half must know of the other's."""

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
                die_with_parent(parent)
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
                self._results.keep_writing_end()
                self._inbox.keep_reading_end()
                self._results.put(fn(_Link(self._results, self._inbox)))
                code = 0
            except BaseException:  # noqa: BLE001 — Ctrl-C included: the parent does the work
                pass
            finally:
                os._exit(code)
        self._results.keep_reading_end()
        self._inbox.keep_writing_end()

    def send(self, value) -> None:
        """Give the child the value its `link.receive()` waits for. When it cannot be given
        (no room left for it, say), the child is stopped: it would wait for ever, and the
        caller does its part."""
        if self.pid is None or self._inbox.file.closed:
            return
        try:
            self._inbox.put(value)
        except Exception:  # noqa: BLE001 — a full disk, a value that does not pickle
            self._kill()

    def receive(self) -> Optional[object]:
        """The next value the child sends; None when it failed (it is then stopped)."""
        if self.pid is None or self._results.file.closed:
            return None
        delivered = False
        try:
            delivered, value = self._results.take()
            return value
        except Exception:  # noqa: BLE001 — a damaged value: the caller does the work
            delivered = False
            return None
        finally:
            if not delivered:  # interrupted while waiting, or failed: it must not go on
                self._kill()
                self._release()

    def result(self) -> Optional[object]:
        """The child's next value, which must be what `fn` returned (every message it sent
        before taken with `receive`), and the child's end; None when it failed or never
        started."""
        try:
            return self.receive()
        finally:
            if self.pid is not None and not self._results.file.closed:
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


class _Link:
    """The child's side of the exchange."""

    def __init__(self, out: _Channel, inbox: _Channel):
        self._out, self._inbox = out, inbox

    def send(self, value) -> None:
        self._out.put(value)

    def receive(self):
        delivered, value = self._inbox.take()
        if not delivered:
            raise EOFError("the parent sent nothing")
        return value
