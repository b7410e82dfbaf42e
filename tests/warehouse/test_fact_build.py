"""The fact build (warehouse.facts): given staging rows, expect fact rows; incremental builds in any
arrival order and any split into loads give what one full build gives; texts are classified once."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from polars.testing import assert_frame_equal

import transforms.classify as classify
from cityimage.settings import Settings
from cityimage.tables import TABLES
from flows import stages
from tests.expectations.builders import record_city
from warehouse.kpis import read_table
from transforms.classify import classifier_version, load_lexicons
from warehouse import facts
from warehouse.connection import open_writer
from transforms.facts import Classifiers
from warehouse.facts import FACT_TABLES

T0 = datetime(2026, 11, 16, 2, 0, tzinfo=timezone.utc)  # 10:00 Monday of 2026-W47 in Shanghai
PAGE = "100064548282347"  # iChongqing's Facebook page: its replies are the post account's


def _settings(home: Path) -> Settings:
    return Settings(home=home, author_key="test-author-key-0123456789abcdef")


def _frame(table: str, rows: list[dict], load_id: str) -> pl.DataFrame:
    """Staging rows as the table takes them; unspecified columns null, lineage filled in."""
    schema = TABLES[table].schema
    filled = [{name: row.get(name) for name in schema} | {"load_id": load_id,
                                                           "source_file_sha256": row.get("source_file_sha256", "f")}
              for row in rows]
    return pl.DataFrame(filled, schema=schema, orient="row")


def _load(settings: Settings, posts: list[dict], comments: list[dict] | None = None, load_id: str = "l1") -> None:
    """Write staging straight into the warehouse as one load (ingest is not under test here)."""
    with open_writer(settings.warehouse, "test") as con:
        for table, rows in (("stg_post", posts), ("stg_comment", comments or [])):
            if rows:
                con.register("__rows", _frame(table, rows, load_id))
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM __rows")
                con.unregister("__rows")


def _facts(settings: Settings) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return {name: read_table(con, name) for name in FACT_TABLES}


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort([c for c, t in frame.schema.items() if not isinstance(t, pl.List)], nulls_last=True)


def _assert_same_facts(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    for name in FACT_TABLES:
        try:
            assert_frame_equal(_sorted(got[name]), _sorted(want[name]), check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


def _post(post_id: str, exported: datetime | None, file: str, **values) -> dict:
    return {
        "platform": "facebook", "account_id": PAGE, "account_handle": "iChongqing", "post_id": post_id,
        "published_at": T0, "format": "image", "text": "Hongyadong at night, Chongqing", "exported_at": exported,
        "source_row": 1, "source_format": "facebook_business_suite_posts", "source_file_sha256": file, **values,
    }


def _comment(cid: str, file: str, day: int | None, row: int, **values) -> dict:
    return {
        "platform": "facebook", "comment_id": cid, "post_id": f"{PAGE}_1", "author_id": "anon_a", "author_name": "anon_a",
        "text": "Beautiful! Where is this?", "created_at": T0 + timedelta(hours=1), "is_hidden": False,
        "exported_at": None if day is None else T0 + timedelta(days=day), "source_row": row,
        "source_file_sha256": file, "source_format": "facebook_api_comments", **values,
    }


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    return _settings(tmp_path)


# -- given staging rows, expect fact rows --------------------------------------------------------------


def test_latest_export_wins_whatever_the_load_order(tmp_path: Path) -> None:
    early = _post("1", T0 + timedelta(days=2), "a", likes=10, comments=1, shares=0)
    late = _post("1", T0 + timedelta(days=9), "b", likes=40, comments=5, shares=2)
    for n, order in enumerate(([early, late], [late, early])):
        settings = _settings(tmp_path / str(n))
        for i, row in enumerate(order):
            _load(settings, [row], load_id=f"l{i}")
            stages.build_facts(settings)
        built = _facts(settings)
        post = built["fct_post"].row(0, named=True)
        assert (post["likes"], post["engagements"], post["snapshots"], post["published_week"]) == (40, 47, 2, "2026-W47")
        history = built["fct_post_metric_snapshot"].sort("exported_at")
        assert history["engagements"].to_list() == [11, 47]
        assert history["age_days"].to_list() == [2.0, 9.0]


def test_a_metric_missing_from_the_latest_export_keeps_the_last_known_value(home: Settings) -> None:
    _load(home, [_post("1", T0 + timedelta(days=2), "a", reach=300, likes=1, comments=0, shares=0),
                 _post("1", T0 + timedelta(days=9), "b", likes=2, comments=0, shares=0)])
    stages.build_facts(home)
    post = _facts(home)["fct_post"].row(0, named=True)
    assert (post["reach"], post["likes"]) == (300, 2)


def test_engagements_are_missing_when_a_component_is_and_x_counts_quotes(home: Settings) -> None:
    tweet = _post("2", T0 + timedelta(days=7), "a", platform="x", account_id="1", account_handle="iChongqing_",
                  likes=5, comments=2, shares=1, quotes=3)
    _load(home, [_post("1", T0 + timedelta(days=7), "a", likes=5, comments=2), tweet])
    stages.build_facts(home)
    by_id = {r["post_id"]: r["engagements"] for r in _facts(home)["fct_post"].to_dicts()}
    assert by_id == {"1": None, "2": 11}


def test_facebook_ids_and_live_objects_become_one_post(home: Settings) -> None:
    url = "https://www.facebook.com/iChongqing/videos/777/"
    suite_post = _post("555", T0 + timedelta(days=7), "a", format="live", post_url=url, views=100, likes=1, comments=1, shares=0)
    graph_post = _post(f"{PAGE}_555", T0 + timedelta(days=8), "b", format="live", post_url=url)
    live_object = _post("999", T0 + timedelta(days=8), "c", format="live", post_url=url, is_live=True,
                        live_started_at=T0, live_ended_at=T0 + timedelta(hours=2), source_format="facebook_api_live_videos")
    _load(home, [live_object], load_id="l1")  # the live object alone first: a post of its own ...
    stages.build_facts(home)
    assert _facts(home)["fct_post"]["post_id"].to_list() == ["999"]
    _load(home, [suite_post, graph_post], load_id="l2")  # ... until its post arrives and takes it in
    stages.build_facts(home)
    built = _facts(home)
    assert built["fct_post"]["post_id"].to_list() == ["555"]
    live = built["fct_livestream"].row(0, named=True)
    assert (live["post_id"], live["duration_s"], live["views"], live["week_id"]) == ("555", 7200.0, 100, "2026-W47")


def test_replies_by_the_post_account_are_linked_with_their_delay(home: Settings) -> None:
    post = _post("1", T0 + timedelta(days=9), "a", likes=1, comments=2, shares=0)
    page = {"author_id": PAGE, "author_name": "iChongqing", "text": "Thank you! Welcome to Chongqing!"}
    comments = [
        _comment("1_10", "c", 9, 1, created_at=T0 + timedelta(hours=1)),
        _comment("1_11", "c", 9, 2, parent_comment_id="1_10", created_at=T0 + timedelta(hours=4), **page),
        _comment("1_12", "c", 9, 3, author_id="anon_b", author_name="anon_b", created_at=T0 + timedelta(hours=2)),
    ]
    _load(home, [], comments, load_id="l1")  # the comments before their post: no account to link them to yet
    stages.build_facts(home)
    assert _facts(home)["fct_comment"]["post_account_key"].to_list() == [None] * 3
    _load(home, [post], load_id="l2")
    stages.build_facts(home)
    rows = {r["comment_id"]: r for r in _facts(home)["fct_comment"].to_dicts()}
    assert rows["1_10"]["is_replied_7d"] and rows["1_10"]["first_reply_hours"] == 3.0
    assert not rows["1_12"]["is_replied_7d"] and rows["1_12"]["first_reply_hours"] is None
    assert rows["1_11"]["is_by_post_account"] and not rows["1_11"]["is_top_level"]
    assert rows["1_10"]["post_account_key"] == "facebook:ichongqing" and rows["1_10"]["post_id"] == "1"
    assert rows["1_10"]["created_week"] == "2026-W47"  # 11:00 Monday in Shanghai
    assert rows["1_10"]["is_question"] and rows["1_10"]["is_praise"]


def test_an_account_is_known_by_its_id_and_a_name_proves_nothing(home: Settings) -> None:
    # Someone named like the page, with another id, replies under the page's post: a public author, so
    # the page's replies (C1) do not count it. The same display name under two ids is two people.
    post = _post("1", T0 + timedelta(days=9), "a", likes=1, comments=2, shares=0)
    impostor_post = _post("2", T0 + timedelta(days=9), "a", account_id="anon_imp", account_handle="iChongqing")
    handle_only = _post("3", T0 + timedelta(days=9), "a", account_id=None, account_handle="@IChongqing")
    comments = [
        _comment("1_10", "c", 9, 1, author_id="anon_a", author_name="anon_same"),
        _comment("1_11", "c", 9, 2, parent_comment_id="1_10", author_id="anon_imp", author_name="iChongqing",
                 created_at=T0 + timedelta(hours=2)),
        _comment("1_12", "c", 9, 3, author_id="anon_b", author_name="anon_same"),
        _comment("1_13", "c", 9, 4, parent_comment_id="1_12", author_id=None, author_name="iChongqing",
                 created_at=T0 + timedelta(hours=2)),
    ]
    _load(home, [post, impostor_post, handle_only], comments)
    stages.build_facts(home)
    built = _facts(home)
    owners = {r["post_id"]: (r["account_key"], r["role"]) for r in built["fct_post"].to_dicts()}
    assert owners == {"1": ("facebook:ichongqing", "owned"), "2": ("facebook:anon_imp", "public"),
                      "3": ("facebook:ichongqing", "owned")}  # a handle decides only where the row has no id
    rows = {r["comment_id"]: r for r in built["fct_comment"].to_dicts()}
    assert not rows["1_11"]["is_by_post_account"] and rows["1_11"]["author_key"] == "facebook:anon_imp"
    assert not rows["1_13"]["is_by_post_account"] and rows["1_13"]["author_key"] == "facebook:iChongqing"
    assert not rows["1_10"]["is_replied_7d"] and not rows["1_12"]["is_replied_7d"]
    assert rows["1_10"]["author_key"] != rows["1_12"]["author_key"]


def test_an_account_no_row_names_any_more_leaves_the_accounts(home: Settings) -> None:
    # Comments first exported without their authors' ids are known by name; a later export gives the
    # ids. The name of the first author is then named by no row; the second's still is, by a comment
    # on another post, which the incremental build does not touch.
    posts = [_post("1", T0 + timedelta(days=2), "a"), _post("2", T0 + timedelta(days=2), "a")]
    _load(home, posts, [_comment("1_10", "c", 2, 1, author_id=None, author_name="Fan A"),
                        _comment("1_11", "c", 2, 2, author_id=None, author_name="Fan B"),
                        _comment("2_20", "c", 2, 3, post_id=f"{PAGE}_2", author_id=None, author_name="Fan B")])
    stages.build_facts(home)
    _load(home, [], [_comment("1_10", "d", 9, 1, author_name="Fan A"),
                     _comment("1_11", "d", 9, 2, author_id="anon_b", author_name="Fan B")], load_id="l2")
    assert stages.build_facts(home).figures["mode"] == "incremental"
    public = _facts(home)["dim_account"].filter(~pl.col("is_registered"))
    assert sorted(public["account_key"]) == ["facebook:Fan B", "facebook:anon_a", "facebook:anon_b"]
    stages.build_facts(home, full=True)
    assert_frame_equal(_sorted(_facts(home)["dim_account"].filter(~pl.col("is_registered"))), _sorted(public))


def test_a_reply_arriving_alone_rebuilds_its_thread_once(home: Settings) -> None:
    # A later comments-only export brings one more reply under a comment the page already answered:
    # the parent is rebuilt (its first reply may change), its earlier replies are read for that answer
    # but stay as they are, and each comment keeps one row.
    page = {"author_id": PAGE, "author_name": "iChongqing", "text": "Thank you! Welcome to Chongqing!"}
    _load(home, [_post("1", T0 + timedelta(days=2), "a")],
          [_comment("1_10", "c", 2, 1),
           _comment("1_11", "c", 2, 2, parent_comment_id="1_10", created_at=T0 + timedelta(hours=5), **page)])
    stages.build_facts(home)
    _load(home, [], [_comment("1_12", "d", 9, 1, parent_comment_id="1_10", post_id=None, author_id="anon_b",
                              author_name="anon_b", created_at=T0 + timedelta(hours=3))], load_id="l2")
    assert stages.build_facts(home).figures["mode"] == "incremental"
    incremental = _facts(home)
    assert sorted(incremental["fct_comment"]["comment_id"]) == ["1_10", "1_11", "1_12"]
    assert incremental["fct_comment"].filter(pl.col("comment_id") == "1_10")["first_reply_hours"].to_list() == [4.0]
    stages.build_facts(home, full=True)
    _assert_same_facts(incremental, _facts(home))


def test_a_reply_without_its_video_or_parent_is_a_reply_under_no_post(home: Settings) -> None:
    # YouTube's comments.list by parent: replies carry their parent's id, not the video's; when the
    # parent thread was not exported, neither post nor account is known, and the reply stays a reply.
    reply = _comment("Ugw5.91zT", "y", 1, 1, platform="youtube", post_id=None, parent_comment_id="Ugw5",
                     author_id="UCNv", author_name="kun liu", text="this is the third reply!")
    _load(home, [], [reply])
    stages.build_facts(home)
    row = _facts(home)["fct_comment"].row(0, named=True)
    assert row["is_top_level"] is False and row["post_id"] is None and row["post_account_key"] is None


def test_public_posts_mentioning_the_city_are_mentions(home: Settings) -> None:
    public = _post("77", T0 + timedelta(days=1), "a", likes=1, comments=0, shares=0, account_id="anon_x",
                   account_handle="anon_x", text="Chongqing, the real mountain city! 8D magic")
    _load(home, [public])
    stages.build_facts(home)
    built = _facts(home)
    mention = built["fct_mention"].row(0, named=True)
    assert mention["account_key"] == "facebook:anon_x" and "mountain_city" in mention["labels"]
    assert mention["sentiment"] in ("positive", "neutral") and mention["is_spam"] is False
    assert built["dim_account"].filter(pl.col("account_key") == "facebook:anon_x")["role"].to_list() == ["public"]


def _merge_rows() -> tuple[list[dict], list[dict]]:
    """Posts, and comments whose exports disagree in every way the merge rule settles."""
    posts = [
        _post(f"{PAGE}_1", T0 + timedelta(days=9), "p1", format="video", likes=5, comments=2, shares=1),
        _post("vid1", T0 + timedelta(days=9), "p1", platform="youtube", account_id="UCzaUJ1p3DLQvX3bgB3dMw7A",
              format="video", likes=5, comments=2, shares=1),
    ]
    page = {"author_id": PAGE, "author_name": "iChongqing", "text": "Thank you! Welcome to Chongqing!"}
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
        # the page's replies, in other files than the comments they answer
        _comment("1_13", "a", 3, 3, parent_comment_id="1_10", created_at=T0 + timedelta(hours=5), **page),
        _comment("1_14", "b", 9, 5, parent_comment_id="1_10", created_at=T0 + timedelta(hours=3), **page),
        _comment("1_15", "b", 9, 6, parent_comment_id="1_12", created_at=T0 + timedelta(days=9), **page),
        # YouTube: a reply listed without its video belongs to its parent's post
        _comment("Ugx1", "a", 2, 7, platform="youtube", post_id="vid1", text="Can't wait to visit!"),
        _comment("Ugx2", "b", 4, 8, platform="youtube", post_id=None, parent_comment_id="Ugx1",
                 author_id="UCzaUJ1p3DLQvX3bgB3dMw7A", author_name="iChongqing", text="Welcome!",
                 created_at=T0 + timedelta(hours=30)),
        _comment("1_16", "a", 2, 10),
        _comment("1_17", "a", 2, 11, text=None),
    ]
    return posts, rows


def test_each_column_comes_from_the_latest_export_that_carries_it(home: Settings) -> None:
    _load(home, *_merge_rows())
    result = stages.build_facts(home)
    by_id = {r["comment_id"]: r for r in _facts(home)["fct_comment"].to_dicts()}
    assert (by_id["1_10"]["text"], by_id["1_10"]["author_key"], by_id["1_10"]["is_hidden"]) == (
        "Nice! Where is this?", "facebook:anon_a", True)
    assert by_id["1_11"]["text"] == "Too crowded, not worth it" and by_id["1_11"]["sentiment"] == "negative"
    assert by_id["1_12"]["text"] == "Magnifique !" and by_id["1_12"]["language"] == "fr"
    assert by_id["1_10"]["first_reply_hours"] == 2.0 and by_id["1_10"]["is_replied_7d"]  # 1_14, not the later 1_13
    assert by_id["1_12"]["first_reply_hours"] == 215.0 and not by_id["1_12"]["is_replied_7d"]
    assert by_id["Ugx2"]["post_id"] == "vid1" and by_id["Ugx2"]["is_by_post_account"]
    assert by_id["1_17"]["text"] is None and by_id["1_17"]["sentiment"] == "not_rated"
    assert result.figures["mode"] == "full" and result.figures["fct_comment"] == 10
    assert result.figures["comment texts classified"] == 8  # 10 comments: the page's three replies say the same


def test_a_second_build_classifies_nothing_and_changes_nothing(home: Settings, monkeypatch) -> None:
    _load(home, *_merge_rows())
    stages.build_facts(home)
    first = _facts(home)
    monkeypatch.setattr("transforms.facts.classify_comments", _must_not_classify)
    monkeypatch.setattr("transforms.facts.classify_posts", _must_not_classify)
    again = stages.build_facts(home)
    assert again.figures["mode"] == "unchanged" and again.figures["comment texts classified"] == 0
    full = stages.build_facts(home, full=True)  # every key again: the cached outcomes serve
    assert full.figures["mode"] == "full" and full.figures["comment texts classified"] == 0
    _assert_same_facts(_facts(home), first)


def _must_not_classify(*args, **kwargs):
    raise AssertionError("a text classified before was classified again")


def test_a_new_lexicon_version_rebuilds_everything_and_forgets_the_old_outcomes(home: Settings, tmp_path: Path,
                                                                               monkeypatch) -> None:
    _load(home, *_merge_rows())
    stages.build_facts(home)
    first = _facts(home)
    folder = tmp_path / "lexicons"
    shutil.copytree(classify.LEXICON_DIR, folder)
    acts = folder / "acts.yaml"
    acts.write_text(acts.read_text(encoding="utf-8").replace("version: 1", "version: 2", 1), encoding="utf-8")
    monkeypatch.setattr(classify, "LEXICON_DIR", folder)
    result = stages.build_facts(home)
    assert result.figures["mode"] == "full" and result.figures["comment texts classified"] == 8
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        versions = con.execute("SELECT DISTINCT classifier_version FROM ops_comment_classification").fetchall()
        reasons = con.execute("SELECT mode, reason FROM ops_fact_build ORDER BY finished_at").fetchall()
    assert versions == [(classifier_version(load_lexicons(home.lexicon_dir)),)]  # the pack's, over the edited copy
    assert reasons[-1][0] == "full" and "classifiers changed" in reasons[-1][1]
    _assert_same_facts(_facts(home), first)  # the same words, the same outcomes


def test_a_model_whose_columns_differ_from_the_catalogue_is_refused(home: Settings, monkeypatch) -> None:
    _load(home, *_merge_rows())
    monkeypatch.setattr(facts.models, "FCT_LIVESTREAM", facts.models.FCT_LIVESTREAM.replace(", likes, comments", ", likes"))
    with pytest.raises(ValueError, match="the fct_livestream model gives columns"):
        stages.build_facts(home)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:  # nothing half-built
        assert con.execute("SELECT count(*) FROM fct_post").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM ops_fact_load").fetchall() == [(0,)]


# -- incremental equals full, whatever the arrival order and the split into loads ----------------------


def _words(text: str | None) -> int:
    return len((text or "").split())


def _stub_classifiers() -> Classifiers:
    """Deterministic stand-ins for the text classifiers: the property is about merging, not wording."""

    def posts(inputs: pl.DataFrame) -> pl.DataFrame:
        return inputs.select(
            "input_sha256", language=pl.lit("en"), themes=pl.lit(["culture"]), labels=pl.lit([], pl.List(pl.String)),
            places=pl.lit([], pl.List(pl.String)), lynch_elements=pl.lit([], pl.List(pl.String)),
            is_city_mention=pl.col("text").fill_null("").str.contains("Chongqing"),
            rules=pl.lit(["stub"]))

    def texts(inputs: pl.DataFrame) -> pl.DataFrame:
        words = pl.col("text").fill_null("").str.split(" ").list.len()
        return inputs.select(
            "input_sha256", language=pl.lit("en"), is_spam=words > 6, is_question=pl.col("text").fill_null("").str.contains(r"\?"),
            is_praise=pl.lit(False), is_travel_intent=pl.lit(False), is_complaint=pl.lit(False),
            sentiment=pl.when(words > 3).then(pl.lit("positive")).otherwise(pl.lit("neutral")),
            sentiment_score=(words.cast(pl.Float64) * 0.125).clip(-1, 1), rules=pl.lit(["stub"]))  # exact in binary

    return Classifiers("stub-posts", "stub-texts", posts, texts)


ACCOUNTS = pl.DataFrame({"platform": ["facebook", "youtube"], "handle_lc": ["ichongqing", "ichongqing"],
                         "registered_id": [PAGE, "UC1"], "account_key": ["facebook:ichongqing", "youtube:ichongqing"],
                         "role": ["owned", "owned"], "city": ["Chongqing", "Chongqing"], "handle": ["iChongqing", "iChongqing"]})


@st.composite
def _world(draw) -> list[tuple[str, dict]]:
    """Staged rows of a small world: posts exported several times (some Facebook posts also as a Graph
    id or a live object sharing their video), comments and replies by the page or the public, some
    replies naming only their parent. Each row is one export's view; columns vary between exports (a
    public author named by id in one and by name alone in another is two accounts, and a build that
    loads the second export leaves the first account to no row)."""
    rows: list[tuple[str, dict]] = []
    n_posts = draw(st.integers(1, 4))
    for p in range(n_posts):
        platform = draw(st.sampled_from(["facebook", "youtube"]))
        owner = draw(st.sampled_from([PAGE if platform == "facebook" else "UC1", "someone"]))
        video = f"https://www.facebook.com/iChongqing/videos/{70 + p}/" if platform == "facebook" else None
        for e in range(draw(st.integers(1, 3))):
            raw_id = draw(st.sampled_from([str(p), f"{PAGE}_{p}"])) if platform == "facebook" else f"v{p}"
            rows.append(("stg_post", {
                "platform": platform, "post_id": raw_id, "account_id": owner,
                "account_handle": draw(st.sampled_from(["iChongqing", None])) if owner != "someone" else "someone",
                "post_url": draw(st.sampled_from([video, None])), "published_at": T0,
                "format": draw(st.sampled_from(["video", "live", None])),
                "text": draw(st.sampled_from(["Chongqing by night", "Hot pot", None])),
                "likes": draw(st.sampled_from([None, 1, 5])), "comments": draw(st.sampled_from([None, 0, 2])),
                "shares": draw(st.sampled_from([None, 0])), "exported_at": draw(st.sampled_from([None, T0 + timedelta(days=e + 1)])),
                "source_row": e, "source_file_sha256": draw(st.sampled_from(["a", "b", "c"])),
                "source_format": "facebook_business_suite_posts"}))
            if platform == "facebook" and video and draw(st.booleans()):
                rows.append(("stg_post", {"platform": "facebook", "post_id": f"live{p}", "post_url": video, "is_live": True,
                                          "account_id": owner,  # as the reader takes it from the paging URL
                                          "exported_at": T0 + timedelta(days=e + 2), "source_row": 90 + e,
                                          "source_file_sha256": "d", "source_format": "facebook_api_live_videos"}))
    n_comments = draw(st.integers(0, 8))
    for c in range(n_comments):
        p = draw(st.integers(0, n_posts))  # n_posts: a post never exported
        platform = rows[0][1]["platform"] if p == n_posts else next(r for t, r in rows if t == "stg_post" and
                                                                    r["post_id"] in (str(p), f"{PAGE}_{p}", f"v{p}"))["platform"]
        parent = draw(st.sampled_from([None, *[f"c{k}" for k in range(c)]]))
        by_page = draw(st.booleans())
        for e in range(draw(st.integers(1, 2))):
            rows.append(("stg_comment", {
                "platform": platform, "comment_id": f"c{c}",
                "post_id": draw(st.sampled_from([None, str(p) if platform == "facebook" else f"v{p}"])) if parent else (
                    str(p) if platform == "facebook" else f"v{p}"),
                "parent_comment_id": parent,
                "author_id": (PAGE if platform == "facebook" else "UC1") if by_page else draw(st.sampled_from([f"fan{c}", None])),
                "author_name": "iChongqing" if by_page else draw(st.sampled_from([f"Fan {c}", None])),
                "text": draw(st.sampled_from(["Where is this?", "So beautiful, I want to go there one day", None])),
                "created_at": T0 + timedelta(hours=c + e), "exported_at": draw(st.sampled_from([None, T0 + timedelta(days=e + 3)])),
                "source_row": c * 10 + e, "source_file_sha256": draw(st.sampled_from(["a", "b"])),
                "source_format": "facebook_api_comments"}))
    return rows


def _build(path: Path, loads: list[list[tuple[str, dict]]]) -> dict[str, pl.DataFrame]:
    """Load each batch as its own load, building the facts after each; the facts at the end."""
    con = duckdb.connect(str(path))
    from warehouse.schema import migrate

    migrate(con)
    record_city(con)
    for i, batch in enumerate(loads):
        for table in ("stg_post", "stg_comment"):
            rows = [r for t, r in batch if t == table]
            if rows:
                con.register("__rows", _frame(table, rows, f"load{i}"))
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM __rows")
                con.unregister("__rows")
        facts.build(con, ACCOUNTS, "Asia/Shanghai", _stub_classifiers())
    built = {name: con.sql(f"SELECT * FROM {name}").pl() for name in FACT_TABLES}
    con.close()
    return built


@given(world=_world(), order=st.randoms(use_true_random=False), cuts=st.lists(st.integers(0, 60), max_size=4))
@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                            HealthCheck.function_scoped_fixture])
def test_incremental_builds_in_any_order_and_split_equal_one_full_build(world, order, cuts, tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("property")
    shuffled = list(world)
    order.shuffle(shuffled)
    bounds = sorted({min(c, len(shuffled)) for c in cuts} | {0, len(shuffled)})
    loads = [shuffled[a:b] for a, b in zip(bounds, bounds[1:])]
    incremental = _build(folder / "incremental.duckdb", loads)
    full = _build(folder / "full.duckdb", [world])
    _assert_same_facts(incremental, full)


def test_the_command_builds_alone_and_rebuilds_everything_when_asked(home: Settings, monkeypatch) -> None:
    from typer.testing import CliRunner

    from cityimage.cli import app

    monkeypatch.setenv("CITYIMAGE_HOME", str(home.home))
    runner = CliRunner()
    missing = runner.invoke(app, ["build-facts"])
    assert missing.exit_code == 2 and "no warehouse" in missing.output
    _load(home, *_merge_rows())
    first = runner.invoke(app, ["build-facts"])
    assert first.exit_code == 0 and "mode full" in first.output and "fct_comment 10" in first.output
    assert "mode unchanged" in runner.invoke(app, ["build-facts"]).output
    again = runner.invoke(app, ["build-facts", "--full"])
    assert again.exit_code == 0 and "mode full" in again.output and "comment texts classified 0" in again.output
