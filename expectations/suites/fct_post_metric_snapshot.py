"""fct_post_metric_snapshot: one row per post per export instant."""

from expectations.checks import CRITICAL, PLATFORMS, WARNING, between, in_set, not_in_future, unique
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import counts_non_negative

COUNTS = ("impressions", "reach", "views", "likes", "comments", "shares", "quotes", "saves", "engagements")


def build(ctx: SuiteContext) -> list:
    return [
        unique(("platform", "post_id", "exported_at"), CRITICAL, "one row per post per export instant"),
        in_set("platform", PLATFORMS),
        *counts_non_negative(COUNTS),
        not_in_future("exported_at", ctx.future_limit),
        between("age_days", 0, None, WARNING, "a post is measured after it is published (age ≥ 0)"),
    ]


SUITE = Suite("fct_post_metric_snapshot", "facts", build, ("platform", "post_id", "exported_at"))
