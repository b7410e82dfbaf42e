"""TikTok Studio readers: year-less dates resolved against the export date, `undefined`, the account."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from readers import registry
from readers.base import ReadError, ReadResult, SourceFile
from readers.tiktok import resolve_series

UTC = timezone.utc
DOCS = Path(__file__).resolve().parents[2] / "docs" / "formats" / "x_tiktok_search.md"
REAL_EXPORT_DAY = date(2026, 2, 28)  # the "Time" column of the real Content.csv says "February 28"
FIXTURE_EXPORT_DAY = date(2026, 1, 3)


def read(path: Path, companions: bool = False, **hints: object) -> ReadResult:
    """Read as the inbox would: hints from the folder, the download's other files as companions."""
    others = {p.name: p.read_bytes() for p in path.parent.iterdir() if p != path and p.is_file()} if companions else {}
    return registry.read(SourceFile(path.name, path.read_bytes(), companions=others, **hints))  # type: ignore[arg-type]


def counts(result: ReadResult) -> tuple[str, int, int, int, int]:
    return result.format, result.rows_read, result.rows_loaded, len(result.rejects), len(result.skips)


# ---------------------------------------------------------------------------------------------
# Real exports (exported on February 28, 2026: the Content export's Time column and the series' last day)


@pytest.mark.real_exports
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Content.csv", ("tiktok_content", 13, 13, 0, 0)),
        ("Overview.csv", ("tiktok_overview", 365, 365, 0, 0)),
        ("FollowerHistory.csv", ("tiktok_follower_history", 365, 365, 0, 0)),
        ("FollowerTopTerritories.csv", ("tiktok_follower_territories", 11, 11, 0, 0)),
    ],
)
def test_real_export_counts(real_exports: Path, name: str, expected: tuple) -> None:
    result = read(real_exports / "tiktok/studio" / name, companions=True, date_hint=REAL_EXPORT_DAY)
    assert counts(result) == expected
    assert result.exported_at == datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.real_exports
def test_real_content(real_exports: Path) -> None:
    posts = read(real_exports / "tiktok/studio/Content.csv", date_hint=REAL_EXPORT_DAY).tables["post"]
    first = posts.row(0, named=True)
    assert (first["post_id"], first["account_handle"], first["likes"], first["views"]) == (
        "7527623000473079054", "haileytupy2.0", 533, 191265,
    )
    # The id's top 32 bits are its creation second (1752661308), consistent with Post time "July 16".
    assert first["published_at"] == datetime(2025, 7, 16, 10, 21, 48, tzinfo=UTC)
    assert posts.filter(posts["post_id"] == "7531345990947851551")["title"].to_list() == [None]  # empty title


@pytest.mark.real_exports
def test_real_daily_series_spans_the_year_boundary(real_exports: Path) -> None:
    folder = real_exports / "tiktok/studio"
    overview = read(folder / "Overview.csv", companions=True, date_hint=REAL_EXPORT_DAY).tables["account_day"]
    assert set(overview["account_handle"]) == {"haileytupy2.0"}  # from the companion Content.csv's links
    assert overview.row(0, named=True)["day"] == date(2025, 2, 28)
    assert overview.row(-1, named=True)["day"] == date(2026, 2, 27)
    assert overview.row(-1, named=True)["views"] == 18237
    assert overview["day"].is_unique().all() and overview["day"].is_sorted()
    by_row = {row["source_row"]: row for row in overview.to_dicts()}
    assert (by_row[307]["day"], by_row[307]["views"]) == (date(2025, 12, 31), 9768)
    assert (by_row[308]["day"], by_row[308]["views"]) == (date(2026, 1, 1), 28710)
    assert (by_row[243]["day"], by_row[243]["comments"]) == (date(2025, 10, 28), -7)  # deleted comments: net change

    followers = read(folder / "FollowerHistory.csv", account_hint="haileytupy2.0", date_hint=REAL_EXPORT_DAY)
    rows = followers.tables["account_day"]
    assert rows.row(0, named=True)["followers"] is None  # "undefined"
    assert rows["followers"].null_count() == 25
    assert (rows.row(-1, named=True)["day"], rows.row(-1, named=True)["followers"]) == (date(2026, 2, 27), 5013)


@pytest.mark.real_exports
def test_real_territories(real_exports: Path) -> None:
    result = read(real_exports / "tiktok/studio/FollowerTopTerritories.csv", account_hint="haileytupy2.0", date_hint=REAL_EXPORT_DAY)
    rows = result.tables["audience"]
    assert rows.row(0, named=True)["value"] == "US" and rows.row(0, named=True)["share"] == pytest.approx(0.462)
    assert rows.row(-1, named=True)["value"] == "Others" and rows.row(-1, named=True)["share"] == pytest.approx(0.211)
    assert set(rows["dimension"]) == {"country"}
    assert set(rows["window_end"]) == {REAL_EXPORT_DAY}


