"""Backups taken under the writer lock restore the warehouse exactly; a rebuild from the raw inbox
equals the warehouse built week by week."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cityimage.rebuild import rebuild
from cityimage.sample import default_weeks, write_sample_inbox
from tests.resilience.digest import table_digest, warehouse_digest
from tests.resilience.hostile import FIRST_ID, KEY, X_NAME, Lab, x_csv
from warehouse.backup import BackupError, backup, list_backups, prune, restore
from warehouse.lock import WarehouseBusy


def full_digest(path: Path) -> dict:
    """Every table, ops_ included: a restore must give back the ledger too."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [n for (n,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
        return {n: table_digest(con, n) for n in names}
    finally:
        con.close()


def test_backup_then_restore_gives_back_the_warehouse_exactly(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    lab.load(X_NAME, x_csv(3))
    before = full_digest(lab.warehouse)
    taken = backup(lab.warehouse, lab.settings.backups, keep=4)
    assert taken and taken.is_file() and full_digest(taken) == before
    lab.load("later/" + X_NAME, x_csv(2, start=FIRST_ID + 50))  # work after the backup
    assert full_digest(lab.warehouse) != before
    kept = restore(taken, lab.warehouse)
    assert full_digest(lab.warehouse) == before
    assert kept and kept.is_file(), "the replaced warehouse is kept beside it"
    assert lab.ledger_problems() == []
    # The warehouse works after a restore: the file loaded after the backup loads again.
    [again] = lab.load("later/" + X_NAME, x_csv(2, start=FIRST_ID + 50))
    assert again.status == "loaded"


def test_no_warehouse_no_backup_and_old_backups_are_pruned(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    assert backup(lab.warehouse, lab.settings.backups) is None
    lab.load(X_NAME, x_csv(1))
    for _ in range(6):
        backup(lab.warehouse, lab.settings.backups, keep=4)
    assert len(list_backups(lab.settings.backups)) == 4
    assert len(prune(lab.settings.backups, 2)) == 2 and len(list_backups(lab.settings.backups)) == 2
    assert not list(lab.settings.backups.glob(".*tmp*"))


def test_a_corrupt_backup_is_refused_and_the_warehouse_untouched(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    lab.load(X_NAME, x_csv(2))
    before = full_digest(lab.warehouse)
    bad = tmp_path / "warehouse-bad.duckdb"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError, match="not a readable cityimage warehouse"):
        restore(bad, lab.warehouse)
    assert full_digest(lab.warehouse) == before


def test_backup_waits_for_no_one_while_another_process_writes(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    lab.load(X_NAME, x_csv(1))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from warehouse.lock import writer_lock\n"
        f"with writer_lock(Path({str(lab.warehouse)!r}), 'test holder'):\n"
        "    print('held', flush=True); time.sleep(30)")], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2])
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseBusy, match="test holder"):
            backup(lab.warehouse, lab.settings.backups)
        with pytest.raises(WarehouseBusy):
            restore(lab.warehouse, lab.warehouse)
    finally:
        holder.kill()
        holder.wait()
    assert list_backups(lab.settings.backups) == []


def test_cli_restore(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    lab.load(X_NAME, x_csv(2))
    before = full_digest(lab.warehouse)
    taken = backup(lab.warehouse, lab.settings.backups)
    lab.load("later/" + X_NAME, x_csv(2, start=FIRST_ID + 50))
    env = os.environ | {"CITYIMAGE_HOME": str(tmp_path), "CITYIMAGE_AUTHOR_KEY": KEY}
    cli = [sys.executable, "-m", "cityimage", "restore"]
    done = subprocess.run(cli + [str(taken)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "restored" in done.stdout and full_digest(lab.warehouse) == before
    missing = subprocess.run(cli + [str(tmp_path / "nope.duckdb")], env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no backup at" in missing.stderr


def test_rebuild_from_the_raw_inbox_equals_the_warehouse_built_week_by_week(tmp_path: Path) -> None:
    from flows import stages

    weeks = default_weeks()[-2:]
    full = tmp_path / "full-inbox"
    write_sample_inbox(full, weeks)
    drops = sorted(p for p in full.iterdir() if p.is_dir())
    assert len(drops) >= 2, drops
    # Incremental: the weekly routine, one export drop at a time.
    lab = Lab(tmp_path / "incremental")
    lab.settings.inbox.mkdir(parents=True)
    for drop in drops:
        shutil.copytree(drop, lab.settings.inbox / drop.name)
        stages.ingest(lab.settings)
        stages.build_facts(lab.settings)
        for week in weeks:
            stages.compute_kpis(lab.settings, week)
    # Rebuild: a fresh warehouse from the raw files alone.
    target = tmp_path / "rebuilt.duckdb"
    rebuilt_settings = lab.settings.model_copy(update={"inbox_path": full})
    started = time.monotonic()
    rebuild(rebuilt_settings, target, weeks)
    print(f"rebuild of {len(weeks)} weeks took {time.monotonic() - started:.1f} s")
    incremental, rebuilt = warehouse_digest(lab.warehouse), warehouse_digest(target)
    assert incremental == rebuilt
    assert sum(n for n, _ in rebuilt.values() if n) > 0
    with pytest.raises(FileExistsError):
        rebuild(rebuilt_settings, target, weeks)
