"""The weekly pipeline's stages as plain functions of settings and a week id.

Prefect tasks in ``flows/weekly.py`` wrap these one to one; keeping them free of Prefect lets the
benchmark measure the orchestrator's overhead and lets the CLI's ``ingest`` and ``validate`` run a
stage alone. Each stage opens the warehouse itself: stages pass paths and week ids, never frames or
connections.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable

import duckdb
import polars as pl

from cityimage.faults import fault
from cityimage.settings import Settings
from cityimage.weeks import Week
from warehouse.backup import backup_once
from warehouse.city import check_city
from warehouse.connection import memory_limit, open_writer
from warehouse.deliveries import deliveries, week_rows
from warehouse.extracts import week_tables
from warehouse.ingest import IngestContext, LoadSummary, ingest_paths
from warehouse.kpis import kept_kpis, last_fact_build, read_facts, store_kpis
from warehouse.lock import writer_lock


@dataclass(frozen=True)
class StageResult:
    """What a stage reports to its caller and to the run's Prefect artifact."""

    stage: str
    figures: dict[str, Any]

    def line(self) -> str:
        return f"{self.stage}: " + ", ".join(f"{k} {v}" for k, v in self.figures.items())


def ingest(settings: Settings, paths: list[Path] | None = None, progress: Callable[[str], None] | None = None,
           backup_key: str | None = None) -> LoadSummary:
    """Load every new file of the inbox (or the given paths) into staging.

    ``backup_key``: the flow run's, whose backup is taken before the first batch is committed
    (``before_write``); None takes none (a stage run alone from the CLI)."""
    ctx = replace(ingest_context(settings), before_write=before_write(settings, backup_key))
    targets = paths if paths is not None else [settings.inbox]
    if paths is None and not settings.inbox.is_dir():
        raise FileNotFoundError(f"inbox {settings.inbox} does not exist (setting inbox_path / CITYIMAGE_INBOX_PATH)")
    with open_writer(settings.warehouse, "ingest", settings.reader_wait_s) as con, \
            memory_limit(con, settings.duckdb_ingest_memory_limit):
        return ingest_paths(con, targets, ctx, progress)


def before_write(settings: Settings, backup_key: str | None) -> Callable[[duckdb.DuckDBPyConnection], object] | None:
    """What a stage calls with its connection before it first writes data: the flow run's backup,
    taken once per run whichever stage writes first (``backup_once``); None when ``backup_key`` is."""
    if backup_key is None:
        return None
    return partial(backup_once, warehouse=settings.warehouse, backups_dir=settings.backups,
                   keep=settings.backup_keep, run_key=backup_key)


def ingest_context(settings: Settings) -> IngestContext:
    """What loading needs from the settings."""
    return IngestContext(
        profile=settings.profile,
        author_key=settings.require_author_key(),
        max_archive_bytes=settings.max_archive_bytes,
        max_archive_ratio=settings.max_archive_ratio,
        trust_file_stat=settings.trust_file_stat,
        batch_files=settings.ingest_batch_files,
        batch_bytes=settings.ingest_batch_bytes,
        reader_processes=settings.ingest_reader_processes,
        follow_links=settings.follow_inbox_links,
        max_file_bytes=settings.max_file_bytes,
    )


def build_facts(settings: Settings, full: bool = False, backup_key: str | None = None) -> StageResult:
    """Bring every fact and dimension table up to date with staging (``warehouse.facts``).

    Incremental: only what the loads not yet built touched is rebuilt, and only texts not seen before
    are classified; ``full`` (or a change of what decides the facts) rebuilds every key. DuckDB works
    within ``settings.duckdb_memory_limit`` and spills beyond it, so memory is bounded whatever the history.
    ``backup_key``: as for ``ingest``; an unchanged build writes nothing and takes no backup.
    """
    from transforms.classify import load_lexicons
    from transforms.facts import account_keys, classifiers
    from warehouse import facts

    profile = settings.profile
    with open_writer(settings.warehouse, "build facts", settings.reader_wait_s) as con:
        check_city(con, profile)
        with memory_limit(con, settings.duckdb_memory_limit):
            result = facts.build(con, account_keys(profile), settings.zone.key, classifiers(load_lexicons(settings.lexicon_dir), profile, settings.classify_chunk_rows), full,
                                 before_write(settings, backup_key))
    fault("after_facts")
    return StageResult("facts", {"mode": result.mode, "new loads": result.new_loads, "posts rebuilt": result.posts,
                                 "comments rebuilt": result.comments, "post texts classified": result.classified_posts,
                                 "comment texts classified": result.classified_texts} | result.rows)


