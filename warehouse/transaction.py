"""One way to write atomically: a DuckDB transaction that commits whole or rolls back whole."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """``BEGIN`` … ``COMMIT``; on any error, roll back and re-raise that error.

    DuckDB ends a transaction by itself on some failures (an I/O error such as a full disk): the
    rollback then finds none, and its own error must not hide the one that explains what happened.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass  # already ended by DuckDB; the error being raised says why
        raise
