"""F1–F5 on hand-built posts, audience and search rows; every expected figure is worked out in the comments."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from tests.transforms.test_kpis import W47, make_facts, pick, post, run

KEYWORDS = [("chongqing", None), ("chinese culture", None), ("chinese tourism", None), ("chinese investment", None)]


def test_f1_languages_of_owned_posts_and_share_beyond_english_and_chinese() -> None:
    facts = make_facts(fct_post=[
        post("p1", language="en"), post("p2", language="en"), post("p3", language="zh-Hans"), post("p4", language="fr"),
        post("p5", language="ru"), post("p6", language=None), post("b1", account="x:hangzhou_china", language="ja"),
    ])
    frame = run(facts)
    head = pick(frame, "F1", account="x:ichongqing_")
    # 5 posts of known language: en, en, zh, fr, ru → 4 languages.
    assert (head["value"], head["n"]) == (4.0, 5)
    assert head["note"].startswith("en, fr, ru, zh; 1 post of unknown language left out")
    # fr and ru: 2 of 5 posts in neither English nor Chinese.
    assert pick(frame, "F1", account="x:ichongqing_", dimension="non_en_zh_share")["value"] == 0.4
    assert pick(frame, "F1", account="x:ichongqing_", dimension="language:en")["value"] == 2.0
    assert frame.filter((pl.col("kpi_id") == "F1") & (pl.col("role") == "benchmark")).height == 0


def audience(account: str, country: str, start: str, end: str, views: int | None, post_id: str | None = None,
             share: float | None = None) -> dict:
    return {"account_key": account, "platform": account.split(":")[0], "post_id": post_id, "country": country,
            "window_start": date.fromisoformat(start), "window_end": date.fromisoformat(end), "views": views, "share": share}


def test_f2_countries_with_half_a_percent_of_views_pooled_by_views() -> None:
    week = ("2026-11-16", "2026-11-22")
    facts = make_facts(fct_audience_country=[
        audience("youtube:ichongqing", "US", *week, 600), audience("youtube:ichongqing", "GB", *week, 300),
        audience("youtube:ichongqing", "FR", *week, 95), audience("youtube:ichongqing", "BR", *week, 5),
        audience("youtube:ichongqing", "CN", "2026-10-26", "2026-11-22", 100000),  # a 28-day window: not the week
        # Facebook in daily windows: Monday US 50, IN 1; Tuesday US 49 (the other days missing).
        audience("facebook:ichongqing", "US", "2026-11-16", "2026-11-16", 50),
        audience("facebook:ichongqing", "IN", "2026-11-16", "2026-11-16", 1),
        audience("facebook:ichongqing", "US", "2026-11-17", "2026-11-17", 49),
        audience("x:ichongqing_", "US", "2026-10-26", "2026-11-22", 10),
    ])
    frame = run(facts)
    yt = pick(frame, "F2", account="youtube:ichongqing")
    # Of 1,000 views: US 60 %, GB 30 %, FR 9.5 %, BR 0.5 % (at the threshold, counted) → 4 countries.
    assert (yt["value"], yt["n"], yt["status"]) == (4.0, 4, "ok")
    assert pick(frame, "F2", account="youtube:ichongqing", dimension="country:BR")["value"] == 0.005
    fb = pick(frame, "F2", account="facebook:ichongqing")
    # Of 100 views: US 99 %, IN 1 % → 2 countries; two daily windows cover 2 of 7 days: flagged.
    assert (fb["value"], fb["status"]) == (2.0, "flagged")
    assert "facebook:ichongqing: audience windows cover 2 of 7 days" in fb["note"]
    # Owned across platforms, views pooled: US 699, GB 300, FR 95, BR 5, IN 1 of 1,100 →
    # BR 0.45 % and IN 0.09 % fall below 0.5 % → 3 countries.
    owned = pick(frame, "F2", role="owned")
    assert owned["value"] == 3.0
    assert pick(frame, "F2", role="owned", dimension="country:US")["value"] == pytest.approx(699 / 1100)
    x = pick(frame, "F2", account="x:ichongqing_")
    assert x["status"] == "absent"
    assert x["note"] == "no audience-by-country window of x:ichongqing_ lies in the week (windows seen: 2026-10-26–2026-11-22)"


def test_f3_multi_language_asset_views_languages_and_countries() -> None:
    facts = make_facts(
        fct_post=[
            post("y1", account="youtube:ichongqing", asset_key="bridge", language="en", views=1000),
            post("f1", account="facebook:ichongqing", asset_key="bridge", language="fr", views=500, published="2026-11-10T02:00Z"),
            post("x1", asset_key="bridge", language="ru", views=None),
            post("b1", account="x:hangzhou_china", asset_key="bridge", language="de", views=99999),  # not owned
            post("o1", asset_key="old", published="2026-11-10T02:00Z", views=7),                    # no version this week
        ],
        fct_audience_country=[
            audience("youtube:ichongqing", "US", "2026-11-16", "2026-11-22", 10, post_id="y1"),
            audience("youtube:ichongqing", "DE", "2026-11-16", "2026-11-22", 5, post_id="y1"),
            audience("youtube:ichongqing", "JP", "2026-11-16", "2026-11-22", 0, post_id="y1"),
            audience("facebook:ichongqing", "FR", "2026-11-09", "2026-11-15", None, post_id="f1", share=0.2),
        ],
    )
    frame = run(facts)

    def row(dim: str) -> dict:
        return pick(frame, "F3", role="owned", dimension=dim)

    assert row("bridge:versions")["value"] == 3.0
    # 1,000 + 500 views; the X version has no views.
    assert (row("bridge:views")["value"], row("bridge:views")["n"]) == (1500.0, 2)
    assert "1 version without views excluded" in row("bridge:views")["note"]
    assert (row("bridge:languages")["value"], row("bridge:languages")["note"]) == (3.0, "en, fr, ru")
    # US and DE have views, JP has none; FR from the Facebook version's share → 3 countries.
    assert row("bridge:countries")["value"] == 3.0
    assert frame.filter((pl.col("kpi_id") == "F3") & pl.col("dimension").str.starts_with("old:")).height == 0


def search(value: str, position: float | None, impressions: int, clicks: int, prop: str = "site-a",
           window: tuple[date, date] = (W47.monday, W47.sunday)) -> dict:
    return {"property": prop, "dimension": "query", "value": value, "window_start": window[0], "window_end": window[1],
            "clicks": clicks, "impressions": impressions, "ctr": clicks / impressions if impressions else None, "position": position}


def search_facts() -> list[dict]:
    return [
        search("chongqing", 4.0, 300, 30),
        search("Chongqing ", 5.0, 100, 5, prop="site-b"),            # same keyword, another property
        search("chinese culture", 63.4, 50, 0),
        search("chinese tourism", 46.2, 200, 1),
        search("chongqing", 1.0, 10, 9, window=(W47.monday, W47.monday)),                      # overlaps the weekly window
        search("chinese investment", 3.0, 10, 1, window=(date(2026, 10, 26), W47.sunday)),    # 28 days: not the week
        {"property": "site-a", "dimension": "country", "value": "United States", "window_start": W47.monday,
         "window_end": W47.sunday, "clicks": 99, "impressions": 999, "position": 2.0},
    ]


def test_f4_search_visibility_over_tracked_keywords() -> None:
    frame = run(make_facts(fct_search_query=search_facts()), keywords=KEYWORDS)
    head = pick(frame, "F4", role="owned")
    # chongqing: impression-weighted position (4.0 × 300 + 5.0 × 100) ÷ 400 = 4.25 → (51 − 4.25) ÷ 50 = 0.935
    # chinese culture: position 63.4 → max(0, −0.248) = 0
    # chinese tourism: (51 − 46.2) ÷ 50 = 0.096
    # chinese investment: not in the week's export → beyond page 5 = 0
    # mean = (0.935 + 0 + 0.096 + 0) ÷ 4 = 0.25775
    assert (head["value"], head["numerator"], head["denominator"], head["n"]) == (
        pytest.approx(0.25775), pytest.approx(1.031), 4.0, 3)
    assert "1 of 4 tracked keywords not in the export: counted as beyond page 5 (score 0)" in head["note"]
    assert pick(frame, "F4", role="owned", dimension="top50_share")["value"] == 0.5  # chongqing and chinese tourism
    chongqing = pick(frame, "F4", role="owned", dimension="keyword:chongqing")
    assert (chongqing["value"], chongqing["note"]) == (pytest.approx(0.935), "average position 4.25")
    missing = pick(frame, "F4", role="owned", dimension="keyword:chinese investment")
    assert (missing["value"], missing["status"], missing["note"]) == (0.0, "ok", "not in the export: counted as beyond page 5")


def test_f4_is_absent_when_no_query_window_lies_in_the_week() -> None:
    rows = [search("chongqing", 4.0, 300, 30, window=(date(2026, 10, 26), W47.sunday))]
    head = pick(run(make_facts(fct_search_query=rows), keywords=KEYWORDS), "F4", role="owned")
    assert (head["status"], head["value"]) == ("absent", None)
    assert head["note"] == "no search export with query rows whose window lies in the week (windows seen: 2026-10-26–2026-11-22)"


def test_f5_clicks_impressions_and_ctr_on_tracked_keywords() -> None:
    frame = run(make_facts(fct_search_query=search_facts()), keywords=KEYWORDS)
    # Clicks 30 + 5 + 0 + 1 = 36, impressions 300 + 100 + 50 + 200 = 650 → CTR 36 ÷ 650.
    head = pick(frame, "F5", role="owned")
    assert (head["value"], head["numerator"], head["denominator"]) == (pytest.approx(36 / 650), 36.0, 650.0)
    assert pick(frame, "F5", role="owned", dimension="clicks")["value"] == 36.0
    assert pick(frame, "F5", role="owned", dimension="impressions")["value"] == 650.0
    assert pick(frame, "F5", role="owned", dimension="keyword:chongqing")["value"] == pytest.approx(35 / 400)
    missing = pick(frame, "F5", role="owned", dimension="keyword:chinese investment")
    assert (missing["status"], missing["value"]) == ("absent", None)
