"""The weekly report and the index: pure rendering from small hand-built KPI frames."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cityimage.citypack import LiveReference, load_pack
from publish.report import index_headline, render_index, render_week, write_report
from transforms.model import KPI_COLUMNS

CITY = "Chongqing"
CHONGQING = load_pack("chongqing")
WEEK = "2026-W47"
PREVIOUS = "2026-W46"

# A small catalogue in the shape of transforms/kpi_catalogue.yaml (id → name, definition, unit, finding).
CATALOGUE: dict[str, dict] = {
    "A1": {"name": "Posts published", "definition": "Posts by the account published in the week.", "unit": "count", "finding": "c"},
    "A2": {"name": "Follower growth", "definition": "(Followers at week end − at week start) ÷ at week start.", "unit": "ratio", "finding": "e"},
    "A3": {"name": "Engagement rate by followers", "definition": "Median over the week's posts of E ÷ followers at posting time.", "unit": "ratio", "finding": "b, c"},
    "A4": {"name": "Engagement rate by reach", "definition": "Median of E ÷ reach; owned accounts only.", "unit": "ratio", "finding": "c"},
    "A5": {"name": "Over-performing share", "definition": "Share of posts with E at 7 days ≥ 1.5 × the trimmed mean.", "unit": "ratio", "finding": "c"},
    "A6": {"name": "Engagements gained", "definition": "Growth of E over the week from consecutive exports.", "unit": "count", "finding": "c"},
    "B1": {"name": "Theme share", "definition": "Posts carrying the theme ÷ posts.", "unit": "ratio", "finding": "a"},
    "B2": {"name": "Culture resonance", "definition": "(E on culture posts ÷ E on all posts) ÷ culture post share.", "unit": "index", "finding": "a"},
    "B3": {"name": "Format mix and diversity", "definition": "Share per format and the normalized Shannon entropy.", "unit": "ratio", "finding": "c"},
    "B4": {"name": "Video lift", "definition": "Median A4 of video posts ÷ median A4 of image posts.", "unit": "index", "finding": "c"},
    "C1": {"name": "Reply rate", "definition": "Eligible user comments that got a reply within 7 days ÷ eligible user comments.", "unit": "ratio", "finding": "b"},
    "C2": {"name": "Question answer rate", "definition": "C1 restricted to questions.", "unit": "ratio", "finding": "b"},
    "C3": {"name": "First-reply time", "definition": "Median hours to the first reply, and the share per bucket.", "unit": "hours", "finding": "b"},
    "C4": {"name": "Negative-comment handling", "definition": "Negative comments replied to, hidden or removed ÷ negative comments.", "unit": "ratio", "finding": "b"},
    "C5": {"name": "Spam exposure", "definition": "Spam visible 72 h after posting ÷ all comments.", "unit": "ratio", "finding": "b"},
    "C6": {"name": "Reply gap to benchmark", "definition": "C1 owned − C1 benchmark, in percentage points.", "unit": "pp", "finding": "b"},
    "D1": {"name": "User-generated mentions", "definition": "Posts by public accounts that mention the city.", "unit": "count", "finding": "d"},
    "D2": {"name": "City-label share", "definition": "Mentions carrying the label ÷ mentions.", "unit": "ratio", "finding": "d"},
    "D3": {"name": "Net sentiment", "definition": "(positive − negative) ÷ rated × 100.", "unit": "score", "finding": "b, d"},
    "D4": {"name": "Lynch element coverage", "definition": "Share of place mentions per element; coverage = elements ≥ 5 % ÷ 5.", "unit": "ratio", "finding": "g"},
    "D5": {"name": "Travel intent", "definition": "Intent comments ÷ non-spam comments; conversion = intent ÷ positive.", "unit": "ratio", "finding": "h"},
    "E1": {"name": "Video completion", "definition": "Average percentage viewed.", "unit": "ratio", "finding": "c"},
    "E2": {"name": "Livestream pack", "definition": "Per live: views, peak and average concurrent viewers, engagement per view, comments per 1,000 views.", "unit": "mixed", "finding": "c"},
    "F1": {"name": "Language breadth", "definition": "Languages with at least one owned post.", "unit": "count", "finding": "e"},
    "F2": {"name": "Country breadth", "definition": "Countries with at least 0.5 % of views.", "unit": "count", "finding": "e"},
    "F3": {"name": "Multi-language asset reach", "definition": "Total views of the language versions of one asset.", "unit": "count", "finding": "e"},
    "F4": {"name": "Search visibility", "definition": "Mean of max(0, (51 − position) ÷ 50) over tracked keywords.", "unit": "score", "finding": "f"},
    "F5": {"name": "Search demand captured", "definition": "Clicks, impressions and CTR on tracked keywords.", "unit": "count", "finding": "f"},
}

MANIFEST: dict[str, Any] = {
    "code_version": "0.1.0+abc1234",
    "lexicon_version": "1",
    "inputs": [{"file_name": "ichongqing_posts.csv", "detected_format": "facebook.insights_post", "rows_read": 120,
                "rows_loaded": 118, "rows_quarantined": 2, "rows_skipped": 0, "rows_duplicate": 0, "file_sha256": "ab" * 32}],
    "validation_warnings": [{"table": "stg_comment", "expectation": "expect_column_values_to_not_be_null",
                             "unexpected_count": 3, "message": "3 comments without a timestamp"}],
    "classifier_report": [{"classifier": "theme", "class": "culture", "precision": 0.91, "recall": 0.84, "support": 57}],
}


def row(kpi: str, value: float | None, *, week: str = WEEK, role: str = "owned", scope: str = "role",
        platform: str | None = None, account: str | None = None, dimension: str | None = None, unit: str = "ratio",
        status: str = "ok", note: str | None = None, num: float | None = None, den: float | None = None,
        n: int | None = None) -> dict[str, Any]:
    return {"week_id": week, "kpi_id": kpi, "kpi_name": CATALOGUE.get(kpi, {}).get("name", kpi), "scope": scope,
            "platform": platform, "account_key": account, "role": role, "dimension": dimension,
            "value": None if status == "absent" else value, "numerator": num, "denominator": den, "n": n,
            "unit": unit, "status": status, "note": note}


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=KPI_COLUMNS)


def week_rows(week: str, step: int) -> list[dict[str, Any]]:
    """A plausible full week in the shape transforms/kpis produces: every KPI, owned vs benchmark, roles
    across platforms and per platform, account rows, some flagged or absent."""
    k = step  # 0 for the oldest week, growing
    r: list[dict[str, Any]] = []
    add = r.append

    def pick(*values: float) -> float:
        return values[k % len(values)]

    c1, b1 = pick(0.03, 0.04, 0.05, 0.08), pick(0.39, 0.41, 0.40, 0.42)
    add(row("C1", c1, week=week, num=round(c1 * 250), den=250))
    add(row("C1", b1, week=week, role="benchmark", num=round(b1 * 180), den=180))
    for platform, o, b in (("facebook", c1 + 0.01, b1 + 0.05), ("instagram", c1 - 0.01, b1 - 0.04), ("x", c1, b1)):
        add(row("C1", o, week=week, platform=platform, num=round(o * 90), den=90))
        add(row("C1", b, week=week, platform=platform, role="benchmark", num=round(b * 60), den=60))
        add(row("C6", round((o - b) * 100, 1), week=week, platform=platform, unit="pp"))  # no cross-platform C6
    add(row("C1", c1, week=week, scope="account", platform="facebook", account="facebook:ichongqing", num=9, den=90))
    add(row("A1", pick(11, 14, 12, 15), week=week, unit="count"))
    add(row("A1", pick(21, 19, 22, 20), week=week, role="benchmark", unit="count"))
    add(row("A2", pick(0.0031, 0.0029, 0.0035, 0.0042), week=week))
    add(row("A2", pick(0.0061, 0.0058, 0.0064, 0.0060), week=week, role="benchmark"))
    add(row("A3", pick(0.0041, 0.0038, 0.0044, 0.0047), week=week, n=15))
    add(row("A3", pick(0.0112, 0.0118, 0.0109, 0.0121), week=week, role="benchmark", n=20))
    add(row("A4", pick(0.019, 0.021), week=week, platform="facebook", n=9))  # per platform only
    add(row("A4", 0.034, week=week, platform="youtube", n=4))
    add(row("A5", pick(0.0, 0.08), week=week, num=pick(0, 1), den=12))
    add(row("A5", 0.15, week=week, role="benchmark", num=3, den=20))
    add(row("A6", pick(5100, 5400), week=week, unit="count"))
    add(row("A6", pick(11800, 12100), week=week, role="benchmark", unit="count"))
    for theme, o, b in (("culture", 0.07 + 0.01 * k, 0.21), ("food", pick(0.33, 0.31), 0.18), ("scenery", 0.28, pick(0.22, 0.24)),
                        ("economy", pick(0.15, 0.17), 0.09), ("livelihood", 0.08, 0.07), ("infrastructure", 0.12, 0.06),
                        ("events", 0.04, pick(0.09, 0.11)), ("other", 0.05, 0.04)):
        add(row("B1", o, week=week, dimension=theme))
        add(row("B1", b, week=week, role="benchmark", dimension=theme))
    add(row("B2", 0.82 + 0.05 * k, week=week, unit="index"))
    add(row("B2", 0.08 * (0.82 + 0.05 * k), week=week, dimension="engagement_share", num=410, den=5000))
    add(row("B2", 0.08, week=week, dimension="post_share", num=1, den=12))
    add(row("B2", 1.31, week=week, role="benchmark", unit="index"))
    for fmt, o, b in (("image", pick(0.66, 0.62), 0.35), ("carousel", 0.1, 0.15), ("video", pick(0.14, 0.18), 0.2),
                      ("short_video", 0.06, 0.22), ("live", 0.02, 0.05), ("text", 0.02, 0.03)):
        add(row("B3", o, week=week, dimension=fmt))
        add(row("B3", b, week=week, role="benchmark", dimension=fmt))
    add(row("B3", pick(0.58, 0.61), week=week, dimension="entropy", unit="index"))
    add(row("B3", 0.88, week=week, role="benchmark", dimension="entropy", unit="index"))
    add(row("B4", 1.8, week=week, platform="facebook", unit="index"))
    add(row("B4", None, week=week, platform="youtube", unit="index", status="absent",
            note="no image post with E and views in the week"))
    add(row("C2", 0.0, week=week, num=0, den=14))
    add(row("C2", 0.57, week=week, role="benchmark", num=8, den=14))
    add(row("C3", pick(33.0, 31.5), week=week, unit="hours", n=20))
    add(row("C3", 3.2, week=week, role="benchmark", unit="hours", n=75))
    for bucket, o, b in (("0-2h", 0.0, 0.18), ("2-8h", 0.01, 0.14), ("8-24h", 0.02, 0.06), ("over_24h", 0.05, 0.04),
                         ("never", 0.92, 0.58)):
        add(row("C3", o, week=week, dimension=bucket))
        add(row("C3", b, week=week, role="benchmark", dimension=bucket))
    add(row("C4", 0.0, week=week, num=0, den=9))
    add(row("C4", 0.62, week=week, role="benchmark", num=5, den=8))
    add(row("C5", pick(0.05, 0.071), week=week, num=pick(13, 18), den=254))
    add(row("C5", 0.008, week=week, role="benchmark", num=2, den=250))
    add(row("D1", 340 + 10 * k, week=week, role="public", unit="count"))
    labels = (("mountain city", 0.31), ("hotpot", 0.22), ("8D city", 0.18), ("cyberpunk", 0.12), ("bridge city", 0.09),
              ("largest municipality", 0.05), ("fog city", 0.03))
    for rank, (label, v) in enumerate(labels, start=1):
        add(row("D2", v, week=week, role="public", dimension=label, num=round(v * 370), den=370))
        add(row("D2", rank, week=week, role="public", dimension=f"rank:{label}", unit="rank", n=round(v * 370)))
    add(row("D3", pick(18.0, 22.5), week=week, unit="score", n=180))
    add(row("D3", 41.0, week=week, role="benchmark", unit="score", n=160))
    add(row("D3", 15.2, week=week, role="public", unit="score", n=300))
    add(row("D3", 0.12, week=week, role="public", dimension="not_rated_share", num=41, den=341))
    add(row("D4", 0.8, week=week, role="public"))
    add(row("D4", 0.4, week=week))
    for element, v, o in (("path", 0.22, 0.1), ("edge", 0.04, 0.0), ("district", 0.18, 0.3), ("node", 0.11, 0.02),
                          ("landmark", 0.45, 0.58)):
        add(row("D4", v, week=week, role="public", dimension=element))
        add(row("D4", o, week=week, dimension=element))
    add(row("D5", 0.012, week=week, num=3, den=250))
    add(row("D5", 0.045, week=week, role="benchmark", num=8, den=178))
    add(row("D5", 0.05, week=week, dimension="conversion", num=3, den=60))
    add(row("D5", 0.11, week=week, role="benchmark", dimension="conversion", num=8, den=72))
    add(row("E1", 0.41, week=week, platform="youtube", status="flagged", note="young cohort: 3 posts measured at 4 days"))
    lives = ((("yt-Hx81", 84_000, 2_300, 610, 900, 70), ("yt-Dz07", 26_500, 950, 180, 240, 19)) if k == 3
             else (("yt-Cb22", 61_000, 1_900, 420, 610, 41),))

    def pack(prefix: str, views: float, peak: float, avg: float, likes: float, comments: float, **where: Any) -> None:
        add(row("E2", views, week=week, dimension=f"{prefix}:views", unit="count", **where))
        add(row("E2", peak, week=week, dimension=f"{prefix}:peak_concurrent_viewers", unit="count", **where))
        add(row("E2", avg, week=week, dimension=f"{prefix}:avg_concurrent_viewers", unit="count", **where))
        add(row("E2", 0.21, week=week, dimension=f"{prefix}:watch_ratio", **where))
        add(row("E2", (likes + comments) / views, week=week, dimension=f"{prefix}:engagement_per_view", **where))
        add(row("E2", comments / views * 1000, week=week, dimension=f"{prefix}:comments_per_1000_views", unit="per_1000", **where))

    account = {"scope": "account", "platform": "youtube", "account": "youtube:ichongqing"}
    for live in lives:
        pack(*live, **account)
    total = [sum(live[i] for live in lives) for i in (1, 2, 3, 4, 5)]
    total[1], total[2] = max(live[2] for live in lives), total[2] / len(lives)
    for where in ({}, {"platform": "youtube"}, account):
        add(row("E2", len(lives), week=week, dimension="total:lives", unit="count", **where))
        pack("total", *total, **where)
    add(row("E2", 0, week=week, role="benchmark", dimension="total:lives", unit="count"))
    for measure, unit in (("views", "count"), ("peak_concurrent_viewers", "count"), ("avg_concurrent_viewers", "count"),
                          ("watch_ratio", "ratio"), ("engagement_per_view", "ratio"), ("comments_per_1000_views", "per_1000")):
        add(row("E2", None, week=week, role="benchmark", dimension=f"total:{measure}", unit=unit, status="absent",
                note="no livestream in the week"))
    add(row("F1", 4, week=week, unit="count"))
    add(row("F1", 0.09, week=week, dimension="non_en_zh_share", num=1, den=11))
    for code, count in (("en", 8), ("zh", 2), ("fr", 1)):
        add(row("F1", count, week=week, dimension=f"language:{code}", unit="count"))
    for country, v in (("US", 0.21), ("IN", 0.12), ("PK", 0.08), ("BR", 0.05)):
        add(row("F2", v, week=week, dimension=f"country:{country}"))
    add(row("F2", 14, week=week, unit="count"))
    for measure, v in (("versions", 7), ("views", 233_000), ("languages", 7), ("countries", 61)):
        add(row("F3", v, week=week, dimension=f"hotpot-in-7-languages:{measure}", unit="count",
                note="en, zh, ru, fr, de, es, ar" if measure == "languages" else None))
    for kpi, dims in (("F4", ((None, "score"), ("top50_share", "ratio"))),
                      ("F5", ((None, "ratio"), ("clicks", "count"), ("impressions", "count")))):
        for dim, unit in dims:
            add(row(kpi, None, week=week, dimension=dim, unit=unit, status="absent",
                    note="no search-console export with query rows in the week"))
    return r


def history_frames(weeks: tuple[str, ...] = ("2026-W44", "2026-W45", PREVIOUS, WEEK)) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [r for i, w in enumerate(weeks) for r in week_rows(w, i)]
    history = frame(rows)
    return history.filter(pl.col("week_id") == weeks[-1]), history


def render(kpis: pl.DataFrame, history: pl.DataFrame | None = None, manifest: dict | None = None,
           live_reference: LiveReference | None = CHONGQING.livestream_reference) -> str:
    return render_week(WEEK, kpis, kpis if history is None else history, CATALOGUE,
                       MANIFEST if manifest is None else manifest, CITY, live_reference=live_reference,
                       city_context=CHONGQING.report_context)


def text_of(html: str) -> str:
    """The visible text of a page, tags removed and whitespace collapsed."""

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.skip += tag in ("style", "script", "svg")

        def handle_endtag(self, tag: str) -> None:
            self.skip -= tag in ("style", "script", "svg")

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts)).replace("\u00a0", " ")


def block_text(html: str, kpi: str) -> str:
    """The text of a KPI's block, or of its row when it shares a compact table with other single figures."""
    match = (re.search(rf'<div class="block" id="kpi-{kpi}">(.*?)(?=<div class="block|</section>)', html, re.S)
             or re.search(rf'<tr id="kpi-{kpi}">(.*?)</tr>', html, re.S))
    assert match, f"no block for {kpi}"
    return text_of(match.group(1))


