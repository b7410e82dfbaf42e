"""fct_post_metric_snapshot: one row per post per export instant. Every check comes from the table catalogue."""

from expectations.suites import Suite, SuiteContext


def build(ctx: SuiteContext) -> list:
    return []


SUITE = Suite("fct_post_metric_snapshot", "facts", build, ("platform", "post_id", "exported_at"))
