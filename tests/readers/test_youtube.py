"""YouTube readers: Studio advanced-mode exports (Content, Date, Geography) and Data API v3 JSON.

Expected values for the reference exports were read off the files themselves (csv module / json),
not from the readers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from readers import registry, youtube
from readers.base import ReadError, SourceFile
from tests.readers.helpers import counts, load, row, utc

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# Reference exports: Studio, Geography dimension


@pytest.mark.real_exports
def test_studio_geography_table_with_its_download(real_exports: Path) -> None:
    result = load(real_exports / "youtube/studio/Table data.csv", companions=True, account_hint="CodingTrain")
    assert result.format == "youtube_studio_geography"
    assert counts(result) == (202, 201, 0, 1)
    assert result.skips[0].source_row == 1 and "Total" in result.skips[0].reason
    us = row(result, "audience", "value", "US")
    assert (us["views"], us["avg_watch_time_s"], us["watch_time_h"]) == (2638475, 342.0, 250689.3897)
    assert (us["dimension"], us["window_start"], us["window_end"]) == (
        "country", date(2020, 12, 31), date(2021, 12, 30)
    )
    assert (us["platform"], us["account_handle"], us["post_id"]) == ("youtube", "CodingTrain", None)
    assert result.tables["audience"]["avg_watch_time_s"].null_count() == 9  # empty = no data
    assert result.exported_at == utc(2021, 12, 31)


@pytest.mark.real_exports
def test_studio_table_without_channel_is_refused(real_exports: Path) -> None:
    with pytest.raises(ReadError, match="drop Studio exports in a folder named after the channel handle"):
        load(real_exports / "youtube/studio/Table data.csv", companions=True)


@pytest.mark.real_exports
def test_studio_table_without_window_is_refused(real_exports: Path) -> None:
    with pytest.raises(ReadError, match="cannot tell which days"):
        load(real_exports / "youtube/studio/Table data.csv", account_hint="CodingTrain")


@pytest.mark.real_exports
def test_studio_geography_chart_per_day(real_exports: Path) -> None:
    result = load(real_exports / "youtube/studio/Chart data.csv", account_hint="CodingTrain")
    assert result.format == "youtube_studio_geography_daily"
    assert counts(result) == (73365, 73365, 0, 0)
    audience = result.tables["audience"]
    assert audience["value"].n_unique() == 201
    assert (audience["window_start"] == audience["window_end"]).all()
    us = audience.filter((pl.col("value") == "US") & (pl.col("window_start") == date(2021, 6, 1))).to_dicts()
    assert [r["views"] for r in us] == [5510]


@pytest.mark.real_exports
def test_studio_totals_per_day(real_exports: Path) -> None:
    result = load(real_exports / "youtube/studio/Totals.csv", account_hint="CodingTrain")
    assert result.format == "youtube_studio_daily"
    assert counts(result) == (365, 365, 0, 0)
    days = result.tables["account_day"]
    assert row(result, "account_day", "day", date(2021, 6, 1))["views"] == 34822
    assert days["views"].sum() == 15503810  # equals the Total row of the Geography table
    assert days["account_handle"].unique().to_list() == ["CodingTrain"]
    assert result.exported_at == utc(2021, 12, 31)


# ---------------------------------------------------------------------------------------------
# Reference exports: Data API


@pytest.mark.real_exports
def test_data_api_videos(real_exports: Path) -> None:
    result = load(real_exports / "youtube/data_api/video_api_response.json")
    assert result.format == "youtube_api_videos"
    assert counts(result) == (1, 1, 0, 0)
    video = row(result, "post", "post_id", "D-lhorsDlUQ")
    assert (video["views"], video["likes"], video["comments"], video["duration_s"]) == (7920, 190, 32, 1267.0)
    assert (video["published_at"], video["language_raw"], video["format"], video["is_live"]) == (
        utc(2019, 3, 21, 20, 37, 49), "en", "video", False
    )
    assert (video["account_id"], video["account_handle"]) == ("UC_x5XG1OV2P6uZZ5FSM9Ttw", "Google Developers")


@pytest.mark.real_exports
def test_data_api_comment_threads(real_exports: Path) -> None:
    result = load(real_exports / "youtube/data_api/comment_threads_by_video_paged_1.json")
    assert result.format == "youtube_api_comment_threads"
    assert counts(result) == (5, 5, 0, 0)
    assert result.tables["comment"]["post_id"].unique().to_list() == ["F1UP7wRCPH8"]
    html = row(result, "comment", "comment_id", "UgwI_ylXVnzPS8Q-oAV4AaABAg")
    assert html["text"].startswith("Lot's of good light coming in from here #ChromeDevSummit")  # textOriginal, not HTML
    assert (html["reply_count"], html["author_id"]) == (2, "UCACHW4qVHoE4zqhHxcVE3Kw")
    assert row(result, "comment", "comment_id", "UgysQP-vp089eFP0Stl4AaABAg")["like_count"] == 4


@pytest.mark.real_exports
def test_data_api_comments_by_parent(real_exports: Path) -> None:
    result = load(real_exports / "youtube/data_api/comments_by_parent_paged_1.json")
    assert result.format == "youtube_api_comments"
    assert counts(result) == (2, 2, 0, 0)
    reply = row(result, "comment", "comment_id", "Ugw5zYU6n9pmIgAZWvN4AaABAg.91zT3cYb5B291za6voUoRh")
    assert (reply["parent_comment_id"], reply["post_id"]) == ("Ugw5zYU6n9pmIgAZWvN4AaABAg", None)
    assert (reply["text"], reply["created_at"]) == ("this is the third reply!", utc(2019, 12, 1, 4, 46, 31))


# ---------------------------------------------------------------------------------------------
# Fixtures: Studio


def test_studio_content_table_quirks(fixtures: Path) -> None:
    result = load(fixtures / "youtube/iChongqing/content/Table data.csv", companions=True, account_hint="iChongqing")
    assert result.format == "youtube_studio_content"
    assert counts(result) == (5, 3, 1, 1)
    assert (result.skips[0].source_row, result.rejects[0].column, result.rejects[0].value) == (1, "views", "1O0")
    spaced = row(result, "post", "post_id", "-k3XhT9pQ2w")  # written " -k3XhT9pQ2w"
    assert (spaced["published_at"], spaced["avg_watch_time_s"], spaced["format"]) == (utc(2025, 8, 28), 270.0, "video")
    assert spaced["post_url"] == "https://www.youtube.com/watch?v=-k3XhT9pQ2w"
    live = row(result, "post", "post_id", "Zy7Qm1Vb2Xc")
    assert live["published_at"] is None  # empty publish time
    assert (live["new_followers"], live["avg_watch_time_s"]) == (-3, 3723.0)  # negative subscribers, H:MM:SS
    assert (live["is_live"], live["format"], live["peak_concurrent_viewers"], live["avg_concurrent_viewers"]) == (
        True, "live", 120, 46
    )
    assert (live["avg_pct_viewed"], live["watch_time_h"]) == (52.0, 450.75)
    assert result.exported_at == utc(2026, 2, 1)  # window from the companion Totals.csv


def test_studio_without_account_hint_is_refused_clearly(fixtures: Path) -> None:
    with pytest.raises(ReadError, match="drop Studio exports in a folder named after the channel handle"):
        load(fixtures / "youtube/iChongqing/content/Table data.csv", companions=True)


def test_studio_table_window_from_date_hint(fixtures: Path) -> None:
    path = fixtures / "youtube/iChongqing/content/Table data.csv"
    result = load(path, account_hint="iChongqing", date_hint=date(2026, 2, 2))
    assert result.exported_at == utc(2026, 2, 3)


def test_studio_content_chart_rows_are_skipped(fixtures: Path) -> None:
    result = load(fixtures / "youtube/iChongqing/content/Chart data.csv", account_hint="iChongqing")
    assert result.format == "youtube_studio_content_daily"
    assert counts(result) == (2, 0, 0, 2)


def test_studio_date_table(fixtures: Path) -> None:
    result = load(fixtures / "youtube/iChongqing/date/Table data.csv", account_hint="iChongqing")
    assert result.format == "youtube_studio_daily"
    assert counts(result) == (4, 3, 0, 1)
    day = row(result, "account_day", "day", date(2026, 1, 2))
    assert (day["views"], day["followers_gained"], day["followers_lost"]) == (900, 8, 9)
    assert result.exported_at == utc(2026, 1, 4)


def test_studio_geography_chart_fixture(fixtures: Path) -> None:
    result = load(fixtures / "youtube/iChongqing/geography/Chart data.csv", account_hint="iChongqing")
    assert counts(result) == (4, 4, 0, 0)
    gb = result.tables["audience"].filter((pl.col("value") == "GB") & (pl.col("window_end") == date(2026, 1, 2)))
    assert gb["views"].to_list() == [None]


def test_other_platforms_daily_files_are_not_studio_files() -> None:
    x_like = b"Post id,Date,Post text,Post Link,Views,Likes\n1,2025-11-09,Hello,https://x.com/a/status/1,10,1\n"
    assert youtube.StudioDaily().score(registry.probe(SourceFile(name="x.csv", data=x_like))) == 0.0


# ---------------------------------------------------------------------------------------------
# Fixtures: Data API


def test_data_api_live_video_hidden_likes_and_a_bad_count(fixtures: Path) -> None:
    result = load(fixtures / "youtube/api/videos_live.json")
    assert counts(result) == (3, 2, 1, 0)
    assert (result.rejects[0].source_row, result.rejects[0].value) == (3, "12k")
    live = row(result, "post", "post_id", "Zy7Qm1Vb2Xc")
    assert (live["is_live"], live["format"], live["duration_s"], live["likes"]) == (True, "live", 3723.0, None)
    assert (live["live_started_at"], live["live_ended_at"]) == (utc(2026, 1, 15, 11, 0, 5), utc(2026, 1, 15, 12, 2, 8))
    assert live["language_raw"] == "zh-Hans"
    assert row(result, "post", "post_id", "Ab3Cd4Ef5Gh")["format"] == "video"
    assert result.exported_at == utc(2026, 1, 15, 12, 2, 8)


def test_data_api_thread_replies(fixtures: Path) -> None:
    result = load(fixtures / "youtube/api/comment_threads_replies.json")
    assert counts(result) == (3, 3, 0, 0)
    top = row(result, "comment", "comment_id", "UgxTop1")
    assert (top["text"], top["reply_count"], top["parent_comment_id"]) == ("Love it & more\nwow", 2, None)
    reply = row(result, "comment", "comment_id", "UgxTop1.r2")
    assert (reply["parent_comment_id"], reply["post_id"]) == ("UgxTop1", "Ab3Cd4Ef5Gh")
    assert reply["text"] == "Me & my family too"  # only textDisplay: HTML removed


def test_format_table_documents_every_youtube_format() -> None:
    doc = (ROOT / "docs/formats/facebook_instagram_youtube.md").read_text(encoding="utf-8")
    for fmt in youtube.FORMATS:
        assert f"## `{fmt.name}`" in doc
        for column, headers, kind in fmt.documented_columns():
            assert f"| `{column}` | {headers} | {kind} |" in doc, (fmt.name, column)