# --------------------------------------------------------------------------------------------------


def test_every_section_appears() -> None:
    kpis, history = history_frames()
    html = render(kpis, history)
    for anchor in ("headline", "trends", "posting", "culture", "formats", "conversation", "image", "livestreams",
                   "languages", "search", "quality", "definitions"):
        assert f'<section id="{anchor}">' in html, anchor
    text = text_of(html)
    for heading in ("At a glance", "Trends over the weeks", "Culture in the feed", "Formats and video",
                    "Conversation: replies and moderation", "How the city is seen", "Livestreams",
                    "Reach through languages", "Search visibility", "Validation warnings", "How each figure is defined"):
        assert heading in text, heading
    for kpi in CATALOGUE:
        assert f'id="def-{kpi}"' in html, kpi
        if kpi != "C6":  # C6 is the gap column of C1's table
            assert f'id="kpi-{kpi}"' in html, kpi
    # trends, theme mix, format mix, reply buckets, labels and Lynch elements are charts
    assert html.count("<svg") == 8
    assert "3 comments without a timestamp" in text and "ichongqing_posts.csv" in text


def test_headline_shows_owned_benchmark_gap_and_deltas() -> None:
    kpis, history = history_frames()
    text = text_of(render(kpis, history))
    glance = text[text.index("At a glance"):text.index("Trends over the weeks")]
    assert "Reply rate C1 Owned 8.0 % ▲ 3.0 pp 20 of 250" in glance
    assert "Benchmark 42.0 % ▲ 2.0 pp" in glance
    assert "Gap (C6), Facebook −38.0 pp ▲ 1.0 pp" in glance and "Gap (C6), X −34.0 pp" in glance
    assert "Posts published A1 Owned 15 ▲ 3" in glance
    assert "Net sentiment D3 Owned +22.5 ▲ 4.5" in glance


