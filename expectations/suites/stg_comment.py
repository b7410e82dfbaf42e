"""stg_comment: one row per comment or reply per export file. Key, values and ranges come from the table catalogue."""

from expectations.checks import CRITICAL, ID_PATTERNS, WARNING, a_ge_b, id_pattern, not_null
from expectations.suites import Suite, SuiteContext
from expectations.suites._common import STAGING_INDEX, id_patterns, name_collisions, volume_by_instant


def build(ctx: SuiteContext) -> list:
    return [
        # YouTube's comments.list returns replies without their video: a reply may name only its parent,
        # and the facts attribute it to the parent's post.
        not_null("post_id", CRITICAL, "a comment names the post it is on (a reply may name only its parent)",
                 unless="parent_comment_id"),
        a_ge_b("exported_at", "created_at", WARNING, "a comment is written before the export that contains it"),
        *id_patterns("comment_id", "comment"),
        # the post a comment is on: only the platforms whose post ids have a fixed shape
        *[id_pattern("post_id", p, ID_PATTERNS["post"][p]) for p in ("youtube", "x", "tiktok")],
        name_collisions("comment_id", "comment author"),
        volume_by_instant(ctx, "exported_at", "comments exported"),
    ]


SUITE = Suite("stg_comment", "staging", build, STAGING_INDEX + ("platform", "comment_id"))
