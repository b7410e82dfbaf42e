"""Run the suites through Great Expectations' SQL path inside the DuckDB warehouse, and build Data Docs.

Imported only while validating (``expectations.runner.run_gates`` imports it inside the function):
importing it imports GX (seconds) and applies ``expectations.duckdb_shim``.

Connection: GX gets a SQLAlchemy engine for ``duckdb:///<warehouse>`` (duckdb-engine dialect) whose
single pooled connection is a *cursor of the runner's own DuckDB connection*. A cursor is a second
connection to the same in-process database instance, so GX works while the writer (or any caller in
this process) holds the file open — opening the file again through duckdb-engine would fail with
"Can't open a connection to same database file with a different configuration", because duckdb-engine
adds its own user-agent setting to the connection config. GX only reads.

Two passes, both through GX. Each suite is validated first in ``BOOLEAN_ONLY`` result format: the
verdicts, from one aggregate query per row condition plus one count per query check. Only the
expectations that failed are validated again, in ``SUMMARY`` format, for their counts and example
rows, and those results replace the verdicts (in the outcomes and in the stored result the Data Docs
show). Asking every expectation for examples up front (``SUMMARY`` for all) costs two more queries
per expectation — a full scan each when nothing is wrong — and was most of a clean week's validation
time; ``BASIC`` still costs one (its partial list of unexpected values). The price: a passing
expectation is recorded as ``0 unexpected``, without the number of rows it looked at, and shows no
observed value in the Data Docs.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import duckdb
import duckdb_engine
import sqlalchemy as sa

import expectations.duckdb_shim  # noqa: F401  (applies the patches)
import great_expectations as gx
import great_expectations.expectations as gxe
from cityimage.atomic import write_bytes_atomic
from expectations.checks import Check, unique_key_query
from expectations.direct import ident
from expectations.report import MAX_EXAMPLES, jsonable
from expectations.suites import Suite
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.core.result_format import ResultFormat
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.data_context.context_factory import project_manager
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.expectations.row_conditions import Column

log = logging.getLogger(__name__)

DATASOURCE = "warehouse"
SITE = "cityimage"
ROWS_METRIC = "unexpected_rows_query.table"
# The verdict pass, then the failed expectations again for their counts and examples (see the module doc).
VERDICT_FORMAT: dict[str, Any] = {"result_format": ResultFormat.BOOLEAN_ONLY.value}
EXAMPLES_FORMAT: dict[str, Any] = {
    "result_format": ResultFormat.SUMMARY.value, "partial_unexpected_count": MAX_EXAMPLES,
}


class ExpectNoUnexpectedRows(gxe.UnexpectedRowsExpectation):
    """``UnexpectedRowsExpectation`` that returns a few rows in SUMMARY results and queries once otherwise.

    Upstream returns the rows only in COMPLETE results, which for the column map expectations of the
    same suite would mean returning every unexpected value; and it runs the query twice whatever the
    format (once for the count, once for the rows). Here the rows are fetched only when they are shown:
    in BOOLEAN_ONLY and BASIC results the query runs once, as a count.
    """

    def get_validation_dependencies(
        self, execution_engine: Any = None, runtime_configuration: dict | None = None
    ) -> Any:
        dependencies = super().get_validation_dependencies(execution_engine, runtime_configuration)
        if dependencies.result_format["result_format"] in (ResultFormat.BOOLEAN_ONLY, ResultFormat.BASIC):
            dependencies.remove_metric_configuration(ROWS_METRIC)
        return dependencies

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None, execution_engine: Any = None) -> dict:
        count = metrics["unexpected_rows_query.row_count"]
        result: dict[str, Any] = {"observed_value": count}
        if ROWS_METRIC in metrics:
            result["details"] = {"unexpected_rows": jsonable((metrics[ROWS_METRIC] or [])[:MAX_EXAMPLES])}
        return {"success": count == 0, "result": result}


@dataclass(frozen=True)
class GxOutcome:
    """What GX said about one check: its verdict, or the error it raised."""

    success: bool
    unexpected_count: int | None
    observed: Any
    examples: list[Any]
    error: str | None = None

    @classmethod
    def errored(cls, error: str) -> GxOutcome:
        """No verdict: GX raised (or gave nothing), so the caller falls back to DuckDB for this check."""
        return cls(False, None, None, [], error)


def to_expectation(check: Check, check_key: str) -> gxe.Expectation:
    """The GX expectation for a check, carrying its severity and id (in ``meta``) back to the results."""
    common: dict[str, Any] = {
        "severity": check.severity,
        "description": f"[{check.severity}] {check.description}",
        "meta": {"check": check_key, "severity": check.severity},
    }
    p = check.params
    if check.kind == "not_null":
        if p.get("unless"):
            common["row_condition"] = Column(p["unless"]).is_null()
        return gxe.ExpectColumnValuesToNotBeNull(column=check.columns[0], **common)
    if check.kind == "unique":
        if len(check.columns) == 1:
            return gxe.ExpectColumnValuesToBeUnique(column=check.columns[0], **common)
        return ExpectNoUnexpectedRows(unexpected_rows_query=unique_key_query(check.columns, ident), **common)
    if check.kind == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(column=check.columns[0], value_set=list(p["values"]), **common)
    if check.kind == "between":
        return gxe.ExpectColumnValuesToBeBetween(
            column=check.columns[0], min_value=p.get("min"), max_value=p.get("max"), **common
        )
    if check.kind == "regex":
        extra: dict[str, Any] = {}
        if p.get("where"):
            column, value = p["where"]
            extra["row_condition"] = Column(column) == value
        return gxe.ExpectColumnValuesToMatchRegex(column=check.columns[0], regex=p["regex"], **extra, **common)
    if check.kind == "a_ge_b":
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=check.columns[0], column_B=check.columns[1], or_equal=True,
            ignore_row_if="either_value_is_missing", **common,
        )
    if check.kind == "no_rows":
        return ExpectNoUnexpectedRows(unexpected_rows_query=p["query"], **common)
    raise ValueError(f"no Great Expectations expectation for check kind {check.kind!r}")


def validate(
    con: duckdb.DuckDBPyConnection,
    warehouse: Path,
    plan: Iterable[tuple[Suite, list[Check], list[str]]],
    run_id: str,
    data_docs_dir: Path | None,
    run_time: datetime | None = None,
) -> tuple[dict[tuple[str, str], GxOutcome], Path | None, list[str]]:
    """Validate each (suite, checks, index columns) in GX; returns outcomes by (suite, check id).

    A check whose expectation cannot be built, or whose suite cannot run at all, gets an outcome with
    ``error`` set, so the caller can fall back to DuckDB for it. Returns the Data Docs index (or None)
    and notes about anything that went wrong outside single expectations.
    """
    outcomes: dict[tuple[str, str], GxOutcome] = {}
    notes: list[str] = []
    cursors: list[Any] = []

    def creator() -> Any:
        wrapper = duckdb_engine.ConnectionWrapper(con.cursor())
        cursors.append(wrapper)
        return wrapper

    sites = {}
    if data_docs_dir is not None:
        data_docs_dir = data_docs_dir.resolve()  # GX refuses a relative base_directory without a project root
        data_docs_dir.mkdir(parents=True, exist_ok=True)
        sites[SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    # In memory: suites, results and the datasource live for this run only; the record of a run is
    # ops_validation_result and the Data Docs folder.
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites=sites,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            analytics_enabled=False,
        ),
    )
    datasource = context.data_sources.add_sql(
        DATASOURCE,
        connection_string=f"duckdb:///{warehouse.resolve()}",
        # GX's stub of add_sql (sources.pyi) omits SQLDatasource's documented `kwargs` field.
        kwargs={"creator": creator, "poolclass": sa.pool.StaticPool},  # type: ignore[call-arg]
    )
    run = RunIdentifier(run_name=run_id, run_time=run_time or datetime.now(timezone.utc))
    try:
        verdicts = {}
        for suite, checks, index_columns in plan:
            verdicts[suite.name] = _validate_suite(context, datasource, suite, checks, index_columns, run, outcomes)
        index = None
        if data_docs_dir is not None:
            try:
                context.build_data_docs(site_names=[SITE])
                index = write_offline_index(data_docs_dir, run_id, verdicts)
            except Exception as exc:  # the gate's verdict does not depend on the docs
                log.warning("building Data Docs in %s failed: %s", data_docs_dir, _err(exc))
                notes.append(f"Data Docs could not be built in {data_docs_dir}: {_err(exc)}")
        return outcomes, index, notes
    finally:
        _release(datasource, cursors)


def write_offline_index(data_docs_dir: Path, run_id: str, verdicts: dict[str, bool | None]) -> Path:
    """Write ``run.html``: this run's suites, their verdicts and links to their pages, in plain HTML.

    GX's own ``index.html`` draws its table with jQuery and bootstrap-table loaded from CDNs, so offline
    (or behind a strict proxy) it is an empty page; the suite pages themselves are plain HTML and read
    fine unstyled. This page needs nothing from the network. ``None``: the suite could not run in GX.
    """
    rows = []
    for suite, success in sorted(verdicts.items()):
        pages = sorted((data_docs_dir / "validations" / suite / run_id).rglob("*.html"))
        link = (f'<a href="{html.escape(pages[-1].relative_to(data_docs_dir).as_posix())}">{html.escape(suite)}</a>'
                if pages else html.escape(suite))
        verdict = {True: "passed", False: "failed", None: "not run in Great Expectations"}[success]
        rows.append(f"<tr><td>{link}</td><td>{verdict}</td></tr>")
    page = data_docs_dir / "run.html"
    text = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Quality gates, run {html.escape(run_id)}</title>"
        "<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem}td,th{padding:.2rem .8rem;text-align:left}</style>"
        f"</head><body><h1>Quality gates, run {html.escape(run_id)}</h1>"
        "<p>One row per expectation suite validated in this run; each links to its Great Expectations page.</p>"
        "<table><thead><tr><th>Suite</th><th>Verdict</th></tr></thead><tbody>"
        + "".join(rows) + "</tbody></table></body></html>\n"
    )
    return write_bytes_atomic(page, text.encode("utf-8"))


def _release(datasource: Any, cursors: list[Any]) -> None:
    """Close what GX opened and drop every reference the run leaves behind, so its objects can be freed.

    GX keeps the last context in a module-level ``project_manager``; cleared, the context, its datasource
    and the SQLAlchemy engine become garbage as soon as ``validate`` returns (the runner collects it).
    """
    try:
        datasource.get_execution_engine().close()
    finally:
        datasource.get_engine().dispose()
        project_manager.set_project(None)
        for wrapper in cursors:
            try:
                wrapper.close()
            except Exception:  # already closed with the engine
                pass
        cursors.clear()


def _validate_suite(
    context: Any,
    datasource: Any,
    suite: Suite,
    checks: list[Check],
    index_columns: list[str],
    run: RunIdentifier,
    outcomes: dict[tuple[str, str], GxOutcome],
) -> bool | None:
    """Validate one suite — verdicts, then the failed checks for examples — and record each check's outcome.

    Returns the suite's verdict in GX, or None when the suite could not run there."""
    expectations = []
    for check in checks:
        try:
            expectations.append(to_expectation(check, check.id))
        except Exception as exc:
            outcomes[(suite.name, check.id)] = GxOutcome.errored(f"could not build the expectation: {_err(exc)}")
    try:
        asset = datasource.add_table_asset(suite.table, table_name=suite.table)
        batch = asset.add_batch_definition_whole_table("whole table")
        gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.name, expectations=expectations))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
        )
        results = definition.run(result_format=VERDICT_FORMAT, run_id=run)
    except Exception as exc:
        log.exception("suite %s could not run in Great Expectations", suite.name)
        for check in checks:
            outcomes.setdefault((suite.name, check.id), GxOutcome.errored(f"suite could not run: {_err(exc)}"))
        return None
    failed_keys = _failed_keys(results)
    failed = [c for c in checks if c.id in failed_keys]
    if failed:
        try:
            _detail_failures(context, batch, results, failed, index_columns, run)
        except Exception as exc:  # the failed checks fall back to DuckDB, which gives counts and examples too
            log.exception("suite %s: GX could not detail the failed expectations", suite.name)
            for check in failed:
                outcomes[(suite.name, check.id)] = GxOutcome.errored(f"examples could not be fetched: {_err(exc)}")
    for result in results.results:
        key = _check_key(result)
        if key is not None:
            outcomes.setdefault((suite.name, key), parse_result(result))
    for check in checks:  # an expectation GX silently dropped is an error, not a pass
        outcomes.setdefault((suite.name, check.id), GxOutcome.errored("no result from Great Expectations"))
    return bool(results.success)


