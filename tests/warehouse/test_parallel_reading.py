"""A big batch is read with reader processes, and the warehouse is the same as when the writer reads
it alone: the same staged and quarantined rows, the same ledger, file by file. Real spawned processes,
real DuckDB files, the sample inbox and the readers' own fixtures.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from cityimage import faults
from flows.stages import ingest_context
from readers.entities import ENTITIES
from tests.readers.test_batch_reading import _same, mixed_sources
from tests.resilience.hostile import Lab, sample_lab
from warehouse.connection import open_writer
from warehouse.ingest import ingest_paths
from warehouse.reading import Reads, read_isolated, shares


def test_shares_are_balanced_by_bytes_and_keep_the_files_order() -> None:
    assert shares([5, 1, 1, 1, 1, 1], 2) == [[0], [1, 2, 3, 4, 5]]
    assert shares([3, 3, 2, 2], 2) == [[0, 2], [1, 3]]
    assert shares([7], 3) == [[0]]  # no empty share
    assert sorted(i for share in shares([4, 9, 1, 6, 6, 2], 3) for i in share) == list(range(6))


def test_reader_processes_give_each_file_what_the_writer_alone_gives() -> None:
    sources = mixed_sources()
    with Reads(processes=3, min_bytes=0) as reads:
        shared = reads(sources)
        assert reads._pool is not None  # the processes did read their shares
    for outcome, alone in zip(shared, read_isolated(sources), strict=True):
        _same(outcome, alone)


def test_a_small_batch_starts_no_process() -> None:
    with Reads(processes=2, min_bytes=10**9) as reads:
        reads(mixed_sources())
        assert reads._pool is None


def test_a_reader_process_that_dies_leaves_the_batch_to_the_writer(caplog: pytest.LogCaptureFixture) -> None:
    sources = mixed_sources()
    faults.arm("in_reader_process:kill")
    try:
        with Reads(processes=2, min_bytes=0) as reads, caplog.at_level(logging.WARNING):
            shared = reads(sources)
            assert reads._broken and reads._pool is None
            again = reads(sources)  # the rest of the load is read in the writer
    finally:
        faults.arm(None)
    assert "a reader process died" in caplog.text
    for outcome, second, alone in zip(shared, again, read_isolated(sources), strict=True):
        _same(outcome, alone)
        _same(second, alone)


def test_a_death_while_two_batches_are_read_leaves_both_to_the_writer(caplog: pytest.LogCaptureFixture) -> None:
    """The writer writes one batch while the next is read: a process that dies reading the first
    breaks the pool under the second too, and the writer reads both, each once, with one warning."""
    sources = mixed_sources()
    faults.arm("in_reader_process:kill")
    try:
        with Reads(processes=2, min_bytes=0) as reads, caplog.at_level(logging.WARNING):
            first, second = reads.start(sources), reads.start(sources[::-1])
            assert first.in_background and second.in_background
            outcomes = first.outcomes(), second.outcomes()
            assert reads._broken
    finally:
        faults.arm(None)
    assert caplog.text.count("a reader process died") == 1
    for outcome, alone in zip(outcomes[0], read_isolated(sources), strict=True):
        _same(outcome, alone)
    for outcome, alone in zip(outcomes[1], read_isolated(sources[::-1]), strict=True):
        _same(outcome, alone)


def test_ctrl_c_in_the_terminal_is_the_writers_to_answer() -> None:
    """SIGINT reaches every process of the terminal's group: the readers ignore it and read on."""
    sources = mixed_sources()
    with Reads(processes=2, min_bytes=0) as reads:
        reads(sources)
        readers = [p for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]
        assert len(readers) == 2
        for reader in readers:
            _wait_until_it_ignores_sigint(reader.pid)
            os.kill(reader.pid, signal.SIGINT)
        again = reads(sources)
        assert not reads._broken and all(r.is_running() for r in readers)
    for outcome, alone in zip(again, read_isolated(sources), strict=True):
        _same(outcome, alone)


def _wait_until_it_ignores_sigint(pid: int, timeout: float = 60.0) -> None:
    """A reader ignores SIGINT only once its initializer has run; the pool may hand the first batch to
    one reader while the other is still importing, and a SIGINT then would end it before it could
    ignore one. The kernel's mask of ignored signals says when it has."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        ignored = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)
        if ignored & (1 << (signal.SIGINT - 1)):
            return
        time.sleep(0.05)
    raise AssertionError(f"reader {pid} did not start ignoring SIGINT within {timeout} s")


def _load(lab: Lab, processes: int) -> None:
    ctx = replace(ingest_context(lab.settings), reader_processes=processes, parallel_read_bytes=0, batch_files=7)
    with open_writer(lab.warehouse, "ingest") as con:
        ingest_paths(con, [lab.settings.inbox], ctx)


@pytest.mark.slow
def test_the_warehouse_is_the_same_whoever_reads_the_files(tmp_path: Path) -> None:
    alone, drops, _ = sample_lab(tmp_path / "alone")
    shared = Lab(tmp_path / "shared")
    for drop in drops[1:]:
        shutil.copytree(drop, alone.settings.inbox / drop.name)
    shutil.copytree(alone.settings.inbox, shared.settings.inbox)
    _load(alone, processes=0)
    _load(shared, processes=2)
    ledger = ("SELECT file_sha256, status, detected_format, exported_at, rows_read, rows_loaded, rows_quarantined, rows_skipped, "
              "rows_duplicate, message FROM ops_file_ledger ORDER BY file_sha256")
    files = alone.query(ledger)
    assert len(files) > 14 and files == shared.query(ledger)  # more than two batches of seven
    for table in [e.table for e in ENTITIES.values()] + ["stg_quarantine"]:
        assert _rows(alone, table) == _rows(shared, table), table
    assert shared.ledger_problems() == []


def _rows(lab: Lab, table: str) -> list[tuple]:
    """Every row of a staging table, lineage ``load_id`` aside, in one order."""
    cols = [c for (c,) in lab.query("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                    "AND column_name <> 'load_id' ORDER BY column_name", [table])]
    return lab.query(f"SELECT {', '.join(cols)} FROM {table} ORDER BY ALL")


_KILLED_WRITER = """
import os, signal
import psutil
from readers.base import SourceFile
from warehouse.reading import Reads
if __name__ == "__main__":  # a spawned process imports the main module again
    with Reads(processes=2, min_bytes=0) as reads:
        reads([SourceFile("a.json", b'{"data": []}'), SourceFile("b.json", b'{"data": []}')])
        assert not reads._broken
        print(" ".join(str(p.pid) for p in psutil.Process().children()), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_reader_processes_end_when_the_writer_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(_KILLED_WRITER)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == -9
    readers = [psutil.Process(int(pid)) for pid in done.stdout.split() if psutil.pid_exists(int(pid))]
    assert readers, done.stderr  # the pool was running when the writer died
    _, alive = psutil.wait_procs(readers, timeout=10)
    assert [p for p in alive if _running(p)] == []


def _running(process: psutil.Process) -> bool:
    """Still running: a zombie has ended, whether or not the init process of this machine reaps it."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
