"""Public authors are replaced by keyed pseudonyms; registered accounts keep their identity."""

from __future__ import annotations

import polars as pl

from cityimage.profile import load_profile
from cityimage.settings import DEFAULT_PROFILE
from transforms.pseudonymise import PREFIX, Registry, pseudonym, pseudonymise

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
    assert out["author_name"].to_list()[2] == "@HangzhouChina"       # benchmark, matched by handle
    assert out["author_id"][1] == pseudonym(KEY, "facebook", "55501")
    assert out["author_name"][1].startswith(PREFIX) and "Jane" not in out["author_name"][1]
    assert out["author_id"][3] == out["author_id"][4]                # the same person stays linkable


def test_pseudonyms_depend_on_the_key_and_platform() -> None:
    assert pseudonym(KEY, "x", "42") != pseudonym(b"other-key-000000", "x", "42")
    assert pseudonym(KEY, "x", "42") != pseudonym(KEY, "facebook", "42")
