"""Quality gates: real DuckDB files, real Great Expectations validations through the SQL path."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from expectations import direct, run_gates
from expectations.checks import CRITICAL, not_null
from expectations.suites import Suite, stg_comment, suites_for
from tests.expectations.builders import (
    CTX, EXPORTED, FACTS, FILE, NOW, STAGING, WEEK, ZONE, clean_warehouse, insert, ledger, lineage,
    new_warehouse, violation, _account_day, _comment, _post,
)
from warehouse.connection import open_writer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def gates(path: Path, **kwargs):
    kwargs.setdefault("zone", ZONE)
    kwargs.setdefault("now", NOW)
    return run_gates(path, WEEK, kwargs.pop("run_id", "run-test"), kwargs.pop("data_docs_dir", None), **kwargs)


def test_importing_the_package_does_not_import_great_expectations() -> None:
    code = "import sys, expectations; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- every column check, fed a violating row, is reported with its severity --------------------------


def test_every_column_check_reports_its_violating_row(tmp_path: Path) -> None:
    path = new_warehouse(tmp_path)
    expected = []  # (suite, check, token that must appear in the examples)
    n = 100
    with open_writer(path, "test") as con:
        clean_warehouse(con)
        for suite in suites_for(("staging", "facts")):
            spec = {**STAGING, **FACTS}[suite.table]
            for check in suite.checks(CTX):
                n += 1
                rows = violation(check, spec.make(n))
                if rows is None:
                    continue  # query checks have their own tests below
                insert(con, suite.table, rows)
                column = check.columns[0]
                if suite.layer == "staging" and check.kind != "unique":
                    token = f'"source_row": {n}'
                elif check.kind == "regex" and column == spec.marker:
                    token = "not an id!"
                else:
                    token = spec.marker_value(n)
                expected.append((suite.name, check, token))

    report = gates(path, layers=("staging", "facts"))

    assert not report.passed
    results = {(r.suite, r.check_id): r for r in report.results}
    assert all(r.engine == "gx" for r in report.results), [r for r in report.results if r.engine != "gx"]
    critical = {(f.table, f.expectation): f for f in report.critical}
    warnings = {(f.table, f.expectation): f for f in report.warnings}
    for suite_name, check, token in expected:
        result = results[(suite_name, check.id)]
        assert not result.success, (suite_name, check.id)
        assert result.unexpected_count and result.unexpected_count >= 1, (suite_name, check.id)
        assert token in json.dumps(result.examples, default=str), (suite_name, check.id, token, result.examples)
        bucket = critical if check.severity == CRITICAL else warnings
        failure = bucket[(suite_name, check.name)]
        assert failure.severity == check.severity
        assert suite_name in failure.message and check.name in failure.message
        assert f"failed on {result.unexpected_count} row" in failure.message
        assert failure.examples
    assert {s for s, _, _ in expected} == {s.name for s in suites_for(("staging", "facts"))}
    assert sum(c.severity == CRITICAL for _, c, _ in expected) >= 100

    # The DuckDB fallback computes the same counts as Great Expectations, check by check.
    checks = {(s.name, c.id): c for s in suites_for(("staging", "facts")) for c in s.checks(CTX)}
    with open_writer(path, "test") as con:
        for (suite_name, check_id), result in results.items():
            outcome = direct.run_check(con, result.table, checks[(suite_name, check_id)])
            assert outcome.unexpected_count == result.unexpected_count, (suite_name, check_id)


# -- query checks: reconciliation per file, account attribution, volume -----------------------------


def test_reconciliation_and_attribution_failures_block(tmp_path: Path) -> None:
    path = new_warehouse(tmp_path)
    sha = {k: k * 64 for k in "abcdef"}
    with open_writer(path, "test") as con:
        insert(con, "stg_comment", [_comment(i) | lineage(i, sha["a"]) for i in (1, 2, 3)])
        ledger(con, sha["a"], "balanced.json", 3)
        insert(con, "stg_comment", [_comment(i) | lineage(i, sha["b"]) for i in (4, 5, 6)])
        ledger(con, sha["b"], "unbalanced.json", 5, loaded=3)  # 5 read, 3 loaded, nothing else: 2 unaccounted
        insert(con, "stg_comment", [_comment(i) | lineage(i, sha["c"]) for i in (7, 8)])
        ledger(con, sha["c"], "lost_rows.json", 4)  # says 4 loaded, 2 are staged
        insert(con, "stg_comment", [_comment(i) | lineage(i, sha["d"]) for i in (9, 10)])  # no ledger entry
        insert(con, "stg_comment", [_comment(i) | lineage(i, sha["e"]) for i in (11, 12, 13)])
        ledger(con, sha["e"], "quarantine_lost.json", 4, quarantined=1)  # no row in stg_quarantine
        insert(con, "stg_account_day", [_account_day(1) | {"account_handle": None} | lineage(1, sha["f"])])
        ledger(con, sha["f"], "account_days.csv", 1)

    report = gates(path, layers=("staging", "operations"))

    assert not report.passed
    critical = {f.expectation: f for f in report.critical}
    read = critical["expect_no_unexpected_rows(reconciliation:rows_read)"]
    assert read.table == "ops_file_ledger" and read.unexpected_count == 1
    assert read.examples[0]["file_name"] == "unbalanced.json" and read.examples[0]["rows_read"] == 5
    assert "ops_file_ledger" in read.message and "unbalanced.json" in read.message and "failed on 1 row" in read.message
    loaded = critical["expect_no_unexpected_rows(reconciliation:rows_loaded)"]
    assert loaded.unexpected_count == 1
    assert loaded.examples == [{"file_name": "lost_rows.json", "file_sha256": sha["c"], "rows_loaded": 4, "rows_staged": 2}]
    orphans = critical["expect_no_unexpected_rows(reconciliation:orphans)"]
    assert orphans.examples == [{"source_file_sha256": sha["d"], "rows_staged": 2}]
    quarantined = critical["expect_no_unexpected_rows(reconciliation:rows_quarantined)"]
    assert quarantined.examples[0]["file_name"] == "quarantine_lost.json"
    named = critical["expect_no_unexpected_rows(account_named)"]
    assert named.table == "stg_account_day" and named.unexpected_count == 1
    assert {f.expectation for f in report.warnings} >= {"expect_no_unexpected_rows(quarantine_share)"}

    summary = report.summary_markdown()
    assert "blocked" in summary and "reconciliation:rows_read" in summary and "unbalanced.json" in summary


def test_warning_only_week_passes_with_the_warnings_listed(tmp_path: Path) -> None:
    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        insert(con, "stg_post", [
            _post(1),
            _post(2) | {"likes": 2000, "views": 3000},                     # more likes than impressions
            _post(3) | {"post_id": "too-short"},                           # not a YouTube video id
            _post(4) | {"name_collision_account_key": "youtube:ichongqing"},  # named like the page, another id
        ])
        ledger(con, FILE, "posts.csv", 4)
        insert(con, "stg_comment", [_comment(5) | lineage(5, "c" * 64) | {"name_collision_account_key": "youtube:ichongqing"}])
        ledger(con, "c" * 64, "comments.json", 1)

    report = gates(path, layers=("staging", "operations"))

    assert report.passed and report.critical == []
    warnings = {f.expectation: f for f in report.warnings}
    likes = warnings["expect_column_pair_values_a_to_be_greater_than_b(impressions, likes)"]
    assert likes.severity == "warning" and likes.unexpected_count == 1 and likes.table == "stg_post"
    assert likes.examples[0]["source_row"] == 2 and likes.examples[0]["likes"] == 2000
    ids = warnings["expect_column_values_to_match_regex(post_id where platform=youtube)"]
    assert ids.unexpected_count == 1 and ids.examples[0]["post_id"] == "too-short"
    for table, row in (("stg_post", 4), ("stg_comment", 5)):
        spoof = next(f for f in report.warnings if f.table == table and f.expectation.endswith("(identity:name_collision)"))
        assert spoof.unexpected_count == 1 and spoof.examples[0]["source_row"] == row
        assert spoof.examples[0]["name_collision_account_key"] == "youtube:ichongqing"
    summary = report.summary_markdown()
    assert "passed" in summary and "Warnings" in summary and "too-short" in summary


def test_volume_spike_and_drop_against_trailing_weeks_are_warnings(tmp_path: Path) -> None:
    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        n = 0
        for weeks_back, comments, posts in ((4, 3, 4), (3, 3, 4), (2, 3, 4), (1, 3, 4), (0, 12, 1)):
            exported = EXPORTED - timedelta(weeks=weeks_back)
            for _ in range(comments):
                n += 1
                insert(con, "stg_comment", [_comment(n) | {"created_at": exported - timedelta(days=1), "exported_at": exported}])
            for _ in range(posts):
                n += 1
                insert(con, "stg_post", [_post(n) | {"published_at": exported - timedelta(days=2), "exported_at": exported,
                                                     "live_started_at": None, "live_ended_at": None}])

    report = gates(path, layers=("staging",))

    assert report.passed
    warnings = {(f.table, f.expectation): f for f in report.warnings}
    spike = warnings[("stg_comment", "expect_no_unexpected_rows(volume:week_vs_trailing_4)")]
    assert spike.examples == [{"change": "spike", "week_rows": 12, "trailing_mean": 3.0, "history_weeks": 4}]
    drop = warnings[("stg_post", "expect_no_unexpected_rows(volume:week_vs_trailing_4)")]
    assert drop.examples[0]["change"] == "drop" and drop.examples[0]["week_rows"] == 1


# -- an expectation that errors blocks; GX errors fall back to DuckDB and say so ---------------------


def test_an_expectation_that_errors_blocks_the_week(tmp_path: Path) -> None:
    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        insert(con, "stg_comment", [_comment(1)])
    broken = Suite("stg_comment", "staging", lambda ctx: [not_null("no_such_column", "warning")], (), catalogue=False)

    report = gates(path, suites=[broken])
    gates(path, suites=[broken])  # a retried run replaces its rows rather than adding to them

    assert not report.passed
    [failure] = report.critical
    assert failure.severity == "critical"  # declared a warning: an error is critical whatever was declared
    assert failure.table == "stg_comment" and failure.unexpected_count is None
    assert "could not be evaluated" in failure.message and "no_such_column" in failure.message
    with open_writer(path, "test") as con:
        stored = con.execute("SELECT severity, success, message FROM ops_validation_result").fetchall()
    assert len(stored) == 1 and stored[0][0] == "critical" and stored[0][1] is False and stored[0][2].startswith("[error]")


def test_gx_failure_falls_back_to_duckdb_and_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from expectations import gx_engine

    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        insert(con, "stg_comment", [_comment(1), _comment(2) | {"platform": "myspace"}])
    original = gx_engine.to_expectation

    def refuse_in_set(check, key):
        if check.kind == "in_set":
            raise NotImplementedError("simulated: GX cannot run this here")
        return original(check, key)

    monkeypatch.setattr(gx_engine, "to_expectation", refuse_in_set)
    suite = Suite("stg_comment", "staging", lambda ctx: [not_null("post_id"), *[
        c for c in stg_comment.SUITE.checks(ctx) if c.id == "in_set:platform"]], ("source_row",), catalogue=False)

    report = gates(path, suites=[suite])
    [failure] = report.critical
    assert failure.expectation == "expect_column_values_to_be_in_set(platform)" and failure.unexpected_count == 1
    assert failure.examples == [{"source_row": 2, "platform": "myspace"}]
    assert "checked directly in DuckDB" in failure.message and "simulated" in failure.message
    assert [r.engine for r in report.results] == ["gx", "duckdb-fallback"]
    with open_writer(path, "test") as con:
        messages = [m for (m,) in con.execute("SELECT message FROM ops_validation_result ORDER BY expectation").fetchall()]
    assert messages[0].startswith("[duckdb-fallback]")

    strict = gates(path, suites=[suite], fallback=False, run_id="strict")
    [failure] = strict.critical
    assert failure.unexpected_count is None and "simulated" in failure.message


# -- a clean week, validated while the caller holds the warehouse open --------------------------------


def test_clean_week_passes_while_the_caller_holds_the_warehouse(tmp_path: Path) -> None:
    path = new_warehouse(tmp_path)
    with open_writer(path, "weekly flow") as held:
        clean_warehouse(held)
        other = duckdb.connect(str(path))  # a second plain connection in the same process

        report = gates(path, run_id="run-1")

        assert report.passed and report.warnings == []
        assert set(report.suites) == {s.name for s in suites_for(("staging", "operations", "facts"))}
        assert all(r.engine == "gx" for r in report.results)
        stored = held.execute(
            "SELECT count(*), count(DISTINCT suite), bool_and(success), min(run_id), min(week_id), "
            "count(observed_value), count(*) FILTER (WHERE message LIKE '[gx] %') FROM ops_validation_result"
        ).fetchall()[0]
        n = len(report.results)
        assert stored == (n, len(report.suites), True, "run-1", WEEK, n, n)
        assert other.execute("SELECT count(*) FROM stg_comment").fetchall() == [(3,)]
        other.close()
    # Nothing of the gate is left open: the file opens read-only (a leaked read-write connection would refuse).
    ro = duckdb.connect(str(path), read_only=True)
    ro.close()
    assert "passed" in report.summary_markdown()


# -- the shim ----------------------------------------------------------------------------------------


def test_shim_is_idempotent_and_maps_regex_for_duckdb_only() -> None:
    import duckdb_engine
    import sqlalchemy as sa
    from sqlalchemy.dialects import sqlite  # GX passes the dialect module for SQLite

    from expectations import duckdb_shim
    from great_expectations.execution_engine.sqlalchemy_execution_engine import SqlAlchemyExecutionEngine
    from great_expectations.expectations.metrics import util
    from great_expectations.expectations.metrics.column_map_metrics import column_values_match_regex

    get_connection = SqlAlchemyExecutionEngine.get_connection
    duckdb_shim.apply()
    duckdb_shim.apply()
    assert duckdb_shim.is_applied() and SqlAlchemyExecutionEngine.get_connection is get_connection
    assert column_values_match_regex.get_dialect_regex_expression is util.get_dialect_regex_expression
    expr = util.get_dialect_regex_expression(sa.column("post_id"), "^[0-9]+$", duckdb_engine.Dialect())
    assert "regexp_matches" in str(expr.compile(dialect=duckdb_engine.Dialect()))
    negative = util.get_dialect_regex_expression(sa.column("post_id"), "^a", duckdb_engine.Dialect(), positive=False)
    assert str(negative.compile(dialect=duckdb_engine.Dialect())).startswith("NOT")
    other = util.get_dialect_regex_expression(sa.column("post_id"), "^a", sqlite)
    assert "regexp_matches" not in str(other.compile(dialect=sqlite.dialect()))


def test_shim_reads_duckdb_columns_as_upstream_does_without_the_failing_reflection() -> None:
    """Patch 3 skips duckdb-engine's reflection because it fails on DuckDB 2.x, and returns what upstream does."""
    import sqlalchemy as sa

    from expectations import duckdb_shim  # noqa: F401  (applies the patches)
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine
    from great_expectations.expectations.metrics.table_metrics import table_column_types

    engine = sa.create_engine("duckdb:///:memory:", poolclass=sa.pool.StaticPool)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (a INTEGER PRIMARY KEY, b VARCHAR)")
    with pytest.raises(sa.exc.ProgrammingError):  # when this stops raising, let GX reflect again
        sa.inspect(engine).get_columns("t")
    execution_engine = SqlAlchemyExecutionEngine(engine=engine)
    table = sa.sql.quoted_name("t", quote=None)
    patched = table_column_types.get_sqlalchemy_column_metadata
    try:
        upstream = patched.__wrapped_original__(execution_engine, table)
        assert upstream == [{"name": "a", "primary_key": False}, {"name": "b", "primary_key": False}]
        assert patched(execution_engine, table) == upstream
        assert patched(execution_engine, table) is not patched(execution_engine, table)  # copies
    finally:
        execution_engine.close()
        engine.dispose()


