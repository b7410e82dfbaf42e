"""X readers: the real exports as downloaded, and small fixtures for every quirk of every layout."""

from __future__ import annotations

import re

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from readers import registry
from readers.base import ReadError, ReadResult, SourceFile, UnknownFormat

UTC = timezone.utc
DOCS = Path(__file__).resolve().parents[2] / "docs" / "formats" / "x_tiktok_search.md"


def read(path: Path, **hints: object) -> ReadResult:
    return registry.read(SourceFile(path.name, path.read_bytes(), **hints))  # type: ignore[arg-type]


def counts(result: ReadResult) -> tuple[str, int, int, int, int]:
    return result.format, result.rows_read, result.rows_loaded, len(result.rejects), len(result.skips)


def snowflake_utc(post_id: int) -> datetime:
    """Written out here from X's id layout, independently of the reader: ms since 2010-11-04 in the top bits."""
    return datetime.fromtimestamp(((post_id >> 22) + 1288834974657) / 1000, UTC)


# ---------------------------------------------------------------------------------------------
# Real exports


@pytest.mark.real_exports
@pytest.mark.parametrize(
    ("relative", "hints", "expected"),
    [
        ("x/legacy/tweet_activity_metrics_rOpenSci_20161201_20170101_en.csv", {}, ("x_tweet_activity", 37, 37, 0, 0)),
        ("x/legacy/daily_tweet_activity_metrics_LisaDeBruine_20211201_20220101_en.csv", {}, ("x_daily_activity", 31, 31, 0, 0)),
        ("x/content/account_analytics_content_2024-11-21_2025-02-19.csv", {}, ("x_content", 141, 141, 0, 0)),
        ("x/overview/account_overview_analytics.csv", {"account_hint": "koe_demo"}, ("x_overview", 7, 7, 0, 0)),
        ("x/api_v2/kpop.jsonl", {}, ("x_api_v2", 100, 100, 0, 0)),
        ("x/api_v2/two_tweets.jsonl", {}, ("x_api_v2", 1, 1, 0, 0)),
    ],
)
def test_real_export_counts(real_exports: Path, relative: str, hints: dict, expected: tuple) -> None:
    assert counts(read(real_exports / relative, **hints)) == expected


@pytest.mark.real_exports
def test_real_legacy_tweet_activity(real_exports: Path) -> None:
    result = read(real_exports / "x/legacy/tweet_activity_metrics_rOpenSci_20161201_20170101_en.csv")
    posts = result.tables["post"]
    first = posts.row(0, named=True)
    assert first["post_id"] == "812369747765362688"
    assert first["account_handle"] == "rOpenSci"
    assert first["published_at"] == datetime(2016, 12, 23, 18, 50, tzinfo=UTC)
    assert (first["impressions"], first["engagements_reported"], first["likes"], first["clicks"]) == (1938, 18, 1, 15)
    last = posts.row(-1, named=True)
    assert (last["post_id"], last["impressions"]) == ("804384576932081664", 3755)
    assert last["published_at"] == datetime(2016, 12, 1, 18, 0, tzinfo=UTC)
    assert not posts["text"].str.contains("&amp;").any()
    # The name's end (20170101) is the day after the window: figures are true at the end of December 31.
    assert result.exported_at == datetime(2017, 1, 1, tzinfo=UTC)


@pytest.mark.real_exports
def test_real_legacy_daily_names_its_account_in_the_file_name(real_exports: Path) -> None:
    result = read(real_exports / "x/legacy/daily_tweet_activity_metrics_LisaDeBruine_20211201_20220101_en.csv")
    days = result.tables["account_day"]
    assert set(days["account_handle"]) == {"LisaDeBruine"}
    first = days.row(0, named=True)
    assert first["day"] == date(2021, 12, 1)
    assert (first["posts_published"], first["impressions"], first["engagements"]) == (4, 20300, 501)
    assert (first["shares"], first["comments"], first["likes"], first["profile_views"]) == (30, 4, 131, 54)
    assert days.row(-1, named=True)["day"] == date(2021, 12, 31)
    assert days.row(-1, named=True)["impressions"] == 9764


@pytest.mark.real_exports
def test_real_content_export(real_exports: Path) -> None:
    result = read(real_exports / "x/content/account_analytics_content_2024-11-21_2025-02-19.csv")
    posts = result.tables["post"]
    first = posts.row(0, named=True)
    assert (first["post_id"], first["account_handle"], first["impressions"], first["likes"]) == (
        "1891564128784855141", "Wormhole_BR", 70, 3,
    )
    assert first["published_at"] == snowflake_utc(1891564128784855141)
    assert first["published_at"].date() == date(2025, 2, 17)
    last = posts.row(-1, named=True)
    assert (last["post_id"], last["impressions"], last["likes"], last["comments"]) == ("1874078422043127856", 174, 13, 9)
    assert result.exported_at == datetime(2025, 2, 20, tzinfo=UTC)


