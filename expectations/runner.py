"""The gate: run every table's suite in DuckDB through GX, record, report. It judges and never changes
the data: row-level faults were set aside at load (``warehouse.row_rules``). A verdict whose tables and
definition are unchanged since GX computed it is kept instead of computed again (``expectations.verdicts``).

``run_gates`` is what the weekly flow calls between loading and building facts (and again after the
facts, with ``layers=("facts",)``, if it wants them gated too). Great Expectations is imported inside
it, never when this module is imported.

Concurrency: the gate writes its results, so it takes the warehouse's writer lock (re-entrant
in one process) and opens its own connection with ``warehouse.connection.open_writer``. In the same
process that connection shares DuckDB's database instance with any connection the caller already holds
on the same file, so the caller does not need to close its connection — but it must have committed:
the gate sees committed data only. Another *process* holding the file makes the gate fail with
``WarehouseBusy`` (the lock) before anything is touched.
"""

from __future__ import annotations

import gc
import logging
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Literal
from zoneinfo import ZoneInfo

import duckdb

from cityimage.weeks import Week
from expectations import direct, verdicts
from expectations.checks import Check
from expectations.report import CheckResult, GateReport, dumps
from expectations.suites import Suite, SuiteContext, suites_for
from expectations.suites._common import is_week_check
from warehouse.city import held_city
from warehouse.connection import READER_WAIT_S, open_writer
from warehouse.connection import memory_limit as bounded
from warehouse.transaction import transaction

if TYPE_CHECKING:
    from expectations.gx_engine import GxOutcome  # importing it imports Great Expectations

log = logging.getLogger(__name__)

DEFAULT_LAYERS = ("staging", "operations", "facts")
Part = Literal["all", "table", "week"]


def run_gates(
    warehouse: Path,
    week_id: str,
    run_id: str,
    data_docs_dir: Path | None = None,
    *,
    layers: Iterable[str] = DEFAULT_LAYERS,
    zone: str | ZoneInfo | None = None,
    now: datetime | None = None,
    fallback: bool = True,
    suites: list[Suite] | None = None,
    part: Part = "all",
    reader_wait_s: float = READER_WAIT_S,
    memory_limit: str | None = None,
    keep: bool = True,
) -> GateReport:
    """Validate the warehouse for ``week_id``; ``report.passed`` is False if any critical check failed.

    * ``layers``: which suites run (``staging``, ``operations`` — the file-ledger reconciliation —,
      ``facts``); a suite whose table has no rows is skipped and listed as such.
    * ``zone``: the reporting time zone that cuts weeks (default: the settings' ``reporting_timezone``).
    * ``now``: the validation instant ("not in the future" is judged against it); default: the clock.
    * ``fallback``: when GX raises on an expectation, evaluate the same check directly in DuckDB and record
      the fallback (default True). Without it, or when the direct check fails too, the expectation
      counts as a critical failure.
    * ``suites``: override the declared suites (tests, benchmarks).
    * ``part``: ``table`` runs the checks that judge the tables whatever the week, ``week`` only those
      that compare the week with the weeks before it (volumes), ``all`` both. A run over many weeks
      runs the first once and the second per week.
    * ``memory_limit``: DuckDB's share of memory while the checks run (``CITYIMAGE_DUCKDB_MEMORY_LIMIT``);
      beyond it DuckDB spills. Without one it may take most of the RAM: at the reference year the gates
      peaked at 2.2 GB, and at 1.3 GB under 1GB.
    * ``keep``: keep each stored verdict whose tables and definition are unchanged (``expectations.verdicts``)
      instead of evaluating it again; False evaluates every check. Either way the verdicts computed
      are stored for later runs to keep.
    """
    started = time.perf_counter()
    week = Week.parse(week_id)
    now = now or datetime.now(timezone.utc)
    chosen = suites if suites is not None else suites_for(tuple(layers))
    report = GateReport(run_id=run_id, week_id=week.id)
    with _collecting_own_cycles(), open_writer(warehouse, f"quality gates {week.id} ({run_id})", reader_wait_s) as con, \
            (bounded(con, memory_limit) if memory_limit else nullcontext()):
        city = held_city(con)
        ctx = SuiteContext(now=now, week=week, zone=_zone(zone), city=city[0] if city else None)
        runs = _prepare(con, chosen, ctx, part, keep, report.skipped_suites)
        report.suites = [s.suite.name for s in runs]
        plan = [(s.suite, s.left, s.index_columns) for s in runs if s.left]
        outcomes: dict[tuple[str, str], GxOutcome] = {}
        if plan:
            from expectations import gx_engine  # imports Great Expectations: only when validating

            outcomes, report.data_docs_index, report.notes = gx_engine.validate(
                con, warehouse, plan, run_id, data_docs_dir, run_time=now
            )
        judged = []
        for s in runs:
            for check in s.checks:
                result = s.kept.get(check.id)
                if result is None:
                    result = _result(con, s.suite, check, s.index_columns, outcomes.get((s.suite.name, check.id)), fallback)
                    if check.id in s.bases:
                        judged.append((result, s.bases[check.id]))
                report.results.append(result)
        _store(con, report, judged)
    report.seconds = time.perf_counter() - started
    log.info("quality gates %s: %s critical, %s warnings", week.id, len(report.critical), len(report.warnings))
    return report


