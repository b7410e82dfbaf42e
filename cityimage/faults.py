"""Named fault points, so tests can prove a crash anywhere leaves nothing half-done.

Only tests arm a fault: in their own process with ``arm("inside_merge:raise")``, in a command they
start through ``tests/resilience/armed`` (a ``sitecustomize`` that arms from the environment of that
process and of the run it supervises). No setting reaches it. An armed fault fires when the code passes
its point: ``kill`` sends SIGKILL to the process (nothing runs after it, as in a power cut), ``raise``
raises ``InjectedFault``. Unarmed, a fault point costs one comparison.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "after_read",          # a batch of files read and typed, nothing written yet
    "inside_merge",        # staging rows written, ledger not yet, transaction open
    "after_commit",        # a batch of files committed, before the next one
    "after_facts",         # facts rebuilt, KPIs not yet
    "during_parquet",      # snapshot Parquet partly written to its temporary file
    "before_rename",       # snapshot written to its temporary file, not yet renamed into place
    "during_report",       # report being written
)

#: Points in a reader process of the ingest (``warehouse.reading``): they stop the reader, not the run.
READER_POINTS = (
    "in_reader_process",   # a reader process took its share of a batch
)

_armed: tuple[str, str] | None = None


class InjectedFault(RuntimeError):
    """Raised at an armed fault point in ``raise`` mode."""


def armed() -> str | None:
    """The armed ``point:mode``, for processes this one starts (a reader process arms the same)."""
    return f"{_armed[0]}:{_armed[1]}" if _armed else None


def arm(spec: str | None) -> None:
    """Arm ``point:mode`` (mode ``kill`` or ``raise``), or disarm with None."""
    global _armed
    if not spec:
        _armed = None
        return
    point, _, mode = spec.partition(":")
    if point not in POINTS + READER_POINTS or mode not in ("kill", "raise"):
        raise ValueError(f"fault point {spec!r}: expected one of {', '.join(POINTS + READER_POINTS)} followed by "
                         ":kill or :raise")
    _armed = (point, mode)


def fault(point: str) -> None:
    """Fire if this point is armed."""
    if _armed is None or _armed[0] != point:
        return
    if _armed[1] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFault(f"injected fault at {point}")
