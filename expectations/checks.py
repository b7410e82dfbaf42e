"""Checks as plain data: what a quality gate expects, how severe a failure is, and how to run it.

A :class:`Check` is declared once and has two implementations that must agree:

* a Great Expectations expectation, run through GX's SQL path inside DuckDB (``expectations.gx_engine``);
* a direct DuckDB query (``expectations.direct``), used when GX cannot run the expectation and recorded
  as a fallback.

This module imports neither GX nor DuckDB, so the suites can be listed, documented and unit-tested
without paying GX's import cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Callable, Literal

Severity = Literal["critical", "warning"]
CRITICAL: Severity = "critical"
WARNING: Severity = "warning"

LEDGER_STATUSES = ("loaded", "refused")

# Each platform's id shapes, as DuckDB (RE2) regular expressions. Warnings only: platforms change id
# formats without notice, and a surprising id is worth a look, not a blocked week.
ID_PATTERNS: dict[str, dict[str, str]] = {
    "post": {
        "youtube": r"^[A-Za-z0-9_-]{11}$",          # video id
        "x": r"^[0-9]{1,20}$",                       # Snowflake id
        "tiktok": r"^[0-9]{1,20}$",                  # video id
        "facebook": r"^[0-9]+(_[0-9]+)?$",           # post id, or <page>_<post> from the Graph API
        "instagram": r"^[0-9]+(_[0-9]+)?$",          # media id
    },
    "comment": {
        "youtube": r"^Ug[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)?$",  # thread id, reply = <thread>.<reply>
        "x": r"^[0-9]{1,20}$",                       # a reply is a post
        "tiktok": r"^[0-9]{1,20}$",
        "facebook": r"^[0-9]+(_[0-9]+)?$",           # <post>_<comment> from the Graph API
        "instagram": r"^[0-9]+$",
    },
}

CheckKind = Literal["not_null", "unique", "in_set", "between", "regex", "a_ge_b", "no_rows"]


@dataclass(frozen=True)
class Check:
    """One expectation on one table.

    ``kind`` selects the implementation; ``columns`` and ``params`` are its arguments:

    * ``not_null``  columns=(col,)  params unless    optional: rows where ``unless`` is set are exempt
    * ``unique``    columns=(col, ...)               one column: values unique; several: compound key
    * ``in_set``    columns=(col,)  params values     nulls are ignored (pair with not_null)
    * ``between``   columns=(col,)  params min, max   either bound may be None; nulls are ignored
    * ``regex``     columns=(col,)  params regex, where=(col, value) optional row condition
    * ``a_ge_b``    columns=(a, b)                   rows where both are present and a < b fail
    * ``no_rows``   params query                     a SELECT over ``{batch}`` (the table); every row it
                                                     returns is a failure (reconciliation, volume)
    """

    id: str
    kind: CheckKind
    severity: Severity
    description: str
    columns: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    #: The upper bound (``params["max"]``) is the validation instant plus a tolerance: a pass judged at
    #: an earlier instant still holds at a later one while the data are unchanged (``expectations.verdicts``).
    moves_with_now: bool = False

    @property
    def gx_type(self) -> str:
        """The Great Expectations expectation type this check runs as (snake case, as in Data Docs)."""
        if self.kind == "unique":
            # GX's expect_compound_columns_to_be_unique joins on the key with `=`, so it misses duplicates
            # whose key has a null part (account_id, post_id of an account-level audience row, …). A compound
            # key is therefore checked with a null-safe query (see unique_key_query).
            return "expect_column_values_to_be_unique" if len(self.columns) == 1 else "expect_no_unexpected_rows"
        return {
            "not_null": "expect_column_values_to_not_be_null",
            "in_set": "expect_column_values_to_be_in_set",
            "between": "expect_column_values_to_be_between",
            "regex": "expect_column_values_to_match_regex",
            "a_ge_b": "expect_column_pair_values_a_to_be_greater_than_b",
            "no_rows": "expect_no_unexpected_rows",
        }[self.kind]

    @property
    def name(self) -> str:
        """Readable, stable name: the expectation type and its arguments, e.g. ``…_not_be_null(post_id)``."""
        args = ", ".join(self.columns)
        if self.kind == "regex" and self.params.get("where"):
            col, value = self.params["where"]
            args += f" where {col}={value}"
        if self.kind == "not_null" and self.params.get("unless"):
            args += f" unless {self.params['unless']}"
        if self.kind == "no_rows" or (self.kind == "unique" and len(self.columns) > 1):
            args = self.id
        return f"{self.gx_type}({args})"


# -- builders: the vocabulary the suites are written in ------------------------------------------


def not_null(column: str, severity: Severity = CRITICAL, why: str = "", unless: str | None = None) -> Check:
    """``column`` is never null — or, with ``unless``, never null where ``unless`` is null too."""
    if unless:
        return Check(f"not_null:{column}|{unless}", "not_null", severity, why or f"{column} or {unless} is known",
                      (column,), {"unless": unless})
    return Check(f"not_null:{column}", "not_null", severity, why or f"{column} is never null", (column,))


def unique(columns: tuple[str, ...] | list[str], severity: Severity = CRITICAL, why: str = "") -> Check:
    cols = tuple(columns)
    return Check(f"unique:{'+'.join(cols)}", "unique", severity, why or f"one row per ({', '.join(cols)})", cols)


def in_set(column: str, values: tuple[str, ...], severity: Severity = CRITICAL, why: str = "") -> Check:
    return Check(
        f"in_set:{column}", "in_set", severity, why or f"{column} is one of {', '.join(values)}", (column,),
        {"values": tuple(values)},
    )


def between(
    column: str,
    min_value: float | int | datetime | date | None = None,
    max_value: float | int | datetime | date | None = None,
    severity: Severity = CRITICAL,
    why: str = "",
    id: str | None = None,
) -> Check:
    if why:
        text = why
    elif max_value is None:
        text = f"{column} ≥ {min_value}"
    elif min_value is None:
        text = f"{column} ≤ {max_value}"
    else:
        text = f"{column} between {min_value} and {max_value}"
    return Check(id or f"between:{column}", "between", severity, text, (column,), {"min": min_value, "max": max_value})


def non_negative(column: str, severity: Severity = CRITICAL) -> Check:
    return between(column, 0, None, severity, f"{column} is a count and never negative", id=f"non_negative:{column}")


def not_in_future(column: str, limit: datetime | date, severity: Severity = CRITICAL) -> Check:
    check = between(
        column, None, limit, severity, f"{column} is not in the future (≤ {limit.isoformat()})", id=f"not_in_future:{column}"
    )
    return replace(check, moves_with_now=True)


def id_pattern(column: str, platform: str, regex: str, severity: Severity = WARNING) -> Check:
    return Check(
        f"id_pattern:{column}:{platform}", "regex", severity, f"{platform} {column} looks like {regex}", (column,),
        {"regex": regex, "where": ("platform", platform)},
    )


def a_ge_b(a: str, b: str, severity: Severity = WARNING, why: str = "") -> Check:
    return Check(f"a_ge_b:{a}>={b}", "a_ge_b", severity, why or f"{b} ≤ {a} where both are known", (a, b))


def no_rows(id: str, query: str, severity: Severity, why: str) -> Check:
    """Every row ``query`` (over ``{batch}``) returns is a failure; its columns are the examples."""
    return Check(id, "no_rows", severity, why, (), {"query": query})


def unique_key_query(columns: tuple[str, ...], quote: "Callable[[str], str]") -> str:
    """Every row whose (null-safe) key appears more than once; rows with an entirely missing key are ignored."""
    cols = ", ".join(quote(c) for c in columns)
    all_missing = " AND ".join(f"{quote(c)} IS NULL" for c in columns)
    return (
        f"SELECT {cols}, n AS rows_with_this_key FROM (SELECT {cols}, count(*) OVER (PARTITION BY {cols}) AS n "
        f"FROM {{batch}}) WHERE n > 1 AND NOT ({all_missing})"
    )
