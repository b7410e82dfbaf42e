"""Query results in every format, through the real commands on a real warehouse and real snapshots."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cityimage.cli import app
from cityimage.prompt import dot_command
from warehouse.connection import open_writer

QUERY = ("SELECT '=HYPERLINK(\"http://x\")' AS text, 3 AS n, NULL AS gone, DATE '2026-11-23' AS day, "
         "repeat('w', 150) AS wide")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    with open_writer(home / "warehouse.duckdb", "test"):
        pass
    monkeypatch.setenv("CITYIMAGE_HOME", str(home))
    return home


def test_csv_is_parseable_and_a_formula_is_defused(home: Path) -> None:
    result = CliRunner().invoke(app, ["sql", QUERY, "--format", "csv"])
    assert result.exit_code == 0, result.output
    [header, row] = list(csv.reader(io.StringIO(result.stdout)))
    assert header == ["text", "n", "gone", "day", "wide"]
    assert row[:4] == ["'=HYPERLINK(\"http://x\")", "3", "", "2026-11-23"] and row[4] == "w" * 150
    assert "row(s)" not in result.stdout


def test_json_is_one_array_with_nulls_and_iso_dates(home: Path) -> None:
    result = CliRunner().invoke(app, ["sql", QUERY, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"text": '=HYPERLINK("http://x")', "n": 3, "gone": None,
                                          "day": "2026-11-23", "wide": "w" * 150}]


def test_parquet_needs_a_file_and_keeps_the_types(home: Path, tmp_path: Path) -> None:
    refused = CliRunner().invoke(app, ["sql", QUERY, "--format", "parquet"])
    assert refused.exit_code == 2 and "--output" in refused.output
    target = tmp_path / "out.parquet"
    written = CliRunner().invoke(app, ["sql", QUERY, "--format", "parquet", "--output", str(target)])
    assert written.exit_code == 0, written.output
    table = pq.read_table(target)
    assert table.num_rows == 1 and str(table.schema.field("n").type) == "int32"
    assert table.column("day").to_pylist()[0].isoformat() == "2026-11-23"
    assert not list(tmp_path.glob(".out.parquet.tmp*"))


def test_a_piped_table_keeps_every_column_whole(home: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "cityimage", "sql", QUERY], capture_output=True, text=True,
                         timeout=120, env={"CITYIMAGE_HOME": str(home), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "w" * 150 in out.stdout and "…" not in out.stdout and "1 row(s)" in out.stdout


def test_the_prompts_dot_commands_answer_from_the_session() -> None:
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("CREATE VIEW kpi_weekly AS SELECT 'A1' AS kpi_id, 1.5 AS value")
    assert dot_command(con, ".tables") == "kpi_weekly"
    assert dot_command(con, ".schema kpi_weekly").splitlines() == ["kpi_weekly.kpi_id  VARCHAR",
                                                                   "kpi_weekly.value  DECIMAL(2,1)"]
    assert "no view named 'nope'" in dot_command(con, ".schema nope")
    assert dot_command(con, ".bogus") is None and ".tables" in dot_command(con, ".help")
