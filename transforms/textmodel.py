"""Linear text models over character and word n-grams: the trained half of the comment classifiers.

A model is data, not code: its vocabulary, inverse document frequencies, weights and the name of its
text preparation are stored in one gzipped JSON artefact under ``transforms/models/`` (written by
``cityimage train`` from the public labelled sets, see ``cityimage/training.py``). Loading rebuilds a
scikit-learn vectoriser with that fixed vocabulary, so inference is one sparse product per batch and
the same artefact gives the same answers on every machine.

Why linear models over n-grams (measurements in docs/classification.md): on the public YouTube spam
collection and the UMSAB tweets they match or beat every rule set we wrote, train in seconds on two
cores, need no network and no GPU, and every decision can be explained by the handful of n-grams that
weighed most, which is what the ``rules`` trace shows.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import polars as pl
import scipy.sparse as sp

MODEL_DIR = Path(__file__).resolve().parent / "models"
#: Artefact layout version; a loader refuses a file of another version instead of misreading it.
FORMAT = 1
#: Significant digits kept for weights and idf: enough for identical decisions, stable bytes across BLAS builds.
DIGITS = 6

_URL = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|info|biz|tk|nl|ly|be|co|ro|pl|de|uk|me|tv|gl|us|ru|in|cn)\b(?:/\S*)?",
    re.IGNORECASE,
)
_VIDEO_HOST = re.compile(r"youtu\.?be", re.IGNORECASE)
_REPEAT = re.compile(r"(.)\1{2,}")


def _link_token(match: re.Match[str]) -> str:
    # A link to the video site itself is how fans quote a video; a link elsewhere is how spam sells.
    return " zzvideolink " if _VIDEO_HOST.search(match.group(0)) else " zzlink "


def has_outside_link(texts: Sequence[str]) -> np.ndarray:
    """Per text, a link to anywhere but the video site: the strongest single sign of comment spam."""
    links = pl.Series(texts, dtype=pl.String).fill_null("").str.extract_all("(?i)" + _URL.pattern)
    outside = links.list.eval(~pl.element().str.contains("(?i)" + _VIDEO_HOST.pattern)).list.any()
    return outside.fill_null(False).to_numpy()


def prepare_comment(text: str) -> str:
    """Spam model input: links become one of two tokens, so an unseen domain still reads as a link."""
    return _URL.sub(_link_token, text.replace("\ufeff", "").replace("&amp;", "&")).lower()


def prepare_tweet(text: str) -> str:
    """Sentiment model input: mentions and links as placeholders (as UMSAB masks them), 'soooo' as 'soo'."""
    text = re.sub(r"@\w+", " @user ", text.lower())
    text = re.sub(r"https?://\S+|\bhttp\b", " http ", text)
    return _REPEAT.sub(r"\1\1", text)


#: Text preparations by the name an artefact records.
PREPARE: dict[str, Callable[[str], str]] = {"comment": prepare_comment, "tweet": prepare_tweet}
#: The analysers a model may combine, by the name an artefact records (scikit-learn settings).
ANALYZERS: dict[str, dict] = {
    "char_wb": {"analyzer": "char_wb"},
    "word": {"analyzer": "word", "token_pattern": r"(?u)[#@]?\w+|[^\w\s]"},
}


def vectorizer(kind: str, ngram: tuple[int, int], prepare: str, **fit_options):
    """A TF-IDF vectoriser for one analyser: the same settings at training and at inference."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        **ANALYZERS[kind], ngram_range=tuple(ngram), preprocessor=PREPARE[prepare], sublinear_tf=True,
        lowercase=False, dtype=np.float64, **fit_options,
    )