@pytest.mark.parametrize(("before", "after", "shown"), [
    (0.05, 0.08, "▲ 3.0 pp"),
    (0.08, 0.05, "▼ 3.0 pp"),
    (0.05, 0.05, "= 0.0 pp"),
    (0.40, 0.425, "▲ 2.5 pp"),
])
def test_delta_against_previous_week_in_percentage_points(before: float, after: float, shown: str) -> None:
    history = frame([row("C1", before, week=PREVIOUS), row("C1", after)])
    html = render(history.filter(pl.col("week_id") == WEEK), history)
    assert f"{after * 100:.1f} % {shown}" in block_text(html, "C1")


def test_delta_tone_follows_which_way_is_better() -> None:
    history = frame([row("C1", 0.05, week=PREVIOUS), row("C1", 0.08), row("C5", 0.01, week=PREVIOUS), row("C5", 0.03),
                     row("C1", 0.5, week=PREVIOUS, role="benchmark"), row("C1", 0.4, role="benchmark")])
    html = render(history.filter(pl.col("week_id") == WEEK), history)
    assert re.search(r'class="d good"[^>]*>▲\u00a03\.0\u00a0pp', html)      # reply rate up: good
    assert re.search(r'class="d bad"[^>]*>▲\u00a02\.0\u00a0pp', html)       # spam exposure up: bad
    assert re.search(r'class="d neutral"[^>]*>▼\u00a010\.0\u00a0pp', html)  # the benchmark's change: no judgement


