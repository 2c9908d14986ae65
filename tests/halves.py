"""`relance scan --json`'s shared-out path (json_scan.py) run in this process: the worker's
half is computed here and comes back through pickle as a real worker's would, so that a test
sees the split's answer, and whether the split was used, on any workbook and without a fork
(a pytest worker has threads, where a real fork is refused)."""
from __future__ import annotations

import os
import pickle
import queue
import threading
from contextlib import contextmanager
from datetime import date

from relance import forking, json_scan
from relance.model import RelanceError


class InProcessWorker:
    """forking.Worker's part played in this process: `fn` runs on a thread, but only while
    the caller waits for it (in `receive`), so that the two never run at once; every value
    crosses through pickle, as between two processes. A failure sends nothing, as a real
    worker's does."""

    _FAILED = object()

    def __init__(self, fn):
        self.to_child, self.to_parent = queue.Queue(), queue.Queue()
        self.child_turn, self.parent_turn = threading.Semaphore(0), threading.Semaphore(0)
        self.done = False
        self.thread = threading.Thread(target=self._child, args=(fn,), daemon=True)
        self.thread.start()

    def _child(self, fn):
        self.child_turn.acquire()
        try:
            value = _crossed(fn(_ChildLink(self)))
        except BaseException:  # noqa: BLE001
            value = self._FAILED
        self.done = True
        self.to_parent.put(value)
        self.parent_turn.release()

    def receive_in_child(self):
        while self.to_child.empty():
            self.parent_turn.release()
            self.child_turn.acquire()
        value = self.to_child.get()
        if value is self._FAILED:
            raise EOFError("the parent gave up")
        return value

    # the parent's side
    def send(self, value):
        self.to_child.put(_crossed(value))

    def receive(self):
        if self.to_parent.empty() and not self.done:
            self.child_turn.release()
            self.parent_turn.acquire()
        if self.to_parent.empty():
            return None
        value = self.to_parent.get()
        return None if value is self._FAILED else value

    def result(self):
        return self.receive()

    def stop(self):
        if not self.done:
            self.to_child.put(self._FAILED)
            self.child_turn.release()
            self.parent_turn.acquire()


class _ChildLink:
    """The child's `link`."""

    def __init__(self, worker):
        self.worker = worker

    def send(self, value):
        self.worker.to_parent.put(_crossed(value))

    def receive(self):
        return self.worker.receive_in_child()


def _crossed(value):
    return pickle.loads(pickle.dumps(value))


@contextmanager
def _patched(name, value):
    old = getattr(*name)
    setattr(name[0], name[1], value)
    try:
        yield
    finally:
        setattr(name[0], name[1], old)


def text(pieces) -> str:
    return "".join(p.decode("utf-8") if isinstance(p, bytes) else p for p in pieces)


def shared_out_scan(book, as_of: date) -> tuple:
    """((JSON text, anomalies' descriptions) or the error message, whether the halves' answer
    was used rather than the whole sheet read again)."""
    whole = []

    def plain(*args):
        whole.append(True)
        return plain_scan(*args)

    plain_scan = json_scan.plain_scan_json
    old_mode = os.environ.get("RELANCE_PARALLEL")
    os.environ["RELANCE_PARALLEL"] = "always"
    try:
        with _patched((forking, "available"), lambda: True), \
                _patched((forking, "Worker"), InProcessWorker), \
                _patched((json_scan, "plain_scan_json"), plain):
            try:
                pieces, anomalies = json_scan.scan_json(book, as_of)
                answer = text(pieces), [a.describe() for a in anomalies]
            except RelanceError as err:
                answer = err.message
    finally:
        if old_mode is None:
            os.environ.pop("RELANCE_PARALLEL", None)
        else:
            os.environ["RELANCE_PARALLEL"] = old_mode
    return answer, not whole


def whole_scan(book, as_of: date):
    """The same answer from the sheet read whole."""
    try:
        pieces, anomalies = json_scan.plain_scan_json(book, as_of)
        return text(pieces), [a.describe() for a in anomalies]
    except RelanceError as err:
        return err.message
