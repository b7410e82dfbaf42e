"""stg_search: one row per search dimension value and window per export file. Key, values and ranges come from
the table catalogue."""

from expectations.checks import CRITICAL, WARNING, a_ge_b
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import STAGING_INDEX, volume_by_instant


def build(ctx: SuiteContext) -> list:
    return [
        a_ge_b("impressions", "clicks", WARNING, "clicks do not exceed impressions"),
        a_ge_b("window_end", "window_start", CRITICAL, "a window ends on or after its first day"),
        volume_by_instant(ctx, "exported_at", "search rows exported"),
    ]


SUITE = Suite("stg_search", "staging", build, STAGING_INDEX + ("dimension", "value"))
