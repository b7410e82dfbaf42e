"""stg_audience: one row per account (or video), dimension value and window per export file."""

from expectations.checks import CRITICAL, PLATFORMS, a_ge_b, between, in_set, not_in_future
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import STAGING_INDEX, counts_non_negative, staging_key_checks, volume_by_instant
from readers.entities import AUDIENCE


def build(ctx: SuiteContext) -> list:
    return [
        *staging_key_checks(AUDIENCE, ("platform", "dimension", "value", "window_start", "window_end")),
        in_set("platform", PLATFORMS),
        *counts_non_negative(("views",)),
        between("watch_time_h", 0, None, CRITICAL, "watch time is never negative"),
        between("avg_watch_time_s", 0, None, CRITICAL, "average view duration is never negative"),
        between("share", 0, 1, CRITICAL, "share is a 0-1 fraction (a percentage here means a parsing bug)"),
        a_ge_b("window_end", "window_start", CRITICAL, "a window ends on or after its first day"),
        not_in_future("window_end", ctx.future_limit.date()),
        not_in_future("exported_at", ctx.future_limit),
        volume_by_instant(ctx, "exported_at", "audience rows exported"),
    ]


SUITE = Suite("stg_audience", "staging", build, STAGING_INDEX + ("platform", "value"))
