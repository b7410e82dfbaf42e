"""stg_post: one row per post per export file."""

from expectations.checks import CRITICAL, FORMATS, PLATFORMS, WARNING, a_ge_b, between, in_set, not_in_future
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import STAGING_INDEX, counts_non_negative, id_patterns, staging_key_checks, volume_by_instant
from readers.entities import POST

COUNTS = (
    "impressions", "reach", "views", "likes", "comments", "shares", "quotes", "saves", "clicks",
    "engagements_reported", "peak_concurrent_viewers", "avg_concurrent_viewers",
)  # new_followers is left out on purpose: YouTube reports net subscribers, which can be negative


def build(ctx: SuiteContext) -> list:
    return [
        *staging_key_checks(POST, ("platform", "post_id")),
        in_set("platform", PLATFORMS),
        in_set("format", FORMATS),
        *counts_non_negative(COUNTS),
        between("duration_s", 0, None, CRITICAL, "video length is never negative"),
        between("watch_time_h", 0, None, CRITICAL, "watch time is never negative"),
        between("avg_watch_time_s", 0, None, CRITICAL, "average view duration is never negative"),
        between("avg_pct_viewed", 0, None, CRITICAL, "average percentage viewed is never negative (it can pass 100 on re-watches)"),
        not_in_future("published_at", ctx.future_limit),
        not_in_future("exported_at", ctx.future_limit),
        a_ge_b("exported_at", "published_at", WARNING, "a post is published before the export that measures it"),
        a_ge_b("impressions", "likes", WARNING, "likes do not exceed impressions where both are reported"),
        a_ge_b("impressions", "engagements_reported", WARNING, "engagements do not exceed impressions where both are reported"),
        a_ge_b("views", "likes", WARNING, "likes do not exceed views where both are reported"),
        a_ge_b("live_ended_at", "live_started_at", WARNING, "a livestream ends after it starts"),
        a_ge_b("peak_concurrent_viewers", "avg_concurrent_viewers", WARNING, "peak concurrent viewers ≥ average"),
        *id_patterns("post_id", "post"),
        volume_by_instant(ctx, "exported_at", "posts exported"),
    ]


SUITE = Suite("stg_post", "staging", build, STAGING_INDEX + ("platform", "post_id"))