def test_no_delta_without_a_previous_week_and_none_from_an_absent_one() -> None:
    history = frame([row("C1", None, week=PREVIOUS, status="absent", note="no comments export"), row("C1", 0.08)])
    html = render(history.filter(pl.col("week_id") == WEEK), history)
    assert "▲" not in block_text(html, "C1") and "▼" not in block_text(html, "C1")
    html = render(frame([row("C1", 0.08)]))
    assert "no earlier week to compare" in text_of(html)


def test_absent_kpi_reads_not_available_with_its_reason_never_zero() -> None:
    kpis = frame([
        row("C1", 0.0, status="absent", note="no comment export for Facebook this week"),
        row("C1", 0.42, role="benchmark"),
        row("F4", None, unit="score", status="absent", note="no search-console export"),
    ])
    html = render(kpis)
    c1 = block_text(html, "C1")
    assert "not available no comment export for Facebook this week" in c1
    assert "0.0 %" not in c1
    glance = text_of(html)[: text_of(html).index("Trends over the weeks")]
    assert "Reply rate C1 Owned not available no comment export for Facebook this week" in glance
    assert "not available no search-console export" in block_text(html, "F4")
    # a KPI with no row at all is not available too, and says so
    assert re.search(r"not available (— )?not in this week's snapshot", block_text(html, "B2"))


