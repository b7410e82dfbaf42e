"""Sentiment scoring of comments, vectorised: VADER's arithmetic applied to lexicon hits.

The words and their valences are data (``lexicons/sentiment.yaml`` and, for English, VADER's own
``vader_lexicon.txt`` shipped in the vaderSentiment package). This module only does the arithmetic on
a frame of hits that ``transforms.classify`` found, so a million comments are scored with a handful
of Polars group-bys instead of a Python call per comment.

What is kept from VADER: valences on the -4..+4 scale, negation (x -0.74 within three words), the
"but" rule (x0.5 before, x1.5 after) and the normalisation ``sum / sqrt(sum² + 15)`` with the
±0.05 thresholds. What is left out: booster words ("very"), capitals and "!!!" emphasis, and VADER's
idiom special cases; they move scores a little but rarely across a threshold on short comments.
"""

from __future__ import annotations

import hashlib
from importlib import metadata, resources

import polars as pl

VADER_PACKAGE = "vaderSentiment"


def vader_version() -> str:
    try:
        return metadata.version("vaderSentiment")
    except metadata.PackageNotFoundError:  # pragma: no cover - the package is a dependency
        return "unknown"


def load_vader_lexicon() -> tuple[dict[str, float], str]:
    """VADER's English lexicon as ``{word: mean valence}`` and a short hash of the file."""
    raw = resources.files(VADER_PACKAGE).joinpath("vader_lexicon.txt").read_bytes()
    words: dict[str, float] = {}
    for line in raw.decode("utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip():
            continue
        try:
            words.setdefault(parts[0].strip(), float(parts[1]))
        except ValueError:
            continue
    return words, hashlib.sha256(raw).hexdigest()[:8]


def compound(total: pl.Expr, alpha: float) -> pl.Expr:
    """VADER's normalisation of a sum of valences into -1..1."""
    return total / (total * total + alpha).sqrt()


def score(
    hits: pl.DataFrame,
    contrast: pl.DataFrame,
    *,
    negation_scalar: float,
    contrast_before: float,
    contrast_after: float,
) -> pl.DataFrame:
    """Sum the valences of each row's sentiment hits.

    ``hits``: row, start, weight, negated (bool), negator (str|null), label (str, what the rule shows,
    e.g. ``"beautiful"@en``). ``contrast``: row, start of each contrast word ("but").
    Returns one row per input row that had hits: row, total (float), rules (list[str]), positive_hit and
    negative_hit (whether any word pulled up or down: features of the trained sentiment models).
    """
    if hits.is_empty():
        return pl.DataFrame(schema={"row": pl.UInt32, "total": pl.Float64, "rules": pl.List(pl.String),
                                    "positive_hit": pl.Boolean, "negative_hit": pl.Boolean})
    first_contrast = (
        contrast.sort(["row", "start"])
        .group_by("row", maintain_order=True)
        .agg(c_start=pl.col("start").first(), c_term=pl.col("term").first())
    )
    h = hits.join(first_contrast, on="row", how="left")
    factor = (
        pl.when(pl.col("c_start").is_null()).then(1.0)
        .when(pl.col("start") < pl.col("c_start")).then(contrast_before)
        .when(pl.col("start") > pl.col("c_start")).then(contrast_after)
        .otherwise(1.0)
    )
    h = h.with_columns(
        value=pl.col("weight") * pl.when(pl.col("negated")).then(negation_scalar).otherwise(1.0) * factor,
        factor=factor,
    )
    note = (
        pl.when(pl.col("negated")).then(pl.format('[negated:"{}"]', pl.col("negator"))).otherwise(pl.lit(""))
        + pl.when(pl.col("factor") < 1).then(pl.format('[before "{}"]', pl.col("c_term")))
        .when(pl.col("factor") > 1).then(pl.format('[after "{}"]', pl.col("c_term")))
        .otherwise(pl.lit(""))
    )
    h = h.with_columns(
        rule=pl.concat_str(
            [pl.lit("sentiment:"), pl.col("label"), pl.lit("="),
             pl.when(pl.col("value") >= 0).then(pl.lit("+")).otherwise(pl.lit("")),
             pl.col("value").round(2).cast(pl.String), note]
        )
    )
    return h.group_by("row").agg(
        pl.col("value").sum().alias("total"), pl.col("rule").alias("rules"),
        positive_hit=(pl.col("value") > 0).any(), negative_hit=(pl.col("value") < 0).any(),
    )


def label(total: pl.Expr, *, alpha: float, positive: float, negative: float) -> tuple[pl.Expr, pl.Expr]:
    """(sentiment label, compound score) expressions from a valence total (0 when no hits)."""
    c = compound(total.fill_null(0.0), alpha)
    lab = (
        pl.when(c >= positive).then(pl.lit("positive"))
        .when(c <= negative).then(pl.lit("negative"))
        .otherwise(pl.lit("neutral"))
    )
    return lab, c
