"""Snapshots are written atomically at week paths, deterministically, with a manifest last."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from cityimage import faults
from publish.snapshot import manifest_path, partition_path, publish_week, published_weeks, read_manifest


def _kpis(value: float) -> pl.DataFrame:
    return pl.DataFrame({"week_id": ["2026-W47"] * 2, "kpi_id": ["A1", "C1"], "value": [3.0, value]})


def test_publish_writes_hive_paths_and_a_manifest(tmp_path: Path) -> None:
    path = publish_week(tmp_path, "2026-W47", {"kpi_weekly": _kpis(0.5)}, {"code_version": "t"})
    assert path == manifest_path(tmp_path, "2026-W47")
    parquet = partition_path(tmp_path, "kpi_weekly", "2026-W47")
    assert parquet == tmp_path / "kpi_weekly" / "week=2026-W47" / "kpi_weekly.parquet"
    assert pq.read_table(parquet).num_rows == 2
    manifest = read_manifest(tmp_path, "2026-W47")
    assert manifest["files"][0]["rows"] == 2 and len(manifest["files"][0]["sha256"]) == 64
    assert published_weeks(tmp_path) == ["2026-W47"]


def test_republishing_the_same_inputs_is_byte_identical(tmp_path: Path) -> None:
    publish_week(tmp_path, "2026-W47", {"kpi_weekly": _kpis(0.5)}, {"code_version": "t"})
    first = partition_path(tmp_path, "kpi_weekly", "2026-W47").read_bytes()
    first_manifest = manifest_path(tmp_path, "2026-W47").read_bytes()
    publish_week(tmp_path, "2026-W47", {"kpi_weekly": _kpis(0.5)}, {"code_version": "t"})
    assert partition_path(tmp_path, "kpi_weekly", "2026-W47").read_bytes() == first
    assert manifest_path(tmp_path, "2026-W47").read_bytes() == first_manifest


@pytest.mark.parametrize("point", ["during_parquet", "before_rename"])
def test_a_failure_mid_write_leaves_the_previous_snapshot_whole(tmp_path: Path, point: str) -> None:
    publish_week(tmp_path, "2026-W47", {"kpi_weekly": _kpis(0.5)}, {"code_version": "t"})
    before = partition_path(tmp_path, "kpi_weekly", "2026-W47").read_bytes()
    faults.arm(f"{point}:raise")
    try:
        with pytest.raises(faults.InjectedFault):
            publish_week(tmp_path, "2026-W47", {"kpi_weekly": _kpis(0.9)}, {"code_version": "t"})
    finally:
        faults.arm(None)
    folder = partition_path(tmp_path, "kpi_weekly", "2026-W47").parent
    assert [p.name for p in folder.iterdir()] == ["kpi_weekly.parquet"]  # no temporary file left visible
    assert partition_path(tmp_path, "kpi_weekly", "2026-W47").read_bytes() == before
    assert json.loads(manifest_path(tmp_path, "2026-W47").read_text())["files"][0]["rows"] == 2
