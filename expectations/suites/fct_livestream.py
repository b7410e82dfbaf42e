"""fct_livestream: one row per livestream."""

from expectations.checks import CRITICAL, PLATFORMS, WARNING, a_ge_b, between, in_set, not_in_future, unique
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import counts_non_negative


def build(ctx: SuiteContext) -> list:
    return [
        unique(("platform", "post_id"), CRITICAL, "one row per livestream"),
        in_set("platform", PLATFORMS),
        *counts_non_negative(("views", "peak_concurrent_viewers", "avg_concurrent_viewers", "likes", "comments")),
        between("duration_s", 0, None, CRITICAL, "a livestream's length is never negative"),
        not_in_future("started_at", ctx.future_limit),
        a_ge_b("ended_at", "started_at", WARNING, "a livestream ends after it starts"),
        a_ge_b("peak_concurrent_viewers", "avg_concurrent_viewers", WARNING, "peak concurrent viewers ≥ average"),
    ]


SUITE = Suite("fct_livestream", "facts", build, ("platform", "post_id"))