def test_flagged_kpi_has_a_marker_and_its_note() -> None:
    kpis = frame([row("A3", 0.0047, status="flagged", note="young cohort: measured at 3 days")])
    html = render(kpis)
    a3 = block_text(html, "A3")
    assert "0.47 % ⚑" in a3 and "⚑ young cohort: measured at 3 days" in a3
    assert "young cohort: measured at 3 days" in text_of(html)[: text_of(html).index("Trends over the weeks")]


def test_untrusted_text_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    kpis = frame([
        row("B1", 0.3, dimension=evil),
        row("B1", 0.2, role="benchmark", dimension=evil),
        row("D2", 0.4, role="public", dimension='mountain "city" <b>'),
        row("C1", 0.1, status="flagged", note='said "hi" & <img src=x onerror=alert(1)>'),
        row("A1", 3, scope="account", account="facebook:<evil>", platform="facebook", unit="count"),
    ])
    catalogue = dict(CATALOGUE, A1={"name": "Posts <i>", "definition": 'Count of "posts" & <u>more</u>', "unit": "count"})
    manifest = dict(MANIFEST, validation_warnings=[{"table": "t", "expectation": "e", "unexpected_count": 1,
                                                    "message": "<script>x()</script>"}])
    html = render_week(WEEK, kpis, kpis, catalogue, manifest, "<Chongqing>")
    assert "<script" not in html.lower()
    assert "<img" not in html and "<b>" not in html and "<i>" not in html and "<u>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "said &#34;hi&#34; &amp; &lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;Chongqing&gt;" in html and "facebook:&lt;evil&gt;" in html
    assert not re.search(r"<[^>]*\son\w+\s*=", html)


def test_text_that_looks_like_code_is_only_text() -> None:
    odd = 'javascript: once = "x" onload=alert(1) url(http://x)'
    kpis = frame([row("B1", 0.3, dimension=odd), row("B1", 0.2, role="benchmark", dimension=odd),
                  row("D2", 0.4, role="public", dimension="<svg onload=alert(1)>")])
    html = render(kpis)
    assert html.count("<svg") == 2  # both charts drawn, with the text as labels
    assert "avascript: once = &#34;x&#34; onload=alert(1) url(http://x)" in html  # capitalised as a label
    assert _resource_loads(html) == []


def _resource_loads(html: str) -> list[str]:
    """Everything in the markup that would make a browser fetch or run something (text does not count)."""
    found: list[str] = []
    fetching = {"src", "srcset", "poster", "data", "action", "formaction", "background", "manifest", "ping"}
    url = re.compile(r"url\(\s*['\"]?\s*(?!#|data:)|@import", re.I)

    class Loads(HTMLParser):
        in_style = False

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.in_style = tag == "style"
            if tag in ("script", "link", "iframe", "object", "embed", "img", "image", "video", "audio", "source", "base"):
                found.append(f"<{tag}>")
            for name, value in attrs:
                value = (value or "").strip()
                if name in fetching and not value.startswith("data:"):
                    found.append(f"{tag} {name}={value}")
                if name in ("href", "xlink:href") and tag != "a" and not value.startswith("#"):
                    found.append(f"{tag} {name}={value}")
                if name == "style" and url.search(value):
                    found.append(f"{tag} style={value}")
                if name.startswith("on"):
                    found.append(f"{tag} {name}")

        def handle_endtag(self, tag: str) -> None:
            self.in_style = False if tag == "style" else self.in_style

        def handle_data(self, data: str) -> None:
            if self.in_style and url.search(data):
                found.append(f"<style> {url.search(data).group(0)}")

    Loads().feed(html)
    return found


def test_no_network_resources_in_the_output() -> None:
    kpis, history = history_frames()
    html = render(kpis, history)
    assert _resource_loads(html) == []
    assert "http://" not in html and "https://" not in html  # not even the SVG namespace
    assert _resource_loads('<img src="https://x/y.png"><link href="//cdn/x.css"><p style="background:url(http://x)">') == [
        "<img>", "img src=https://x/y.png", "<link>", "link href=//cdn/x.css", "p style=background:url(http://x)"]
    assert "default-src 'none'" in html
    index = render_index([{"week_id": WEEK, "path": f"{WEEK}.html", "headline": index_headline(kpis)}], CITY)
    assert _resource_loads(index) == [] and "http:" not in index and "https:" not in index


