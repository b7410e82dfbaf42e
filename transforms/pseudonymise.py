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
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from cityimage.profile import HANDLE_SPACE, CityProfile, normal_handle

PREFIX = "anon_"
#: The staging column naming the registered account a row's name collides with.
COLLISION = "name_collision_account_key"
#: An "@handle" in a text: not inside a word or an e-mail address, without trailing punctuation.
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,48}[A-Za-z0-9_])?)")
#: Display names shorter than this are left in texts: a two-letter name is also a word.
MIN_NAME = 3
#: Public post links that name no one, rebuilt from the post id; other platforms' links name the author.
ANONYMOUS_URL = {"x": "https://x.com/i/status/{}", "youtube": "https://www.youtube.com/watch?v={}"}


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
            handles={(a.platform, a.handle_key): (a.key, a.id is not None) for a in profile.accounts},
        )


def pseudonym(key: bytes, platform: str, value: str) -> str:
    return pseudonyms(key, [(platform, value)])[0]


def pseudonyms(key: bytes, pairs: Iterable[tuple[str, str]]) -> list[str]:
    """``pseudonym`` of each (platform, value): HMAC-SHA256 (RFC 2104), truncated.

    Computed from SHA-256 states with the padded key already absorbed (``_keyed``): copying two
    hashes is a third cheaper than copying Python's HMAC object, for the millions of authors a year
    names. ``test_pseudonyms_are_hmac_sha256`` holds it to ``hmac``."""
    inner, outer = _keyed(key)
    found = []
    for platform, value in pairs:
        digest = inner.copy()
        digest.update(f"{platform}:{value}".encode())
        keyed = outer.copy()
        keyed.update(digest.digest())
        found.append(PREFIX + keyed.hexdigest()[:20])
    return found


@lru_cache(maxsize=4)
def _keyed(key: bytes) -> tuple["hashlib._Hash", "hashlib._Hash"]:
    """HMAC's inner and outer SHA-256 states with the key's pads absorbed, as RFC 2104 defines them:
    a key longer than the 64-byte block is hashed first, a shorter one padded with zeros."""
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return hashlib.sha256(bytes(b ^ 0x36 for b in block)), hashlib.sha256(bytes(b ^ 0x5C for b in block))


def _pairs(values: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{p}\x1f{v}" for p, v in values]


def normal_handle_expr(name: pl.Expr) -> pl.Expr:
    """``cityimage.profile.normal_handle`` as a Polars expression."""
    return name.str.strip_chars(HANDLE_SPACE).str.strip_prefix("@").str.to_lowercase()


def _registered_and_claimed(registry: Registry, id_col: str, name_col: str, by_handle: bool) -> tuple[pl.Expr, pl.Expr]:
    """Whether each row is a registered account, and the key of the account whose handle its name
    takes while the row is not that account (a name collision), by ``CityProfile.find``'s rule: the id
    decides; a handle only where the row has no id or the account was registered without one, and
    never when ``by_handle`` is false (comment authors)."""
    by_id = pl.concat_str([pl.col("platform"), pl.col(id_col)], separator="\x1f").is_in(_pairs(registry.ids)).fill_null(False)
    name = pl.concat_str([pl.col("platform"), normal_handle_expr(pl.col(name_col))], separator="\x1f")
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
    anon = pseudonyms(key, zip(pairs["platform"].to_list(), pairs[column].to_list()))
    lookup = pairs.with_columns(pl.Series("__anon", anon, dtype=pl.String))
    hashed = frame.select("platform", column).join(lookup, on=["platform", column], how="left",
                                                   maintain_order="left")["__anon"]
    return frame.select(pl.when(keep).then(pl.col(column)).otherwise(hashed).alias(column)).to_series()


def pseudonymise(frame: pl.DataFrame, key: bytes, registry: Registry, id_col: str, name_col: str,
                 by_handle: bool = True) -> pl.DataFrame:
    """Replace ``id_col`` and ``name_col`` by pseudonyms on rows that are not registered accounts, and
    set ``name_collision_account_key`` where a row takes a registered account's name without being it:
    the quality gates flag those rows, which stay public."""
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, pl.String).alias(COLLISION))
    return _hashed(frame, key, id_col, name_col, _flags(frame, registry, id_col, name_col, by_handle))


def _flags(frame: pl.DataFrame, registry: Registry, id_col: str, name_col: str, by_handle: bool) -> pl.DataFrame:
    """Per row: ``keep`` (a registered account) and the account whose name it takes (``COLLISION``)."""
    registered, claimed = _registered_and_claimed(registry, id_col, name_col, by_handle)
    return frame.select(registered.alias("keep"), claimed.alias(COLLISION))


def _hashed(frame: pl.DataFrame, key: bytes, id_col: str, name_col: str, flags: pl.DataFrame) -> pl.DataFrame:
    keep = flags["keep"]
    return frame.with_columns(
        _hash_column(frame, id_col, key, keep).alias(id_col),
        _hash_column(frame, name_col, key, keep).alias(name_col),
        flags[COLLISION],
    )