def test_shim_kwargs_patch_returns_what_upstream_returns() -> None:
    """Patch 4 is for speed only: the domain and success kwargs of every check kind are upstream's."""
    from expectations import gx_engine
    from great_expectations.expectations.expectation import Expectation

    checks = [c for suite in suites_for(("staging", "operations", "facts")) for c in suite.checks(CTX)]
    assert {c.kind for c in checks} == {"not_null", "unique", "in_set", "between", "regex", "a_ge_b", "no_rows"}
    for check in checks:
        expectation = gx_engine.to_expectation(check, check.id)
        for name in ("_get_domain_kwargs", "_get_success_kwargs"):
            patched = getattr(Expectation, name)
            assert patched(expectation) == patched.__wrapped_original__(expectation), (check.id, name)


def _recorded_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement Great Expectations sends through duckdb-engine from now on."""
    import duckdb_engine

    statements: list[str] = []
    execute = duckdb_engine.CursorWrapper.execute

    def recording(self, statement, parameters=None, context=None):
        statements.append(" ".join(str(statement).split()))
        return execute(self, statement, parameters, context)

    monkeypatch.setattr(duckdb_engine.CursorWrapper, "execute", recording)
    return statements


def test_a_row_of_another_city_fails_the_gate_by_name(tmp_path: Path) -> None:
    """One warehouse holds one city: a row copied in from another city's warehouse stops the run."""
    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        insert(con, "stg_comment", [_comment(1), _comment(2) | {"city_key": "hangzhou"}])

    report = gates(path, suites=[stg_comment.SUITE])

    [failure] = report.critical
    assert failure.expectation == "expect_column_values_to_be_in_set(city_key)" and failure.unexpected_count == 1
    assert failure.examples[0]["source_row"] == 2 and "testcity" in failure.message


