"""C1, C5 and D3 carry the range their value could take under the classifiers' measured error.

Every expected bound is worked out in the comments from a hand-built quality: spam precision 0.8–1.0
and recall 0.5–1.0; English sentiment precision and recall 0.5–1.0 for every class."""

from __future__ import annotations

import pytest

from tests.transforms.test_kpis import W47, ZONE, comment, make_facts, pick, post
from transforms.kpis import compute_kpis
from transforms.kpis.error import (
    NONE,
    ClassifierQuality,
    ClassQuality,
    load_quality,
    net_sentiment_bounds,
    quality_from_evaluation,
)

WIDE = ClassQuality(precision=(0.5, 1.0), recall=(0.5, 1.0))
QUALITY = ClassifierQuality(
    spam=ClassQuality(precision=(0.8, 1.0), recall=(0.5, 1.0)),
    sentiment={"en": {"positive": WIDE, "neutral": WIDE, "negative": WIDE}},
)


def run(comments, quality=QUALITY):
    return compute_kpis(make_facts(fct_post=[post("p1")], fct_comment=comments), W47, ZONE, [], quality)


def test_c1_and_c5_bounds_follow_the_spam_classifier_error():
    comments = [comment(f"r{i}", is_replied_7d=True) for i in range(2)] + [comment(f"o{i}") for i in range(6)]
    comments += [comment(f"s{i}", is_spam=True) for i in range(2)]
    frame = run(comments)
    c1 = pick(frame, "C1", account="x:ichongqing_")
    # 2 replied of 8 eligible; 2 predicted spam stand for 2×0.8/1 = 1.6 to 2×1/0.5 = 4 true spam of 10:
    # true non-spam 8.4 → 2/8.4, or 6 → 2/6.
    assert c1["value"] == 0.25
    assert (c1["value_low"], c1["value_high"]) == (pytest.approx(2 / 8.4), pytest.approx(2 / 6))
    c5 = pick(frame, "C5", account="x:ichongqing_")
    # 2 visible spam of 10: true 1.6 to 4 → 0.16 to 0.4.
    assert (c5["value"], c5["value_low"], c5["value_high"]) == (0.2, pytest.approx(0.16), pytest.approx(0.4))


def test_d3_bounds_cover_measured_languages_and_say_so():
    comments = [comment("p1", sentiment="positive", language="en"), comment("p2", sentiment="positive", language="en"),
                comment("n1", sentiment="negative", language="en"), comment("z1", sentiment="positive", language="zh")]
    d3 = pick(run(comments), "D3", account="x:ichongqing_")
    # Net 100 × (3 − 1) ÷ 4 = 50. English positives 2 → 1..4, negatives 1 → 0.5..2; Chinese +1 as classified:
    # low (1 − 2 + 1) ÷ 4 = 0, high (4 − 0.5 + 1) ÷ 4 = 112.5 → clipped to 100.
    assert d3["value"] == 50.0
    assert (d3["value_low"], d3["value_high"]) == (pytest.approx(0.0), 100.0)
    assert "covers classifier error for 3 of the 4 rated comments" in d3["note"]


def test_without_a_measured_classifier_there_is_no_interval():
    frame = run([comment("s1", is_spam=True), comment("o1", sentiment="positive", language="en")], quality=NONE)
    for kpi in ("C1", "C5", "D3"):
        row = pick(frame, kpi, account="x:ichongqing_")
        assert row["value"] is not None and row["value_low"] is None and row["value_high"] is None
    assert net_sentiment_bounds(QUALITY, {}) is None


def test_the_shipped_quality_comes_from_the_published_evaluation():
    shipped = load_quality()
    assert shipped.spam is not None and set(shipped.sentiment) == {"en", "es", "fr", "de", "ar", "pt", "it"}
    low, high = shipped.spam.precision
    assert 0 < low <= high <= 1
    evaluation = {"spam": {"overall": {"precision": [0.9, 0.8, 1.0], "recall": [0.7, 0.6, 0.8]}},
                  "sentiment": {"hi": {"shipped": False}}}
    built = quality_from_evaluation(evaluation)
    assert built.spam == ClassQuality((0.8, 1.0), (0.6, 0.8)) and built.sentiment == {}
