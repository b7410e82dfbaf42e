"""The analyst's prompt on a real terminal: Tab completes, Ctrl-C drops the line or cancels a running
query and the session goes on, history is kept, Ctrl-D leaves cleanly."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import polars as pl
import pytest

from cityimage.analyst import SNAPSHOT_TABLES
from publish.snapshot import publish_week

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


class Terminal:
    """``cityimage analyst`` with a pseudo-terminal as its controlling terminal, driven by keystrokes."""

    def __init__(self, home: Path) -> None:
        self.master, slave = os.openpty()
        env = {**os.environ, "CITYIMAGE_HOME": str(home), "CITYIMAGE_HISTORY_FILE": str(home / "history"),
               "TERM": "xterm", "COLUMNS": "120", "PYTHONPATH": str(ROOT)}
        env.pop("CITYIMAGE_AUTHOR_KEY", None)

        def own_terminal() -> None:  # a session of its own, the pty its controlling terminal: ^C is its SIGINT
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen([sys.executable, "-m", "cityimage", "analyst"], stdin=slave, stdout=slave,
                                        stderr=slave, env=env, preexec_fn=own_terminal, close_fds=True)
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 60) -> str:
        """Read until ``text`` has appeared since the last expect; returns what came before it."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"waited {timeout}s for {text!r}; the terminal shows:\n{self.seen[-2000:]}"
            ready, _, _ = select.select([self.master], [], [], min(left, 1))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the process ended and closed the terminal
                    chunk = b""
                assert chunk or self.process.poll() is None, f"ended before {text!r}:\n{self.seen[-2000:]}"
                self.seen += chunk.decode("utf-8", "replace")
        before, _, self.seen = self.seen.partition(text)
        return before

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path: Path):
    frame = pl.DataFrame({"week_id": ["2026-W47"] * 3, "value": [1, 2, 3]})
    publish_week(tmp_path / "snapshots", "2026-W47", {t: frame for t in SNAPSHOT_TABLES},
                 {"code_version": "v", "inputs": [], "validation_warnings": []})
    term = Terminal(tmp_path)
    yield term
    term.close()


def test_tab_completes_and_ctrl_c_cancels_without_ending_the_session(terminal: Terminal, tmp_path: Path) -> None:
    terminal.expect("sql> ")
    terminal.send(".tab\t\r")  # Tab completes the dot-command
    listed = terminal.expect("sql> ")
    assert "kpi_weekly" in listed and "fct_comment" in listed

    terminal.send("SELECT count(*) AS n FROM fct_ment\t;\r")  # ... and a view's name
    assert "3" in terminal.expect("sql> ") and "fct_mention" not in terminal.seen

    terminal.send("SELECT 'half typed'")  # Ctrl-C drops the line being typed
    time.sleep(0.5)  # a person's pause: a ^C in the same instant as the keys can wait in readline for the next key
    terminal.send("\x03")
    assert "^C" in terminal.expect("sql> ")

    terminal.send("SELECT sum(hash(i)) FROM range(1000000000000) t(i);\r")  # hours of work
    time.sleep(1.5)
    started = time.monotonic()
    terminal.send("\x03")
    assert "query cancelled" in terminal.expect("sql> ", timeout=30)
    assert time.monotonic() - started < 30

    terminal.send("SELECT 40 + 2 AS answer;\r")  # the session goes on
    assert "42" in terminal.expect("sql> ")

    terminal.send("\x04")  # Ctrl-D leaves
    assert terminal.process.wait(timeout=30) == 0
    history = (tmp_path / "history").read_text(encoding="utf-8")
    assert "SELECT 40 + 2 AS answer;" in history and "fct_mention" in history


def test_ctrl_c_stops_a_long_sql_query_with_a_clear_message(tmp_path: Path) -> None:
    from warehouse.connection import open_writer

    with open_writer(tmp_path / "warehouse.duckdb", "test"):
        pass
    env = {**os.environ, "CITYIMAGE_HOME": str(tmp_path), "CITYIMAGE_AUTHOR_KEY": "k" * 32, "PYTHONPATH": str(ROOT)}
    query = subprocess.Popen([sys.executable, "-m", "cityimage", "sql", "SELECT sum(hash(i)) FROM range(1000000000000) t(i)"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(4)  # past the start, into the query
    started = time.monotonic()
    query.send_signal(signal.SIGINT)
    out, errors = query.communicate(timeout=30)
    assert time.monotonic() - started < 15
    assert query.returncode == 130 and "query cancelled" in errors and "Traceback" not in errors + out