def test_a_clean_suite_is_validated_without_asking_for_examples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verdicts first: no example queries, each query check runs once, the columns are reflected once."""
    import gc

    from expectations import gx_engine  # noqa: F401  (imports GX before recording)

    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        insert(con, "stg_comment", [_comment(1), _comment(2)])
    statements = _recorded_statements(monkeypatch)

    report = gates(path, suites=[stg_comment.SUITE])

    assert report.passed and len(report.results) == 25 and all(r.engine == "gx" for r in report.results)
    assert {r.unexpected_count for r in report.results} == {0} and not any(r.examples for r in report.results)
    observed = {r.observed_value for r in report.results}
    assert observed == {"0 unexpected", "0 unexpected row(s) returned by the check query"}
    # a count may wrap a check query that names the row (source_row); fetching rows is what must not happen
    fetched = [s for s in statements if not s.startswith("SELECT COUNT(*)")]
    assert not [s for s in fetched if "unexpected_values" in s or "source_row" in s], "examples asked for"
    unique = [s for s in statements if "rows_with_this_key" in s]
    assert len(unique) == 1 and unique[0].startswith("SELECT COUNT(*)")
    assert sum(s.startswith("SELECT * FROM stg_comment LIMIT") for s in statements) == 1
    assert gc.get_freeze_count() == 0  # the gate's collection hands every object back


def test_failed_checks_fall_back_to_duckdb_when_gx_cannot_detail_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from expectations import gx_engine

    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        insert(con, "stg_comment", [_comment(1), _comment(2) | {"platform": "myspace"}])

    def refuse(*args, **kwargs):
        raise RuntimeError("simulated: no second pass")

    monkeypatch.setattr(gx_engine, "_detail_failures", refuse)
    report = gates(path, suites=[stg_comment.SUITE])

    [failure] = report.critical
    assert failure.expectation == "expect_column_values_to_be_in_set(platform)" and failure.unexpected_count == 1
    assert failure.examples == [
        {"source_file_sha256": FILE, "source_row": 2, "platform": "myspace", "comment_id": "Ug000002"}
    ]
    assert "simulated: no second pass" in failure.message
    fallbacks = [r for r in report.results if r.engine == "duckdb-fallback"]
    assert [r.check_id for r in fallbacks] == ["in_set:platform"]  # the passing checks keep their GX verdicts


def test_without_the_shim_gx_fails_on_duckdb_and_every_check_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hazard the shim fixes is real; the per-expectation fallback still gives the right verdicts."""
    from expectations import gx_engine  # noqa: F401  (applies the shim, which we then take back)
    from great_expectations.execution_engine.sqlalchemy_execution_engine import SqlAlchemyExecutionEngine

    monkeypatch.setattr(SqlAlchemyExecutionEngine, "get_connection",
                        SqlAlchemyExecutionEngine.get_connection.__wrapped_original__)
    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        insert(con, "stg_comment", [_comment(1), _comment(2) | {"platform": "myspace"}])

    report = gates(path, layers=("staging",))

    assert report.results and all(r.engine == "duckdb-fallback" for r in report.results)
    assert [f.expectation for f in report.critical] == ["expect_column_values_to_be_in_set(platform)"]
    assert report.critical[0].unexpected_count == 1
    assert "could not run in Great Expectations" in report.summary_markdown()


