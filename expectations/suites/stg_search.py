"""stg_search: one row per search dimension value and window per export file."""

from expectations.checks import (
    CRITICAL, SEARCH_DIMENSIONS, SEARCH_TYPES, WARNING, a_ge_b, between, in_set, not_in_future,
)
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import STAGING_INDEX, counts_non_negative, staging_key_checks, volume_by_instant
from readers.entities import SEARCH


def build(ctx: SuiteContext) -> list:
    return [
        *staging_key_checks(SEARCH, ("dimension", "value", "window_start", "window_end")),
        in_set("dimension", SEARCH_DIMENSIONS),
        in_set("search_type", SEARCH_TYPES, WARNING),
        *counts_non_negative(("clicks", "impressions")),
        between("ctr", 0, 1, CRITICAL, "CTR is a 0-1 fraction (64.37% must have been parsed as 0.6437)"),
        between("position", 1, None, WARNING, "average position starts at 1 (top)"),
        a_ge_b("impressions", "clicks", WARNING, "clicks do not exceed impressions"),
        a_ge_b("window_end", "window_start", CRITICAL, "a window ends on or after its first day"),
        not_in_future("window_end", ctx.future_limit.date()),
        not_in_future("exported_at", ctx.future_limit),
        volume_by_instant(ctx, "exported_at", "search rows exported"),
    ]


SUITE = Suite("stg_search", "staging", build, STAGING_INDEX + ("dimension", "value"))
