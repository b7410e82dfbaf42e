"""Verdicts kept while what they judged is unchanged (``ops_gate_verdict``).

A check's verdict is a function of two things: the content of the tables it reads, and its definition
(the check itself, and the code and engines that evaluate it). A gate records both digests with every
verdict it computes; the next gate computes them again and keeps each verdict whose digests match,
instead of scanning the rows again. A run with nothing new so judges nothing twice: at the reference
year the table checks of the two gates scan 15 M rows (about 8 s), the digests read each table once.

The table digest is of the content, not of a count of writes: the columns and their types, the row
count, and the sum of every row's hash (DuckDB's ``hash`` of all its columns, summed as HUGEINT so that
a row written twice counts twice). Whatever changes a table — a load, a fact build, a migration, an
edit by hand — changes its digest, and no writer has to remember to say so.

Only Great Expectations' own verdicts are kept. A check GX could not evaluate (it fell back to DuckDB,
or errored) is evaluated again at every run, which says so again each time. Nor is the failure of a
check whose bound moves with the validation instant (``Check.moves_with_now``: not in the future) kept:
a later instant may turn it into a pass. A pass of such a check is kept at any later bound. The
runner keeps only the checks that judge whole tables: a week's volume check reads five weeks of rows,
fewer than a digest of its tables would.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Sequence

import duckdb

from expectations.checks import Check
from expectations.report import CheckResult, dumps, jsonable
from warehouse.connection import ident

#: The engines whose versions decide a verdict as much as our code does.
ENGINES = ("great_expectations", "duckdb", "duckdb_engine", "sqlalchemy")


@dataclass(frozen=True)
class Basis:
    """What one verdict is computed on: the check's definition, its moving bound (ISO text, or None)
    and the content of the tables it reads."""

    definition: str
    bound: str | None
    tables: str


class Fingerprints:
    """Table content digests for one gate run: each table is read once, whichever suites read it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._digests: dict[str, str] = {}

    def of(self, tables: Sequence[str]) -> str:
        """One digest of every table in ``tables``, in order."""
        for table in tables:
            if table not in self._digests:
                self._digests[table] = fingerprint(self._con, table)
        return _sha256([self._digests[t] for t in tables])


def fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The digest of ``table``'s content: columns and types, row count, and the sum of its rows' hashes."""
    columns = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? "
        "ORDER BY column_index", [table]).fetchall()
    if not columns:
        return _sha256([table, "absent"])
    listed = ", ".join(ident(name) for name, _ in columns)
    rows, total = con.execute(
        f"SELECT count(*), coalesce(sum(hash({listed})::HUGEINT), 0) FROM {ident(table)}").fetchall()[0]
    return _sha256([table, [list(c) for c in columns], rows, str(total)])


def basis(check: Check, table: str, index_columns: Sequence[str], tables: str) -> Basis:
    """The basis of ``check``'s verdict on ``table``; ``index_columns`` shape its examples, ``tables``
    is the content digest of what it reads (``Fingerprints.of``)."""
    params = dict(check.params)
    bound = jsonable(params.pop("max")) if check.moves_with_now else None
    definition = _sha256([_code_digest(), table, check.id, check.kind, check.severity, list(check.columns),
                          jsonable(params), list(index_columns)])
    return Basis(definition, bound, tables)


def kept(con: duckdb.DuckDBPyConnection, suite: str, table: str, checks: Sequence[Check],
         bases: dict[str, Basis]) -> dict[str, CheckResult]:
    """The stored verdicts of ``suite``'s ``checks`` that still hold, by check id, as results naming the
    run that computed them (``CheckResult.kept_from``)."""
    stored = {row[0]: row for row in con.execute(
        "SELECT check_id, definition_sha256, bound, tables_sha256, success, observed_json, unexpected_count, "
        "examples_json, run_id FROM ops_gate_verdict WHERE suite = ?", [suite]).fetchall()}
    results = {}
    for check in checks:
        row = stored.get(check.id)
        if row is None or not _holds(row, bases[check.id]):
            continue
        _, _, _, _, success, observed, unexpected, examples, run_id = row
        results[check.id] = CheckResult(
            suite=suite, table=table, check_id=check.id, expectation=check.name, description=check.description,
            severity=check.severity, success=success, observed_value=None if observed is None else json.loads(observed),
            unexpected_count=unexpected, examples=json.loads(examples), engine="gx", kept_from=run_id)
    return results


def remember(con: duckdb.DuckDBPyConnection, run_id: str, judged: Sequence[tuple[CheckResult, Basis]]) -> None:
    """Store the verdicts this run computed, replacing each check's earlier one; only GX's are stored
    (see the module doc). The caller holds the transaction that also records the run's results."""
    rows = [(r.suite, r.check_id, b.definition, b.bound, b.tables, r.success, dumps(r.observed_value),
             r.unexpected_count, dumps(r.examples), run_id)
            for r, b in judged if r.engine == "gx"]
    con.execute("DELETE FROM ops_gate_verdict WHERE list_contains(?, [suite, check_id])",
                [[[r.suite, r.check_id] for r, _ in judged]])
    if rows:
        con.execute(
            "INSERT INTO ops_gate_verdict (suite, check_id, definition_sha256, bound, tables_sha256, success, "
            "observed_json, unexpected_count, examples_json, run_id, judged_at) "
            f"SELECT {', '.join('unnest(?)' for _ in range(10))}, now()",
            [list(column) for column in zip(*rows)])


def _holds(row: tuple, now: Basis) -> bool:
    """Whether a stored verdict still holds under ``now``: same definition and content, and for a moving
    bound, a pass judged at or before the current bound."""
    _, definition, bound, tables, success = row[:5]
    if definition != now.definition or tables != now.tables:
        return False
    if now.bound is None:
        return bound is None
    return bool(success) and bound is not None and _instant(bound) <= _instant(now.bound)


def _instant(text: str) -> date | datetime:
    return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """The expectations package's code (not its suites: a check's own definition is digested apart)
    and the engines' versions: another release may evaluate the same check differently."""
    package = Path(__file__).parent
    parts: list[object] = [[p.name, hashlib.sha256(p.read_bytes()).hexdigest()] for p in sorted(package.glob("*.py"))]
    parts += [[name, metadata.version(name)] for name in ENGINES]
    return _sha256(parts)


def _sha256(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
