"""The warehouse's own documentation, rendered from the comments in the migrated schema.

``python -m warehouse.docs > docs/warehouse.md`` regenerates the page; a test fails when the page and
the schema drift apart, so table grains and column meanings live in one place: the migrations.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from warehouse.connection import open_writer

LAYERS = (("ops_", "Operations"), ("stg_", "Staging"), ("dim_", "Dimensions"), ("fct_", "Facts"), ("kpi_", "KPIs"))


def render(con: duckdb.DuckDBPyConnection) -> str:
    """Markdown: per layer, per table, its grain and a column table (name, type, meaning)."""
    tables = con.execute("SELECT table_name, coalesce(comment, '') FROM duckdb_tables() ORDER BY table_name").fetchall()
    columns = con.execute(
        "SELECT table_name, column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
        "ORDER BY table_name, column_index"
    ).fetchall()
    lines = ["# The warehouse", "", "Generated from the schema's own comments by `python -m warehouse.docs`; "
             "`SELECT table_name, comment FROM duckdb_tables()` shows the same in the database.", ""]
    for prefix, title in LAYERS:
        lines += [f"## {title}", ""]
        for table, comment in tables:
            if not table.startswith(prefix):
                continue
            lines += [f"### `{table}`", "", comment, "", "| column | type | meaning |", "|---|---|---|"]
            lines += [f"| `{c}` | {t} | {m} |" for tbl, c, t, m in columns if tbl == table]
            lines.append("")
    return "\n".join(lines)


def render_fresh() -> str:
    """The page for a freshly migrated warehouse."""
    with tempfile.TemporaryDirectory() as folder:
        with open_writer(Path(folder) / "docs.duckdb", "render docs") as con:
            return render(con)


if __name__ == "__main__":
    print(render_fresh(), end="")
