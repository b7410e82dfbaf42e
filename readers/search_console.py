"""Google Search Console performance export: the CSVs of one download (zip or folder).

A download holds Queries, Pages, Countries, Devices, Search appearance, Chart and Filters CSVs. Each
table becomes ``search`` rows for one dimension (query, page, country, device, appearance, date, or
hour for the 24-hour view). CTR is written ``64.37%`` and stored as the fraction 0.6437.

The tables carry no dates: the window is in ``Filters.csv`` (``Date,"Mar 1, 2026-Mar 31, 2026"``),
a companion of the same download. Without it the window is taken from a daily ``Chart.csv``
companion, else only its end is known from the date folder (``date_hint``); otherwise the file is
refused. The property is the folder's handle (``account_hint``), else the host of the first page of
``Pages.csv``, else null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlparse

import polars as pl

from cityimage.tables import UTC_INSTANT
from readers.base import (
    Col,
    ReadError,
    Reject,
    Skip,
    SourceFile,
    check_datetimes,
    csv_header,
    day_span,
    decode_text,
    end_of_day_utc,
    frame_from_records,
    normalise_header,
    select_entity_columns,
    tabulate_csv,
)
from readers.csv_layout import CsvLayout, Shaped

_METRICS = (
    Col("clicks", ("Clicks",), "count", required=True),
    Col("impressions", ("Impressions",), "count", required=True),
    Col("ctr", ("CTR",), "percent", required=True),
    Col("position", ("Position",), "number", required=True),
)
_RANGE_DAY = r"([A-Z][a-z]+ \d{1,2}, \d{4})"
_RANGE = re.compile(rf"^\s*{_RANGE_DAY}\s*(?:-\s*{_RANGE_DAY})?\s*$")
_HOUR_HEADER = re.compile(r"^time \(utc([+-])(\d{2}):(\d{2})\)$")
# Unverified: no real 24-hour export was available; these are the spellings the UI plausibly writes.
_HOUR_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%b %d, %Y, %I:%M %p",
    "%b %d, %Y %I:%M %p",
)


class HourCol(Col):
    """The 24-hour chart's first header names the browser's offset, ``Time (UTC+03:00)``: match any offset."""

    def matches(self, header: str) -> bool:
        return _HOUR_HEADER.match(normalise_header(header)) is not None


def _day(text: str) -> date:
    """A day as Filters.csv writes it in an English UI: ``Mar 1, 2026`` (or ``March 1, 2026``)."""
    for fmt in ("%b %d, %Y", "%B %d, %Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _filters(source: SourceFile) -> dict[str, str]:
    """The download's Filters.csv as {filter: value}: {"Search type": "Web", "Date": "Mar 1, 2026-Mar 31, 2026"}."""
    if "Filters.csv" not in source.companions:
        return {}
    filters = SourceFile(f"{source.name} (its Filters.csv)", source.companions["Filters.csv"])
    _, records = tabulate_csv(decode_text(filters), filters)
    return {r[0].strip(): r[1].strip() for r in records if len(r) >= 2}


def _search_type(filters: dict[str, str]) -> str | None:
    return filters.get("Search type", "").lower() or None


def date_range(value: str | None) -> tuple[date, date] | None:
    """``Mar 1, 2026-Mar 31, 2026`` (or one day) as (first, last); relative ranges give None."""
    found = _RANGE.match(value or "")
    if not found:
        return None
    try:
        first = _day(found[1])
        return first, _day(found[2]) if found[2] else first
    except ValueError:
        return None


def _chart_days(data: bytes) -> tuple[date, date] | None:
    """First and last day of a daily Chart.csv companion: the download's window when Filters.csv is absent."""
    source = SourceFile("Chart.csv", data)
    header, records = tabulate_csv(decode_text(source), source)
    if not header or header[0].strip() != "Date":
        return None
    frame, _ = frame_from_records(header, records)
    return day_span(frame.select(_iso_day(pl.col(frame.columns[0]))).to_series())


