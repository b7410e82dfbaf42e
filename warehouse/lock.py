"""One writer at a time: an advisory lock file beside the warehouse, taken without waiting.

DuckDB already refuses a second writing process, but with an error about file locks that says nothing
of who holds it. This lock is taken first and its message names the holder's process and start time.
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from cityimage.settings import run_pid


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse; the message says which and since when."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


_HELD: dict[Path, int] = {}


@contextmanager
def writer_lock(warehouse: Path, purpose: str) -> Iterator[None]:
    """Hold the single-writer lock for the duration of the block, or fail fast naming the holder.

    Re-entrant within a process: the flow takes it, and the CLI or a task inside it may take it again.
    """
    path = lock_path(warehouse).resolve()
    if _HELD.get(path):
        _HELD[path] += 1
        try:
            yield
        finally:
            _HELD[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise WarehouseBusy(_busy_message(warehouse, handle.read())) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": run_pid(), "since": datetime.now(timezone.utc).isoformat(), "purpose": purpose}))
        handle.flush()
        _HELD[path] = 1
        try:
            yield
        finally:
            _HELD.pop(path, None)
    finally:
        handle.close()


def holder(warehouse: Path) -> str:
    """Who last took the writer lock, as words: meaningful while DuckDB refuses to open the file."""
    try:
        return _who(lock_path(warehouse).read_text(encoding="utf-8"))
    except OSError:
        return "another process"


def _who(record: str) -> str:
    try:
        info = json.loads(record)
        return f"process {info['pid']} ({info['purpose']}) since {info['since']}"
    except (ValueError, KeyError, TypeError):
        return "another process"


def _busy_message(warehouse: Path, record: str) -> str:
    who = _who(record)
    return (
        f"the warehouse {warehouse} is being written by {who}; one run at a time. "
        "Wait for it to finish (`cityimage status` shows runs) and run again."
    )
