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

import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import duckdb

READING = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
SCRATCH = READING | {duckdb.StatementType.CREATE, duckdb.StatementType.INSERT, duckdb.StatementType.DROP,
                     duckdb.StatementType.UPDATE, duckdb.StatementType.DELETE}


T = TypeVar("T")


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


def interruptible(con: duckdb.DuckDBPyConnection, call: Callable[[], T]) -> T:
    """``call()`` (a query on ``con``) run so that Ctrl-C stops it: KeyboardInterrupt once it has stopped.

    While DuckDB executes, the calling thread is inside C++ code where Python's SIGINT handler cannot
    run, and DuckDB's own check for it does not fire in a locked-down session or once ``readline`` is
    loaded: the query would run on for hours. So the query runs in a worker thread and this one waits
    with a SIGINT handler of its own that asks DuckDB to stop (``interrupt()``, made to be called from
    another thread). Not Python's KeyboardInterrupt while the worker runs: raised in this thread, it
    ends the worker thread inside DuckDB and leaves the connection busy for good.
    """
    if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        return call()
    outcome: list[T] = []
    failure: list[BaseException] = []
    signalled: list[int] = []

    def work() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the calling thread, raised there
            failure.append(exc)

    worker = threading.Thread(target=work, name="interruptible-query", daemon=True)
    previous = signal.signal(signal.SIGINT, lambda number, frame: signalled.append(number))
    try:
        worker.start()
        while worker.is_alive():
            worker.join(0.1)
            if signalled:
                con.interrupt()
    finally:
        signal.signal(signal.SIGINT, previous)
    if signalled:
        raise KeyboardInterrupt
    if failure:
        error = failure.pop()
        # A DuckDB error says all in its message; its frames would keep the failed result, and so the
        # connection, busy until they are collected (closing it would then fail).
        raise error.with_traceback(None) if isinstance(error, duckdb.Error) else error
    return outcome[0]
