"""C1–C6 on hand-built comments; every expected figure is worked out in the comments.

Unless told otherwise a comment is top-level, not spam, by a member of the public, written on
Tuesday 17 November under a post of x:ichongqing_, and the account's posts were last exported on
1 December (every 7-day reply window closed)."""

from __future__ import annotations

import pytest

from tests.transforms.test_kpis import comment, make_facts, pick, post, run

POSTS = [post("p1"), post("bp1", account="x:hangzhou_china"), post("fp1", account="facebook:ichongqing")]


def reply_facts() -> list[dict]:
    return [
        comment("c1", is_replied_7d=True, is_question=True),             # eligible, answered
        comment("c2", is_question=True),                                 # eligible, not answered
        comment("c3", is_spam=True),                                     # spam: not eligible
        comment("c4", is_by_post_account=True),                          # the account itself
        comment("c5", is_top_level=False, is_replied_7d=True),           # a reply, not a top-level comment
        comment("c6", created="2026-11-12T03:00Z", is_replied_7d=True),  # written in W46
    ]


def bench_and_facebook() -> list[dict]:
    bench = [comment(f"b{i}", account="x:hangzhou_china", is_replied_7d=i < 3) for i in range(4)]  # 3 of 4 answered
    facebook = [comment(f"f{i}", account="facebook:ichongqing") for i in range(8)]                 # 0 of 8 answered
    return bench + facebook


def test_c1_reply_rate_over_eligible_comments_and_its_ratio_of_sums_roll_up() -> None:
    frame = run(make_facts(fct_post=POSTS, fct_comment=reply_facts() + bench_and_facebook()))
    x = pick(frame, "C1", account="x:ichongqing_")
    # Eligible: c1, c2 (c3 spam, c4 by the account, c5 a reply, c6 last week); answered: c1 → 1 ÷ 2.
    assert (x["value"], x["numerator"], x["denominator"], x["status"]) == (0.5, 1.0, 2.0, "ok")
    assert pick(frame, "C1", account="x:hangzhou_china")["value"] == 0.75
    assert pick(frame, "C1", account="facebook:ichongqing")["value"] == 0.0
    # Owned across platforms: (1 + 0) ÷ (2 + 8) = 0.1, not the average of 0.5 and 0 (0.25).
    owned = pick(frame, "C1", role="owned")
    assert (owned["value"], owned["numerator"], owned["denominator"]) == (pytest.approx(0.1), 1.0, 10.0)
    bench_fb = pick(frame, "C1", account="facebook:hangzhouchina")
    assert (bench_fb["status"], bench_fb["value"]) == ("absent", None)
    assert bench_fb["note"].startswith("no eligible comment written in the week under the posts of facebook:hangzhouchina")


def test_c1_is_flagged_while_a_reply_window_is_still_open() -> None:
    # Last export Monday 23rd 00:00Z; a comment of Saturday 21st without a reply may still get one.
    facts = make_facts(
        fct_post=[post("p1", account="youtube:ichongqing", latest_exported_at="2026-11-23T00:00Z")],
        fct_comment=[comment("y1", account="youtube:ichongqing", created="2026-11-21T00:00Z"),
                     comment("y2", account="youtube:ichongqing", created="2026-11-16T00:00Z", is_replied_7d=True)],
    )
    row = pick(run(facts), "C1", account="youtube:ichongqing")
    assert (row["value"], row["status"]) == (0.5, "flagged")
    assert row["note"].startswith("1 of 2 comments had no reply yet")


def test_c2_counts_questions_only() -> None:
    comments = reply_facts() + [comment("c7", is_replied_7d=True)] + bench_and_facebook()
    frame = run(make_facts(fct_post=POSTS, fct_comment=comments))
    # Questions: c1 (answered) and c2 (not) → 1 ÷ 2; c7 is answered but not a question.
    assert pick(frame, "C2", account="x:ichongqing_")["value"] == 0.5
    assert pick(frame, "C1", account="x:ichongqing_")["value"] == pytest.approx(2 / 3)
    assert pick(frame, "C2", account="x:hangzhou_china")["status"] == "absent"


