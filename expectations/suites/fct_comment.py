"""fct_comment: one row per comment or reply (latest export), classified."""

from expectations.checks import CRITICAL, PLATFORMS, WARNING, a_ge_b, between, in_set, not_in_future, not_null, unique
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import id_patterns, volume_by_week_column


def build(ctx: SuiteContext) -> list:
    return [
        not_null("post_id", WARNING, "every comment is attributed to a post (a reply whose thread was never loaded cannot be)"),
        unique(("platform", "comment_id"), CRITICAL, "one row per comment"),
        in_set("platform", PLATFORMS),
        not_in_future("created_at", ctx.future_limit),
        a_ge_b("first_reply_at", "created_at", WARNING, "the account's first reply comes after the comment"),
        between("first_reply_hours", 0, None, WARNING, "reply delay is never negative"),
        between("sentiment_score", -1, 1, WARNING, "sentiment score is in [-1, 1]"),
        *id_patterns("comment_id", "comment"),
        volume_by_week_column(ctx, "created_week", "comments written"),
    ]


SUITE = Suite("fct_comment", "facts", build, ("platform", "comment_id"))