# ---------------------------------------------------------------------------------------------
# Fixtures (exported on January 3, 2026)


def test_content_fixture(fixtures: Path) -> None:
    result = read(fixtures / "tiktok/Content.csv", date_hint=FIXTURE_EXPORT_DAY)
    assert counts(result) == ("tiktok_content", 5, 3, 2, 0)
    assert [(r.source_row, r.column, r.value) for r in result.rejects] == [
        (3, "views", "1x0"),
        (4, "post_url", "https://www.tiktok.com/@cityimage.demo/"),
    ]
    posts = {row["source_row"]: row for row in result.tables["post"].to_dicts()}
    assert posts[1]["published_at"] == datetime(2025, 12, 30, 18, 0, tzinfo=UTC)
    assert (posts[1]["shares"], posts[1]["views"], posts[1]["account_handle"]) == (None, 4500, "cityimage.demo")
    assert posts[2]["title"] == "Tram ride\nthrough the old town"
    assert posts[2]["published_at"] == datetime(2026, 1, 2, 9, 30, tzinfo=UTC)
    # An id without a plausible embedded time falls back to "Post time": December 31 is before January 3 → 2025.
    assert posts[5]["published_at"] == datetime(2025, 12, 31, tzinfo=UTC)
    assert result.exported_at == datetime(2026, 1, 4, tzinfo=UTC)


def test_series_across_new_year(fixtures: Path) -> None:
    result = read(fixtures / "tiktok/Overview.csv", account_hint="cityimage.demo", date_hint=FIXTURE_EXPORT_DAY)
    assert counts(result) == ("tiktok_overview", 4, 4, 0, 0)
    days = result.tables["account_day"]
    assert days["day"].to_list() == [date(2025, 12, 30), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 2)]
    assert days["views"].to_list() == [1200, None, 3100, 2500]  # "undefined" is missing
    assert days["likes"].to_list() == [80, 40, 150, None]  # "-" is missing
    assert days["comments"].to_list() == [4, -2, 9, 1]


def test_unreadable_day_is_quarantined_and_undefined_followers_kept(fixtures: Path) -> None:
    result = read(fixtures / "tiktok/FollowerHistory.csv", account_hint="cityimage.demo", date_hint=FIXTURE_EXPORT_DAY)
    assert counts(result) == ("tiktok_follower_history", 4, 3, 1, 0)
    assert (result.rejects[0].source_row, result.rejects[0].value) == (1, "Smarch 1")
    rows = result.tables["account_day"]
    assert rows["day"].to_list() == [date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 2)]
    assert rows["followers"].to_list() == [None, 5010, 5008]


def test_viewers_day_first_dates(fixtures: Path) -> None:
    result = read(fixtures / "tiktok/Viewers.csv", account_hint="cityimage.demo", date_hint=FIXTURE_EXPORT_DAY)
    assert counts(result) == ("tiktok_viewers", 3, 3, 0, 0)
    rows = result.tables["account_day"]
    assert rows["day"].to_list() == [date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 2)]
    assert rows["reach"].to_list() == [700, None, 650]


def test_territories_fixture(fixtures: Path) -> None:
    result = read(fixtures / "tiktok/FollowerTopTerritories.csv", companions=True, date_hint=FIXTURE_EXPORT_DAY)
    rows = result.tables["audience"]
    assert rows["value"].to_list() == ["US", "FR", "Others"]
    assert rows["share"].to_list() == pytest.approx([0.5, 0.25, 0.25])
    assert set(rows["account_handle"]) == {"cityimage.demo"}


def test_without_export_date_the_file_is_refused(fixtures: Path) -> None:
    with pytest.raises(ReadError, match="YYYY-MM-DD"):
        read(fixtures / "tiktok/Overview.csv", account_hint="cityimage.demo")


def test_without_account_the_series_is_refused(fixtures: Path) -> None:
    with pytest.raises(ReadError, match="handle"):
        read(fixtures / "tiktok/Overview.csv", date_hint=FIXTURE_EXPORT_DAY)


def test_a_full_year_series_starting_on_the_export_day() -> None:
    """365 days from the export's month and day a year earlier to the day before the export."""
    last = date(2026, 2, 27)
    days = [last - timedelta(days=n) for n in range(364, -1, -1)]
    texts = [d.strftime("%B ") + str(d.day) for d in days]
    assert texts[0] == "February 28"
    assert resolve_series(texts, date(2026, 2, 28)) == days


def test_leap_day_resolves_to_a_leap_year() -> None:
    assert resolve_series(["February 28", "February 29", "March 1"], date(2024, 3, 2)) == [
        date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1),
    ]


def test_formats_are_documented() -> None:
    from readers import tiktok

    text = DOCS.read_text(encoding="utf-8")
    for fmt in tiktok.FORMATS:
        assert f"`{fmt.name}`" in text
        for target, _, _ in fmt.documented_columns():
            assert f"`{target}`" in text
