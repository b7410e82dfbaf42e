"""dim_account: one row per account seen or registered."""

from expectations.checks import PLATFORMS, ROLES, in_set
from expectations.suites import Suite, SuiteContext


def build(ctx: SuiteContext) -> list:
    # account_key is the primary key and platform/role are NOT NULL in the DDL: DuckDB enforces those.
    return [in_set("platform", PLATFORMS), in_set("role", ROLES)]


SUITE = Suite("dim_account", "facts", build, ("account_key",))
