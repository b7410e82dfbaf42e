"""One JSON parser for every JSON export: a document, JSON lines, and a broken line refused by number; the bytes
parser (orjson) gives the same documents or leaves the file to it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readers.base import ReadError, SourceFile, decode_text, json_documents, utf8_json_documents
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


def _by_text(data: bytes) -> tuple[list[object], bool]:
    return json_documents(decode_text(SourceFile("f.json", data)), "f.json")


@pytest.mark.parametrize("data", [
    b'{"data": [{"id": "1", "like_count": 3, "ratio": 0.1}]}',
    b'\xef\xbb\xbf{"a": "\xc3\xa9\xf0\x9f\x98\x80"}\n',    # a byte-order mark; text beyond the BMP
    b'{"a": 1}\r\n\r\n{"a": 2}\r\n',                          # Windows line ends and a blank line
    b'  [1, -0.0, 5e-324, 1E5, 922337203685477580, -922337203685477580]  ',  # 18 digits
    b'{"a": 1, "a": 2}',                                      # a repeated key: the last wins in both
    b'{"id": "10000000001926250001"}',                        # a long id written as text
])
def test_the_bytes_parser_gives_what_the_text_parser_gives(data: bytes) -> None:
    assert utf8_json_documents(data) == _by_text(data)


@pytest.mark.parametrize("data", [
    b'{"views": 18446744073709551616}',    # beyond 64 bits: orjson would give a float
    b'{"views": -9223372036854775809}',    # below 64 bits, in 19 digits
    b'{"views": 1000000000000000000}',     # 19 digits or more: set aside whatever the value
    b'[NaN]',                               # Python's json reads it, orjson does not
    b'{"a": "\\ud800"}',                    # a lone surrogate
    b'{"a": "caf\xe9"}',                    # Windows-1252, not UTF-8
    b'{"a": 1}\n{"a": }\n',                 # a broken line: the text path words the refusal
])
def test_what_the_bytes_parser_cannot_vouch_for_goes_to_the_text_path(data: bytes) -> None:
    assert utf8_json_documents(data) is None


def test_a_line_separator_inside_a_string_is_text_not_a_line_break() -> None:
    """JSON allows U+2028 inside a string; the text path's ``splitlines`` breaks the line there."""
    data = '{"text": "a\u2028b"}\n{"text": "c"}\n'.encode()
    assert utf8_json_documents(data) == ([{"text": "a\u2028b"}, {"text": "c"}], True)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8)


@given(st.lists(JSON_VALUES, min_size=1, max_size=3), st.booleans())
@settings(max_examples=200, deadline=None)
def test_the_bytes_parser_agrees_with_the_text_parser_or_declines(values: list[object], lines: bool) -> None:
    text = "\n".join(json.dumps(v, ensure_ascii=False) for v in values) if lines else json.dumps(values[0], ensure_ascii=False)
    data = text.encode()
    fast = utf8_json_documents(data)
    if fast is None:
        return
    try:
        assert repr(fast) == repr(_by_text(data))
    except ReadError:  # only where the text path breaks a line inside a string (see the test above)
        assert lines and any(sep in text for sep in "\v\f\x1c\x1d\x1e\x85\u2028\u2029\r")
