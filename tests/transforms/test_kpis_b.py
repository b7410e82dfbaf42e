"""B1–B4 on hand-built facts; every expected figure is worked out in the comments.

Posts without snapshot rows are measured on their latest metrics (exported 2026-12-01, over 7 days
after posting), which keeps these fixtures short."""

from __future__ import annotations

import math

import pytest

from tests.transforms.test_kpis import make_facts, pick, post, run


def test_b1_share_of_posts_per_theme_including_other_and_zero_themes() -> None:
    facts = make_facts(fct_post=[
        post("p1", themes=["culture", "food"]), post("p2", themes=["food"]), post("p3", themes=[]),
        post("p4", themes=["scenery"]), post("p5", themes=["Sports"]),
    ])
    frame = run(facts)

    def share(theme: str) -> float:
        return pick(frame, "B1", account="x:ichongqing_", dimension=theme)["value"]

    # 5 posts: culture 1, food 2, scenery 1, other 1 (p3 has no theme), sports 1 (a theme outside the catalogue).
    assert (share("culture"), share("food"), share("scenery"), share("other"), share("sports")) == (0.2, 0.4, 0.2, 0.2, 0.2)
    # A catalogue theme nobody used is a real 0 out of 5 posts, not missing.
    economy = pick(frame, "B1", account="x:ichongqing_", dimension="economy")
    assert (economy["value"], economy["numerator"], economy["denominator"], economy["status"]) == (0.0, 0.0, 5.0, "ok")
    absent = pick(frame, "B1", account="x:hangzhou_china")
    assert (absent["status"], absent["note"]) == ("absent", "no post export for x:hangzhou_china")


def test_b2_culture_resonance_from_engagement_and_post_shares() -> None:
    facts = make_facts(fct_post=[
        post("c1", themes=["culture"], engagements=60), post("c2", themes=["culture", "food"], engagements=40),
        post("n1", themes=["food"], engagements=50), post("n2", engagements=30), post("n3", engagements=20),
        post("n4", themes=["culture"], engagements=None),  # E missing: out of both shares
        post("b1", account="x:hangzhou_china", themes=["food"], engagements=10),
    ])
    frame = run(facts)
    head = pick(frame, "B2", account="x:ichongqing_")
    # E of culture posts 60 + 40 = 100 of 200 → 0.5; culture posts 2 of 5 → 0.4; 0.5 ÷ 0.4 = 1.25.
    assert (head["value"], head["numerator"], head["denominator"], head["n"]) == (pytest.approx(1.25), 0.5, 0.4, 5)
    assert "1 post without E excluded" in head["note"]
    engagement = pick(frame, "B2", account="x:ichongqing_", dimension="engagement_share")
    assert (engagement["numerator"], engagement["denominator"]) == (100.0, 200.0)
    posts = pick(frame, "B2", account="x:ichongqing_", dimension="post_share")
    assert (posts["numerator"], posts["denominator"]) == (2.0, 5.0)
    bench = pick(frame, "B2", account="x:hangzhou_china")
    assert (bench["status"], bench["note"]) == ("absent", "no culture post in the week: resonance undefined")
    assert pick(frame, "B2", account="x:hangzhou_china", dimension="post_share")["value"] == 0.0


def test_b3_format_shares_and_normalised_entropy() -> None:
    facts = make_facts(fct_post=[
        post("p1", format="image"), post("p2", format="image"), post("p3", format="video"), post("p4", format="short_video"),
        post("p5", format="video", is_live=True),  # a livestream counts as live
        post("b1", account="x:hangzhou_china", format="image"), post("b2", account="x:hangzhou_china", format=None),
    ])
    frame = run(facts)

    def share(fmt: str, account: str = "x:ichongqing_") -> float:
        return pick(frame, "B3", account=account, dimension=fmt)["value"]

    assert (share("image"), share("video"), share("short_video"), share("live"), share("carousel"), share("text")) == (
        0.4, 0.2, 0.2, 0.2, 0.0, 0.0)
    # H = −(0.4 ln 0.4 + 3 × 0.2 ln 0.2) = 0.366516 + 0.965663 = 1.332179; ÷ ln 6 (1.791759) = 0.743504.
    entropy = pick(frame, "B3", account="x:ichongqing_", dimension="entropy")
    assert entropy["value"] == pytest.approx(0.743504, abs=1e-6)
    assert entropy["value"] == pytest.approx(-(0.4 * math.log(0.4) + 3 * 0.2 * math.log(0.2)) / math.log(6))
    # The benchmark: one image and one post of unknown format; entropy over the one known post = 0.
    assert share("unknown", "x:hangzhou_china") == 0.5
    # Shares are of posts with a known format: the benchmark's one image is 100 % of them (1 ÷ 1).
    image = pick(frame, "B3", account="x:hangzhou_china", dimension="image")
    assert (image["value"], image["numerator"], image["denominator"]) == (1.0, 1.0, 1.0)
    bench = pick(frame, "B3", account="x:hangzhou_china", dimension="entropy")
    assert (bench["value"], bench["n"]) == (0.0, 1)
    assert "1 post of unknown format left out" in bench["note"]


def test_b4_video_lift_is_a_ratio_of_median_reach_rates() -> None:
    facts = make_facts(fct_post=[
        post("v1", format="video", engagements=10, impressions=100),        # 0.10
        post("v2", format="short_video", engagements=40, impressions=200),  # 0.20
        post("v3", format="video", engagements=90, impressions=300),        # 0.30
        post("i1", format="image", engagements=5, impressions=100),         # 0.05
        post("i2", format="image", engagements=30, impressions=200),        # 0.15
        post("k1", format="carousel", engagements=99, impressions=100),     # neither group
        post("f1", account="facebook:ichongqing", format="image", engagements=5, reach=100),
    ])
    frame = run(facts)
    row = pick(frame, "B4", account="x:ichongqing_")
    # median(0.10, 0.20, 0.30) = 0.20 ÷ median(0.05, 0.15) = 0.10 → 2.0
    assert (row["value"], row["numerator"], row["denominator"], row["n"]) == (
        pytest.approx(2.0), pytest.approx(0.2), pytest.approx(0.1), 5)
    fb = pick(frame, "B4", account="facebook:ichongqing")
    assert fb["status"] == "absent"
    assert fb["note"] == "no video or short-video post with E and its reach measure at 7 days"
