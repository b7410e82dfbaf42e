"""fct_comment: one row per comment or reply (latest export), classified. Key, values and ranges come from the
table catalogue."""

from expectations.checks import WARNING, a_ge_b, not_null
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import id_patterns, volume_by_week_column


def build(ctx: SuiteContext) -> list:
    return [
        not_null("post_id", WARNING, "every comment is attributed to a post (a reply whose thread was never loaded cannot be)"),
        a_ge_b("first_reply_at", "created_at", WARNING, "the account's first reply comes after the comment"),
        *id_patterns("comment_id", "comment"),
        volume_by_week_column(ctx, "created_week", "comments written"),
    ]


SUITE = Suite("fct_comment", "facts", build, ("platform", "comment_id"))
