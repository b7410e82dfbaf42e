"""Each check kind as a direct DuckDB query: the fallback when Great Expectations cannot run one.

The semantics follow GX's: map checks ignore nulls (except ``not_null``), ``unique`` counts every row
of a duplicated value, compound ``unique`` ignores rows whose key is entirely missing, and a
``no_rows`` check fails once per row its query returns. Identifiers come from the suites (code) and are
checked against a strict pattern; values are bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from expectations.checks import Check
from expectations.report import MAX_EXAMPLES
from warehouse.connection import ident



@dataclass(frozen=True)
class Outcome:
    success: bool
    unexpected_count: int
    element_count: int | None
    examples: list[Any]

    @property
    def observed(self) -> str:
        if self.element_count is None:
            return f"{self.unexpected_count} unexpected row(s) returned by the check query"
        return f"{self.unexpected_count} of {self.element_count} rows unexpected"




def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()
    return {r[0] for r in rows}


def run_check(con: duckdb.DuckDBPyConnection, table: str, check: Check, index_columns: tuple[str, ...] = ()) -> Outcome:
    """Evaluate one check directly in DuckDB; raises if the check cannot run (e.g. a missing column)."""
    t = ident(table)
    if check.kind == "no_rows":
        query = check.params["query"].replace("{batch}", t)
        count = con.execute(f"SELECT count(*) FROM ({query})").fetchall()[0][0]
        cur = con.execute(f"SELECT * FROM ({query}) LIMIT {MAX_EXAMPLES}")
        names = [d[0] for d in cur.description]
        examples = [dict(zip(names, row)) for row in cur.fetchall()]
        return Outcome(count == 0, int(count), None, examples)

    total = con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
    cols = [ident(c) for c in check.columns]
    if check.kind == "unique":
        keep = " OR ".join(f"{c} IS NOT NULL" for c in cols)
        group = ", ".join(cols)
        dupes = f"SELECT {group}, count(*) AS n FROM {t} WHERE {keep} GROUP BY ALL HAVING count(*) > 1"
        count = con.execute(f"SELECT coalesce(sum(n), 0) FROM ({dupes})").fetchall()[0][0]
        rows = con.execute(f"SELECT {group} FROM ({dupes}) ORDER BY n DESC LIMIT {MAX_EXAMPLES}").fetchall()
        examples = [row[0] if len(cols) == 1 else dict(zip(check.columns, row)) for row in rows]
        return Outcome(count == 0, int(count), int(total), examples)

    where, params = _predicate(check, cols)
    count = con.execute(f"SELECT count(*) FROM {t} WHERE {where}", params).fetchall()[0][0]
    present = table_columns(con, table)
    index = [c for c in index_columns if c in present and c not in check.columns]
    shown = [*index, *check.columns]
    rows = con.execute(
        f"SELECT {', '.join(ident(c) for c in shown)} FROM {t} WHERE {where} LIMIT {MAX_EXAMPLES}", params
    ).fetchall()
    examples = [dict(zip(shown, row)) for row in rows]
    return Outcome(count == 0, int(count), int(total), examples)


def _predicate(check: Check, cols: list[str]) -> tuple[str, list[Any]]:
    """The condition that makes a row unexpected, with its bound parameters."""
    p = check.params
    if check.kind == "not_null":
        if p.get("unless"):
            return f"{cols[0]} IS NULL AND {ident(p['unless'])} IS NULL", []
        return f"{cols[0]} IS NULL", []
    if check.kind == "in_set":
        return f"{cols[0]} IS NOT NULL AND NOT list_contains(?, {cols[0]})", [list(p["values"])]
    if check.kind == "between":
        parts: list[str] = []
        params: list[Any] = []
        if p.get("min") is not None:
            parts.append(f"{cols[0]} < ?")
            params.append(p["min"])
        if p.get("max") is not None:
            parts.append(f"{cols[0]} > ?")
            params.append(p["max"])
        return f"{cols[0]} IS NOT NULL AND ({' OR '.join(parts) or 'false'})", params
    if check.kind == "regex":
        where = p.get("where")
        condition = f"{cols[0]} IS NOT NULL AND NOT regexp_matches({cols[0]}, ?)"
        params = [p["regex"]]
        if where:
            condition = f"{ident(where[0])} = ? AND " + condition
            params.insert(0, where[1])
        return condition, params
    if check.kind == "a_ge_b":
        a, b = cols
        return f"{a} IS NOT NULL AND {b} IS NOT NULL AND {a} < {b}", []
    raise ValueError(f"no direct DuckDB implementation for check kind {check.kind!r}")
