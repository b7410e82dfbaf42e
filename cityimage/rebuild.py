"""Rebuild a warehouse from the inbox's raw files alone: re-attribution after a profile change.

Registering an account (or changing its role) after its files were loaded changes nothing in place:
pseudonyms and account attribution are decided when a file is read. A rebuild reads every inbox file
again under the current profile into a new warehouse beside the live one (never over it), so the live
warehouse can be compared with it (``warehouse.compare``) and, when asked, replaced by it: the live
file is backed up first, the run history is carried over, and the swap is one rename. Because loading
is idempotent and facts and KPIs are functions of staging, a rebuild with an unchanged profile equals
the warehouse built week by week (tests/resilience/test_backup_restore.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from cityimage.settings import Settings
from cityimage.weeks import Week
from warehouse.backup import backup


class RebuildRefused(RuntimeError):
    """Replacing the live warehouse would lose data; the message names what and why."""


def side_path(settings: Settings) -> Path:
    """Where a rebuild is written: beside the live warehouse, so the swap is an atomic rename."""
    live = settings.warehouse
    return live.with_name(f"{live.stem}.rebuilt{live.suffix}")


def rebuild(settings: Settings, target: Path, weeks: list[Week]) -> Path:
    """Build a new warehouse at ``target`` from ``settings.inbox``; refuses to overwrite anything."""
    from flows import stages

    if target.exists():
        raise FileExistsError(f"{target} exists: rebuild writes a new warehouse, never over one")
    if target.resolve() == settings.warehouse.resolve():
        raise ValueError("rebuild writes beside the live warehouse, not over it")
    fresh = settings.model_copy(update={"warehouse_path": target})
    stages.ingest(fresh)
    stages.build_facts(fresh)
    for week in weeks:
        stages.compute_kpis(fresh, week)
    return target


def discard(path: Path) -> None:
    """Remove a rebuilt warehouse (and its write-ahead log) left by an earlier rebuild."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def put_in_place(settings: Settings, rebuilt: Path, missing_files: list[tuple[str, str]]) -> Path | None:
    """Replace the live warehouse by ``rebuilt``; returns the backup of the live one.

    The caller holds the writer lock. Refused when the live warehouse holds files the inbox no longer
    has (``missing_files``): their rows exist nowhere else.
    """
    if missing_files:
        names = ", ".join(name for _, name in missing_files[:10]) + (" …" if len(missing_files) > 10 else "")
        raise RebuildRefused(
            f"the live warehouse holds {len(missing_files)} loaded file(s) the inbox no longer has ({names}): "
            "the rebuild lacks their rows, so it was not put in place. Put those files back in the inbox and "
            "rebuild again.")
    kept = backup(settings.warehouse, settings.backups, settings.backup_keep)
    _carry_run_history(settings.warehouse, rebuilt)
    os.replace(rebuilt, settings.warehouse)
    return kept


def _carry_run_history(live: Path, rebuilt: Path) -> None:
    """The runs recorded in the live warehouse stay the history of the rebuilt one."""
    con = duckdb.connect(str(rebuilt))
    try:
        con.execute(f"ATTACH '{str(live).replace(chr(39), chr(39) * 2)}' AS live (READ_ONLY)")
        con.execute("INSERT INTO ops_run BY NAME SELECT * FROM live.ops_run ON CONFLICT DO NOTHING")
        con.execute("DETACH live")
        con.execute("CHECKPOINT")
    finally:
        con.close()
