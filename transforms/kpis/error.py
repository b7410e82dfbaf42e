"""How far a KPI that counts classified comments could move if the classifiers were wrong as measured.

C1 (its denominator leaves spam out), C5 (it counts spam) and D3 (it counts sentiments) stand on the
comment classifiers. Their published quality (``transforms/models/evaluation.json``, written by
``cityimage train``) gives, per class and per language, precision P and recall R with 95 % intervals.
A count of comments predicted in a class then estimates the true count as ``predicted × P / R``; taking
the ends of the P and R intervals that push the estimate furthest each way gives a range of true
counts, and the KPI recomputed at both ends is the interval published beside it (``value_low``,
``value_high``). It covers classifier error only, not sampling error, and only the languages measured
on public data: comments of other languages are counted as classified (the KPI's note says how many).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: A measured (low, high) pair of precision or recall.
Interval = tuple[float, float]

SENTIMENT_CLASSES = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class ClassQuality:
    precision: Interval
    recall: Interval

    def true_count(self, predicted: float) -> tuple[float, float]:
        """(lowest, highest) true count consistent with ``predicted`` and the measured intervals."""
        p_lo, p_hi = self.precision
        r_lo, r_hi = self.recall
        low = predicted * p_lo / r_hi if r_hi > 0 else predicted
        high = predicted * p_hi / r_lo if r_lo > 0 else predicted
        return low, high


@dataclass(frozen=True)
class ClassifierQuality:
    """The measured quality the intervals are derived from: spam, and sentiment per language and class."""

    spam: ClassQuality | None
    sentiment: dict[str, dict[str, ClassQuality]]


NONE = ClassifierQuality(spam=None, sentiment={})


def _pair(figure: list[float]) -> Interval:
    return float(figure[1]), float(figure[2])


def quality_from_evaluation(evaluation: dict) -> ClassifierQuality:
    """From the ``evaluation.json`` document (only the languages whose model is shipped)."""
    spam_figures = evaluation.get("spam", {}).get("overall")
    spam = ClassQuality(_pair(spam_figures["precision"]), _pair(spam_figures["recall"])) if spam_figures else None
    sentiment: dict[str, dict[str, ClassQuality]] = {}
    for language, figures in evaluation.get("sentiment", {}).items():
        if not figures.get("shipped"):
            continue
        cv = figures["cross_validated"]
        sentiment[language] = {
            c: ClassQuality(_pair(cv[f"{c}_precision"]), _pair(cv[f"{c}_recall"])) for c in SENTIMENT_CLASSES
        }
    return ClassifierQuality(spam=spam, sentiment=sentiment)


@lru_cache(maxsize=4)
def load_quality(path: Path | None = None) -> ClassifierQuality:
    """The shipped models' measured quality; none (no intervals) when no model has been trained."""
    from transforms.textmodel import MODEL_DIR

    path = path or MODEL_DIR / "evaluation.json"
    if not path.exists():
        return NONE
    return quality_from_evaluation(json.loads(path.read_text(encoding="utf-8")))


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def spam_share_bounds(q: ClassifierQuality, spam: int, total: int) -> tuple[float, float] | None:
    """C5: bounds of the true share of spam among ``total`` comments, ``spam`` of them predicted spam."""
    if q.spam is None or not total:
        return None
    low, high = q.spam.true_count(spam)
    return _clip(low / total, 0.0, 1.0), _clip(high / total, 0.0, 1.0)


def reply_rate_bounds(q: ClassifierQuality, replied: int, eligible: int, spam: int) -> tuple[float, float] | None:
    """C1: bounds of replied ÷ true non-spam, where ``spam`` comments were predicted spam and left out.

    More true spam than predicted means a smaller true denominator, so a higher rate, and the reverse.
    """
    if q.spam is None or not eligible:
        return None
    all_comments = eligible + spam
    spam_low, spam_high = q.spam.true_count(spam)
    biggest = _clip(all_comments - spam_low, max(replied, 1), all_comments)
    smallest = _clip(all_comments - spam_high, max(replied, 1), all_comments)
    return replied / biggest, replied / smallest


def net_sentiment_bounds(q: ClassifierQuality, counts: dict[str, dict[str, int]]) -> tuple[float, float, int] | None:
    """D3: bounds of 100 × (positive − negative) ÷ rated, and how many rated comments the bounds cover.

    ``counts``: language → {"positive", "neutral", "negative"} predicted counts. Languages without a
    measured model enter at face value.
    """
    rated = sum(sum(by_class.values()) for by_class in counts.values())
    if not rated or not q.sentiment:
        return None
    low = high = 0.0
    covered = 0
    for language, by_class in counts.items():
        pos, neg = by_class.get("positive", 0), by_class.get("negative", 0)
        measured = q.sentiment.get(language)
        if measured is None:
            low += pos - neg
            high += pos - neg
            continue
        covered += sum(by_class.values())
        pos_lo, pos_hi = measured["positive"].true_count(pos)
        neg_lo, neg_hi = measured["negative"].true_count(neg)
        low += pos_lo - neg_hi
        high += pos_hi - neg_lo
    return _clip(100 * low / rated, -100.0, 100.0), _clip(100 * high / rated, -100.0, 100.0), covered
