"""The classifiers measured on the public labelled sets (``../shared/labelled``), out of fold.

These are the quality figures the project publishes; each test skips where the folder is absent. They
retrain what they measure, so they can fail: a regression in the features, the lexicons the models
read, or the training code shows here as a figure below its target."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityimage.training import read_umsab, read_youtube_spam, train_sentiment, train_spam
from transforms import textmodel
from transforms.classify import load_lexicons

LABELLED = Path(__file__).resolve().parents[2] / "shared" / "labelled"
needs_labelled = pytest.mark.skipif(not LABELLED.is_dir(), reason="../shared/labelled is absent")


@needs_labelled
def test_spam_on_unseen_videos_meets_the_target_and_rebuilds_the_shipped_model_byte_for_byte():
    artefact, evaluation = train_spam(read_youtube_spam(LABELLED), load_lexicons())
    overall = evaluation["overall"]
    assert overall["f1"][0] >= 0.95 and overall["precision"][0] >= 0.97, overall
    shipped = (textmodel.MODEL_DIR / "spam.json.gz").read_bytes()
    assert textmodel.to_bytes(artefact) == shipped, "run `make train`: the shipped spam model is stale"


@needs_labelled
@pytest.mark.slow
@pytest.mark.parametrize("folder,language", [("german", "de"), ("italian", "it")])
def test_sentiment_is_measured_out_of_fold_and_rebuilds_byte_for_byte(folder, language):
    artefact, evaluation = train_sentiment(language, read_umsab(LABELLED, folder), load_lexicons())
    cv = evaluation["cross_validated"]["macro_f1"]
    assert cv[0] >= 0.60 and cv[1] < cv[0] < cv[2], cv
    shipped = (textmodel.MODEL_DIR / f"{textmodel.sentiment_model_name(language)}.json.gz").read_bytes()
    assert textmodel.to_bytes(artefact) == shipped


@needs_labelled
def test_the_labelled_readers_decode_escapes_and_count_every_row():
    data = read_umsab(LABELLED, "english")
    assert len(data.texts) == len(data.labels) > 2000
    assert not any("\\u2019" in t for t in data.texts)
    spam = read_youtube_spam(LABELLED)
    assert set(spam.groups) == {p.stem for p in (LABELLED / "youtube_spam").glob("*.csv")}
