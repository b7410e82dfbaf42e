"""The weekly pipeline's stages as plain functions of settings and a week id.

Prefect tasks in ``flows/weekly.py`` wrap these one to one; keeping them free of Prefect lets the
benchmark measure the orchestrator's overhead and lets the CLI's ``ingest`` and ``validate`` run a
stage alone. Each stage opens the warehouse itself: stages pass paths and week ids, never frames or
connections.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from cityimage import __version__
from cityimage.faults import fault
from cityimage.profile import load_profile
from cityimage.settings import Settings
from cityimage.weeks import Week
from transforms.model import FACT_TABLES, Facts
from warehouse.city import check_city
from warehouse.connection import insert_frame, open_writer
from warehouse.deliveries import deliveries, week_files, week_rows
from warehouse.extracts import WEEK_EXTRACTS, extract_query
from warehouse.ingest import IngestContext, LoadSummary, ingest_paths
from warehouse.transaction import transaction

@dataclass(frozen=True)
class StageResult:
    """What a stage reports to its caller and to the run's Prefect artifact."""

    stage: str
    figures: dict[str, Any]

    def line(self) -> str:
        return f"{self.stage}: " + ", ".join(f"{k} {v}" for k, v in self.figures.items())


def ingest(settings: Settings, paths: list[Path] | None = None, progress: Callable[[str], None] | None = None) -> LoadSummary:
    """Load every new file of the inbox (or the given paths) into staging."""
    ctx = ingest_context(settings)
    targets = paths if paths is not None else [settings.inbox]
    if paths is None and not settings.inbox.is_dir():
        raise FileNotFoundError(f"inbox {settings.inbox} does not exist (setting inbox_path / CITYIMAGE_INBOX_PATH)")
    with open_writer(settings.warehouse, "ingest", settings.reader_wait_s) as con:
        return ingest_paths(con, targets, ctx, progress)


def ingest_context(settings: Settings) -> IngestContext:
    """What loading needs from the settings; the serial and the parallel ingest share it."""
    return IngestContext(
        profile=load_profile(settings.profile_path),
        author_key=settings.require_author_key(),
        max_archive_bytes=settings.max_archive_bytes,
        max_archive_ratio=settings.max_archive_ratio,
        trust_file_stat=settings.trust_file_stat,
        batch_files=settings.ingest_batch_files,
        batch_bytes=settings.ingest_batch_bytes,
        follow_links=settings.follow_inbox_links,
        max_file_bytes=settings.max_file_bytes,
    )


def build_facts(settings: Settings, full: bool = False) -> StageResult:
    """Bring every fact and dimension table up to date with staging (``warehouse.facts``).

    Incremental: only what the loads not yet built touched is rebuilt, and only texts not seen before
    are classified; ``full`` (or a change of what decides the facts) rebuilds every key. DuckDB works
    within ``settings.duckdb_memory_limit`` and spills beyond it, so memory is bounded whatever the history.
    """
    from transforms.classify import load_lexicons
    from transforms.facts import account_keys, classifiers
    from warehouse import facts

    profile = load_profile(settings.profile_path)
    with open_writer(settings.warehouse, "build facts", settings.reader_wait_s) as con:
        check_city(con, profile)
        with _memory_limit(con, settings.duckdb_memory_limit):
            result = facts.build(con, account_keys(profile), settings.zone.key, classifiers(load_lexicons(), profile), full)
    fault("after_facts")
    return StageResult("facts", {"mode": result.mode, "new loads": result.new_loads, "posts rebuilt": result.posts,
                                 "comments rebuilt": result.comments, "post texts classified": result.classified_posts,
                                 "comment texts classified": result.classified_texts} | result.rows)


@contextmanager
def _memory_limit(con: duckdb.DuckDBPyConnection, limit: str) -> Iterator[None]:
    """DuckDB spills to disk beyond ``limit`` for the duration (it would otherwise take most of the RAM)."""
    con.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        con.execute("RESET memory_limit")


class EmptyWeek(RuntimeError):
    """The week holds no data at all (no post, comment, account day or search window): nothing is published."""


