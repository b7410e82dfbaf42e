"""Public authors become keyed pseudonyms before anything reaches the warehouse.

A keyed hash (HMAC-SHA256) keeps one person's comments linkable across exports without storing who
they are; without the key, which lives in settings and never in the repository, a pseudonym cannot be
reversed by hashing guesses. Registered accounts (owned, benchmark, media) keep their ids and
handles: replies by the city's own account must stay recognisable.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import polars as pl

from cityimage.profile import CityProfile

PREFIX = "anon_"


@dataclass(frozen=True)
class Registry:
    """Registered accounts by platform, as ids and lower-case handles, for membership tests."""

    ids: frozenset[tuple[str, str]]
    handles: frozenset[tuple[str, str]]

    @classmethod
    def from_profile(cls, profile: CityProfile) -> "Registry":
        return cls(
            ids=frozenset((a.platform, a.id) for a in profile.accounts if a.id),
            handles=frozenset((a.platform, a.handle.lower()) for a in profile.accounts),
        )


def pseudonym(key: bytes, platform: str, value: str) -> str:
    digest = hmac.new(key, f"{platform}:{value}".encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:20]


def _is_registered(registry: Registry, id_col: str, name_col: str) -> pl.Expr:
    ids = [f"{p}\x1f{i}" for p, i in registry.ids]
    handles = [f"{p}\x1f{h}" for p, h in registry.handles]
    by_id = pl.concat_str([pl.col("platform"), pl.col(id_col)], separator="\x1f").is_in(ids)
    name = pl.col(name_col).str.strip_chars().str.strip_prefix("@").str.to_lowercase()
    by_name = pl.concat_str([pl.col("platform"), name], separator="\x1f").is_in(handles)
    return by_id.fill_null(False) | by_name.fill_null(False)


def _hash_column(frame: pl.DataFrame, column: str, key: bytes, keep: pl.Series) -> pl.Series:
    """Hash each distinct (platform, value) once: authors repeat, HMAC per row would waste time."""
    pairs = frame.select("platform", column).filter(~keep & pl.col(column).is_not_null()).unique()
    mapping = {
        (p, v): pseudonym(key, p, v) for p, v in zip(pairs["platform"].to_list(), pairs[column].to_list())
    }
    lookup = pl.DataFrame(
        {"platform": [p for p, _ in mapping], column: [v for _, v in mapping], "__anon": list(mapping.values())},
        schema={"platform": pl.String, column: pl.String, "__anon": pl.String},
    )
    joined = frame.select("platform", column).with_row_index("__i").join(lookup, on=["platform", column], how="left")
    hashed = joined.sort("__i")["__anon"]
    return frame.select(pl.when(keep).then(pl.col(column)).otherwise(hashed).alias(column)).to_series()


def pseudonymise(frame: pl.DataFrame, key: bytes, registry: Registry, id_col: str, name_col: str) -> pl.DataFrame:
    """Replace ``id_col`` and ``name_col`` by pseudonyms on rows that are not registered accounts."""
    if frame.is_empty():
        return frame
    keep = frame.select(_is_registered(registry, id_col, name_col).alias("k")).to_series()
    return frame.with_columns(
        _hash_column(frame, id_col, key, keep).alias(id_col),
        _hash_column(frame, name_col, key, keep).alias(name_col),
    )
