"""fct_mention: one row per public post that mentions the city. Every check comes from the table catalogue."""

from expectations.suites import Suite, SuiteContext


def build(ctx: SuiteContext) -> list:
    return []


SUITE = Suite("fct_mention", "facts", build, ("platform", "post_id"))
