"""The weekly Prefect flow: ingest → gate staging → facts → gate facts → KPIs → publish; and a backfill.

Tasks are one per stage, never per file or row (a Prefect task costs tens of milliseconds). They
pass week ids and return small summaries; the data stays in the warehouse. Retries are set where a
retry can help (reading files from a network share, a transiently busy disk); they are safe because
every stage is idempotent by construction, not because Prefect makes it so. A backfill (or a
republication) does the work its weeks share once — ingest, gates, facts — then each week's KPIs and
publication, under one lock and with one backup, taken before the run's first write to the data.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed, State

from cityimage.settings import Settings, load_settings, unknown_variables
from cityimage.weeks import Week, week_range
from flows import runs, stages
from publish.mirror import MirrorError
from warehouse.lock import writer_lock

if TYPE_CHECKING:
    from expectations.runner import Part


class QualityGateFailed(RuntimeError):
    """A critical expectation failed: the week is not published."""


def transient_io(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only what a retry can mend: a file share or disk that failed for a moment.

    A termination, a bug or a refused file must not be retried: a SIGTERM that surfaced as an error
    would otherwise start the stage again and the run would not stop.
    """
    error = state.result(raise_on_failure=False)
    if isinstance(error, MirrorError):  # the store's own error, when it was one of I/O
        error = error.__cause__
    return isinstance(error, OSError) and not isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError))


@task(name="ingest inbox", retries=2, retry_condition_fn=transient_io, cache_policy=NO_CACHE)
def ingest_inbox(settings: Settings, backup_key: str | None = None) -> dict[str, Any]:
    """Load new inbox files; logs each refusal and quarantine, and one line per export format."""
    logger = get_run_logger()
    summary = stages.ingest(settings, backup_key=backup_key)
    by_format: dict[str, list[int]] = {}
    for outcome in summary.files:
        if outcome.status == "refused":
            logger.warning("refused %s: %s", outcome.name, outcome.message)
        elif outcome.status == "reattributed":
            logger.info("%s: loaded before from another folder; its rows now take this folder's date and account",
                        outcome.name)
        elif outcome.status == "loaded":
            if outcome.rows_quarantined:
                logger.warning("%s: %d row(s) quarantined (see stg_quarantine)", outcome.name, outcome.rows_quarantined)
            for note in (outcome.message or "").split("; "):  # the reader's notes, as the ledger joins them
                if note.startswith("schema drift"):
                    logger.warning("%s: %s", outcome.name, note)
            totals = by_format.setdefault(outcome.format or "?", [0] * 6)
            for i, figure in enumerate((1, outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined,
                                        outcome.rows_skipped, outcome.rows_duplicate)):
                totals[i] += figure
    for fmt, (files, read, loaded, quarantined, skipped, duplicate) in sorted(by_format.items()):
        logger.info("%s: %d file(s), %d rows read, %d loaded, %d quarantined, %d skipped, %d duplicate",
                    fmt, files, read, loaded, quarantined, skipped, duplicate)
    figures = {
        "files seen": len(summary.files), "loaded": summary.count("loaded"),
        "already loaded": summary.count("already_loaded"), "reattributed": summary.count("reattributed"),
        "refused": summary.count("refused"), "rows": summary.rows_loaded,
    }
    if summary.files and summary.count("already_loaded") == len(summary.files):
        logger.info("every input file (%d) was already loaded: nothing new", len(summary.files))
    else:
        logger.info("ingest: %s", figures)
    return figures


@task(name="build facts", cache_policy=NO_CACHE)
def build_facts_task(settings: Settings, backup_key: str | None = None) -> dict[str, Any]:
    result = stages.build_facts(settings, backup_key=backup_key)
    get_run_logger().info(result.line())
    return result.figures


@task(name="quality gates", cache_policy=NO_CACHE)
def validate_task(settings: Settings, week_id: str, run_id: str, layers: tuple[str, ...], part: Part = "all") -> dict[str, Any]:
    """Run the quality gates on ``layers`` (``part``: see ``run_gates``); a critical failure raises and
    nothing is published.

    Returns what the manifest records of them (``gate_record``)."""
    from expectations import run_gates

    report = run_gates(
        settings.warehouse, week_id, run_id, settings.reports / "data_docs", layers=layers, zone=settings.zone,
        part=part, reader_wait_s=settings.reader_wait_s, memory_limit=settings.duckdb_memory_limit,
    )
    create_markdown_artifact(
        key=f"quality-{week_id.lower()}-{'-'.join(layers)}-{part}", markdown=report.summary_markdown(),
        description=f"Quality gates: {', '.join(layers)} ({part})",
    )
    logger = get_run_logger()
    for warning in report.warnings:
        logger.warning("quality warning: %s", warning.message)
    for note in report.notes:
        logger.warning("quality gates: %s", note)
    if not report.passed:
        raise QualityGateFailed("; ".join(f.message for f in report.critical))
    return gate_record(report)


