"""The evaluation: labelled sets of the documented size and shape, and figures computed from counts
obtained by running the real classifiers (the figures themselves are not asserted)."""

from __future__ import annotations

import polars as pl
import pytest

from cityimage.vocabulary import LYNCH_ELEMENTS, THEMES
from transforms.evaluate import (
    ACT_COLUMNS,
    EvaluationSet,
    default_evaluation,
    evaluate,
    read_labelled_comments,
    read_labelled_posts,
)

PAPER_LANGUAGES = {"en", "zh", "ru", "fr", "de", "es", "ar", "ja", "ko"}


@pytest.fixture(scope="module")
def report():
    return evaluate()


def test_the_labelled_comments_are_large_and_well_formed():
    frame = read_labelled_comments()
    assert frame.height >= 300
    assert {"text", "language", *ACT_COLUMNS.values(), "sentiment", "split"} <= set(frame.columns)
    assert set(frame["sentiment"].to_list()) <= {"positive", "neutral", "negative", "not_rated"}
    assert set(frame["split"].to_list()) == {"dev", "holdout"}
    languages = set(frame["language"].to_list())
    assert PAPER_LANGUAGES <= languages
    assert languages - PAPER_LANGUAGES - {"und"}  # some language no lexicon covers
    uncovered = frame.filter(~pl.col("language").is_in(sorted(PAPER_LANGUAGES | {"und"})))
    assert set(uncovered["sentiment"].to_list()) == {"not_rated"}
    assert frame["text"].null_count() == 0


def test_the_labelled_posts_are_large_and_well_formed():
    path = default_evaluation().posts
    assert path is not None
    frame = read_labelled_posts(path)
    assert frame.height >= 150
    assert PAPER_LANGUAGES <= set(frame["language"].to_list())
    assert set(frame["themes"].explode().drop_nulls().to_list()) <= set(THEMES)
    assert set(frame["lynch_elements"].explode().drop_nulls().to_list()) <= set(LYNCH_ELEMENTS)
    raw = pl.read_csv(path, infer_schema=False)
    assert {"text", "language", "themes", "labels", "lynch_elements"} <= set(raw.columns)


def test_the_report_has_one_row_per_classifier_and_class(report):
    assert report.columns == ["classifier", "class", "support", "tp", "fp", "fn", "precision", "recall", "f1"]
    assert report.select("classifier", "class").is_unique().all()
    classifiers = set(report["classifier"].to_list())
    assert classifiers == {"comment_act", "sentiment", "comment_language", "post_language", "theme", "label",
                           "lynch_element"}
    by = {c: set(report.filter(pl.col("classifier") == c)["class"].to_list()) for c in classifiers}
    assert by["comment_act"] == set(ACT_COLUMNS)
    assert by["sentiment"] == {"positive", "neutral", "negative", "not_rated", "all"}
    assert by["theme"] == {*THEMES, "other"}
    assert by["lynch_element"] == set(LYNCH_ELEMENTS)
    assert "all" in by["comment_language"] and "all" in by["post_language"]


def test_the_figures_are_computed_from_the_counts(report):
    for row in report.iter_rows(named=True):
        tp, fp, fn = row["tp"], row["fp"], row["fn"]
        assert min(tp, fp, fn) >= 0
        if tp + fp:
            assert row["precision"] == pytest.approx(tp / (tp + fp))
        else:
            assert row["precision"] is None
        if tp + fn:
            assert row["recall"] == pytest.approx(tp / (tp + fn))
        if 2 * tp + fp + fn:
            assert row["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
        for key in ("precision", "recall", "f1"):
            assert row[key] is None or 0.0 <= row[key] <= 1.0
        assert row["support"] == tp + fn  # support counts the labelled rows of the class


def test_support_matches_the_labelled_files(report):
    comments = read_labelled_comments()
    posts = read_labelled_posts(default_evaluation().posts)
    acts = report.filter(pl.col("classifier") == "comment_act")
    for act, column in ACT_COLUMNS.items():
        assert acts.filter(pl.col("class") == act)["support"].item() == comments[column].sum()
    sentiment = report.filter((pl.col("classifier") == "sentiment") & (pl.col("class") != "all"))
    assert sentiment["support"].sum() == comments.height
    for cls in ("positive", "not_rated"):
        expected = comments.filter(pl.col("sentiment") == cls).height
        assert sentiment.filter(pl.col("class") == cls)["support"].item() == expected
    language_all = report.filter((pl.col("classifier") == "comment_language") & (pl.col("class") == "all"))
    assert language_all["support"].item() == comments.height
    culture = report.filter((pl.col("classifier") == "theme") & (pl.col("class") == "culture"))
    assert culture["support"].item() == posts.filter(pl.col("themes").list.contains("culture")).height
    other = report.filter((pl.col("classifier") == "theme") & (pl.col("class") == "other"))
    assert other["support"].item() == posts.filter(pl.col("themes").list.len() == 0).height


def test_a_split_is_a_subset(report):
    holdout = evaluate(split="holdout")
    dev = evaluate(split="dev")
    joined = report.join(holdout, on=["classifier", "class"], suffix="_h").join(dev, on=["classifier", "class"], suffix="_d")
    assert (joined["support"] == joined["support_h"] + joined["support_d"]).all()
    assert (joined["tp"] == joined["tp_h"] + joined["tp_d"]).all()


def test_public_figures_come_from_the_trained_models_evaluation(tmp_path):
    from transforms.evaluate import public_figures

    frame = public_figures()
    spam = frame.filter((pl.col("classifier") == "spam") & (pl.col("figure") == "f1")).row(0, named=True)
    assert spam["low"] <= spam["value"] <= spam["high"] and spam["n"] > 1000
    shipped = frame.filter(pl.col("classifier") == "sentiment")["language"].unique().sort().to_list()
    assert shipped == ["ar", "de", "en", "es", "fr", "it", "pt"]
    assert frame.filter(pl.col("classifier") == "sentiment (not shipped)")["language"].unique().to_list() == ["hi"]
    assert public_figures(tmp_path).height == 0  # no models trained: nothing claimed


def test_a_city_without_labelled_posts_has_its_comment_classifiers_measured_alone() -> None:
    from cityimage.citypack import load_pack
    from cityimage.profile import load_profile
    from transforms.evaluate import city_evaluation

    hangzhou = load_pack("hangzhou")
    evaluation = city_evaluation(hangzhou, load_profile(hangzhou.profile_path))
    assert evaluation.posts is None and "Hangzhou" in evaluation.city_terms
    report = evaluate(split="holdout", evaluation=evaluation)
    assert set(report["classifier"].to_list()) == {"comment_act", "sentiment", "comment_language"}
    assert EvaluationSet().posts is None