def scrub_mentions(texts: pl.Series, platforms: pl.Series, key: bytes, registry: Registry) -> pl.Series:
    """Every "@handle" of someone not registered becomes "@" + their pseudonym: the same pseudonym their
    comments carry where the platform's display name is the handle (X, Instagram)."""

    def one(text: str, platform: str) -> str:
        def swap(match: re.Match[str]) -> str:
            handle = match[1]
            return match[0] if (platform, normal_handle(handle)) in registry.handles else "@" + pseudonym(key, platform, handle)

        return MENTION.sub(swap, text)

    values = [one(t, p) if t and "@" in t else t for t, p in zip(texts.to_list(), platforms.to_list())]
    return pl.Series(texts.name, values, dtype=pl.String)


def scrub_thread_names(comments: pl.DataFrame, key: bytes, keep: pl.Series) -> pl.Series:
    """A reply's text with the display names of its thread (the parent's author and the other repliers)
    replaced by their pseudonyms: Facebook writes a tagged person's name into the reply. ``keep``: the
    rows by registered accounts, whose names stay.

    The threads are gathered in Polars and only replies are searched in Python: replies are a few in
    a hundred comments, and the texts of the others pass as they are."""
    rows = comments.select("platform", "comment_id", "parent_comment_id", "author_name", "text").with_columns(
        keep=keep).with_row_index("__row")
    named = ~pl.col("keep") & (pl.col("author_name").str.len_chars() >= MIN_NAME)
    replies = rows.filter(pl.col("parent_comment_id").is_not_null())
    todo = replies.filter(pl.col("text").str.len_bytes() > 0)
    if todo.is_empty():
        return comments["text"]
    thread = ["platform", "parent_comment_id"]
    parents = rows.filter(named).unique(["platform", "comment_id"], keep="last").select(
        "platform", pl.col("comment_id").alias("parent_comment_id"), "author_name")
    names = pl.concat([replies.select(thread).unique().join(parents, on=thread), replies.filter(named).select(*thread, "author_name")])
    threads = names.group_by(thread).agg(pl.col("author_name").unique().alias("__names"))
    found = todo.join(threads, on=thread, how="inner").select("__row", "platform", "text", "__names")
    rows_changed, texts = [], []
    for row, platform, text, thread_names in found.iter_rows():
        in_text = tuple(sorted((n for n in thread_names if n in text), key=len, reverse=True))
        if in_text:
            rows_changed.append(row)
            texts.append(_names_pattern(in_text).sub(lambda m: pseudonym(key, platform, m[0]), text))
    if not rows_changed:
        return comments["text"]
    return comments["text"].clone().scatter(rows_changed, pl.Series(texts, dtype=pl.String))


@lru_cache(maxsize=4096)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """The names as whole words, longest first. Built only from the names a text contains: a name that
    is not in the text cannot match, and a pattern per thread cost more to compile than to use."""
    return re.compile("|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in names))


def anonymous_urls(frame: pl.DataFrame, keep: pl.Series) -> pl.Series:
    """A public post's link without its author: rebuilt from the id where the platform allows
    (``ANONYMOUS_URL``), else dropped; registered accounts' links stay."""
    rebuilt = pl.lit(None, pl.String)
    for platform, template in ANONYMOUS_URL.items():
        prefix, suffix = template.split("{}")
        link = pl.concat_str([pl.lit(prefix), pl.col("post_id"), pl.lit(suffix)])
        rebuilt = pl.when(pl.col("platform") == platform).then(link).otherwise(rebuilt)
    public = pl.when(pl.col("post_url").is_not_null()).then(rebuilt)
    return frame.with_columns(keep=keep).select(
        pl.when(pl.col("keep")).then(pl.col("post_url")).otherwise(public).alias("post_url")).to_series()


def pseudonymise_comments(frame: pl.DataFrame, key: bytes, registry: Registry) -> pl.DataFrame:
    """Comments with their public authors pseudonymised wherever they appear: author id and name (by id
    alone, see ``CityProfile.find``), "@handles" in texts and display names in reply threads."""
    if frame.is_empty():
        return pseudonymise(frame, key, registry, "author_id", "author_name", by_handle=False)
    flags = _flags(frame, registry, "author_id", "author_name", by_handle=False)
    scrubbed = frame.with_columns(scrub_thread_names(frame, key, flags["keep"]))
    scrubbed = scrubbed.with_columns(scrub_mentions(scrubbed["text"], scrubbed["platform"], key, registry))
    return _hashed(scrubbed, key, "author_id", "author_name", flags)


def pseudonymise_posts(frame: pl.DataFrame, key: bytes, registry: Registry) -> pl.DataFrame:
    """Posts with public accounts pseudonymised: account id and handle, the link that names them, and
    "@handles" in every post's title and text."""
    if frame.is_empty():
        return pseudonymise(frame, key, registry, "account_id", "account_handle")
    flags = _flags(frame, registry, "account_id", "account_handle", by_handle=True)
    scrubbed = frame.with_columns(
        anonymous_urls(frame, flags["keep"]),
        *[scrub_mentions(frame[c], frame["platform"], key, registry) for c in ("title", "text") if c in frame.columns],
    )
    return _hashed(scrubbed, key, "account_id", "account_handle", flags)
