"""stg_audience: one row per account (or video), dimension value and window per export file. Key, values and
ranges come from the table catalogue."""

from expectations.checks import CRITICAL, a_ge_b
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import STAGING_INDEX, volume_by_instant


def build(ctx: SuiteContext) -> list:
    return [
        a_ge_b("window_end", "window_start", CRITICAL, "a window ends on or after its first day"),
        volume_by_instant(ctx, "exported_at", "audience rows exported"),
    ]


SUITE = Suite("stg_audience", "staging", build, STAGING_INDEX + ("platform", "value"))
