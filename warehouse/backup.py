"""Backups of the warehouse: a consistent copy taken under the writer lock, and restoring one.

Method: ``CHECKPOINT`` then a file copy, not ``EXPORT DATABASE``. Under the writer lock no other
process writes the file, and the flow holds no connection between stages, so after a checkpoint
(which folds the write-ahead log into the main file) the file *is* the database: copying it is
consistent, takes a fraction of a second for a warehouse of this size, and restores byte for byte —
same schema, same migration history, same types — with a rename. ``EXPORT DATABASE`` writes CSV or
Parquet plus DDL that must be re-imported table by table; it would only pay off to move a warehouse
across DuckDB storage versions, which is a migration, not a restore.

Each backup is written to a temporary name, opened read-only to prove it is a database, then renamed
into place; only the last ``keep`` backups are kept.

A flow run takes its backup lazily (``backup_once``): just before its first write to the data —
staging, the classification caches, facts, KPIs — and never again in the run, whose backup is named
after it. A run that finds nothing new writes no data and takes none: at the reference year the copy
alone was a quarter of such a run. Restoring the newest backup then gives back the data as it was
before the last run that changed it; what that run loaded is still in the inbox and loads again.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from cityimage.atomic import fsync_file, replacing
from warehouse.lock import writer_lock

PREFIX = "warehouse-"
SUFFIX = ".duckdb"


class BackupError(RuntimeError):
    """A backup could not be taken or restored; the message says why and what is untouched."""


def backup(warehouse: Path, backups_dir: Path, keep: int | None = None, *,
           con: duckdb.DuckDBPyConnection | None = None, run_key: str | None = None) -> Path | None:
    """Copy the warehouse to ``backups_dir`` under the writer lock; None if there is no warehouse yet.

    ``con``: the caller's open connection to the warehouse, outside any transaction; the checkpoint
    goes through it (a stage about to write holds one). ``run_key`` ends the backup's name, so the
    run that took it is known (``backup_once``)."""
    if not warehouse.is_file():
        return None
    backups_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = backups_dir / f"{PREFIX}{stamp}{'-' + run_key if run_key else ''}{SUFFIX}"
    with writer_lock(warehouse, "backup"):
        if con is not None:
            con.execute("CHECKPOINT")
        else:
            own = duckdb.connect(str(warehouse))
            try:
                own.execute("CHECKPOINT")
            finally:
                own.close()
        with replacing(target) as tmp:
            shutil.copyfile(warehouse, tmp)
            _check(tmp)
    if keep is not None:
        prune(backups_dir, keep)
    return target


def backup_once(con: duckdb.DuckDBPyConnection, warehouse: Path, backups_dir: Path, keep: int | None,
                run_key: str) -> Path | None:
    """The run's backup: taken the first time the run is about to write data, found by its name after.

    Called by each stage before it writes; stages are separate tasks with their own connections, so
    the backups folder, not a variable, remembers that the run took one."""
    taken = [p for p in list_backups(backups_dir) if p.name.endswith(f"-{run_key}{SUFFIX}")]
    return taken[-1] if taken else backup(warehouse, backups_dir, keep, con=con, run_key=run_key)


def list_backups(backups_dir: Path) -> list[Path]:
    """Backups, oldest first (the names sort by time)."""
    if not backups_dir.is_dir():
        return []
    return sorted(p for p in backups_dir.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def prune(backups_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups; returns those deleted."""
    old = list_backups(backups_dir)[: max(0, len(list_backups(backups_dir)) - max(keep, 1))]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def restore(backup_file: Path, warehouse: Path) -> Path | None:
    """Replace the warehouse with ``backup_file`` under the writer lock.

    The backup is checked before anything is touched; the current warehouse (if any) is kept beside
    it as ``<name>.before-restore-<time>`` and returned, so a restore can itself be undone.
    """
    if not backup_file.is_file():
        raise BackupError(f"no backup at {backup_file}")
    _check(backup_file)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    tmp = warehouse.with_name(f".{warehouse.name}.restore-{os.getpid()}")
    with writer_lock(warehouse, f"restore from {backup_file.name}"):
        kept = None
        try:
            shutil.copyfile(backup_file, tmp)
            fsync_file(tmp)
            if warehouse.is_file():
                stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
                kept = warehouse.with_name(f"{warehouse.name}.before-restore-{stamp}")
                os.replace(warehouse, kept)
            wal = warehouse.with_name(warehouse.name + ".wal")
            if wal.is_file():  # the old warehouse's log goes with it: replayed on the backup it would corrupt it
                os.replace(wal, kept.with_name(kept.name + ".wal") if kept else wal.with_name(wal.name + ".orphan"))
            os.replace(tmp, warehouse)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return kept


def _check(path: Path) -> None:
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            con.execute("SELECT count(*) FROM ops_schema_migration").fetchall()
        finally:
            con.close()
    except duckdb.Error as exc:
        raise BackupError(f"{path} is not a readable cityimage warehouse ({exc})") from exc
