"""Public authors are replaced by keyed pseudonyms; registered accounts keep their identity."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityimage.profile import load_profile
from cityimage.settings import DEFAULT_PROFILE
from transforms.pseudonymise import (
    COLLISION, PREFIX, Registry, pseudonym, pseudonymise, pseudonymise_comments, pseudonymise_posts, scrub_thread_names,
)

KEY = b"k" * 32


def _comments() -> pl.DataFrame:
    return pl.DataFrame({
        "platform": ["facebook", "facebook", "youtube", "x", "x"],
        "author_id": ["100064548282347", "55501", None, "42", "42"],
        "author_name": ["iChongqing", "Jane Doe", "@HangzhouChina", "fan_1", "fan_1"],
    })


def test_public_authors_are_hashed_and_registered_accounts_kept() -> None:
    registry = Registry.from_profile(load_profile(DEFAULT_PROFILE))
    out = pseudonymise(_comments(), KEY, registry, "author_id", "author_name")
    assert out["author_name"].to_list()[0] == "iChongqing"           # owned, matched by id
    assert out["author_name"].to_list()[2] == "@HangzhouChina"       # benchmark: no id, matched by handle
    assert out["author_id"][1] == pseudonym(KEY, "facebook", "55501")
    assert out["author_name"][1].startswith(PREFIX) and "Jane" not in out["author_name"][1]
    assert out["author_id"][3] == out["author_id"][4]                # the same person stays linkable
    assert out[COLLISION].to_list() == [None] * 5


def test_a_name_is_anyones_to_take_so_the_id_decides() -> None:
    registry = Registry.from_profile(load_profile(DEFAULT_PROFILE))
    rows = pl.DataFrame({
        "platform": ["facebook", "youtube", "tiktok", "tiktok"],
        "author_id": ["999", None, "7001", None],
        "author_name": ["iChongqing", "HangzhouChina", "ichongqing", "someone"],
    })
    # posts and account rows: a handle decides only where the row has no id, or the account has none
    posts = pseudonymise(rows, KEY, registry, "author_id", "author_name")
    assert posts["author_name"].to_list()[1:3] == ["HangzhouChina", "ichongqing"]
    assert posts["author_name"][0].startswith(PREFIX) and posts["author_id"][0] == pseudonym(KEY, "facebook", "999")
    assert posts[COLLISION].to_list() == ["facebook:ichongqing", None, None, None]
    # comment authors: by id alone, and every taken name is flagged
    comments = pseudonymise(rows, KEY, registry, "author_id", "author_name", by_handle=False)
    assert all(name.startswith(PREFIX) for name in comments["author_name"])
    assert comments[COLLISION].to_list() == ["facebook:ichongqing", "youtube:hangzhouchina", "tiktok:ichongqing", None]


def test_the_profile_states_the_same_rule() -> None:
    profile = load_profile(DEFAULT_PROFILE)
    assert profile.find("facebook", "iChongqing", "999") is None
    assert profile.find("facebook", "@ICHONGQING", None).role == "owned"
    assert profile.find("facebook", "someone", "100064548282347").handle == "iChongqing"
    assert profile.find("youtube", "HangzhouChina", None, by_handle=False) is None
    assert profile.find("tiktok", "ichongqing", "7001").role == "owned"  # registered without an id


def test_pseudonyms_depend_on_the_key_and_platform() -> None:
    assert pseudonym(KEY, "x", "42") != pseudonym(b"other-key-000000", "x", "42")
    assert pseudonym(KEY, "x", "42") != pseudonym(KEY, "facebook", "42")


def test_public_authors_leave_no_trace_in_texts_or_links() -> None:
    registry = Registry.from_profile(load_profile(DEFAULT_PROFILE))
    comments = pl.DataFrame({
        "platform": ["facebook", "facebook", "facebook", "x"],
        "comment_id": ["1_10", "1_11", "1_12", "t2"],
        "parent_comment_id": [None, "1_10", "1_10", None],
        "author_id": ["555", "100064548282347", "556", "42"],
        "author_name": ["Jane Doe", "iChongqing", "Li", "fan_1"],
        "text": ["Is the metro open late?", "Jane Doe yes, until 23:00! Li too", "thanks Jane Doe.",
                 "@fan_2 @iChongqing_ agreed, mail me at a@b.com."],
    })
    out = pseudonymise_comments(comments, KEY, registry)["text"].to_list()
    jane = pseudonym(KEY, "facebook", "Jane Doe")
    assert out[1] == f"{jane} yes, until 23:00! Li too"  # a two-letter name is also a word: kept
    assert out[2] == f"thanks {jane}."
    assert out[3] == f"@{pseudonym(KEY, 'x', 'fan_2')} @iChongqing_ agreed, mail me at a@b.com."
    posts = pl.DataFrame({
        "platform": ["x", "x", "tiktok", "youtube"], "post_id": ["9", "8", "7", "vid"],
        "account_id": ["42", "1054267548183613440", None, "UC9"], "account_handle": ["fan_1", "iChongqing_", "someone", None],
        "post_url": ["https://x.com/fan_1/status/9", "https://x.com/iChongqing_/status/8",
                     "https://www.tiktok.com/@someone/video/7", "https://www.youtube.com/watch?v=vid"],
        "title": [None, None, None, "Trip with @fan_1"], "text": ["Chongqing! cc @fan_3", None, None, None],
    })
    scrubbed = pseudonymise_posts(posts, KEY, registry)
    assert scrubbed["post_url"].to_list() == ["https://x.com/i/status/9", "https://x.com/iChongqing_/status/8", None,
                                              "https://www.youtube.com/watch?v=vid"]
    assert scrubbed["text"][0] == f"Chongqing! cc @{pseudonym(KEY, 'x', 'fan_3')}"
    assert scrubbed["title"][3] == f"Trip with @{pseudonym(KEY, 'youtube', 'fan_1')}"


def test_a_handle_is_normalised_alike_in_python_polars_and_sql() -> None:
    import duckdb

    from cityimage.profile import normal_handle
    from transforms.pseudonymise import normal_handle_expr
    from warehouse.facts.models import normal_handle_sql

    names = ["iChongqing", " @iChongqing ", "\t@ICHONGQING\n", "@@twice", "@ spaced", "Chóngqìng Daily", "", "@",
             "\u00a0nbsp\u00a0", "ÉCOLE", "x\u000bvt\u000c"]
    python = [normal_handle(n) for n in names]
    polars_ = pl.DataFrame({"name": names}).select(normal_handle_expr(pl.col("name")))["name"].to_list()
    sql = [r[0] for r in duckdb.sql(f"SELECT {normal_handle_sql('name')} FROM unnest(?) AS t(name)",
                                    params=[names]).fetchall()]
    assert python == polars_ == sql
    assert python[:3] == ["ichongqing"] * 3


def _thread_names_one_by_one(comments: pl.DataFrame, keep: list[bool]) -> list[str | None]:
    """The reply scrub as its rule reads, row by row: each reply's text loses the names of its thread
    (its parent's author, the last row of that comment, and its public repliers) found as whole words."""
    import re

    rows = list(zip(*[comments[c].to_list() for c in ("platform", "comment_id", "parent_comment_id", "author_name", "text")], keep))
    public = {(p, c): n for p, c, _, n, _, k in rows if not k and n and len(n) >= 3}
    threads: dict[tuple[str, str], set[str]] = {}
    for p, _, parent, n, _, k in rows:
        if parent is not None:
            names = threads.setdefault((p, parent), set())
            names |= {public[(p, parent)]} if (p, parent) in public else set()
            names |= {n} if not k and n and len(n) >= 3 else set()
    out = []
    for p, _, parent, _, text, _ in rows:
        names = sorted(threads.get((p, parent), ()), key=len, reverse=True) if parent is not None and text else []
        pattern = "|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in names)  # longest first, one pass
        out.append(re.sub(pattern, lambda m: pseudonym(KEY, p, m[0]), text) if names else text)
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["facebook", "instagram"]), st.integers(0, 5), st.integers(-1, 5),
                          st.sampled_from([None, "Li", "Jane Doe", "Jane", "Bob Ray", "Ann-Marie"]),
                          st.sampled_from([None, "", "hi Jane Doe and Bob Ray", "Jane, Jane Doe? Ann-Marie!", "JaneDoe Li",
                                           "thanks Jane"]), st.booleans()), max_size=12))
def test_reply_texts_lose_their_threads_names_as_the_rule_reads(rows: list[tuple]) -> None:
    comments = pl.DataFrame({
        "platform": [r[0] for r in rows], "comment_id": [str(r[1]) for r in rows],
        "parent_comment_id": [str(r[2]) if r[2] >= 0 else None for r in rows],
        "author_name": [r[3] for r in rows], "text": [r[4] for r in rows],
    }, schema={c: pl.String for c in ("platform", "comment_id", "parent_comment_id", "author_name", "text")})
    keep = [r[5] for r in rows]
    got = scrub_thread_names(comments, KEY, pl.Series(keep, dtype=pl.Boolean)).to_list()
    assert got == _thread_names_one_by_one(comments, keep)


@pytest.mark.parametrize("key", [b"k" * 32, b"", b"x" * 64, b"long key " * 9])
def test_pseudonyms_are_hmac_sha256(key: bytes) -> None:
    import hashlib
    import hmac

    for platform, value in [("x", "42"), ("facebook", "Jane Doe"), ("instagram", "李雷 ✓")]:
        digest = hmac.new(key, f"{platform}:{value}".encode(), hashlib.sha256).hexdigest()
        assert pseudonym(key, platform, value) == PREFIX + digest[:20]
