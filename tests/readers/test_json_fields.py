"""A JSON reader reads each field from the path its format table shows, and the path language.

``Field.path`` is executed, not described: the first tests put a value at each path alone (each
alternative of ``a|b`` in turn) and find it in the reader's record under the field's column; the
X API reader, not a JsonFormat, is held to the same through a read.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readers import registry
from readers.base import SourceFile
from readers.graph_json import Field, JsonFormat
from readers.x import XApiV2

JSON_FORMATS = [fmt for fmt in registry.FORMATS if isinstance(fmt, JsonFormat)]
PATHS = [(fmt, field) for fmt in JSON_FORMATS for field in fmt.fields if field.path]
ALTERNATIVES = [(fmt, field) for fmt, field in PATHS if "|" in field.path]
#: The name carries a media id: Instagram comments that name no media are refused.
SOURCE = SourceFile("17890000000000001_comments.json", b"")
#: What an item needs beside a field's path for the value to be kept: viewers count only while live.
CONTEXT = {("facebook_api_live_videos", "views"): {"status": "LIVE"}}
#: The fields a comment thread reads from the thread itself; the others are its top-level comment's.
FROM_THE_THREAD = {("youtube_api_comment_threads", "reply_count")}


def _ids(cases: list[tuple[JsonFormat, Field]]) -> list[str]:
    return [f"{fmt.name}.{field.target}" for fmt, field in cases]


def _at(path: str, value: object) -> dict:
    """An object holding ``value`` at ``path`` and nothing else (``[n]``: after n empty objects)."""
    node = value
    for step in reversed(path.split(".")):
        key, _, index = step.partition("[")
        node = {key: [{}] * int(index.rstrip("]")) + [node] if index else node}
    return node  # type: ignore[return-value]


def _merged(a: dict, b: dict) -> dict:
    return a | {k: _merged(a[k], v) if isinstance(a.get(k), dict) and isinstance(v, dict) else v for k, v in b.items()}


def _record(fmt: JsonFormat, field: Field, item: dict) -> dict:
    """The reader's record of a page holding ``item`` (as a thread's top-level comment where it is one)."""
    return _records(fmt, field, item)[0]


def _records(fmt: JsonFormat, field: Field, item: dict) -> list[dict]:
    if fmt.name == "youtube_api_comment_threads" and (fmt.name, field.target) not in FROM_THE_THREAD:
        item = {"snippet": {"topLevelComment": item}}
    return fmt.records([{"data": [item]}], SOURCE)


@pytest.mark.parametrize(("fmt", "field"), PATHS, ids=_ids(PATHS))
def test_each_path_alone_gives_its_field(fmt: JsonFormat, field: Field) -> None:
    for path in field.path.split("|"):
        item = CONTEXT.get((fmt.name, field.target), {}) | _at(path, "at-the-path")
        assert _record(fmt, field, item)[field.target] == "at-the-path", path


@pytest.mark.parametrize(("fmt", "field"), ALTERNATIVES, ids=_ids(ALTERNATIVES))
def test_the_first_alternative_wins_when_several_hold_a_value(fmt: JsonFormat, field: Field) -> None:
    item: dict = {}
    for n, path in enumerate(field.path.split("|")):
        item = _merged(item, _at(path, f"alternative {n}"))
    assert _record(fmt, field, item)[field.target] == "alternative 0"


ID_PATHS = [(fmt, field) for fmt, field in PATHS if field.kind == "id"]


@pytest.mark.parametrize(("fmt", "field"), ID_PATHS, ids=_ids(ID_PATHS))
def test_an_id_sent_as_a_json_number_is_quarantined(fmt: JsonFormat, field: Field) -> None:
    """Platforms send ids as text; a number means a program rewrote the file and may have rounded a
    17-digit id into another one's, which would merge two posts or comments. The reader's own
    completions of an id (a page from the id's prefix, a comment's post) must not turn it into text."""
    for path in field.path.split("|"):
        item = CONTEXT.get((fmt.name, field.target), {}) | _at(path, 10209876543210123)
        _, rejects = fmt._type(fmt._frame(_records(fmt, field, item)))
        assert [(r.source_row, r.column) for r in rejects if "JSON number" in r.reason] == [(1, field.target)], path


def test_a_json_field_without_a_path_says_how_it_is_computed() -> None:
    assert len(JSON_FORMATS) == 8 and len(ALTERNATIVES) >= 5
    for fmt in JSON_FORMATS:
        for field in fmt.fields:
            assert field.path or field.note, (fmt.name, field.target)


X_PATHS = [field for field in XApiV2.fields if field.path]
#: A tweet the X reader keeps, and values of each kind as sent and as typed.
TWEET = {"id": "1", "text": "hi", "created_at": "2021-05-18T19:24:56.000Z"}
SENT_AND_TYPED = {"count": ("7", 7),
                  "instant": ("2020-01-02T03:04:05.000Z", datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc))}


@pytest.mark.parametrize("field", X_PATHS, ids=[field.target for field in X_PATHS])
def test_each_path_of_a_tweet_gives_its_field(field: Field) -> None:
    sent, typed = SENT_AND_TYPED.get(field.kind, ("at-the-path", "at-the-path"))
    page = {"data": [_merged(TWEET, _at(field.path, sent))]}
    result = registry.read(SourceFile("tweets.json", json.dumps(page).encode()))
    assert result.tables["post"][field.target].to_list() == [typed]


LIKES = Field("likes", "reactions.summary.total_count|likes.summary.total_count", "count")


def _likes(reactions: object) -> dict:
    return _merged(_at("reactions.summary.total_count", reactions), _at("likes.summary.total_count", 5))


def test_the_first_alternative_holding_a_value_wins_and_zero_is_a_value() -> None:
    assert LIKES.value(_likes(0)) == 0
    assert LIKES.value(_likes(False)) is False
    assert LIKES.value({"likes": {"summary": {"total_count": 5}}}) == 5


@pytest.mark.parametrize("empty", [None, "", {}, []])
def test_null_empty_text_and_structures_hold_no_value(empty: object) -> None:
    assert LIKES.value(_likes(empty)) == 5
    assert LIKES.value({"likes": {"summary": {"total_count": empty}}}) == empty  # else what the last holds


def test_a_position_takes_from_a_list_only() -> None:
    first = Field("post_type_raw", "attachments.data[0].type")
    assert first.value({"attachments": {"data": [{"type": "photo"}, {"type": "video"}]}}) == "photo"
    assert Field("second", "data[1]").value({"data": ["a", "b"]}) == "b"
    for data in ([], {"type": "photo"}, "photo", [None]):
        assert first.value({"attachments": {"data": data}}) is None, data


def test_a_value_is_returned_as_sent() -> None:
    # An id sent as a JSON number stays one, for the reader to quarantine it.
    assert Field("author_id", "from.id", "id").value({"from": {"id": 1.5e17}}) == 1.5e17


def test_a_computed_field_has_no_path_to_read() -> None:
    assert Field("is_live", "", "bool", note="liveStreamingDetails present").value({"": "x"}) is None


def test_the_format_table_shows_the_path_then_the_note() -> None:
    assert Field("likes", "a.b|c", note="only while live").documented() == "a.b, else c, only while live"
    assert Field("account_id", "", note="the paging URL").documented() == "the paging URL"


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3), st.just(""))
NODES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=2),
                                                      st.dictionaries(st.sampled_from(["id", "data", "x"]), inner, max_size=2)),
                     max_leaves=4)


@pytest.mark.parametrize("fmt", JSON_FORMATS, ids=[fmt.name for fmt in JSON_FORMATS])
@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_a_reader_s_record_is_what_each_field_s_path_holds(fmt: JsonFormat, data: st.DataObject) -> None:
    """``JsonFormat.record`` (its fields' paths made one function) agrees with each field's own path, on
    items where each step may hold anything: a value, null, a list where an object belongs, nothing."""
    item: dict = {}
    for field in fmt.fields:
        for path in filter(None, field.path.split("|")):
            if data.draw(st.booleans()):
                item = _merged(item, _at(path, data.draw(NODES)))
    assert fmt.record(item) == {f.target: f.value(item) for f in fmt.fields}
