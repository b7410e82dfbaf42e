"""Crash anywhere, run again: the warehouse and the snapshot are exactly those of a run that never crashed.

One Prefect server (the test harness) serves every subprocess, so a run costs seconds, not a server
start. A clean run of the last sample week gives the reference digests; then, for each named fault
point, a run is killed there (SIGKILL: nothing after it runs, as in a power cut), the state it left
is checked (lock free, no temporary or partial Parquet visible, every manifest's files present with
their checksums), and a plain re-run must give the reference warehouse digest and snapshot bytes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from cityimage.faults import POINTS
from cityimage.sample import default_weeks, write_sample_inbox
from tests.resilience.digest import snapshot_bytes, snapshot_problems, temporaries, warehouse_digest
from warehouse.lock import lock_path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

AUTHOR_KEY = "resilience-test-key-0123456789abcdef"
ARMED = Path(__file__).parent / "armed"  # its sitecustomize arms FAULT_POINT_FOR_TESTS in the command
WEEK = default_weeks()[-1].id
SCALE = 0.4  # a reduced sample week: every export layout, fewer posts and comments
INGEST_POINTS = ("after_read", "inside_merge", "after_commit")
LATER_POINTS = tuple(p for p in POINTS if p not in INGEST_POINTS)


@pytest.fixture(scope="module")
def api_url():
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield PREFECT_API_URL.value()


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inbox") / "inbox"
    write_sample_inbox(root, default_weeks()[-1:], scale=SCALE)
    return root


def run_cli(home: Path, api_url: str, *args: str, fault: str | None = None, wait: bool = True):
    env = os.environ | {"CITYIMAGE_HOME": str(home), "CITYIMAGE_AUTHOR_KEY": AUTHOR_KEY, "PREFECT_API_URL": api_url}
    env.pop("FAULT_POINT_FOR_TESTS", None)
    if fault:
        env["FAULT_POINT_FOR_TESTS"] = fault
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ARMED), env.get("PYTHONPATH")]))
    cli = [sys.executable, "-m", "cityimage", *args]
    if not wait:
        return subprocess.Popen(cli, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(cli, env=env, capture_output=True, text=True, timeout=600)


def new_home(tmp_path_factory: pytest.TempPathFactory, inbox: Path, name: str) -> Path:
    home = tmp_path_factory.mktemp(name)
    shutil.copytree(inbox, home / "inbox")
    return home


@pytest.fixture(scope="module")
def clean(api_url: str, inbox: Path, tmp_path_factory: pytest.TempPathFactory):
    """A run that never crashed: its home, warehouse digest and snapshot bytes."""
    home = new_home(tmp_path_factory, inbox, "clean")
    done = run_cli(home, api_url, "run", "--week", WEEK)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home, warehouse_digest(home / "warehouse.duckdb"), snapshot_bytes(home / "snapshots", ignore_code=True)


def assert_left_safe(home: Path) -> None:
    """After a crash: no reader can see a torn file, and the next run can take the lock."""
    assert snapshot_problems(home / "snapshots") == []
    from warehouse.lock import writer_lock

    with writer_lock(home / "warehouse.duckdb", "check"):
        pass


def assert_recovers(home: Path, api_url: str, clean, backups: int) -> None:
    """The rerun gives the clean result; ``backups``: how many the two runs took (one per run that
    changed data in a warehouse it found)."""
    _, digest, snapshot = clean
    again = run_cli(home, api_url, "run", "--week", WEEK)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert warehouse_digest(home / "warehouse.duckdb") == digest
    assert snapshot_bytes(home / "snapshots", ignore_code=True) == snapshot
    assert temporaries(home / "snapshots") == [], "the next publish sweeps a killed one's temporaries"
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        unbalanced = con.execute(
            "SELECT count(*) FROM ops_file_ledger WHERE status = 'loaded' AND "
            "rows_read <> rows_loaded + rows_quarantined + rows_skipped + rows_duplicate").fetchall()[0][0]
        stale = con.execute("SELECT count(*) FROM ops_run WHERE status = 'running'").fetchall()[0][0]
    finally:
        con.close()
    assert unbalanced == 0
    from warehouse.backup import list_backups

    assert len(list_backups(home / "backups")) == backups, "a run backs up the warehouse it found before changing its data"
    assert stale == 0, "a killed run must not be shown as running for ever"


@pytest.mark.parametrize("point", POINTS)
def test_killed_at_each_fault_point_then_rerun_gives_the_clean_result(
    point: str, api_url: str, inbox: Path, clean, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if point in INGEST_POINTS:
        home = new_home(tmp_path_factory, inbox, point)
        args = ("run", "--week", WEEK)
    else:  # the week is already ingested: copy the clean warehouse, publish nothing yet
        home = tmp_path_factory.mktemp(point)
        shutil.copytree(inbox, home / "inbox")
        shutil.copy(clean[0] / "warehouse.duckdb", home / "warehouse.duckdb")
        args = ("run", "--week", WEEK, "--no-ingest")
    killed = run_cli(home, api_url, *args, fault=f"{point}:kill")
    assert killed.returncode == -signal.SIGKILL, (point, killed.returncode, killed.stderr[-2000:])
    assert_left_safe(home)
    if point in ("during_parquet", "before_rename"):  # killed mid-publish: no manifest, so no published week
        assert not (home / "snapshots" / "manifests").is_dir()
        print(f"{point}: left hidden temporaries {temporaries(home / 'snapshots')}")
    # An ingest point: the killed run found no warehouse, the rerun finishes its loads. A later one: the
    # copied warehouse is already built, so neither run changes its data.
    assert_recovers(home, api_url, clean, backups=1 if point in INGEST_POINTS else 0)


def test_sigterm_during_a_run_fails_cleanly_and_recovers(
    api_url: str, inbox: Path, clean, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = new_home(tmp_path_factory, inbox, "sigterm")
    proc = run_cli(home, api_url, "run", "--week", WEEK, wait=False)
    try:
        _wait_for_ingest(home, proc)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, out[-2000:]
    print(f"SIGTERM: exit {proc.returncode}; last output: {out.strip().splitlines()[-3:]}")
    assert_left_safe(home)
    assert_recovers(home, api_url, clean, backups=1)  # stopped while loading into a new warehouse


def _wait_for_ingest(home: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the run holds the lock and has started loading files (the warehouse exists)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before it could be interrupted: {proc.stdout.read()[-2000:]}")
        lock = lock_path(home / "warehouse.duckdb")
        # the lock names the supervised child that runs the flow (cityimage.supervise), not proc itself
        if lock.is_file() and '"pid": ' in lock.read_text() and (home / "warehouse.duckdb").is_file():
            time.sleep(1.0)
            return
        time.sleep(0.05)
    raise AssertionError("the run never started loading")
