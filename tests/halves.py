"""`relance scan --json`'s shared-out path (json_scan.py) run in this process: the worker's
half is computed here and comes back through pickle as a real worker's would, so that a test
sees the split's answer, and whether the split was used, on any workbook and without a fork
(a pytest worker has threads, where a real fork is refused)."""
from __future__ import annotations

import os
import pickle
from contextlib import contextmanager
from datetime import date

from relance import forking, json_scan
from relance.model import RelanceError


class InProcessWorker:
    def __init__(self, fn):
        self.fn, self.sent = fn, None

    def send(self, value):
        self.sent = pickle.loads(pickle.dumps(value))

    def result(self):
        return pickle.loads(pickle.dumps(self.fn(lambda: self.sent)))

    def stop(self):
        pass


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