def test_links_in_text_are_kept_as_text() -> None:
    kpis = frame([row("C1", 0.1, status="flagged", note="see https://example.org/notes for details")])
    html = render(kpis)
    assert "see https://example.org/notes for details" in text_of(html)
    assert _resource_loads(html) == []


def test_rendering_is_deterministic() -> None:
    kpis, history = history_frames()
    first = render(kpis, history)
    assert render(kpis, history) == first
    shuffled = history.sample(fraction=1.0, shuffle=True, seed=7)
    assert render(shuffled.filter(pl.col("week_id") == WEEK), shuffled) == first


def test_renders_with_empty_inputs() -> None:
    empty = frame([])
    html = render_week(WEEK, empty, empty, {}, {}, CITY)
    text = text_of(html)
    assert "not available" in text and "No validation warnings" in text
    assert "The KPI catalogue was not available" in text
    assert "<svg" not in html
    html = render_week(WEEK, pl.DataFrame(), pl.DataFrame(), CATALOGUE, {}, CITY)
    assert 'id="def-F5"' in html


def test_quality_lists_only_the_weeks_files_folded_with_the_gates_counts_and_notes() -> None:
    kpis, history = history_frames()
    this_week = {"file_name": "posts_w47.csv", "detected_format": "facebook.insights_post", "rows_read": 5,
                 "rows_loaded": 5, "file_sha256": "cd" * 32, "in_week": True}
    older = this_week | {"file_name": "posts_w40.csv", "file_sha256": "ef" * 32, "in_week": False}
    manifest = MANIFEST | {
        "inputs": [older, this_week],
        "validation": {"expectations": 215, "passed": 214, "fallbacks": 1,
                       "notes": ["Data Docs could not be built in /x: OSError: disk full"]},
    }

    html = render(kpis, history, manifest)

    quality = text_of(html.split('<section id="quality">')[1].split("</section>")[0])
    assert "posts_w47.csv" in quality and "posts_w40.csv" not in quality
    assert "1 file with rows dated in this week (of 2 loaded in all" in quality
    assert "in_week" not in html.split('<section id="quality">')[1]
    assert re.search(r'<details id="inputs">\s*<summary>', html)
    assert "215 expectations checked, 214 passed; 1 checked directly in DuckDB" in quality
    assert "Data Docs could not be built in /x: OSError: disk full" in quality


def test_pages_link_the_neighbouring_weeks_and_the_kpi_csv() -> None:
    kpis, history = history_frames()
    html = render_week(WEEK, kpis, history, CATALOGUE, MANIFEST, CITY,
                       published=["2026-W45", WEEK, "2026-W48"], kpi_csv=f"{WEEK}.kpis.csv")
    assert '<a rel="prev" href="2026-W45.html">' in html and '<a rel="next" href="2026-W48.html">' in html
    assert f'href="{WEEK}.kpis.csv" download' in html
    alone = render_week(WEEK, kpis, history, CATALOGUE, MANIFEST, CITY, published=[WEEK], kpi_csv="javascript:x")
    assert 'rel="prev"' not in alone and 'rel="next"' not in alone and "javascript:" not in alone


def test_a_figure_on_few_items_is_marked_few_and_a_count_never_is() -> None:
    kpis = frame([row("A3", 0.04, n=3), row("A3", 0.05, role="benchmark", n=40),
                  row("A1", 2.0, unit="count", n=2)])
    html = render(kpis)
    assert block_text(html, "A3").count("few") == 1
    assert "few" not in text_of(html.split('id="kpi-A1"')[1].split("</tr>")[0])


def test_top_posts_list_owned_and_benchmark_posts_with_safe_links_only() -> None:
    posts = pl.DataFrame([
        {"platform": "youtube", "post_id": "v1", "role": "owned", "title": "Hotpot <b>night</b>", "text": None,
         "format": "video", "themes": ["food"], "engagements": 900, "views": 12000, "post_url": "https://youtu.be/v1"},
        {"platform": "x", "post_id": "t1", "role": "owned", "title": None, "text": "Bridges", "format": "text",
         "themes": [], "engagements": 10, "views": None, "post_url": "javascript:alert(1)"},
        {"platform": "x", "post_id": "t2", "role": "public", "title": None, "text": "a stranger", "format": "text",
         "themes": [], "engagements": 5000, "views": 1, "post_url": "https://x.com/stranger/status/1"},
        {"platform": "facebook", "post_id": "f1", "role": "benchmark", "title": None, "text": "West Lake",
         "format": "image", "themes": ["scenery"], "engagements": 50, "views": 700, "post_url": None},
    ])
    html = render_week(WEEK, *history_frames(), CATALOGUE, MANIFEST, CITY, top_posts=posts)
    section = html.split('<section id="top-posts">')[1].split("</section>")[0]
    text = text_of(section)
    assert text.index("Hotpot <b>night</b>") < text.index("Bridges") < text.index("West Lake")
    assert "a stranger" not in text and "stranger" not in section  # public authors stay out
    assert '<a href="https://youtu.be/v1" rel="noopener noreferrer external">' in section
    assert "javascript:" not in html and "<b>night" not in section
    assert _resource_loads(html) == []
    assert '<a href="#top-posts">' in html


