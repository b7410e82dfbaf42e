"""The trained comment models after the lexicons: what they decide, what overrides them, how each
decision is traced, and that training is deterministic. Figures on the public labelled sets are
measured in ``tests/test_public_labelled.py`` (skipped where ``../shared/labelled`` is absent)."""

from __future__ import annotations

import shutil

import numpy as np
import polars as pl
import pytest

from cityimage.citypack import load_pack
from cityimage.training import Labelled, train_sentiment, train_spam
from transforms import textmodel
from transforms.classify import LEXICON_DIR, classify_comments, load_lexicons
from transforms.textmodel import NO_MODELS, load_comment_models


@pytest.fixture(scope="module")
def lex():
    return load_lexicons()


def classify(lex, texts, hints=None, models=None):
    n = len(texts)
    frame = pl.DataFrame({
        "comment_id": [f"c{i}" for i in range(n)], "platform": ["youtube"] * n,
        "text": pl.Series(texts, dtype=pl.String),
        "language_raw": pl.Series(hints if hints is not None else [None] * n, dtype=pl.String),
    })
    return classify_comments(frame, lex, models=models)


def test_the_shipped_models_are_there():
    models = load_comment_models()
    assert models.spam is not None
    assert sorted(models.sentiment) == sorted(textmodel.SENTIMENT_LANGUAGES)
    assert models.version.startswith("models#")


def test_the_spam_model_catches_what_no_rule_names(lex):
    texts = ["Subscribe to me please, I make music videos too", "hey guys go look at my covers on my page",
             "Great song, it reminds me of my trip to Chongqing"]
    rules_only = classify(lex, texts, models=NO_MODELS)
    assert rules_only["is_spam"].to_list() == [False, False, False]
    out = classify(lex, texts)
    assert out["is_spam"].to_list() == [True, True, False]
    trace = out["rules"][0].to_list()
    spam_rule = next(r for r in trace if r.startswith("act.spam:model="))
    assert "[" in spam_rule and "+" in spam_rule  # the n-grams that weighed most, with their weight
    assert out["sentiment"][0] == "not_rated"


def test_a_lexicon_spam_rule_wins_over_the_model(lex):
    # A spam phrase of acts.yaml makes the comment spam whatever the model's score.
    text = "Cheap flights to China at www.cheapflights.xyz"
    out = classify(lex, [text])
    assert out["is_spam"][0]
    assert not any(r.startswith("act.spam:model=") for r in out["rules"][0].to_list())


def test_a_sentiment_model_rates_its_language_and_says_how(lex):
    out = classify(lex, ["Que lindo! Quero muito ir", "Che schifo, mai più", "I hate the traffic, awful"],
                   ["pt", "it", "en"])
    assert out["sentiment"].to_list() == ["positive", "negative", "negative"]
    for i, lang in enumerate(["pt", "it", "en"]):
        rule = next(r for r in out["rules"][i].to_list() if r.startswith("sentiment.model@"))
        assert rule.startswith(f"sentiment.model@{lang}:{out['sentiment'][i]}=")
    assert out["sentiment_score"][0] > 0 > out["sentiment_score"][1]


def test_a_language_without_a_model_or_words_is_not_rated(lex):
    # Hindi's model did not clear the bar and has no words; Turkish has neither.
    out = classify(lex, ["bahut accha laga", "Çok güzel bir şehir"], ["hi", "tr"])
    assert out["sentiment"].to_list() == ["not_rated", "not_rated"]
    assert out["sentiment_score"].to_list() == [None, None]
    assert "sentiment.not_rated:language=tr" in out["rules"][1].to_list()


def test_an_override_term_fixes_the_sentiment_before_the_model(tmp_path):
    folder = tmp_path / "lexicons"
    shutil.copytree(LEXICON_DIR, folder)
    shutil.copytree(load_pack("chongqing").lexicon_dir, folder, dirs_exist_ok=True)
    path = folder / "sentiment.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "overrides: {}", 'overrides:\n  en:\n    "spicy": positive\n'), encoding="utf-8")
    lex = load_lexicons(folder)
    out = classify(lex, ["So spicy I cried, terrible"], ["en"])
    assert out["sentiment"][0] == "positive"
    assert 'sentiment.override:"spicy"@en=positive' in out["rules"][0].to_list()


def test_a_long_chinese_or_japanese_sentence_keeps_lingua_s_language(lex):
    # Counting words by spaces made these "short", so a Latin word in them switched the language.
    out = classify(lex, ["重庆的夜景很美，我们 Party 了一整晚，真的太棒了，下次还要再来",
                         "重慶の夜景はとても綺麗でした、また行きたいです no problem"])
    assert out["language"].to_list() == ["zh", "ja"]


def _toy_spam() -> Labelled:
    spam = ["check my channel http://a.tk", "subscribe to me", "free money at www.cash.nl", "visit my page"]
    ham = ["love this song", "her voice is great", "this reminds me of summer", "best video ever"]
    texts = (spam + ham) * 3
    labels = np.array(([1] * 4 + [0] * 4) * 3)
    groups = [f"video{i // 8}" for i in range(24)]
    return Labelled(texts, labels, groups, {"toy.csv": "0" * 64})


def test_training_gives_the_same_bytes_twice(lex):
    first, evaluation = train_spam(_toy_spam(), lex)
    second, _ = train_spam(_toy_spam(), lex)
    assert textmodel.to_bytes(first) == textmodel.to_bytes(second)
    assert evaluation["method"] == "leave one video out" and evaluation["n"] == 24
    model = textmodel.from_bytes(textmodel.to_bytes(first), "toy")
    x = model.features(["check my channel"], np.array([[0.0, 0.0]]))
    assert model.proba(x)[0, 1] > 0.5


def test_a_language_below_the_bar_ships_no_model(lex):
    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    texts = [" ".join(rng.choice(words, 4)) for _ in range(60)]
    labels = rng.integers(0, 3, 60)  # labels unrelated to the texts: nothing to learn
    data = Labelled(texts, labels, ["train"] * 45 + ["val"] * 15, {"toy": "0" * 64})
    artefact, evaluation = train_sentiment("xx", data, lex)
    assert artefact is None and evaluation["shipped"] is False
    low, high = evaluation["cross_validated"]["macro_f1"][1:]
    assert low <= evaluation["cross_validated"]["macro_f1"][0] <= high


def test_the_cached_n_gram_features_equal_scikit_learns():
    from transforms.textmodel import PREPARE, _fixed_vectorizers, block_tfidf

    texts = ["I love this song!! http://a.tk", "", "  spaced   out  ", "x", "重庆的夜景很美", "😍😍 ok ok ok",
             "Subscribe to me, subscribe"]
    for model in (load_comment_models().spam, load_comment_models().sentiment["en"]):
        for block, fitted in zip(model.blocks, _fixed_vectorizers(model)):
            prepared = [PREPARE[model.prepare](t) for t in texts]
            ours = block_tfidf(prepared, fitted, block["kind"], tuple(block["ngram"]))
            assert abs(ours - fitted.transform(texts)).max() < 1e-12, block["kind"]


def test_the_trace_names_the_features_that_pushed_most():
    model = load_comment_models().spam
    x = model.features(["subscribe to my channel please", "nice song"], np.zeros((2, 2)))
    tops = model.top_features(x, np.array([1, 0]))
    contributions = [float(t.rsplit("+", 1)[1]) for t in tops[0]]
    assert len(tops[0]) == 3 and contributions == sorted(contributions, reverse=True)
    assert all(t.startswith(("word ", "chars ")) for t in tops[0] + tops[1])
