"""The warehouse schema: the table catalogue's tables, and SQL migrations for the operations tables.

Staging, dimension, fact and KPI tables are declared once, in ``cityimage/tables.yaml``: a new
warehouse gets them from the catalogue's DDL, an older one gains the columns added since (empty) and
the catalogue's current comments. The operations tables (``ops_*``, ``stg_quarantine``) are the
pipeline's own diary: ``warehouse/migrations`` creates and evolves them, applied in order on connect
and recorded in ``ops_schema_migration``; a released migration never changes.
"""

from __future__ import annotations

from importlib import resources

import duckdb

from cityimage.tables import CITY, TABLES, Table
from warehouse.transaction import transaction

#: How DuckDB names a catalogue type in duckdb_columns(), where it differs from the catalogue's spelling.
_DUCKDB_SPELLING = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}


class SchemaMismatch(RuntimeError):
    """A warehouse column's type differs from the catalogue's: a change that needs a migration."""


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations, then bring the catalogue's tables in line; returns what was applied."""
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
        with transaction(con):
            con.execute(sql)
            con.execute("INSERT INTO ops_schema_migration (version) VALUES (?)", [name])
        applied.append(name)
    return applied + conform_tables(con)


def _migration_files() -> list[str]:
    return [p.name for p in resources.files("warehouse.migrations").iterdir() if p.name.endswith(".sql")]


def conform_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create each catalogue table that is missing, add the columns it gained, refresh changed comments.

    Never drops or retypes: a column whose type differs is an error (``SchemaMismatch``). Returns the
    columns added to existing tables, as ``table.column``. One transaction: all or nothing. The city
    column, added to a warehouse that held rows before it, is filled with the city the warehouse holds.
    """
    found: dict[str, dict[str, tuple[str, str | None]]] = {}
    for table_name, column, data_type, comment in con.execute(
            "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() WHERE schema_name = 'main'").fetchall():
        found.setdefault(table_name, {})[column] = (data_type, comment)
    table_comments = dict(con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main'").fetchall())
    statements, added = [], []
    for table in TABLES.values():
        existing = found.get(table.name)
        if existing is None:
            statements.append(table.ddl())
            existing = {}
        else:
            _check_types(table, existing)
        for column in table.stored:
            if column.name not in existing and found.get(table.name) is not None:
                statements.append(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type}")
                if column is CITY:
                    statements.append(f"UPDATE {table.name} SET {CITY.name} = (SELECT city_key FROM ops_city)")
                added.append(f"{table.name}.{column.name}")
            if existing.get(column.name, (None, None))[1] != column.doc:
                statements.append(f"COMMENT ON COLUMN {table.name}.{column.name} IS {_quote(column.doc)}")
        if table_comments.get(table.name) != table.comment:
            statements.append(f"COMMENT ON TABLE {table.name} IS {_quote(table.comment)}")
    if statements:
        with transaction(con):
            for statement in statements:
                con.execute(statement)
    return added


def _check_types(table: Table, existing: dict[str, tuple[str, str | None]]) -> None:
    for column in table.stored:
        if column.name in existing:
            have, want = existing[column.name][0], _DUCKDB_SPELLING.get(column.type, column.type)
            if have != want:
                raise SchemaMismatch(
                    f"{table.name}.{column.name} is {have} in this warehouse but {column.type} in the table catalogue "
                    "(cityimage/tables.yaml): a type change needs a migration in warehouse/migrations")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
