"""X (Twitter) exports: account-analytics content and overview, legacy Tweet activity, API v2 pages.

Five layouts, two entities for the CSVs (post, account_day) and two for the API (post, comment):

- ``x_content``: analytics.x.com content export (2024+), one row per post, every header variant;
- ``x_overview``: analytics.x.com account overview, one row per day, newest first;
- ``x_tweet_activity``: the legacy analytics.twitter.com Tweet activity export (40 columns);
- ``x_daily_activity``: its daily variant (38 columns), one row per day;
- ``x_api_v2``: X API v2 tweet pages, one page per line as twarc2 saves them, or one response.

Every X text (exports and API alike) arrives HTML-escaped (``&amp;``, ``&lt;``, ``&gt;``); readers
unescape it so a post reads as it was written.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Iterable

import polars as pl

from cityimage.tables import UTC_INSTANT
from readers.base import (
    Col,
    ExportFormat,
    Probe,
    ReadError,
    ReadResult,
    Reject,
    Skip,
    SourceFile,
    check_datetimes,
    decode_text,
    json_documents,
    end_of_day_utc,
    last_day,
    parse_datetimes,
    select_entity_columns,
    type_columns,
    window_from_name,
)
from readers.csv_layout import CsvLayout, Shaped
from readers.graph_json import Field, dig_items, metric_paths

TWITTER_EPOCH_MS = 1288834974657
_HANDLE_IN_URL = r"https?://(?:www\.)?(?:x|twitter)\.com/([^/]+)/status/"
_HTML_ESCAPES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
_DAY_FORMATS = ("%a %b %d %Y", "%a, %b %d, %Y", "%b %d, %Y", "%Y-%m-%d", "%Y年%m月%d日")
_DAILY_NAME = re.compile(r"daily_tweet_activity_metrics_([A-Za-z0-9_]{1,15})_\d{8}_\d{8}")


def snowflake_instant(post_id: pl.Expr) -> pl.Expr:
    """A post id's embedded creation time: the content export gives only the day, the id the second."""
    millis = (post_id.cast(pl.UInt64, strict=False) // (1 << 22)).cast(pl.Int64) + TWITTER_EPOCH_MS
    return pl.from_epoch(millis, time_unit="ms").dt.cast_time_unit("us").dt.replace_time_zone("UTC")


def unescape_x_text(expr: pl.Expr) -> pl.Expr:
    """X writes tweet text with ``&amp; &lt; &gt;``; one left-to-right pass restores what was typed."""
    return expr.str.replace_many(list(_HTML_ESCAPES), list(_HTML_ESCAPES.values()))


def parse_day(expr: pl.Expr) -> pl.Expr:
    """A calendar day in any spelling X exports use (``Mon Feb 17 2025``, ``"Tue, Aug 26, 2025"``, ISO)."""
    return pl.coalesce([expr.str.strip_chars().str.strptime(pl.Date, fmt, strict=False) for fmt in _DAY_FORMATS])


def typed_days(typed: pl.DataFrame, raw: pl.DataFrame, column: str) -> tuple[pl.DataFrame, list[Reject]]:
    """Type ``column`` as a day; a row whose day does not parse is rejected, not loaded undated."""
    parsed = typed.with_columns(parse_day(pl.col(column)).alias(column))
    return check_datetimes(parsed, raw, column, "a day like 'Tue, Aug 26, 2025'")


def _export_end(source: SourceFile, name_end_exclusive: bool = False) -> date:
    """Last day of the export window: from the file name X gives the download, else the date folder.

    Legacy analytics.twitter.com names end on the day *after* the window (…_20211201_20220101 holds
    December 1-31), hence ``name_end_exclusive``.
    """
    window = window_from_name(source.name)
    if window is not None:
        return window[1] - timedelta(days=1) if name_end_exclusive else window[1]
    if source.date_hint is not None:
        return source.date_hint
    raise ReadError(
        f"{source.name}: cannot tell when this X export was made; keep the name X gives it (it holds the "
        "window's dates) or put it in a folder named with the export date (YYYY-MM-DD)"
    )


def _shaped(
    entity: str, rows: pl.DataFrame, exported_at: datetime | None, rejects: list[Reject], skips: list[Skip] | None = None
) -> Shaped:
    """Rows stamped with the platform and the export instant, conformed to their entity."""
    rows = rows.with_columns(platform=pl.lit("x"), exported_at=pl.lit(exported_at, UTC_INSTANT))
    tables = {entity: select_entity_columns(entity, rows)}
    return Shaped(tables=tables, skips=skips or [], rejects=rejects, exported_at=exported_at)


def _series_handle(source: SourceFile) -> str:
    """A daily series names no account: the registered handle from the folder, else the legacy file name."""
    found = _DAILY_NAME.search(source.basename)
    handle = source.account_hint or (found[1] if found else None)
    if handle is None:
        raise ReadError(
            f"{source.name}: an X daily export does not say whose account it is; put it in a folder named "
            "with the account's handle (e.g. inbox/2026-03-01/x/<handle>/)"
        )
    return handle


class XContent(CsvLayout):
    """X account analytics, content view (2024+): one row per post over the chosen window."""

    name = "x_content"
    platform = "x"
    grain = "one row per post per export"
    entities = ("post",)
    key = ("post_id",)
    description = "analytics.x.com → Content → Export data (CSV); all header variants, Japanese UI included"
    id_columns = ("post_id",)
    columns = (
        Col("post_id", ("Post id", "Post ID", "ポストID"), "id", required=True),
        Col("date_raw", ("Date", "日付"), "text", required=True),
        Col("text", ("Post text", "ポスト本文"), "text", required=True),
        Col("post_url", ("Link", "Post Link", "ポストのリンク", "リンク"), "text", required=True),
        Col("impressions", ("Impressions", "インプレッション数"), "count", required=True),
        Col("likes", ("Likes", "いいね"), "count"),
        Col("engagements_reported", ("Engagements", "エンゲージメント"), "count"),
        Col("saves", ("Bookmarks", "ブックマーク"), "count"),
        Col("shares_out", ("Share", "Shares", "共有された回数", "共有"), "count"),
        Col("new_followers", ("New follows", "新しいフォロー"), "count"),
        Col("comments", ("Replies", "返信"), "count"),
        Col("shares", ("Reposts", "リポスト"), "count"),
        Col("profile_visits", ("Profile visits", "プロフィールへのアクセス数"), "count"),
        Col("detail_expands", ("Detail expands", "詳細のクリック数"), "count"),
        Col("clicks", ("Url clicks", "URL Clicks", "URLのクリック数"), "count"),
        Col("hashtag_clicks", ("Hashtag clicks", "ハッシュタグのクリック数"), "count"),
        Col("permalink_clicks", ("Permalink clicks", "パーマリンクのクリック数", "固定リンクのクリック数"), "count"),
    )

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        phantom = typed.filter(pl.col("post_id").is_null() | pl.col("post_url").str.ends_with("/status/undefined"))
        reason = "phantom row: link ends in /status/undefined and has no post id"
        skips = [Skip(int(r), reason) for r in phantom["source_row"]]
        rows = typed.filter(~pl.col("source_row").is_in(phantom["source_row"].implode()))
        rows, rejects = typed_days(rows, raw, "date_raw")
        rows = rows.with_columns(
            account_handle=pl.col("post_url").str.extract(_HANDLE_IN_URL, 1),
            published_at=snowflake_instant(pl.col("post_id")),
            text=unescape_x_text(pl.col("text")),
        )
        return _shaped("post", rows, end_of_day_utc(_export_end(source)), rejects, skips)


class XOverview(CsvLayout):
    """X account analytics, overview view: the account's daily totals, newest day first."""

    name = "x_overview"
    platform = "x"
    grain = "one row per account per day per export"
    entities = ("account_day",)
    key = ("account_handle", "day")
    description = "analytics.x.com → Overview → Export data (CSV); the account comes from the folder (account_hint)"
    forbidden = ("Post id", "Tweets published", "Tweet id")
    columns = (
        Col("day", ("Date",), "text", required=True),
        Col("impressions", ("Impressions",), "count", required=True),
        Col("likes", ("Likes",), "count"),
        Col("engagements", ("Engagements",), "count", required=True),
        Col("followers_gained", ("New follows",), "count", required=True),
        Col("followers_lost", ("Unfollows",), "count", required=True),
        Col("comments", ("Replies",), "count"),
        Col("shares", ("Reposts",), "count"),
        Col("profile_views", ("Profile visits",), "count", required=True),
        Col("posts_published", ("Create Post", "Create Posts"), "count"),
        Col("views", ("Video views",), "count"),
    )

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        handle = _series_handle(source)
        rows, rejects = typed_days(typed, raw, "day")
        window = window_from_name(source.name)
        last = window[1] if window else last_day(rows["day"])
        exported_at = end_of_day_utc(last) if last else None
        return _shaped("account_day", rows.with_columns(account_handle=pl.lit(handle)), exported_at, rejects)


class XTweetActivity(CsvLayout):
    """Legacy analytics.twitter.com Tweet activity export: one row per tweet of the window, 40 columns.

    Every field is quoted, counts are written ``1938.0``, promoted columns hold ``-`` for organic
    tweets (they are not read), ``time`` is ``2016-12-23 18:50 +0000``.
    """

    name = "x_tweet_activity"
    platform = "x"
    grain = "one row per post per export"
    entities = ("post",)
    key = ("post_id",)
    description = "analytics.twitter.com → Tweets → Export data → By Tweet (legacy, to 2023)"
    id_columns = ("post_id",)
    columns = (
        Col("post_id", ("Tweet id",), "id", required=True),
        Col("post_url", ("Tweet permalink",), "text", required=True),
        Col("text", ("Tweet text",), "text", required=True),
        Col("published_at", ("time",), "text", required=True),
        Col("impressions", ("impressions",), "count", required=True),
        Col("engagements_reported", ("engagements",), "count", required=True),
        Col("shares", ("retweets",), "count"),
        Col("comments", ("replies",), "count"),
        Col("likes", ("likes",), "count"),
        Col("clicks", ("url clicks",), "count"),
        Col("new_followers", ("follows",), "count"),
    )

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        rows = typed.with_columns(parse_datetimes(pl.col("published_at"), ["%Y-%m-%d %H:%M %z"]))
        rows, rejects = check_datetimes(rows, raw, "published_at", "a time like '2016-12-23 18:50 +0000'")
        rows = rows.with_columns(
            account_handle=pl.col("post_url").str.extract(_HANDLE_IN_URL, 1),
            text=unescape_x_text(pl.col("text")),
        )
        return _shaped("post", rows, end_of_day_utc(_export_end(source, name_end_exclusive=True)), rejects)


class XDailyActivity(CsvLayout):
    """Legacy Tweet activity export, daily variant (38 columns): the account's totals per day.

    The file names no account except in its name (``daily_tweet_activity_metrics_<handle>_…``).
    """

    name = "x_daily_activity"
    platform = "x"
    grain = "one row per account per day per export"
    entities = ("account_day",)
    key = ("account_handle", "day")
    description = "analytics.twitter.com → Tweets → Export data → By day (legacy, to 2023)"
    forbidden = ("Tweet id",)
    columns = (
        Col("day", ("Date",), "text", required=True),
        Col("posts_published", ("Tweets published",), "count", required=True),
        Col("impressions", ("impressions",), "count", required=True),
        Col("engagements", ("engagements",), "count", required=True),
        Col("shares", ("retweets",), "count"),
        Col("comments", ("replies",), "count"),
        Col("likes", ("likes",), "count"),
        Col("profile_views", ("user profile clicks",), "count"),
        Col("followers_gained", ("follows",), "count"),
    )

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        handle = _series_handle(source)
        rows, rejects = typed_days(typed, raw, "day")
        exported_at = end_of_day_utc(_export_end(source, name_end_exclusive=True))
        return _shaped("account_day", rows.with_columns(account_handle=pl.lit(handle)), exported_at, rejects)


# ---------------------------------------------------------------------------------------------
# X API v2

_TWEET_MARKERS = ("public_metrics", "author_id", "conversation_id", "edit_history_tweet_ids", "created_at")
_METRICS = {
    "impressions": "impression_count",
    "likes": "like_count",
    "comments": "reply_count",
    "shares": "retweet_count",
    "quotes": "quote_count",
    "saves": "bookmark_count",
}
# A tweet's values: read from their paths (graph_json.Field), or computed where there is none.
_API_FIELDS = (
    Field("post_id", "id", "id"),
    Field("text", "text", "text"),
    Field("published_at", "created_at", "instant"),
    Field("account_id", "author_id", "id"),
    Field("account_handle", "", "text", note="includes.users[author_id].username"),
    Field("language_raw", "lang", "text"),
    Field("post_type_raw", "", "text", note="referenced_tweets[].type (original when none)"),
    Field("format", "", "text", note="includes.media[attachments.media_keys].type"),
    *(Field(target, f"public_metrics.{source}", "count") for target, source in _METRICS.items()),
)
# Replies become comments; documented beside the post fields (the record is the same tweet).
_COMMENT_FIELDS = (
    ("comment_id", "id (of a reply)", "id"),
    ("post_id (comment)", "conversation_id", "id"),
    ("parent_comment_id", "referenced_tweets[type=replied_to].id; null when it is the conversation root", "id"),
    ("author_id", "author_id", "id"),
    ("author_name", "includes.users[author_id].username", "text"),
    ("created_at", "created_at", "instant"),
    ("like_count", "public_metrics.like_count", "count"),
    ("reply_count", "public_metrics.reply_count", "count"),
)


def api_pages(parsed: object) -> list[dict]:
    """The API pages of a parsed file: one response, or one page per line (twarc2's JSON lines)."""
    if isinstance(parsed, dict) and "__jsonl__" in parsed:
        return [page for page in parsed["__jsonl__"] if isinstance(page, dict)]
    return [parsed] if isinstance(parsed, dict) else []


def _page_tweets(page: dict) -> list[object]:
    """Tweets of a page: a search/timeline page lists them, a lookup by id gives one object."""
    data = page.get("data")
    if isinstance(data, list):
        return data
    return [data] if isinstance(data, dict) else []


def _load_pages(source: SourceFile) -> list[dict]:
    """Parse one JSON response or JSON lines; a line that is not JSON refuses the file, naming the line."""
    documents, lines = json_documents(decode_text(source).strip(), source.name)
    return api_pages({"__jsonl__": documents} if lines else documents[0])


def _text(value: object) -> str | None:
    return None if value is None or isinstance(value, (dict, list)) else str(value)


def _media_format(tweet: dict, media: dict[str, str]) -> str:
    """text, image, carousel or video from the attached media's types (``includes.media``)."""
    kinds = [media.get(key) for key in (tweet.get("attachments") or {}).get("media_keys", [])]
    if any(kind in ("video", "animated_gif") for kind in kinds):
        return "video"
    photos = sum(kind == "photo" for kind in kinds)
    return "carousel" if photos > 1 else "image" if photos == 1 else "text"


def _tweet_record(tweet: object, users: dict[str, str], media: dict[str, str]) -> dict[str, str | None]:
    """One tweet as flat text cells, typed later like a CSV row; replies keep their thread ids."""
    if not isinstance(tweet, dict):
        return {}
    refs = [r for r in tweet.get("referenced_tweets") or [] if isinstance(r, dict)]
    replied_to = next((_text(r.get("id")) for r in refs if r.get("type") == "replied_to"), None)
    record = {f.target: _text(f.value(tweet)) for f in _API_FIELDS}
    return record | {
        "account_handle": users.get(record["account_id"] or ""),
        "post_type_raw": ",".join(str(r.get("type")) for r in refs) or "original",
        "format": _media_format(tweet, media),
        "conversation_id": _text(tweet.get("conversation_id")),
        "replied_to": replied_to,
    }


def _includes(pages: Iterable[dict], kind: str, key: str, value: str) -> dict[str, str]:
    """``includes`` of every page merged: users by id → username, media by key → type."""
    found: dict[str, str] = {}
    for page in pages:
        for item in dig_items(page, f"includes.{kind}"):
            if item.get(key) is not None:
                found[str(item[key])] = str(item.get(value))
    return found


def _api_errors(pages: Iterable[dict]) -> list[str]:
    """``errors`` entries (suspended users, deleted tweets) describe what the API could not return."""
    return [
        f"{e.get('title', 'error')}: {e.get('detail', '')}".strip()
        for page in pages
        for e in page.get("errors") or []
        if isinstance(e, dict)
    ]


def _retrieved_at(pages: Iterable[dict]) -> datetime | None:
    """twarc2 records when it fetched each page (``__twarc.retrieved_at``): the figures' true instant."""
    stamps = []
    for page in pages:
        stamp = (page.get("__twarc") or {}).get("retrieved_at")
        if isinstance(stamp, str):
            try:
                stamps.append(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
            except ValueError:
                continue
    return max(stamps) if stamps else None


class XApiV2(ExportFormat):
    """X API v2 tweet pages: search, timeline or lookup responses, as twarc2 saves them or plain.

    ``rows_read`` counts the tweets in the pages' ``data`` (in file order); ``includes`` (users,
    media, referenced tweets) describe them and are not rows; ``errors`` entries are not tweets and
    are counted in the notes. A tweet replying inside a conversation (``replied_to`` and a
    ``conversation_id`` other than its own id) is a comment on the conversation's root; every other
    tweet (original, retweet, quote) is a post. ``exported_at`` is twarc's ``retrieved_at``, else the
    date folder, else the newest ``created_at`` (the earliest instant the figures can be true).
    """

    name = "x_api_v2"
    platform = "x"
    grain = "one row per tweet per file (replies as comments)"
    entities = ("post", "comment")
    key = ("post_id",)
    description = "X API v2 tweet pages (twarc2 JSON lines or a single response)"
    fields = _API_FIELDS

    def score(self, probe: Probe) -> float:
        pages = api_pages(probe.json)
        tweets = [t for page in pages for t in _page_tweets(page)]
        if not tweets:
            empty = pages and all("result_count" in (p.get("meta") or {}) for p in pages)
            return 0.85 if empty else 0.0
        shaped = sum(isinstance(t, dict) and "id" in t and "text" in t for t in tweets) / len(tweets)
        marked = any(isinstance(t, dict) and any(m in t for m in _TWEET_MARKERS) for t in tweets)
        return 0.7 * shaped + 0.3 * marked

    def explain_mismatch(self, probe: Probe) -> str:
        return "expected pages with a 'data' list of tweets (objects with 'id', 'text', 'created_at')"

    def documented_columns(self) -> list[tuple[str, str, str]]:
        return [*((f.target, f.documented(), f.kind) for f in self.fields), *_COMMENT_FIELDS]

    def read(self, source: SourceFile) -> ReadResult:
        pages = _load_pages(source)
        users = _includes(pages, "users", "id", "username")
        media = _includes(pages, "media", "media_key", "type")
        tweets = [t for page in pages for t in _page_tweets(page)]
        records = [_tweet_record(t, users, media) for t in tweets]
        typed, rejects = self._typed(records)
        typed, skips = _drop_duplicates(typed)
        exported_at = _retrieved_at(pages) or (end_of_day_utc(source.date_hint) if source.date_hint else None)
        if exported_at is None:
            latest = typed["published_at"].max()
            exported_at = latest if isinstance(latest, datetime) else None
        typed = typed.with_columns(exported_at=pl.lit(exported_at, UTC_INSTANT))
        is_reply = pl.col("replied_to").is_not_null() & pl.col("conversation_id").is_not_null() & (
            pl.col("conversation_id") != pl.col("post_id")
        )
        errors = _api_errors(pages)
        result = ReadResult(
            format=self.name,
            rows_read=len(records),
            tables={"post": _api_posts(typed.filter(~is_reply)), "comment": _api_comments(typed.filter(is_reply))},
            rejects=rejects,
            skips=skips,
            exported_at=exported_at,
            notes=[f"{len(errors)} API error entries (not tweets): {'; '.join(errors[:5])}"] if errors else [],
            source_columns=metric_paths(t for t in tweets if isinstance(t, dict)),
        )
        result.check_accounting()
        return result

    def _typed(self, records: list[dict[str, str | None]]) -> tuple[pl.DataFrame, list[Reject]]:
        """Text frame → typed counts and instants; a tweet without an id or a time is rejected."""
        names = ["post_id", "published_at", "conversation_id", "replied_to", *(f.target for f in self.fields)]
        columns = {name: [r.get(name) for r in records] for name in dict.fromkeys(names)}
        frame = pl.DataFrame(columns, schema={name: pl.String for name in columns}).with_columns(
            pl.Series("source_row", range(1, len(records) + 1), dtype=pl.Int64)
        )
        typed, rejects = type_columns(frame, {target: "count" for target in _METRICS})
        missing = typed.filter(pl.col("post_id").is_null() | pl.col("published_at").is_null())
        reason = "not a tweet: no id or no created_at"
        rejects += [Reject(int(r), "id/created_at", None, reason) for r in missing["source_row"]]
        typed = typed.filter(pl.col("post_id").is_not_null() & pl.col("published_at").is_not_null())
        typed = typed.with_columns(parse_datetimes(pl.col("published_at"), ["%Y-%m-%dT%H:%M:%S%.fZ"]))
        typed, bad = check_datetimes(typed, frame, "published_at", "an ISO instant like 2021-05-18T19:24:56.000Z")
        typed = typed.with_columns(text=unescape_x_text(pl.col("text")))
        return typed, sorted(rejects + bad, key=lambda r: r.source_row)


def _drop_duplicates(typed: pl.DataFrame) -> tuple[pl.DataFrame, list[Skip]]:
    """A tweet saved twice (overlapping pages) is one row; the later copies are skipped."""
    first = typed.with_columns(pl.col("source_row").min().over("post_id").alias("first_row"))
    dupes = first.filter(pl.col("source_row") != pl.col("first_row"))
    skips = [
        Skip(int(r), f"tweet {i} already read at record {f}")
        for r, i, f in zip(dupes["source_row"], dupes["post_id"], dupes["first_row"])
    ]
    return first.filter(pl.col("source_row") == pl.col("first_row")).drop("first_row"), skips


def _api_posts(tweets: pl.DataFrame) -> pl.DataFrame:
    permalink = pl.format("https://x.com/{}/status/{}", pl.col("account_handle").fill_null("i/web"), pl.col("post_id"))
    return select_entity_columns("post", tweets.with_columns(platform=pl.lit("x"), post_url=permalink))


def _api_comments(replies: pl.DataFrame) -> pl.DataFrame:
    """A reply is a comment on its conversation's root; its parent is the tweet it replies to, unless that is the root.

    ``account_*`` become ``author_*``: public authors are pseudonymised at load, like every comment author.
    """
    return select_entity_columns(
        "comment",
        replies.select(
            "source_row",
            "text",
            "language_raw",
            "exported_at",
            platform=pl.lit("x"),
            comment_id=pl.col("post_id"),
            post_id=pl.col("conversation_id"),
            parent_comment_id=pl.when(pl.col("replied_to") != pl.col("conversation_id")).then(pl.col("replied_to")),
            author_id=pl.col("account_id"),
            author_name=pl.col("account_handle"),
            created_at=pl.col("published_at"),
            like_count=pl.col("likes"),
            reply_count=pl.col("comments"),
        ),
    )


FORMATS = (XContent(), XOverview(), XTweetActivity(), XDailyActivity(), XApiV2())