def _iso_day(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.strptime(pl.Date, "%Y-%m-%d", strict=False)


@dataclass(frozen=True)
class Window:
    """The dates a download covers (start unknown when only the export date is) and its search type."""

    start: date | None
    end: date
    search_type: str | None


def _window(source: SourceFile, own_days: tuple[date, date] | None = None) -> Window:
    """Filters.csv's range, else the chart's days (the file's own or a companion's), else the date folder."""
    filters = _filters(source)
    days = date_range(filters.get("Date")) or own_days
    if days is None and "Chart.csv" in source.companions:
        days = _chart_days(source.companions["Chart.csv"])
    if days is not None:
        return Window(days[0], days[1], _search_type(filters))
    if source.date_hint is not None:
        return Window(None, source.date_hint, _search_type(filters))
    raise ReadError(
        f"{source.name}: a Search Console table does not say which dates it covers; load it together with the "
        "Filters.csv of the same download (keep the zip whole), or put it in a folder named with the export date "
        "(YYYY-MM-DD)"
    )


def _property(source: SourceFile, own_pages: pl.Series | None) -> str | None:
    """The site: the folder's handle, else the host of the first page URL of the download's Pages.csv."""
    if source.account_hint:
        return source.account_hint
    if own_pages is None and "Pages.csv" in source.companions:
        pages = SourceFile("Pages.csv", source.companions["Pages.csv"])
        _, records = tabulate_csv(decode_text(pages), pages)
        own_pages = pl.Series([r[0] for r in records[:1] if r], dtype=pl.String)
    first = own_pages[0] if own_pages is not None and own_pages.len() else None
    return urlparse(first.strip()).hostname if first else None


def _search_frame(
    rows: pl.DataFrame, dimension: str, site: str | None, window: Window, exported_at: datetime
) -> pl.DataFrame:
    """Rows of one dimension stamped with the download's property, window and export instant."""
    return select_entity_columns(
        "search",
        rows.with_columns(
            property=pl.lit(site, pl.String),
            search_type=pl.lit(window.search_type, pl.String),
            dimension=pl.lit(dimension),
            window_start=pl.lit(window.start, pl.Date),
            window_end=pl.lit(window.end, pl.Date),
            exported_at=pl.lit(exported_at, UTC_INSTANT),
        ),
    )


class SearchTable(CsvLayout):
    """One table of the performance export: a dimension value per row with clicks, impressions, CTR, position."""

    platform = "search_console"
    grain = "one row per dimension value per download"
    entities = ("search",)
    key = ("dimension", "value")

    def __init__(self, name: str, dimension: str, value: Col, description: str) -> None:
        self.name = name
        self.dimension = dimension
        self.columns = (value, *_METRICS)
        self.description = description

    def values(self, typed: pl.DataFrame, raw: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
        """The dimension values as stored; the chart types its days here."""
        return typed, []

    def own_days(self, rows: pl.DataFrame) -> tuple[date, date] | None:
        """The days the file itself covers, when its rows are days (the daily chart)."""
        return None

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        rows, rejects = self.values(typed, raw)
        window = _window(source, self.own_days(rows))
        notes = [] if window.start else [f"window start unknown (no Filters.csv): only its end, {window.end}, is known"]
        site = _property(source, rows["value"] if self.dimension == "page" else None)
        exported_at = end_of_day_utc(window.end)
        frame = _search_frame(rows, self.dimension, site, window, exported_at)
        return Shaped(tables={"search": frame}, rejects=rejects, exported_at=exported_at, notes=notes)


class SearchConsoleChart(SearchTable):
    """Chart.csv for a range of days: one row per day; its days are the window when Filters.csv is absent."""

    def values(self, typed: pl.DataFrame, raw: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
        days = typed.with_columns(_iso_day(pl.col("value")).alias("value"))
        days, rejects = check_datetimes(days, raw, "value", "a day like 2026-03-01")
        return days.with_columns(pl.col("value").dt.to_string("%Y-%m-%d")), rejects

    def own_days(self, rows: pl.DataFrame) -> tuple[date, date] | None:
        return day_span(rows["value"].str.to_date("%Y-%m-%d"))


class SearchConsoleHourlyChart(SearchTable):
    """Chart.csv of the 24-hour view (the values' layout is unverified): hours in the browser's offset.

    Each hour is converted to UTC and stored as its ISO instant (dimension ``hour``); the window is
    the UTC days the hours span, and the figures are true as of the end of the last hour.
    """

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        offset = _header_offset(source)
        text = pl.col("value").str.strip_chars()
        local = pl.coalesce([text.str.strptime(pl.Datetime("us"), fmt, strict=False) for fmt in _HOUR_FORMATS])
        rows = typed.with_columns((local - pl.lit(offset)).dt.replace_time_zone("UTC").alias("value"))
        rows, rejects = check_datetimes(rows, raw, "value", "an hour like 2026-03-31 14:00")
        if not rows.height:
            return Shaped(tables={}, rejects=rejects)
        first, last = rows["value"].min(), rows["value"].max()
        if not isinstance(first, datetime) or not isinstance(last, datetime):
            raise ReadError(f"{source.name}: no row names its hour, so the hours the chart covers are unknown")
        window = Window(first.date(), last.date(), _search_type(_filters(source)))
        exported_at = last + timedelta(hours=1)
        rows = rows.with_columns(pl.col("value").dt.to_string("%Y-%m-%dT%H:%MZ"))
        frame = _search_frame(rows, self.dimension, _property(source, None), window, exported_at)
        minutes = int(offset.total_seconds()) // 60
        sign = "+" if minutes >= 0 else "-"
        note = f"hours converted to UTC from UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        return Shaped(tables={"search": frame}, rejects=rejects, exported_at=exported_at, notes=[note])


def _header_offset(source: SourceFile) -> timedelta:
    """The UTC offset written in the chart's time header, ``Time (UTC+03:00)`` (the header detection matched)."""
    found = next(m for cell in csv_header(decode_text(source)) if (m := _HOUR_HEADER.match(normalise_header(cell))))
    sign = 1 if found[1] == "+" else -1
    return sign * timedelta(hours=int(found[2]), minutes=int(found[3]))


class SearchConsoleFilters(CsvLayout):
    """Filters.csv: the download's settings (search type, date range). Not data: its rows are skipped."""

    name = "gsc_filters"
    platform = "search_console"
    grain = "the download's filter settings (no rows loaded)"
    entities = ()
    key = ("filter",)
    description = "Search Console → Performance → Export → Filters.csv"
    columns = (Col("filter", ("Filter",), "text", required=True), Col("value", ("Value",), "text", required=True))

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        skips = [
            Skip(int(r), f"filter setting {f!r} = {v!r}, read by the other tables of the download")
            for r, f, v in zip(typed["source_row"], typed["filter"], typed["value"])
        ]
        dates = typed.filter(pl.col("filter") == "Date")["value"]
        window = date_range(dates[0]) if dates.len() else None
        exported_at = end_of_day_utc(window[1]) if window else None
        return Shaped(tables={}, skips=skips, exported_at=exported_at)


def _export(file: str) -> str:
    return f"Search Console → Performance → Export → {file}"


def _value(*headers: str) -> Col:
    return Col("value", headers, "text", required=True)


FORMATS = (
    SearchTable("gsc_queries", "query", _value("Top queries", "Query"), _export("Queries.csv")),
    SearchTable("gsc_pages", "page", _value("Top pages", "Page"), _export("Pages.csv")),
    SearchTable("gsc_countries", "country", _value("Country"), _export("Countries.csv")),
    SearchTable("gsc_devices", "device", _value("Device"), _export("Devices.csv")),
    SearchTable("gsc_search_appearance", "appearance", _value("Search Appearance"), _export("Search appearance.csv")),
    SearchConsoleChart("gsc_chart", "date", _value("Date"), _export("Chart.csv (daily)")),
    SearchConsoleHourlyChart(
        "gsc_chart_hourly",
        "hour",
        HourCol("value", ("Time (UTC+hh:mm)",), "text", required=True),
        _export("Chart.csv (24 hours; the hours' layout is unverified)"),
    ),
    SearchConsoleFilters(),
)
