"""Query sessions that can read what they are meant to and nothing else: the analysts' guard rails.

Two locks, because either alone leaks. DuckDB's own: external access off (no ``read_text`` of
``/proc/self/environ``, where the pseudonymisation key lives; no ``ATTACH`` of another file, no ``COPY …
TO``, no extension installs) except under the folders the session is for, and the configuration locked
so a ``SET`` cannot undo it. Ours: only statements that read are run — ``SELECT`` (with ``FROM``,
``DESCRIBE``, ``SUMMARIZE``, ``SHOW``) and ``EXPLAIN`` — because DuckDB still lets a session write
inside an allowed folder (a ``COPY`` over a published Parquet file). The analyst's in-memory session
also allows temporary tables and views of its own (``CREATE``, ``INSERT``, ``DROP``): they live in
memory and die with it.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

READING = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
SCRATCH = READING | {duckdb.StatementType.CREATE, duckdb.StatementType.INSERT, duckdb.StatementType.DROP,
                     duckdb.StatementType.UPDATE, duckdb.StatementType.DELETE}


class NotAllowed(ValueError):
    """A statement of a kind the session does not run; the message names it."""


def lock_down(con: duckdb.DuckDBPyConnection, readable: list[Path]) -> None:
    """Allow file access only under ``readable``, then lock the configuration for good."""
    folders = [str(p.resolve()).rstrip("/") + "/" for p in readable]
    con.execute("SET allowed_directories = $dirs", {"dirs": folders})
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def check_statements(con: duckdb.DuckDBPyConnection, query: str, allowed: frozenset = READING) -> None:
    """Refuse the whole query if any statement in it is of a kind not ``allowed``."""
    for statement in con.extract_statements(query):
        if statement.type not in allowed:
            kind = statement.type.name.replace("_", " ")
            raise NotAllowed(f"{kind} statements are not allowed here: this session only reads "
                             f"(SELECT, FROM, DESCRIBE, SUMMARIZE, SHOW, EXPLAIN)")


@contextmanager
def open_query_reader(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse read-only, with no file access beyond it and its spill folder."""
    if not warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {warehouse} yet: run `cityimage ingest` or `cityimage run` first")
    spill = warehouse.resolve().with_name(warehouse.name + ".tmp")  # DuckDB's default spill folder for it
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        lock_down(con, [spill])
        yield con
    finally:
        con.close()
