"""Precision and recall of every classifier, measured by running the real classifiers on labelled sets.

The labelled sets:
- ``transforms/evaluation/labelled_comments.csv`` (any city): text, language, is_spam, is_question,
  is_praise, is_travel_intent, is_complaint, sentiment, case (the hard case a row illustrates, if any),
  split;
- a city pack's ``evaluation/labelled_posts.csv`` (that city's posts): text, language, themes, labels,
  lynch_elements (``;``-separated), split. A pack without one has its post classifiers unmeasured.
They were written and labelled by judgement before the lexicons were tuned. ``split`` is ``dev`` (rows
looked at while tuning) or ``holdout`` (rows never looked at while tuning): the holdout figures are the
honest estimate, the gap between the two is how much the tuning flatters the dev rows.

Run ``cityimage evaluate --split holdout|dev|all`` for the tables.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cityimage.citypack import CityPack, load_pack
from cityimage.profile import CityProfile, load_profile
from cityimage.vocabulary import LYNCH_ELEMENTS, NO_THEME, SENTIMENTS, THEMES
from transforms.classify import (
    Lexicons,
    classifier_version,
    classify_comments,
    classify_posts,
    load_lexicons,
)

EVALUATION_DIR = Path(__file__).resolve().parent / "evaluation"
LABELLED_COMMENTS = EVALUATION_DIR / "labelled_comments.csv"
ACT_COLUMNS = {"spam": "is_spam", "question": "is_question", "praise": "is_praise",
               "travel_intent": "is_travel_intent", "complaint": "is_complaint"}

_SCHEMA = {
    "classifier": pl.String, "class": pl.String, "support": pl.Int64, "tp": pl.Int64, "fp": pl.Int64,
    "fn": pl.Int64, "precision": pl.Float64, "recall": pl.Float64, "f1": pl.Float64,
}


@dataclass(frozen=True)
class EvaluationSet:
    """What the classifiers are measured on: the labelled comments (any city's), and a city's labelled
    posts with the terms that name that city (no posts: the post classifiers go unmeasured)."""

    comments: Path = LABELLED_COMMENTS
    posts: Path | None = None
    city_terms: tuple[str, ...] = ()


def city_evaluation(pack: CityPack, profile: CityProfile) -> EvaluationSet:
    """The city's set: its pack's labelled posts, named by its profile's terms."""
    return EvaluationSet(LABELLED_COMMENTS, pack.labelled_posts, tuple(profile.city_terms()))


def default_evaluation() -> EvaluationSet:
    """The default city pack's set."""
    pack = load_pack()
    return city_evaluation(pack, load_profile(pack.profile_path))


def read_labelled_comments(path: Path = LABELLED_COMMENTS) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema=False)
    truthy = ["true", "1", "yes"]
    bools = {c: pl.col(c).str.strip_chars().str.to_lowercase().is_in(truthy) for c in ACT_COLUMNS.values()}
    return frame.with_columns(**bools).with_columns(
        pl.col("language").str.strip_chars(), pl.col("sentiment").str.strip_chars()
    )


def read_labelled_posts(path: Path) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema=False)
    return frame.with_columns(
        [
            pl.col(c).fill_null("").str.split(";").list.eval(pl.element().str.strip_chars()).list.eval(
                pl.element().filter(pl.element() != "")
            ).list.unique().list.sort().alias(c)
            for c in ("themes", "labels", "lynch_elements")
        ]
    ).with_columns(pl.col("language").str.strip_chars())


def _counts(classifier: str, cls: str, truth: pl.Series, predicted: pl.Series) -> dict:
    tp = int((truth & predicted).sum())
    fp = int((~truth & predicted).sum())
    fn = int((truth & ~predicted).sum())
    return {"classifier": classifier, "class": cls, "support": int(truth.sum()), "tp": tp, "fp": fp, "fn": fn}


