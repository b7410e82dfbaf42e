"""Train the comment models on the public labelled sets, measure them, write the artefacts.

``cityimage train`` (and ``make train``) reads ``../shared/labelled/`` in place (it is never copied into
the repository) and writes ``transforms/models/*.json.gz`` plus ``evaluation.json``. Everything is
deterministic (fixed folds, seeds and solver, sorted vocabularies, rounded weights, gzip without a
timestamp), so the same labelled files give the same bytes.

How each model is measured, so that no figure comes from the texts a model was fitted on:
- spam: leave one video out over the YouTube collection's files (train on the others, score the one
  left out), the threshold fixed beforehand;
- sentiment: 5-fold stratified cross-validation over UMSAB train + validation per language, and a
  held-out figure (fitted on train, scored on validation). The shipped model is then fitted on all.
95 % intervals are percentile bootstraps (1,000 resamples, fixed seed) of the out-of-fold predictions.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import polars as pl

from cityimage.atomic import write_bytes_atomic
from transforms import textmodel
from transforms.classify import Lexicons, model_inputs, sentiment_extra, spam_extra
from transforms.textmodel import SENTIMENT_EXTRA, SPAM_EXTRA

#: UMSAB folders and the language code each one is in.
UMSAB_LANGUAGES = {
    "english": "en", "spanish": "es", "french": "fr", "german": "de", "arabic": "ar",
    "portuguese": "pt", "italian": "it", "hindi": "hi",
}
SENTIMENT_CLASSES = ("negative", "neutral", "positive")  # UMSAB's labels 0, 1, 2
#: Chosen by leave-one-video-out (docs/classification.md): regularisation and decision threshold.
SPAM_C, SPAM_THRESHOLD = 30.0, 0.5
#: A TF-IDF block of a model: analyser kind, n-gram range, the vectoriser's fitting options.
Block = tuple[str, tuple[int, int], dict[str, Any]]
SPAM_BLOCKS: tuple[Block, ...] = (("char_wb", (1, 4), {"min_df": 2}), ("word", (1, 2), {}))
#: Chosen by cross-validation on UMSAB train + validation.
SENTIMENT_C = 1.0
SENTIMENT_BLOCKS: tuple[Block, ...] = (("char_wb", (1, 5), {"min_df": 2}), ("word", (1, 2), {}))
#: A language's model ships only if its cross-validated macro-F1 reaches this (chance is 0.33).
SENTIMENT_MIN_MACRO_F1 = 0.5
FOLDS, BOOTSTRAP, SEED = 5, 1000, 0


class LabelledDataError(ValueError):
    """A labelled file is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Labelled:
    texts: list[str]
    labels: np.ndarray
    groups: list[str]        # video (spam) or split (sentiment) of each text
    files: dict[str, str]    # path relative to the labelled folder -> sha256


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def read_youtube_spam(root: Path) -> Labelled:
    """The UCI YouTube spam files (CONTENT, label) of ``root/youtube_spam``; one group per video."""
    folder = root / "youtube_spam"
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise LabelledDataError(f"{folder}: no YouTube spam CSV files")
    texts, labels, groups = [], [], []
    for path in files:
        with path.open(encoding="utf-8", newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                if row.get("CONTENT") is None or row.get("label") not in ("0", "1"):
                    raise LabelledDataError(f"{path}: row {line}: needs CONTENT and a label of 0 or 1")
                texts.append(row["CONTENT"])
                labels.append(int(row["label"]))
                groups.append(path.stem)
    return Labelled(texts, np.asarray(labels), groups, {str(p.relative_to(root)): _sha(p) for p in files})


def read_umsab(root: Path, folder_name: str, splits: Sequence[str] = ("train", "val")) -> Labelled:
    """UMSAB texts and labels of one language; ``\\uXXXX`` escapes in the texts decoded."""
    folder = root / "sentiment_umsab" / folder_name
    texts, labels, groups, files = [], [], [], {}
    for split in splits:
        text_path, label_path = folder / f"{split}_text.txt", folder / f"{split}_labels.txt"
        for path in (text_path, label_path):
            if not path.exists():
                raise LabelledDataError(f"{path}: missing")
            files[str(path.relative_to(root))] = _sha(path)
        split_labels = [line.strip() for line in label_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        split_texts = text_path.read_text(encoding="utf-8").split("\n")[: len(split_labels)]
        if len(split_texts) != len(split_labels) or set(split_labels) - {"0", "1", "2"}:
            raise LabelledDataError(f"{folder}: {split}: {len(split_texts)} texts for {len(split_labels)} labels")
        texts += [_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), t).strip() for t in split_texts]
        labels += [int(v) for v in split_labels]
        groups += [split] * len(split_labels)
    return Labelled(texts, np.asarray(labels), groups, files)


# ------------------------------------------------------------------------------------------------
# Fitting
# ------------------------------------------------------------------------------------------------