@pytest.mark.real_exports
def test_real_overview_needs_the_account_from_the_folder(real_exports: Path) -> None:
    path = real_exports / "x/overview/account_overview_analytics.csv"
    with pytest.raises(ReadError, match="handle"):
        read(path)
    days = read(path, account_hint="koe_demo").tables["account_day"]
    newest = days.row(0, named=True)
    assert (newest["day"], newest["impressions"], newest["engagements"], newest["followers_gained"]) == (
        date(2025, 8, 26), 444, 29, 1,
    )
    assert days.row(-1, named=True)["day"] == date(2025, 8, 20)
    assert days.row(-1, named=True)["impressions"] == 468


@pytest.mark.real_exports
def test_real_api_pages(real_exports: Path) -> None:
    result = read(real_exports / "x/api_v2/kpop.jsonl")
    first = result.tables["post"].row(0, named=True)
    assert (first["post_id"], first["account_id"], first["account_handle"]) == (
        "1440717170493689866", "1433267766912557062", "ximerios12_",
    )
    assert first["published_at"] == datetime(2021, 9, 22, 16, 38, 35, tzinfo=UTC)
    assert (first["shares"], first["likes"], first["language_raw"], first["impressions"]) == (20, 0, "es", None)
    assert result.tables["comment"].height == 0
    assert result.exported_at == datetime(2021, 9, 22, 16, 39, tzinfo=UTC)
    assert any("1 API error" in note for note in result.notes)

    single = read(real_exports / "x/api_v2/two_tweets.jsonl").tables["post"].row(0, named=True)
    assert (single["post_id"], single["account_handle"], single["post_type_raw"]) == (
        "1394735776701816833", "LachiVeronica", "retweeted",
    )
    assert single["published_at"] == datetime(2021, 5, 18, 19, 24, 56, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Fixtures


def test_content_2025_headers_phantom_and_quarantine(fixtures: Path) -> None:
    result = read(fixtures / "x/account_analytics_content_2025-10-12_2025-11-10.csv")
    assert counts(result) == ("x_content", 4, 2, 1, 1)
    assert result.skips[0].source_row == 2 and "phantom" in result.skips[0].reason
    reject = result.rejects[0]
    assert (reject.source_row, reject.column, reject.value) == (3, "engagements_reported", "12x")
    posts = result.tables["post"]
    first = posts.row(0, named=True)
    assert first["published_at"] == datetime(2025, 11, 9, 15, 4, 5, tzinfo=UTC)
    assert (first["impressions"], first["clicks"], first["shares"]) == (1204, 12, 7)  # "1,204"; URL Clicks; Reposts
    assert first["text"].startswith("Harbour festival tonight & tomorrow") and "bring a friend" in first["text"]
    assert posts.row(1, named=True)["likes"] is None  # "-" is missing, not zero
    assert result.exported_at == datetime(2025, 11, 11, tzinfo=UTC)


def test_content_japanese_headers(fixtures: Path) -> None:
    result = read(fixtures / "x/account_analytics_content_ja_2025-11-01_2025-11-09.csv")
    assert counts(result) == ("x_content", 2, 2, 0, 0)
    first = result.tables["post"].row(0, named=True)
    assert (first["account_handle"], first["impressions"], first["likes"], first["saves"]) == ("cityimage_jp", 2048, 64, 5)
    assert first["post_url"] == "https://x.com/cityimage_jp/status/1987536676582330375"


def test_spreadsheet_resave_is_refused(fixtures: Path) -> None:
    with pytest.raises(ReadError, match="spreadsheet"):
        read(fixtures / "x/account_analytics_content_2025-01-01_2025-01-31_resaved.csv")


@pytest.mark.parametrize("rewritten", ["6,49E+17", "6.49E17", "6,49e17", "1.98754E+18"])
def test_every_spelling_of_a_rewritten_id_is_refused(fixtures: Path, rewritten: str) -> None:
    path = fixtures / "x/account_analytics_content_2025-01-01_2025-01-31_resaved.csv"
    data = path.read_text(encoding="utf-8").replace("1.98754E+18", f'"{rewritten}"', 1).encode()
    with pytest.raises(ReadError, match=rf"row 1, column 'post_id' holds '{re.escape(rewritten)}'.*spreadsheet"):
        registry.read(SourceFile(path.name, data))


def test_content_without_window_or_date_folder_is_refused(fixtures: Path) -> None:
    data = (fixtures / "x/account_analytics_content_ja_2025-11-01_2025-11-09.csv").read_bytes()
    with pytest.raises(ReadError, match="YYYY-MM-DD"):
        registry.read(SourceFile("export.csv", data))
    assert registry.read(SourceFile("export.csv", data, date_hint=date(2025, 11, 10))).exported_at == datetime(
        2025, 11, 11, tzinfo=UTC
    )


def test_legacy_tweet_activity_fixture(fixtures: Path) -> None:
    result = read(fixtures / "x/tweet_activity_metrics_cityimage_demo_20161201_20170101_en.csv")
    assert counts(result) == ("x_tweet_activity", 3, 2, 1, 0)
    assert (result.rejects[0].column, result.rejects[0].value) == ("published_at", "yesterday")
    first, second = result.tables["post"].to_dicts()
    assert first["text"] == "Old town walking tour & map https://t.co/abc"
    assert (first["impressions"], first["engagements_reported"], first["shares"], first["clicks"]) == (1938, 18, 2, None)
    assert second["text"] == "Line one\nline two of the same tweet"
    assert second["published_at"] == datetime(2016, 12, 19, 7, 5, tzinfo=UTC)


def test_legacy_daily_is_not_mistaken_for_the_tweet_export(fixtures: Path) -> None:
    result = read(fixtures / "x/daily_tweet_activity_metrics_cityimage_demo_20161201_20170101_en.csv")
    assert counts(result) == ("x_daily_activity", 2, 2, 0, 0)
    first = result.tables["account_day"].row(0, named=True)
    assert (first["account_handle"], first["day"], first["posts_published"], first["followers_gained"]) == (
        "cityimage_demo", date(2016, 12, 30), 2, 2,
    )


def test_overview_newest_first_without_trailing_newline(fixtures: Path) -> None:
    result = read(fixtures / "x/account_overview_analytics.csv", account_hint="cityimage_demo")
    assert counts(result) == ("x_overview", 4, 3, 1, 0)
    assert (result.rejects[0].source_row, result.rejects[0].value) == (3, "Mon, Foo 30, 2024")
    days = result.tables["account_day"]
    assert days["day"].to_list() == [date(2025, 1, 1), date(2024, 12, 31), date(2024, 12, 29)]
    assert days.row(1, named=True)["views"] is None
    assert (days.row(0, named=True)["followers_lost"], days.row(0, named=True)["shares"]) == (1, 4)
    assert result.exported_at == datetime(2025, 1, 2, tzinfo=UTC)


def test_api_pages_posts_replies_errors_and_duplicates(fixtures: Path) -> None:
    result = read(fixtures / "x/api_v2_search.jsonl")
    assert counts(result) == ("x_api_v2", 6, 4, 1, 1)
    assert (result.rejects[0].source_row, result.rejects[0].value) == (6, "yesterday")
    assert result.skips[0].source_row == 5
    assert result.notes == ["1 API error entries (not tweets): Forbidden: User has been suspended: [spam_account]."]
    assert result.exported_at == datetime(2025, 12, 16, 8, 0, 5, tzinfo=UTC)
    post, retweet = result.tables["post"].to_dicts()
    assert (post["post_id"], post["account_handle"], post["format"], post["text"]) == (
        "2000506114667450375", "cityimage_demo", "carousel", "Winter lights & music on the quay",
    )
    assert (post["impressions"], post["saves"], post["shares"], post["comments"], post["quotes"]) == (1200, 5, 3, 2, 1)
    assert (retweet["post_type_raw"], retweet["format"], retweet["impressions"]) == ("retweeted", "video", None)
    reply, nested = result.tables["comment"].to_dicts()
    assert (reply["post_id"], reply["parent_comment_id"], reply["author_name"], reply["language_raw"]) == (
        "2000506114667450375", None, "visitor_anna", "de",
    )
    assert (nested["post_id"], nested["parent_comment_id"], nested["author_id"]) == (
        "2000506114667450375", "2000506114667450400", "100",
    )


def test_plain_api_response(fixtures: Path) -> None:
    path = fixtures / "x/api_v2_response.json"
    result = read(path)
    assert counts(result) == ("x_api_v2", 2, 1, 1, 0)
    assert (result.rejects[0].column, result.rejects[0].value) == ("likes", "many")
    assert result.exported_at == datetime(2021, 5, 18, 19, 24, 56, tzinfo=UTC)  # no retrieval time: newest tweet
    assert read(path, date_hint=date(2021, 5, 20)).exported_at == datetime(2021, 5, 21, tzinfo=UTC)


def test_unknown_layout_names_the_closest_format(fixtures: Path) -> None:
    with pytest.raises(UnknownFormat, match=r"x_content.*missing 'Impressions'"):
        read(fixtures / "x/unknown_layout.csv")


def test_formats_are_documented() -> None:
    from readers import x

    text = DOCS.read_text(encoding="utf-8")
    for fmt in x.FORMATS:
        assert f"`{fmt.name}`" in text
        for target, _, _ in fmt.documented_columns():
            assert f"`{target}`" in text


def test_a_repeated_metric_header_is_refused_naming_both_columns(fixtures: Path) -> None:
    # Which "Likes" holds the figure cannot be told: loading the first silently was a guess.
    path = fixtures / "x/account_analytics_content_2025-10-12_2025-11-10.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    doubled = [lines[0] + ",Likes"] + [line + ",7" for line in lines[1:] if line]
    with pytest.raises(ReadError, match=r"columns 6 and \d+ both hold 'Likes'.*cannot be told"):
        registry.read(SourceFile(path.name, "\n".join(doubled).encode()))