def gate_record(report: Any) -> dict[str, Any]:
    """One gate run as the manifest carries it: counts, warnings, and notes (e.g. Data Docs not built)."""
    return {
        "expectations": len(report.results), "passed": sum(r.success for r in report.results),
        "fallbacks": len(report.fallbacks), "warnings": [warning_record(w) for w in report.warnings],
        "notes": list(report.notes),
    }


def merge_gate_records(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The week's gates over its two runs (before and after the facts are built)."""
    return {
        "expectations": first["expectations"] + second["expectations"], "passed": first["passed"] + second["passed"],
        "fallbacks": first["fallbacks"] + second["fallbacks"], "warnings": first["warnings"] + second["warnings"],
        "notes": first["notes"] + second["notes"],
    }


def warning_record(failure: Any) -> dict[str, Any]:
    """A warning as the manifest and the report carry it: plain, JSON-ready values."""
    from expectations.report import jsonable

    return {
        "table": failure.table, "expectation": failure.expectation, "unexpected_count": failure.unexpected_count,
        "examples": jsonable(failure.examples), "message": failure.message,
    }


@task(name="compute KPIs", cache_policy=NO_CACHE)
def compute_kpis_task(settings: Settings, week_id: str, backup_key: str | None = None) -> dict[str, Any]:
    result = stages.compute_kpis(settings, Week.parse(week_id), backup_key=backup_key)
    get_run_logger().info(result.line())
    return result.figures


@task(name="check completeness", cache_policy=NO_CACHE)
def completeness_task(settings: Settings, week_id: str) -> dict[str, Any]:
    """Each account's expected exports for the week; an empty week raises ``EmptyWeek``."""
    result = stages.check_completeness(settings, Week.parse(week_id))
    logger = get_run_logger()
    for line in result.figures["missing"]:
        logger.warning("incomplete week: %s", line)
    logger.info("completeness: %s, %d export(s) expected", result.figures["status"], result.figures["expected"])
    return result.figures


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(settings: Settings, week_id: str, gates: dict[str, Any], completeness: dict[str, Any]) -> dict[str, Any]:
    result = stages.publish(settings, Week.parse(week_id), gates, completeness)
    get_run_logger().info(result.line())
    return result.figures


@task(name="mirror snapshot", retries=2, retry_condition_fn=transient_io, cache_policy=NO_CACHE)
def mirror_task(settings: Settings, week_id: str) -> dict[str, Any]:
    """Copy the published week to object storage, where one is set; a store down for a moment is retried."""
    result = stages.mirror(settings, Week.parse(week_id))
    get_run_logger().info(result.line())
    return result.figures


def _default_week(settings: Settings) -> Week:
    """The last complete week in the reporting time zone: what a Monday-morning run reports on."""
    return Week.containing(datetime.now(timezone.utc), settings.zone).shift(-1)


@flow(name="weekly-pipeline", log_prints=True)
def weekly_pipeline(week: str | None = None, ingest: bool = True) -> State:
    """Load the inbox and publish one week's KPI snapshot and report.

    Ends Completed, or Completed named ``Incomplete`` when an expected export is missing (the week is
    published and says so; an automation can match the state name, see docs/deployment.md). A week
    without any data raises ``EmptyWeek`` and nothing is published. Callers get the run's summary
    dict: Prefect unwraps the returned state (``return_state=True`` gives the state itself).
    """
    settings = load_settings()
    target = Week.parse(week) if week else _default_week(settings)
    [summary] = _run_weeks(settings, [target], ingest)
    if "refused" in summary:
        raise stages.EmptyWeek(summary["refused"])
    missing = summary["completeness"]["missing"]
    if missing:
        return Completed(data=summary, name="Incomplete", message=_incomplete(missing))
    return Completed(data=summary)


@flow(name="backfill", log_prints=True)
def backfill(first: str, last: str) -> list[dict[str, Any]]:
    """Ingest, build the facts and run the quality gates once, then publish each week from ``first`` to
    ``last`` in order.

    A week without data is refused and the backfill goes on to the next; if every week was refused,
    the backfill fails with the first refusal.
    """
    return _all_refused_fail(_run_weeks(load_settings(), week_range(Week.parse(first), Week.parse(last)), ingest=True))


@flow(name="republish", log_prints=True)
def republish(weeks: list[str]) -> list[dict[str, Any]]:
    """Gate and publish the given weeks again from the warehouse as it is (after ``cityimage rebuild``).

    Nothing is ingested; the gates and the fact build run once, then each week's completeness, KPIs and
    publication.
    """
    return _all_refused_fail(_run_weeks(load_settings(), [Week.parse(w) for w in weeks], ingest=False))


def _all_refused_fail(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    refused = [r for r in results if "refused" in r]
    if refused and len(refused) == len(results):
        raise stages.EmptyWeek(refused[0]["refused"])
    return results


def _run_weeks(settings: Settings, weeks: list[Week], ingest: bool) -> list[dict[str, Any]]:
    """The work the weeks share once — ingest, staging gates, facts, fact gates — then each week's
    completeness, KPIs and publication; under one writer lock, with one backup of the warehouse.

    One backup per flow run, taken by the first stage about to write data (``stages.before_write``),
    named after the run's last week's run id: a backfill longer than the number of backups kept can no
    longer rotate away the state it started from, and a run with nothing new, which writes no data,
    takes none. A run that starts without a warehouse has nothing to back up. Each week has its row in
    ``ops_run``; the checks that judge the tables run once (recorded under the last week's run), each
    week's volume checks with that week. ``settings`` are the run's, read once by the flow and passed
    to every task: one profile and one pack for all of its stages.
    """
    for line in unknown_variables():  # a deployment's worker environment is where a typo hides longest
        get_run_logger().warning("%s", line)
    # The profile is read here, once: the tasks get it inside the settings (Prefect copies them per task).
    get_run_logger().info("city %s, profile %s", settings.profile.city, settings.profile_file)
    run_ids = {w.id: f"{w.id}-{uuid.uuid4().hex[:8]}" for w in weeks}
    gated = weeks[-1]
    span = gated.id if len(weeks) == 1 else f"{weeks[0].id}..{gated.id}"
    backup_key = run_ids[gated.id] if settings.warehouse.is_file() else None
    with writer_lock(settings.warehouse, f"weekly pipeline {span}"):
        runs.close_interrupted(settings)
        for week in weeks:
            runs.record_run(settings, run_ids[week.id], week, "running", None, str(flow_run.get_id() or ""))
        try:
            shared, gates = _shared_stages(settings, gated, run_ids[gated.id], ingest, backup_key)
        except BaseException as exc:
            for week in weeks:
                runs.record_run(settings, run_ids[week.id], week, "failed", f"{type(exc).__name__}: {exc}")
            raise
        return [_publish_week(settings, week, run_ids[week.id], shared, gates, backup_key) for week in weeks]


def _shared_stages(settings: Settings, gated: Week, run_id: str, ingest: bool,
                   backup_key: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ingest, gate staging, build the facts, gate them: what every week of the run reads. The gates here
    are the checks that judge the tables whatever the week; each week's volumes are checked with it."""
    shared: dict[str, Any] = {}
    if ingest:
        shared["ingest"] = ingest_inbox.with_options(retry_delay_seconds=settings.retry_wait_s)(settings, backup_key)
    staged = validate_task(settings, gated.id, run_id, ("staging", "operations"), "table")
    shared["facts"] = build_facts_task(settings, backup_key)
    return shared, merge_gate_records(staged, validate_task(settings, gated.id, run_id, ("facts",), "table"))


def _publish_week(settings: Settings, week: Week, run_id: str, shared: dict[str, Any], gates: dict[str, Any],
                  backup_key: str | None) -> dict[str, Any]:
    """One week's volume checks, completeness, KPIs and publication; an empty week is recorded as refused,
    not raised. The week's gate record is the shared one and its own volumes: the same whether the week
    was run alone or in a backfill, so its manifest is too."""
    summary: dict[str, Any] = {"week": week.id, "run_id": run_id, **shared}
    try:
        gates = merge_gate_records(gates, validate_task(settings, week.id, run_id, ("staging", "facts"), "week"))
        summary["validation warnings"] = len(gates["warnings"])
        summary["completeness"] = completeness_task(settings, week.id)
        summary["kpis"] = compute_kpis_task(settings, week.id, backup_key)
        summary["publish"] = publish_task(settings, week.id, gates, summary["completeness"])
        if settings.snapshot_mirror_url:
            summary["mirror"] = _mirrored(settings, week)
    except stages.EmptyWeek as exc:
        get_run_logger().warning("%s", exc)
        runs.record_run(settings, run_id, week, "refused", f"{type(exc).__name__}: {exc}")
        return {"week": week.id, "run_id": run_id, "refused": str(exc)}
    except BaseException as exc:
        runs.record_run(settings, run_id, week, "failed", f"{type(exc).__name__}: {exc}")
        raise
    missing = summary["completeness"]["missing"]
    notes = [_incomplete(missing)] if missing else []
    if "failed" in summary.get("mirror", {}):
        notes.append(f"not copied to object storage: {summary['mirror']['failed']}")
    runs.record_run(settings, run_id, week, "incomplete" if missing else "published", "; ".join(notes) or None)
    _artifact(week, summary)
    return summary


def _mirrored(settings: Settings, week: Week) -> dict[str, Any]:
    """The copy to object storage; a failure is reported, not raised: the week is published locally."""
    try:
        return mirror_task.with_options(retry_delay_seconds=settings.retry_wait_s)(settings, week.id)
    except MirrorError as exc:
        get_run_logger().error("%s", exc)
        return {"failed": str(exc)}


def _incomplete(missing: list[str]) -> str:
    return f"incomplete: {len(missing)} expected export(s) missing: " + "; ".join(missing)


def _artifact(week: Week, summary: dict[str, Any]) -> None:
    lines = [f"# cityimage {week.id}", ""]
    for stage, figures in summary.items():
        if isinstance(figures, dict):
            lines.append(f"- **{stage}**: " + ", ".join(f"{k}: {v}" for k, v in figures.items()))
        else:
            lines.append(f"- **{stage}**: {figures}")
    create_markdown_artifact(key=f"weekly-{week.id.lower()}", markdown="\n".join(lines), description="Weekly run summary")