def _fit(texts: list[str], labels: np.ndarray, extra: np.ndarray, blocks: Sequence[Block], prepare: str, c: float):
    """Vectorisers and a logistic regression fitted on these texts (pure: no file is read or written)."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    fitted = [(kind, ngram, textmodel.vectorizer(kind, ngram, prepare, **options).fit(texts))
              for kind, ngram, options in blocks]
    x = sp.hstack([v.transform(texts) for _, _, v in fitted] + [sp.csr_matrix(extra)], format="csr")
    model = LogisticRegression(C=c, max_iter=5000, solver="lbfgs").fit(x, labels)
    return fitted, model


def _predict(fitted, model, texts: list[str], extra: np.ndarray) -> np.ndarray:
    import scipy.sparse as sp

    x = sp.hstack([v.transform(texts) for _, _, v in fitted] + [sp.csr_matrix(extra)], format="csr")
    return model.predict_proba(x)


def _take(values: list, index: np.ndarray) -> list:
    return [values[i] for i in index]


# ------------------------------------------------------------------------------------------------
# Figures with intervals
# ------------------------------------------------------------------------------------------------


def _binary(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    tp = float(np.sum(truth & pred))
    precision = tp / max(float(pred.sum()), 1.0)
    recall = tp / max(float(truth.sum()), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _per_class(truth: np.ndarray, pred: np.ndarray, classes: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, name in enumerate(classes):
        for metric, value in _binary(truth == k, pred == k).items():
            out[f"{name}_{metric}"] = value
    out["macro_f1"] = float(np.mean([out[f"{name}_f1"] for name in classes]))
    out["accuracy"] = float(np.mean(truth == pred))
    return out


def with_intervals(truth: np.ndarray, pred: np.ndarray, score: Callable[[np.ndarray, np.ndarray], dict]) -> dict:
    """Each figure of ``score`` with its 95 % percentile-bootstrap interval: {name: [value, low, high]}."""
    point = score(truth, pred)
    rng = np.random.default_rng(SEED)
    draws: dict[str, list[float]] = {name: [] for name in point}
    for _ in range(BOOTSTRAP):
        i = rng.integers(0, len(truth), len(truth))
        for name, value in score(truth[i], pred[i]).items():
            draws[name].append(value)
    return {name: [round(point[name], 4), round(float(np.percentile(draws[name], 2.5)), 4),
                   round(float(np.percentile(draws[name], 97.5)), 4)] for name in point}


# ------------------------------------------------------------------------------------------------
# The two tasks
# ------------------------------------------------------------------------------------------------


def _inputs(texts: list[str], language: str | None, lexicons: Lexicons) -> pl.DataFrame:
    frame = pl.DataFrame({"text": texts, "language_raw": [language] * len(texts)},
                         schema={"text": pl.String, "language_raw": pl.String})
    return model_inputs(frame, lexicons)


def train_spam(data: Labelled, lexicons: Lexicons) -> tuple[dict, dict]:
    """(artefact, evaluation) of the spam model: leave one video out, then fitted on every video."""
    inputs = _inputs(data.texts, None, lexicons)
    extra = spam_extra(data.texts, inputs["rule_spam"].to_numpy())
    groups = np.asarray(data.groups)
    proba = np.zeros(len(data.texts))
    per_video = {}
    for video in sorted(set(data.groups)):
        test, train = np.flatnonzero(groups == video), np.flatnonzero(groups != video)
        fitted, model = _fit(_take(data.texts, train), data.labels[train], extra[train],
                             SPAM_BLOCKS, "comment", SPAM_C)
        proba[test] = _predict(fitted, model, _take(data.texts, test), extra[test])[:, 1]
        per_video[video] = {k: round(v, 4) for k, v in _binary(
            data.labels[test] == 1, proba[test] >= SPAM_THRESHOLD).items()} | {"n": int(len(test))}
    truth = data.labels == 1
    evaluation = {
        "method": "leave one video out",
        "threshold": SPAM_THRESHOLD,
        "n": int(len(truth)),
        "overall": with_intervals(truth, proba >= SPAM_THRESHOLD, _binary),
        "lexicon_rules_alone": {k: round(v, 4) for k, v in _binary(truth, inputs["rule_spam"].to_numpy()).items()},
        "per_video": per_video,
    }
    fitted, model = _fit(data.texts, data.labels, extra, SPAM_BLOCKS, "comment", SPAM_C)
    meta = {"threshold": SPAM_THRESHOLD, "C": SPAM_C, "trained_on": data.files, "lexicons": lexicons.version}
    artefact = textmodel.as_dict(textmodel.SPAM_MODEL, ("legitimate", "spam"), "comment", fitted, SPAM_EXTRA,
                                 model.coef_, model.intercept_, meta)
    return artefact, evaluation


def _folds(labels: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(np.zeros(len(labels)), labels))


def train_sentiment(language: str, data: Labelled, lexicons: Lexicons) -> tuple[dict | None, dict]:
    """(artefact or None, evaluation) of one language's sentiment model."""
    extra = sentiment_extra(_inputs(data.texts, language, lexicons))
    oof = np.zeros(len(data.texts), dtype=np.int64)
    for train, test in _folds(data.labels):
        fitted, model = _fit(_take(data.texts, train), data.labels[train], extra[train],
                             SENTIMENT_BLOCKS, "tweet", SENTIMENT_C)
        oof[test] = _predict(fitted, model, _take(data.texts, test), extra[test]).argmax(axis=1)
    groups = np.asarray(data.groups)
    train, val = np.flatnonzero(groups == "train"), np.flatnonzero(groups == "val")
    fitted, model = _fit(_take(data.texts, train), data.labels[train], extra[train],
                         SENTIMENT_BLOCKS, "tweet", SENTIMENT_C)
    held = _predict(fitted, model, _take(data.texts, val), extra[val]).argmax(axis=1)
    score = lambda t, p: _per_class(t, p, SENTIMENT_CLASSES)  # noqa: E731
    evaluation: dict[str, Any] = {
        "n": int(len(data.labels)),
        "cross_validated": with_intervals(data.labels, oof, score),
        "held_out": with_intervals(data.labels[val], held, score) | {"n": int(len(val))},
    }
    evaluation["shipped"] = evaluation["cross_validated"]["macro_f1"][0] >= SENTIMENT_MIN_MACRO_F1
    if not evaluation["shipped"]:
        return None, evaluation
    fitted, model = _fit(data.texts, data.labels, extra, SENTIMENT_BLOCKS, "tweet", SENTIMENT_C)
    meta = {"C": SENTIMENT_C, "language": language, "trained_on": data.files, "lexicons": lexicons.version}
    artefact = textmodel.as_dict(textmodel.sentiment_model_name(language), SENTIMENT_CLASSES, "tweet", fitted,
                                 SENTIMENT_EXTRA, model.coef_, model.intercept_, meta)
    return artefact, evaluation


