"""One suite per table, as code: ``expectations/suites/<table>.py`` declares the table's checks.

Every module exports ``SUITE``, a :class:`Suite` whose ``build`` turns the run's context (the
validation instant, the week and its neighbours) into the list of checks. Suites are plain data: the
runner turns them into Great Expectations suites only when it validates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from typing import Callable, Literal
from zoneinfo import ZoneInfo

from cityimage.tables import CITY, TABLES, Table
from cityimage.weeks import Week
from warehouse.row_rules import FUTURE_TOLERANCE
from expectations.checks import CRITICAL, WARNING, Check, between, in_set, non_negative, not_in_future, not_null, unique

Layer = Literal["staging", "operations", "facts"]

# Instants up to FUTURE_TOLERANCE ahead of the validation run are not "in the future" (warehouse.row_rules).


@dataclass(frozen=True)
class SuiteContext:
    """What a suite may depend on besides the data: when it runs, which week it gates, and the city
    the warehouse holds (every row must name it; None for a warehouse that records none yet)."""

    now: datetime
    week: Week
    zone: ZoneInfo
    city: str | None = None

    @property
    def future_limit(self) -> datetime:
        return self.now + FUTURE_TOLERANCE

    def week_bounds(self, weeks_back: int) -> tuple[datetime, datetime]:
        """[start, end) in UTC of the week ``weeks_back`` before the gated week (0 = the week itself)."""
        return self.week.shift(-weeks_back).bounds_utc(self.zone)


@dataclass(frozen=True)
class Suite:
    """The checks of one table. ``index_columns`` identify a failing row in the examples; ``catalogue``:
    the table catalogue's checks come first (off only for a suite that tests one check alone);
    ``reads``: the other tables its query checks read, whose content its verdicts depend on too."""

    table: str
    layer: Layer
    build: Callable[[SuiteContext], list[Check]] = field(compare=False)
    index_columns: tuple[str, ...] = ()
    catalogue: bool = True
    reads: tuple[str, ...] = ()

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table a verdict of this suite depends on: its own, then those it reads."""
        return (self.table, *self.reads)

    @property
    def name(self) -> str:
        return self.table

    def checks(self, ctx: SuiteContext) -> list[Check]:
        """The checks the table catalogue implies (:func:`catalogue_checks`), then the suite's own."""
        generic = catalogue_checks(TABLES[self.table], ctx) if self.catalogue and self.table in TABLES else []
        checks = generic + self.build(ctx)
        ids = [c.id for c in checks]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"suite {self.name}: check ids must be unique, repeated: {duplicated}")
        return checks


def catalogue_checks(table: Table, ctx: SuiteContext) -> list[Check]:
    """What the table catalogue declares of ``table``, as checks: its key unique (within an export file
    for staging), allowed values, ranges and instants not in the future; and, in staging, where the
    DDL does not enforce it, columns that are never null; every row names the warehouse's city. A column
    marked ``warn`` warns instead."""
    key = (*table.key, "source_file_sha256") if table.lineage else table.key
    checks = [unique(key, CRITICAL, table.grain)] if key else []
    for column in table.stored:
        severity = WARNING if column.warn else CRITICAL
        if not column.nullable and table.layer == "staging":
            checks.append(not_null(column.name, CRITICAL, f"{column.name} is never null: {column.doc}"))
        if column is CITY and ctx.city:
            checks.append(in_set(column.name, (ctx.city,), CRITICAL, f"every row is {ctx.city}'s, the warehouse's city"))
        if column.allowed:
            checks.append(in_set(column.name, column.allowed, severity))
        if column.max == "now":
            limit = ctx.future_limit.date() if column.type == "DATE" else ctx.future_limit
            checks.append(not_in_future(column.name, limit, severity))
        high = column.max if isinstance(column.max, (int, float)) else None  # a number, or "now" (above)
        if column.name in table.counts and high is None:
            checks.append(non_negative(column.name, severity))
        elif column.min is not None or high is not None:
            checks.append(between(column.name, column.min, high, severity))
    return checks


TABLE_MODULES = (
    # staging: one per entity (readers/entities.py)
    "stg_post",
    "stg_comment",
    "stg_account_day",
    "stg_audience",
    "stg_search",
    # operations: the file ledger reconciles every file's rows
    "ops_file_ledger",
    # facts and dimensions (warehouse/migrations/0002_facts_and_kpis.sql)
    "dim_account",
    "fct_post",
    "fct_post_metric_snapshot",
    "fct_comment",
    "fct_mention",
    "fct_livestream",
    "fct_follower_day",
    "fct_audience_country",
    "fct_search_query",
)


def all_suites() -> list[Suite]:
    """Every declared suite, staging first, in a stable order."""
    return [import_module(f"expectations.suites.{name}").SUITE for name in TABLE_MODULES]


def suites_for(layers: tuple[str, ...] | list[str]) -> list[Suite]:
    unknown = set(layers) - {"staging", "operations", "facts"}
    if unknown:
        raise ValueError(f"unknown layers {sorted(unknown)}: use staging, operations and/or facts")
    return [s for s in all_suites() if s.layer in layers]
