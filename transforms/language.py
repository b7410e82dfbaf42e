"""Language of posts and comments: the platform's own tag when it has one, else lingua, else ``und``.

Pure: a Series of texts (and optional platform hints) in, a Series of ISO 639-1 codes out. The lingua
detector is built once per process and reused (it holds the language models in memory).

Why these choices (measurements in docs/classification.md):
- lingua is restricted to the languages overseas comments under a Chinese city's posts are written in:
  the paper's seven, English and Chinese, plus the languages most likely to be confused with them
  (Portuguese with Spanish, Ukrainian with Russian, Persian with Arabic, Italian, Dutch...). A text in
  a language outside the set is read as the closest one, so the set errs on the side of breadth.
- accuracy mode by length: below ``LONG_TEXT_CHARS`` characters (most comments) lingua's high-accuracy
  mode, which misreads short texts far less often than the trigram-only low-accuracy mode; from that
  length on (most posts) the low-accuracy mode, as accurate there and about twice as fast. Both
  detectors together hold about 0.5 GB of language models.
- a result is kept only when lingua's confidence is at least ``MIN_CONFIDENCE`` and clearly ahead of
  the runner-up (``MIN_MARGIN``); otherwise the text is ``und`` and downstream classifiers treat it as
  such (sentiment: not rated unless the lexicon words themselves show the language).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import metadata

import polars as pl

#: Languages lingua may answer (ISO 639-1). The first nine have lexicons; the others are here so that
#: a Portuguese or Italian comment is recognised as such (and left unrated) instead of being read as
#: Spanish or French.
LANGUAGES: tuple[str, ...] = (
    "en", "zh", "ru", "fr", "de", "es", "ar", "ja", "ko",
    "pt", "it", "nl", "tr", "vi", "th", "id", "pl", "uk", "hi", "fa",
)
#: Below this confidence (0..1, lingua's relative probability of the best language) the text is ``und``.
#: Chosen on the UMSAB tweets (../shared/labelled, Romanised Hindi aside): 0.25 with a 0.1 margin left
#: 2.0 % of texts ``und`` for an accuracy of 0.966; 0.2 with 0.02 leaves 0.6 % for 0.975, and 98.1 % of
#: the answers given are right (98.6 % before). Dropping both to 0 adds only 0.003 more.
MIN_CONFIDENCE = 0.2
#: The best language must lead the runner-up by at least this much, else ``und``.
MIN_MARGIN = 0.02
#: Only the start of a long text is read: enough to tell its language, and detection time grows with length.
MAX_CHARS = 200
#: From this many characters on, the low-accuracy mode is used (lingua's own advice: it is reliable on
#: longer texts); below it, the high-accuracy mode.
LONG_TEXT_CHARS = 120

#: Platform tags that mean "no language" (X/Twitter: und, zxx = no text, q* = media-only, hashtags...).
_NO_LANGUAGE = {"und", "zxx", "qme", "qht", "qam", "qct", "qst", "art", "mul", "xx"}
#: Legacy or three-letter tags platforms still send.
_HINT_ALIASES = {
    "in": "id", "iw": "he", "ji": "yi", "jw": "jv", "fil": "tl", "zho": "zh", "chi": "zh", "cmn": "zh",
    "yue": "zh", "eng": "en", "rus": "ru", "fra": "fr", "fre": "fr", "deu": "de", "ger": "de", "spa": "es",
    "ara": "ar", "jpn": "ja", "kor": "ko", "por": "pt", "ita": "it",
}
#: A text whose letters are at least this share Hangul is Korean, whatever lingua says: Korean comments
#: mix in English words and lingua, weighing words, reads the mix as English. A Hangul syllable writes
#: two or three sounds, so it weighs ``HANGUL_WEIGHT`` letters.
HANGUL_SHARE = 0.5
HANGUL_WEIGHT = 3

# Noise that says nothing about the language of the words around it.
_NOISE = r"https?:?/*\S*|www\.\S+|[@#][\w.]+"

_lock = threading.Lock()


def normalize_hints(hints: pl.Series) -> pl.Series:
    """Platform language tags as ISO 639-1, null when absent or meaning "no language".

    ``en-GB`` -> ``en``, ``zh-Hant`` -> ``zh``, ``in`` -> ``id``, ``und``/``zxx`` -> null.
    """
    h = hints.cast(pl.String).str.strip_chars().str.to_lowercase()
    base = h.str.replace(r"[-_].*$", "")
    base = base.replace(_HINT_ALIASES)
    ok = base.str.contains(r"^[a-z]{2}$") & ~base.is_in(list(_NO_LANGUAGE))
    return pl.select(pl.when(ok).then(base).otherwise(None).alias(hints.name or "hint")).to_series()


def lingua_version() -> str:
    """The installed lingua, part of the classifier's version: new models can answer differently."""
    return metadata.version("lingua-language-detector")


