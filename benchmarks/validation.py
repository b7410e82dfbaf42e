"""What the quality gate costs: the comment suite through Great Expectations vs one DuckDB query.

``measure_validation(rows)`` builds a warehouse with ``rows`` synthetic (clean) comments in
``stg_comment`` and measures, each in a fresh child process so that memory figures are not polluted by
the parent or by each other:

* ``gx``: ``run_gates`` with the ``stg_comment`` suite (22 expectations, through GX's SQL path inside
  DuckDB, results stored in ``ops_validation_result``), Great Expectations' import timed separately;
* ``duckdb``: the same checks written by hand as one aggregate DuckDB query.

Time is wall-clock around the validation only; memory is the child's peak RSS (``ru_maxrss``) and its
growth over the RSS measured just before validating (after imports). Run it directly with
``python -m benchmarks.validation 1000000``.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks.measure import peak_mb, rss_mb, run_module, scratch_warehouse

WEEK = "2026-W47"
ZONE = "Asia/Shanghai"
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=timezone.utc)
EXPORTED = datetime(2026, 11, 21, tzinfo=timezone.utc)
WEEK_START = datetime(2026, 11, 15, 16, 0, tzinfo=timezone.utc)  # Monday 00:00 in Asia/Shanghai
FILES = 10


def measure_validation(rows: int, workdir: Path | None = None, memory_limit: str | None = None) -> dict[str, Any]:
    """Build a warehouse of ``rows`` comments, then time and memory-measure both ways of validating it,
    each with DuckDB held to ``memory_limit`` (the product's budget; None leaves DuckDB its default)."""
    with scratch_warehouse(workdir, "validation.duckdb") as path:
        started = time.perf_counter()
        build_warehouse(path, rows)
        build_seconds = time.perf_counter() - started
        gx = _child("gx", path, memory_limit)
        floor = _child("duckdb", path, memory_limit)
        return {
            "rows": rows,
            "expectations": gx["expectations"],
            "build_seconds": round(build_seconds, 3),
            "warehouse_mb": round(path.stat().st_size / 2**20, 1),
            "gx": gx,
            "duckdb": floor,
            "time_ratio": round(gx["seconds"] / floor["seconds"], 2) if floor["seconds"] else None,
            "peak_memory_ratio": round(gx["peak_rss_mb"] / floor["peak_rss_mb"], 2),
            "memory_growth_ratio": round(gx["rss_growth_mb"] / floor["rss_growth_mb"], 2) if floor["rss_growth_mb"] > 0 else None,
            "gx_passed": gx["passed"],
            "duckdb_failures": floor["failures"],
        }


def build_warehouse(path: Path, rows: int) -> None:
    """``rows`` clean comments over the five platforms and ten files, with a balanced ledger."""
    from warehouse.connection import open_writer

    with open_writer(path, "benchmark") as con:
        con.execute(
            """
            INSERT INTO stg_comment BY NAME
            SELECT
                ['youtube', 'x', 'tiktok', 'facebook', 'instagram'][(i % 5) + 1] AS platform,
                CASE i % 5 WHEN 0 THEN 'Ugx' || i::VARCHAR ELSE i::VARCHAR END AS comment_id,
                CASE i % 5 WHEN 0 THEN 'v' || lpad((i % 100000)::VARCHAR, 10, '0') ELSE (i % 100000)::VARCHAR END AS post_id,
                CASE WHEN i % 4 = 0 THEN (i - 1)::VARCHAR END AS parent_comment_id,
                'author' || (i % 50000)::VARCHAR AS author_id,
                'comment text number ' || i::VARCHAR AS text,
                ?::TIMESTAMPTZ + to_seconds(i % 400000) AS created_at,
                i % 50 AS like_count,
                i % 7 AS reply_count,
                false AS is_hidden,
                ?::TIMESTAMPTZ AS exported_at,
                i AS source_row,
                'bench' AS source_format,
                sha256('file' || (i % ?)::VARCHAR) AS source_file_sha256,
                'L1' AS load_id,
                'benchcity' AS city_key
            FROM range(?) AS r(i)
            """,
            [WEEK_START, EXPORTED, FILES, rows],
        )
        con.execute(
            """
            INSERT INTO ops_file_ledger (file_sha256, file_name, file_bytes, detected_format, platform, status, rows_read,
                rows_loaded, rows_quarantined, rows_skipped, rows_duplicate, exported_at, load_id, first_seen_at, loaded_at)
            SELECT source_file_sha256, 'comments_' || row_number() OVER (ORDER BY source_file_sha256) || '.json', 1000,
                   'bench', 'youtube', 'loaded', count(*), count(*), 0, 0, 0, ?, 'L1', ?, ?
            FROM stg_comment GROUP BY source_file_sha256
            """,
            [EXPORTED, EXPORTED, EXPORTED],
        )
        con.execute("CHECKPOINT")


def handwritten_query() -> tuple[str, list[Any]]:
    """The comment suite's checks as one aggregate query: one column per check, the count of failing rows."""
    from cityimage.vocabulary import PLATFORMS
    from expectations.checks import ID_PATTERNS
    from expectations.suites import FUTURE_TOLERANCE

    limit = NOW + FUTURE_TOLERANCE
    params: list[Any] = []
    cols = [
        "count(*) AS total_rows",
        "count(*) FILTER (WHERE platform IS NULL) AS platform_null",
        "count(*) FILTER (WHERE comment_id IS NULL) AS comment_id_null",
        "count(*) FILTER (WHERE post_id IS NULL) AS post_id_null",
        "count(*) FILTER (WHERE source_file_sha256 IS NULL) AS sha_null",
        "count(*) FILTER (WHERE load_id IS NULL) AS load_id_null",
        "count(*) FILTER (WHERE city_key IS NULL) AS city_key_null",
        "count(*) FILTER (WHERE exported_at IS NULL) AS exported_at_null",
        "(SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM stg_comment "
        " GROUP BY platform, comment_id, source_file_sha256 HAVING count(*) > 1)) AS duplicate_rows",
        "count(*) FILTER (WHERE NOT list_contains(?, platform)) AS platform_unknown",
        "count(*) FILTER (WHERE like_count < 0) AS like_count_negative",
        "count(*) FILTER (WHERE reply_count < 0) AS reply_count_negative",
        "count(*) FILTER (WHERE created_at > ?) AS created_in_future",
        "count(*) FILTER (WHERE exported_at > ?) AS exported_in_future",
        "count(*) FILTER (WHERE exported_at < created_at) AS created_after_export",
    ]
    params += [list(PLATFORMS), limit, limit]
    for platform, regex in ID_PATTERNS["comment"].items():
        cols.append(f"count(*) FILTER (WHERE platform = ? AND NOT regexp_matches(comment_id, ?)) AS comment_id_{platform}")
        params += [platform, regex]
    for platform in ("youtube", "x", "tiktok"):
        cols.append(f"count(*) FILTER (WHERE platform = ? AND NOT regexp_matches(post_id, ?)) AS post_id_{platform}")
        params += [platform, ID_PATTERNS["post"][platform]]
    # volume: this week's rows and each of the four weeks before (the ratio is judged in Python)
    for k in range(5):
        start = WEEK_START - timedelta(weeks=k)
        cols.append(f"count(*) FILTER (WHERE exported_at >= ? AND exported_at < ?) AS week_minus_{k}")
        params += [start, start + timedelta(weeks=1)]
    return f"SELECT {', '.join(cols)} FROM stg_comment", params


# -- the child processes -------------------------------------------------------------------------


def _child(mode: str, path: Path, memory_limit: str | None) -> dict[str, Any]:
    return run_module("benchmarks.validation", ["--child", mode, str(path), *([memory_limit] if memory_limit else [])],
                      timeout=3600)


def _run_child(mode: str, path: Path, memory_limit: str | None = None) -> dict[str, Any]:
    import duckdb  # noqa: F401  (both modes pay for it before the baseline)

    started = time.perf_counter()
    if mode == "gx":
        from expectations import gx_engine  # noqa: F401  (Great Expectations, and the shim)
        from expectations.runner import run_gates
        from expectations.suites import stg_comment
    import_seconds = time.perf_counter() - started
    baseline = rss_mb()
    started = time.perf_counter()
    if mode == "gx":
        report = run_gates(path, WEEK, "benchmark", None, zone=ZONE, now=NOW,
                           suites=[stg_comment.SUITE], memory_limit=memory_limit, keep=False)
        seconds = time.perf_counter() - started
        result = {"passed": report.passed, "expectations": len(report.results),
                  "fallbacks": len(report.fallbacks), "failures": [f.expectation for f in report.critical + report.warnings]}
    else:
        con = duckdb.connect(str(path), read_only=True, config={"memory_limit": memory_limit} if memory_limit else {})
        query, params = handwritten_query()
        cur = con.execute(query, params)
        names = [d[0] for d in cur.description]
        row = dict(zip(names, cur.fetchall()[0]))
        con.close()
        seconds = time.perf_counter() - started
        weeks = [row[f"week_minus_{k}"] for k in range(5)]
        history = [w for w in weeks[1:] if w]
        counts = {k: v for k, v in row.items() if k != "total_rows" and not k.startswith("week_minus_")}
        failures = [k for k, v in counts.items() if v]
        if len(history) >= 2:
            mean = sum(history) / len(history)
            if not 0.5 * mean <= weeks[0] <= 2.0 * mean:
                failures.append("volume")
        result = {"expectations": len(counts) + 1, "failures": failures}
    peak = peak_mb()
    return {
        "mode": mode,
        "seconds": round(seconds, 3),
        "import_seconds": round(import_seconds, 3),
        "rss_before_mb": round(baseline, 1),
        "peak_rss_mb": round(peak, 1),
        "rss_growth_mb": round(max(peak - baseline, 0.0), 1),
        **result,
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        print(json.dumps(_run_child(argv[1], Path(argv[2]), argv[3] if len(argv) > 3 else None)))
        return 0
    rows = int(argv[0]) if argv else 1_000_000
    print(json.dumps(measure_validation(rows, memory_limit=argv[1] if len(argv) > 1 else None), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