def _language_accuracy(root: Path) -> dict:
    """Language identification on the UMSAB texts (each folder is in its language), overall and short."""
    from transforms.language import detect_languages

    truth, texts = [], []
    for folder, code in UMSAB_LANGUAGES.items():
        data = read_umsab(root, folder)
        texts += data.texts
        truth += [code] * len(data.texts)
    found = detect_languages(pl.Series(texts, dtype=pl.String)).to_numpy()
    truth_a = np.asarray(truth)
    short = np.asarray([len(t) < 20 for t in texts])
    out = {"n": len(texts), "overall": with_intervals(truth_a, found, lambda t, p: {"accuracy": float(np.mean(t == p))})}
    out["per_language"] = {code: round(float(np.mean(found[truth_a == code] == code)), 4)
                           for code in UMSAB_LANGUAGES.values()}
    out["under_20_chars"] = {"n": int(short.sum()), "accuracy": round(float(np.mean(found[short] == truth_a[short])), 4)}
    # UMSAB's "Hindi" is mostly Hindi written in Latin letters, which no detector here reads as Hindi.
    latin = truth_a != "hi"
    out["without_romanised_hindi"] = {
        "n": int(latin.sum()), "accuracy": round(float(np.mean(found[latin] == truth_a[latin])), 4),
        "under_20_chars": round(float(np.mean(found[latin & short] == truth_a[latin & short])), 4),
    }
    return out


def train_all(root: Path, lexicons: Lexicons, out_dir: Path = textmodel.MODEL_DIR,
              progress: Callable[[str], None] = lambda _: None) -> dict:
    """Train and measure every model from ``root``; write the artefacts atomically; return the evaluation."""
    if not root.is_dir():
        raise LabelledDataError(f"{root}: labelled folder not found (see docs/classification.md)")
    artefacts: dict[str, dict | None] = {}
    evaluation: dict = {"source": "public labelled sets (../shared/labelled): figures are out-of-fold"}
    progress("spam")
    artefacts[textmodel.SPAM_MODEL], evaluation["spam"] = train_spam(read_youtube_spam(root), lexicons)
    evaluation["sentiment"] = {}
    for folder, language in UMSAB_LANGUAGES.items():
        progress(f"sentiment {language}")
        name = textmodel.sentiment_model_name(language)
        artefacts[name], evaluation["sentiment"][language] = train_sentiment(
            language, read_umsab(root, folder), lexicons)
    progress("language identification")
    evaluation["language"] = _language_accuracy(root)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, artefact in artefacts.items():
        path = out_dir / f"{name}.json.gz"
        if artefact is None:
            path.unlink(missing_ok=True)
        else:
            write_bytes_atomic(path, textmodel.to_bytes(artefact))
    text = json.dumps(evaluation, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    write_bytes_atomic(out_dir / "evaluation.json", text.encode("utf-8"))
    return evaluation


