"""TikTok Studio exports: Content, Overview, FollowerHistory, FollowerTopTerritories and Viewers CSVs.

TikTok Studio writes every field quoted, a UTF-8 BOM, ``undefined`` for missing numbers and dates
without a year (``"February 28"``, or ``"28 February"`` in day-first locales). The year comes from
the export date, which the file does not hold: it is the date folder the file was dropped in
(``SourceFile.date_hint``). A day later than the export day belongs to the previous year. Daily series
(oldest day first, as TikTok writes them) are resolved from the newest row backwards, each row
against the day before the row that follows it, so a 365-day series that starts on the export day's
month and day a year earlier (``"February 28"`` … ``"February 27"``) gets both years right.

The files name no account except the Content export's video links (``/@handle/video/<id>``); the
others take the handle from the folder (``account_hint``) or from a Content.csv of the same download.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import polars as pl

from cityimage.tables import UTC_INSTANT
from readers.base import Col, ReadError, Reject, SourceFile, decode_text, end_of_day_utc, select_entity_columns
from readers.csv_layout import CsvLayout, Shaped

_MONTH_DAY_FORMATS = ("%B %d %Y", "%d %B %Y", "%b %d %Y", "%d %b %Y")
_VIDEO_LINK = r"tiktok\.com/@([^/?#\s\"]+)/video/(\d+)"
# TikTok video ids carry their creation second in the top 32 bits; TikTok launched in September 2016.
_TIKTOK_LAUNCH_S = int(datetime(2016, 9, 1, tzinfo=timezone.utc).timestamp())


def month_day(text: str | None) -> tuple[int, int] | None:
    """(month, day) of ``February 28`` / ``28 February`` / ``Feb 28``; None if it is not one."""
    if text is None:
        return None
    for fmt in _MONTH_DAY_FORMATS:
        try:
            parsed = datetime.strptime(f"{text.strip()} 2000", fmt)  # 2000 is a leap year: February 29 parses
        except ValueError:
            continue
        return parsed.month, parsed.day
    return None


def latest_on_or_before(month: int, day: int, reference: date) -> date:
    """The latest date with this month and day that is not after ``reference`` (Feb 29: a leap year)."""
    for year in range(reference.year, reference.year - 8, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= reference:
            return candidate
    raise ValueError(f"no {month}-{day} before {reference}")


def resolve_each(texts: list[str | None], references: list[date]) -> list[date | None]:
    """Years for independent days (a video's posting day), each against its own export day."""
    return [latest_on_or_before(*md, ref) if (md := month_day(text)) else None for text, ref in zip(texts, references)]


def resolve_series(texts: list[str | None], export_day: date) -> list[date | None]:
    """Years for a daily series in file order (oldest first): newest row against the export day,
    each earlier row against the day before the row after it. Unreadable days stay None."""
    resolved: list[date | None] = [None] * len(texts)
    reference = export_day
    for index in range(len(texts) - 1, -1, -1):
        parts = month_day(texts[index])
        if parts is not None:
            day = latest_on_or_before(*parts, reference)
            resolved[index] = day
            reference = day - timedelta(days=1)
    return resolved


def _export_day(source: SourceFile) -> date:
    """TikTok dates have no year: without the export date they cannot be placed, so the file is refused."""
    if source.date_hint is None:
        raise ReadError(
            f"{source.name}: TikTok Studio dates have no year; put the file in a folder named with the date "
            "you exported it (YYYY-MM-DD, e.g. inbox/2026-02-28/tiktok/<handle>/) and load it again"
        )
    return source.date_hint


def _account(source: SourceFile) -> str:
    """The folder's handle, else the handle in a companion Content.csv's video links, else refuse."""
    if source.account_hint:
        return source.account_hint
    content = source.companions.get("Content.csv")
    found = re.search(_VIDEO_LINK, decode_text(SourceFile("Content.csv", content))) if content else None
    if found:
        return found[1]
    raise ReadError(
        f"{source.name}: this TikTok Studio export does not say whose account it is; put it in a folder "
        "named with the account's handle (e.g. inbox/2026-02-28/tiktok/<handle>/) or next to its Content.csv"
    )


def _dated(rows: pl.DataFrame, column: str, days: list[date | None]) -> tuple[pl.DataFrame, list[Reject]]:
    """Attach resolved days; a row whose day could not be read is rejected with its text."""
    marked = rows.with_columns(pl.Series("__day", days, dtype=pl.Date))
    bad = marked.filter(pl.col("__day").is_null())
    rejects = [
        Reject(int(r), column, v, f"{v!r} is not a day like 'February 28'" if v else "no day")
        for r, v in zip(bad["source_row"], bad[column])
    ]
    good = marked.filter(pl.col("__day").is_not_null()).with_columns(pl.col("__day").alias(column)).drop("__day")
    return good, rejects


class TikTokSeries(CsvLayout):
    """A TikTok Studio daily series: year-less days resolved against the export date, one account."""

    platform = "tiktok"
    grain = "one row per account per day per export"
    entities = ("account_day",)
    key = ("account_handle", "day")

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        export_day = _export_day(source)
        handle = _account(source)
        rows, rejects = _dated(typed, "day", resolve_series(typed["day"].to_list(), export_day))
        exported_at = end_of_day_utc(export_day)
        rows = rows.with_columns(
            platform=pl.lit("tiktok"), account_handle=pl.lit(handle), exported_at=pl.lit(exported_at, UTC_INSTANT)
        )
        tables = {"account_day": select_entity_columns("account_day", rows)}
        return Shaped(tables=tables, rejects=rejects, exported_at=exported_at)


class TikTokOverview(TikTokSeries):
    """Overview.csv: the account's daily video views, profile views, likes, comments and shares.

    Likes and comments are net changes for the day: deleted comments make a day negative (``-7``
    in a real export), so they are signed whole numbers, not counts.
    """

    name = "tiktok_overview"
    description = "TikTok Studio → Analytics → Overview → Export (Overview.csv)"
    columns = (
        Col("day", ("Date",), "text", required=True),
        Col("views", ("Video Views",), "count", required=True),
        Col("profile_views", ("Profile Views",), "count", required=True),
        Col("likes", ("Likes",), "signed_count", required=True),
        Col("comments", ("Comments",), "signed_count", required=True),
        Col("shares", ("Shares",), "count", required=True),
    )


class TikTokFollowerHistory(TikTokSeries):
    """FollowerHistory.csv: followers at the end of each day (``undefined`` before TikTok counted them).

    The day-on-day difference is checked as a whole number but not loaded: it is derivable from
    ``followers`` and is a net change, not the gained and lost follows the entity holds.
    """

    name = "tiktok_follower_history"
    description = "TikTok Studio → Analytics → Followers → Export (FollowerHistory.csv)"
    columns = (
        Col("day", ("Date",), "text", required=True),
        Col("followers", ("Followers",), "count", required=True),
        Col("followers_net", ("Difference in followers from previous day",), "signed_count", required=True),
    )


class TikTokViewers(TikTokSeries):
    """Viewers.csv (layout unverified against a real file): unique viewers per day, loaded as reach.

    New and returning viewers are checked as counts but not loaded: the entity has no place for them.
    """

    name = "tiktok_viewers"
    description = "TikTok Studio → Analytics → Viewers → Export (Viewers.csv); layout not verified on a real export"
    columns = (
        Col("day", ("Date",), "text", required=True),
        Col("reach", ("Total Viewers", "Total viewers"), "count", required=True),
        Col("new_viewers", ("New Viewers", "New viewers"), "count", required=True),
        Col("returning_viewers", ("Returning Viewers", "Returning viewers"), "count"),
    )


class TikTokTerritories(CsvLayout):
    """FollowerTopTerritories.csv: followers' country shares (0-1) as of the export day, ``Others`` kept."""

    name = "tiktok_follower_territories"
    platform = "tiktok"
    grain = "one row per account and country per export"
    entities = ("audience",)
    key = ("account_handle", "dimension", "value")
    description = "TikTok Studio → Analytics → Followers → Export (FollowerTopTerritories.csv)"
    columns = (
        Col("value", ("Top territories",), "id", required=True),
        Col("share", ("Distribution",), "fraction", required=True),
    )

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        export_day = _export_day(source)
        exported_at = end_of_day_utc(export_day)
        rows = typed.with_columns(
            platform=pl.lit("tiktok"),
            account_handle=pl.lit(_account(source)),
            dimension=pl.lit("country"),
            window_start=pl.lit(export_day),
            window_end=pl.lit(export_day),
            exported_at=pl.lit(exported_at, UTC_INSTANT),
        )
        return Shaped(tables={"audience": select_entity_columns("audience", rows)}, exported_at=exported_at)


class TikTokContent(CsvLayout):
    """Content.csv: one row per video with lifetime totals as of the export day (its ``Time`` column).

    ``published_at`` is the instant in the video id (exact, and right even for videos over a year
    old); ``Post time`` (a day without year) is used only when the id carries no plausible instant.
    """

    name = "tiktok_content"
    platform = "tiktok"
    grain = "one row per post per export"
    entities = ("post",)
    key = ("post_id",)
    description = "TikTok Studio → Analytics → Content → Export (Content.csv)"
    columns = (
        Col("export_day", ("Time",), "text", required=True),
        Col("title", ("Video title",), "text", required=True),
        Col("post_url", ("Video link",), "id", required=True),
        Col("post_day", ("Post time",), "text", required=True),
        Col("likes", ("Total likes",), "count", required=True),
        Col("comments", ("Total comments",), "count", required=True),
        Col("shares", ("Total shares",), "count", required=True),
        Col("views", ("Total views",), "count", required=True),
    )

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        export_day = _export_day(source)
        exported = resolve_each(typed["export_day"].to_list(), [export_day] * typed.height)
        rows, rejects = _dated(typed, "export_day", exported)
        posted = resolve_each(rows["post_day"].to_list(), rows["export_day"].to_list())
        rows, bad_days = _dated(rows, "post_day", posted)
        rows = rows.with_columns(
            post_id=pl.col("post_url").str.extract(_VIDEO_LINK, 2),
            account_handle=pl.col("post_url").str.extract(_VIDEO_LINK, 1),
        )
        no_id = rows.filter(pl.col("post_id").is_null())
        rejects += bad_days + [
            Reject(int(r), "post_url", v, f"{v!r} is not a TikTok video link (…/@handle/video/<id>)")
            for r, v in zip(no_id["source_row"], no_id["post_url"])
        ]
        rows = rows.filter(pl.col("post_id").is_not_null()).with_columns(
            platform=pl.lit("tiktok"),
            text=pl.col("title"),
            format=pl.lit("short_video"),
            published_at=_published_at(),
            exported_at=_day_end(pl.col("export_day")),
        )
        latest = rows["exported_at"].max() if rows.height else end_of_day_utc(export_day)
        exported_at = latest if isinstance(latest, datetime) else None
        return Shaped(tables={"post": select_entity_columns("post", rows)}, rejects=rejects, exported_at=exported_at)


def _day_end(day: pl.Expr) -> pl.Expr:
    """Midnight UTC after ``day``: figures exported that day are true as of its end."""
    return (day.cast(pl.Datetime("us")) + pl.duration(days=1)).dt.replace_time_zone("UTC")


def _published_at() -> pl.Expr:
    """The video id's instant when it lies between TikTok's launch and the export; else the posting day."""
    seconds = (pl.col("post_id").cast(pl.UInt64, strict=False) // (1 << 32)).cast(pl.Int64)
    instant = pl.from_epoch(seconds, time_unit="s").dt.cast_time_unit("us").dt.replace_time_zone("UTC")
    plausible = (seconds >= _TIKTOK_LAUNCH_S) & (instant < _day_end(pl.col("export_day")))
    fallback = pl.col("post_day").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return pl.when(plausible).then(instant).otherwise(fallback).cast(UTC_INSTANT)


FORMATS = (TikTokContent(), TikTokOverview(), TikTokFollowerHistory(), TikTokViewers(), TikTokTerritories())