@dataclass(frozen=True)
class _SuiteRun:
    """One suite in one gate run: the checks it runs, the basis of each verdict that may be kept (not
    the week's volume check), and those kept."""

    suite: Suite
    checks: list[Check]
    index_columns: list[str]
    bases: dict[str, verdicts.Basis]
    kept: dict[str, CheckResult]

    @property
    def left(self) -> list[Check]:
        """The checks to evaluate: those without a kept verdict."""
        return [c for c in self.checks if c.id not in self.kept]


def _prepare(con: duckdb.DuckDBPyConnection, chosen: list[Suite], ctx: SuiteContext, part: Part, keep: bool,
             skipped: list[str]) -> list[_SuiteRun]:
    """The suites with rows to judge and checks of ``part``, each with its kept verdicts (``keep``);
    the suites of empty tables go to ``skipped``.

    Each table is digested once (``verdicts.Fingerprints``), and only for the checks that judge whole
    tables: a week's volume check reads five weeks of rows, and digesting its tables would read them all.
    """
    fingerprints = verdicts.Fingerprints(con)
    runs = []
    for suite in chosen:
        columns = direct.table_columns(con, suite.table)
        if not columns or _row_count(con, suite.table) == 0:
            skipped.append(suite.name)
            continue
        checks = [c for c in suite.checks(ctx) if part == "all" or is_week_check(c) == (part == "week")]
        if not checks:
            continue
        index_columns = [c for c in suite.index_columns if c in columns]
        whole = [c for c in checks if not is_week_check(c)]
        tables = fingerprints.of(suite.tables) if whole else ""
        bases = {c.id: verdicts.basis(c, suite.table, index_columns, tables) for c in whole}
        kept = verdicts.kept(con, suite.name, suite.table, whole, bases) if keep and whole else {}
        runs.append(_SuiteRun(suite, checks, index_columns, bases, kept))
    return runs