def _failed_keys(results: ExpectationSuiteValidationResult) -> set[str | None]:
    """Checks that failed with a verdict; those that raised are left to the fallback."""
    return {
        _check_key(r) for r in results.results if not r.success and exception_message(r.exception_info) is None
    }


def _detail_failures(
    context: Any,
    batch: Any,
    results: ExpectationSuiteValidationResult,
    failed: list[Check],
    index_columns: list[str],
    run: RunIdentifier,
) -> None:
    """Validate the failed checks again in SUMMARY format and put those results in place of their verdicts.

    The merged result replaces the stored one, so the suite's Data Docs page shows the examples.
    """
    result_format = dict(EXAMPLES_FORMAT)
    if index_columns:
        result_format["unexpected_index_column_names"] = list(index_columns)
    again = gx.ExpectationSuite(name=results.suite_name, expectations=[to_expectation(c, c.id) for c in failed])
    rerun = batch.get_batch().validate(again, result_format=result_format)
    detailed = {_check_key(r): r for r in rerun.results}
    results.results = [detailed.get(_check_key(r), r) for r in results.results]
    identifier = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=results.suite_name),
        run_id=run,
        batch_identifier=results.batch_id,
    )
    context.validation_results_store.store_validation_results(results, identifier)


def _check_key(result: ExpectationValidationResult) -> str | None:
    config = result.expectation_config
    return (config.meta or {}).get("check") if config is not None else None


