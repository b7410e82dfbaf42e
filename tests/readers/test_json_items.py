"""An API page's list element that is no object is a quarantined record, never a silent gap.

The platforms send items and replies as objects. A number, text, list or null in their place means the
response was altered after it was sent; the reader keeps the other items and quarantines that one with
its position, so the accounting still holds every element of the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from readers import registry
from readers.base import ReadResult, SourceFile

GRAPH = Path(__file__).resolve().parents[1] / "fixtures"


def _read(path: str, alter) -> ReadResult:
    page = json.loads((GRAPH / path).read_bytes())
    alter(page)
    return registry.read(SourceFile(Path(path).name, json.dumps(page).encode()))


def _odd(result: ReadResult) -> list[tuple[int, str]]:
    return [(r.source_row, r.reason.split(",")[0]) for r in result.rejects if "not an object" in r.reason]


def _insert(items: list, position: int, value: object) -> None:
    items.insert(position, value)


@pytest.mark.parametrize(("path", "items", "replies"), [
    ("facebook/graph/comments_nested.json", "data", ("data", 0, "comments", "data")),
    ("instagram/graph/18000000000000011_comments.json", "data", ("data", 0, "replies", "data")),
    ("youtube/api/comment_threads_replies.json", "items", ("items", 0, "replies", "comments")),
])
def test_an_element_that_is_no_object_is_quarantined_in_place(path: str, items: str, replies: tuple) -> None:
    as_sent = _read(path, lambda page: None)

    def alter(page: dict) -> None:
        nested = page
        for step in replies:
            nested = nested[step]
        _insert(nested, 1, None)  # after the first reply
        _insert(page[items], 0, 42)  # before the first item

    altered = _read(path, alter)
    assert altered.rows_read == as_sent.rows_read + 2
    assert altered.rows_loaded == as_sent.rows_loaded
    # The number is record 1; the null comes after the first item and its first reply: record 4.
    assert _odd(altered) == [(1, "the item is a number"), (4, "the item is null")]
    altered.check_accounting()


def test_an_element_of_a_flat_page_is_quarantined_too() -> None:
    as_sent = _read("facebook/graph/feed_p1.json", lambda page: None)
    altered = _read("facebook/graph/feed_p1.json", lambda page: page["data"].insert(2, ["a list"]))
    assert _odd(altered) == [(3, "the item is a list")]
    assert altered.tables["post"].equals(as_sent.tables["post"].with_columns(
        source_row=as_sent.tables["post"]["source_row"] + (as_sent.tables["post"]["source_row"] >= 3)))
