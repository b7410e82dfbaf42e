"""fct_post: one row per post, metrics of its latest export. Key, values and ranges come from the table catalogue."""

from expectations.checks import WARNING, a_ge_b
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import id_patterns, volume_by_week_column


def build(ctx: SuiteContext) -> list:
    return [
        a_ge_b("latest_exported_at", "published_at", WARNING, "a post is published before its latest export"),
        a_ge_b("impressions", "engagements", WARNING, "engagements (E) do not exceed impressions where both are known"),
        a_ge_b("views", "likes", WARNING, "likes do not exceed views where both are known"),
        *id_patterns("post_id", "post"),
        volume_by_week_column(ctx, "published_week", "posts published"),
    ]


SUITE = Suite("fct_post", "facts", build, ("platform", "post_id"))