def check_completeness(settings: Settings, week: Week) -> StageResult:
    """Whether the week received every export its accounts declare; refuses a week without any data.

    Figures: ``status`` (complete or incomplete), ``expected``, ``missing`` (one sentence per export).
    """
    from transforms.completeness import EXPECTED_SCHEMA, missing_exports, week_completeness

    profile = load_profile(settings.profile_path)
    expected = pl.DataFrame(
        [(a.platform, a.handle, a.role, e.format, e.every_weeks) for a in profile.accounts for e in a.exports],
        schema=EXPECTED_SCHEMA, orient="row")
    with open_writer(settings.warehouse, "check completeness", settings.reader_wait_s) as con:
        rows = week_rows(con, week, settings.zone)
        delivered = deliveries(con)
    if not any(rows.values()):
        raise EmptyWeek(f"week {week.id} ({week.monday} to {week.sunday}) holds no post, comment, account day or "
                        "search window: nothing is published. Drop that week's exports in the inbox and run again.")
    missing = missing_exports(week_completeness(expected, delivered, week.monday))
    return StageResult("completeness", {"status": "incomplete" if missing else "complete",
                                        "expected": expected.height, "missing": missing, "rows": rows})


def compute_kpis(settings: Settings, week: Week, force: bool = False) -> StageResult:
    """The week's KPIs from the facts, replacing that week's rows of ``kpi_weekly``.

    The week's rows are kept when they were computed from the same fact build with the same
    definitions (``ops_kpi_computation``): recomputing them reads a year of facts and gives the same
    rows. ``force`` recomputes anyway.
    """
    from transforms.kpis import compute_kpis as compute
    from transforms.kpis import definition_digest

    profile = load_profile(settings.profile_path)
    keywords = [(k.keyword, k.region) for k in profile.search_keywords]
    digest = definition_digest(settings.zone, keywords)
    with open_writer(settings.warehouse, "compute KPIs", settings.reader_wait_s) as con:
        check_city(con, profile)
        build_id = last_fact_build(con)
        kept = None if force else kept_kpis(con, week, build_id, digest)
        if kept is not None:
            return StageResult("kpis", kept)
        facts = Facts(**{name: read_table(con, name) for name in FACT_TABLES if name != "fct_comment"},
                      fct_comment=week_comments(con, week, settings.zone))
        kpis = compute(facts, week, settings.zone, keywords)
        with transaction(con):
            con.execute("DELETE FROM kpi_weekly WHERE week_id = ?", [week.id])
            insert_frame(con, "kpi_weekly", kpis)
            con.execute("DELETE FROM ops_kpi_computation WHERE week_id = ?", [week.id])
            con.execute("INSERT INTO ops_kpi_computation VALUES (?, ?, ?, now(), ?)", [week.id, build_id, digest, kpis.height])
    return StageResult("kpis", {"rows": kpis.height, "absent": kpis.filter(pl.col("status") == "absent").height})


def last_fact_build(con: duckdb.DuckDBPyConnection) -> str | None:
    """The last fact build that changed the facts, or None before the first."""
    last = con.execute("SELECT build_id FROM ops_fact_build ORDER BY finished_at DESC LIMIT 1").fetchall()
    return last[0][0] if last else None


def kept_kpis(con: duckdb.DuckDBPyConnection, week: Week, build_id: str | None, digest: str) -> dict[str, Any] | None:
    """The figures of the week's KPI rows when they came from this fact build and these definitions, else None."""
    rows = con.execute(
        "SELECT c.computed_at, count(k.kpi_id), count(k.kpi_id) FILTER (WHERE k.status = 'absent') "
        "FROM ops_kpi_computation c LEFT JOIN kpi_weekly k ON k.week_id = c.week_id "
        "WHERE c.week_id = $1 AND c.build_id IS NOT DISTINCT FROM $2 AND c.fingerprint = $3 "
        "GROUP BY c.computed_at, c.kpi_rows HAVING count(k.kpi_id) = c.kpi_rows",
        [week.id, build_id, digest],
    ).fetchall()
    if not rows:
        return None
    computed_at, count, absent = rows[0]
    return {"rows": count, "absent": absent, "kept": f"unchanged since {computed_at:%Y-%m-%d %H:%M %Z}: same facts, same definitions"}


