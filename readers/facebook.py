"""Facebook exports: legacy Page Insights (post, video-post and page level), Meta Business Suite post
export and daily series, and Graph API responses (feed/posts, comments, live videos).

Time zone rule (no setting): Meta writes local times without saying in which zone. Page Insights
reports in Pacific time (Facebook's reporting zone), and we read Meta Business Suite's ``Publish time``
the same way, so every local time from a Meta CSV is read as ``America/Los_Angeles`` and that zone is
recorded in ``source_timezone``.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import date, datetime

import polars as pl

from cityimage.tables import UTC_INSTANT
from cityimage.vocabulary import VIDEO_FORMATS
from readers.base import (
    Col,
    ExportFormat,
    Probe,
    ReadError,
    ReadResult,
    Skip,
    SourceFile,
    check_datetimes,
    decode_text,
    end_of_day_utc,
    last_day,
    normalise_header,
    parse_datetimes,
    refuse_spreadsheet_dates,
    select_entity_columns,
    tabulate_csv,
    type_columns,
    window_from_name,
)
from readers.csv_layout import CsvLayout, Shaped
from readers.graph_json import (
    Edge, Field, JsonFormat, Record, as_text, dig, dig_entries, not_an_object, page_items, paging_edge, paging_fields,
)

META_ZONE = "America/Los_Angeles"
# A livestream is a video too where Insights reports video metrics.
_WITH_VIDEO_METRICS = (*VIDEO_FORMATS, "live")

# Keyword → canonical format, first match wins: Meta localizes its post-type labels.
_FORMAT_WORDS = (
    ("live", r"\blive\b|en vivo|en directo|ao vivo|en direct"),
    ("short_video", r"reel"),
    ("carousel", r"carousel|carrusel|carrossel|carrousel|secuencia|sequência|album|álbum"),
    ("video", r"video|vídeo|vidéo"),
    ("image", r"photo|image|imagen|imagem|foto"),
    ("text", r"link|status|\btext|texto|enlace|lien|statut"),
)


def meta_format(label: pl.Expr) -> pl.Expr:
    """Canonical format of a Meta post-type label in any UI language; null when it names none (stories)."""
    lowered = label.str.to_lowercase()
    expr = pl.lit(None, pl.String)
    for fmt, pattern in reversed(_FORMAT_WORDS):
        expr = pl.when(lowered.str.contains(pattern)).then(pl.lit(fmt)).otherwise(expr)
    return expr


def export_window(source: SourceFile, what: str, example: str) -> tuple[date, date]:
    """The window in the file name Meta gives the export, else the export date of its folder; else refuse."""
    window = window_from_name(source.name) or ((source.date_hint, source.date_hint) if source.date_hint else None)
    if window is None:
        raise ReadError(
            f"{source.name}: cannot tell when this {what} was made; keep the name Meta gives it ({example}) "
            "or put it in a folder named with the export date (e.g. 2026-03-01/)"
        )
    return window


# ---------------------------------------------------------------------------------------------
# Legacy Page Insights (Facebook Insights Data Export … .csv), until 2018

_LEGACY_NAME = re.compile(r"Facebook Insights Data Export(?: \([^)]*\))? - (?P<page>.+?) - \d{4}-\d{2}-\d{2}")
_DESCRIPTION = re.compile(r"^(Lifetime|Daily|Weekly|28 Days):")


def legacy_page_name(source: SourceFile) -> str | None:
    """The registered handle of the folder the file sits in, else the page name in Facebook's file name.

    The file name carries the page's display name, which may differ from its registered handle.
    """
    found = _LEGACY_NAME.search(source.basename)
    return source.account_hint or (found["page"] if found else None)


def _require_description_row(source: SourceFile) -> None:
    """Legacy exports put metric descriptions under the header; without them row 2 would be data."""
    records = list(itertools.islice(csv.reader(io.StringIO(decode_text(source), newline="")), 2))
    second = records[1] if len(records) == 2 else []
    if not second or second[0].strip() or not any(_DESCRIPTION.match(cell) for cell in second):
        raise ReadError(
            f"{source.name}: a Page Insights export has a second header row of metric descriptions "
            "(\"Lifetime: …\"), and this file does not; load the file as Facebook exported it"
        )


def _legacy_post_columns(video: bool) -> tuple[Col, ...]:
    return (
        Col("post_id", ("Post ID",), "id", required=True),
        Col("post_url", ("Permalink",), "text", required=True),
        Col("text", ("Post Message",), "text", required=True),
        Col("post_type_raw", ("Type",), "text", required=not video),
        Col("published_at", ("Posted",), "text", required=True),
        Col("reach", ("Lifetime Post Total Reach",), "count"),
        Col("impressions", ("Lifetime Post Total Impressions",), "count"),
        Col("engagements_reported", ("Lifetime Engaged Users",), "count"),
        Col("likes", ("Lifetime Post Stories by action type - like",), "count"),
        Col("comments", ("Lifetime Post Stories by action type - comment",), "count"),
        Col("shares", ("Lifetime Post Stories by action type - share",), "count"),
        Col("clicks", ("Lifetime Post Consumptions",), "count"),
        *((Col("views", ("Lifetime Total Video Views",), "count", required=True),) if video else ()),
        Col("views_organic", ("Lifetime Organic Video Views",), "count"),
        Col("views_paid", ("Lifetime Paid Video Views",), "count"),
        Col("duration_ms", ("Lifetime Video length",), "count"),
        Col("avg_watch_ms", ("Lifetime Average time video viewed",), "count"),
    )


class FacebookInsightsPosts(CsvLayout):
    """Legacy Page Insights, post level: one row per post, lifetime metrics, two header rows."""

    name = "facebook_insights_posts"
    platform = "facebook"
    grain = "one row per post per export"
    entities = ("post",)
    key = ("post_id",)
    description = (
        "Page Insights → Export data → Post data (CSV, until 2018); Posted is Pacific time; video lengths and "
        "view times are in milliseconds; the first of each duplicated column (Total Count) is read; empty = missing"
    )
    header_rows = 2
    repeats_headers = True  # the legacy Insights export names some columns twice
    id_columns = ("post_id",)
    columns = _legacy_post_columns(video=False)
    forbidden: tuple[str, ...] = ("Lifetime Total Video Views",)
    default_video = False

    def read(self, source: SourceFile) -> ReadResult:
        _require_description_row(source)
        return super().read(source)

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        refuse_spreadsheet_dates(source, raw, ("published_at",))
        name = "Facebook Insights Data Export (Post Level) - <Page> - <start> - <end>.csv"
        exported_at = end_of_day_utc(export_window(source, "Page Insights export", name)[1])
        posted = parse_datetimes(pl.col("published_at"), ["%m/%d/%Y %I:%M:%S %p"], META_ZONE)
        rows, bad = check_datetimes(typed.with_columns(published_at=posted), raw, "published_at",
                                    "a time like 02/14/2016 12:40:16 AM")
        fmt = meta_format(pl.col("post_type_raw")) if "post_type_raw" in rows.columns else pl.lit(None, pl.String)
        rows = rows.with_columns(format=fmt.fill_null(pl.lit("video" if self.default_video else None, pl.String)))
        rows = rows.with_columns(
            platform=pl.lit("facebook"),
            account_id=pl.col("post_id").str.extract(r"^(\d+)_", 1),
            account_handle=pl.lit(legacy_page_name(source), pl.String),
            source_timezone=pl.lit(META_ZONE),
            exported_at=pl.lit(exported_at, UTC_INSTANT),
            **_legacy_video_metrics(rows.columns),
        )
        return Shaped(tables={"post": select_entity_columns("post", rows)}, rejects=bad, exported_at=exported_at)


def _legacy_video_metrics(columns: list[str]) -> dict[str, pl.Expr]:
    """Video metrics for video posts only (a photo's "0 ms" length is not a length), in seconds."""
    is_video = pl.col("format").is_in(_WITH_VIDEO_METRICS)

    def col(name: str) -> pl.Expr:
        return pl.col(name) if name in columns else pl.lit(None, pl.Int64)

    split = pl.when(col("views_organic").is_not_null() | col("views_paid").is_not_null()).then(
        col("views_organic").fill_null(0) + col("views_paid").fill_null(0)
    )
    return {
        "views": pl.when(is_video).then(pl.coalesce(col("views"), split)),
        "duration_s": pl.when(is_video & (col("duration_ms") > 0)).then(col("duration_ms") / 1000),
        "avg_watch_time_s": pl.when(is_video).then(col("avg_watch_ms") / 1000),
    }


class FacebookInsightsVideoPosts(FacebookInsightsPosts):
    """Legacy Page Insights, video-post level: one row per video post, with total video views."""

    name = "facebook_insights_video_posts"
    description = "Page Insights → Export data → Video data (CSV, until 2018); as the post level, every row a video"
    columns = _legacy_post_columns(video=True)
    forbidden = ()
    default_video = True


class FacebookInsightsPage(CsvLayout):
    """Legacy Page Insights, page level: one row per day, 42 to 2,600+ columns; we read the page totals."""

    name = "facebook_insights_page"
    platform = "facebook"
    grain = "one row per page per day"
    entities = ("account_day",)
    key = ("day",)
    description = (
        "Page Insights → Export data → Page data (CSV, CRLF, until 2018); the page is named in the file name; "
        "followers are page likes; Daily Logged-in Page Views is the first (Total Count) of the two columns"
    )
    header_rows = 2
    repeats_headers = True  # the legacy Insights export names some columns twice
    columns = (
        Col("day", ("Date",), "text", required=True),
        Col("followers", ("Lifetime Total Likes",), "count", required=True),
        Col("followers_gained", ("Daily New Likes",), "count", required=True),
        Col("followers_lost", ("Daily Unlikes",), "count"),
        Col("engagements", ("Daily Page Engaged Users",), "count"),
        Col("reach", ("Daily Total Reach",), "count"),
        Col("impressions", ("Daily Total Impressions",), "count"),
        Col("profile_views", ("Daily Logged-in Page Views",), "count"),
        Col("views", ("Daily Total Video Views",), "count"),
    )

    def read(self, source: SourceFile) -> ReadResult:
        _require_description_row(source)
        return super().read(source)

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        refuse_spreadsheet_dates(source, raw, ("day",))
        page = legacy_page_name(source)
        if page is None:
            raise ReadError(
                f"{source.name}: the page is named only in the file name Facebook gives this export "
                "(Facebook Insights Data Export - <Page> - <start> - <end>.csv); keep that name or drop the file "
                "in a folder named after the page handle"
            )
        rows = typed.with_columns(day=pl.col("day").str.strptime(pl.Date, "%m/%d/%Y", strict=False))
        rows, rejects = check_datetimes(rows, raw, "day", "a date like 8/19/2015")
        window = window_from_name(source.name)
        last = window[1] if window else (source.date_hint or last_day(rows["day"]))
        exported_at = end_of_day_utc(last) if last else None
        rows = rows.with_columns(
            platform=pl.lit("facebook"),
            account_handle=pl.lit(page),
            exported_at=pl.lit(exported_at, UTC_INSTANT),
        )
        table = select_entity_columns("account_day", rows)
        return Shaped(tables={"account_day": table}, rejects=rejects, exported_at=exported_at)


# ---------------------------------------------------------------------------------------------
# Meta Business Suite post exports (2023+), Facebook and Instagram


class MetaPostExport(CsvLayout):
    """Meta Business Suite → Content → Export: one row per post, lifetime figures (``Date`` = Lifetime).

    The Facebook and Instagram exports share the layout's logic; each declares its own columns.
    """

    platform = ""
    grain = "one row per post per export"
    entities = ("post",)
    key = ("post_id",)
    id_columns = ("post_id", "account_id")

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        refuse_spreadsheet_dates(source, raw, ("published_at",))
        window = export_window(source, "Meta Business Suite export", "Mar-26-2025_Mar-26-2026_<id>.csv")
        exported_at = end_of_day_utc(window[1])
        formats = ["%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S"]
        rows = typed.with_columns(published_at=parse_datetimes(pl.col("published_at"), formats, META_ZONE))
        rows, bad = check_datetimes(rows, raw, "published_at", "a time like 03/26/2026 15:38")
        rows = rows.with_columns(
            platform=pl.lit(self.platform),
            source_timezone=pl.lit(META_ZONE),
            format=meta_format(pl.col("post_type_raw")),
            is_live=meta_format(pl.col("post_type_raw")) == "live",
            exported_at=pl.lit(exported_at, UTC_INSTANT),
            **_suite_video_metrics(rows.columns),
        )
        return Shaped(tables={"post": select_entity_columns("post", rows)}, rejects=bad, exported_at=exported_at)


def _suite_video_metrics(columns: list[str]) -> dict[str, pl.Expr]:
    """Meta writes 0 seconds for posts without a duration (reels included): 0 is not a length.
    Facebook's watch time comes in seconds viewed."""
    metrics: dict[str, pl.Expr] = {}
    if "duration_s" in columns:
        metrics["duration_s"] = pl.when(pl.col("duration_s") > 0).then(pl.col("duration_s"))
    if "seconds_viewed" in columns:
        metrics["watch_time_h"] = pl.col("seconds_viewed") / 3600
    return metrics


class FacebookBusinessSuitePosts(MetaPostExport):
    """Meta Business Suite Facebook post export (2023+): BOM, 32-34 columns depending on the month."""

    name = "facebook_business_suite_posts"
    platform = "facebook"
    description = (
        "Meta Business Suite → Insights → Content → Export (Facebook posts, CSV); Publish time read as Pacific "
        "time; Duration 0 = missing; watch time from Seconds viewed"
    )
    columns = (
        Col("post_id", ("Post ID", "Identificador de la publicación"), "id", required=True),
        Col("account_id", ("Page ID", "Identificador de la página"), "id", required=True),
        Col("account_handle", ("Page name", "Nombre de la página"), "text", required=True),
        Col("title", ("Title", "Título"), "text"),
        Col("text", ("Description", "Descripción"), "text"),
        Col("duration_s", ("Duration (sec)", "Duración (segundos)"), "number"),
        Col("published_at", ("Publish time", "Hora de publicación"), "text", required=True),
        Col("post_url", ("Permalink", "Enlace permanente"), "text", required=True),
        Col("post_type_raw", ("Post type", "Tipo de publicación"), "text", required=True),
        Col("language_raw", ("Languages", "Idiomas"), "text"),
        Col("custom_labels", ("Custom labels", "Etiquetas personalizadas"), "text"),
        Col("views", ("Views", "Visualizaciones"), "count"),
        Col("reach", ("Reach", "Alcance"), "count"),
        Col("engagements_reported",
            ("Reactions, Comments and Shares", "Reacciones, comentarios y veces que se compartió"), "count"),
        Col("likes", ("Reactions", "Reacciones"), "count"),
        Col("comments", ("Comments", "Comentarios"), "count"),
        Col("shares", ("Shares", "Veces que se compartió"), "count"),
        Col("clicks", ("Total clicks", "Clics totales"), "count"),
        Col("impressions", ("Impressions", "Impresiones"), "count"),
        Col("seconds_viewed", ("Seconds viewed", "Segundos reproducidos"), "number"),
        Col("avg_watch_time_s", ("Average Seconds viewed", "Promedio de segundos reproducidos"), "number"),
    )
    forbidden = ("Account username", "Account ID", "Nombre de usuario de la cuenta", "Identificador de la cuenta")


# ---------------------------------------------------------------------------------------------
# Meta Business Suite daily series (Follows.csv, Views.csv, …): UTF-16LE, ``sep=,``, a title line

_SERIES_COLUMNS = (
    (r"unfollow|dejaron de seguir|deixaram de seguir|désabonnement", "followers_lost"),
    (r"follow|seguimiento|seguidor|abonnement|abonné", "followers_gained"),
    (r"viewer|espectador", "reach"),
    (r"reach|alcance|couverture", "reach"),
    (r"visit|visita|visite", "profile_views"),
    (r"view|visualizaci|vues", "views"),
    (r"interaction|interacci|interaç", "engagements"),
    (r"impression|impresion|impressõ", "impressions"),
)
_SERIES_DATE = ("date", "fecha", "data")
_SERIES_VALUE = ("primary", "principal")


def _series_column(title: str) -> str | None:
    lowered = title.lower()
    return next((column for pattern, column in _SERIES_COLUMNS if re.search(pattern, lowered)), None)


def _series_platform(title: str, source: SourceFile) -> str:
    lowered = title.lower()
    if "instagram" in lowered:
        return "instagram"
    return "facebook" if "facebook" in lowered else (source.platform_hint or "facebook")


def _is_series_header(record: list[str]) -> bool:
    cells = [normalise_header(c) for c in record]
    return len(cells) >= 2 and cells[0] in _SERIES_DATE and cells[1] in _SERIES_VALUE


class MetaDailySeries(ExportFormat):
    """Meta Business Suite → Insights → a chart's Export: one metric per day, per section.

    After the ``sep=,`` line comes a title (``"Facebook follows"``), a ``"Date","Primary"`` header and
    one row per day; a file may hold a Facebook and an Instagram section. Each day row becomes one
    account_day row with the titled metric set. Series with no account_day column (link clicks,
    earnings) are skipped row by row with that reason.
    """

    name = "meta_daily_series"
    platform = "facebook"
    grain = "one row per account per day per metric"
    entities = ("account_day",)
    key = ("platform", "day")
    description = "Meta Business Suite → Insights → Export chart (Follows.csv, Views.csv, …; UTF-16LE with sep=,)"

    def score(self, probe: Probe) -> float:
        if not probe.text:
            return 0.0
        try:
            head = list(itertools.islice(csv.reader(io.StringIO(probe.text[:4096], newline="")), 2))
        except csv.Error:  # a head the csv module cannot split is not this layout
            return 0.0
        return 0.95 if len(head) == 2 and len(head[0]) == 1 and _is_series_header(head[1]) else 0.0

    def explain_mismatch(self, probe: Probe) -> str:
        return "expected a title line then a \"Date\",\"Primary\" header"

    def documented_columns(self) -> list[tuple[str, str, str]]:
        rows = [("day", "Date / Fecha / Data (2025-08-01T00:00:00)", "date (required)")]
        return rows + [(column, f"Primary / Principal, in a section titled like /{pattern}/", "count")
                       for pattern, column in _SERIES_COLUMNS]

    def read(self, source: SourceFile) -> ReadResult:
        if not source.account_hint:
            raise ReadError(
                f"{source.name}: Meta Business Suite daily series do not name their page or account; drop them in "
                "a folder named after the account handle"
            )
        _, records = tabulate_csv(decode_text(source), source, header_rows=0)
        raw, skips = self._day_rows(records, source)
        refuse_spreadsheet_dates(source, raw, ("day",))
        typed, rejects = type_columns(raw, {"primary": "count"})
        days = pl.col("day").str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        typed, bad_days = check_datetimes(typed.with_columns(day=days), raw, "day", "a day like 2025-08-01T00:00:00")
        table, exported_at = self._account_days(typed, source)
        result = ReadResult(self.name, raw.height + len(skips), {"account_day": table},
                            sorted(rejects + bad_days, key=lambda r: r.source_row), skips, exported_at)
        result.check_accounting()
        return result

    def _day_rows(self, records: list[list[str]], source: SourceFile) -> tuple[pl.DataFrame, list[Skip]]:
        """Walk sections (title, header, day rows) into an all-text frame; rows are numbered 1.. as read."""
        cells: dict[str, list] = {"platform": [], "column": [], "day": [], "primary": [], "source_row": []}
        skips: list[Skip] = []
        title, number = "", 0
        for record in records:
            if not any(c.strip() for c in record) or _is_series_header(record):
                continue
            if len(record) == 1:
                title = record[0].strip()
                continue
            number += 1
            column = _series_column(title)
            if column is None:
                skips.append(Skip(number, f"series {title!r} has no account_day column"))
                continue
            for key, value in zip(cells, (_series_platform(title, source), column, record[0], record[1], number)):
                cells[key].append(value)
        schema = {name: pl.String for name in cells} | {"source_row": pl.Int64}
        return pl.DataFrame(cells, schema=schema), skips

    def _account_days(self, typed: pl.DataFrame, source: SourceFile) -> tuple[pl.DataFrame, datetime | None]:
        """One row per day row, its value in the column its section's title names."""
        window = window_from_name(source.name)
        last = window[1] if window else (last_day(typed["day"]) or source.date_hint)
        exported_at = end_of_day_utc(last) if last else None
        metrics = sorted({column for _, column in _SERIES_COLUMNS})
        rows = typed.with_columns(
            [pl.when(pl.col("column") == m).then(pl.col("primary")).alias(m) for m in metrics],
            account_handle=pl.lit(source.account_hint),
            exported_at=pl.lit(exported_at, UTC_INSTANT),
        )
        return select_entity_columns("account_day", rows), exported_at


# ---------------------------------------------------------------------------------------------
# Graph API responses

_ATTACHMENT_FORMATS = {
    "photo": "image", "cover_photo": "image", "profile_media": "image",
    "album": "carousel", "new_album": "carousel", "multi_share": "carousel",
    "video": "video", "video_inline": "video", "video_autoplay": "video", "animated_image_video": "video",
    "share": "text", "link": "text", "status": "text", "note": "text", "event": "text",
}
_STATUS_FORMATS = {
    "added_photos": "image", "added_video": "video", "shared_story": "text",
    "mobile_status_update": "text", "created_note": "text", "created_event": "text",
}
_ATTACHMENT_TYPE = "attachments.data[0].type"
_COMMENT_KEYS = {"comment_count", "like_count", "can_hide", "is_hidden", "parent", "attachment", "can_remove"}
_POST_PERMALINK = re.compile(r"facebook\.com/([^/?]+)/posts/(\d+)")
_COMMENT_IN_URL = re.compile(r"[?&]comment_id=(\d+)(?:&reply_comment_id=(\d+))?")


def _graph_kind(doc: object) -> str | None:
    """What a Facebook Graph API page holds: its paging edge says so; else the first item's keys do."""
    items = page_items(doc)
    if any("kind" in item or "timestamp" in item for item in items) or "timestamp" in paging_fields(doc):
        return None  # YouTube (kind) and Instagram (timestamp) pages
    summary = doc.get("summary") if isinstance(doc, dict) else None
    if isinstance(summary, dict) and "order" in summary:
        return "comment"  # only comment edges summarise their order, even on an empty page
    edge = paging_edge(doc)
    if edge and edge[1] in ("comments", "live_videos", "posts", "feed", "published_posts"):
        return {"comments": "comment", "live_videos": "live"}.get(edge[1], "post")
    if not items:
        return None
    first = items[0]
    if "live_views" in first or ("creation_time" in first and "status" in first):
        return "live"
    if "created_time" not in first:
        return None
    if _COMMENT_KEYS & set(first) or _COMMENT_IN_URL.search(str(first.get("permalink_url", ""))):
        return "comment"
    return "post"


class _GraphFormat(JsonFormat):
    """A Facebook Graph API edge: every page in the file holds items of ``kind``."""

    platform = "facebook"
    kind = ""

    def matches(self, docs: list[object]) -> bool:
        return bool(docs) and all(_graph_kind(doc) == self.kind for doc in docs)


class FacebookApiPosts(_GraphFormat):
    """Graph API ``/{page}/posts`` or ``/feed`` pages, or one post object: one row per post."""

    name = "facebook_api_posts"
    grain = "one row per post per file"
    entities = ("post",)
    entity = "post"
    key = ("post_id",)
    kind = "post"
    description = "Facebook Graph API /{page}/posts or /feed response, or a single post object (JSON)"
    fields = (
        Field("post_id", "id", "id", required=True),
        Field("account_id", "from.id", "id", note="after the id's prefix (<page>_<post>); else the paging URL"),
        Field("account_handle", "from.name", "text"),
        Field("post_url", "permalink_url", "text"),
        Field("published_at", "created_time", "instant", required=True),
        Field("text", "message", "text"),
        Field("post_type_raw", f"{_ATTACHMENT_TYPE}|status_type", "text"),
        Field("likes", "reactions.summary.total_count|likes.summary.total_count", "count"),
        Field("comments", "comments.summary.total_count", "count"),
        Field("shares", "shares.count", "count"),
    )

    def derived(self, item: dict, row: Record, edge: Edge | None) -> Record:
        """The page is the id's prefix (``<page>_<post>``), else ``from``, else the paging URL; the id
        stays as sent (a number is quarantined). The format is the attachment's, else the status's."""
        post_id = as_text(row["post_id"])
        page = row["account_id"] or (edge[0] if edge else None)
        attached = _ATTACHMENT_FORMATS.get(as_text(dig(item, _ATTACHMENT_TYPE)) or "")
        return {
            "account_id": post_id.split("_")[0] if post_id and "_" in post_id else page,
            "format": attached or _STATUS_FORMATS.get(as_text(item.get("status_type")) or ""),
        }

    def shape(self, typed: pl.DataFrame, source: SourceFile) -> pl.DataFrame:
        return typed.with_columns(platform=pl.lit("facebook"))


class FacebookApiComments(_GraphFormat):
    """Graph API ``/{post}/comments`` pages or one comment object; nested ``comments.data`` are replies."""

    name = "facebook_api_comments"
    grain = "one row per comment or reply per file"
    entities = ("comment",)
    entity = "comment"
    key = ("comment_id",)
    kind = "comment"
    description = "Facebook Graph API /{post}/comments response, or a single comment object (JSON)"
    fields = (
        Field("comment_id", "id", "id", required=True, note="else <post>_<comment_id> from permalink_url"),
        Field("post_id", "", "id", note="<page>_<post> from permalink_url, else the paging URL, else the id prefix"),
        Field("parent_comment_id", "parent.id", "id",
              note="else the enclosing comment, else comment_id= of a reply's permalink_url"),
        Field("author_id", "from.id", "id", note="only with a page token"),
        Field("author_name", "from.name", "text", note="only with a page token"),
        Field("text", "message", "text"),
        Field("created_at", "created_time", "instant", required=True),
        Field("like_count", "like_count", "count"),
        Field("reply_count", "comment_count", "count"),
        Field("is_hidden", "is_hidden", "bool"),
    )

    def records(self, docs: list[object], source: SourceFile) -> list[Record]:
        rows: list[Record] = []
        for item, edge in self.items(docs):
            self._walk(item, edge[0] if edge and edge[1] == "comments" else None, None, rows)
        return rows

    def _walk(self, item: object, post_id: str | None, parent: str | None, rows: list[Record]) -> None:
        """The comment, then its nested replies, in document order."""
        if not isinstance(item, dict):
            rows.append(not_an_object(item))
            return
        row = self.record(item)
        row |= _comment_ids(item, row, post_id, parent)
        rows.append(row)
        for reply in dig_entries(item, "comments.data"):
            self._walk(reply, as_text(row["post_id"]), as_text(row["comment_id"]), rows)

    def shape(self, typed: pl.DataFrame, source: SourceFile) -> pl.DataFrame:
        return typed.with_columns(platform=pl.lit("facebook"))


def _comment_ids(item: dict, row: Record, post_id: str | None, parent: str | None) -> Record:
    """A comment's ids in the Graph API's ``<post object>_<comment>`` form: from what its paths hold
    (``row``, kept as sent: an id sent as a number is quarantined), else its permalink, the page's post
    (``post_id``) and the enclosing comment."""
    url = str(item.get("permalink_url") or "")
    in_url = _COMMENT_IN_URL.search(url)
    on_post = _POST_PERMALINK.search(url)
    own_id = as_text(row["comment_id"])
    post_object = own_id.split("_")[0] if own_id and "_" in own_id else (on_post[2] if on_post else None)
    if own_id is None and in_url and post_object:
        own_id = f"{post_object}_{in_url[2] or in_url[1]}"
    if parent is None and in_url and in_url[2] and post_object:
        parent = f"{post_object}_{in_url[1]}"
    post = f"{on_post[1]}_{on_post[2]}" if on_post else post_id or post_object
    return {"comment_id": row["comment_id"] if as_text(row["comment_id"]) is not None else own_id, "post_id": post,
            "parent_comment_id": row["parent_comment_id"] if as_text(row["parent_comment_id"]) else parent}


class FacebookApiLiveVideos(_GraphFormat):
    """Graph API ``/{page}/live_videos`` pages: one post row per live video (format live)."""

    name = "facebook_api_live_videos"
    grain = "one row per live video per file"
    entities = ("post",)
    entity = "post"
    key = ("post_id",)
    kind = "live"
    description = (
        "Facebook Graph API /{page}/live_videos response (JSON); live_views counts viewers at the time of the "
        "request, so it is kept as views only while status is LIVE"
    )
    fields = (
        Field("post_id", "id", "id", required=True),
        Field("account_id", "", "id", note="the paging URL (/{page}/live_videos)"),
        Field("account_handle", "", "text", note="first segment of permalink_url"),
        Field("post_url", "permalink_url", "text", note="made absolute"),
        Field("published_at", "creation_time", "instant", required=True),
        Field("live_started_at", "broadcast_start_time", "instant"),
        Field("title", "title", "text"),
        Field("text", "description", "text"),
        Field("post_type_raw", "status", "text"),
        Field("views", "live_views", "count", note="only while status is LIVE"),
    )

    def derived(self, item: dict, row: Record, edge: Edge | None) -> Record:
        """The page from the paging URL; the handle from the relative permalink, made absolute; the
        viewers now watching are the views only while the video is live."""
        link = str(row["post_url"] or "")
        return {
            "account_id": edge[0] if edge else None,
            "account_handle": link.strip("/").split("/")[0] if link.startswith("/") else None,
            "post_url": f"https://www.facebook.com{link}" if link.startswith("/") else link or None,
            "views": row["views"] if row["post_type_raw"] == "LIVE" else None,
        }

    def shape(self, typed: pl.DataFrame, source: SourceFile) -> pl.DataFrame:
        return typed.with_columns(platform=pl.lit("facebook"), format=pl.lit("live"), is_live=pl.lit(True))


FORMATS: tuple[ExportFormat, ...] = (
    FacebookInsightsPosts(),
    FacebookInsightsVideoPosts(),
    FacebookInsightsPage(),
    FacebookBusinessSuitePosts(),
    MetaDailySeries(),
    FacebookApiPosts(),
    FacebookApiComments(),
    FacebookApiLiveVideos(),
)
