"""fct_follower_day: one row per account per day."""

from expectations.checks import CRITICAL, PLATFORMS, in_set, not_in_future, unique
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import counts_non_negative


def build(ctx: SuiteContext) -> list:
    return [
        unique(("account_key", "day"), CRITICAL, "one row per account per day"),
        in_set("platform", PLATFORMS),
        *counts_non_negative(("followers", "followers_gained", "followers_lost", "views")),
        not_in_future("day", ctx.future_limit.date()),
    ]


SUITE = Suite("fct_follower_day", "facts", build, ("account_key", "day"))
