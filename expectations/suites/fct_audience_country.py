"""fct_audience_country: one row per account (or video), country and window."""

from expectations.checks import CRITICAL, PLATFORMS, a_ge_b, between, in_set, unique
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import counts_non_negative


def build(ctx: SuiteContext) -> list:
    return [
        unique(("account_key", "post_id", "country", "window_start", "window_end"), CRITICAL,
               "one row per account (or video), country and window"),
        in_set("platform", PLATFORMS),
        *counts_non_negative(("views",)),
        between("share", 0, 1, CRITICAL, "share is a 0-1 fraction"),
        a_ge_b("window_end", "window_start", CRITICAL, "a window ends on or after its first day"),
    ]


SUITE = Suite("fct_audience_country", "facts", build, ("account_key", "country", "window_start"))
