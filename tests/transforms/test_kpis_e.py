"""E1–E2 on hand-built videos and livestreams; every expected figure is worked out in the comments."""

from __future__ import annotations

import polars as pl
import pytest

from tests.transforms.test_kpis import at, make_facts, pick, post, run


def test_e1_completion_weighted_by_seconds_offered() -> None:
    facts = make_facts(fct_post=[
        # YouTube: average percentage viewed 40 % of 600 s, 100 views → 24,000 of 60,000 seconds.
        post("v1", account="youtube:ichongqing", format="video", avg_pct_viewed=40.0, avg_watch_time_s=999.0, duration_s=600.0, views=100),
        # YouTube without a percentage: 30 s of 60 s, 50 views → 1,500 of 3,000 seconds.
        post("v2", account="youtube:ichongqing", format="short_video", avg_watch_time_s=30.0, duration_s=60.0, views=50),
        post("v3", account="youtube:ichongqing", format="video", avg_pct_viewed=50.0, views=10),     # no duration: excluded
        post("l1", account="youtube:ichongqing", format="video", is_live=True, avg_pct_viewed=5.0, duration_s=60.0, views=10),
        post("i1", account="youtube:ichongqing", format="image"),
        # Facebook: 30 s of 60 s, 200 views → 6,000 of 12,000 seconds.
        post("f1", account="facebook:ichongqing", format="video", avg_watch_time_s=30.0, duration_s=60.0, views=200),
    ])
    frame = run(facts)
    yt = pick(frame, "E1", account="youtube:ichongqing")
    # (24,000 + 1,500) ÷ (60,000 + 3,000) = 0.404762
    assert (yt["value"], yt["numerator"], yt["denominator"], yt["n"]) == (pytest.approx(25500 / 63000), 25500.0, 63000.0, 2)
    assert "1 video without completion, views or duration excluded" in yt["note"]
    # Owned across platforms: 31,500 ÷ 75,000 = 0.42 (the average of 0.405 and 0.5 would be 0.452).
    assert pick(frame, "E1", role="owned")["value"] == pytest.approx(0.42)
    assert pick(frame, "E1", account="x:ichongqing_")["status"] == "absent"


def test_e1_is_flagged_when_measured_young() -> None:
    facts = make_facts(fct_post=[post("v1", format="video", avg_watch_time_s=10.0, duration_s=100.0, views=10,
                                      published="2026-11-21T00:00Z", latest_exported_at="2026-11-23T00:00Z")])
    row = pick(run(facts), "E1", account="x:ichongqing_")
    assert (row["value"], row["status"]) == (pytest.approx(0.1), "flagged")


def live(post_id: str, started: str, **values: object) -> dict:
    return {"platform": "youtube", "post_id": post_id, "account_key": "youtube:ichongqing", "started_at": at(started), **values}


def test_e2_livestream_pack_per_live_and_in_total() -> None:
    facts = make_facts(
        fct_post=[post("L1", account="youtube:ichongqing", format="live", is_live=True),
                  post("b1", account="youtube:hangzhouchina", format="video")],
        fct_livestream=[
            # The study's best live: 954,000 views, 12,000 likes, 1,253 comments.
            live("L1", "2026-11-18T12:00Z", views=954000, likes=12000, comments=1253, peak_concurrent_viewers=5000,
                 avg_concurrent_viewers=2000, duration_s=3600.0, avg_watch_time_s=600.0),
            live("L2", "2026-11-20T12:00Z", views=46000, likes=1000, comments=247, peak_concurrent_viewers=None,
                 avg_concurrent_viewers=1000, duration_s=1800.0, avg_watch_time_s=300.0),
            live("L0", "2026-11-11T12:00Z", views=5, likes=0, comments=0),  # W46
        ],
    )
    frame = run(facts)

    def value(dim: str, **who: str) -> float | None:
        return pick(frame, "E2", **(who or {"account": "youtube:ichongqing"}), dimension=dim)["value"]

    # L1: (12,000 + 1,253) ÷ 954,000 = 1.39 %; 1,000 × 1,253 ÷ 954,000 = 1.31 per 1,000 views; 600 ÷ 3,600 s watched.
    assert value("L1:engagement_per_view") == pytest.approx(13253 / 954000)
    assert round(value("L1:engagement_per_view") * 100, 2) == 1.39
    assert round(value("L1:comments_per_1000_views"), 2) == 1.31
    assert value("L1:watch_ratio") == pytest.approx(1 / 6)
    assert value("L1:peak_concurrent_viewers") == 5000.0
    assert pick(frame, "E2", account="youtube:ichongqing", dimension="L2:peak_concurrent_viewers")["status"] == "absent"
    # Totals over L1 and L2:
    assert value("total:lives") == 2.0
    assert value("total:views") == 1_000_000.0
    assert value("total:peak_concurrent_viewers") == 5000.0                      # the highest peak, L2's unknown
    assert value("total:avg_concurrent_viewers") == pytest.approx(9_000_000 / 5400)  # (2000×3600 + 1000×1800) ÷ 5400 s
    # (600 × 954,000 + 300 × 46,000) ÷ (3,600 × 954,000 + 1,800 × 46,000) = 586.2M ÷ 3,517.2M = 1/6
    assert value("total:watch_ratio") == pytest.approx(586.2 / 3517.2)
    assert value("total:engagement_per_view") == pytest.approx((13253 + 1247) / 1_000_000)  # 1.45 %
    assert value("total:comments_per_1000_views") == pytest.approx(1.5)                    # 1,000 × 1,500 ÷ 1,000,000
    # Role rows carry the totals only.
    role_dims = frame.filter((pl.col("kpi_id") == "E2") & (pl.col("scope") == "role") & (pl.col("role") == "owned")
                             & (pl.col("platform") == "youtube"))["dimension"].to_list()
    assert all(d.startswith("total:") for d in role_dims)
    assert value("total:views", role="owned", platform="youtube") == 1_000_000.0
    # The benchmark's posts were exported but it held no live: 0 lives, the rest absent.
    assert value("total:lives", account="youtube:hangzhouchina") == 0.0
    bench = pick(frame, "E2", account="youtube:hangzhouchina", dimension="total:views")
    assert (bench["status"], bench["note"]) == ("absent", "no livestream in the week")
