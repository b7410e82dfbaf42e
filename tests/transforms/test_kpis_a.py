"""A1–A6 on hand-built facts; every expected figure is worked out in the comments."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from tests.transforms.test_kpis import make_facts, pick, post, run, snap


def follower(account: str, day: str, followers: int) -> dict:
    return {"account_key": account, "platform": account.split(":")[0], "day": date.fromisoformat(day), "followers": followers}


# -- A1 ---------------------------------------------------------------------------------------------------


def test_a1_counts_the_weeks_posts_and_says_when_it_cannot() -> None:
    facts = make_facts(fct_post=[
        post("p1", published="2026-11-17T02:00Z"),
        post("p2", published="2026-11-20T02:00Z"),
        post("old", published="2026-11-10T02:00Z"),  # W46
        # Exported on Friday 20 November: the weekend's posts may be missing, so the row is flagged.
        post("f1", account="facebook:ichongqing", published="2026-11-17T02:00Z", latest_exported_at="2026-11-20T00:00Z"),
        # The benchmark's YouTube export predates the week: 0 posts would be a guess, so absent.
        post("y1", account="youtube:hangzhouchina", published="2026-11-01T02:00Z", latest_exported_at="2026-11-05T00:00Z"),
    ])
    frame = run(facts)
    assert pick(frame, "A1", account="x:ichongqing_")["value"] == 2.0
    bench = pick(frame, "A1", account="x:hangzhou_china")
    assert (bench["value"], bench["status"], bench["note"]) == (None, "absent", "no post export for x:hangzhou_china")
    assert "predates the week" in pick(frame, "A1", account="youtube:hangzhouchina")["note"]
    fb = pick(frame, "A1", account="facebook:ichongqing")
    assert (fb["value"], fb["status"]) == (1.0, "flagged") and "before the week ended" in fb["note"]
    # Owned across platforms: 2 (X) + 1 (Facebook, flagged); YouTube has no export and is named in the note.
    owned = pick(frame, "A1", role="owned")
    assert (owned["value"], owned["numerator"], owned["status"]) == (3.0, 3.0, "flagged")
    assert "no post export for youtube:ichongqing" in owned["note"]
    assert pick(frame, "A1", role="owned", platform="x")["value"] == 2.0


# -- A2 ---------------------------------------------------------------------------------------------------


def test_a2_rolls_up_as_a_ratio_of_sums_not_an_average_of_ratios() -> None:
    facts = make_facts(fct_follower_day=[
        # Week start = end of Sunday 15 November, week end = end of Sunday 22 November.
        follower("x:ichongqing_", "2026-11-15", 1000), follower("x:ichongqing_", "2026-11-18", 1050),
        follower("x:ichongqing_", "2026-11-22", 1100),                     # (1100 − 1000) ÷ 1000 = 0.10
        follower("facebook:ichongqing", "2026-11-15", 3000), follower("facebook:ichongqing", "2026-11-22", 3030),  # 30 ÷ 3000 = 0.01
        follower("x:hangzhou_china", "2026-11-16", 500), follower("x:hangzhou_china", "2026-11-20", 520),  # no 15th, no 22nd
        follower("facebook:hangzhouchina", "2026-11-18", 900),             # one day only
        follower("youtube:hangzhouchina", "2026-11-10", 100),              # nothing in the week
    ])
    frame = run(facts)
    assert pick(frame, "A2", account="x:ichongqing_")["value"] == pytest.approx(0.10)
    assert pick(frame, "A2", account="facebook:ichongqing")["value"] == pytest.approx(0.01)
    owned = pick(frame, "A2", role="owned")
    # (100 + 30) ÷ (1000 + 3000) = 0.0325, not the average of the ratios (0.10 + 0.01) ÷ 2 = 0.055.
    assert (owned["numerator"], owned["denominator"], owned["n"]) == (130.0, 4000.0, 2)
    assert owned["value"] == pytest.approx(0.0325)
    assert owned["value"] != pytest.approx(0.055)
    assert "no follower series for youtube:ichongqing" in owned["note"]
    # The benchmark on X: start from the end of Monday 16th (500), end from Friday 20th (520): 20 ÷ 500, flagged.
    bench = pick(frame, "A2", account="x:hangzhou_china")
    assert (bench["value"], bench["status"]) == (pytest.approx(0.04), "flagged")
    assert "start taken from the end of 2026-11-16" in bench["note"] and "end taken from the end of 2026-11-20" in bench["note"]
    assert pick(frame, "A2", account="facebook:hangzhouchina")["note"] == (
        "followers of facebook:hangzhouchina known on one day only in the week (2026-11-18)")
    assert pick(frame, "A2", account="youtube:hangzhouchina")["note"] == "no follower count for youtube:hangzhouchina in the week"
    assert pick(frame, "A2", account="youtube:ichongqing")["note"] == "no follower series for youtube:ichongqing"


# -- A3 ---------------------------------------------------------------------------------------------------


def test_a3_median_of_e_over_followers_at_posting_time_with_missing_e_excluded() -> None:
    facts = make_facts(
        fct_post=[
            post("p1", published="2026-11-17T02:00Z"),  # Shanghai 17th: no count that day, closest earlier = 16th (1000)
            post("p2", published="2026-11-17T17:00Z"),  # Shanghai 18th 01:00: the 18th's count (2000), not the UTC day's
            post("p3", published="2026-11-18T02:00Z"),  # E missing
            post("f1", account="facebook:ichongqing", published="2026-11-17T02:00Z"),
            post("b1", account="x:hangzhou_china", published="2026-11-17T02:00Z"),
        ],
        fct_post_metric_snapshot=[
            snap("p1", "2026-11-24T02:00Z", 50),   # 50 ÷ 1000 = 0.05
            snap("p2", "2026-11-24T17:00Z", 30),   # 30 ÷ 2000 = 0.015
            snap("p3", "2026-11-25T02:00Z", None),
            snap("f1", "2026-11-24T02:00Z", 3, account="facebook:ichongqing"),  # 3 ÷ 3000 = 0.001
            snap("b1", "2026-11-24T02:00Z", 10, account="x:hangzhou_china"),
        ],
        fct_follower_day=[follower("x:ichongqing_", "2026-11-16", 1000), follower("x:ichongqing_", "2026-11-18", 2000),
                          follower("facebook:ichongqing", "2026-11-15", 3000)],
    )
    frame = run(facts)
    x = pick(frame, "A3", account="x:ichongqing_")
    # median(0.05, 0.015) = 0.0325 over 2 posts; p3 is left out and the note says why.
    assert (x["value"], x["n"], x["status"]) == (pytest.approx(0.0325), 2, "ok")
    assert "1 post without E excluded" in x["note"]
    # The owned roll-up is the median over the pooled posts: median(0.05, 0.015, 0.001) = 0.015,
    # not the average of the account medians (0.0325 + 0.001) ÷ 2 = 0.01675.
    assert pick(frame, "A3", role="owned")["value"] == pytest.approx(0.015)
    bench = pick(frame, "A3", account="x:hangzhou_china")
    assert (bench["value"], bench["status"]) == (None, "absent")
    assert bench["note"] == "no follower series for x:hangzhou_china on or before its posting days"


def test_a3_young_cohort_uses_the_latest_export_and_is_flagged() -> None:
    # Published Saturday 21st, exported Monday 23rd: the only snapshot is 2 days old.
    facts = make_facts(
        fct_post=[post("p1", published="2026-11-21T02:00Z", latest_exported_at="2026-11-23T02:00Z")],
        fct_post_metric_snapshot=[snap("p1", "2026-11-23T02:00Z", 12)],
        fct_follower_day=[follower("x:ichongqing_", "2026-11-20", 1200)],
    )
    row = pick(run(facts), "A3", account="x:ichongqing_")
    assert (row["value"], row["status"]) == (pytest.approx(12 / 1200), "flagged")
    assert "1 of 1 post measured younger than 7 days (latest export at 2.0–2.0 days)" in row["note"]


# -- A4 ---------------------------------------------------------------------------------------------------


def test_a4_divides_by_the_platforms_reach_measure_owned_only_per_platform() -> None:
    facts = make_facts(
        fct_post=[post("p1"), post("p2"), post("p3"), post("f1", account="facebook:ichongqing"),
                  post("v1", account="youtube:ichongqing", format="video"), post("b1", account="x:hangzhou_china")],
        fct_post_metric_snapshot=[
            snap("p1", "2026-11-24T02:00Z", 50, impressions=1000),   # X: ÷ impressions = 0.05
            snap("p2", "2026-11-24T02:00Z", 30, impressions=300),    # 0.10
            snap("p3", "2026-11-24T02:00Z", 10),                     # no impressions: excluded
            snap("f1", "2026-11-24T02:00Z", 20, account="facebook:ichongqing", reach=400, impressions=10000),  # ÷ reach = 0.05
            snap("v1", "2026-11-24T02:00Z", 5, account="youtube:ichongqing", views=50),   # ÷ views = 0.10
            snap("b1", "2026-11-24T02:00Z", 10, account="x:hangzhou_china", impressions=100),
        ],
    )
    frame = run(facts)
    x = pick(frame, "A4", account="x:ichongqing_")
    assert (x["value"], x["n"]) == (pytest.approx(0.075), 2)  # median(0.05, 0.10)
    assert "1 post without reach (Facebook, Instagram), impressions (X) or views (YouTube, TikTok) excluded" in x["note"]
    assert pick(frame, "A4", account="facebook:ichongqing")["value"] == pytest.approx(0.05)
    assert pick(frame, "A4", account="youtube:ichongqing")["value"] == pytest.approx(0.10)
    assert pick(frame, "A4", role="owned", platform="x")["value"] == pytest.approx(0.075)
    a4 = frame.filter(pl.col("kpi_id") == "A4")
    assert a4.filter(pl.col("role") != "owned").height == 0
    assert a4.filter(pl.col("platform").is_null()).height == 0  # denominators differ: no cross-platform row


def test_a4_reads_the_snapshot_closest_to_7_days_but_not_far_below() -> None:
    # Ages 2, 6.5, 9 and 14 days: 2 is far below 7; 6.5 is the closest of the rest → 40 ÷ 400 = 0.10.
    # (Age 2 would give 10 ÷ 50 = 0.20, age 9 55 ÷ 500 = 0.11, age 14 70 ÷ 600 ≈ 0.117.)
    facts = make_facts(
        fct_post=[post("p1", published="2026-11-16T00:00Z")],
        fct_post_metric_snapshot=[
            snap("p1", "2026-11-18T00:00Z", 10, impressions=50),
            snap("p1", "2026-11-22T12:00Z", 40, impressions=400),
            snap("p1", "2026-11-25T00:00Z", 55, impressions=500),
            snap("p1", "2026-11-30T00:00Z", 70, impressions=600),
        ],
    )
    row = pick(run(facts), "A4", account="x:ichongqing_")
    assert (row["value"], row["status"]) == (pytest.approx(0.10), "ok")


# -- A5 ---------------------------------------------------------------------------------------------------


def _history(account: str, count: int, fmt: str = "image") -> list[dict]:
    """``count`` earlier posts with E at 7 days of 10, 20, 30 … (latest metrics taken at 7 days), ids unique per platform."""
    rows = []
    for i in range(count):
        published = datetime(2026, 10, 1, 2) + timedelta(days=i)
        rows.append(post(f"{account}-h{i}", account=account, published=f"{published:%Y-%m-%dT%H:%M}Z", format=fmt, engagements=10 * (i + 1),
                         latest_exported_at=f"{published + timedelta(days=7):%Y-%m-%dT%H:%M}Z"))
    return rows


def test_a5_share_of_posts_above_one_and_a_half_trimmed_means_of_earlier_posts() -> None:
    facts = make_facts(
        fct_post=_history("x:ichongqing_", 12) + _history("x:hangzhou_china", 3) + [
            post("w1", published="2026-11-17T02:00Z"),
            post("w2", published="2026-11-19T02:00Z"),
            post("w3", published="2026-11-18T02:00Z", format="video"),   # no earlier video: not assessable
            post("w4", published="2026-11-20T02:00Z"),                    # E missing
            post("b1", account="x:hangzhou_china", published="2026-11-17T02:00Z"),
        ],
        fct_post_metric_snapshot=[
            snap("w1", "2026-11-24T02:00Z", 100), snap("w2", "2026-11-26T02:00Z", 90), snap("w3", "2026-11-25T02:00Z", 500),
            snap("w4", "2026-11-27T02:00Z", None), snap("b1", "2026-11-24T02:00Z", 40, account="x:hangzhou_china"),
        ],
    )
    frame = run(facts)
    row = pick(frame, "A5", account="x:ichongqing_")
    # w1: 12 earlier images, E 10…120; drop floor(12/4) = 3 each end → 40…90, mean 65; threshold 97.5; 100 ≥ 97.5: over.
    # w2: 13 earlier images (w1's 100 joins): 10…90, 100, 100, 110, 120; drop 3 each end → 40…90, 100,
    #     mean 490 ÷ 7 = 70; threshold 105; 90 < 105: not over.
    # → 1 of 2 assessed posts.
    assert (row["value"], row["numerator"], row["denominator"], row["n"]) == (0.5, 1.0, 2.0, 2)
    assert "1 post with fewer than 10 earlier posts of the same format with E at 7 days excluded" in row["note"]
    assert "1 post without E excluded" in row["note"]
    bench = pick(frame, "A5", account="x:hangzhou_china")
    assert bench["status"] == "absent"
    assert bench["note"].startswith("no post of the week has 10 earlier posts of its format with E at 7 days")


# -- A6 ---------------------------------------------------------------------------------------------------


def test_a6_sums_growth_between_consecutive_exports_in_the_week() -> None:
    facts = make_facts(
        fct_post=[
            post("old", published="2026-11-01T00:00Z"),
            post("new", published="2026-11-17T02:00Z"),
            post("unseen", published="2026-11-05T00:00Z"),
            post("b1", account="x:hangzhou_china", published="2026-11-01T00:00Z"),
        ],
        fct_post_metric_snapshot=[
            snap("old", "2026-11-14T00:00Z", 100),        # before the week: the baseline
            snap("old", "2026-11-18T00:00Z", 130),        # +30
            snap("old", "2026-11-21T00:00Z", 150),        # +20
            snap("old", "2026-11-23T00:00Z", 170),        # after the week ends (22nd 16:00Z): not counted
            snap("new", "2026-11-18T00:00Z", 40),         # published in the week: +40 from 0
            snap("new", "2026-11-21T00:00Z", None),       # E missing: step excluded
            snap("unseen", "2026-11-18T00:00Z", 500),     # first export in the week, published before it: no baseline
            snap("b1", "2026-11-10T00:00Z", 80, account="x:hangzhou_china"),
        ],
    )
    frame = run(facts)
    row = pick(frame, "A6", account="x:ichongqing_")
    # 30 + 20 + 40 = 90 engagements from 2 posts.
    assert (row["value"], row["numerator"], row["n"]) == (90.0, 90.0, 2)
    assert "1 export step without E on one side excluded" in row["note"]
    assert "1 post first exported in the week but published before it excluded" in row["note"]
    assert pick(frame, "A6", account="x:hangzhou_china")["note"] == "no export of x:hangzhou_china's posts was taken in the week"
    assert pick(frame, "A6", role="owned")["value"] == 90.0
