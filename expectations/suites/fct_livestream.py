"""fct_livestream: one row per livestream. Key, values and ranges come from the table catalogue."""

from expectations.checks import WARNING, a_ge_b
from expectations.suites import Suite, SuiteContext


def build(ctx: SuiteContext) -> list:
    return [
        a_ge_b("ended_at", "started_at", WARNING, "a livestream ends after it starts"),
        a_ge_b("peak_concurrent_viewers", "avg_concurrent_viewers", WARNING, "peak concurrent viewers ≥ average"),
    ]


SUITE = Suite("fct_livestream", "facts", build, ("platform", "post_id"))
