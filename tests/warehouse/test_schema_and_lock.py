"""The warehouse schema is migrated on connect, evolves staging additively, and has one writer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from readers.entities import ENTITIES, Entity
from warehouse import schema
from warehouse.connection import open_reader, open_writer
from warehouse.lock import WarehouseBusy, writer_lock


def test_migrations_create_every_table_with_its_grain(tmp_path: Path) -> None:
    with open_writer(tmp_path / "w.duckdb", "test") as con:
        tables = dict(con.execute("SELECT table_name, comment FROM duckdb_tables()").fetchall())
    for entity in ENTITIES.values():
        assert "one row per" in tables[entity.table]
    for name in ("ops_file_ledger", "stg_quarantine", "fct_post", "fct_comment", "kpi_weekly", "dim_account"):
        assert tables[name], f"{name} has no comment stating its grain"


def test_migrating_twice_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with open_writer(path, "first"):
        pass
    con = duckdb.connect(str(path))
    assert schema.migrate(con) == []
    con.close()


def test_staging_gains_new_entity_columns_without_losing_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.duckdb"
    with open_writer(path, "first") as con:
        con.execute("INSERT INTO stg_search (property, dimension, value, source_row, source_format, source_file_sha256, load_id) "
                    "VALUES ('p', 'query', 'chongqing', 1, 'f', 'h', 'l')")
    grown = ENTITIES["search"]
    extended = Entity(grown.name, grown.table, grown.grain, grown.key,
                      grown.columns | {"country_code": pl.String()}, grown.docs | {"country_code": "new column"})
    monkeypatch.setitem(schema.ENTITIES, "search", extended)
    con = duckdb.connect(str(path))
    assert schema.migrate(con) == ["stg_search.country_code"]
    assert con.execute("SELECT value, country_code FROM stg_search").fetchall() == [("chongqing", None)]
    con.close()


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
    assert "from the backup warehouse-" in out.stdout and "2026-W46" in out.stdout