def parse_result(result: Any) -> GxOutcome:
    """Verdict, unexpected count, observed value and examples from one ExpectationValidationResult."""
    error = exception_message(result.exception_info)
    if error is not None:
        return GxOutcome.errored(error)
    res = result.result or {}
    query_check = result.expectation_config.type == ExpectNoUnexpectedRows.expectation_type
    if not res:
        if not result.success:
            # Failed without a metric or an exception: do not trust it (the DuckDB hazard looked like this).
            return GxOutcome.errored("Great Expectations returned no metrics for this expectation")
        # A pass from the verdict pass: the checks declare no `mostly`, so no row was unexpected.
        return GxOutcome(True, 0, _observed(0, None, query_check), [])
    if query_check:
        count = res.get("observed_value")
        rows = (res.get("details") or {}).get("unexpected_rows") or []
        return GxOutcome(bool(result.success), None if count is None else int(count),
                         None if count is None else _observed(count, None, True), list(rows)[:MAX_EXAMPLES])
    count, element_count = res.get("unexpected_count"), res.get("element_count")
    if count is None and element_count == 0:
        count = 0  # the row condition selected no rows: nothing to be unexpected
    examples = res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or []
    observed = res.get("observed_value") if count is None else _observed(count, element_count, False)
    return GxOutcome(bool(result.success), None if count is None else int(count), jsonable(observed),
                     jsonable(list(examples)[:MAX_EXAMPLES]))


def _observed(count: int, element_count: int | None, query_check: bool) -> str:
    """The observed value as stored, e.g. ``1 of 3 rows unexpected`` (the words of ``direct.Outcome``)."""
    if query_check:
        return f"{count} unexpected row(s) returned by the check query"
    if element_count is None:
        return f"{count} unexpected"
    return f"{count} of {element_count} rows unexpected"


def exception_message(info: Any) -> str | None:
    """GX's exception_info is either one dict or a dict of dicts keyed by metric id."""
    if not info:
        return None
    if isinstance(info, dict) and "raised_exception" in info:
        if not info.get("raised_exception"):
            return None
        return info.get("exception_message") or "exception"
    messages = [
        v.get("exception_message") or "exception"
        for v in info.values()
        if isinstance(v, dict) and v.get("raised_exception", True)
    ]
    return "; ".join(dict.fromkeys(messages)) or None


def _err(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:500]
