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
from tests.resilience.hostile import X_NAME, Lab, x_csv

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
        lab.load("second/" + X_NAME, x_csv(3, start=9_000_000_000_000_000_000))
    assert lab.query("SELECT count(*) FROM stg_post") == [(2,)], "nothing of the failed file is staged"
    assert lab.ledger_problems() == []
    monkeypatch.setattr(ingest, "_write_ledger", real)
    [outcome] = lab.load("second/" + X_NAME, x_csv(3, start=9_000_000_000_000_000_000))
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
