"""Disk full (ENOSPC) in the middle of a write: a clean failure with a clear message, nothing half-done
visible, and the same command succeeds once there is space."""

from __future__ import annotations

import errno
from pathlib import Path

import typer
import polars as pl
import pytest

from publish import snapshot
from publish.snapshot import manifest_path, partition_path, publish_week
from tests.resilience.digest import snapshot_bytes, snapshot_problems, temporaries
from tests.resilience.hostile import FIRST_ID, X_NAME, Lab, x_csv

WEEK = "2026-W47"


def frames(n: float) -> dict[str, pl.DataFrame]:
    return {"kpi_weekly": pl.DataFrame({"kpi_id": [f"K{i}" for i in range(5000)], "value": [n] * 5000}),
            "fct_post": pl.DataFrame({"post_id": [str(i) for i in range(3000)], "views": [int(n)] * 3000})}


class FullDiskWriter:
    """pyarrow's ParquetWriter whose second write finds the disk full."""

    def __init__(self, *args, **kwargs):
        self._inner = _REAL_WRITER(*args, **kwargs)
        self._writes = 0

    def write_table(self, table):
        self._writes += 1
        if self._writes == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._inner.write_table(table)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._inner.close()
        return False


_REAL_WRITER = snapshot.pq.ParquetWriter


def test_disk_full_while_writing_parquet_keeps_the_published_week(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "snapshots"
    publish_week(root, WEEK, frames(1), {"inputs": []})
    before = snapshot_bytes(root)
    monkeypatch.setattr(snapshot.pq, "ParquetWriter", FullDiskWriter)
    with pytest.raises(OSError) as failure:
        publish_week(root, WEEK, frames(2), {"inputs": []})
    assert failure.value.errno == errno.ENOSPC
    assert snapshot_bytes(root) == before, "the week published before is untouched"
    assert temporaries(root) == [] and snapshot_problems(root) == []
    monkeypatch.setattr(snapshot.pq, "ParquetWriter", _REAL_WRITER)
    publish_week(root, WEEK, frames(2), {"inputs": []})
    assert pl.read_parquet(partition_path(root, "kpi_weekly", WEEK))["value"].unique().to_list() == [2.0]
    assert manifest_path(root, WEEK).is_file() and snapshot_problems(root) == []


def test_disk_full_while_renaming_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "snapshots"
    publish_week(root, WEEK, frames(1), {"inputs": []})
    manifest = manifest_path(root, WEEK).read_bytes()
    real_replace = snapshot.os.replace

    def replace(src, dst):
        if str(dst).endswith(".json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(snapshot.os, "replace", replace)
    with pytest.raises(OSError):
        publish_week(root, WEEK, frames(1), {"inputs": []})
    assert manifest_path(root, WEEK).read_bytes() == manifest
    assert temporaries(root) == [] and snapshot_problems(root) == []


def test_disk_full_inside_a_load_rolls_the_file_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import warehouse.ingest as ingest

    lab = Lab(tmp_path)
    lab.load("first/" + X_NAME, x_csv(2))
    real = ingest._write_ledger

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ingest, "_write_ledger", full)
    with pytest.raises(OSError):
        lab.load("second/" + X_NAME, x_csv(3, start=FIRST_ID + 1_000))
    assert lab.query("SELECT count(*) FROM stg_post") == [(2,)], "nothing of the failed file is staged"
    assert lab.ledger_problems() == []
    monkeypatch.setattr(ingest, "_write_ledger", real)
    [outcome] = lab.load("second/" + X_NAME, x_csv(3, start=FIRST_ID + 1_000))
    assert outcome.status == "loaded" and lab.query("SELECT count(*) FROM stg_post") == [(5,)]
    assert lab.ledger_problems() == []


def test_the_cli_says_the_disk_is_full_and_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from cityimage import cli
    from cityimage.settings import load_settings

    def action() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    settings = load_settings(home=tmp_path)
    with pytest.raises(typer.Exit) as exited:
        cli._guard(settings, "test", action)
    assert exited.value.exit_code == 5
    message = capsys.readouterr().err
    assert "disk is full" in message and "Free some space and run the same command again" in message


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 1 MB file system (tmpfs) for the warehouse alone; skipped where mounting is not allowed."""
    import shutil
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    if not shutil.which("mount") or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                                                    capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_under_the_warehouse_alone_exits_5_and_the_same_command_then_loads(
        small_disk: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    import duckdb

    from cityimage.sample import default_weeks, write_sample_inbox

    write_sample_inbox(tmp_path / "inbox", [default_weeks()[-1]])
    env = {**os.environ, "CITYIMAGE_HOME": str(tmp_path / "home"), "CITYIMAGE_AUTHOR_KEY": "disk-full-key-0123456789",
           "CITYIMAGE_WAREHOUSE_PATH": str(small_disk / "warehouse.duckdb")}
    command = [sys.executable, "-m", "cityimage", "ingest", str(tmp_path / "inbox")]
    full = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert full.returncode == 5, full.stderr[-2000:]
    assert "disk is full" in full.stderr and "No space left on device" in full.stderr
    assert "Traceback" not in full.stderr and "cannot rollback" not in full.stderr

    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    with duckdb.connect(str(small_disk / "warehouse.duckdb"), read_only=True) as con:
        ledger = con.execute("SELECT count(*), sum(rows_loaded) FROM ops_file_ledger WHERE status = 'loaded'").fetchone()
        staged = sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("stg_post", "stg_comment", "stg_account_day", "stg_audience", "stg_search"))
    assert ledger[0] > 100 and ledger[1] == staged  # every file once, every row counted once
