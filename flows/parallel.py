"""Parallel file ingestion for larger users: read and type files in Dask workers, write in one process.

Reading an export is pure (bytes in, frames out: ``readers.registry.read``), so it can run anywhere;
writing must stay serial because the warehouse has one writer. The flow therefore plans in the writer
(which files are new, which archives to expand), submits one read task per new file to the task
runner, and writes each result as it comes back, in discovery order, through the same
``warehouse.ingest`` functions as the serial path — so the ledger and staging come out the same.

The task runner is a ``prefect_dask.DaskTaskRunner`` (a local cluster, or ``address`` of an existing
scheduler); :func:`parallel_ingest_with` accepts any Prefect task runner, which the tests use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

from prefect import flow, get_run_logger, task
from prefect.task_runners import TaskRunner

from cityimage.profile import load_profile
from cityimage.settings import Settings, load_settings
from readers.base import SourceFile
from warehouse.connection import open_writer
from warehouse.ingest import (
    FileOutcome,
    IngestContext,
    LoadSummary,
    PreparedFile,
    discover,
    finish_load,
    load_prepared,
    plan_source,
    read_source,
    source_for,
    start_load,
)


class DaskUnavailable(RuntimeError):
    """prefect-dask (and distributed) are not installed in this environment."""


def dask_runner(address: str | None = None, n_workers: int = 2, processes: bool = True) -> TaskRunner[Any]:
    """A Dask task runner: a temporary local cluster, or the scheduler at ``address`` (tcp://host:8786)."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise DaskUnavailable(
            "parallel ingestion needs prefect-dask and distributed (pinned in pyproject.toml); "
            "reinstall the project with `make setup`"
        ) from exc
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": n_workers, "processes": processes, "threads_per_worker": 1})


def ingest_context(settings: Settings) -> IngestContext:
    """The same context the serial ``flows.stages.ingest`` builds."""
    return IngestContext(
        profile=load_profile(settings.profile_path),
        author_key=settings.require_author_key(),
        max_archive_bytes=settings.max_archive_bytes,
        max_archive_ratio=settings.max_archive_ratio,
    )


@task(name="read file", retries=1, retry_delay_seconds=2)
def read_file_task(source: SourceFile, digest: str, ctx: IngestContext) -> PreparedFile:
    """Parse and type one file in a worker; refusals come back as data, never as a failed task."""
    return read_source(source, digest, ctx)


class _Future(Protocol):
    def result(self) -> Any: ...


Submit = Callable[[SourceFile, str, IngestContext], _Future]


def ingest_in_parallel(settings: Settings, paths: list[Path], submit: Submit) -> LoadSummary:
    """Plan in the writer, read through ``submit`` (a task runner or an executor), write in order."""
    ctx = ingest_context(settings)
    with open_writer(settings.warehouse, "parallel ingest") as con:
        summary = start_load(con)
        leaves: list[tuple[SourceFile, str]] = []
        for path, root in discover(paths):
            done, todo = plan_source(con, source_for(path, root, path.read_bytes(), ctx.profile), ctx, summary.load_id)
            summary.files += done
            leaves += todo
        futures = [submit(source, digest, ctx) for source, digest in leaves]
        outcomes: list[FileOutcome] = [load_prepared(con, future.result(), summary.load_id) for future in futures]
        summary.files += outcomes
        finish_load(con, summary)
    return summary


@flow(name="parallel-ingest", log_prints=True)
def parallel_ingest(paths: list[str] | None = None) -> dict[str, int]:
    """Load the inbox (or ``paths``) with parsing spread over the flow's task runner."""
    settings = load_settings()
    targets = [Path(p) for p in paths] if paths else [settings.inbox]
    summary = ingest_in_parallel(settings, targets, read_file_task.submit)
    figures = {"files seen": len(summary.files), "loaded": summary.count("loaded"),
               "already loaded": summary.count("already_loaded"), "refused": summary.count("refused"),
               "rows": summary.rows_loaded}
    get_run_logger().info("parallel ingest: %s", figures)
    return figures


def parallel_ingest_with(runner: TaskRunner[Any], paths: list[str] | None = None) -> dict[str, int]:
    """Run :func:`parallel_ingest` on the given task runner (Dask in production, anything in tests)."""
    return parallel_ingest.with_options(task_runner=runner)(paths=paths)
