"""fct_mention: one row per public post that mentions the city."""

from expectations.checks import CRITICAL, PLATFORMS, in_set, not_in_future, unique
from expectations.suites import Suite, SuiteContext


def build(ctx: SuiteContext) -> list:
    return [
        unique(("platform", "post_id"), CRITICAL, "one row per mentioning post"),
        in_set("platform", PLATFORMS),
        not_in_future("published_at", ctx.future_limit),
    ]


SUITE = Suite("fct_mention", "facts", build, ("platform", "post_id"))
