"""Parallel file ingestion for larger users: read and type files in Dask workers, write in one process.

Reading an export is pure (bytes in, frames out: ``warehouse.ingest.read_batch``), so it can run
anywhere; writing must stay serial because the warehouse has one writer. The flow therefore plans in
the writer (which files are new, which archives to expand), submits one read task per chunk of new
files to the task runner, and writes each chunk as one batch, in discovery order, through the same
``warehouse.ingest.Loader`` as the serial path — so the ledger and staging come out the same.

The task runner is a ``prefect_dask.DaskTaskRunner`` (a local cluster, or ``address`` of an existing
scheduler); :func:`parallel_ingest_with` accepts any Prefect task runner, which the tests use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

from prefect import flow, get_run_logger, task
from prefect.task_runners import TaskRunner

from cityimage.settings import Settings, load_settings
from flows.stages import ingest_context
from warehouse.connection import open_writer
from warehouse.ingest import IngestContext, Leaf, Loader, LoadSummary, PreparedBatch, discover, read_batch


class DaskUnavailable(RuntimeError):
    """prefect-dask (and distributed) are not installed in this environment."""


def dask_runner(address: str | None = None, n_workers: int = 2) -> TaskRunner[Any]:
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
    return DaskTaskRunner(cluster_kwargs=local_cluster_kwargs(n_workers))


def local_cluster_kwargs(n_workers: int) -> dict[str, Any]:
    """A local cluster reachable from this machine only: its scheduler, workers and dashboard listen on
    127.0.0.1 (the dashboard on a free port; Dask's default is every interface, port 8787), since the
    workers receive the pseudonymisation key and raw export bytes."""
    return {"n_workers": n_workers, "processes": True, "threads_per_worker": 1, "host": "127.0.0.1",
            "dashboard_address": "127.0.0.1:0"}


@task(name="read files", retries=1, retry_delay_seconds=2)
def read_files_task(leaves: list[Leaf], ctx: IngestContext) -> PreparedBatch:
    """Parse and type a chunk of files in a worker; refusals come back as data, never as a failed task."""
    return read_batch(leaves, ctx)


class _Future(Protocol):
    def result(self) -> Any: ...


Submit = Callable[[list[Leaf], IngestContext], _Future]
# Chunks per worker process: enough to keep every worker busy while the writer commits.
CHUNKS_PER_RUN = 8


def ingest_in_parallel(settings: Settings, paths: list[Path], submit: Submit) -> LoadSummary:
    """Plan in the writer, read chunks of files through ``submit`` (a task runner or an executor),
    write each chunk in discovery order as one batch."""
    ctx = ingest_context(settings)
    with open_writer(settings.warehouse, "parallel ingest", settings.reader_wait_s) as con:
        loader = Loader(con, ctx)
        leaves = [leaf for path, root in discover(paths, ctx.follow_links) for leaf in loader.plan(path, root)]
        size = min(ctx.batch_files, max(1, -(-len(leaves) // CHUNKS_PER_RUN)))
        futures = [submit(leaves[i:i + size], ctx) for i in range(0, len(leaves), size)]
        for future in futures:
            loader.write(future.result())
        return loader.finish()


@flow(name="parallel-ingest", log_prints=True)
def parallel_ingest(paths: list[str] | None = None) -> dict[str, int]:
    """Load the inbox (or ``paths``) with parsing spread over the flow's task runner."""
    settings = load_settings()
    targets = [Path(p) for p in paths] if paths else [settings.inbox]
    summary = ingest_in_parallel(settings, targets, read_files_task.submit)
    figures = {"files seen": len(summary.files), "loaded": summary.count("loaded"),
               "already loaded": summary.count("already_loaded"), "reattributed": summary.count("reattributed"),
               "refused": summary.count("refused"),
               "rows": summary.rows_loaded}
    get_run_logger().info("parallel ingest: %s", figures)
    return figures


def parallel_ingest_with(runner: TaskRunner[Any], paths: list[str] | None = None) -> dict[str, int]:
    """Run :func:`parallel_ingest` on the given task runner (Dask in production, anything in tests)."""
    return parallel_ingest.with_options(task_runner=runner)(paths=paths)
