"""The analyst session: views over the published snapshots, no lock on the warehouse, no torn reads."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
from typer.testing import CliRunner

from cityimage.analyst import SNAPSHOT_TABLES, analyst_views, open_session, run_query, split_statements
from publish.snapshot import publish_week

ROOT = Path(__file__).resolve().parents[1]
WEEK = "2026-W47"
SMALL, LARGE = 3, 5000


def _tables(rows: int, week: str = WEEK) -> dict[str, pl.DataFrame]:
    """Tables of ``rows`` rows each, every row tagged with ``rows`` so a mixed read would show."""
    frame = pl.DataFrame({"week_id": [week] * rows, "version": [rows] * rows, "value": list(range(rows))})
    return {table: frame for table in SNAPSHOT_TABLES}


def _publish(root: Path, rows: int, week: str = WEEK) -> None:
    publish_week(root, week, _tables(rows, week), {"code_version": f"v{rows}", "inputs": [], "validation_warnings": []})


def _rows(result) -> list[tuple]:
    return list(zip(*(column.to_pylist() for column in result.columns)))


def test_analyst_views_are_plain_duckdb_sql() -> None:
    views = analyst_views(Path("/data/it's snapshots"))
    assert len(views) == len(SNAPSHOT_TABLES) + 1
    assert views[0] == ("CREATE OR REPLACE VIEW kpi_weekly AS SELECT * FROM read_parquet("
                        "'/data/it''s snapshots/kpi_weekly/*/*.parquet', hive_partitioning = true, union_by_name = true)")
    assert "read_json('/data/it''s snapshots/manifests/*.json'" in views[-1]
    con = duckdb.connect()
    for view in views:  # every statement parses (binding needs files, so only parse here)
        con.extract_statements(view)


def test_a_session_sees_every_week_and_the_manifests(tmp_path: Path) -> None:
    _publish(tmp_path, SMALL, "2026-W46")
    _publish(tmp_path, SMALL, WEEK)
    con, missing = open_session(tmp_path)
    assert missing == []
    result = run_query(con, "SELECT week, count(*) FROM kpi_weekly GROUP BY week ORDER BY week")
    columns, rows = result.column_names, _rows(result)
    assert columns == ["week", "count_star()"] and rows == [("2026-W46", SMALL), (WEEK, SMALL)]
    assert _rows(run_query(con, "SELECT week_id, code_version FROM manifests ORDER BY week_id")) == [
        ("2026-W46", f"v{SMALL}"), (WEEK, f"v{SMALL}")]


def test_weeks_published_before_the_city_column_read_beside_later_ones(tmp_path: Path) -> None:
    """DuckDB takes the first file's columns for all unless it reads by name: an old week first would
    silently drop every later week's city_key."""
    _publish(tmp_path, SMALL, "2026-W46")
    publish_week(tmp_path, WEEK, {t: f.with_columns(city_key=pl.lit("chongqing")) for t, f in _tables(SMALL).items()},
                 {"code_version": "v", "inputs": [], "validation_warnings": []})
    con, _ = open_session(tmp_path)
    result = run_query(con, "SELECT week, city_key FROM kpi_weekly GROUP BY ALL ORDER BY week")
    assert _rows(result) == [("2026-W46", None), (WEEK, "chongqing")]


def test_a_session_before_anything_is_published_says_what_is_missing(tmp_path: Path) -> None:
    con, missing = open_session(tmp_path)
    assert missing == [*SNAPSHOT_TABLES, "manifests"]
    assert _rows(run_query(con, "SELECT 42")) == [(42,)]


def test_sql_files_are_split_into_statements() -> None:
    script = "-- the C family\nSELECT 1;\n\nSELECT 2\nFROM t;\n-- trailing comment\n"
    assert split_statements(script) == ["-- the C family\nSELECT 1", "SELECT 2\nFROM t"]