def week_comments(con: duckdb.DuckDBPyConnection, week: Week, zone: ZoneInfo) -> pl.DataFrame:
    """The comments a week's KPIs can look at: created in the week, or undated and labelled with it.

    The KPIs select the same rows again (``Context._week_filter``); reading only these keeps the
    KPI stage's memory at one week of comments instead of the whole history, the largest table.
    """
    start, end = week.bounds_utc(zone)
    return _relabel_utc(con.sql(
        "SELECT * FROM fct_comment WHERE (created_at >= $1 AND created_at < $2) OR (created_at IS NULL AND created_week = $3)",
        params=[start, end, week.id],
    ).pl())


def read_table(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    """A whole table as Polars, timestamps relabelled ``UTC``."""
    return _relabel_utc(con.sql(f"SELECT * FROM {table}").pl())


def _relabel_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Timestamps relabelled ``UTC``: DuckDB hands them over as ``Etc/UTC``, the transforms compare with ``UTC``."""
    return frame.with_columns(
        [pl.col(c).dt.convert_time_zone("UTC") for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    )


def publish(settings: Settings, week: Week, gates: dict[str, Any] | None = None,
            completeness: dict[str, Any] | None = None) -> StageResult:
    """Write the week's snapshot and manifest, then its report and the index across weeks.

    ``gates``: what the quality gates found (``flows.weekly.gate_record``); ``completeness``: the
    figures of ``check_completeness``. An incomplete week says so in its manifest.
    """
    from publish.snapshot import publish_week

    profile = load_profile(settings.profile_path)
    with open_writer(settings.warehouse, "publish", settings.reader_wait_s) as con:
        check_city(con, profile)
        tables = week_tables(con, week)
        manifest = {"city": {"key": profile.key, "name": profile.city}} | build_manifest(
            con, week, settings.zone, gates, completeness)
    path = publish_week(settings.snapshots, week.id, tables, manifest)
    report = write_reports(settings, week)
    return StageResult("publish", {"manifest": str(path), "report": str(report), "kpi rows": tables["kpi_weekly"].height})


def mirror(settings: Settings, week: Week) -> StageResult:
    """Copy the published week to ``snapshot_mirror_url`` (``publish.mirror``); nothing when none is set."""
    from publish.mirror import mirror_week

    if not settings.snapshot_mirror_url:
        return StageResult("mirror", {"objects": 0})
    written = mirror_week(settings.snapshots, week.id, settings.snapshot_mirror_url)
    return StageResult("mirror", {"objects": len(written), "to": settings.snapshot_mirror_url.split("?", 1)[0]})


def week_tables(con: duckdb.DuckDBPyConnection, week: Week) -> dict[str, pl.DataFrame]:
    """The KPI rows and fact extracts of one week (``warehouse.extracts``), sorted for byte-stable Parquet."""
    tables = {}
    for table in WEEK_EXTRACTS:
        query, params = extract_query(table, week.id, week.monday, week.sunday)
        tables[table] = con.sql(query, params=params).pl()
    return tables


def build_manifest(con: duckdb.DuckDBPyConnection, week: Week, zone: ZoneInfo, gates: dict[str, Any] | None = None,
                   completeness: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the snapshot was made from: code and lexicon versions, input files by hash (``in_week``:
    the file holds rows dated in the week), what the gates found, and whether the week received every
    expected export (``completeness``: status and missing exports)."""
    from transforms.classify import load_lexicons

    gates = gates or {}
    in_week = week_files(con, week, zone)
    inputs = con.sql(
        "SELECT file_sha256, file_name, detected_format, rows_read, rows_loaded, rows_quarantined, rows_skipped, rows_duplicate "
        "FROM ops_file_ledger WHERE status = 'loaded' ORDER BY file_sha256"
    ).pl()
    warnings = gates.get("warnings", [])
    return {
        "code_version": code_version(),
        "lexicon_version": load_lexicons().version,
        "inputs": [row | {"in_week": row["file_sha256"] in in_week} for row in inputs.to_dicts()],
        "validation": {key: gates.get(key, 0) for key in ("expectations", "passed", "fallbacks")}
                      | {"notes": list(gates.get("notes", []))},
        "validation_warnings": sorted(warnings, key=lambda w: json.dumps(w, sort_keys=True, default=str)),
        "classifier_report": classifier_report(con),
        "classifier_public": classifier_public(),
        "completeness": ({"status": completeness["status"], "missing": list(completeness["missing"])}
                         if completeness else {"status": "not checked", "missing": []}),
    }


def classifier_public() -> list[dict[str, Any]]:
    """The comment models' out-of-fold figures on the public labelled sets, with 95 % intervals.

    Measured once by ``cityimage train`` (``transforms/models/evaluation.json``), not at each publish.
    """
    from transforms.evaluate import public_figures

    return public_figures().to_dicts()


def classifier_report(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Precision and recall of each classifier on the project's own labelled holdout rows.

    A smoke test (the rows were written here), published with each snapshot beside the public figures.
    Measured once per classifier version and holdout set (``ops_classifier_report``): it takes seconds
    and depends on nothing the week brings.
    """
    from transforms.evaluate import evaluate, report_key

    key = report_key()
    stored = con.execute("SELECT report_json FROM ops_classifier_report WHERE report_key = ?", [key]).fetchall()
    if stored:
        return json.loads(stored[0][0])
    report = evaluate(split="holdout").to_dicts()
    with transaction(con):
        con.execute("INSERT INTO ops_classifier_report VALUES (?, ?, now())", [key, json.dumps(report)])
    return report


def code_version() -> str:
    """The package version, plus the commit when running from a checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__


def write_reports(settings: Settings, week: Week) -> Path:
    """Render the week's report and the index from the published snapshots."""
    from publish.reporting import write_week_report

    fault("during_report")
    return write_week_report(settings, week)


def record_run(settings: Settings, run_id: str, week: Week, status: str, message: str | None, flow_run_id: str | None = None) -> None:
    """Upsert the run's row in ``ops_run`` so `cityimage status` can show it."""
    now = datetime.now(timezone.utc)
    with open_writer(settings.warehouse, "record run", settings.reader_wait_s) as con:
        con.execute(
            "INSERT INTO ops_run (run_id, week_id, flow_run_id, started_at, status, message) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, message = excluded.message, finished_at = ?",
            [run_id, week.id, flow_run_id, now, status, message, now if status != "running" else None],
        )


def close_interrupted(settings: Settings, why: str | None = None, since: datetime | None = None) -> int:
    """Mark runs and loads left ``running`` by a killed process as ``interrupted``; returns how many.

    Called under the writer lock, so nothing else can be running: a ``running`` row is a crash's trace.
    Their data needs no repair (each batch of files and each stage's swap is one transaction). With
    ``since`` (a supervised run stopped by a signal, ``cityimage.supervise``), the runs it started that
    ended ``failed`` on the way down are interrupted too, and ``why`` says by what.
    """
    if not settings.warehouse.is_file():
        return 0
    now = datetime.now(timezone.utc)
    why = why or "the process ended without finishing (killed or power cut); the next run redid its work"
    stopped = "status = 'running'" if since is None else "(status = 'running' OR (status = 'failed' AND started_at >= $since))"
    with open_writer(settings.warehouse, "close interrupted runs", settings.reader_wait_s) as con:
        runs = con.execute(
            f"UPDATE ops_run SET status = 'interrupted', finished_at = $now, "
            f"message = CASE WHEN status = 'failed' THEN $why ELSE coalesce(message, $why) END WHERE {stopped}",
            {"now": now, "why": why} | ({"since": since} if since else {})).fetchall()
        loads = con.execute(
            "UPDATE ops_load SET status = 'interrupted', finished_at = ? WHERE status = 'running'", [now]).fetchall()
    return int(runs[0][0] if runs else 0) + int(loads[0][0] if loads else 0)