@lru_cache(maxsize=4)
def _detector(languages: tuple[str, ...], high_accuracy: bool):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in languages]
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    if not high_accuracy:
        builder = builder.with_low_accuracy_mode()
    return builder.build()


def _lingua(texts: list[str], languages: tuple[str, ...], high_accuracy: bool,
            min_confidence: float, min_margin: float) -> list[str]:
    detector = _detector(languages, high_accuracy)
    with _lock:  # the detector loads models lazily; one caller at a time is enough for a batch API
        values = detector.compute_language_confidence_values_in_parallel(texts)
    out: list[str] = []
    for ranked in values:
        if not ranked or ranked[0].value < min_confidence:
            out.append("und")
            continue
        second = ranked[1].value if len(ranked) > 1 else 0.0
        if ranked[0].value - second < min_margin:
            out.append("und")
        else:
            out.append(ranked[0].language.iso_code_639_1.name.lower())
    return out


def detect_languages(
    texts: pl.Series,
    hints: pl.Series | None = None,
    *,
    languages: tuple[str, ...] = LANGUAGES,
    high_accuracy: bool | None = None,
    min_confidence: float = MIN_CONFIDENCE,
    min_margin: float = MIN_MARGIN,
) -> pl.Series:
    """One ISO 639-1 code (or ``und``) per text.

    A platform hint wins when present and meaningful; texts without letters (emoji, numbers, links)
    are ``und``; a text whose letters are mostly Hangul (``HANGUL_SHARE``) is Korean; identical texts are detected once; the rest go to lingua's parallel batch API.
    ``high_accuracy``: True or False forces lingua's mode; None (default) chooses by length.
    """
    n = texts.len()
    if hints is not None and hints.len() != n:
        raise ValueError(f"hints has {hints.len()} values for {n} texts")
    frame = pl.DataFrame({"text": texts.cast(pl.String)})
    frame = frame.with_columns(
        hint=normalize_hints(hints) if hints is not None else pl.lit(None, dtype=pl.String),
        clean=pl.col("text").fill_null("").str.replace_all(_NOISE, " ").str.strip_chars()
        .str.slice(0, MAX_CHARS),
    )
    todo = (
        frame.filter(pl.col("hint").is_null() & pl.col("clean").str.contains(r"\p{L}"))
        .select("clean")
        .unique(maintain_order=True)
    )
    parts = []
    for high in (True, False):
        if high_accuracy is None:
            long_text = pl.col("clean").str.len_chars() >= LONG_TEXT_CHARS
            part = todo.filter(~long_text if high else long_text)
        else:
            part = todo if high == high_accuracy else todo.clear()
        if part.height:
            found = _lingua(part["clean"].to_list(), languages, high, min_confidence, min_margin)
            parts.append(part.with_columns(detected=pl.Series(found, dtype=pl.String)))
    todo = pl.concat(parts) if parts else todo.with_columns(detected=pl.lit(None, dtype=pl.String))
    out = frame.join(todo, on="clean", how="left", maintain_order="left")
    hangul = pl.col("clean").str.count_matches(r"\p{Hangul}") * HANGUL_WEIGHT
    others = pl.col("clean").str.count_matches(r"\p{L}") - pl.col("clean").str.count_matches(r"\p{Hangul}")
    korean = (hangul > 0) & (hangul >= HANGUL_SHARE * (hangul + others))
    if "ko" in languages:
        out = out.with_columns(detected=pl.when(korean).then(pl.lit("ko")).otherwise("detected"))
    return out.select(
        pl.coalesce("hint", "detected", pl.lit("und")).alias("language")
    ).to_series()
