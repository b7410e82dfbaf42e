"""The flow's fact build (comments merged in DuckDB, classified once per text, built in batches) gives
exactly the facts of the whole-frame reference ``transforms.facts.build_facts``; the classification
cache gives what a fresh classification gives and is dropped when the lexicons change."""

from __future__ import annotations

import random
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import transforms.classify as classify
from cityimage.profile import load_profile
from cityimage.settings import DEFAULT_PROFILE, Settings
from flows import stages
from readers.entities import ENTITIES
from transforms.classify import classifier_version, load_lexicons
from transforms.facts import Staging, build_facts, latest_comments
from transforms.model import FACT_TABLES
from warehouse import comments as warehouse_comments
from warehouse.connection import open_writer

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 16, 2, 0, tzinfo=timezone.utc)
PAGE = "100064548282347"  # iChongqing's Facebook page: its replies are the post account's
LINEAGE = {"source_row": pl.Int64, "source_format": pl.String, "source_file_sha256": pl.String, "load_id": pl.String}


def _frame(entity: str, rows: list[dict]) -> pl.DataFrame:
    schema = dict(ENTITIES[entity].columns) | LINEAGE
    return pl.DataFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema, orient="row")


def _post(post_id: str, platform: str, account_id: str, handle: str, day: int, file: str) -> dict:
    return {
        "platform": platform, "account_id": account_id, "account_handle": handle, "post_id": post_id,
        "published_at": T0, "format": "video", "text": "Hongyadong at night, Chongqing", "likes": 5, "comments": 2,
        "shares": 1, "exported_at": T0 + timedelta(days=day), "source_row": 1, "source_file_sha256": file,
        "source_format": "bench", "load_id": "l",
    }


def _comment(cid: str, file: str, day: int | None, row: int, **values) -> dict:
    base = {
        "platform": "facebook", "comment_id": cid, "post_id": f"{PAGE}_1", "author_id": "anon_a", "author_name": "anon_a",
        "text": "Beautiful! Where is this?", "created_at": T0 + timedelta(hours=1), "is_hidden": False,
        "exported_at": None if day is None else T0 + timedelta(days=day), "source_row": row,
        "source_file_sha256": file, "source_format": "bench", "load_id": "l",
    }
    return base | values


def _staging_rows() -> tuple[list[dict], list[dict]]:
    """Posts, and comments whose exports disagree in every way the merge rule settles."""
    posts = [
        _post(f"{PAGE}_1", "facebook", PAGE, "iChongqing", 9, "p1"),
        _post("vid1", "youtube", "UCzaUJ1p3DLQvX3bgB3dMw7A", "iChongqing", 9, "p1"),
    ]
    reply_by_page = {"author_id": PAGE, "author_name": "iChongqing", "text": "Thank you! Welcome to Chongqing!"}
    rows = [
        # the latest export lacks the author name and hides the comment: the name comes from the older one
        _comment("1_10", "a", 2, 1, text="Nice!"),
        _comment("1_10", "b", 9, 4, author_name=None, is_hidden=True, text="Nice! Where is this?"),
        # two exports at the same instant: the file hash decides (b > a), whatever the rows say
        _comment("1_11", "b", 5, 1, text="Too crowded, not worth it", language_raw="en"),
        _comment("1_11", "a", 5, 9, text="So beautiful"),
        # an export without an instant sorts before any export with one
        _comment("1_12", "c", None, 1, text="Прекрасно!"),
        _comment("1_12", "a", 3, 2, text="Magnifique !"),
        # the page's replies, in other batches than the comments they answer
        _comment("1_13", "a", 3, 3, parent_comment_id="1_10", created_at=T0 + timedelta(hours=5), **reply_by_page),
        _comment("1_14", "b", 9, 5, parent_comment_id="1_10", created_at=T0 + timedelta(hours=3), **reply_by_page),
        _comment("1_15", "b", 9, 6, parent_comment_id="1_12", created_at=T0 + timedelta(days=9), **reply_by_page),
        # YouTube: a reply listed without its video belongs to its parent's post
        _comment("Ugx1", "a", 2, 7, platform="youtube", post_id="vid1", text="Can't wait to visit!"),
        _comment("Ugx2", "b", 4, 8, platform="youtube", post_id=None, parent_comment_id="Ugx1",
                 author_id="UCzaUJ1p3DLQvX3bgB3dMw7A", author_name="iChongqing", text="Welcome!",
                 created_at=T0 + timedelta(hours=30)),
        _comment("1_16", "a", 2, 10),
        _comment("1_17", "a", 2, 11, text=None),
    ]
    return posts, rows


def _settings(home: Path) -> Settings:
    return Settings(home=home, author_key="test-author-key-0123456789abcdef")


def _load(settings: Settings, posts: list[dict], comment_rows: list[dict]) -> None:
    """Write staging straight into a fresh warehouse (ingest is not under test here)."""
    with open_writer(settings.warehouse, "test") as con:
        for table, frame in (("stg_post", _frame("post", posts)), ("stg_comment", _frame("comment", comment_rows))):
            con.register("__rows", frame)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM __rows")
            con.unregister("__rows")


