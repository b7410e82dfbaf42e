"""Memory is bounded by the file-size limit, not by what lands in the inbox: a file over the limit is
refused by name with its size before it is read; an unreadable file is refused with the OS's reason;
the rest of the inbox loads. Real ingest processes; peak memory read from the kernel's accounting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.resilience.hostile import KEY, X_NAME, Lab, x_csv

LIMIT = 20_000_000
#: What an ingest of three small files may take, interpreter and libraries included (about 200 MB
#: measured here); reading the 3 GB file whole would go far beyond it.
PEAK_RSS_MB = 500


#: The ingest command, reporting its own peak memory as it exits: the kernel's high-water mark of this
#: program's memory (VmHWM), which starts afresh at exec, unlike ru_maxrss, which keeps the forking
#: test worker's.
MEASURED_INGEST = (
    "import atexit, re, sys\n"
    "peak = lambda: re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]\n"
    "atexit.register(lambda: print('PEAK_RSS_KB', peak(), file=sys.stderr))\n"
    "from cityimage.cli import main\n"
    "sys.argv = ['cityimage', 'ingest', sys.argv[1]]\n"
    "main()\n"
)


def test_a_huge_sparse_file_and_a_long_line_are_refused_unread_and_the_rest_loads(tmp_path: Path) -> None:
    drop = tmp_path / "inbox" / "2026-11-24" / "x" / "iChongqing_"
    drop.mkdir(parents=True)
    (drop / X_NAME).write_bytes(x_csv(3))
    with (drop / "sparse.csv").open("wb") as sparse:
        sparse.truncate(3 * 10**9)  # 3 GB that takes no disk: only its size says what it is
    with (drop / "one_line.csv").open("wb") as line:
        line.write(b"Post id,Date,Post text\n1," + b"x" * (3 * LIMIT) + b"\n")
    env = {**os.environ, "CITYIMAGE_HOME": str(tmp_path / "home"), "CITYIMAGE_AUTHOR_KEY": KEY,
           "CITYIMAGE_MAX_FILE_BYTES": str(LIMIT)}
    done = subprocess.run([sys.executable, "-c", MEASURED_INGEST, str(tmp_path / "inbox")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr[-2000:]  # files were refused; the rest loaded
    peak_mb = int(done.stderr.split("PEAK_RSS_KB")[1].split()[0]) / 1024
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as con:
        ledger = dict(con.execute("SELECT file_name, coalesce(message, status) FROM ops_file_ledger").fetchall())
    folder = "2026-11-24/x/iChongqing_/"
    assert ledger[folder + X_NAME] == "loaded"
    assert "is 3 GB, over the 20 MB limit for one file" in ledger[folder + "sparse.csv"]
    assert "is 60 MB, over the 20 MB limit for one file" in ledger[folder + "one_line.csv"]
    assert peak_mb < PEAK_RSS_MB, f"peak {peak_mb:.0f} MB"


def test_a_file_the_process_may_not_read_is_refused_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, for whom no permission bit denies a read: the OS's refusal is injected.
    from flows.stages import ingest
    from warehouse import ingest as ingest_module

    lab = Lab(tmp_path)
    drop = lab.drop("x/" + X_NAME, x_csv(2))
    (drop / "x" / "secret.csv").write_bytes(x_csv(2, start=9_000_000_000_000_000_000))
    real = ingest_module._read_at_most

    def denied(path: Path, limit: int) -> bytes | None:
        if path.name == "secret.csv":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, limit)

    monkeypatch.setattr(ingest_module, "_read_at_most", denied)
    outcomes = {f.name: f for f in ingest(lab.settings, [drop]).files}
    assert outcomes["x/" + X_NAME].status == "loaded"
    assert outcomes["x/secret.csv"].status == "refused"
    assert outcomes["x/secret.csv"].message == "x/secret.csv: cannot be read (Permission denied)"
