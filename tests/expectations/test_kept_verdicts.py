"""Verdicts kept while their tables and definitions are unchanged: real DuckDB files, real GX runs."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from expectations import gx_engine, run_gates, verdicts
from expectations.checks import CRITICAL, WARNING, in_set
from expectations.report import GateReport
from expectations.suites import Suite, all_suites
from expectations.verdicts import fingerprint
from tests.expectations.builders import (
    CTX, FILE, NOW, WEEK, ZONE, _comment, clean_warehouse, insert, ledger, new_warehouse,
)
from warehouse.connection import open_writer

STAGING_LAYERS = ("staging", "operations")


def gates(path: Path, run_id: str, **kwargs) -> GateReport:
    kwargs.setdefault("zone", ZONE)
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("layers", STAGING_LAYERS)
    kwargs.setdefault("part", "table")
    return run_gates(path, WEEK, run_id, None, **kwargs)


def as_computed(report: GateReport) -> list:
    """The results as a run that computed them all would read."""
    return [replace(r, kept_from=None) for r in report.results]


def by_suite(report: GateReport) -> dict[str, set[str | None]]:
    """Per suite, the runs its results were kept from (None: computed by this run)."""
    kept: dict[str, set[str | None]] = {}
    for r in report.results:
        kept.setdefault(r.suite, set()).add(r.kept_from)
    return kept


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Every table with clean rows, and one warning in stg_post (more likes than impressions)."""
    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        clean_warehouse(con)
        con.execute("UPDATE stg_post SET likes = 5000 WHERE post_id = (SELECT min(post_id) FROM stg_post)")
    return path