# -- Data Docs, opened in a browser ------------------------------------------------------------------


@pytest.mark.slow
def test_data_docs_show_the_suites_and_their_results_in_a_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed at /usr/bin/chromium (apt-get install -y chromium)")
    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        insert(con, "stg_comment", [_comment(1), _comment(2) | {"platform": "myspace"}])
        ledger(con, FILE, "comments.json", 2)
    docs = tmp_path / "report" / "data_docs"
    monkeypatch.chdir(tmp_path)  # a relative folder, as under the default home `var`: GX wants it absolute

    report = gates(path, data_docs_dir=Path("report/data_docs"), layers=("staging", "operations"))

    assert not report.notes
    assert report.data_docs_index == docs / "run.html" and report.data_docs_index.is_file()
    # Our index of the run draws its table offline: each suite, its verdict, a link to its GX page.
    offline = " ".join(_visible_text(_dump_dom(report.data_docs_index, tmp_path)).split())
    assert "stg_comment failed" in offline and "ops_file_ledger passed" in offline
    links = re.findall(r'href="([^"]+)"', report.data_docs_index.read_text(encoding="utf-8"))
    assert len(links) == 2 and all((docs / link).is_file() for link in links)
    # GX's own index holds one row per suite, with its status and run name, but draws that table with
    # jQuery/bootstrap-table from CDNs: offline, the rows are in the page's data and never drawn.
    index = _dump_dom(docs / "index.html", tmp_path)
    for suite in ("stg_comment", "ops_file_ledger"):
        assert f"'_expectation_suite_name_sort': '{suite}'" in index
    assert "'_validation_success_text': 'Failed'" in index and "'_validation_success_text': 'Success'" in index
    assert "run-test" in index
    # A suite's validation page is plain HTML: status, every expectation with its severity and result.
    [page] = (docs / "validations" / "stg_comment").rglob("*.html")
    text = " ".join(_visible_text(_dump_dom(page, tmp_path)).split())
    assert "Expectation Suite: stg_comment" in text and "Status: Failed" in text
    assert "[critical] platform is one of facebook, instagram, youtube, x, tiktok" in text and "myspace" in text
    assert "[warning]" in text