def test_the_week_is_told_in_sentences_from_the_headline_figures() -> None:
    html = render(*history_frames())
    story = text_of(html.split('<div class="story">')[1].split("</div>")[0])
    assert "Reply rate (C1): owned 8.0 %, benchmark 42.0 % (owned behind)." in story
    assert "Posts published (A1): owned 15, benchmark 20." in story  # no better side for a count of posts
    assert story.endswith("Biggest change since week 2026-W46: Reply rate, up from 5.0 % in 2026-W46 (▲ 3.0 pp), "
                          "for the better.")
    thin = text_of(render(frame([row("C1", 0.5, n=2)])).split('<div class="story">')[1].split("</div>")[0])
    assert thin == "Reply rate (C1): owned 50.0 %; few items, read with care."
    assert '<div class="story">' not in render(frame([]))


def test_percentages_and_numbers_are_formatted() -> None:
    kpis = frame([row("A1", 1234, unit="count"), row("A3", 0.00471), row("C3", 31.46, unit="hours"),
                  row("C6", -34.04, unit="pp"), row("D3", -4.5, unit="score"), row("B2", 0.823, unit="index")])
    text = text_of(render(kpis))
    assert "1,234" in text and "0.47 %" in text and "31.5 h" in text and "−34.0 pp" in text
    assert "−4.5" in text and "0.82" in text


def test_classifier_error_ranges_stand_beside_their_figures() -> None:
    c1 = row("C1", 0.25) | {"value_low": 0.238, "value_high": 0.333}
    d3 = row("D3", 50.0, unit="score") | {"value_low": 0.0, "value_high": 100.0}
    text = text_of(render(frame([c1, d3, row("A3", 0.0047)])))
    assert "25.0 % (23.8 %–33.3 %)" in text
    assert "+50.0 (+0.00–+100.0)" in text
    assert "0.47 % (" not in text  # a KPI without a classifier range shows none


def test_per_platform_rows_and_account_rows_are_listed() -> None:
    kpis, history = history_frames()
    html = render(kpis, history)
    c1 = block_text(html, "C1")
    for platform in ("All platforms", "Facebook", "Instagram", "X"):
        assert platform in c1
    assert "By account (1 row)" in c1 and "facebook:ichongqing" in c1
    b1 = block_text(html, "B1")
    assert re.search(r'<tr class="hl"><td>Culture', html), "culture row highlighted"
    assert b1.index("Culture") < b1.index("Food") < b1.index("Other")


def test_livestreams_compare_with_the_papers_reference() -> None:
    kpis, history = history_frames()
    html = render(kpis, history)
    assert html.count('id="live-table"') == 1
    match = re.search(r'id="live-table">(.*?)</table>', html, re.S)
    assert match
    live = text_of(match.group(1))
    assert "yt-Hx81" in live and "84,000" in live and "2,300" in live and "610" in live
    assert "27 %" in live  # average ÷ peak = 610 / 2,300
    assert "1.15 % below ref." in live  # (900 + 70) / 84,000
    assert "Reference: the study's best live (2019) 954,000" in live and "1.39 %" in live and "1.31" in live
    # the owned week's total first, then each live by views; the benchmark's week without lives says so
    assert live.index("Week's total: 2 lives") < live.index("yt-Hx81") < live.index("yt-Dz07") < live.index("Week's total: no livestream")
    assert live.count("Week's total") == 2  # owned and benchmark across platforms; the YouTube and account totals repeat them


def test_a_city_pack_without_a_reference_live_shows_the_lives_alone() -> None:
    kpis, history = history_frames()
    html = render(kpis, history, live_reference=None)
    assert 'id="live-table"' not in html and 'class="ref"' not in html and "ref." not in html
    live = block_text(html, "E2")
    assert "yt-Hx81" in live and "1.15 %" in live and "study" not in live
    assert "Lynch" not in live


def test_multi_language_assets_are_one_row_per_asset() -> None:
    kpis, history = history_frames()
    f3 = block_text(render(kpis, history), "F3")
    assert re.search(r"hotpot-in-7-languages Owned · All platforms 7 (= 0 )?233,000 (= 0 )?7 (= 0 )?en, zh, ru, fr, de, es, ar 61", f3)


def test_dimension_ids_read_as_words() -> None:
    kpis, history = history_frames()
    html = render(kpis, history)
    assert "0–2 h" in block_text(html, "C3") and "Over 24 h" in block_text(html, "C3")
    d2 = block_text(html, "D2")
    assert "1 Mountain city 31.0 %" in d2 and "7 Fog city" in d2 and "rank:" not in d2
    assert "Posts in French" in block_text(html, "F1") and "Share of posts in neither English nor Chinese" in block_text(html, "F1")
    assert "Share not rated (language not covered)" in block_text(html, "D3")
    assert "Culture & heritage" in block_text(html, "B1") and "Short video" in block_text(html, "B3")


def test_a_city_label_goes_by_the_name_its_pack_gives_it() -> None:
    kpis = frame([row("D2", 0.3, role="public", dimension="3d_8d_magic", num=30, den=100),
                  row("D2", 0.2, role="public", dimension="ecommerce_capital", num=20, den=100)])
    for pack, magic, ecommerce in (("chongqing", "3D / 8D / magic city", "Ecommerce capital"),
                                   ("hangzhou", "3d 8d magic", "E-commerce capital")):
        names = load_pack(pack).label_names
        d2 = block_text(render_week(WEEK, kpis, kpis, CATALOGUE, MANIFEST, CITY, label_names=names), "D2")
        assert magic.lower() in d2.lower() and ecommerce in d2, (pack, d2)


