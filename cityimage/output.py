"""Query results as the analyst asked for them: a table for people, CSV, JSON or Parquet for programs.

One writer for ``cityimage sql`` and ``cityimage analyst``, so both speak the same formats. Tables are
for terminals; piped, they keep every column (rich would otherwise fold them to 80 characters), and
machine formats carry no decoration at all: no row count, no colour, nothing but the data.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from rich.console import Console
from rich.table import Table

from cityimage.atomic import replacing

if TYPE_CHECKING:  # pyarrow is imported where a file is written: `cityimage --help` stays quick
    import pyarrow as pa


#: A cell starting with one of these is a formula to a spreadsheet; a comment can start with any of them.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A value safe to open in a spreadsheet: booleans as true/false, lists joined, a would-be formula
    prefixed with a quote."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = " | ".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


class OutputError(ValueError):
    """The result cannot be written as asked (e.g. Parquet to a terminal); the message says how to."""


def write_result(result: pa.Table, fmt: Format, output: Path | None = None, console: Console | None = None) -> None:
    """Write one result in ``fmt`` to ``output`` (a file, written whole then renamed) or to stdout.

    ``result`` is DuckDB's Arrow table, so Parquet keeps the query's types exactly."""
    if fmt is Format.parquet and output is None:
        raise OutputError("--format parquet needs --output FILE.parquet (Parquet is binary, not for a terminal)")
    if output is not None:
        with replacing(output) as tmp:
            _write_file(result, fmt, tmp)
        return
    columns, rows = result.column_names, _rows(result)
    if fmt is Format.table:
        out = console or Console()
        if not out.is_terminal:
            out = Console(width=1_000_000, soft_wrap=True, highlight=False, color_system=None)
        out.print(_table(columns, rows))
        out.print(f"{len(rows)} row(s)")
    elif fmt is Format.csv:
        write_csv(columns, rows, sys.stdout)
    else:
        _write_json(columns, rows, sys.stdout)
    sys.stdout.flush()


def _write_file(result: pa.Table, fmt: Format, path: Path) -> None:
    if fmt is Format.parquet:
        import pyarrow.parquet as pq

        pq.write_table(result, path)
        return
    columns, rows = result.column_names, _rows(result)
    with path.open("w", encoding="utf-8", newline="") as handle:
        if fmt is Format.csv:
            write_csv(columns, rows, handle)
        elif fmt is Format.json:
            _write_json(columns, rows, handle)
        else:
            Console(file=handle, width=1_000_000, soft_wrap=True, color_system=None).print(_table(columns, rows))


def _rows(result: pa.Table) -> list[tuple[Any, ...]]:
    return list(zip(*(column.to_pylist() for column in result.columns))) if result.num_columns else []


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def write_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]], handle: Any) -> None:
    """RFC 4180 CSV with a header; NULL is an empty field, dates and times are ISO 8601, and a text that a
    spreadsheet would run as a formula is quoted (``csv_cell``): comments are written by strangers."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow(["" if v is None else csv_cell(_plain(v)) for v in row])


def _write_json(columns: Sequence[str], rows: Sequence[Sequence[Any]], handle: Any) -> None:
    """One JSON array of objects keyed by column, UTF-8 as is; NULL is null."""
    json.dump([{c: _plain(v) for c, v in zip(columns, row)} for row in rows], handle, ensure_ascii=False,
              default=str)
    handle.write("\n")


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value