def no_great_expectations(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("Great Expectations was asked to validate")

    monkeypatch.setattr(gx_engine, "validate", refuse)


def test_an_unchanged_warehouse_keeps_every_verdict_without_asking_gx(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = gates(warehouse, "run-1", layers=("staging", "operations", "facts"))
    assert first.passed and first.warnings and not first.kept

    no_great_expectations(monkeypatch)
    again = gates(warehouse, "run-2", layers=("staging", "operations", "facts"))

    assert {r.kept_from for r in again.results} == {"run-1"}
    assert as_computed(again) == first.results
    assert [w.message for w in again.warnings] == [w.message for w in first.warnings]
    assert "kept from earlier runs" in again.summary_markdown() and "run-1" in again.summary_markdown()
    with open_writer(warehouse, "test") as con:
        messages = [m for (m,) in con.execute("SELECT message FROM ops_validation_result WHERE run_id = 'run-2'").fetchall()]
    assert len(messages) == len(again.results) and all(m.startswith("[gx, kept from run-1] ") for m in messages)


def test_a_table_changed_in_place_is_judged_again_and_only_it(warehouse: Path) -> None:
    gates(warehouse, "run-1")
    with open_writer(warehouse, "test") as con:  # same row count, one value changed
        con.execute("UPDATE stg_comment SET comment_id = 'not an id!' WHERE comment_id = 'Ug000002'")

    again = gates(warehouse, "run-2")

    kept = by_suite(again)
    assert kept["stg_comment"] == {None}
    assert kept["ops_file_ledger"] == {None}  # it reads stg_comment
    assert kept["stg_post"] == {"run-1"}
    assert any(w.table == "stg_comment" and "not an id!" in w.message for w in again.warnings)


def test_the_ledger_is_judged_again_when_a_table_it_reads_loses_a_row(warehouse: Path) -> None:
    assert gates(warehouse, "run-1").passed
    with open_writer(warehouse, "test") as con:
        con.execute("DELETE FROM stg_search WHERE value = 'chongqing 1'")

    again = gates(warehouse, "run-2")

    assert not again.passed
    assert [f.expectation for f in again.critical] == ["expect_no_unexpected_rows(reconciliation:rows_loaded)"]


def test_a_check_bound_to_the_clock_keeps_a_pass_but_judges_a_failure_again(tmp_path: Path) -> None:
    path = new_warehouse(tmp_path)
    late = NOW + timedelta(days=3)  # beyond the tolerance at NOW, within it two days later
    with open_writer(path, "test") as con:
        insert(con, "stg_comment", [_comment(1), _comment(2) | {"exported_at": late}])
        ledger(con, FILE, "comments.json", 2)
    suite = [s for s in all_suites() if s.table == "stg_comment"]

    first = gates(path, "run-1", suites=suite)
    later = gates(path, "run-2", suites=suite, now=NOW + timedelta(days=2))
    earlier = gates(path, "run-3", suites=suite, now=NOW - timedelta(days=1))

    def result(report: GateReport, check_id: str):
        return next(r for r in report.results if r.check_id == check_id)

    assert not result(first, "not_in_future:exported_at").success
    assert result(later, "not_in_future:exported_at").success and result(later, "not_in_future:exported_at").kept_from is None
    assert result(later, "not_in_future:created_at").kept_from == "run-1"
    # judged at a later bound than this run's: the pass may not hold here, so it is judged again
    assert result(earlier, "not_in_future:created_at").kept_from is None


def test_a_changed_definition_is_judged_again(tmp_path: Path) -> None:
    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        insert(con, "stg_comment", [_comment(1) | {"platform": "x"}])
        ledger(con, FILE, "comments.json", 1)

    def only(check) -> list[Suite]:
        return [Suite("stg_comment", "staging", lambda ctx: [check], ("source_row",), catalogue=False)]

    narrow = in_set("platform", ("youtube",), WARNING)
    assert not gates(path, "run-1", suites=only(narrow)).results[0].success
    wider = gates(path, "run-2", suites=only(in_set("platform", ("youtube", "x"), WARNING))).results[0]
    assert wider.success and wider.kept_from is None
    graver = gates(path, "run-3", suites=only(in_set("platform", ("youtube", "x"), CRITICAL))).results[0]
    assert graver.kept_from is None
    same = gates(path, "run-4", suites=only(in_set("platform", ("youtube", "x"), CRITICAL))).results[0]
    assert same.kept_from == "run-3"


def test_judging_everything_stores_what_it_judged_for_the_next_run(warehouse: Path) -> None:
    gates(warehouse, "run-1")
    full = gates(warehouse, "run-2", keep=False)
    assert not full.kept
    assert {r.kept_from for r in gates(warehouse, "run-3").results} == {"run-2"}


def test_the_week_checks_are_judged_every_time_without_digesting_a_table(warehouse: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(con, table):
        raise AssertionError(f"{table} was digested for a week's volume check")

    monkeypatch.setattr(verdicts, "fingerprint", refuse)
    gates(warehouse, "run-1", part="week")
    again = gates(warehouse, "run-2", part="week")
    assert again.results and {r.kept_from for r in again.results} == {None}


# -- the table digest ------------------------------------------------------------------------------


def digest_after(*statements: str) -> str:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id INTEGER, name VARCHAR, tags VARCHAR[])")
    con.execute("INSERT INTO t VALUES (1, 'a', ['x']), (2, 'b', NULL), (3, NULL, [])")
    for statement in statements:
        con.execute(statement)
    return fingerprint(con, "t")


def test_the_table_digest_follows_the_content_and_nothing_else() -> None:
    base = digest_after()
    assert digest_after() == base
    # the same rows written again, in another order
    assert digest_after("CREATE TABLE u AS SELECT * FROM t ORDER BY id DESC", "DELETE FROM t",
                        "INSERT INTO t SELECT * FROM u") == base
    changed = {
        "a value": digest_after("UPDATE t SET name = 'c' WHERE id = 1"),
        "a null": digest_after("UPDATE t SET name = NULL WHERE id = 2"),
        "a list": digest_after("UPDATE t SET tags = ['y'] WHERE id = 1"),
        "a row twice": digest_after("INSERT INTO t VALUES (1, 'a', ['x'])"),
        "two rows' values swapped": digest_after("UPDATE t SET name = CASE id WHEN 1 THEN 'b' WHEN 2 THEN 'a' END "
                                                 "WHERE id IN (1, 2)"),
        "a column": digest_after("ALTER TABLE t ADD COLUMN extra INTEGER"),
        "a type": digest_after("ALTER TABLE t ALTER id TYPE BIGINT"),
    }
    assert base not in changed.values()
    assert len(set(changed.values())) == len(changed), changed


# -- what a suite reads is declared ----------------------------------------------------------------


def test_every_table_a_suite_query_reads_is_declared(tmp_path: Path) -> None:
    """A query check that reads a table its suite does not declare would keep its verdict while that
    table changes."""
    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}

    for suite in all_suites():
        for check in suite.checks(CTX):
            if check.kind != "no_rows":
                continue
            named = {t for t in re.findall(r"\b[a-z_]+\b", check.params["query"]) if t in tables}
            assert named <= set(suite.tables), (suite.name, check.id, named - set(suite.tables))


def test_the_command_keeps_verdicts_unless_asked_to_judge_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from cityimage.cli import exit_code

    home = tmp_path / "home"
    home.mkdir()
    path = new_warehouse(home)
    with open_writer(path, "test") as con:
        clean_warehouse(con)
    monkeypatch.setenv("CITYIMAGE_HOME", str(home))

    assert exit_code(["validate", "--week", WEEK]) == 0
    assert "kept from earlier runs" not in capsys.readouterr().out
    assert exit_code(["validate", "--week", WEEK]) == 0
    assert "kept from earlier runs" in capsys.readouterr().out
    assert exit_code(["validate", "--week", WEEK, "--judge-all"]) == 0
    assert "kept from earlier runs" not in capsys.readouterr().out
