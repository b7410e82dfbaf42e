"""`make bench` at a tiny size: it runs end to end and writes BENCHMARKS.md and results.json with the
expected keys. No timing assertions: figures on a shared CI machine mean nothing at this size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = (
    "ingest: comment pages (FB + IG)",
    "validation: stg_comment suite (GX, SQL path) — time",
    "facts over every key, every outcome cached (build-facts --full)",
    "facts over every key, classifying every text — classification apart",
    "KPIs + publication",
    "weekly run, week 52 on the year vs the same drop without history (direct)",
    "weekly run with nothing new (week 52 again, direct)",
    "peak memory of any stage (largest)",
)
ROW_KEYS = {"stage", "seconds", "peak_rss_mb", "floor_seconds", "floor_peak_rss_mb", "ratio", "target", "met"}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_benchmark_runs_at_tiny_scale_and_writes_its_files(tmp_path: Path) -> None:
    out, results = tmp_path / "BENCHMARKS.md", tmp_path / "results.json"
    env = {**os.environ, "CITYIMAGE_BENCH_HOME": str(tmp_path / "bench"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--scale", "0.001", "--weeks", "2", "--naive-files", "6",
         "--skip-prefect", "--out", str(out), "--results", str(results)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=880,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    data = json.loads(results.read_text())
    assert {"generated_at", "machine", "scale", "reference", "dataset", "rows", "naive", "memory", "raw"} <= set(data)
    assert {"cores", "memory_gb", "python", "duckdb", "polars"} <= set(data["machine"])
    assert data["scale"] == 0.001
    stages = {row["stage"]: row for row in data["rows"]}
    for stage in STAGES:
        assert stage in stages, stage
        assert ROW_KEYS <= set(stages[stage])
    assert stages["ingest: comment pages (FB + IG)"]["floor_seconds"] is not None
    assert data["dataset"]["files"] > 0 and data["stg_comment_rows"] > 0
    weekly = data["raw"]["week52_direct"]
    assert list(weekly["peak_after_mb"]) == list(weekly["parts"])  # each part's peak so far, in order
    assert f"reached its peak in its {max(weekly['peak_after_mb'], key=weekly['peak_after_mb'].get)!r}" \
        in stages["peak memory of any stage (largest)"]["note"]

    text = out.read_text()
    assert "| stage | time (s) | peak memory (MB) | floor time (s) | floor memory (MB) | ratio | target | met? |" in text
    assert "cores" in text and "DuckDB" in text and "Polars" in text
    for stage in STAGES:
        assert stage in text


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_classification_benchmark_runs_small_and_writes_its_files(tmp_path: Path) -> None:
    out, results = tmp_path / "classification.md", tmp_path / "classification.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "benchmarks.classification", "--rows", "300", "--out", str(out),
                    "--results", str(results)], cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    res = json.loads(results.read_text())
    assert res["rows"] == 300 and set(res["figures"]) == {"lexicons", "models"}
    assert res["figures"]["models"]["rated"] >= res["figures"]["lexicons"]["rated"]  # pt and it are now rated
    assert "Ratios, models ÷ lexicons alone" in out.read_text()