@contextmanager
def _collecting_own_cycles() -> Iterator[None]:
    """On leaving, collect the reference cycles made inside the block — and walk nothing older.

    Great Expectations leaves reference cycles around the DuckDB cursors it was given; collected as the
    gate ends, they are freed while DuckDB is alive rather than at some later collection or as leaks
    reported at interpreter exit. A full ``gc.collect()`` walks every object of the process (GX alone
    brings some 300,000) and took about 150 ms, a quarter of the gate on 100,000 comments. Objects
    older than the block are frozen for its duration (``gc.freeze``), so the collection walks only
    what the block made (GX's own import too, on a process's first gate); ``gc.unfreeze`` hands them
    back to the collector unchanged. Freezing is process-wide: two gates in two threads at once only
    make each other's collection walk more.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.collect()
        gc.unfreeze()


def _zone(zone: str | ZoneInfo | None) -> ZoneInfo:
    if isinstance(zone, ZoneInfo):
        return zone
    if zone:
        return ZoneInfo(zone)
    from cityimage.settings import Settings

    return Settings().zone


def _row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {direct.ident(table)}").fetchall()[0][0]


def _result(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    check: Check,
    index_columns: list[str],
    outcome: GxOutcome | None,
    fallback: bool,
) -> CheckResult:
    base = dict(
        suite=suite.name, table=suite.table, check_id=check.id, expectation=check.name,
        description=check.description, severity=check.severity,
    )
    gx_error = outcome.error if outcome is not None else "no result from Great Expectations"
    if outcome is not None and gx_error is None:
        return CheckResult(
            **base, success=outcome.success, observed_value=outcome.observed,
            unexpected_count=outcome.unexpected_count, examples=outcome.examples, engine="gx",
        )
    if not fallback:
        return CheckResult(**base, success=False, observed_value=None, unexpected_count=None, examples=[],
                           engine="error", gx_error=gx_error, error="fallback disabled")
    try:
        direct_outcome = direct.run_check(con, suite.table, check, tuple(index_columns))
    except Exception as exc:
        log.warning("check %s.%s failed in GX (%s) and in DuckDB (%s)", suite.table, check.id, gx_error, exc)
        return CheckResult(**base, success=False, observed_value=None, unexpected_count=None, examples=[],
                           engine="error", gx_error=gx_error, error=f"{type(exc).__name__}: {exc}"[:500])
    log.warning("check %s.%s fell back to DuckDB: %s", suite.table, check.id, gx_error)
    return CheckResult(
        **base, success=direct_outcome.success, observed_value=direct_outcome.observed,
        unexpected_count=direct_outcome.unexpected_count, examples=direct_outcome.examples,
        engine="duckdb-fallback", gx_error=gx_error,
    )


STORED_COLUMNS = (
    "run_id", "week_id", "suite", "table_name", "expectation", "severity", "success", "observed_value",
    "unexpected_count", "examples", "message",
)


def _store(con: duckdb.DuckDBPyConnection, report: GateReport,
           judged: list[tuple[CheckResult, verdicts.Basis]]) -> None:
    """Replace this run's rows of the expectations it evaluated, for the week, in ``ops_validation_result``,
    and the verdicts it computed in ``ops_gate_verdict``, in one transaction: a retried gate replaces its
    rows, and the run's other gates (staging before the facts are built, the facts after) keep theirs.
    A kept result's row names the run that computed it.

    The rows go in as one list per column, unnested in one INSERT: ``executemany`` runs one statement
    per row and cost more (10 ms for 22 rows, 100 ms for 215) than the rest of the bookkeeping.
    """
    rows = [
        (
            report.run_id, report.week_id, r.suite, r.table, r.expectation, r.effective_severity, r.success,
            r.observed_value if isinstance(r.observed_value, str) else dumps(r.observed_value),
            r.unexpected_count,
            dumps(r.examples) if r.examples else None,
            f"[{r.engine}{f', kept from {r.kept_from}' if r.kept_from else ''}] {r.message()}",
        )
        for r in report.results
    ]
    with transaction(con):
        con.execute("DELETE FROM ops_validation_result WHERE run_id = ? AND week_id = ? AND list_contains(?, [suite, expectation])",
                    [report.run_id, report.week_id, [[r.suite, r.expectation] for r in report.results]])
        if rows:
            con.execute(
                f"INSERT INTO ops_validation_result ({', '.join(STORED_COLUMNS)}) "
                f"SELECT {', '.join('unnest(?)' for _ in STORED_COLUMNS)}",
                [list(column) for column in zip(*rows)],
            )
        verdicts.remember(con, report.run_id, judged)