PUBLISHER = """
import sys, time, polars as pl
from pathlib import Path
from publish.snapshot import publish_week
root, rounds = Path(sys.argv[1]), int(sys.argv[2])
for i in range(rounds):
    rows = {small} if i % 2 else {large}
    frame = pl.DataFrame({{"week_id": ["{week}"] * rows, "version": [rows] * rows, "value": list(range(rows))}})
    publish_week(root, "{week}", {{t: frame for t in {tables!r}}}, {{"code_version": f"v{{rows}}"}})
    time.sleep(0.01)
print("done", flush=True)
"""


def test_an_open_session_neither_blocks_a_publish_nor_sees_a_torn_snapshot(tmp_path: Path) -> None:
    """A publisher in another process rewrites the week's files 40 times while this process holds a
    session open and queries: the publisher is never blocked, and every read is a whole old or new file.

    DuckDB opens a file to plan and again to scan, so a bare query racing a rename can fail;
    ``run_query`` with the snapshot root retries until no file changed while it ran."""
    _publish(tmp_path, SMALL)
    con, _ = open_session(tmp_path)
    # The live warehouse stays free too: a writer can open it while the session is open.
    writer = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    writer.close()
    script = PUBLISHER.format(small=SMALL, large=LARGE, week=WEEK, tables=SNAPSHOT_TABLES)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    publisher = subprocess.Popen([sys.executable, "-c", script, str(tmp_path), "40"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: set[tuple[int, int]] = set()
    while publisher.poll() is None:
        for table in SNAPSHOT_TABLES:
            rows = _rows(run_query(con, f"SELECT version, count(*) FROM {table} GROUP BY version", tmp_path))
            assert len(rows) == 1, rows  # never two versions of one file mixed
            version, count = rows[0]
            assert count == version, (table, version, count)  # never a partial file
            seen.add((version, count))
    out, errors = publisher.communicate(timeout=60)
    assert publisher.returncode == 0, errors
    assert "done" in out and time.monotonic() - started < 60
    assert seen <= {(SMALL, SMALL), (LARGE, LARGE)} and seen
    assert _rows(run_query(con, "SELECT count(*) FROM kpi_weekly")) == [(SMALL,)]  # the last round wrote SMALL
    assert not list(tmp_path.rglob(".*tmp-*"))


def test_the_cli_prints_the_views_and_runs_a_query(tmp_path: Path, monkeypatch) -> None:
    from cityimage.cli import app

    _publish(tmp_path / "snapshots", SMALL)
    monkeypatch.setenv("CITYIMAGE_HOME", str(tmp_path))
    runner = CliRunner()
    printed = runner.invoke(app, ["analyst", "--print-sql"])
    assert printed.exit_code == 0 and printed.output.count("CREATE OR REPLACE VIEW") == len(SNAPSHOT_TABLES) + 1
    con = duckdb.connect()
    for statement in printed.output.strip().split(";\n"):  # pasted into a plain DuckDB, they work
        con.execute(statement.rstrip(";"))
    assert con.execute("SELECT count(*) FROM fct_post").fetchall() == [(SMALL,)]
    result = runner.invoke(app, ["analyst", "--query", "SELECT week, count(*) AS n FROM kpi_weekly GROUP BY week"])
    assert result.exit_code == 0, result.output
    assert WEEK in result.output and "1 row(s)" in result.output
    sql_file = tmp_path / "q.sql"
    sql_file.write_text("SELECT count(*) FROM fct_comment;\nSELECT week_id FROM manifests;\n")
    assert runner.invoke(app, ["analyst", "--file", str(sql_file)]).exit_code == 0
    bad = runner.invoke(app, ["analyst", "--query", "SELECT * FROM no_such_table"])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    repl = runner.invoke(app, ["analyst"], input="SELECT count(*) AS n\nFROM fct_mention;\n.quit\n")
    assert repl.exit_code == 0 and "1 row(s)" in repl.output


def test_an_object_store_snapshot_url_fails_at_start_with_a_clear_message(tmp_path: Path, monkeypatch) -> None:
    from cityimage.cli import app

    monkeypatch.setenv("CITYIMAGE_HOME", str(tmp_path))
    monkeypatch.setenv("CITYIMAGE_SNAPSHOT_URL", "s3://city-bucket/snapshots")
    result = CliRunner().invoke(app, ["analyst", "--print-sql"])
    assert result.exit_code == 2
    assert "snapshot_mirror_url" in result.output and "CITYIMAGE_SNAPSHOT_URL" in result.output
    assert "Traceback" not in result.output


def test_a_file_url_or_path_names_the_snapshot_folder(tmp_path: Path, monkeypatch) -> None:
    from cityimage.settings import load_settings

    monkeypatch.setenv("CITYIMAGE_HOME", str(tmp_path))
    monkeypatch.setenv("CITYIMAGE_SNAPSHOT_URL", f"file://{tmp_path}/shared%20snaps")
    assert load_settings().snapshots == tmp_path / "shared snaps"
    monkeypatch.setenv("CITYIMAGE_SNAPSHOT_URL", str(tmp_path / "plain"))
    assert load_settings().snapshots == tmp_path / "plain"
    monkeypatch.delenv("CITYIMAGE_SNAPSHOT_URL")
    assert load_settings().snapshots == tmp_path / "snapshots"


def test_the_query_tools_only_read_and_open_no_other_file(tmp_path: Path, monkeypatch) -> None:
    """The attacks that used to work: writing the warehouse through ATTACH, COPY over a snapshot or to
    any path, reading the key from /proc/self/environ, undoing the lock with SET."""
    from cityimage.cli import app
    from warehouse.connection import open_writer

    _publish(tmp_path / "snapshots", SMALL)
    warehouse = tmp_path / "warehouse.duckdb"
    with open_writer(warehouse, "test") as con:
        con.execute("INSERT INTO kpi_weekly (week_id, kpi_id, kpi_name, scope, role, value, unit, status, city_key) "
                    "VALUES ('2026-W47', 'C1', 'Reply rate', 'role', 'owned', 0.04, 'ratio', 'ok', 'chongqing')")
    monkeypatch.setenv("CITYIMAGE_HOME", str(tmp_path))
    monkeypatch.setenv("CITYIMAGE_AUTHOR_KEY", "secret-key-that-must-not-leak-0123")
    snapshot = tmp_path / "snapshots" / "kpi_weekly" / f"week={WEEK}" / "kpi_weekly.parquet"
    published = snapshot.read_bytes()
    runner = CliRunner()
    attacks = {
        "analyst": [f"ATTACH '{warehouse}' AS w; DELETE FROM w.kpi_weekly WHERE week_id = '2026-W47'",
                    f"COPY (SELECT 1 AS x) TO '{snapshot}' (FORMAT parquet)",
                    f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'",
                    "SELECT * FROM read_text('/proc/self/environ')", "SELECT * FROM glob('/root/*')",
                    "SET enable_external_access = true", "PRAGMA database_list", "INSTALL httpfs"],
        "sql": [f"ATTACH '{tmp_path / 'other.duckdb'}' AS o", f"COPY kpi_weekly TO '{tmp_path / 'out.csv'}'",
                "SELECT * FROM read_text('/proc/self/environ')", "DELETE FROM kpi_weekly", "SET threads = 1"],
    }
    for command, queries in attacks.items():
        for query in queries:
            args = ["analyst", "--query", query] if command == "analyst" else ["sql", query]
            result = runner.invoke(app, args)
            assert result.exit_code in (1, 2), (command, query, result.output)
            assert "secret-key-that-must-not-leak" not in result.output and "Traceback" not in result.output
    assert snapshot.read_bytes() == published and not (tmp_path / "out.csv").exists()
    assert not (tmp_path / "other.duckdb").exists()
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM kpi_weekly").fetchall() == [(1,)]
    con.close()
    # What an analyst does is still possible: reading, and scratch tables in the in-memory session.
    scratch = runner.invoke(app, ["analyst", "--query", "CREATE TEMP TABLE t AS SELECT * FROM kpi_weekly; SELECT count(*) AS n FROM t"])
    assert scratch.exit_code == 0, scratch.output
    assert runner.invoke(app, ["sql", "SELECT count(*) FROM kpi_weekly"]).exit_code == 0