@dataclass(frozen=True, eq=False)  # compared by identity: one loaded instance per artefact
class TextModel:
    """A fitted linear model: n-gram TF-IDF blocks plus named numeric features, one weight row per class."""

    name: str
    classes: tuple[str, ...]
    prepare: str
    blocks: tuple[dict, ...]       # {"kind", "ngram", "vocabulary": [term...], "idf": [float...]}
    extra: tuple[str, ...]         # names of the numeric features appended after the n-grams
    coef: np.ndarray               # (classes or 1) x features
    intercept: np.ndarray
    meta: dict
    sha256: str

    def _vectorizers(self):
        return _fixed_vectorizers(self)

    def features(self, texts: Sequence[str], extra: np.ndarray | None = None) -> sp.csr_matrix:
        """The model's input matrix for these texts (``extra``: rows x len(self.extra))."""
        prepared = [PREPARE[self.prepare](t) for t in texts]
        parts = [block_tfidf(prepared, fitted, block["kind"], tuple(block["ngram"]))
                 for block, fitted in zip(self.blocks, self._vectorizers())]
        if self.extra:
            if extra is None or extra.shape != (len(texts), len(self.extra)):
                raise ValueError(f"{self.name}: needs {len(self.extra)} extra feature(s) {self.extra}")
            parts.append(sp.csr_matrix(extra))
        return sp.hstack(parts, format="csr")

    def proba(self, x: sp.csr_matrix) -> np.ndarray:
        """Class probabilities, rows x classes (logistic regression: softmax, or sigmoid for two)."""
        z = x @ self.coef.T + self.intercept
        if len(self.classes) == 2:
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1.0 - p, p])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def top_features(self, x: sp.csr_matrix, cls: np.ndarray, k: int = 3) -> list[list[str]]:
        """Per row, the ``k`` features that pushed most towards the chosen class (name and contribution)."""
        names = _names(self)
        weights = self.coef if len(self.classes) > 2 else np.vstack([-self.coef[0], self.coef[0]])
        x = x.tocsr()
        rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        contrib = x.data * weights[np.asarray(cls)[rows], x.indices]
        pushing = np.flatnonzero(contrib > 0)
        rows, contrib, features = rows[pushing], contrib[pushing], x.indices[pushing]
        # By row, then largest contribution first: two stable sorts, so ties keep the feature order and a
        # row's trace never depends on the rows classified with it.
        by_contribution = np.argsort(-contrib, kind="stable")
        order = by_contribution[np.argsort(rows[by_contribution], kind="stable")]
        starts = np.searchsorted(rows[order], np.arange(x.shape[0]))
        rank = np.arange(len(order)) - starts[rows[order]]
        keep = order[rank < k]
        out: list[list[str]] = [[] for _ in range(x.shape[0])]
        for r, i, c in zip(rows[keep].tolist(), features[keep].tolist(), contrib[keep].tolist()):
            out[r].append(f"{names[i]}{c:+.2f}")
        return out


def _char_wb_ngrams(word: str, ngram: tuple[int, int]) -> list[str]:
    """scikit-learn's ``char_wb`` n-grams of one word (padded with a space each side)."""
    w = f" {word} "
    grams = []
    for n in range(ngram[0], ngram[1] + 1):
        if len(w) <= n:  # a word shorter than n counts once, whole
            grams.append(w)
            break
        grams += [w[i : i + n] for i in range(len(w) - n + 1)]
    return grams


def _word_ngrams(tokens: list[str], ngram: tuple[int, int]) -> list[str]:
    """scikit-learn's word n-grams of a token list."""
    grams = list(tokens) if ngram[0] == 1 else []
    for n in range(max(ngram[0], 2), ngram[1] + 1):
        grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return grams


_WORD_TOKEN = re.compile(ANALYZERS["word"]["token_pattern"])