def test_c3_median_first_reply_hours_and_bucket_shares() -> None:
    comments = [
        comment("r1", first_reply_hours=1.0, is_replied_7d=True),
        comment("r2", first_reply_hours=5.0, is_replied_7d=True),
        comment("r3", first_reply_at="2026-11-17T13:00Z", is_replied_7d=True),  # 03:00 → 13:00 = 10 h, from the instants
        comment("r4", first_reply_hours=30.0, is_replied_7d=True),
        comment("n1"), comment("n2"),
        comment("b1", account="x:hangzhou_china"), comment("b2", account="x:hangzhou_china"),
    ]
    frame = run(make_facts(fct_post=POSTS, fct_comment=comments))
    head = pick(frame, "C3", account="x:ichongqing_")
    # median(1, 5, 10, 30) = (5 + 10) ÷ 2 = 7.5 h over the 4 answered comments.
    assert (head["value"], head["n"], head["unit"]) == (7.5, 4, "hours")
    # Of 6 eligible comments: 0–2 h 1, 2–8 h 1, 8–24 h 1, over 24 h 1, never 2.
    buckets = {b: pick(frame, "C3", account="x:ichongqing_", dimension=b)["value"] for b in ("0-2h", "2-8h", "8-24h", "over_24h", "never")}
    assert buckets == pytest.approx({"0-2h": 1 / 6, "2-8h": 1 / 6, "8-24h": 1 / 6, "over_24h": 1 / 6, "never": 2 / 6})
    # The benchmark answered nobody: no median, 100 % never.
    bench = pick(frame, "C3", account="x:hangzhou_china")
    assert (bench["status"], bench["note"]) == ("absent", "none of the 2 eligible comments got a reply from the account")
    assert pick(frame, "C3", account="x:hangzhou_china", dimension="never")["value"] == 1.0


def test_c4_negative_comments_replied_or_hidden() -> None:
    comments = [
        comment("n1", sentiment="negative", is_replied_7d=True),                   # replied
        comment("n2", sentiment="negative", is_hidden=True),                       # hidden
        comment("n3", sentiment="negative"),                                       # left alone
        comment("n4", sentiment="negative", is_spam=True),                         # spam: not counted
        comment("n5", sentiment="negative", first_reply_at="2026-11-27T03:00Z"),   # replied after 10 days: still handled
        comment("p1", sentiment="positive"),
    ]
    row = pick(run(make_facts(fct_post=POSTS, fct_comment=comments)), "C4", account="x:ichongqing_")
    # Handled n1, n2, n5 of n1, n2, n3, n5 → 3 ÷ 4.
    assert (row["value"], row["numerator"], row["denominator"]) == (0.75, 3.0, 4.0)
    assert "only replies and hiding count as handling" in row["note"]


def test_c5_visible_spam_over_all_comments() -> None:
    comments = [
        comment("s1", is_spam=True, is_hidden=False),   # visible
        comment("s2", is_spam=True, is_hidden=True),    # hidden in time
        comment("s3", is_spam=True, is_hidden=None),    # the export has no hidden flag: counted visible
        comment("o1"), comment("o2", is_top_level=False),
        comment("own", is_by_post_account=True),        # the account's own reply is not a comment received
    ]
    row = pick(run(make_facts(fct_post=POSTS, fct_comment=comments)), "C5", account="x:ichongqing_")
    # s1 and s3 of 5 comments → 0.4
    assert (row["value"], row["numerator"], row["denominator"]) == (0.4, 2.0, 5.0)
    assert row["note"].startswith("approximation:")


def test_c6_reply_gap_in_points_per_platform() -> None:
    frame = run(make_facts(fct_post=POSTS, fct_comment=reply_facts() + bench_and_facebook()))
    x = pick(frame, "C6", role="owned", platform="x")
    # Owned 1 ÷ 2 = 50 %, benchmark 3 ÷ 4 = 75 % → −25 points.
    assert (x["value"], x["unit"], x["n"]) == (pytest.approx(-25.0), "pp", 6)
    assert x["note"] == "owned 50.0 % (1/2) − benchmark 75.0 % (3/4)"
    fb = pick(frame, "C6", role="owned", platform="facebook")
    assert fb["status"] == "absent" and "benchmark accounts on facebook" in fb["note"]
    assert frame.filter((frame["kpi_id"] == "C6") & frame["platform"].is_null()).height == 0
