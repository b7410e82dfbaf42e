"""D1–D5 on hand-built mentions and comments; every expected figure is worked out in the comments."""

from __future__ import annotations

import pytest

from tests.transforms.test_kpis import ACCOUNTS, comment, make_facts, mention, pick, post, run

DIM_ACCOUNT = [{"account_key": k, "platform": k.split(":")[0], "role": r, "is_registered": True} for k, r in ACCOUNTS.items()] + [
    {"account_key": "tiktok:traveller", "platform": "tiktok", "role": "public", "is_registered": False}]


def test_d1_counts_public_mentions_in_the_week_per_platform() -> None:
    facts = make_facts(
        dim_account=DIM_ACCOUNT,
        fct_post=[post("fb-old", account="facebook:someone", published="2026-11-10T02:00Z")],  # a public post, last week
        fct_mention=[mention("m1"), mention("m2"), mention("m3", is_spam=True),
                     mention("m4", published="2026-11-12T02:00Z"),  # W46
                     mention("i1", platform="instagram")],
    )
    frame = run(facts)
    x = pick(frame, "D1", role="public", platform="x")
    assert (x["value"], x["note"]) == (3.0, "1 mention classified as spam included")
    assert pick(frame, "D1", role="public", platform="instagram")["value"] == 1.0
    assert pick(frame, "D1", role="public")["value"] == 4.0
    # Facebook's public posts were exported (none mention the city this week): a real 0.
    assert (pick(frame, "D1", role="public", platform="facebook")["value"]) == 0.0
    # TikTok: a public account is known but no public posts were ever exported: absent.
    tiktok = pick(frame, "D1", role="public", platform="tiktok")
    assert (tiktok["status"], tiktok["note"]) == ("absent", "no export of public posts on tiktok (search results or API dumps)")


def test_d2_label_shares_and_rank_rows() -> None:
    facts = make_facts(fct_mention=[
        mention("m1", labels=["mountain_city", "8d_city"]), mention("m2", labels=["mountain_city"]),
        mention("m3", labels=["cyberpunk"], is_spam=True), mention("m5", labels=["bridge_city"]), mention("m6"),
    ])
    frame = run(facts)

    def row(dim: str) -> dict:
        return pick(frame, "D2", role="public", platform="x", dimension=dim)

    # 4 non-spam mentions: mountain_city 2, 8d_city 1, bridge_city 1 (the spam's cyberpunk does not count).
    assert (row("mountain_city")["value"], row("8d_city")["value"], row("bridge_city")["value"]) == (0.5, 0.25, 0.25)
    assert row("mountain_city")["denominator"] == 4.0
    # Ranks by mentions, ties sharing a rank: 1, 2, 2; n = the mentions carrying the label.
    assert [(row(f"rank:{lab}")["value"], row(f"rank:{lab}")["n"]) for lab in ("mountain_city", "8d_city", "bridge_city")] == [
        (1.0, 2), (2.0, 1), (2.0, 1)]
    assert row("rank:mountain_city")["unit"] == "rank"
    assert frame.filter((frame["kpi_id"] == "D2") & (frame["dimension"] == "cyberpunk")).height == 0


def test_d3_net_sentiment_over_non_spam_comments_and_mentions_with_not_rated_share() -> None:
    facts = make_facts(
        fct_post=[post("p1")],
        fct_comment=[comment("a", sentiment="positive"), comment("b", sentiment="positive"), comment("c", sentiment="positive"),
                     comment("d", sentiment="neutral"), comment("e", sentiment="negative"), comment("f", sentiment="not_rated"),
                     comment("g", sentiment="positive", is_spam=True), comment("h", sentiment="positive", is_by_post_account=True)],
        fct_mention=[mention("m1", sentiment="positive"), mention("m2", sentiment="negative"), mention("m3", sentiment="negative")],
    )
    frame = run(facts)
    head = pick(frame, "D3", account="x:ichongqing_")
    # (3 positive − 1 negative) ÷ 5 rated × 100 = 40; the spam and the account's own comment are out.
    assert (head["value"], head["numerator"], head["denominator"], head["unit"]) == (pytest.approx(40.0), 2.0, 5.0, "score")
    not_rated = pick(frame, "D3", account="x:ichongqing_", dimension="not_rated_share")
    assert (not_rated["value"], not_rated["numerator"], not_rated["denominator"]) == (pytest.approx(1 / 6), 1.0, 6.0)
    # The public's mentions: (1 − 2) ÷ 3 × 100 = −33.3
    assert pick(frame, "D3", role="public", platform="x")["value"] == pytest.approx(-100 / 3)


def test_d4_lynch_element_shares_and_coverage() -> None:
    facts = make_facts(
        fct_mention=[mention("m1", lynch_elements=["landmarks", "nodes"]), mention("m2", lynch_elements=["landmarks"]),
                     mention("m3", lynch_elements=["paths"]), mention("m4"), mention("m5", lynch_elements=["Landmark"])],
        fct_post=[post(f"p{i}", lynch_elements=["landmarks"]) for i in range(20)] + [post("p-edge", lynch_elements=["edges"])],
    )
    frame = run(facts)
    head = pick(frame, "D4", role="public", platform="x")
    # 5 place mentions: landmarks 3 (m5's singular spelling counts), nodes 1, paths 1 → 60 %, 20 %, 20 %; edges, districts 0.
    # Three elements hold at least 5 % → coverage 3 ÷ 5 = 0.6, over the 4 mentions that name a place.
    assert (head["value"], head["numerator"], head["denominator"], head["n"]) == (0.6, 3.0, 5.0, 4)
    shares = {e: pick(frame, "D4", role="public", platform="x", dimension=e)["value"]
              for e in ("landmarks", "nodes", "paths", "edges", "districts")}
    assert shares == {"landmarks": 0.6, "nodes": 0.2, "paths": 0.2, "edges": 0.0, "districts": 0.0}
    # Owned posts: landmarks 20 of 21, edges 1 of 21 = 4.8 % < 5 % → coverage 1 ÷ 5.
    owned = pick(frame, "D4", account="x:ichongqing_")
    assert owned["value"] == 0.2
    assert pick(frame, "D4", account="x:ichongqing_", dimension="edges")["value"] == pytest.approx(1 / 21)


def test_d5_travel_intent_and_conversion() -> None:
    facts = make_facts(fct_post=[post("p1")], fct_comment=[
        comment("i1", is_travel_intent=True, sentiment="positive"), comment("i2", is_travel_intent=True, sentiment="neutral"),
        comment("p1", sentiment="positive"), comment("p2", sentiment="positive"), comment("n1", sentiment="neutral"),
        comment("s1", is_travel_intent=True, sentiment="positive", is_spam=True),
        comment("b1", account="x:hangzhou_china", sentiment="neutral"),
    ])
    frame = run(facts)
    # 5 non-spam comments, 2 with intent → 0.4; 3 positive → conversion 2 ÷ 3.
    assert pick(frame, "D5", account="x:ichongqing_")["value"] == 0.4
    assert pick(frame, "D5", account="x:ichongqing_", dimension="conversion")["value"] == pytest.approx(2 / 3)
    assert pick(frame, "D5", account="x:hangzhou_china")["value"] == 0.0
    conversion = pick(frame, "D5", account="x:hangzhou_china", dimension="conversion")
    assert (conversion["status"], conversion["note"]) == (
        "absent", "no positive comment written in the week under the posts of x:hangzhou_china")
