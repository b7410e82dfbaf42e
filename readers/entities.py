"""The canonical staging entities every export format is mapped into.

Platforms export the same few things in dozens of layouts: posts with metrics, comments, an account's
daily series, audience geography and search performance. Each reader turns its layout into one or
more of these entities; the warehouse has one ``stg_*`` table per entity with exactly these columns
plus lineage. Metrics are snapshots *as of the export* (``exported_at``): the same post in three
exports is three rows here, and the facts pick the latest.

Column conventions: ``*_id`` are text (trimmed, never numbers), ``*_at`` are UTC instants, ``is_*``
are booleans, and a metric the export lacks is null, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

UTC_INSTANT = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Entity:
    """A staging entity: its table, grain, natural key within one export, and typed columns."""

    name: str
    table: str
    grain: str
    key: tuple[str, ...]
    columns: dict[str, pl.DataType]
    docs: dict[str, str]

    @property
    def schema(self) -> pl.Schema:
        return pl.Schema(self.columns)

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Add missing columns as nulls, cast to the declared types and order columns canonically."""
        unknown = set(frame.columns) - set(self.columns) - {"source_row"}
        if unknown:
            raise ValueError(f"{self.name}: columns not in the entity: {sorted(unknown)}")
        exprs = [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in self.columns.items()
        ]
        exprs.append(pl.col("source_row").cast(pl.Int64) if "source_row" in frame.columns else pl.lit(None, pl.Int64).alias("source_row"))
        return frame.select(exprs)


def _entity(name: str, table: str, grain: str, key: tuple[str, ...], cols: list[tuple[str, pl.DataType, str]]) -> Entity:
    return Entity(name, table, grain, key, {c: t for c, t, _ in cols}, {c: d for c, _, d in cols})


_ACCOUNT = [
    ("platform", pl.String(), "facebook, instagram, youtube, x or tiktok"),
    ("account_id", pl.String(), "the platform's account id, when the export carries it"),
    ("account_handle", pl.String(), "the account's handle or page name, when known"),
]
_SNAPSHOT = [("exported_at", UTC_INSTANT, "when the export's figures were true (end of its window)")]

POST = _entity(
    "post",
    "stg_post",
    "one row per post per export file",
    ("platform", "post_id"),
    _ACCOUNT
    + [
        ("post_id", pl.String(), "platform post / video / tweet / media id, as text"),
        ("post_url", pl.String(), "permalink"),
        ("published_at", UTC_INSTANT, "publication instant in UTC"),
        ("source_timezone", pl.String(), "zone the export wrote local times in, when it did"),
        ("title", pl.String(), "title (videos) or first line"),
        ("text", pl.String(), "message / caption / description / tweet text"),
        ("post_type_raw", pl.String(), "the export's own post type label, untranslated"),
        ("format", pl.String(), "image, carousel, video, short_video, live or text"),
        ("language_raw", pl.String(), "language the platform reports (e.g. X's lang), if any"),
        ("custom_labels", pl.String(), "the team's own labels on the post (Business Suite 'Custom labels'), e.g. asset:bridge-capital"),
        ("duration_s", pl.Float64(), "video length in seconds"),
        ("impressions", pl.Int64(), "times shown"),
        ("reach", pl.Int64(), "unique accounts reached (never summed across posts)"),
        ("views", pl.Int64(), "video views / plays / Instagram views"),
        ("likes", pl.Int64(), "likes; Facebook reactions of all kinds"),
        ("comments", pl.Int64(), "comments; replies on X"),
        ("shares", pl.Int64(), "shares; reposts on X"),
        ("quotes", pl.Int64(), "quote posts (X only)"),
        ("saves", pl.Int64(), "saves (Instagram) or bookmarks (X)"),
        ("clicks", pl.Int64(), "link and other clicks"),
        ("engagements_reported", pl.Int64(), "the platform's own engagement total, kept for reconciliation"),
        ("new_followers", pl.Int64(), "follows attributed to the post"),
        ("watch_time_h", pl.Float64(), "total watch time in hours"),
        ("avg_watch_time_s", pl.Float64(), "average view duration in seconds"),
        ("avg_pct_viewed", pl.Float64(), "average percentage of the video viewed, 0-100"),
        ("is_live", pl.Boolean(), "the post is or was a livestream"),
        ("live_started_at", UTC_INSTANT, "livestream start"),
        ("live_ended_at", UTC_INSTANT, "livestream end"),
        ("peak_concurrent_viewers", pl.Int64(), "livestream peak concurrent viewers"),
        ("avg_concurrent_viewers", pl.Int64(), "livestream average concurrent viewers"),
    ]
    + _SNAPSHOT,
)

