"""dim_account: one row per account seen or registered. Every check comes from the table catalogue."""

from expectations.suites import Suite, SuiteContext


def build(ctx: SuiteContext) -> list:
    return []


SUITE = Suite("dim_account", "facts", build, ("account_key",))
