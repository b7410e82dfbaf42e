"""What the reader tests share: reading a file as the inbox would, and picking rows out of the result."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from readers import registry
from readers.base import ReadResult, SourceFile


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def load(path: Path, companions: bool = False, **hints: object) -> ReadResult:
    """Read ``path``; with ``companions`` the other CSVs of its folder come along, as a download would."""
    others = {p.name: p.read_bytes() for p in path.parent.glob("*.csv") if p != path} if companions else {}
    source = SourceFile(name=str(path), data=path.read_bytes(), companions=others, **hints)  # type: ignore[arg-type]
    return registry.read(source)


def counts(result: ReadResult) -> tuple[int, int, int, int]:
    """(read, loaded, rejected, skipped): the accounting every reader answers for."""
    return result.rows_read, result.rows_loaded, len(result.rejects), len(result.skips)


def row(result: ReadResult, entity: str, column: str, value: object) -> dict:
    """The one row of ``entity`` whose ``column`` equals ``value``."""
    rows = result.tables[entity].filter(pl.col(column) == value).to_dicts()
    assert len(rows) == 1, f"{column}={value!r} matched {len(rows)} rows"
    return rows[0]
