"""A run in a child process, so that SIGTERM or Ctrl-C ends it within seconds, whatever it is doing.

Inside a run, the main thread can sit in a DuckDB query for minutes, where Python cannot run a signal
handler, and Prefect's temporary API server is a process of its own that outlives a killed run. So
``cityimage run`` and ``backfill`` start the same command again as a child, in a process group of its
own, and only waits. On SIGTERM or SIGINT the supervisor passes the signal to the child, gives it
``GRACE_S`` seconds to stop at its next step, then kills its whole group (the child, the Prefect
server, any worker). Nothing is lost by the kill: every write is one DuckDB transaction, rolled back
when its process dies, and the writer lock is released by the kernel. The supervisor then marks the
run interrupted in ``ops_run`` and exits 130 (SIGINT) or 143 (SIGTERM). A second signal kills at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Callable

from cityimage.settings import RUN_PID_ENV

#: How long the child has to stop by itself after the first signal.
GRACE_S = 6.0
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def is_child() -> bool:
    """Whether this process is a supervised run's child (its supervisor named itself in the environment)."""
    return RUN_PID_ENV in os.environ and int(os.environ[RUN_PID_ENV]) != os.getpid()


def run_supervised(argv: list[str], on_interrupt: Callable[[str], None]) -> int:
    """Run ``python -m cityimage <argv>`` as a child and return its exit code, or 128 + the signal
    that stopped it (after ``on_interrupt`` recorded why)."""
    child = subprocess.Popen([sys.executable, "-m", "cityimage", *argv],
                             env={**os.environ, RUN_PID_ENV: str(os.getpid())}, start_new_session=True)
    received: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        if received:
            _kill_group(child.pid, signal.SIGKILL)
            return
        received.append(signum)
        child.send_signal(signum)  # the child alone: Prefect's server stays up while the child reports

    previous = {s: signal.signal(s, forward) for s in SIGNALS}
    try:
        code = _wait(child, received)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    _kill_group(child.pid, signal.SIGKILL)  # whatever the child left behind
    if not received and code < 0:  # the child died of a signal nobody here sent: so does the supervisor
        _die_of(-code)
    if not received:
        return code
    name = signal.Signals(received[0]).name
    on_interrupt(f"stopped by {name} at {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; the next run redoes its work")
    return 128 + received[0]


def _wait(child: subprocess.Popen, received: list[int]) -> int:
    deadline: float | None = None
    while True:
        try:
            return child.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            if received and deadline is None:
                deadline = time.monotonic() + GRACE_S
            if deadline is not None and time.monotonic() > deadline:
                _kill_group(child.pid, signal.SIGKILL)


def _die_of(signum: int) -> None:
    """End this process by ``signum``, as the child ended: whoever waits on it sees the same death."""
    try:
        signal.signal(signum, signal.SIG_DFL)
    except (OSError, ValueError):
        pass  # SIGKILL and SIGSTOP cannot be caught: their default is all there is
    os.kill(os.getpid(), signum)


def _kill_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
