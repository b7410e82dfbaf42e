"""What the fact build (``warehouse.facts``, DuckDB SQL) takes from the pure side: the registered
accounts of the city profile, and the text classifiers with the versions their outcomes are kept under.

The merge rules themselves (latest export wins, canonical post ids, reply linking) are SQL models,
written once in ``warehouse/facts/models.py``; only classification, which SQL cannot do, runs here in
Polars, on texts the build has not classified before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from cityimage.profile import CityProfile
from cityimage.settings import CLASSIFY_CHUNK_ROWS
from transforms.classify import Lexicons, classifier_version, classify_comments, classify_posts

ACCOUNT_SCHEMA = {"platform": pl.String, "handle_lc": pl.String, "registered_id": pl.String, "account_key": pl.String,
                  "role": pl.String, "city": pl.String, "handle": pl.String}


@dataclass(frozen=True)
class Classifiers:
    """The text classifiers, as the fact build needs them; the version names the outcomes it keeps.

    ``classify_posts`` takes input_sha256, title, text, language_raw and returns input_sha256 with the
    build's ``POST_OUTCOMES``; ``classify_texts`` takes input_sha256, text, language_raw and returns
    input_sha256 with its ``COMMENT_OUTCOMES`` (comments, and the tone of public posts). Defined on
    the pure side, so the build (``warehouse.facts``) depends on it and not the other way round.
    """

    post_version: str
    comment_version: str
    classify_posts: Callable[[pl.DataFrame], pl.DataFrame] = field(compare=False)
    classify_texts: Callable[[pl.DataFrame], pl.DataFrame] = field(compare=False)


def account_keys(profile: CityProfile) -> pl.DataFrame:
    """Registered accounts with their key and role, matchable by id or lower-case handle."""
    return pl.DataFrame(
        {
            "platform": [a.platform for a in profile.accounts],
            "handle_lc": [a.handle_key for a in profile.accounts],
            "registered_id": [a.id for a in profile.accounts],
            "account_key": [a.key for a in profile.accounts],
            "role": [a.role for a in profile.accounts],
            "city": [a.city for a in profile.accounts],
            "handle": [a.handle for a in profile.accounts],
        },
        schema=ACCOUNT_SCHEMA,
    )


def classifiers(lexicons: Lexicons, profile: CityProfile, chunk_rows: int = CLASSIFY_CHUNK_ROWS) -> Classifiers:
    """The post and comment classifiers as the fact build calls them, with the versions of their outcomes.

    A post's classification also reads the city's names (a mention of the city), so its version names
    them too: another city profile classifies every post afresh. ``chunk_rows``: texts classified at a
    time (the outcome does not depend on it).
    """
    city_terms = list(profile.city_terms())
    version = classifier_version(lexicons)
    terms = hashlib.sha256("\n".join(city_terms).encode()).hexdigest()[:8]

    def posts(inputs: pl.DataFrame) -> pl.DataFrame:
        frame = inputs.select(pl.col("input_sha256").alias("post_id"), pl.lit("").alias("platform"), "title", "text",
                              "language_raw")
        return classify_posts(frame, lexicons, city_terms, chunk_rows).rename({"post_id": "input_sha256"}).drop("platform")

    def texts(inputs: pl.DataFrame) -> pl.DataFrame:
        return classify_comments(inputs, lexicons, keys=("input_sha256",), chunk_rows=chunk_rows)

    return Classifiers(post_version=f"{version},city#{terms}", comment_version=version, classify_posts=posts,
                       classify_texts=texts)
