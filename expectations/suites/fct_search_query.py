"""fct_search_query: one row per search dimension value and window (latest export). Key, values and ranges come
from the table catalogue."""

from expectations.checks import CRITICAL, WARNING, a_ge_b
from expectations.suites import Suite, SuiteContext


def build(ctx: SuiteContext) -> list:
    return [
        a_ge_b("impressions", "clicks", WARNING, "clicks do not exceed impressions"),
        a_ge_b("window_end", "window_start", CRITICAL, "a window ends on or after its first day"),
    ]


SUITE = Suite("fct_search_query", "facts", build, ("dimension", "value", "window_start"))