COMMENT = _entity(
    "comment",
    "stg_comment",
    "one row per comment or reply per export file",
    ("platform", "comment_id"),
    [
        ("platform", pl.String(), "platform"),
        ("comment_id", pl.String(), "platform comment id, as text"),
        ("post_id", pl.String(), "the post commented on"),
        ("parent_comment_id", pl.String(), "the comment replied to; null for a top-level comment"),
        ("author_id", pl.String(), "author's platform id; public authors are pseudonymised at load"),
        ("author_name", pl.String(), "author's display name; public authors are pseudonymised at load"),
        ("text", pl.String(), "plain text of the comment"),
        ("created_at", UTC_INSTANT, "when the comment was written"),
        ("like_count", pl.Int64(), "likes on the comment"),
        ("reply_count", pl.Int64(), "replies the platform counts under it"),
        ("is_hidden", pl.Boolean(), "hidden by the page, where the export says"),
        ("language_raw", pl.String(), "language the platform reports, if any"),
    ]
    + _SNAPSHOT,
)

ACCOUNT_DAY = _entity(
    "account_day",
    "stg_account_day",
    "one row per account per day per export file",
    ("platform", "account_handle", "account_id", "day"),
    _ACCOUNT
    + [
        ("account_key_hint", pl.String(), "optional: the reader's own account label when neither id nor handle is known"),
        ("day", pl.Date(), "calendar day in the export's own time zone"),
        ("followers", pl.Int64(), "followers at the end of the day"),
        ("followers_gained", pl.Int64(), "new follows that day"),
        ("followers_lost", pl.Int64(), "unfollows that day"),
        ("impressions", pl.Int64(), "impressions that day"),
        ("reach", pl.Int64(), "unique reach that day (never summed across days)"),
        ("views", pl.Int64(), "video or page views that day"),
        ("engagements", pl.Int64(), "engagements that day as the platform counts them"),
        ("likes", pl.Int64(), "likes that day"),
        ("comments", pl.Int64(), "comments that day"),
        ("shares", pl.Int64(), "shares / reposts that day"),
        ("profile_views", pl.Int64(), "profile visits that day"),
        ("posts_published", pl.Int64(), "posts published that day per the export"),
    ]
    + _SNAPSHOT,
)

AUDIENCE = _entity(
    "audience",
    "stg_audience",
    "one row per account (or video), dimension value and window per export file",
    ("platform", "post_id", "dimension", "value", "window_start", "window_end"),
    _ACCOUNT
    + [
        ("post_id", pl.String(), "the video the row is about; null for the whole account"),
        ("dimension", pl.String(), "country (ISO 3166 alpha-2 where the export allows)"),
        ("value", pl.String(), "the dimension value, e.g. US"),
        ("window_start", pl.Date(), "first day the figures cover"),
        ("window_end", pl.Date(), "last day the figures cover"),
        ("views", pl.Int64(), "views from this value in the window"),
        ("watch_time_h", pl.Float64(), "watch time in hours"),
        ("avg_watch_time_s", pl.Float64(), "average view duration in seconds"),
        ("share", pl.Float64(), "share of the audience, 0-1, where the export gives a distribution"),
    ]
    + _SNAPSHOT,
)

SEARCH = _entity(
    "search",
    "stg_search",
    "one row per search dimension value and window per export file",
    ("property", "dimension", "value", "window_start", "window_end"),
    [
        ("property", pl.String(), "the site or channel the search console covers"),
        ("search_type", pl.String(), "web, image, video or news"),
        ("dimension", pl.String(), "query, page, country, device, appearance, date or hour (UTC)"),
        ("value", pl.String(), "the query, page URL, country name, device or day"),
        ("window_start", pl.Date(), "first day covered"),
        ("window_end", pl.Date(), "last day covered"),
        ("clicks", pl.Int64(), "clicks"),
        ("impressions", pl.Int64(), "impressions"),
        ("ctr", pl.Float64(), "click-through rate as a 0-1 fraction"),
        ("position", pl.Float64(), "average position, 1 = top"),
    ]
    + _SNAPSHOT,
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (POST, COMMENT, ACCOUNT_DAY, AUDIENCE, SEARCH)}
