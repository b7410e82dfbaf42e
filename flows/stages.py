"""The weekly pipeline's stages as plain functions of settings and a week id.

Prefect tasks in ``flows/weekly.py`` wrap these one to one; keeping them free of Prefect lets the
benchmark measure the orchestrator's overhead and lets the CLI's ``ingest`` and ``validate`` run a
stage alone. Each stage opens the warehouse itself: stages pass paths and week ids, never frames or
connections.
"""

from __future__ import annotations

import json
import subprocess
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
from readers.entities import ENTITIES
from transforms.model import FACT_TABLES, Facts
from warehouse.connection import open_writer
from warehouse.ingest import IngestContext, LoadSummary, ingest_paths

# Extracts of the week published beside the KPIs, with the column that puts a row in a week.
WEEK_EXTRACTS = {"fct_post": "published_week", "fct_comment": "created_week", "fct_mention": "published_week"}


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
    with open_writer(settings.warehouse, "ingest") as con:
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
    )


def build_facts(settings: Settings) -> StageResult:
    """Rebuild every fact and dimension table from staging, replacing them in one transaction."""
    from transforms.classify import load_lexicons
    from transforms.facts import Staging, build_facts as build

    profile = load_profile(settings.profile_path)
    with open_writer(settings.warehouse, "build facts") as con:
        staging = Staging(**{name: read_table(con, entity.table) for name, entity in ENTITIES.items()})
        facts = build(staging, profile, load_lexicons(), settings.zone)
        replace_tables(con, {name: getattr(facts, name) for name in FACT_TABLES})
    fault("after_facts")
    return StageResult("facts", {name: getattr(facts, name).height for name in FACT_TABLES})


def compute_kpis(settings: Settings, week: Week) -> StageResult:
    """The week's KPIs from the facts, replacing that week's rows of ``kpi_weekly``."""
    from transforms.kpis import compute_kpis as compute

    profile = load_profile(settings.profile_path)
    keywords = [(k.keyword, k.region) for k in profile.search_keywords]
    with open_writer(settings.warehouse, "compute KPIs") as con:
        facts = Facts(**{name: read_table(con, name) for name in FACT_TABLES if name != "fct_comment"},
                      fct_comment=week_comments(con, week, settings.zone))
        kpis = compute(facts, week, settings.zone, keywords)
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM kpi_weekly WHERE week_id = ?", [week.id])
        con.register("__kpis", kpis)
        con.execute("INSERT INTO kpi_weekly BY NAME SELECT * FROM __kpis")
        con.unregister("__kpis")
        con.execute("COMMIT")
    return StageResult("kpis", {"rows": kpis.height, "absent": kpis.filter(pl.col("status") == "absent").height})


