"""stg_post: one row per post per export file. Key, values and ranges come from the table catalogue."""

from expectations.checks import CRITICAL, WARNING, a_ge_b, no_rows
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import STAGING_INDEX, id_patterns, name_collisions, volume_by_instant


def build(ctx: SuiteContext) -> list:
    return [
        no_rows(
            "account_named",
            "SELECT platform, post_id, count(*) AS exports FROM {batch} GROUP BY platform, post_id "
            "HAVING count(account_id) = 0 AND count(account_handle) = 0",
            CRITICAL,
            "every post names its account (id or handle) in at least one of its exports",
        ),
        a_ge_b("exported_at", "published_at", WARNING, "a post is published before the export that measures it"),
        a_ge_b("impressions", "likes", WARNING, "likes do not exceed impressions where both are reported"),
        a_ge_b("impressions", "engagements_reported", WARNING, "engagements do not exceed impressions where both are reported"),
        a_ge_b("views", "likes", WARNING, "likes do not exceed views where both are reported"),
        a_ge_b("live_ended_at", "live_started_at", WARNING, "a livestream ends after it starts"),
        a_ge_b("peak_concurrent_viewers", "avg_concurrent_viewers", WARNING, "peak concurrent viewers ≥ average"),
        *id_patterns("post_id", "post"),
        name_collisions("post_id", "post's account"),
        volume_by_instant(ctx, "exported_at", "posts exported"),
    ]


SUITE = Suite("stg_post", "staging", build, STAGING_INDEX + ("platform", "post_id"))