def _single_label(classifier: str, truth: pl.Series, predicted: pl.Series, classes: list[str]) -> list[dict]:
    rows = [_counts(classifier, c, truth == c, predicted == c) for c in classes]
    correct = int((truth == predicted).sum())
    total = truth.len()
    # Micro-average over all rows: for one label per row, precision = recall = accuracy.
    rows.append({"classifier": classifier, "class": "all", "support": total, "tp": correct,
                 "fp": total - correct, "fn": total - correct})
    return rows


def _multi_label(classifier: str, truth: pl.Series, predicted: pl.Series, classes: list[str]) -> list[dict]:
    return [_counts(classifier, c, truth.list.contains(c), predicted.list.contains(c)) for c in classes]


def _ratios(rows: list[dict]) -> pl.DataFrame:
    counts = {k: v for k, v in _SCHEMA.items() if k not in ("precision", "recall", "f1")}
    frame = pl.DataFrame(rows, schema=counts)
    tp, fp, fn = pl.col("tp"), pl.col("fp"), pl.col("fn")
    return frame.with_columns(
        precision=pl.when(tp + fp > 0).then(tp / (tp + fp)).otherwise(None),
        recall=pl.when(tp + fn > 0).then(tp / (tp + fn)).otherwise(None),
        f1=pl.when(2 * tp + fp + fn > 0).then(2 * tp / (2 * tp + fp + fn)).otherwise(None),
    ).select(list(_SCHEMA))


def predictions(lexicons: Lexicons | None = None, *, split: str | None = None,
                evaluation: EvaluationSet | None = None) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The labelled sets with the classifiers' output beside the labels (``pred_*`` columns); no posts
    when the set has none. Without ``evaluation``: the default city pack's set."""
    lexicons = lexicons or load_lexicons()
    evaluation = evaluation or default_evaluation()
    comments = _split(read_labelled_comments(evaluation.comments), split)
    c_in = pl.DataFrame(
        {
            "comment_id": [str(i) for i in range(comments.height)],
            "platform": ["evaluation"] * comments.height,
            "text": comments["text"],
            "language_raw": pl.Series([None] * comments.height, dtype=pl.String),
        }
    )
    c_out = classify_comments(c_in, lexicons)
    comments = comments.with_columns(
        pred_language=c_out["language"],
        pred_sentiment=c_out["sentiment"],
        pred_score=c_out["sentiment_score"],
        rules=c_out["rules"],
        **{f"pred_{col}": c_out[col] for col in ACT_COLUMNS.values()},
    )
    if evaluation.posts is None:
        return comments, None
    posts = _split(read_labelled_posts(evaluation.posts), split)
    p_in = pl.DataFrame(
        {
            "post_id": [str(i) for i in range(posts.height)],
            "platform": ["evaluation"] * posts.height,
            "title": pl.Series([None] * posts.height, dtype=pl.String),
            "text": posts["text"],
            "language_raw": pl.Series([None] * posts.height, dtype=pl.String),
        }
    )
    p_out = classify_posts(p_in, lexicons, list(evaluation.city_terms))
    posts = posts.with_columns(
        pred_language=p_out["language"],
        pred_themes=p_out["themes"],
        pred_labels=p_out["labels"],
        pred_lynch_elements=p_out["lynch_elements"],
        rules=p_out["rules"],
    )
    return comments, posts


def _split(frame: pl.DataFrame, split: str | None) -> pl.DataFrame:
    return frame if split is None else frame.filter(pl.col("split") == split)


