"""SIGTERM and Ctrl-C end a run within 10 seconds, whatever stage it is in: the run is recorded as
interrupted, no process of it is left (Prefect's temporary server included), the writer lock is free,
and the next run publishes as if nothing had happened. Real runs of the ``cityimage`` program."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from cityimage.sample import default_weeks, write_sample_inbox

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

WEEK = default_weeks()[-1]


def _start(home: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "CITYIMAGE_HOME": str(home), "CITYIMAGE_INBOX_PATH": str(home.parent / "inbox"),
           "CITYIMAGE_AUTHOR_KEY": "signal-test-key-0123456789"}
    return subprocess.Popen([sys.executable, "-m", "cityimage", "run", "--week", WEEK.id], env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def _wait_for(log: Path, marker: str, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while marker not in log.read_text(errors="replace"):
        assert process.poll() is None, f"the run ended before {marker!r}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no {marker!r} in the log"
        time.sleep(0.05)


def _left_behind(home: Path) -> list[str]:
    """Processes whose environment names this test's home: the run's, if any survived it."""
    needle = f"CITYIMAGE_HOME={home}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle + b"\0" in environ.read_bytes() and int(environ.parent.name) != os.getpid():
                found.append((environ.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


@pytest.fixture
def world(tmp_path: Path) -> Path:
    write_sample_inbox(tmp_path / "inbox", [WEEK])
    return tmp_path / "home"


@pytest.mark.parametrize(("signum", "stage", "code"), [
    (signal.SIGTERM, "Task run 'ingest inbox", 143),
    (signal.SIGINT, "Task run 'build facts", 130),
])
def test_a_signal_stops_the_run_within_10_s_and_the_next_run_publishes(world: Path, tmp_path: Path,
                                                                        signum: int, stage: str, code: int) -> None:
    log = tmp_path / "run.log"
    run = _start(world, log)
    _wait_for(log, stage, run)
    sent = time.monotonic()
    run.send_signal(signum)
    assert run.wait(timeout=30) == code
    assert time.monotonic() - sent < 10
    time.sleep(0.5)
    assert _left_behind(world) == []
    with duckdb.connect(str(world / "warehouse.duckdb"), read_only=True) as con:
        [(status, message)] = con.execute("SELECT status, message FROM ops_run").fetchall()
    assert status == "interrupted" and signal.Signals(signum).name in message

    again = _start(world, tmp_path / "again.log")
    assert again.wait(timeout=400) in (0, 7), (tmp_path / "again.log").read_text()[-3000:]
    assert (world / "snapshots" / "manifests" / f"week={WEEK.id}.json").is_file()


def test_a_second_ctrl_c_stops_at_once(world: Path, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    run = _start(world, log)
    _wait_for(log, "Task run 'ingest inbox", run)
    sent = time.monotonic()
    run.send_signal(signal.SIGINT)
    time.sleep(0.2)
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=30) == 130
    assert time.monotonic() - sent < 5
    time.sleep(0.5)
    assert _left_behind(world) == []
