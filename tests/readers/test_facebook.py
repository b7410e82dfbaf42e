"""Facebook readers: legacy Page Insights, Meta Business Suite posts and daily series, Graph API JSON.

Expected values for the reference exports were read off the files themselves (csv module / json),
not from the readers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from readers import facebook, registry
from readers.base import ReadError, SourceFile
from tests.readers.helpers import counts, load, row, utc

ROOT = Path(__file__).resolve().parents[2]
LEGACY = (
    "facebook/insights_legacy/Facebook Insights Data Export{} - Visualization Studio VIC - 2015-08-19 - 2016-02-15.csv"
)


# ---------------------------------------------------------------------------------------------
# Reference exports


@pytest.mark.real_exports
def test_legacy_post_level_export(real_exports: Path) -> None:
    result = load(real_exports / LEGACY.format(" (Post Level)"))
    assert result.format == "facebook_insights_posts"
    assert counts(result) == (170, 170, 0, 0)
    photo = row(result, "post", "post_id", "518995791497187_1110323039031123")
    assert photo["published_at"] == utc(2016, 2, 14, 8, 40, 16)  # 02/14/2016 12:40:16 AM Pacific
    assert photo["source_timezone"] == "America/Los_Angeles"
    assert (photo["reach"], photo["impressions"], photo["likes"], photo["format"]) == (301, 537, 10, "image")
    assert (photo["account_id"], photo["account_handle"]) == ("518995791497187", "Visualization Studio VIC")
    assert photo["views"] is None and photo["comments"] is None  # empty cells are missing, not zero
    video = row(result, "post", "post_id", "518995791497187_1107861962610564")
    assert (video["format"], video["views"]) == ("video", 485)  # 485 organic + 0 paid, total counts
    assert (video["duration_s"], video["avg_watch_time_s"]) == pytest.approx((126.454, 30.674))  # from milliseconds
    mention = row(result, "post", "post_id", "518995791497187_1099456433451117")
    assert mention["format"] is None and mention["reach"] is None
    formats = dict(result.tables["post"]["format"].value_counts().iter_rows())
    assert formats == {"image": 103, "text": 42, "video": 24, None: 1}
    assert result.exported_at == utc(2016, 2, 16)


@pytest.mark.real_exports
def test_legacy_page_level_export(real_exports: Path) -> None:
    result = load(real_exports / LEGACY.format(""))
    assert result.format == "facebook_insights_page"
    assert counts(result) == (180, 180, 0, 0)
    days = result.tables["account_day"]
    assert (days["day"].min(), days["day"].max()) == (date(2015, 8, 19), date(2016, 2, 14))
    first = row(result, "account_day", "day", date(2015, 8, 19))
    assert (first["followers"], first["followers_gained"], first["followers_lost"]) == (771, 1, 0)
    assert (first["reach"], first["impressions"], first["engagements"], first["profile_views"], first["views"]) == (
        213, 590, 22, 15, 1
    )
    last = row(result, "account_day", "day", date(2016, 2, 14))
    assert (last["followers"], last["reach"], last["impressions"], last["profile_views"]) == (1094, 415, 1005, None)
    assert (last["account_handle"], last["platform"]) == ("Visualization Studio VIC", "facebook")


@pytest.mark.real_exports
def test_graph_api_feed_and_post_object(real_exports: Path) -> None:
    feed = load(real_exports / "facebook/graph_api/feed_fields_p1.json")
    assert feed.format == "facebook_api_posts"
    assert counts(feed) == (5, 5, 0, 0)
    first = row(feed, "post", "post_id", "4_10113477241177441")
    assert (first["account_id"], first["published_at"], first["text"]) == (
        "4", utc(2021, 7, 4, 19, 50, 58), "Happy July 4th! 🇺🇸"
    )
    assert feed.exported_at == utc(2021, 7, 4, 19, 50, 58)  # no date hint: the latest timestamp
    cgtn = load(real_exports / "facebook/graph_api/post_model_cgtn.json")
    assert counts(cgtn) == (1, 1, 0, 0)
    post = row(cgtn, "post", "post_id", "565225540184937_4018908568149933")
    assert (post["likes"], post["comments"], post["shares"], post["format"]) == (8878, 47, None, "carousel")
    assert post["published_at"] == utc(2020, 2, 18, 5, 20, 33)


@pytest.mark.real_exports
def test_graph_api_date_hint_dates_the_figures(real_exports: Path) -> None:
    result = load(real_exports / "facebook/graph_api/feed_fields_p1.json", date_hint=date(2021, 7, 10))
    assert result.exported_at == utc(2021, 7, 11)


@pytest.mark.real_exports
def test_graph_api_comments_flat_stream(real_exports: Path) -> None:
    result = load(real_exports / "facebook/graph_api/comments_p1.json")
    assert result.format == "facebook_api_comments"
    assert counts(result) == (10, 10, 0, 0)
    comments = result.tables["comment"]
    assert comments["post_id"].unique().to_list() == ["19292868552_10158407654328553"]
    assert comments["parent_comment_id"].is_not_null().sum() == 4
    top = row(result, "comment", "comment_id", "10158407654328553_10158407903973553")
    assert (top["reply_count"], top["created_at"]) == (2, utc(2021, 8, 10, 19, 38, 44))
    reply = row(result, "comment", "comment_id", "10158407654328553_10158409983033553")
    assert reply["parent_comment_id"] == "10158407654328553_10158407903973553"
    assert reply["author_id"] is None  # no page token, no `from`


@pytest.mark.real_exports
def test_graph_api_comment_object(real_exports: Path) -> None:
    result = load(real_exports / "facebook/graph_api/comment_model.json")
    assert counts(result) == (1, 1, 0, 0)
    comment = row(result, "comment", "comment_id", "2954961744718970_2966313500250461")
    assert comment["post_id"] == "2121008874780932_2954961744718970"
    assert (comment["author_id"], comment["author_name"], comment["is_hidden"]) == (
        "2711636948859886", "Kun Liu", False
    )
    assert comment["created_at"] == utc(2021, 7, 23, 8, 35, 18)


@pytest.mark.real_exports
def test_graph_api_live_videos(real_exports: Path) -> None:
    result = load(real_exports / "facebook/graph_api/live_videos_p1.json")
    assert result.format == "facebook_api_live_videos"
    assert counts(result) == (3, 3, 0, 0)
    live = row(result, "post", "post_id", "10160659411121729")
    assert (live["format"], live["is_live"], live["title"]) == ("live", True, "Fidji Simo X Kati Morton Live")
    assert (live["account_id"], live["account_handle"]) == ("20531316728", "facebookapp")
    assert live["post_url"] == "https://www.facebook.com/facebookapp/videos/4163439280375494/"
    assert live["views"] is None  # live_views is 0 once a broadcast is VOD: not a view count
    assert live["published_at"] == utc(2021, 4, 23, 14, 57, 11)


# ---------------------------------------------------------------------------------------------
# Fixtures: legacy Page Insights


def test_legacy_posts_two_header_rows_bom_duplicates_and_a_bad_value(fixtures: Path) -> None:
    path = fixtures / "facebook/Facebook Insights Data Export (Post Level) - Test Page - 2026-01-01 - 2026-01-31.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = load(path)
    assert result.format == "facebook_insights_posts"
    assert counts(result) == (4, 3, 1, 0)
    bad = result.rejects[0]
    assert (bad.source_row, bad.column, bad.value) == (4, "reach", "12x")
    video = row(result, "post", "post_id", "111_202")
    # first of each duplicated column is the Total Count: 100 organic + 20 paid, not the unique 80/15
    assert (video["views"], video["duration_s"], video["avg_watch_time_s"]) == (120, 65.0, 12.0)
    assert video["published_at"] == utc(2025, 7, 5, 4, 0)  # 9 PM Pacific daylight time
    assert video["text"] == "Night market video\nsecond line"
    photo = row(result, "post", "post_id", "111_201")
    assert photo["published_at"] == utc(2026, 1, 31, 7, 15)  # 11:15 PM Pacific standard time
    assert photo["views"] is None and photo["duration_s"] is None  # a photo's 0 ms is not a length
    status = row(result, "post", "post_id", "111_203")
    assert (status["format"], status["comments"], status["shares"], status["likes"]) == ("text", None, None, 4)
    assert result.exported_at == utc(2026, 2, 1)


def test_legacy_video_posts_variant(fixtures: Path) -> None:
    name = "Facebook Insights Data Export (Video Posts) - Test Page - 2026-01-01 - 2026-01-31.csv"
    result = load(fixtures / "facebook" / name)
    assert result.format == "facebook_insights_video_posts"
    assert counts(result) == (2, 2, 0, 0)
    video = row(result, "post", "post_id", "111_205")
    assert (video["format"], video["views"], video["duration_s"], video["avg_watch_time_s"]) == ("video", 44, 30.5, 9.5)


def test_legacy_page_level_crlf(fixtures: Path) -> None:
    path = fixtures / "facebook/Facebook Insights Data Export - Test Page - 2026-01-01 - 2026-01-03.csv"
    assert b"\r\n" in path.read_bytes()
    result = load(path)
    assert result.format == "facebook_insights_page"
    assert counts(result) == (3, 3, 0, 0)
    second = row(result, "account_day", "day", date(2026, 1, 2))
    assert (second["followers"], second["followers_gained"], second["followers_lost"]) == (1204, 6, 2)
    assert second["profile_views"] is None
    first = row(result, "account_day", "day", date(2026, 1, 1))
    assert first["profile_views"] == 25  # the first "Daily Logged-in Page Views" (Total Count), not 11 unique
    assert (first["account_handle"], first["platform"]) == ("Test Page", "facebook")
    assert result.exported_at == utc(2026, 1, 4)


def test_legacy_file_without_description_row_is_refused(fixtures: Path) -> None:
    path = fixtures / "facebook/Facebook Insights Data Export - Test Page - 2026-01-01 - 2026-01-03.csv"
    lines = path.read_bytes().split(b"\r\n")
    stripped = b"\r\n".join(lines[:1] + lines[2:])
    with pytest.raises(ReadError, match="second header row of metric descriptions"):
        registry.read(SourceFile(name=path.name, data=stripped))


def test_legacy_page_level_needs_the_page_name(fixtures: Path) -> None:
    path = fixtures / "facebook/Facebook Insights Data Export - Test Page - 2026-01-01 - 2026-01-03.csv"
    with pytest.raises(ReadError, match="page is named only in the file name"):
        registry.read(SourceFile(name="page_2026-01-01_2026-01-03.csv", data=path.read_bytes()))
    hinted = registry.read(
        SourceFile(name="page_2026-01-01_2026-01-03.csv", data=path.read_bytes(), account_hint="TestPage")
    )
    assert hinted.tables["account_day"]["account_handle"].unique().to_list() == ["TestPage"]


def test_legacy_spreadsheet_resave_is_refused(fixtures: Path) -> None:
    path = fixtures / "facebook/Facebook Insights Data Export (Post Level) - Test Page - 2026-02-01 - 2026-02-28.csv"
    with pytest.raises(ReadError, match="re-saved by a spreadsheet"):
        load(path)


# ---------------------------------------------------------------------------------------------
# Fixtures: Meta Business Suite


def test_business_suite_posts(fixtures: Path) -> None:
    result = load(fixtures / "facebook/Jan-01-2026_Jan-31-2026_1002003004.csv")
    assert result.format == "facebook_business_suite_posts"
    assert counts(result) == (4, 4, 0, 0)
    photo = row(result, "post", "post_id", "1827720132094663")
    assert photo["text"] == 'Lanterns over the river 🏮\nTonight only, "really".'
    assert (photo["format"], photo["duration_s"], photo["likes"], photo["engagements_reported"]) == (
        "image", None, 31, 40
    )
    assert photo["published_at"] == utc(2026, 1, 29, 2, 12)  # 01/28/2026 18:12 Pacific
    assert (photo["account_id"], photo["account_handle"], photo["custom_labels"]) == (
        "100064548282347", "Test City", "asset:lanterns"
    )
    reel = row(result, "post", "post_id", "1827720132094664")
    assert (reel["format"], reel["duration_s"], reel["watch_time_h"], reel["avg_watch_time_s"]) == (
        "short_video", 58.0, 10.0, 6.7
    )
    live = row(result, "post", "post_id", "1827720132094665")
    assert (live["format"], live["is_live"], live["views"]) == ("live", True, 800)
    link = row(result, "post", "post_id", "1827720132094666")
    assert (link["format"], link["views"], link["reach"]) == ("text", None, 150)  # "-" is missing
    assert result.exported_at == utc(2026, 2, 1)


def test_business_suite_spreadsheet_dates_are_refused(fixtures: Path) -> None:
    with pytest.raises(ReadError, match="'3-Jun-26'.*re-saved by a spreadsheet"):
        load(fixtures / "facebook/resaved/Jan-01-2026_Jan-31-2026_1002003004.csv")


def test_business_suite_export_needs_its_window(fixtures: Path) -> None:
    data = (fixtures / "facebook/Jan-01-2026_Jan-31-2026_1002003004.csv").read_bytes()
    with pytest.raises(ReadError, match="cannot tell when"):
        registry.read(SourceFile(name="posts.csv", data=data))
    dated = registry.read(SourceFile(name="posts.csv", data=data, date_hint=date(2026, 2, 3)))
    assert dated.exported_at == utc(2026, 2, 4)


def test_daily_series_utf16_with_sep_line(fixtures: Path) -> None:
    path = fixtures / "facebook/series/Follows.csv"
    assert path.read_bytes().startswith(b"\xff\xfes\x00e\x00p\x00=\x00,\x00")
    result = load(path, account_hint="iChongqing")
    assert result.format == "meta_daily_series"
    assert counts(result) == (3, 2, 1, 0)
    assert (result.rejects[0].source_row, result.rejects[0].value) == (2, "x")
    first = row(result, "account_day", "day", date(2026, 1, 1))
    assert (first["platform"], first["followers_gained"], first["account_handle"]) == ("facebook", 12, "iChongqing")
    assert result.exported_at == utc(2026, 1, 4)


def test_daily_series_sections_per_platform_and_unmapped_series(fixtures: Path) -> None:
    reach = load(fixtures / "facebook/series/Reach.csv", account_hint="iChongqing")
    assert counts(reach) == (4, 4, 0, 0)
    by_platform = reach.tables["account_day"].group_by("platform").agg(pl.col("reach").sum()).sort("platform")
    assert by_platform.rows() == [("facebook", 1560), ("instagram", 805)]
    clicks = load(fixtures / "facebook/series/Link clicks.csv", account_hint="iChongqing")
    assert counts(clicks) == (2, 0, 0, 2)
    assert "no account_day column" in clicks.skips[0].reason


def test_daily_series_needs_an_account(fixtures: Path) -> None:
    with pytest.raises(ReadError, match="folder named after the account handle"):
        load(fixtures / "facebook/series/Follows.csv")


# ---------------------------------------------------------------------------------------------
# Fixtures: Graph API


def test_graph_feed_formats_counts_and_a_bad_count(fixtures: Path) -> None:
    result = load(fixtures / "facebook/graph/feed_p1.json")
    assert result.format == "facebook_api_posts"
    assert counts(result) == (3, 2, 1, 0)
    assert (result.rejects[0].source_row, result.rejects[0].column, result.rejects[0].value) == (2, "likes", "many")
    photo = row(result, "post", "post_id", "100064548282347_901")
    assert (photo["format"], photo["likes"], photo["comments"], photo["shares"]) == ("image", 31, 5, 4)
    assert (photo["account_id"], photo["account_handle"]) == ("100064548282347", "Test City")
    assert row(result, "post", "post_id", "100064548282347_903")["format"] == "text"


def test_graph_nested_replies_hidden_and_authors(fixtures: Path) -> None:
    result = load(fixtures / "facebook/graph/comments_nested.json")
    assert result.format == "facebook_api_comments"
    assert counts(result) == (4, 3, 1, 0)
    assert (result.rejects[0].source_row, result.rejects[0].value) == (4, "lots")
    comments = result.tables["comment"]
    assert comments["post_id"].unique().to_list() == ["100064548282347_901"]
    reply = row(result, "comment", "comment_id", "901_5002")
    assert (reply["parent_comment_id"], reply["author_id"], reply["author_name"]) == (
        "901_5001", "100064548282347", "Test City"
    )
    hidden = row(result, "comment", "comment_id", "901_5003")
    assert (hidden["is_hidden"], hidden["author_id"]) == (True, None)
    top = row(result, "comment", "comment_id", "901_5001")
    assert (top["parent_comment_id"], top["reply_count"], top["like_count"]) == (None, 2, 3)


def test_graph_live_video_while_live(fixtures: Path) -> None:
    result = load(fixtures / "facebook/graph/live_videos_live.json")
    assert counts(result) == (2, 2, 0, 0)
    live = row(result, "post", "post_id", "555001")
    assert (live["views"], live["live_started_at"], live["account_id"]) == (42, utc(2026, 1, 15, 19), "100064548282347")
    assert row(result, "post", "post_id", "555000")["views"] is None


def test_graph_empty_comment_page_is_read_as_nothing() -> None:
    page = b'{"data": [], "summary": {"order": "chronological", "total_count": 0, "can_comment": true}}'
    result = registry.read(SourceFile(name="comments_100064548282347_904_p1.json", data=page))
    assert (result.format, counts(result), result.exported_at) == ("facebook_api_comments", (0, 0, 0, 0), None)


# ---------------------------------------------------------------------------------------------
# Shared behaviour


@pytest.mark.parametrize(
    ("label", "expected"),
    [("Photo", "image"), ("SharedVideo", "video"), ("Link", "text"), ("Status", "text"), ("Reels", "short_video"),
     ("Live", "live"), ("IG carousel", "carousel"), ("Secuencia de Instagram", "carousel"),
     ("Imagen de Instagram", "image"), ("Reel de Instagram", "short_video"), ("Carrossel do Instagram", "carousel"),
     ("IG story", None)],
)
def test_meta_post_types_map_to_canonical_formats(label: str, expected: str | None) -> None:
    assert pl.select(facebook.meta_format(pl.lit(label))).item() == expected


def test_format_table_documents_every_facebook_format() -> None:
    doc = (ROOT / "docs/formats/facebook_instagram_youtube.md").read_text(encoding="utf-8")
    for fmt in facebook.FORMATS:
        assert f"## `{fmt.name}`" in doc
        for column, headers, kind in fmt.documented_columns():
            assert f"| `{column}` | {headers} | {kind} |" in doc, (fmt.name, column)


def test_an_id_written_as_a_json_number_is_quarantined_with_the_reason(fixtures: Path) -> None:
    # Platforms send ids as strings; a number means a program rewrote the dump and may have rounded it.
    import json

    thread = json.loads((fixtures / "facebook/graph/comments_nested.json").read_text(encoding="utf-8"))
    thread["data"][0]["comments"]["data"][0]["from"]["id"] = 1.5e17
    result = registry.read(SourceFile("comments.json", json.dumps(thread).encode()))
    [numbered] = [r for r in result.rejects if r.column == "author_id"]
    assert numbered.source_row == 2 and numbered.value == "1.5e+17" and "JSON number, not text" in numbered.reason
    assert "901_5002" not in result.tables["comment"]["comment_id"].to_list()