def _visible_text(dom: str) -> str:
    import html
    import re

    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", dom))


def _dump_dom(page: Path, tmp_path: Path) -> str:
    profile = tmp_path / "chromium-profile"
    out = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         # no network here: fail the pages' CDN requests at once instead of waiting for DNS
         "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=90,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_docs_carry_the_current_catalogue_of_suites() -> None:
    from expectations import catalogue

    text = (ROOT / "docs" / "quality_gates.md").read_text(encoding="utf-8")
    assert catalogue.markdown() in text, "regenerate the catalogue: python -m expectations.catalogue"


def test_the_gates_of_one_run_keep_each_others_results(tmp_path: Path) -> None:
    """Staging is gated before the facts are built, the facts after, the week's volumes apart: one run's
    results of each stay in ops_validation_result; a retried gate replaces only its own."""
    path = new_warehouse(tmp_path)
    with open_writer(path, "test") as con:
        insert(con, "stg_comment", [_comment(1), _comment(2)])
        ledger(con, FILE, "week47.json", 2)
    table = gates(path, layers=("staging",), part="table")
    week = gates(path, layers=("staging",), part="week")
    gates(path, layers=("staging",), part="week")  # retried
    assert table.results and all("volume" not in r.expectation for r in table.results)
    assert [r.expectation for r in week.results] == ["expect_no_unexpected_rows(volume:week_vs_trailing_4)"]
    with open_writer(path, "test") as con:
        stored = con.execute("SELECT count(*), count(*) FILTER (WHERE expectation LIKE '%volume%') "
                             "FROM ops_validation_result WHERE run_id = 'run-test'").fetchall()
    assert stored == [(len(table.results) + 1, 1)]
