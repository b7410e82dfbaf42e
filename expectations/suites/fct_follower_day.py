"""fct_follower_day: one row per account per day. Every check comes from the table catalogue."""

from expectations.suites import Suite, SuiteContext


def build(ctx: SuiteContext) -> list:
    return []


SUITE = Suite("fct_follower_day", "facts", build, ("account_key", "day"))
