"""An analyst's DuckDB session over the published snapshots, never the live warehouse.

The session is an in-memory DuckDB database whose views read the snapshot Parquet files and
manifests, so it takes no lock on the warehouse and a weekly run can publish while analysts query.
Each view re-lists its files at every query; files are renamed into place by the publisher, so a
query sees a week's previous file or its new one, never a torn one.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.extracts import SNAPSHOT_TABLES
from warehouse.readonly import SCRATCH, check_statements, lock_down



def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def analyst_views(snapshot_root: Path | str, tables: tuple[str, ...] = SNAPSHOT_TABLES) -> list[str]:
    """The ``CREATE VIEW`` statements of a session, as SQL any DuckDB client accepts."""
    root = str(snapshot_root).rstrip("/")
    views = [
        f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet("
        f"{_quote(f'{root}/{table}/*/*.parquet')}, hive_partitioning = true, union_by_name = true)"
        for table in tables
    ]
    views.append(
        f"CREATE OR REPLACE VIEW manifests AS SELECT * FROM read_json({_quote(f'{root}/manifests/*.json')}, "
        "format = 'auto', union_by_name = true)"
    )
    return views


def published_tables(snapshot_root: Path) -> tuple[str, ...]:
    """Tables with at least one published file: a view over no files would fail to be created."""
    return tuple(t for t in SNAPSHOT_TABLES if any((snapshot_root / t).glob("*/*.parquet")))


def open_session(snapshot_root: Path) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """An in-memory connection with a view per published table; returns it and the views missing."""
    con = duckdb.connect(":memory:")
    present = published_tables(snapshot_root)
    has_manifests = any((snapshot_root / "manifests").glob("*.json"))
    statements = analyst_views(snapshot_root, present)
    for statement in statements if has_manifests else statements[:-1]:
        con.execute(statement)
    lock_down(con, [snapshot_root])  # the views read the snapshots; nothing else is reachable
    missing = [t for t in SNAPSHOT_TABLES if t not in present] + ([] if has_manifests else ["manifests"])
    return con, missing


def snapshot_fingerprint(snapshot_root: Path) -> frozenset[tuple[str, int, int, int]]:
    """Identity of every published file (path, inode, mtime, size): a rename into place changes it."""
    files = [*snapshot_root.glob("*/*/*.parquet"), *snapshot_root.glob("manifests/*.json")]
    marks = set()
    for path in files:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        marks.add((str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size))
    return frozenset(marks)


def run_query(
    con: duckdb.DuckDBPyConnection, query: str, snapshot_root: Path | None = None, attempts: int = 20
) -> pa.Table | None:
    """The result of a statement as an Arrow table, with DuckDB's types; None for statements that return nothing.

    DuckDB opens a Parquet file once to plan a query and again to scan it; a publish renaming a new
    file in between makes the scan fail (or, in principle, misread). With ``snapshot_root``, the
    query is retried until no published file changed while it ran, so results are never torn.
    """
    check_statements(con, query, SCRATCH)
    for attempt in range(attempts if snapshot_root else 1):
        before = snapshot_fingerprint(snapshot_root) if snapshot_root else None
        try:
            relation = con.sql(query)  # None for a statement that returns nothing
            result = relation.to_arrow_table() if relation is not None else None
        except duckdb.Error:
            if snapshot_root is None or snapshot_fingerprint(snapshot_root) == before or attempt == attempts - 1:
                raise
        else:
            if snapshot_root is None or snapshot_fingerprint(snapshot_root) == before:
                return result
        time.sleep(0.02 * (attempt + 1))  # let the publisher finish its round of renames
    raise duckdb.IOException(f"the snapshots under {snapshot_root} kept changing during {attempts} tries; run again")


def split_statements(script: str) -> list[str]:
    """A SQL file's statements, split on semicolons at line ends (enough for analysts' query files)."""
    statements, current = [], []
    for line in script.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).strip().rstrip(";"))
            current = []
    tail = "\n".join(current).strip()
    return [s for s in [*statements, tail] if s and not all(l.strip().startswith("--") for l in s.splitlines())]
