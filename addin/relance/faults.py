"""Named points where a test can stop the process dead, to prove a run is all or nothing.

`RELANCE_FAULT=after-moves relance generate …` ends the process at that point as a kill
would (no clean-up, no message). Unset, as for every user, each point costs one lookup.
"""
import os

POINTS = ("after-first-letter", "after-moves", "after-backup", "before-workbook-swap")


def point(name: str) -> None:
    if os.environ.get("RELANCE_FAULT") == name:
        os._exit(137)
