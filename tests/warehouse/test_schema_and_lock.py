"""The warehouse schema is the table catalogue's (plus migrated operations tables), evolves additively,
refuses a frame that does not fit, and has one writer."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cityimage.tables import TABLES, Column, FrameMismatch
from readers.entities import ENTITIES
from tests.expectations.builders import record_city
from warehouse import schema
from warehouse.connection import insert_frame, open_reader, open_writer
from warehouse.lock import WarehouseBusy, writer_lock


def test_migrations_create_every_table_with_its_grain(tmp_path: Path) -> None:
    with open_writer(tmp_path / "w.duckdb", "test") as con:
        tables = dict(con.execute("SELECT table_name, comment FROM duckdb_tables()").fetchall())
    for entity in ENTITIES.values():
        assert tables[entity.table].lower().startswith("one row per")
    for name in ("ops_file_ledger", "stg_quarantine", "fct_post", "fct_comment", "kpi_weekly", "dim_account"):
        assert tables[name], f"{name} has no comment stating its grain"


def test_migrating_twice_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with open_writer(path, "first"):
        pass
    con = duckdb.connect(str(path))
    assert schema.migrate(con) == []
    con.close()


def test_a_fresh_warehouse_has_exactly_the_catalogue_tables(tmp_path: Path) -> None:
    with open_writer(tmp_path / "w.duckdb", "test") as con:
        for table in TABLES.values():
            rows = con.execute("SELECT column_name, data_type, is_nullable, comment FROM duckdb_columns() "
                               "WHERE table_name = ? ORDER BY column_index", [table.name]).fetchall()
            assert [r[0] for r in rows] == [c.name for c in table.stored], table.name
            for (name, data_type, nullable, comment), column in zip(rows, table.stored):
                assert data_type == {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}.get(column.type, column.type), name
                assert nullable == (column.nullable or table.layer == "staging"), f"{table.name}.{name}"
                assert comment == column.doc


def test_tables_gain_new_catalogue_columns_without_losing_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.duckdb"
    with open_writer(path, "first") as con:
        con.execute("INSERT INTO stg_search (property, dimension, value, source_row, source_format, source_file_sha256, load_id) "
                    "VALUES ('p', 'query', 'chongqing', 1, 'f', 'h', 'l')")
    grown = TABLES["stg_search"]
    extended = replace(grown, columns=(*grown.columns, Column("country_code", "VARCHAR", "new column")))
    monkeypatch.setitem(schema.TABLES, "stg_search", extended)
    con = duckdb.connect(str(path))
    assert schema.migrate(con) == ["stg_search.country_code"]
    assert con.execute("SELECT value, country_code FROM stg_search").fetchall() == [("chongqing", None)]
    assert con.execute("SELECT comment FROM duckdb_columns() WHERE column_name = 'country_code'").fetchall() == [("new column",)]
    con.close()


def test_every_row_written_carries_the_warehouse_city_and_none_is_written_before_one_is_recorded(tmp_path: Path) -> None:
    from warehouse.city import CityUnknown

    row = {"week_id": "2026-W47", "kpi_id": "C1", "kpi_name": "Reply rate", "scope": "role", "unit": "ratio", "status": "ok"}
    kpis = pl.DataFrame([{name: row.get(name) for name in TABLES["kpi_weekly"].names}], schema=TABLES["kpi_weekly"].schema)
    with open_writer(tmp_path / "w.duckdb", "test") as con:
        with pytest.raises(CityUnknown, match="records no city yet"):
            insert_frame(con, "kpi_weekly", kpis)
        assert con.execute("SELECT count(*) FROM kpi_weekly").fetchall() == [(0,)]
        record_city(con, "hangzhou")
        insert_frame(con, "kpi_weekly", kpis)
        assert con.execute("SELECT kpi_id, city_key FROM kpi_weekly").fetchall() == [("C1", "hangzhou")]
        with pytest.raises(FrameMismatch, match="has no place for city_key"):  # the warehouse's to set, not the frame's
            insert_frame(con, "kpi_weekly", kpis.with_columns(city_key=pl.lit("chongqing")))


def test_a_warehouse_from_before_the_city_column_names_its_city_on_every_row(tmp_path: Path) -> None:
    """Rows written before the column existed take the city the warehouse holds, when it is added; a
    warehouse that held no city yet takes it from the first stage that records one."""
    from cityimage.citypack import load_pack
    from cityimage.profile import load_profile
    from warehouse.city import check_city

    for held in (True, False):
        path = tmp_path / f"held-{held}.duckdb"
        with open_writer(path, "first") as con:
            if held:
                record_city(con, "chongqing")
            con.execute("INSERT INTO stg_search (property, dimension, value, source_row, source_format, "
                        "source_file_sha256, load_id, city_key) VALUES ('p', 'query', 'chongqing', 1, 'f', 'h', 'l', 'x')")
            con.execute("ALTER TABLE stg_search DROP COLUMN city_key")
            con.execute("ALTER TABLE ops_file_ledger DROP COLUMN city_key")
            con.execute("ALTER TABLE stg_quarantine DROP COLUMN city_key")
            con.execute("DELETE FROM ops_schema_migration WHERE version = '0019_city_on_ledger.sql'")
        with open_writer(path, "upgrade") as con:
            found = con.execute("SELECT value, city_key FROM stg_search").fetchall()
            assert found == [("chongqing", "chongqing" if held else None)]
            if not held:
                check_city(con, load_profile(load_pack().profile_path))
                assert con.execute("SELECT city_key FROM stg_search").fetchall() == [("chongqing",)]
            assert con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'ops_file_ledger' "
                               "AND column_name = 'city_key'").fetchall()[0][0].startswith("the city")


def test_a_column_retyped_in_the_catalogue_is_refused_until_a_migration_does_it(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.duckdb"
    with open_writer(path, "first"):
        pass
    posts = TABLES["fct_post"]
    retyped = replace(posts, columns=tuple(replace(c, type="BIGINT") if c.name == "snapshots" else c for c in posts.columns))
    monkeypatch.setitem(schema.TABLES, "fct_post", retyped)
    con = duckdb.connect(str(path))
    with pytest.raises(schema.SchemaMismatch, match="fct_post.snapshots is INTEGER in this warehouse but BIGINT"):
        schema.migrate(con)
    con.close()


def test_a_warehouse_made_by_the_old_fact_migrations_gains_what_the_catalogue_added(tmp_path: Path) -> None:
    """Warehouses made before the catalogue got their fact and KPI tables from migrations 0002, 0003 and 0006."""
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE kpi_weekly (week_id VARCHAR NOT NULL, kpi_id VARCHAR NOT NULL, kpi_name VARCHAR NOT NULL, "
                "scope VARCHAR NOT NULL, platform VARCHAR, account_key VARCHAR, role VARCHAR, dimension VARCHAR, "
                "value DOUBLE, numerator DOUBLE, denominator DOUBLE, n BIGINT, unit VARCHAR NOT NULL, "
                "status VARCHAR NOT NULL, note VARCHAR, value_low DOUBLE, value_high DOUBLE)")
    con.execute("INSERT INTO kpi_weekly (week_id, kpi_id, kpi_name, scope, unit, status, value) "
                "VALUES ('2026-W47', 'C1', 'reply rate', 'role', 'ratio', 'ok', 0.04)")
    assert "kpi_weekly.series_break" in schema.migrate(con)
    assert con.execute("SELECT value, series_break FROM kpi_weekly").fetchall() == [(0.04, None)]
    assert schema.migrate(con) == []
    con.close()


def test_a_frame_that_does_not_fit_its_table_is_refused_by_name(tmp_path: Path) -> None:
    kpis = TABLES["kpi_weekly"].empty()
    with open_writer(tmp_path / "w.duckdb", "test") as con:
        record_city(con)
        with pytest.raises(FrameMismatch, match="rows for kpi_weekly: lacks series_break"):
            insert_frame(con, "kpi_weekly", kpis.drop("series_break"))
        with pytest.raises(FrameMismatch, match="has no place for surplus"):
            insert_frame(con, "kpi_weekly", kpis.with_columns(surplus=pl.lit(1)))
        with pytest.raises(FrameMismatch, match="column n is String, the catalogue says BIGINT"):
            insert_frame(con, "kpi_weekly", kpis.with_columns(n=pl.lit(None, pl.String)))
        with pytest.raises(FrameMismatch, match="column latest_exported_at is Datetime"):  # a naive time is no instant
            insert_frame(con, "fct_post", TABLES["fct_post"].empty().with_columns(
                latest_exported_at=pl.lit(None, pl.Datetime("us"))))
        widened = kpis.with_columns(n=pl.lit(None, pl.Int32), value=pl.lit(None, pl.Int64))  # lossless: accepted
        insert_frame(con, "kpi_weekly", widened)


def test_second_writer_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from warehouse.lock import writer_lock\n"
         f"with writer_lock(Path({str(path)!r}), 'weekly pipeline 2026-W47'):\n"
         "    print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseBusy, match=rf"process {holder.pid} \(weekly pipeline 2026-W47\)"):
            with writer_lock(path, "second run"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with writer_lock(path, "after the holder died"):  # the kernel releases the lock with the process
        pass


def _reading(path: Path, seconds: float) -> subprocess.Popen:
    """A process holding the warehouse read-only for ``seconds``, as a long ``cityimage sql`` query does."""
    reader = subprocess.Popen(
        [sys.executable, "-c",
         "import time, duckdb\n"
         f"con = duckdb.connect({str(path)!r}, read_only=True)\n"
         f"print('reading', flush=True); time.sleep({seconds}); con.close()"],
        stdout=subprocess.PIPE, text=True,
    )
    assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
    return reader


def test_a_stage_waits_for_a_reader_then_refuses_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with open_writer(path, "create"):
        pass
    reader = _reading(path, 2)
    try:  # a short query: the stage waits for it and goes on
        with open_writer(path, "build facts", reader_wait_s=30) as con:
            assert con.execute("SELECT count(*) FROM stg_post").fetchall() == [(0,)]
    finally:
        reader.wait()
    reader = _reading(path, 60)
    try:  # a query that outlasts the wait: a clear refusal, not a DuckDB lock error
        with pytest.raises(WarehouseBusy, match=rf"PID {reader.pid}\).*build facts waited 1 s"):
            with open_writer(path, "build facts", reader_wait_s=1):
                pass
    finally:
        reader.kill()
        reader.wait()


def test_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with writer_lock(path, "flow"):
        with open_writer(path, "task") as con:
            assert con.execute("SELECT 1").fetchall() == [(1,)]


def test_reader_on_missing_warehouse_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cityimage ingest"):
        with open_reader(tmp_path / "none.duckdb"):
            pass


def test_status_while_a_run_writes_reads_the_backup_and_names_the_writer(tmp_path: Path) -> None:
    """DuckDB refuses even a reader while another process writes; `status` answers from the run's backup."""
    from warehouse.backup import backup

    home = tmp_path / "home"
    path = home / "warehouse.duckdb"
    with open_writer(path, "first") as con:
        con.execute("INSERT INTO ops_run (run_id, week_id, status, started_at) VALUES ('r1', '2026-W46', 'published', now())")
    backup(path, home / "backups")
    writer = subprocess.Popen(
        [sys.executable, "-c",
         "import time; from pathlib import Path; from warehouse.connection import open_writer\n"
         f"with open_writer(Path({str(path)!r}), 'weekly pipeline 2026-W47') as con:\n"
         "    print('writing', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        env = {"CITYIMAGE_HOME": str(home), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
        out = subprocess.run([sys.executable, "-m", "cityimage", "status"], env=env, capture_output=True, text=True,
                             timeout=120)
    finally:
        writer.kill()
        writer.wait()
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert f"being written by process {writer.pid} (weekly pipeline 2026-W47)" in out.stdout
    assert "from the newest backup, warehouse-" in out.stdout and "2026-W46" in out.stdout