def _facts_in(settings: Settings) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return {name: stages.read_table(con, name) for name in FACT_TABLES}


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort([c for c, t in frame.schema.items() if not isinstance(t, pl.List)], nulls_last=True)


def _reference(posts: list[dict], comment_rows: list[dict]) -> dict[str, pl.DataFrame]:
    staging = Staging(post=_frame("post", posts), account_day=_frame("account_day", []),
                      audience=_frame("audience", []), search=_frame("search", []))
    facts = build_facts(staging, _frame("comment", comment_rows), load_profile(DEFAULT_PROFILE), load_lexicons(), ZONE)
    return {name: getattr(facts, name) for name in FACT_TABLES}


def _assert_same_facts(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    for name in FACT_TABLES:
        assert_frame_equal(_sorted(got[name]), _sorted(want[name].select(got[name].columns)), check_exact=True)


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Staging in a warehouse, facts built by the flow two comments at a time."""
    monkeypatch.setattr(stages, "COMMENT_BATCH_ROWS", 2)
    settings = _settings(tmp_path)
    posts, rows = _staging_rows()
    _load(settings, posts, rows)
    result = stages.build_facts(settings)
    return settings, posts, rows, result


def test_the_batched_build_gives_the_whole_frame_facts(built) -> None:
    settings, posts, rows, result = built
    facts = _facts_in(settings)
    _assert_same_facts(facts, _reference(posts, rows))
    by_id = {r["comment_id"]: r for r in facts["fct_comment"].to_dicts()}
    assert by_id["1_10"]["first_reply_hours"] == 2.0 and by_id["1_10"]["is_replied_7d"]
    assert by_id["Ugx2"]["post_id"] == "vid1" and by_id["Ugx2"]["is_by_post_account"]
    assert result.figures["fct_comment"] == len({r["comment_id"] for r in rows})


def test_a_second_build_classifies_nothing_new_and_gives_the_same_facts(built, monkeypatch) -> None:
    settings, _, rows, result = built
    first = _facts_in(settings)
    assert result.figures["comment texts classified"] == 8  # 10 comments; the page's three replies say the same
    monkeypatch.setattr("transforms.facts.classify_texts", _must_not_classify)
    again = stages.build_facts(settings)
    assert again.figures["comment texts classified"] == 0
    _assert_same_facts(_facts_in(settings), first)


def _must_not_classify(*args, **kwargs):
    raise AssertionError("a text classified before was classified again")


def test_a_new_lexicon_version_classifies_afresh_and_forgets_the_old_outcomes(built, tmp_path, monkeypatch) -> None:
    settings, posts, rows, _ = built
    folder = tmp_path / "lexicons"
    shutil.copytree(classify.LEXICON_DIR, folder)
    acts = folder / "acts.yaml"
    text = acts.read_text(encoding="utf-8")
    acts.write_text(text.replace("version: 1", "version: 2", 1), encoding="utf-8")
    monkeypatch.setattr(classify, "LEXICON_DIR", folder)
    result = stages.build_facts(settings)
    assert result.figures["comment texts classified"] == 8
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        versions = con.execute("SELECT DISTINCT classifier_version FROM ops_comment_classification").fetchall()
    assert versions == [(classifier_version(load_lexicons(folder)),)]
    _assert_same_facts(_facts_in(settings), _reference(posts, rows))


def test_duckdb_merges_exports_by_the_rule_of_the_polars_merge(tmp_path: Path) -> None:
    """Random exports of a few comments: every column null or not, instants and files tied or not."""
    rng = random.Random(7)
    columns = ("post_id", "parent_comment_id", "author_id", "author_name", "text", "created_at", "is_hidden", "language_raw")
    rows = []
    for i in range(400):
        value = {
            "post_id": f"p{rng.randrange(3)}", "parent_comment_id": f"c{rng.randrange(30)}", "author_id": f"a{i}",
            "author_name": f"n{i}", "text": f"text {i}", "created_at": T0 + timedelta(minutes=i),
            "is_hidden": rng.random() < 0.5, "language_raw": rng.choice(["en", "fr", "zh"]),
        }
        row = {c: (None if rng.random() < 0.4 else value[c]) for c in columns}
        day = rng.choice([None, 1, 2, 2, 3])
        file = rng.choice([None, "a", "b", "c"])
        rows.append(_comment(f"c{rng.randrange(30)}", file, day, i, platform=rng.choice(["x", "youtube"]), **row))
    settings = _settings(tmp_path)
    _load(settings, [], rows)
    with open_writer(settings.warehouse, "test") as con:
        warehouse_comments.stage_latest(con, columns)
        picked = ", ".join(("platform", "comment_id", *columns, "parent_post_id"))
        got = con.sql(f"SELECT {picked} FROM {warehouse_comments.LATEST}").pl()
    got = got.with_columns(pl.col("created_at").dt.convert_time_zone("UTC"))
    want = latest_comments(_frame("comment", rows)).select(got.columns)
    assert_frame_equal(_sorted(got), _sorted(want), check_exact=True)
