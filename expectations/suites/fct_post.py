"""fct_post: one row per post, metrics of its latest export."""

from expectations.checks import CRITICAL, FORMATS, PLATFORMS, ROLES, WARNING, a_ge_b, between, in_set, not_in_future, unique
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import counts_non_negative, id_patterns, volume_by_week_column

COUNTS = ("impressions", "reach", "views", "likes", "comments", "shares", "quotes", "saves", "engagements")


def build(ctx: SuiteContext) -> list:
    return [
        unique(("platform", "post_id"), CRITICAL, "one row per post"),
        in_set("platform", PLATFORMS),
        in_set("role", ROLES),
        in_set("format", FORMATS),
        *counts_non_negative(COUNTS),
        between("snapshots", 1, None, CRITICAL, "every post has at least one export behind it"),
        not_in_future("published_at", ctx.future_limit),
        not_in_future("latest_exported_at", ctx.future_limit),
        a_ge_b("latest_exported_at", "published_at", WARNING, "a post is published before its latest export"),
        a_ge_b("impressions", "engagements", WARNING, "engagements (E) do not exceed impressions where both are known"),
        a_ge_b("views", "likes", WARNING, "likes do not exceed views where both are known"),
        *id_patterns("post_id", "post"),
        volume_by_week_column(ctx, "published_week", "posts published"),
    ]


SUITE = Suite("fct_post", "facts", build, ("platform", "post_id"))
