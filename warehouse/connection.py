"""Opening the warehouse: migrated on connect, written only under the single-writer lock."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
import polars as pl

from cityimage.tables import CITY, TABLES
from warehouse.city import recorded_city, stamped
from warehouse.lock import WarehouseBusy, writer_lock
from warehouse.schema import migrate


_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def ident(name: str) -> str:
    """A table or column name quoted for SQL, refused unless it is a plain lower-case identifier."""
    if not _IDENT.match(name):
        raise ValueError(f"not an identifier from the allow-list: {name!r}")
    return f'"{name}"'


#: How long a stage waits, by default, for readers (``cityimage sql``, a notebook) to close the file.
READER_WAIT_S = 120.0
_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


@contextmanager
def open_writer(path: Path, purpose: str, reader_wait_s: float = READER_WAIT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated read-write connection, held under the writer lock; closed on exit.

    A reading process (a long ``cityimage sql`` query) holds DuckDB's own lock on the file: the writer
    waits up to ``reader_wait_s`` for it to finish, then refuses with ``WarehouseBusy`` naming it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(path, purpose):
        con = _connect_when_free(path, purpose, reader_wait_s)
        try:
            # Row order inside tables carries no meaning here; dropping it makes loads ~40% faster.
            con.execute("SET preserve_insertion_order = false")
            migrate(con)
            yield con
        finally:
            con.close()


def _connect_when_free(path: Path, purpose: str, wait_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    pause = 0.1
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            holder = _HOLDER.search(str(exc))
            if holder is None:
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"{path} is open in another process ({holder[1]}, PID {holder[2]}), probably a query; "
                    f"{purpose} waited {wait_s:g} s for it. Let the query finish or stop it, then run again "
                    "(CITYIMAGE_READER_WAIT_S sets the wait).") from None
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 2.0)


@contextmanager
def open_reader(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for status and queries; fails clearly if there is no warehouse yet."""
    if not path.is_file():
        raise FileNotFoundError(f"no warehouse at {path} yet: run `cityimage ingest` or `cityimage run` first")
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, on_conflict: str = "") -> None:
    """Insert a Polars frame's rows into ``table`` by column name, in the caller's transaction.

    A table of the catalogue takes exactly its columns and types (``cityimage.tables.Table.conform``):
    a missing or mistyped column is an error, never a null. An operations table's columns the frame
    lacks take their defaults. Every catalogue row, and every ledger and quarantine row, gets the
    warehouse's city here, and nowhere else. ``on_conflict``: an ``ON CONFLICT ...`` clause for upserts.
    """
    model = TABLES.get(table)
    if model is not None:
        frame = model.conform(frame)
    if stamped(table):
        frame = frame.with_columns(pl.lit(recorded_city(con), pl.String).alias(CITY.name))
    con.register("__insert_frame", frame)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM __insert_frame {on_conflict}")
    finally:
        con.unregister("__insert_frame")


@contextmanager
def memory_limit(con: duckdb.DuckDBPyConnection, limit: str) -> Iterator[None]:
    """DuckDB spills to disk beyond ``limit`` for the duration (it would otherwise take most of the RAM)."""
    con.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        con.execute("RESET memory_limit")
