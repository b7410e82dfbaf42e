"""The validation benchmark runs end to end on a small warehouse (the real figures come from `make bench`)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.validation import handwritten_query, measure_validation


def test_measure_validation_compares_gx_with_one_duckdb_query(tmp_path: Path) -> None:
    result = measure_validation(2_000, workdir=tmp_path)

    assert result["rows"] == 2_000 and result["expectations"] == 24
    assert result["gx_passed"] and result["gx"]["fallbacks"] == 0 and result["duckdb_failures"] == []
    for mode in ("gx", "duckdb"):
        assert result[mode]["seconds"] > 0 and result[mode]["peak_rss_mb"] > 0
    assert result["gx"]["import_seconds"] > result["duckdb"]["import_seconds"]
    assert result["time_ratio"] > 0


def test_the_handwritten_query_binds_its_values() -> None:
    query, params = handwritten_query()
    assert "?" in query and "'youtube'" not in query and "youtube" in params
