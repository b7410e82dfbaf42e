"""Parallel ingestion (``flows/parallel.py``) leaves the same ledger and staging as the serial path.

The fast test reads through a thread pool, with no Prefect; the slow ones run the Prefect flow on a
Dask local cluster (when prefect-dask is installed) and on Prefect's thread-pool runner.
"""

from __future__ import annotations

import pickle
import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from cityimage.settings import load_settings
from flows.parallel import ingest_in_parallel
from flows.stages import ingest as serial_ingest
from flows.stages import ingest_context
from warehouse.ingest import Leaf, read_batch, sha256, source_for

AUTHOR_KEY = "parallel-ingest-test-key-0123456789"
STAGING = ("stg_post", "stg_comment", "stg_account_day", "stg_audience", "stg_search", "stg_quarantine")
VOLATILE = {"load_id", "first_seen_at", "loaded_at", "seen_at"}


@pytest.fixture
def inbox(tmp_path: Path, fixtures: Path) -> Path:
    """The test fixtures, plus a zip of two of them (one also loose) and a renamed copy of one."""
    folder = tmp_path / "inbox"
    shutil.copytree(fixtures, folder)
    loose = sorted(p for p in folder.rglob("*.csv") if p.is_file())[:2]
    with zipfile.ZipFile(folder / "bundle.zip", "w") as archive:
        for path in loose:
            archive.write(path, path.name)
    shutil.copy(loose[0], loose[0].with_name("copy of " + loose[0].name))
    return folder


def _settings(home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CITYIMAGE_HOME", str(home))
    monkeypatch.setenv("CITYIMAGE_AUTHOR_KEY", AUTHOR_KEY)
    return load_settings()


def contents(warehouse: Path) -> dict[str, list[tuple]]:
    """Ledger, sightings and staging rows without the columns that name the load or the time."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for table in ("ops_file_ledger", "ops_file_sighting", *STAGING):
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table]).fetchall()
                if c not in VOLATILE]
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        con.close()


def test_parallel_reading_gives_the_serial_ledger_and_staging(inbox: Path, tmp_path: Path, monkeypatch) -> None:
    serial = _settings(tmp_path / "serial", monkeypatch)
    serial_summary = serial_ingest(serial, [inbox])
    parallel = _settings(tmp_path / "parallel", monkeypatch)
    with ThreadPoolExecutor(max_workers=3) as pool:
        summary = ingest_in_parallel(parallel, [inbox], lambda *args: pool.submit(read_batch, *args))
    assert summary.count("loaded") == serial_summary.count("loaded") > 10
    assert summary.count("already_loaded") == serial_summary.count("already_loaded") >= 2
    assert summary.count("refused") == serial_summary.count("refused") >= 1
    assert contents(parallel.warehouse) == contents(serial.warehouse)
    # A second parallel run finds everything already loaded, like the serial path.
    with ThreadPoolExecutor(max_workers=3) as pool:
        again = ingest_in_parallel(parallel, [inbox], lambda *args: pool.submit(read_batch, *args))
    assert again.count("loaded") == 0 and again.count("already_loaded") == len(again.files) - again.count("refused")


def test_what_crosses_to_a_worker_process_pickles(inbox: Path, tmp_path: Path, monkeypatch) -> None:
    """A Dask worker in another process receives files and the context and returns a PreparedBatch."""
    settings = _settings(tmp_path, monkeypatch)
    ctx = ingest_context(settings)
    path = next(inbox.rglob("account_analytics_content_2025-10-12_2025-11-10.csv"))
    source = source_for(path, inbox, path.read_bytes(), ctx.profile)
    args = pickle.loads(pickle.dumps(([Leaf(0, source, sha256(source.data))], ctx)))
    batch = pickle.loads(pickle.dumps(read_batch(*args)))
    assert batch.files[0].error is None and batch.files[0].rows_loaded > 0 and batch.tables["post"].height > 0


def _run_flow(runner, inbox: Path) -> dict[str, int]:
    from prefect.testing.utilities import prefect_test_harness

    from flows.parallel import parallel_ingest_with

    with prefect_test_harness(server_startup_timeout=180):
        return parallel_ingest_with(runner, [str(inbox)])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_flow_on_a_dask_local_cluster_matches_the_serial_path(inbox: Path, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("prefect_dask", reason="prefect-dask is not installed (pyproject pins it; run `make setup`)")
    from flows.parallel import dask_runner

    serial = _settings(tmp_path / "serial", monkeypatch)
    serial_ingest(serial, [inbox])
    parallel = _settings(tmp_path / "parallel", monkeypatch)
    figures = _run_flow(dask_runner(n_workers=2), inbox)
    assert figures["loaded"] > 10
    assert contents(parallel.warehouse) == contents(serial.warehouse)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_flow_on_prefects_thread_pool_matches_the_serial_path(inbox: Path, tmp_path: Path, monkeypatch) -> None:
    """The same flow wiring (task submission, futures, one writer) without Dask."""
    from prefect.task_runners import ThreadPoolTaskRunner

    serial = _settings(tmp_path / "serial", monkeypatch)
    serial_ingest(serial, [inbox])
    parallel = _settings(tmp_path / "parallel", monkeypatch)
    figures = _run_flow(ThreadPoolTaskRunner(max_workers=2), inbox)
    assert figures["loaded"] > 10
    assert contents(parallel.warehouse) == contents(serial.warehouse)


def _hide_dask(monkeypatch) -> None:
    """Make ``prefect_dask`` unimportable, as on an install without it."""
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.startswith("prefect_dask"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)


def test_a_missing_dask_is_a_clear_error(monkeypatch) -> None:
    from flows.parallel import DaskUnavailable, dask_runner

    _hide_dask(monkeypatch)
    with pytest.raises(DaskUnavailable, match="prefect-dask"):
        dask_runner()


def test_the_cli_without_dask_says_what_to_install(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from cityimage.cli import app

    _settings(tmp_path, monkeypatch)
    _hide_dask(monkeypatch)
    result = CliRunner().invoke(app, ["parallel-ingest", str(tmp_path)])
    assert result.exit_code == 2 and "prefect-dask" in result.output and "Traceback" not in result.output


def test_the_local_cluster_listens_on_loopback_only() -> None:
    pytest.importorskip("distributed", reason="distributed is not installed (pyproject pins it; run `make setup`)")
    from distributed import LocalCluster

    from flows.parallel import local_cluster_kwargs

    with LocalCluster(**local_cluster_kwargs(n_workers=1)) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert cluster.dashboard_link.startswith("http://127.0.0.1:") and ":8787/" not in cluster.dashboard_link
        assert all(w.address.startswith("tcp://127.0.0.1:") for w in cluster.workers.values())