def test_definitions_come_from_the_real_catalogue_when_it_is_there() -> None:
    kpis_module = pytest.importorskip("transforms.kpis")
    catalogue = kpis_module.load_catalogue()
    kpis, history = history_frames()
    html = render_week(WEEK, kpis, history, catalogue, MANIFEST, CITY)
    text = text_of(html)
    for kpi, entry in catalogue.items():
        assert f'id="def-{kpi}"' in html
        name = str(entry["name"])
        assert name[:1].upper() + name[1:] in text


def test_index_lists_weeks_newest_first_with_links() -> None:
    kpis, history = history_frames()
    weeks = [{"week_id": w, "path": f"{w}.html",
              "headline": index_headline(history.filter(pl.col("week_id") == w))}
             for w in ("2026-W44", "2026-W45", PREVIOUS, WEEK)]
    html = render_index(weeks, CITY)
    order = [m.group(1) for m in re.finditer(r'<a href="(2026-W\d\d)\.html">\1</a>', html)]
    assert order == [WEEK, PREVIOUS, "2026-W45", "2026-W44"]
    assert f'Latest: <a href="{WEEK}.html">week {WEEK}</a>' in html
    text = text_of(html)
    assert "Reply rate, owned" in text and "8.0 %" in text and "3.0 %" in text
    assert "16–22 Nov 2026" in text and "26 Oct – 1 Nov 2026" in text
    assert render_index(weeks, CITY) == render_index(list(reversed(weeks)), CITY)


def test_index_accepts_role_keyed_reply_rates_and_refuses_unsafe_links() -> None:
    html = render_index([{"week_id": WEEK, "path": "javascript:alert(1)", "headline": {"owned": 0.05, "benchmark": None}}], CITY)
    text = text_of(html)
    assert "Reply rate, owned" in text and "5.0 %" in text and "not available" in text
    assert "javascript:" not in html
    assert "No week has been published yet" in text_of(render_index([], CITY))


def test_write_report_is_atomic_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "reports" / f"{WEEK}.html"
    assert write_report(target, "<p>one</p>") == target
    assert target.read_text(encoding="utf-8") == "<p>one</p>"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_report(target, "<p>two</p>")
    assert target.read_text(encoding="utf-8") == "<p>one</p>"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_a_history_without_this_week_still_trends_to_it_and_later_weeks_are_ignored() -> None:
    kpis, history = history_frames()
    earlier = history.filter(pl.col("week_id") < WEEK)
    later = frame([row("C1", 0.9, week="2026-W48")])
    first = render(kpis, pl.concat([history, later]))
    assert first == render(kpis, history)
    assert render(kpis, earlier) == render(kpis, history)


def test_long_notes_become_numbered_footnotes_once_each() -> None:
    long = "1 of 2 posts measured younger than 7 days (latest export at 4.6 days): the figure will rise as later exports arrive"
    kpis = frame([row("A5", 0.1, status="flagged", note=long), row("A5", 0.2, role="benchmark", status="flagged", note=long),
                  row("A6", None, unit="count", status="absent", note="no export of the account's posts was taken in the week"),
                  row("A6", None, role="benchmark", unit="count", status="absent", note="x" * 80)])
    html = render(kpis)
    table = html[html.index('<tr id="kpi-A5">'):]
    table = table[:table.index("</ol>")]
    assert table.count('<sup class="fn">1</sup>') == 2 and table.count('<sup class="fn">2</sup>') == 1
    assert table.count(f"<li>{long}</li>") == 1 and f"<li>{'x' * 80}</li>" in table
    assert "not available</span><span class=\"why\">no export of the account&#39;s posts was taken in the week" in table


def test_rankings_are_numbered_and_long_ones_fold() -> None:
    rows = [row("F2", 30, unit="count")]
    rows += [row("F2", (40 - i) / 1000, dimension=f"country:C{i:02d}") for i in range(20)]
    html = render(frame(rows))
    f2 = html[html.index('id="kpi-F2"'):]
    f2 = f2[:f2.index("</section>")]
    visible, folded = f2.split("<details>", 1)
    assert 'class="rank">12</span>' in visible and 'class="rank">13</span>' not in visible
    assert "8 more" in folded and 'class="rank">20</span>' in folded


def test_a_kpis_presentation_and_section_come_from_its_catalogue_entry() -> None:
    from publish.formatting import PRESENT
    from publish.report import SECTIONS
    from transforms.kpis import load_catalogue

    catalogue = load_catalogue()
    assert set(PRESENT) == set(catalogue)
    placed = [kpi for section in SECTIONS for kpi in section.kpis]
    assert sorted(placed) == sorted(k for k, e in catalogue.items() if "section" in e.get("present", {}))
    assert len(placed) == len(set(placed)) and all(section.kpis for section in SECTIONS)
    assert [s.kpis for s in SECTIONS if s.anchor == "conversation"] == [("C1", "C3", "C2", "C4", "C5")]
    assert PRESENT["C5"].better == -1 and PRESENT["C1"].gap == "C6" and PRESENT["B1"].order[:1] == ("culture",)
