"""fct_search_query: one row per search dimension value and window (latest export)."""

from expectations.checks import CRITICAL, SEARCH_DIMENSIONS, WARNING, a_ge_b, between, in_set, unique
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import counts_non_negative


def build(ctx: SuiteContext) -> list:
    return [
        unique(("property", "dimension", "value", "window_start", "window_end"), CRITICAL,
               "one row per dimension value and window"),
        in_set("dimension", SEARCH_DIMENSIONS),
        *counts_non_negative(("clicks", "impressions")),
        between("ctr", 0, 1, CRITICAL, "CTR is a 0-1 fraction"),
        between("position", 1, None, WARNING, "average position starts at 1 (top)"),
        a_ge_b("impressions", "clicks", WARNING, "clicks do not exceed impressions"),
        a_ge_b("window_end", "window_start", CRITICAL, "a window ends on or after its first day"),
    ]


SUITE = Suite("fct_search_query", "facts", build, ("dimension", "value", "window_start"))
