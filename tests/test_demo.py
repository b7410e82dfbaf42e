"""`make demo` as a newcomer runs it: the real command in a child process, judged by what it prints.

The demo is the first thing anyone runs; a traceback or a leak dump on its stderr reads as a broken
install even when the outputs are right, so its stderr is held to "warnings at most".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_the_demo_publishes_and_prints_no_traceback_or_leak_report(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYIMAGE_", "PREFECT_API"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    home = tmp_path / "var"  # relative, as the default home is: Data Docs must still build

    out = subprocess.run([sys.executable, "-m", "cityimage", "demo", "--home", "var"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=850)

    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    assert "leaked" not in out.stderr, out.stderr[-3000:]
    assert " ERROR " not in out.stderr, [line for line in out.stderr.splitlines() if " ERROR " in line]
    assert (home / "reports" / "index.html").is_file()
    assert (home / "reports" / "data_docs" / "run.html").is_file()
    assert (home / ".author_key").is_file()
    # The README's next command, after the demo, runs without any setting: the key comes from the home.
    status = subprocess.run([sys.executable, "-m", "cityimage", "status"], cwd=tmp_path,
                            env=env | {"CITYIMAGE_HOME": "var"}, capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stderr
    assert "Traceback" not in status.stderr and "leaked" not in status.stderr
