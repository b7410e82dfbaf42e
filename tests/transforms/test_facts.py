"""Facts from staging: latest export wins in any order, ids made canonical, replies linked, E exact."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from cityimage.profile import load_profile
from cityimage.settings import DEFAULT_PROFILE
from readers.entities import ENTITIES
from transforms.classify import load_lexicons
from transforms.facts import Staging, build_facts

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 16, 2, 0, tzinfo=timezone.utc)


def _frame(entity: str, rows: list[dict]) -> pl.DataFrame:
    """Staging rows with lineage; unspecified columns are null."""
    lineage = {"source_row": pl.Int64, "source_format": pl.String, "source_file_sha256": pl.String, "load_id": pl.String}
    schema = dict(ENTITIES[entity].columns) | lineage
    filled = [{name: row.get(name) for name in schema} for row in rows]
    return pl.DataFrame(filled, schema=schema, orient="row")


def _post(post_id: str, exported: datetime, file: str, **metrics) -> dict:
    return {
        "platform": "facebook", "account_id": "100064548282347", "account_handle": "iChongqing", "post_id": post_id,
        "published_at": T0, "format": "image", "text": "Hongyadong at night, Chongqing", "exported_at": exported,
        "source_row": 1, "source_format": "facebook_business_suite_posts", "source_file_sha256": file, "load_id": "l",
        **metrics,
    }


def _staging(posts: list[dict], comments: list[dict] | None = None) -> tuple[Staging, pl.DataFrame]:
    """Staging frames, and the comments apart (the flow never reads them whole)."""
    staging = Staging(
        post=_frame("post", posts),
        account_day=_frame("account_day", []),
        audience=_frame("audience", []),
        search=_frame("search", []),
    )
    return staging, _frame("comment", comments or [])


@pytest.fixture(scope="module")
def context():
    return load_profile(DEFAULT_PROFILE), load_lexicons()


def _build(staged: tuple[Staging, pl.DataFrame], context):
    profile, lexicons = context
    staging, comments = staged
    return build_facts(staging, comments, profile, lexicons, ZONE)


def test_latest_export_wins_whatever_the_load_order(context) -> None:
    early = _post("1", T0 + timedelta(days=2), "a", likes=10, comments=1, shares=0)
    late = _post("1", T0 + timedelta(days=9), "b", likes=40, comments=5, shares=2)
    for order in ([early, late], [late, early]):
        facts = _build(_staging(order), context)
        post = facts.fct_post.row(0, named=True)
        assert (post["likes"], post["engagements"], post["snapshots"]) == (40, 47, 2)
        history = facts.fct_post_metric_snapshot.sort("exported_at")
        assert history["engagements"].to_list() == [11, 47]
        assert history["age_days"].to_list() == [2.0, 9.0]


def test_a_metric_missing_from_the_latest_export_keeps_the_last_known_value(context) -> None:
    with_reach = _post("1", T0 + timedelta(days=2), "a", reach=300, likes=1, comments=0, shares=0)
    without = _post("1", T0 + timedelta(days=9), "b", likes=2, comments=0, shares=0)
    post = _build(_staging([with_reach, without]), context).fct_post.row(0, named=True)
    assert (post["reach"], post["likes"]) == (300, 2)


def test_engagements_are_missing_when_a_component_is(context) -> None:
    post = _build(_staging([_post("1", T0 + timedelta(days=7), "a", likes=5, comments=2)]), context).fct_post
    assert post["engagements"].to_list() == [None]


def test_facebook_ids_and_live_objects_become_one_post(context) -> None:
    url = "https://www.facebook.com/iChongqing/videos/777/"
    suite_post = _post("555", T0 + timedelta(days=7), "a", format="live", post_url=url, views=100, likes=1, comments=1, shares=0)
    graph_post = _post("100064548282347_555", T0 + timedelta(days=8), "b", format="live", post_url=url)
    live_object = _post("999", T0 + timedelta(days=8), "c", format="live", post_url=url, is_live=True,
                        live_started_at=T0, live_ended_at=T0 + timedelta(hours=2))
    live_object["source_format"] = "facebook_api_live_videos"
    facts = _build(_staging([suite_post, graph_post, live_object]), context)
    assert facts.fct_post["post_id"].to_list() == ["555"]
    live = facts.fct_livestream.row(0, named=True)
    assert (live["post_id"], live["duration_s"], live["views"]) == ("555", 7200.0, 100)


def test_replies_by_the_post_account_are_linked_with_their_delay(context) -> None:
    post = _post("1", T0 + timedelta(days=9), "a", likes=1, comments=2, shares=0)

    def comment(cid: str, author_id: str, name: str, hours: float, parent: str | None = None) -> dict:
        return {
            "platform": "facebook", "comment_id": cid, "post_id": "100064548282347_1", "parent_comment_id": parent,
            "author_id": author_id, "author_name": name, "text": "Beautiful! Where is this?",
            "created_at": T0 + timedelta(hours=hours), "exported_at": T0 + timedelta(days=9),
            "source_row": 1, "source_format": "facebook_api_comments", "source_file_sha256": "c", "load_id": "l",
        }

    comments = [
        comment("1_10", "anon_a", "anon_a", 1),
        comment("1_11", "100064548282347", "iChongqing", 4, parent="1_10"),
        comment("1_12", "anon_b", "anon_b", 2),
    ]
    facts = _build(_staging([post], comments), context)
    rows = {r["comment_id"]: r for r in facts.fct_comment.to_dicts()}
    assert rows["1_10"]["is_replied_7d"] and rows["1_10"]["first_reply_hours"] == 3.0
    assert not rows["1_12"]["is_replied_7d"] and rows["1_12"]["first_reply_hours"] is None
    assert rows["1_11"]["is_by_post_account"] and not rows["1_11"]["is_top_level"]
    assert rows["1_10"]["post_account_key"] == "facebook:ichongqing"
    assert rows["1_10"]["created_week"] == "2026-W47"  # 09:00 Monday in Shanghai
    assert rows["1_10"]["is_question"] and rows["1_10"]["is_praise"]


def test_a_reply_without_its_video_or_parent_is_a_reply_under_no_post(context) -> None:
    # YouTube's comments.list by parent: replies carry their parent's id, not the video's; when the
    # parent thread was not exported, neither post nor account is known, and the reply stays a reply.
    reply = {
        "platform": "youtube", "comment_id": "Ugw5.91zT", "post_id": None, "parent_comment_id": "Ugw5",
        "author_id": "UCNv", "author_name": "kun liu", "text": "this is the third reply!",
        "created_at": T0, "exported_at": T0 + timedelta(days=1), "source_row": 1,
        "source_format": "youtube_api_comments", "source_file_sha256": "y", "load_id": "l",
    }
    facts = _build(_staging([], [reply]), context)
    row = facts.fct_comment.row(0, named=True)
    assert row["is_top_level"] is False and row["post_id"] is None and row["post_account_key"] is None


def test_public_posts_mentioning_the_city_are_mentions(context) -> None:
    public = _post("77", T0 + timedelta(days=1), "a", likes=1, comments=0, shares=0)
    public |= {"account_id": "anon_x", "account_handle": "anon_x", "text": "Chongqing, the real mountain city! 8D magic"}
    facts = _build(_staging([public]), context)
    mention = facts.fct_mention.row(0, named=True)
    assert mention["account_key"] == "facebook:anon_x"
    assert "mountain_city" in mention["labels"]
    assert facts.dim_account.filter(pl.col("account_key") == "facebook:anon_x")["role"].to_list() == ["public"]
