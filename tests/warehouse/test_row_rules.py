"""Row-level rules are applied at load, inside the load's transaction, and the quality gates only read.

Real DuckDB files; the last test loads a real X analytics CSV through the ingest stage.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from expectations import run_gates
from tests.expectations.builders import FILE, NOW, WEEK, _comment, _post, insert, ledger, new_warehouse
from tests.resilience.digest import warehouse_digest
from tests.resilience.hostile import Lab
from warehouse import row_rules
from warehouse.connection import open_writer
from warehouse.row_rules import apply_row_rules
from warehouse.transaction import transaction

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_the_load_sets_aside_its_own_bad_rows_with_reasons_and_keeps_the_rest(tmp_path: Path) -> None:
    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        insert(con, "stg_comment", [
            _comment(1), _comment(2), _comment(3),
            _comment(4) | {"post_id": None},
            _comment(5) | {"post_id": None, "like_count": -1},
            _comment(6) | {"created_at": NOW + timedelta(days=30)},
            _comment(9) | {"post_id": None, "parent_comment_id": "Ug000001"},  # a reply naming only its parent
            _comment(10) | {"created_at": datetime(1, 1, 1, tzinfo=timezone.utc)},  # year 1: a corrupt cell
            _comment(11) | {"like_count": -7, "load_id": "L0"},  # an earlier load's row: not this load's to judge
        ])
        insert(con, "stg_post", [_post(7), _post(8) | {"views": -5}])
        ledger(con, FILE, "week47.json", 10)

        with transaction(con):
            assert apply_row_rules(con, "L1", NOW) == {FILE: 5}
        with transaction(con):
            assert apply_row_rules(con, "L1", NOW) == {}  # nothing more to move

        kept = [r[0] for r in con.execute("SELECT comment_id FROM stg_comment ORDER BY 1").fetchall()]
        assert kept == ["Ug000001", "Ug000002", "Ug000003", "Ug000009", "Ug000011"]
        assert [r[0] for r in con.execute("SELECT post_id FROM stg_post").fetchall()] == ["vid00000007"]
        rows = con.execute(
            "SELECT source_row, entity, column_name, value, reason, file_name, stage, raw FROM stg_quarantine ORDER BY source_row"
        ).fetchall()
        assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
            (4, "comment", "post_id", "null"),
            (5, "comment", "post_id; like_count", "null; -1"),
            (6, "comment", "created_at", "2026-12-24 06:00:00+00"),
            (8, "post", "views", "-5"),
            (10, "comment", "created_at", "0001-01-01 00:00:00+00"),
        ]
        assert "a comment must name the post it is on" in rows[1][4] and "count is never below zero" in rows[1][4]
        assert {r[5] for r in rows} == {"week47.json"} and {r[6] for r in rows} == {"row_rule"}
        assert json.loads(rows[0][7])["comment_id"] == "Ug000004"
        assert con.execute("SELECT rows_read, rows_loaded, rows_quarantined FROM ops_file_ledger").fetchall() == [(10, 5, 5)]


def test_a_failing_rule_leaves_the_load_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        insert(con, "stg_post", [_post(1) | {"views": -1}])
        monkeypatch.setattr(row_rules, "ROW_RULES", (*row_rules.ROW_RULES, row_rules.RowRule("comment", "no_col", "missing", "x")))
        with pytest.raises(duckdb.Error), transaction(con):
            apply_row_rules(con, "L1", NOW)
        assert con.execute("SELECT count(*) FROM stg_post").fetchall() == [(1,)]
        assert con.execute("SELECT count(*) FROM stg_quarantine").fetchall() == [(0,)]


def test_a_comment_dated_in_the_future_is_quarantined_at_load_and_the_gates_change_nothing(tmp_path: Path) -> None:
    thread = json.loads((FIXTURES / "facebook" / "graph" / "comments_nested.json").read_text(encoding="utf-8"))
    thread["data"][0]["comments"]["data"][1]["created_time"] = "2098-01-28T12:00:00+0000"  # a corrupt year
    lab = Lab(tmp_path)
    (outcome,) = lab.load("2026-01-30/facebook/iChongqing/comments.json", json.dumps(thread).encode())
    # The fixture's "lots" of likes is the reader's own reject; the reply from 2098 is the row rule's.
    assert (outcome.status, outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 4, 2, 2)
    assert lab.ledger_problems() == []
    assert lab.query("SELECT count(*) FROM stg_comment WHERE comment_id = '901_5003'") == [(0,)]
    (stage, column, reason), = lab.query("SELECT stage, column_name, reason FROM stg_quarantine WHERE stage <> 'read'")
    assert (stage, column) == ("row_rule", "created_at") and "in the future" in reason

    before = warehouse_digest(lab.warehouse)
    report = run_gates(lab.warehouse, WEEK, "run-1", None, layers=("staging", "operations"))
    assert not report.critical, [f.message for f in report.critical]
    assert warehouse_digest(lab.warehouse) == before  # the gates judge; they never move a row