def week_comments(con: duckdb.DuckDBPyConnection, week: Week, zone: ZoneInfo) -> pl.DataFrame:
    """The comments a week's KPIs can look at: created in the week, or undated and labelled with it.

    The KPIs select the same rows again (``Context._week_filter``); reading only these keeps the
    KPI stage's memory at one week of comments instead of the whole history, the largest table.
    """
    start, end = week.bounds_utc(zone)
    frame = con.sql(
        "SELECT * FROM fct_comment WHERE (created_at >= $1 AND created_at < $2) OR (created_at IS NULL AND created_week = $3)",
        params=[start, end, week.id],
    ).pl()
    return frame.with_columns(
        [pl.col(c).dt.convert_time_zone("UTC") for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    )


def read_table(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    """A whole table as Polars, timestamps relabelled ``UTC`` (DuckDB hands them over as ``Etc/UTC``)."""
    frame = con.sql(f"SELECT * FROM {table}").pl()
    return frame.with_columns(
        [pl.col(c).dt.convert_time_zone("UTC") for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    )


def replace_tables(con: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame]) -> None:
    """Swap the contents of several tables at once: readers see all old or all new."""
    con.execute("BEGIN TRANSACTION")
    try:
        for name, frame in tables.items():
            con.execute(f"DELETE FROM {name}")
            con.register("__frame", frame)
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM __frame")
            con.unregister("__frame")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def publish(settings: Settings, week: Week, warnings: list[dict[str, Any]]) -> StageResult:
    """Write the week's snapshot and manifest, then its report and the index across weeks."""
    from publish.snapshot import publish_week

    with open_writer(settings.warehouse, "publish") as con:
        tables = week_tables(con, week)
        manifest = build_manifest(con, warnings)
    path = publish_week(settings.snapshots, week.id, tables, manifest)
    report = write_reports(settings, week)
    return StageResult("publish", {"manifest": str(path), "report": str(report), "kpi rows": tables["kpi_weekly"].height})


def week_tables(con: duckdb.DuckDBPyConnection, week: Week) -> dict[str, pl.DataFrame]:
    """The KPI rows and fact extracts of one week, sorted on their keys for byte-stable Parquet."""
    tables = {"kpi_weekly": con.sql(
        "SELECT * FROM kpi_weekly WHERE week_id = $1 ORDER BY kpi_id, scope, platform, account_key, role, dimension",
        params=[week.id]).pl()}
    for table, column in WEEK_EXTRACTS.items():
        key = "comment_id" if table == "fct_comment" else "post_id"
        tables[table] = con.sql(f"SELECT * FROM {table} WHERE {column} = $1 ORDER BY platform, {key}", params=[week.id]).pl()
    return tables


def build_manifest(con: duckdb.DuckDBPyConnection, warnings: list[dict[str, Any]]) -> dict[str, Any]:
    """What the snapshot was made from: code and lexicon versions, input files by hash, warnings."""
    from transforms.classify import load_lexicons

    inputs = con.sql(
        "SELECT file_sha256, file_name, detected_format, rows_read, rows_loaded, rows_quarantined, rows_skipped, rows_duplicate "
        "FROM ops_file_ledger WHERE status = 'loaded' ORDER BY file_sha256"
    ).pl()
    return {
        "code_version": code_version(),
        "lexicon_version": load_lexicons().version,
        "inputs": inputs.to_dicts(),
        "validation_warnings": sorted(warnings, key=lambda w: json.dumps(w, sort_keys=True, default=str)),
        "classifier_report": classifier_report(),
    }


def classifier_report() -> list[dict[str, Any]]:
    """Precision and recall of each classifier on the labelled holdout, published with each snapshot.

    The holdout rows were never looked at while the lexicons were tuned, so they are the honest estimate.
    """
    from transforms.evaluate import evaluate

    return evaluate(split="holdout").to_dicts()


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
    with open_writer(settings.warehouse, "record run") as con:
        con.execute(
            "INSERT INTO ops_run (run_id, week_id, flow_run_id, started_at, status, message) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, message = excluded.message, finished_at = ?",
            [run_id, week.id, flow_run_id, now, status, message, now if status != "running" else None],
        )


def close_interrupted(settings: Settings) -> int:
    """Mark runs and loads left ``running`` by a killed process as ``interrupted``; returns how many.

    Called under the writer lock, so nothing else can be running: a ``running`` row is a crash's trace.
    Their data needs no repair (each file's load and each stage's swap is one transaction).
    """
    if not settings.warehouse.is_file():
        return 0
    now = datetime.now(timezone.utc)
    with open_writer(settings.warehouse, "close interrupted runs") as con:
        runs = con.execute(
            "UPDATE ops_run SET status = 'interrupted', finished_at = ?, message = coalesce(message, "
            "'the process ended without finishing (killed or power cut); the next run redid its work') "
            "WHERE status = 'running'", [now]).fetchall()
        loads = con.execute(
            "UPDATE ops_load SET status = 'interrupted', finished_at = ? WHERE status = 'running'", [now]).fetchall()
    return int(runs[0][0] if runs else 0) + int(loads[0][0] if loads else 0)
