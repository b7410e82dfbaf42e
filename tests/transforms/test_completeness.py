"""A week's completeness from expected exports and deliveries: given rows, expected verdicts."""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.completeness import DELIVERY_SCHEMA, EXPECTED_SCHEMA, missing_exports, week_completeness

MONDAY = date(2026, 11, 16)  # 2026-W47: Monday 16 to Sunday 22 November


def _expected(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=EXPECTED_SCHEMA, orient="row")


def _delivered(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=DELIVERY_SCHEMA, orient="row")


def _verdict(expected: pl.DataFrame, delivered: pl.DataFrame) -> dict[str, bool]:
    out = week_completeness(expected, delivered, MONDAY)
    return dict(zip(out["format"], out["is_delivered"]))


def test_a_snapshot_export_counts_when_dropped_on_or_after_the_weeks_last_day() -> None:
    expected = _expected(("x", "iChongqing_", "owned", "x_content", 1), ("x", "iChongqing_", "owned", "x_api_v2", 1))
    delivered = _delivered(
        ("x", "ichongqing_", "x_content", date(2026, 11, 23), None, None),   # Monday after: covers
        ("x", "iChongqing_", "x_api_v2", date(2026, 11, 21), None, None),    # Saturday: the week was not over
    )
    assert _verdict(expected, delivered) == {"x_api_v2": False, "x_content": True}


def test_a_daily_series_must_hold_a_day_of_the_week_however_late_it_was_dropped() -> None:
    expected = _expected(("facebook", "iChongqing", "owned", "meta_daily_series", 1))
    last_weeks_days = _delivered(("facebook", "iChongqing", "meta_daily_series", date(2026, 12, 1),
                                  date(2026, 11, 2), date(2026, 11, 15)))
    assert _verdict(expected, last_weeks_days) == {"meta_daily_series": False}
    sunday_only = _delivered(("facebook", "iChongqing", "meta_daily_series", date(2026, 11, 16),
                              date(2026, 11, 22), date(2026, 11, 22)))
    assert _verdict(expected, sunday_only) == {"meta_daily_series": True}


def test_an_export_every_n_weeks_may_be_up_to_n_minus_one_weeks_old() -> None:
    expected = _expected(("youtube", "iChongqing", "owned", "youtube_studio_geography", 4))
    three_weeks_old = _delivered(("youtube", "iChongqing", "youtube_studio_geography", date(2026, 11, 1), None, None))
    four_weeks_old = _delivered(("youtube", "iChongqing", "youtube_studio_geography", date(2026, 10, 25), None, None))
    assert _verdict(expected, three_weeks_old) == {"youtube_studio_geography": True}
    assert _verdict(expected, four_weeks_old) == {"youtube_studio_geography": False}


def test_another_accounts_or_platforms_file_does_not_count() -> None:
    expected = _expected(("instagram", "ichongqing", "owned", "instagram_api_comments", 1))
    delivered = _delivered(
        ("instagram", "hangzhou_china", "instagram_api_comments", date(2026, 11, 23), None, None),
        ("facebook", "ichongqing", "instagram_api_comments", date(2026, 11, 23), None, None),
    )
    out = week_completeness(expected, delivered, MONDAY)
    assert out["is_delivered"].to_list() == [False]
    assert out["last_delivered_on"].to_list() == [None]
    assert missing_exports(out) == ["instagram/ichongqing: no instagram_api_comments for this week; never delivered"]


def test_missing_sentences_say_when_it_last_came_and_the_cadence() -> None:
    expected = _expected(("tiktok", "ichongqing", "owned", "tiktok_content", 2))
    delivered = _delivered(("tiktok", "ichongqing", "tiktok_content", date(2026, 11, 2), None, None),
                           ("tiktok", "ichongqing", "tiktok_content", date(2026, 10, 26), None, None))
    out = week_completeness(expected, delivered, MONDAY)
    assert missing_exports(out) == [
        "tiktok/ichongqing: no tiktok_content for this week (expected every 2 weeks); last delivered 2026-11-02"]


def test_nothing_expected_is_complete() -> None:
    out = week_completeness(_expected(), _delivered(), MONDAY)
    assert out.height == 0 and missing_exports(out) == []
