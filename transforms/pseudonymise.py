"""Public authors become keyed pseudonyms before anything reaches the warehouse.

A keyed hash (HMAC-SHA256) keeps one person's comments linkable across exports without storing who
they are; without the key, which lives in settings and never in the repository, a pseudonym cannot be
reversed by hashing guesses. Registered accounts (owned, benchmark, media) keep their ids and
handles: replies by the city's own account must stay recognisable. They are recognised by id, as
``CityProfile.find`` says: a name alone proves nothing, and a row that takes a registered name under
another id is pseudonymised like anyone else's, with the account it imitates noted for the gates.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from cityimage.profile import CityProfile

PREFIX = "anon_"
#: The staging column naming the registered account a row's name collides with.
COLLISION = "name_collision_account_key"


@dataclass(frozen=True)
class Registry:
    """Registered accounts by platform, for membership tests: ids, and handles (lower case) with the key
    of their account and whether it was registered with an id."""

    ids: frozenset[tuple[str, str]]
    handles: dict[tuple[str, str], tuple[str, bool]]

    @classmethod
    def from_profile(cls, profile: CityProfile) -> "Registry":
        return cls(
            ids=frozenset((a.platform, a.id) for a in profile.accounts if a.id),
            handles={(a.platform, a.handle.lower()): (a.key, a.id is not None) for a in profile.accounts},
        )


def pseudonym(key: bytes, platform: str, value: str) -> str:
    digest = hmac.new(key, f"{platform}:{value}".encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:20]


def _pairs(values: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{p}\x1f{v}" for p, v in values]


def _registered_and_claimed(registry: Registry, id_col: str, name_col: str, by_handle: bool) -> tuple[pl.Expr, pl.Expr]:
    """Whether each row is a registered account, and the key of the account whose handle its name
    takes while the row is not that account (a name collision), by ``CityProfile.find``'s rule: the id
    decides; a handle only where the row has no id or the account was registered without one, and
    never when ``by_handle`` is false (comment authors)."""
    by_id = pl.concat_str([pl.col("platform"), pl.col(id_col)], separator="\x1f").is_in(_pairs(registry.ids)).fill_null(False)
    name = pl.concat_str([pl.col("platform"), pl.col(name_col).str.strip_chars().str.strip_prefix("@").str.to_lowercase()],
                         separator="\x1f")
    names_account = name.is_in(_pairs(registry.handles)).fill_null(False)
    idless = _pairs(h for h, (_, has_id) in registry.handles.items() if not has_id)
    registered = by_id
    if by_handle:
        registered = by_id | (names_account & (pl.col(id_col).is_null() | name.is_in(idless).fill_null(False)))
    keys = {f"{p}\x1f{h}": key for (p, h), (key, _) in registry.handles.items()}
    claimed = pl.when(names_account & ~registered).then(name.replace_strict(keys, default=None, return_dtype=pl.String))
    return registered, claimed


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


def pseudonymise(frame: pl.DataFrame, key: bytes, registry: Registry, id_col: str, name_col: str,
                 by_handle: bool = True) -> pl.DataFrame:
    """Replace ``id_col`` and ``name_col`` by pseudonyms on rows that are not registered accounts, and
    set ``name_collision_account_key`` where a row takes a registered account's name without being it:
    the quality gates flag those rows, which stay public."""
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, pl.String).alias(COLLISION))
    registered, claimed = _registered_and_claimed(registry, id_col, name_col, by_handle)
    flags = frame.select(registered.alias("k"), claimed.alias(COLLISION))
    keep = flags["k"]
    return frame.with_columns(
        _hash_column(frame, id_col, key, keep).alias(id_col),
        _hash_column(frame, name_col, key, keep).alias(name_col),
        flags[COLLISION],
    )
