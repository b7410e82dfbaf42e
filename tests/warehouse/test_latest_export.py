"""The latest-export rule (``warehouse.facts.models.latest``) on its own: given staged rows, expect merged rows.

The fact build's tests reach it through whole builds; here each of its cases is one small table, so a
wrong pick names the case: the order of exports (instant, none first; file hash; row), a value the
latest export lacks, values from several older exports at once, and the ``where`` filter.
"""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pytest

from warehouse.facts.models import latest

COLUMNS = ("likes", "text", "author")


def _merged(rows: list[tuple], where: str = "true") -> dict[str, tuple]:
    """``rows`` (key, exported day or None, file hash, source row, likes, text, author) merged by key."""
    con = duckdb.connect()
    con.execute("CREATE TABLE staged (k VARCHAR, exported_at TIMESTAMPTZ, source_file_sha256 VARCHAR, "
                "source_row BIGINT, likes BIGINT, text VARCHAR, author VARCHAR)")
    for k, day, sha, row, *values in rows:
        at = None if day is None else datetime(2026, 11, day, tzinfo=timezone.utc)
        con.execute("INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?, ?)", [k, at, sha, row, *values])
    steps, merged = latest("staged", ("k",), COLUMNS, "staged_pick", count_as="exports", where=where)
    for name, query in steps:
        con.execute(f"CREATE TEMP TABLE {name} AS {query}")
    got = {r[0]: r[1:] for r in con.execute(merged).fetchall()}
    con.close()
    return got


def test_the_latest_instant_wins_and_an_export_without_one_sorts_first() -> None:
    got = _merged([("a", 3, "f1", 1, 10, "old", "x"), ("a", 9, "f0", 1, 20, "new", "y"), ("a", None, "f9", 9, 30, "none", "z")])
    assert got["a"] == (20, "new", "y", 3)


@pytest.mark.parametrize("rows, want", [
    # the same instant: the greater file hash wins, whatever its rows or the load order say
    ([("a", 5, "fb", 1, 1, "b", "b"), ("a", 5, "fa", 9, 2, "a", "a")], (1, "b", "b", 2)),
    ([("a", 5, "fa", 9, 2, "a", "a"), ("a", 5, "fb", 1, 1, "b", "b")], (1, "b", "b", 2)),
    # the same instant and file: the later row wins
    ([("a", 5, "f", 2, 2, "two", "t"), ("a", 5, "f", 1, 1, "one", "o")], (2, "two", "t", 2)),
])
def test_ties_fall_to_the_file_hash_then_the_row(rows: list[tuple], want: tuple) -> None:
    assert _merged(rows)["a"] == want


def test_a_full_tie_falls_to_the_row_staged_last() -> None:
    """Two rows of one export and row (a record listing a comment twice) tie on the order; the one staged
    last wins, in every column, build after build."""
    got = _merged([("a", 5, "f", 1, 1, "first", None), ("a", 5, "f", 1, 2, None, "second")])
    assert got["a"] == (2, "first", "second", 2)


def test_each_column_comes_from_the_latest_export_that_carries_it() -> None:
    got = _merged([
        ("a", 1, "f1", 1, 5, "first", "ann"),
        ("a", 2, "f2", 1, None, "second", None),  # lacks likes and author
        ("a", 3, "f3", 1, None, None, None),      # the latest lacks everything but its instant
        ("b", 2, "f2", 2, 7, None, "bob"),        # another key: its own rows only
    ])
    assert got["a"] == (5, "second", "ann", 3)
    assert got["b"] == (7, None, "bob", 1)


def test_a_column_no_export_carries_stays_missing() -> None:
    assert _merged([("a", 1, "f1", 1, None, "t", None), ("a", 2, "f2", 1, None, None, None)])["a"] == (None, "t", None, 2)


def test_rows_outside_where_take_no_part() -> None:
    got = _merged([("a", 1, "f1", 1, 5, "kept", "ann"), ("a", 2, "f2", 1, 9, "left out", "bob")],
                  where="t.source_file_sha256 <> 'f2'")
    assert got["a"] == (5, "kept", "ann", 1)


def test_a_row_lacking_one_of_many_columns_takes_it_from_an_older_export() -> None:
    """More columns than one mask holds (62): the one the latest export lacks is the 66th."""
    names = [f"c{i}" for i in range(70)]
    con = duckdb.connect()
    con.execute("CREATE TABLE wide (k VARCHAR, exported_at TIMESTAMPTZ, source_file_sha256 VARCHAR, source_row BIGINT, "
                + ", ".join(f"{n} BIGINT" for n in names) + ")")
    old = [1000 + i for i in range(70)]
    new = [2000 + i if i != 65 else None for i in range(70)]
    con.execute(f"INSERT INTO wide VALUES ('a', '2026-11-01', 'f1', 1, {', '.join(map(str, old))})")
    con.execute(f"INSERT INTO wide VALUES ('a', '2026-11-02', 'f2', 1, {', '.join('NULL' if v is None else str(v) for v in new)})")
    steps, merged = latest("wide", ("k",), names, "wide_pick")
    for name, query in steps:
        con.execute(f"CREATE TEMP TABLE {name} AS {query}")
    got = con.execute(merged).fetchall()
    assert got == [("a", *[2000 + i if i != 65 else 1065 for i in range(70)])]