def evaluate(lexicons: Lexicons | None = None, *, split: str | None = None,
             evaluation: EvaluationSet | None = None) -> pl.DataFrame:
    """One row per classifier x class: support, tp, fp, fn, precision, recall, f1.

    Classifiers: ``comment_act`` (spam, question, praise, travel_intent, complaint), ``sentiment``
    (positive, neutral, negative, not_rated, all), ``comment_language``, and, where the city has
    labelled posts, ``post_language`` (one row per language in the labels, plus ``all`` = accuracy),
    ``theme`` (the seven themes and ``other``), ``label`` and ``lynch_element``. ``support`` is the
    number of labelled rows of the class; a ratio whose denominator is 0 is null. ``split`` restricts to
    ``dev`` or ``holdout`` rows. Without ``evaluation``: the default city pack's set.
    """
    comments, posts = predictions(lexicons, split=split, evaluation=evaluation)
    rows: list[dict] = []
    for act, col in ACT_COLUMNS.items():
        rows.append(_counts("comment_act", act, comments[col], comments[f"pred_{col}"]))
    rows += _single_label("sentiment", comments["sentiment"], comments["pred_sentiment"], list(SENTIMENTS))
    languages = sorted(set(comments["language"].to_list()))
    rows += _single_label("comment_language", comments["language"], comments["pred_language"], languages)
    if posts is not None:
        rows += _post_rows(posts)
    return _ratios(rows)


def _post_rows(posts: pl.DataFrame) -> list[dict]:
    post_languages = sorted(set(posts["language"].to_list()))
    rows = _single_label("post_language", posts["language"], posts["pred_language"], post_languages)
    other = pl.lit(["other"], dtype=pl.List(pl.String))
    themes = posts.select(
        truth=pl.when(pl.col("themes").list.len() == 0).then(other).otherwise("themes"),
        pred=pl.when(pl.col("pred_themes").list.len() == 0).then(other).otherwise("pred_themes"),
    )
    rows += _multi_label("theme", themes["truth"], themes["pred"], [*THEMES, NO_THEME])
    label_classes = sorted(set(posts["labels"].explode().drop_nulls().to_list()) | set(
        posts["pred_labels"].explode().drop_nulls().to_list()))
    rows += _multi_label("label", posts["labels"], posts["pred_labels"], label_classes)
    rows += _multi_label(
        "lynch_element", posts["lynch_elements"], posts["pred_lynch_elements"], list(LYNCH_ELEMENTS)
    )
    return rows


def report_key(lexicons: Lexicons | None = None, evaluation: EvaluationSet | None = None) -> str:
    """What ``evaluate`` depends on: the classifiers' version, this module, the labelled rows and the
    city's terms. The same key gives the same figures, so they can be measured once per key."""
    evaluation = evaluation or default_evaluation()
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in (evaluation.comments, evaluation.posts):
        if path is not None:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update("\n".join(evaluation.city_terms).encode())
    return f"{classifier_version(lexicons or load_lexicons())},evaluation#{digest.hexdigest()[:12]}"


def public_figures(folder: Path | None = None) -> pl.DataFrame:
    """The figures ``cityimage train`` measured on the public labelled sets, one row per figure.

    Read from ``transforms/models/evaluation.json`` (out-of-fold: leave one video out for spam, 5-fold
    cross-validation and a held-out split for sentiment); empty when no model has been trained.
    """
    from transforms.textmodel import MODEL_DIR

    path = (folder or MODEL_DIR) / "evaluation.json"
    schema = {"classifier": pl.String, "language": pl.String, "measure": pl.String, "figure": pl.String,
              "value": pl.Float64, "low": pl.Float64, "high": pl.Float64, "n": pl.Int64}
    if not path.exists():
        return pl.DataFrame(schema=schema)
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    spam = data["spam"]
    for figure in ("precision", "recall", "f1"):
        rows.append(("spam", "any", spam["method"], figure, *spam["overall"][figure], spam["n"]))
    for language, s in sorted(data["sentiment"].items()):
        for measure, key in (("5-fold cross-validation", "cross_validated"), ("held out (validation)", "held_out")):
            n = s[key].get("n", s["n"])  # held out: the validation split's size
            for figure in ("macro_f1", "accuracy"):
                rows.append((f"sentiment{'' if s['shipped'] else ' (not shipped)'}", language, measure, figure,
                             *s[key][figure], n))
    lang = data["language"]
    rows.append(("language", "any", "UMSAB texts", "accuracy", *lang["overall"]["accuracy"], lang["n"]))
    return pl.DataFrame(rows, schema=schema, orient="row")
