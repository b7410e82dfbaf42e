"""Reading many files at once gives each file exactly what reading it alone gives.

API dumps come as thousands of small pages, so JSON layouts type a batch of files as one frame; row
numbers, rejects and refusals must still land on their own file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from readers import graph_json, registry
from readers.base import ReadError, ReadResult, SourceFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COMMENTS = FIXTURES / "facebook" / "graph" / "comments_nested.json"
IG_COMMENTS = FIXTURES / "instagram" / "graph" / "18000000000000011_comments.json"


def _source(name: str, data: bytes) -> SourceFile:
    return SourceFile(name=name, data=data)


def _with_bad_like_count(position: int) -> bytes:
    """The nested comments page with the ``position``-th top-level comment's like count spoilt."""
    page = json.loads(COMMENTS.read_bytes())
    page["data"][position]["like_count"] = "lots"
    return json.dumps(page).encode()


def _same(together: ReadResult | ReadError, alone: ReadResult | ReadError) -> None:
    assert type(together) is type(alone)
    if isinstance(alone, ReadError):
        assert str(together) == str(alone)
        return
    assert isinstance(together, ReadResult)
    assert (together.format, together.rows_read, together.exported_at) == (alone.format, alone.rows_read, alone.exported_at)
    assert together.rejects == alone.rejects and together.skips == alone.skips
    assert together.tables.keys() == alone.tables.keys()
    for name, frame in alone.tables.items():
        assert together.tables[name].equals(frame), name


def mixed_sources() -> list[SourceFile]:
    """A batch of every kind of outcome: layouts read together, rejects in two files, a broken JSON and
    a CSV no format reads."""
    return [
        _source("a/comments_1.json", COMMENTS.read_bytes()),
        _source("b/comments_2.json", _with_bad_like_count(0)),
        _source("c/broken.json", b'{"data": [{"id": '),
        _source("d/ig.json", IG_COMMENTS.read_bytes()),
        _source("e/comments_3.json", _with_bad_like_count(1)),
        _source("f/not-an-export.csv", b"a,b\n1,2\n"),
    ]


def test_a_batch_reads_each_file_as_it_would_be_read_alone() -> None:
    sources = mixed_sources()
    together = registry.read_many(sources)
    alone: list[ReadResult | ReadError] = []
    for source in sources:
        try:
            alone.append(registry.read(source))
        except ReadError as exc:
            alone.append(exc)
    assert len(together) == len(sources)
    for batch_outcome, single_outcome in zip(together, alone):
        _same(batch_outcome, single_outcome)
    rows = [[r.source_row for r in o.rejects] if isinstance(o, ReadResult) else None for o in together]
    assert rows[0] == rows[4] == [4] and rows[1] == [1, 4]  # item 4 of the fixture is bad already
    assert isinstance(together[2], ReadError) and "c/broken.json" in str(together[2])


def _outcome(read: object, source: SourceFile) -> ReadResult | ReadError:
    try:
        return read(source)  # type: ignore[operator]
    except ReadError as exc:
        return exc


def test_detection_and_reading_parse_a_json_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A JSON layout is read from the parse detection made: a second parse of a large dump would cost as
    much again. Reading through the layout alone, which parses the file itself, gives the same."""
    sources = [_source("a/comments_1.json", COMMENTS.read_bytes()), _source("b/comments_2.json", _with_bad_like_count(0)),
               _source("d/ig.json", IG_COMMENTS.read_bytes())]
    by_layout = [_outcome(registry.detect(source).read, source) for source in sources]

    def second_parse(source: SourceFile) -> list[object]:
        raise AssertionError(f"{source.name} parsed a second time")

    monkeypatch.setattr(graph_json, "load_documents", second_parse)
    for batch_outcome, layout_outcome in zip(registry.read_many(sources), by_layout):
        _same(batch_outcome, layout_outcome)


def test_a_reader_bug_while_preparing_raises_from_its_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault in a reader's own code is not a malformed file: it raises, so it is fixed, not quarantined."""
    def broken(self: object, docs: list[object], source: SourceFile) -> list[dict]:
        raise KeyError("a reader bug")

    monkeypatch.setattr(type(registry.detect(_source("a/comments.json", COMMENTS.read_bytes()))), "records", broken)
    with pytest.raises(KeyError, match="a reader bug"):
        registry.read_many([_source("a/comments.json", COMMENTS.read_bytes())])
