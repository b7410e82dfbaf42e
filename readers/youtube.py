"""YouTube exports: YouTube Studio advanced-mode downloads and YouTube Data API v3 responses.

A Studio download is three CSVs (``Table data.csv``, ``Chart data.csv``, ``Totals.csv``) for one
dimension (Content, Date or Geography) and whatever metrics the user chose. Studio files name neither
the channel nor, except through their dates, the window: the channel comes from the folder the files
were dropped in (``account_hint``), the window from the file's own dates, else from the download's
other files (``companions``), else from the folder or zip name, else from the export date of the
folder (``date_hint``, which gives only the window's end).
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date
from pathlib import PurePosixPath

import polars as pl

from cityimage.tables import UTC_INSTANT
from readers.base import (
    Col,
    ExportFormat,
    Probe,
    ReadError,
    Reject,
    Skip,
    SourceFile,
    check_datetimes,
    day_span,
    decode_text,
    end_of_day_utc,
    normalise_header,
    parse_datetimes,
    refuse_spreadsheet_dates,
    select_entity_columns,
    window_from_name,
)
from readers.csv_layout import CsvLayout, Shaped
from readers.graph_json import Edge, Field, JsonFormat, Record, all_items, dig, dig_entries, not_an_object, record_of

WATCH_URL = "https://www.youtube.com/watch?v="

# Metrics any Studio table may carry; a metric the entity has no column for is not read.
_METRICS = (
    Col("views", ("Views",), "count"),
    Col("watch_time_h", ("Watch time (hours)",), "number"),
    Col("avg_watch_time_s", ("Average view duration",), "duration"),
    Col("avg_pct_viewed", ("Average percentage viewed (%)",), "number"),
    Col("new_followers", ("Subscribers",), "signed_count"),
    Col("followers_gained", ("Subscribers gained",), "count"),
    Col("followers_lost", ("Subscribers lost",), "count"),
    Col("impressions", ("Impressions",), "count"),
    Col("likes", ("Likes",), "count"),
    Col("comments", ("Comments added",), "count"),
    Col("shares", ("Shares",), "count"),
    Col("peak_concurrent_viewers", ("Peak concurrent viewers",), "number"),
    Col("avg_concurrent_viewers", ("Average concurrent viewers",), "number"),
)
# Studio metrics that no staging column holds: recognised (so a Date-dimension file carrying them is
# still a Studio file) and not loaded.
_UNLOADED_METRICS = (
    "Impressions click-through rate (%)", "Unique viewers", "New viewers", "Returning viewers",
    "Average views per viewer", "Engaged views", "Stayed to watch (%)", "Dislikes", "Videos published",
    "Videos added", "Estimated revenue (USD)", "Your estimated revenue (USD)", "RPM (USD)", "CPM (USD)",
    "Playback-based CPM (USD)", "YouTube Premium (USD)", "Watch time from Shorts (hours)",
)
_DATE = Col("day", ("Date",), "text", required=True)
_GEOGRAPHY = Col("value", ("Geography",), "text", required=True)
_PUBLISHED_FORMATS = ["%b %d, %Y", "%Y-%m-%d"]


def _metrics(*names: str) -> tuple[Col, ...]:
    return tuple(c for c in _METRICS if c.target in names)


def _channel(source: SourceFile) -> str:
    """Studio files never name their channel: the folder they were dropped in does."""
    if not source.account_hint:
        raise ReadError(
            f"{source.name}: YouTube Studio exports do not name their channel; drop Studio exports in a folder "
            "named after the channel handle (e.g. inbox/youtube/<handle>/Table data.csv)"
        )
    return source.account_hint


def _dates_in(data: bytes) -> list[date]:
    """The days in a companion file's Date column (Totals.csv, Chart data.csv)."""
    text = decode_text(SourceFile(name="companion", data=data))
    rows = csv.reader(io.StringIO(text, newline=""))
    header = [normalise_header(c) for c in next(rows, [])]
    if "date" not in header:
        return []
    at = header.index("date")
    found = (re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", r[at].strip()) for r in rows if len(r) > at)
    return [date(int(m[1]), int(m[2]), int(m[3])) for m in found if m]


def studio_window(source: SourceFile, own_days: pl.Series | None = None) -> tuple[date | None, date]:
    """The window the figures cover, from the best evidence available; refuse when there is none."""
    span = day_span(own_days) if own_days is not None else None
    if span:
        return span
    for companion in ("Totals.csv", "Chart data.csv"):
        days = _dates_in(source.companions[companion]) if companion in source.companions else []
        if days:
            return min(days), max(days)
    folder = window_from_name(str(PurePosixPath(source.name).parent))
    if folder:
        return folder
    if source.date_hint:
        return None, source.date_hint
    raise ReadError(
        f"{source.name}: cannot tell which days this YouTube Studio table covers; keep it with the Totals.csv "
        "or Chart data.csv of the same download, or put it in a folder named with the export date"
    )


def _skip_total(typed: pl.DataFrame, column: str) -> tuple[pl.DataFrame, list[Skip]]:
    """Studio's first row sums the table: recognised, counted, not loaded."""
    total = typed.filter(pl.col(column).str.strip_chars().str.to_lowercase() == "total")
    skips = [Skip(int(r), "Total row (the sum of the table)") for r in total["source_row"]]
    return typed.filter(~pl.col("source_row").is_in(total["source_row"].implode())), skips


def _days(typed: pl.DataFrame, raw: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """``day`` as a date (Studio writes 2021-01-31); a row whose date does not parse is rejected."""
    rows = typed.with_columns(day=pl.col("day").str.strip_chars().str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    return check_datetimes(rows, raw, "day", "a date like 2021-01-31")


class _Studio(CsvLayout):
    """What the Studio tables share: the channel from the folder, the snapshot instant, whole viewer counts."""

    platform = "youtube"

    def _finish(self, entity: str, rows: pl.DataFrame, source: SourceFile, last_day: date, skips: list[Skip],
                rejects: list[Reject]) -> Shaped:
        """The entity's rows with the channel, the snapshot instant and whole concurrent-viewer counts."""
        channel, exported_at = _channel(source), end_of_day_utc(last_day)
        concurrent = [c for c in ("peak_concurrent_viewers", "avg_concurrent_viewers") if c in rows.columns]
        rows = rows.with_columns(
            [pl.col(c).round(0).cast(pl.Int64) for c in concurrent],
            platform=pl.lit("youtube"),
            account_handle=pl.lit(channel),
            exported_at=pl.lit(exported_at, UTC_INSTANT),
        )
        return Shaped(tables={entity: select_entity_columns(entity, rows)}, skips=skips, rejects=rejects,
                      exported_at=exported_at)


class StudioContent(_Studio):
    """Studio, Content dimension, ``Table data.csv``: one row per video over the window."""

    name = "youtube_studio_content"
    grain = "one row per video per export"
    entities = ("post",)
    key = ("post_id",)
    description = (
        "YouTube Studio → Analytics → Advanced mode → Content → Export (Table data.csv); the channel is the "
        "folder's handle; publish time is a day (midnight UTC); concurrent viewers mean a live"
    )
    id_columns = ("post_id",)
    columns = (
        Col("post_id", ("Content",), "id", required=True),
        Col("title", ("Video title",), "text"),
        Col("published_at", ("Video publish time",), "text"),
        Col("duration_s", ("Duration",), "number"),
        *_metrics("views", "watch_time_h", "avg_watch_time_s", "avg_pct_viewed", "new_followers", "impressions",
                  "likes", "comments", "shares", "peak_concurrent_viewers", "avg_concurrent_viewers"),
    )
    forbidden = ("Date", "Geography")

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        refuse_spreadsheet_dates(source, raw, ("published_at",))
        rows, skips = _skip_total(typed, "post_id")
        rows, rejects = _published(rows, raw)
        concurrent = [c for c in ("peak_concurrent_viewers", "avg_concurrent_viewers") if c in rows.columns]
        is_live = pl.any_horizontal([pl.col(c).is_not_null() for c in concurrent]) if concurrent else pl.lit(False)
        rows = rows.with_columns(
            post_url=pl.lit(WATCH_URL) + pl.col("post_id"),
            is_live=is_live,
            format=pl.when(is_live).then(pl.lit("live")).otherwise(pl.lit("video")),
        )
        return self._finish("post", rows, source, studio_window(source)[1], skips, rejects)


def _published(rows: pl.DataFrame, raw: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """Studio gives the publish day only (``Aug 28, 2025``), kept as midnight UTC; empty is missing."""
    if "published_at" not in rows.columns:
        return rows, []
    parsed = rows.with_columns(published_at=parse_datetimes(pl.col("published_at"), _PUBLISHED_FORMATS))
    return check_datetimes(parsed, raw, "published_at", "a date like Aug 28, 2025")


class StudioContentDaily(_Studio):
    """Studio, Content dimension, ``Chart data.csv``: views per video per day.

    There is no per-video daily entity; the rows are counted and skipped, and ``Table data.csv`` of
    the same download carries the per-video figures.
    """

    name = "youtube_studio_content_daily"
    grain = "one row per video per day (not loaded)"
    entities = ()
    key = ("day", "post_id")
    description = (
        "YouTube Studio → Advanced mode → Content → Export (Chart data.csv); rows counted and skipped, "
        "see Table data.csv"
    )
    columns = (_DATE, Col("post_id", ("Content",), "id", required=True), *_metrics("views"))
    forbidden = ("Geography",)

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        reason = "per-video daily views have no staging entity; Table data.csv carries the per-video figures"
        return Shaped(tables={}, skips=[Skip(int(r), reason) for r in typed["source_row"]])


class StudioDaily(_Studio):
    """Studio, Date dimension (Table data, Chart data) and every ``Totals.csv``: one row per day."""

    name = "youtube_studio_daily"
    grain = "one row per channel per day"
    entities = ("account_day",)
    key = ("day",)
    description = (
        "YouTube Studio → Advanced mode → Date dimension (Table data.csv, Chart data.csv) and Totals.csv of any "
        "download; every header must be Date or a Studio metric: those listed here, the other metrics of the "
        "Content table (not loaded per day) or " + ", ".join(_UNLOADED_METRICS) + " (not loaded)"
    )
    columns = (_DATE, *_metrics("views", "followers_gained", "followers_lost", "impressions", "likes", "comments",
                                "shares"))
    forbidden = ("Geography", "Content")

    def score(self, probe: Probe) -> float:
        """Other platforms' daily exports also have a Date column: here every other header is a Studio metric."""
        studio = {normalise_header(a) for c in (_DATE, *_METRICS) for a in c.aliases}
        studio |= {normalise_header(h) for h in _UNLOADED_METRICS}
        if any(normalise_header(h) not in studio for h in probe.header):
            return 0.0
        return super().score(probe)

    def explain_mismatch(self, probe: Probe) -> str:
        recognised = ", ".join(_UNLOADED_METRICS)
        return f"{super().explain_mismatch(probe)}; other Studio metrics recognised: {recognised}"

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        rows, skips = _skip_total(typed, "day")
        rows, rejects = _days(rows, raw)
        return self._finish("account_day", rows, source, studio_window(source, rows["day"])[1], skips, rejects)


class StudioGeography(_Studio):
    """Studio, Geography dimension, ``Table data.csv``: one row per country over the whole window."""

    name = "youtube_studio_geography"
    grain = "one row per country per window"
    entities = ("audience",)
    key = ("value", "window_start", "window_end")
    description = "YouTube Studio → Advanced mode → Geography → Export (Table data.csv); country codes as written"
    columns = (_GEOGRAPHY, *_metrics("views", "watch_time_h", "avg_watch_time_s"))
    forbidden = ("Date", "Content")

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        rows, skips = _skip_total(typed, "value")
        start, end = studio_window(source)
        rows = rows.with_columns(
            dimension=pl.lit("country"),
            value=pl.col("value").str.strip_chars(),
            window_start=pl.lit(start, pl.Date),
            window_end=pl.lit(end, pl.Date),
        )
        return self._finish("audience", rows, source, end, skips, [])


class StudioGeographyDaily(_Studio):
    """Studio, Geography dimension, ``Chart data.csv``: one row per country per day."""

    name = "youtube_studio_geography_daily"
    grain = "one row per country per day"
    entities = ("audience",)
    key = ("value", "window_start")
    description = (
        "YouTube Studio → Advanced mode → Geography → Export (Chart data.csv); each row's window is its day"
    )
    columns = (_DATE, _GEOGRAPHY, *_metrics("views", "watch_time_h", "avg_watch_time_s"))
    forbidden = ("Content",)

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        rows, rejects = _days(typed, raw)
        rows = rows.with_columns(
            dimension=pl.lit("country"),
            value=pl.col("value").str.strip_chars(),
            window_start=pl.col("day"),
            window_end=pl.col("day"),
        )
        return self._finish("audience", rows, source, studio_window(source, rows["day"])[1], [], rejects)


# ---------------------------------------------------------------------------------------------
# YouTube Data API v3


def _kind_is(docs: list[object], response: str, item: str) -> bool:
    """A YouTube response says what it is (``kind``) on the page and on every item."""
    kinds = {doc.get("kind") for doc in docs if isinstance(doc, dict)}
    items = all_items(docs)
    return kinds == {response} or (bool(items) and all(i.get("kind") == item for i in items))


class YouTubeApiVideos(JsonFormat):
    """videos.list: one row per video; statistics are strings; live streams carry liveStreamingDetails."""

    name = "youtube_api_videos"
    platform = "youtube"
    grain = "one row per video per file"
    entities = ("post",)
    entity = "post"
    key = ("post_id",)
    description = "YouTube Data API v3 videos.list response (JSON)"
    fields = (
        Field("post_id", "id", "id", required=True),
        Field("account_id", "snippet.channelId", "id"),
        Field("account_handle", "snippet.channelTitle", "text"),
        Field("published_at", "snippet.publishedAt", "instant", required=True),
        Field("title", "snippet.title", "text"),
        Field("text", "snippet.description", "text"),
        Field("language_raw", "snippet.defaultAudioLanguage|snippet.defaultLanguage", "text"),
        Field("duration_s", "contentDetails.duration", "iso_duration", note="ISO 8601 (PT4M13S)"),
        Field("views", "statistics.viewCount", "count"),
        Field("likes", "statistics.likeCount", "count"),
        Field("comments", "statistics.commentCount", "count"),
        Field("is_live", "", "bool", note="liveStreamingDetails present"),
        Field("live_started_at", "liveStreamingDetails.actualStartTime", "instant"),
        Field("live_ended_at", "liveStreamingDetails.actualEndTime", "instant"),
    )

    def matches(self, docs: list[object]) -> bool:
        return _kind_is(docs, "youtube#videoListResponse", "youtube#video")

    def derived(self, item: dict, row: Record, edge: Edge | None) -> Record:
        """A live stream is the video that carries liveStreamingDetails, whatever they hold."""
        return {"is_live": isinstance(item.get("liveStreamingDetails"), dict)}

    def shape(self, typed: pl.DataFrame, source: SourceFile) -> pl.DataFrame:
        return typed.with_columns(
            platform=pl.lit("youtube"),
            post_url=pl.lit(WATCH_URL) + pl.col("post_id"),
            format=pl.when(pl.col("is_live")).then(pl.lit("live")).otherwise(pl.lit("video")),
        )


_VIDEO = Field("post_id", "snippet.videoId", "id", note="else its thread's")
_COMMENT_FIELDS = (
    Field("comment_id", "id", "id", required=True),
    _VIDEO,
    Field("parent_comment_id", "snippet.parentId", "id", note="on replies; in a thread, else its top-level comment"),
    Field("author_id", "snippet.authorChannelId.value", "id"),
    Field("author_name", "snippet.authorDisplayName", "text"),
    Field("text", "snippet.textOriginal", "text", note="else snippet.textDisplay without HTML"),
    Field("created_at", "snippet.publishedAt", "instant", required=True),
    Field("like_count", "snippet.likeCount", "count"),
)
_TAG = re.compile(r"<[^>]+>")
_comment_record = record_of(_COMMENT_FIELDS)


def _comment(item: dict, thread: dict | None = None) -> Record:
    """One comment or reply: what its paths hold, completed by :func:`_comment_derived`."""
    row = _comment_record(item)
    return row | _comment_derived(item, row, thread)


def _comment_derived(item: dict, row: Record, thread: dict | None) -> Record:
    """A reply that does not name its video is on its thread's. ``textOriginal`` is what the author
    typed; ``textDisplay`` is HTML, made plain text only when it is all there is."""
    text = row["text"]
    if text is None:
        shown = dig(item, "snippet.textDisplay")
        if isinstance(shown, str) and shown:
            text = html.unescape(_TAG.sub("", shown.replace("<br />", "\n").replace("<br>", "\n")))
    return {"post_id": row["post_id"] or _VIDEO.value(thread), "text": text}


#: Read from the thread, not from its comments.
_THREAD_REPLIES = Field("reply_count", "snippet.totalReplyCount", "count", note="of the thread (top-level comments)")
_thread_record = record_of((_THREAD_REPLIES,))


class YouTubeApiCommentThreads(JsonFormat):
    """commentThreads.list: the top-level comment of each thread, then its ``replies.comments``."""

    name = "youtube_api_comment_threads"
    platform = "youtube"
    grain = "one row per comment or reply per file"
    entities = ("comment",)
    entity = "comment"
    key = ("comment_id",)
    description = "YouTube Data API v3 commentThreads.list response (JSON)"
    fields = (*_COMMENT_FIELDS, _THREAD_REPLIES)

    def matches(self, docs: list[object]) -> bool:
        return _kind_is(docs, "youtube#commentThreadListResponse", "youtube#commentThread")

    def records(self, docs: list[object], source: SourceFile) -> list[Record]:
        """Each thread's top-level comment, with the thread's reply count, then its replies; a reply
        that does not name its parent is on the top-level comment."""
        rows = []
        for thread, _ in self.items(docs):
            if not isinstance(thread, dict):
                rows.append(not_an_object(thread))
                continue
            comment = dig(thread, "snippet.topLevelComment")
            top = _comment(comment if isinstance(comment, dict) else {}, thread)
            top |= _thread_record(thread)
            rows.append(top)
            for reply in dig_entries(thread, "replies.comments"):
                if not isinstance(reply, dict):
                    rows.append(not_an_object(reply))
                    continue
                row = _comment(reply, thread)
                rows.append(row | {"parent_comment_id": row["parent_comment_id"] or top["comment_id"]})
        return rows

    def shape(self, typed: pl.DataFrame, source: SourceFile) -> pl.DataFrame:
        return typed.with_columns(platform=pl.lit("youtube"))


class YouTubeApiComments(JsonFormat):
    """comments.list (usually the replies to one comment, ``parentId``): one row per comment.

    Replies listed this way do not carry ``videoId``; their ``post_id`` stays null and the parent
    comment links them to their video.
    """

    name = "youtube_api_comments"
    platform = "youtube"
    grain = "one row per comment per file"
    entities = ("comment",)
    entity = "comment"
    key = ("comment_id",)
    description = "YouTube Data API v3 comments.list response (JSON)"
    fields = _COMMENT_FIELDS

    def matches(self, docs: list[object]) -> bool:
        return _kind_is(docs, "youtube#commentListResponse", "youtube#comment")

    def derived(self, item: dict, row: Record, edge: Edge | None) -> Record:
        """As a thread's comments, with no thread to fall back on."""
        return _comment_derived(item, row, None)

    def shape(self, typed: pl.DataFrame, source: SourceFile) -> pl.DataFrame:
        return typed.with_columns(platform=pl.lit("youtube"))


FORMATS: tuple[ExportFormat, ...] = (
    StudioContent(),
    StudioContentDaily(),
    StudioDaily(),
    StudioGeography(),
    StudioGeographyDaily(),
    YouTubeApiVideos(),
    YouTubeApiCommentThreads(),
    YouTubeApiComments(),
)
