"""The warehouse schema: SQL migrations for operations, facts and KPIs; staging from the entities.

Migrations in ``warehouse/migrations`` are applied in order on connect and recorded in
``ops_schema_migration``; a released migration never changes. Staging tables are declared once, in
``readers/entities.py``, and evolved additively here (a new entity column becomes a new nullable
table column), so readers and the warehouse cannot drift apart.
"""

from __future__ import annotations

from importlib import resources

import duckdb
import polars as pl

from readers.entities import ENTITIES, Entity

LINEAGE_COLUMNS = {
    "source_row": "BIGINT",
    "source_format": "VARCHAR",
    "source_file_sha256": "VARCHAR",
    "load_id": "VARCHAR",
}
LINEAGE_DOCS = {
    "source_row": "row or record number in the source file (1 = first data row)",
    "source_format": "detected export format",
    "source_file_sha256": "SHA-256 of the source file's bytes (see ops_file_ledger)",
    "load_id": "the load that wrote the row (see ops_load)",
}


def sql_type(dtype: pl.DataType) -> str:
    """DuckDB type for a Polars dtype used in entity declarations."""
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ"
    if isinstance(dtype, pl.List):
        return f"{sql_type(dtype.inner)}[]"
    names = {pl.String: "VARCHAR", pl.Int64: "BIGINT", pl.Float64: "DOUBLE", pl.Boolean: "BOOLEAN", pl.Date: "DATE"}
    for polars_type, name in names.items():
        if dtype == polars_type:
            return name
    raise TypeError(f"no DuckDB type for {dtype}")


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations and staging evolutions; returns what was applied."""
    if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'ops_schema_migration'").fetchall():
        con.execute(
            "CREATE TABLE ops_schema_migration ("
            " version VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"
        )
        con.execute("COMMENT ON TABLE ops_schema_migration IS 'One row per migration applied to this warehouse.'")
    done = {row[0] for row in con.execute("SELECT version FROM ops_schema_migration").fetchall()}
    applied = []
    for name in sorted(_migration_files()):
        if name in done:
            continue
        sql = resources.files("warehouse.migrations").joinpath(name).read_text(encoding="utf-8")
        con.execute("BEGIN")
        con.execute(sql)
        con.execute("INSERT INTO ops_schema_migration (version) VALUES (?)", [name])
        con.execute("COMMIT")
        applied.append(name)
    applied += [f"{entity.table}.{col}" for entity in ENTITIES.values() for col in _evolve(con, entity)]
    return applied


def _migration_files() -> list[str]:
    return [p.name for p in resources.files("warehouse.migrations").iterdir() if p.name.endswith(".sql")]


def _evolve(con: duckdb.DuckDBPyConnection, entity: Entity) -> list[str]:
    """Create the entity's staging table, or add the columns it gained since; never drop or retype."""
    existing = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [entity.table]
        ).fetchall()
    }
    wanted = {name: sql_type(dtype) for name, dtype in entity.columns.items()} | LINEAGE_COLUMNS
    docs = entity.docs | LINEAGE_DOCS
    if not existing:
        columns = ", ".join(f'"{name}" {kind}' for name, kind in wanted.items())
        con.execute(f"CREATE TABLE {entity.table} ({columns})")
        con.execute(f"COMMENT ON TABLE {entity.table} IS {_quote('Staging, ' + entity.grain + '. Metrics as of exported_at; lineage in source_* and load_id.')}")
        added = list(wanted)
    else:
        added = [name for name in wanted if name not in existing]
        for name in added:
            con.execute(f'ALTER TABLE {entity.table} ADD COLUMN "{name}" {wanted[name]}')
    for name in added:
        con.execute(f'COMMENT ON COLUMN {entity.table}."{name}" IS {_quote(docs[name])}')
    return added if existing else []


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
