"""stg_account_day: one row per account per day per export file. Key, values and ranges come from the table catalogue."""

from expectations.checks import CRITICAL, WARNING, a_ge_b, no_rows
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import STAGING_INDEX, volume_by_instant


def build(ctx: SuiteContext) -> list:
    return [
        no_rows(
            "account_named",
            "SELECT source_file_sha256, source_row, platform, day FROM {batch} "
            "WHERE account_handle IS NULL AND account_id IS NULL AND account_key_hint IS NULL",
            CRITICAL,
            "every row names its account (handle, id or the reader's label)",
        ),
        a_ge_b("exported_at", "day", WARNING, "the day lies inside the export's window (not after its export instant)"),
        a_ge_b("impressions", "engagements", WARNING, "engagements do not exceed impressions where both are reported"),
        volume_by_instant(ctx, "exported_at", "account-days exported"),
    ]


SUITE = Suite("stg_account_day", "staging", build, STAGING_INDEX + ("platform", "account_handle", "day"))
