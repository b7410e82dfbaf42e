"""fct_audience_country: one row per account (or video), country and window. Key, values and ranges come from
the table catalogue."""

from expectations.checks import CRITICAL, a_ge_b
from expectations.suites import Suite, SuiteContext


def build(ctx: SuiteContext) -> list:
    return [a_ge_b("window_end", "window_start", CRITICAL, "a window ends on or after its first day")]


SUITE = Suite("fct_audience_country", "facts", build, ("account_key", "country", "window_start"))
