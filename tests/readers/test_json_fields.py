"""The path language of JSON fields: ``Field.value`` reads what the format table shows."""

from __future__ import annotations

import pytest

from readers.graph_json import Field

LIKES = Field("likes", "reactions.summary.total_count|likes.summary.total_count", "count")


def _likes(reactions: object) -> dict:
    return {"reactions": {"summary": {"total_count": reactions}}, "likes": {"summary": {"total_count": 5}}}


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
