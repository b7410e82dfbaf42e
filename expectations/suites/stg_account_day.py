"""stg_account_day: one row per account per day per export file."""

from expectations.checks import CRITICAL, PLATFORMS, WARNING, a_ge_b, in_set, no_rows, not_in_future
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import STAGING_INDEX, counts_non_negative, staging_key_checks, volume_by_instant
from readers.entities import ACCOUNT_DAY

COUNTS = (
    "followers", "followers_gained", "followers_lost", "impressions", "reach", "views", "engagements", "likes",
    "comments", "shares", "profile_views", "posts_published",
)


def build(ctx: SuiteContext) -> list:
    return [
        *staging_key_checks(ACCOUNT_DAY, ("platform", "day")),
        no_rows(
            "account_named",
            "SELECT source_file_sha256, source_row, platform, day FROM {batch} "
            "WHERE account_handle IS NULL AND account_id IS NULL AND account_key_hint IS NULL",
            CRITICAL,
            "every row names its account (handle, id or the reader's label)",
        ),
        in_set("platform", PLATFORMS),
        *counts_non_negative(COUNTS),
        not_in_future("day", ctx.future_limit.date()),
        not_in_future("exported_at", ctx.future_limit),
        a_ge_b("exported_at", "day", WARNING, "the day lies inside the export's window (not after its export instant)"),
        a_ge_b("impressions", "engagements", WARNING, "engagements do not exceed impressions where both are reported"),
        volume_by_instant(ctx, "exported_at", "account-days exported"),
    ]


SUITE = Suite("stg_account_day", "staging", build, STAGING_INDEX + ("platform", "account_handle", "day"))