def block_tfidf(prepared: Sequence[str], fitted, kind: str, ngram: tuple[int, int]) -> sp.csr_matrix:
    """What ``fitted.transform`` gives for already prepared texts, computed with a per-call cache.

    ``char_wb`` n-grams never cross a word, so each distinct word is looked up in the vocabulary once
    per call instead of once per occurrence. The matrix is the same as scikit-learn's
    (``tests/transforms/test_comment_models`` compares them), in about half the time, which keeps
    classification with the models near twice that of the lexicons alone.
    """
    from sklearn.preprocessing import normalize

    vocabulary = fitted.vocabulary_
    indices: list[int] = []
    indptr = [0]
    if kind == "char_wb":
        cache: dict[str, list[int]] = {}
        for text in prepared:
            for word in text.split():
                ids = cache.get(word)
                if ids is None:
                    ids = cache[word] = [vocabulary[g] for g in _char_wb_ngrams(word, ngram) if g in vocabulary]
                indices += ids
            indptr.append(len(indices))
    else:
        get = vocabulary.get
        for text in prepared:
            ids = [get(g) for g in _word_ngrams(_WORD_TOKEN.findall(text), ngram)]
            indices += [i for i in ids if i is not None]
            indptr.append(len(indices))
    x = sp.csr_matrix((np.ones(len(indices)), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
                      shape=(len(prepared), len(vocabulary)))
    x.sum_duplicates()
    x.data = (np.log(x.data) + 1.0) * fitted.idf_[x.indices]
    return normalize(x, norm="l2", copy=False)


@lru_cache(maxsize=16)
def _fixed_vectorizers(model: TextModel):
    built = []
    for block in model.blocks:
        v = vectorizer(block["kind"], tuple(block["ngram"]), model.prepare,
                       vocabulary={t: i for i, t in enumerate(block["vocabulary"])})
        v.idf_ = np.asarray(block["idf"], dtype=np.float64)
        built.append(v)
    return built


@lru_cache(maxsize=16)
def _names(model: TextModel) -> list[str]:
    label = {"char_wb": "chars", "word": "word"}
    names = [f'{label[b["kind"]]} "{t.strip()}"' for b in model.blocks for t in b["vocabulary"]]
    return names + list(model.extra)


def _round(values: np.ndarray) -> list[float]:
    return [float(f"{v:.{DIGITS}g}") for v in np.asarray(values, dtype=np.float64).ravel()]


def to_bytes(model_dict: dict) -> bytes:
    """The artefact's bytes: sorted JSON, gzip without a timestamp, so a rebuild is byte-identical."""
    text = json.dumps(model_dict, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def as_dict(name: str, classes: Sequence[str], prepare: str, fitted_blocks: Sequence[tuple[str, tuple, Any]],
            extra: Sequence[str], coef: np.ndarray, intercept: np.ndarray, meta: dict) -> dict:
    """An artefact from fitted scikit-learn parts (``fitted_blocks``: kind, ngram, fitted vectoriser)."""
    blocks = []
    for kind, ngram, fitted in fitted_blocks:
        vocab = sorted(fitted.vocabulary_, key=fitted.vocabulary_.get)
        blocks.append({"kind": kind, "ngram": list(ngram), "vocabulary": vocab, "idf": _round(fitted.idf_)})
    coef = np.atleast_2d(coef)
    return {
        "format": FORMAT, "name": name, "classes": list(classes), "prepare": prepare, "blocks": blocks,
        "extra": list(extra), "coef": [_round(r) for r in coef], "intercept": _round(intercept), "meta": meta,
    }


def from_bytes(raw: bytes, where: str) -> TextModel:
    data = json.loads(gzip.decompress(raw).decode("utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{where}: model format {data.get('format')!r}, this version reads {FORMAT}")
    return TextModel(
        name=data["name"], classes=tuple(data["classes"]), prepare=data["prepare"],
        blocks=tuple(data["blocks"]), extra=tuple(data["extra"]),
        coef=np.asarray(data["coef"], dtype=np.float64), intercept=np.asarray(data["intercept"], dtype=np.float64),
        meta=data["meta"], sha256=hashlib.sha256(raw).hexdigest(),
    )


@lru_cache(maxsize=32)
def load_model(name: str, folder: Path = MODEL_DIR) -> TextModel | None:
    """The artefact ``<name>.json.gz``, or None when it is not there (the classifier then says so)."""
    path = folder / f"{name}.json.gz"
    if not path.exists():
        return None
    return from_bytes(path.read_bytes(), str(path))


#: Languages a sentiment model is trained for (the UMSAB languages whose model clears the bar; Hindi
#: does not, see docs/classification.md, so Hindi stays "not rated").
SENTIMENT_LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "ar", "pt", "it")
SPAM_MODEL = "spam"
#: Numeric features besides the n-grams: what the lexicon rules said (see ``classify.model_inputs``).
SPAM_EXTRA = ("rule_spam", "outside_link")
SENTIMENT_EXTRA = ("lexicon_score", "lexicon_positive", "lexicon_negative")


def sentiment_model_name(language: str) -> str:
    return f"sentiment-{language}"


@dataclass(frozen=True, eq=False)
class CommentModels:
    """The trained models the comment classifier applies after the lexicons: spam, and sentiment per language."""

    spam: TextModel | None
    sentiment: dict[str, TextModel]

    @property
    def version(self) -> str:
        """Part of the classifier version: a retrained model gets every text classified afresh."""
        parts = [(SPAM_MODEL, self.spam)] + sorted(self.sentiment.items())
        digest = hashlib.sha256()
        for name, model in parts:
            digest.update(f"{name}={model.sha256 if model else '-'};".encode())
        return f"models#{digest.hexdigest()[:8]}"


NO_MODELS = CommentModels(spam=None, sentiment={})


@lru_cache(maxsize=4)
def load_comment_models(folder: Path = MODEL_DIR) -> CommentModels:
    """The shipped models (whichever artefacts exist in ``folder``)."""
    sentiment = {}
    for language in SENTIMENT_LANGUAGES:
        model = load_model(sentiment_model_name(language), folder)
        if model is not None:
            sentiment[language] = model
    return CommentModels(spam=load_model(SPAM_MODEL, folder), sentiment=sentiment)
