"""One JSON parser for every JSON export: a document, JSON lines, and a broken line refused by number."""

from __future__ import annotations

import pytest

from readers.base import ReadError, SourceFile, json_documents
from readers.registry import detect


def test_a_document_or_json_lines() -> None:
    assert json_documents('{"data": []}', "page.json") == ([{"data": []}], False)
    assert json_documents('{"a": 1}\n\n{"a": 2}\n', "pages.jsonl") == ([{"a": 1}, {"a": 2}], True)


def test_a_broken_line_refuses_the_file_naming_line_and_column() -> None:
    with pytest.raises(ReadError, match=r"^pages.jsonl: line 2 is not valid JSON \(Expecting value at column 7\)$"):
        json_documents('{"a": 1}\n{"a": }\n', "pages.jsonl")


@pytest.mark.parametrize("first", ['{"data": [{"id": "1", "text": "hi"}]}', '{"data": [{"id": "1", "message": "hi"}]}'])
def test_detection_refuses_a_broken_dump_the_same_way(first: str) -> None:
    source = SourceFile(name="dump.jsonl", data=(first + "\n{broken\n").encode())
    with pytest.raises(ReadError, match="dump.jsonl: line 2 is not valid JSON"):
        detect(source)
