"""Run the suites through Great Expectations' SQL path inside the DuckDB warehouse, and build Data Docs.

Imported only while validating (``expectations.runner.run_gates`` imports it inside the function):
importing it imports GX (seconds) and applies ``expectations.duckdb_shim``.

Connection: GX gets a SQLAlchemy engine for ``duckdb:///<warehouse>`` (duckdb-engine dialect) whose
single pooled connection is a *cursor of the runner's own DuckDB connection*. A cursor is a second
connection to the same in-process database instance, so GX works while the writer (or any caller in
this process) holds the file open — opening the file again through duckdb-engine would fail with
"Can't open a connection to same database file with a different configuration", because duckdb-engine
adds its own user-agent setting to the connection config. GX only reads.
"""

from __future__ import annotations

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
from expectations.checks import Check, unique_key_query
from expectations.direct import ident
from expectations.report import MAX_EXAMPLES, jsonable
from expectations.suites import Suite
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.row_conditions import Column

log = logging.getLogger(__name__)

DATASOURCE = "warehouse"
SITE = "cityimage"


class ExpectNoUnexpectedRows(gxe.UnexpectedRowsExpectation):
    """``UnexpectedRowsExpectation`` that also returns a few of the rows in SUMMARY results.

    Upstream returns only the count unless the result format is COMPLETE, which for the column map
    expectations of the same suite would mean returning every unexpected value.
    """

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None, execution_engine: Any = None) -> dict:
        rows = metrics["unexpected_rows_query.table"] or []
        count = metrics["unexpected_rows_query.row_count"]
        return {
            "success": count == 0,
            "result": {"observed_value": count, "details": {"unexpected_rows": jsonable(rows[:MAX_EXAMPLES])}},
        }


@dataclass(frozen=True)
class GxOutcome:
    """What GX said about one check: its verdict, or the error it raised."""

    success: bool
    unexpected_count: int | None
    observed: Any
    examples: list[Any]
    error: str | None = None


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
        kwargs={"creator": creator, "poolclass": sa.pool.StaticPool},
    )
    run = RunIdentifier(run_name=run_id, run_time=run_time or datetime.now(timezone.utc))
    try:
        for suite, checks, index_columns in plan:
            _validate_suite(context, datasource, suite, checks, index_columns, run, outcomes)
        index = None
        if data_docs_dir is not None:
            try:
                context.build_data_docs(site_names=[SITE])
                index = data_docs_dir / "index.html"
            except Exception as exc:  # the gate's verdict does not depend on the docs
                log.exception("building Data Docs failed")
                notes.append(f"Data Docs could not be built in {data_docs_dir}: {type(exc).__name__}: {exc}")
        return outcomes, index, notes
    finally:
        try:
            datasource.get_execution_engine().close()
        finally:
            datasource.get_engine().dispose()
            for wrapper in cursors:
                try:
                    wrapper.close()
                except Exception:  # already closed with the engine
                    pass


def _validate_suite(
    context: Any,
    datasource: Any,
    suite: Suite,
    checks: list[Check],
    index_columns: list[str],
    run: RunIdentifier,
    outcomes: dict[tuple[str, str], GxOutcome],
) -> None:
    expectations = []
    for check in checks:
        try:
            expectations.append(to_expectation(check, check.id))
        except Exception as exc:
            outcomes[(suite.name, check.id)] = GxOutcome(False, None, None, [], f"could not build the expectation: {_err(exc)}")
    try:
        asset = datasource.add_table_asset(suite.table, table_name=suite.table)
        batch = asset.add_batch_definition_whole_table("whole table")
        gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.name, expectations=expectations))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite.name}", data=batch, suite=gx_suite)
        )
        result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES}
        if index_columns:
            result_format["unexpected_index_column_names"] = list(index_columns)
        results = definition.run(result_format=result_format, run_id=run)
    except Exception as exc:
        log.exception("suite %s could not run in Great Expectations", suite.name)
        for check in checks:
            outcomes.setdefault((suite.name, check.id), GxOutcome(False, None, None, [], f"suite could not run: {_err(exc)}"))
        return
    for result in results.results:
        key = (result.expectation_config.meta or {}).get("check")
        if key is None:
            continue
        outcomes[(suite.name, key)] = parse_result(result)
    for check in checks:  # an expectation GX silently dropped is an error, not a pass
        outcomes.setdefault((suite.name, check.id), GxOutcome(False, None, None, [], "no result from Great Expectations"))


def parse_result(result: Any) -> GxOutcome:
    """Verdict, unexpected count, observed value and examples from one ExpectationValidationResult."""
    error = exception_message(result.exception_info)
    if error is not None:
        return GxOutcome(False, None, None, [], error)
    res = result.result or {}
    if "details" in res and "unexpected_rows" in (res.get("details") or {}):
        count = res.get("observed_value")
        observed = None if count is None else f"{count} unexpected row(s) returned by the check query"
        return GxOutcome(bool(result.success), int(count) if count is not None else None, observed,
                         list(res["details"]["unexpected_rows"])[:MAX_EXAMPLES])
    count = res.get("unexpected_count")
    if count is None and res.get("element_count") == 0:
        count = 0  # the row condition selected no rows: nothing to be unexpected
    if not res and not result.success:
        # Failed without a metric or an exception: do not trust it (the DuckDB hazard looked like this).
        return GxOutcome(False, None, None, [], "Great Expectations returned no metrics for this expectation")
    examples = res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or []
    if count is not None:
        element = res.get("element_count")
        observed: Any = f"{count} of {element} rows unexpected" if element is not None else f"{count} unexpected"
    else:
        observed = res.get("observed_value")
    return GxOutcome(bool(result.success), None if count is None else int(count), jsonable(observed),
                     jsonable(list(examples)[:MAX_EXAMPLES]))


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
