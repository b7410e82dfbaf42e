"""X (Twitter) exports: account-analytics content and overview, legacy Tweet activity, API v2 pages."""

from __future__ import annotations


import polars as pl

from readers.base import Col, ReadError, Skip, SourceFile, end_of_day_utc, select_entity, window_from_name
from readers.csv_layout import CsvLayout, Shaped

TWITTER_EPOCH_MS = 1288834974657
_HANDLE_IN_URL = r"https?://(?:www\.)?(?:x|twitter)\.com/([^/]+)/status/"


def snowflake_instant(post_id: pl.Expr) -> pl.Expr:
    """A post id's embedded creation time: the content export gives only the day, the id the second."""
    millis = (post_id.cast(pl.UInt64, strict=False) // (1 << 22)).cast(pl.Int64) + TWITTER_EPOCH_MS
    return pl.from_epoch(millis, time_unit="ms").dt.cast_time_unit("us").dt.replace_time_zone("UTC")


class XContent(CsvLayout):
    """X account analytics, content view (2024+): one row per post over the chosen window."""

    name = "x_content"
    platform = "x"
    grain = "one row per post per export"
    entities = ("post",)
    key = ("post_id",)
    description = "analytics.x.com → Content → Export data (CSV); all header variants"
    id_columns = ("post_id",)
    columns = (
        Col("post_id", ("Post id", "Post ID", "ポストID"), "id", required=True),
        Col("date_raw", ("Date", "日付"), "text", required=True),
        Col("text", ("Post text", "ポスト本文"), "text", required=True),
        Col("post_url", ("Link", "Post Link", "リンク"), "text", required=True),
        Col("impressions", ("Impressions", "インプレッション数"), "count", required=True),
        Col("likes", ("Likes", "いいね"), "count"),
        Col("engagements_reported", ("Engagements", "エンゲージメント"), "count"),
        Col("saves", ("Bookmarks", "ブックマーク"), "count"),
        Col("shares_out", ("Share", "Shares", "共有"), "count"),
        Col("new_followers", ("New follows", "新しいフォロー"), "count"),
        Col("comments", ("Replies", "返信"), "count"),
        Col("shares", ("Reposts", "リポスト"), "count"),
        Col("profile_visits", ("Profile visits", "プロフィールへのアクセス数"), "count"),
        Col("detail_expands", ("Detail expands", "詳細のクリック数"), "count"),
        Col("clicks", ("Url clicks", "URL Clicks", "URLのクリック数"), "count"),
        Col("hashtag_clicks", ("Hashtag clicks", "ハッシュタグのクリック数"), "count"),
        Col("permalink_clicks", ("Permalink clicks", "固定リンクのクリック数"), "count"),
    )

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        phantom = typed.filter(pl.col("post_id").is_null() | pl.col("post_url").str.ends_with("/status/undefined"))
        skips = [Skip(int(r), "phantom row: link ends in /status/undefined and has no post id") for r in phantom["source_row"]]
        rows = typed.filter(~pl.col("source_row").is_in(phantom["source_row"].implode()))
        window = window_from_name(source.name) or (
            (source.date_hint, source.date_hint) if source.date_hint else None
        )
        if window is None:
            raise ReadError(
                f"{source.name}: cannot tell when this X export was made; keep the name X gives it "
                "(account_analytics_content_<start>_<end>.csv) or put it in a folder named with the export date"
            )
        rows = rows.with_columns(
            platform=pl.lit("x"),
            account_handle=pl.col("post_url").str.extract(_HANDLE_IN_URL, 1),
            published_at=snowflake_instant(pl.col("post_id")),
            format=pl.lit(None, pl.String),
            exported_at=pl.lit(end_of_day_utc(window[1])),
        )
        keep = [c for c in rows.columns if c in _POST_TARGETS]
        return Shaped(tables={"post": select_entity("post", rows.select(keep))}, skips=skips,
                      exported_at=end_of_day_utc(window[1]))


_POST_TARGETS = {
    "platform", "account_handle", "post_id", "post_url", "published_at", "text", "format", "impressions", "likes",
    "comments", "shares", "saves", "clicks", "engagements_reported", "new_followers", "exported_at", "source_row",
}

FORMATS = (XContent(),)