class EmptyWeek(RuntimeError):
    """The week holds no data at all (no post, comment, account day or search window): nothing is published."""


def check_completeness(settings: Settings, week: Week) -> StageResult:
    """Whether the week received every export its accounts declare; refuses a week without any data.

    Figures: ``status`` (complete or incomplete), ``expected``, ``missing`` (one sentence per export).
    """
    from transforms.completeness import EXPECTED_SCHEMA, missing_exports, week_completeness

    profile = settings.profile
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


def compute_kpis(settings: Settings, week: Week, force: bool = False, backup_key: str | None = None) -> StageResult:
    """The week's KPIs from the facts, replacing that week's rows of ``kpi_weekly``.

    The week's rows are kept when they were computed from the same fact build with the same
    definitions (``ops_kpi_computation``): recomputing them reads a year of facts and gives the same
    rows. ``force`` recomputes anyway. ``backup_key``: as for ``ingest``; kept rows take no backup.
    """
    from transforms.kpis import compute_kpis as compute
    from transforms.kpis import definition_digest

    profile = settings.profile
    keywords = [(k.keyword, k.region) for k in profile.search_keywords]
    digest = definition_digest(settings.zone, keywords)
    purpose = "compute KPIs"
    with writer_lock(settings.warehouse, purpose):
        # Two connections under one lock: closing the first frees DuckDB's cache of the facts it scanned
        # before the frames read from them are worked on.
        with open_writer(settings.warehouse, purpose, settings.reader_wait_s) as con:
            check_city(con, profile)
            build_id = last_fact_build(con)
            kept = None if force else kept_kpis(con, week, build_id, digest)
            if kept is not None:
                return StageResult("kpis", kept)
            with memory_limit(con, settings.duckdb_read_memory_limit):
                facts = read_facts(con, week, settings.zone)
        kpis = compute(facts, week, settings.zone, keywords)
        with open_writer(settings.warehouse, purpose, settings.reader_wait_s) as con:
            hook = before_write(settings, backup_key)
            if hook is not None:
                hook(con)
            store_kpis(con, week, kpis, build_id, digest)
    return StageResult("kpis", {"rows": kpis.height, "absent": kpis.filter(pl.col("status") == "absent").height})


def publish(settings: Settings, week: Week, gates: dict[str, Any] | None = None,
            completeness: dict[str, Any] | None = None) -> StageResult:
    """Write the week's snapshot and manifest, then its report and the index across weeks.

    ``gates``: what the quality gates found (``flows.weekly.gate_record``); ``completeness``: the
    figures of ``check_completeness``. An incomplete week says so in its manifest.
    """
    from publish.manifest import build_manifest
    from publish.snapshot import publish_week

    profile = settings.profile
    with open_writer(settings.warehouse, "publish", settings.reader_wait_s) as con:
        check_city(con, profile)
        tables = week_tables(con, week)
        manifest = build_manifest(con, week, settings.zone, profile, settings.pack, gates, completeness)
    path = publish_week(settings.snapshots, week.id, tables, manifest)
    report = write_reports(settings, week)
    return StageResult("publish", {"manifest": str(path), "report": str(report), "kpi rows": tables["kpi_weekly"].height})


def mirror(settings: Settings, week: Week) -> StageResult:
    """Copy the published week to ``snapshot_mirror_url`` (``publish.mirror``); nothing when none is set."""
    from publish.mirror import mirror_week, shown_url

    if not settings.snapshot_mirror_url:
        return StageResult("mirror", {"objects": 0})
    written = mirror_week(settings.snapshots, week.id, settings.snapshot_mirror_url)
    return StageResult("mirror", {"objects": len(written), "to": shown_url(settings.snapshot_mirror_url)})


def write_reports(settings: Settings, week: Week) -> Path:
    """Render the week's report and the index from the published snapshots."""
    from publish.reporting import write_week_report

    fault("during_report")
    return write_week_report(settings, week)
