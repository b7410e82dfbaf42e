"""One suite per table, as code: ``expectations/suites/<table>.py`` declares the table's checks.

Every module exports ``SUITE``, a :class:`Suite` whose ``build`` turns the run's context (the
validation instant, the week and its neighbours) into the list of checks. Suites are plain data: the
runner turns them into Great Expectations suites only when it validates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import import_module
from typing import Callable, Literal
from zoneinfo import ZoneInfo

from cityimage.weeks import Week
from expectations.checks import Check

Layer = Literal["staging", "operations", "facts"]

# Instants up to this far ahead of the validation run are not "in the future": an export whose window
# ends today is stamped with the next midnight UTC (readers.base.end_of_day_utc), and a date-only
# publication day converted from a zone ahead of UTC lands up to 14 h later.
FUTURE_TOLERANCE = timedelta(days=2)


@dataclass(frozen=True)
class SuiteContext:
    """What a suite may depend on besides the data: when it runs and which week it gates."""

    now: datetime
    week: Week
    zone: ZoneInfo

    @property
    def future_limit(self) -> datetime:
        return self.now + FUTURE_TOLERANCE

    def week_bounds(self, weeks_back: int) -> tuple[datetime, datetime]:
        """[start, end) in UTC of the week ``weeks_back`` before the gated week (0 = the week itself)."""
        return self.week.shift(-weeks_back).bounds_utc(self.zone)


@dataclass(frozen=True)
class Suite:
    """The checks of one table. ``index_columns`` identify a failing row in the examples."""

    table: str
    layer: Layer
    build: Callable[[SuiteContext], list[Check]] = field(compare=False)
    index_columns: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.table

    def checks(self, ctx: SuiteContext) -> list[Check]:
        checks = self.build(ctx)
        ids = [c.id for c in checks]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"suite {self.name}: check ids must be unique, repeated: {duplicated}")
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
