"""Reading a batch's files: in the writer, or shared with reader processes when the batch is big.

Reading an API dump (decoding, parsing, flattening, typing) is Python that holds the interpreter
lock, so a writer reading alone uses one core however many the machine has. A batch of at least
``min_bytes`` is cut into one share per process, balanced by bytes: the writer reads the first
share itself while the others are read in processes started once per load and kept for its next
batches. A file's outcome does not depend on which files share its read (``read_many``), so the
outcomes are the same, in the same order, as when the writer reads the whole batch.

Reader processes are spawned, never forked: the writer holds DuckDB's and Prefect's threads, and a
fork copies their locks in whatever state they are. If a reader process dies (killed, out of
memory), the batch is read again in the writer and the load goes on without processes; if the writer
dies, its reader processes end too (``_end_with``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from cityimage import faults
from readers import registry as formats
from readers.base import ReadError, ReadResult, SourceFile

Outcome = ReadResult | ReadError

log = logging.getLogger(__name__)


def read_isolated(sources: list[SourceFile]) -> list[Outcome]:
    """Read together; if that fails unexpectedly, one by one so a reader bug refuses only its file."""
    try:
        return formats.read_many(sources)
    except Exception:
        return [_read_alone(source) for source in sources]


def _read_alone(source: SourceFile) -> Outcome:
    try:
        return formats.read(source)
    except ReadError as exc:
        return exc
    except Exception as exc:  # a reader bug must not stop the other files of the week
        return ReadError(f"reader failed on this file ({type(exc).__name__}: {exc})")


def _read_in_worker(sources: list[SourceFile]) -> list[Outcome]:
    faults.fault("in_reader_process")
    return read_isolated(sources)


def _start_reader(fault: str | None, writer: int) -> None:
    """A reader process arms the writer's fault point (tests only) and watches the writer."""
    faults.arm(fault)
    threading.Thread(target=_end_with, args=(writer,), name="end-with-writer", daemon=True).start()


def _end_with(writer: int) -> None:
    """End this process once the writer is gone. A writer killed outright (SIGKILL, the out-of-memory
    killer, a cancelled run) cannot stop its pool, whose processes would wait for work for ever."""
    while os.getppid() == writer:
        time.sleep(0.5)
    os._exit(1)


def shares(sizes: list[int], parts: int) -> list[list[int]]:
    """Positions split into ``parts`` shares of about equal bytes (largest first, each to the lightest
    share), each share in its original order; empty shares left out."""
    loads = [0] * parts
    found: list[list[int]] = [[] for _ in range(parts)]
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        lightest = loads.index(min(loads))
        found[lightest].append(i)
        loads[lightest] += sizes[i]
    return [sorted(share) for share in found if share]


class Reads:
    """How a load reads its batches (see the module's docstring); a context manager that stops its
    reader processes when the load ends."""

    def __init__(self, processes: int, min_bytes: int) -> None:
        self.processes, self.min_bytes = processes, min_bytes
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    def __call__(self, sources: list[SourceFile]) -> list[Outcome]:
        if self.processes < 2 or self._broken or len(sources) < 2 or sum(len(s.data) for s in sources) < self.min_bytes:
            return read_isolated(sources)
        parts = shares([len(s.data) for s in sources], self.processes)
        try:
            pending: list[Future[list[Outcome]]] = [self._started().submit(_read_in_worker, [sources[i] for i in share])
                                                    for share in parts[1:]]
            outcomes = [read_isolated([sources[i] for i in parts[0]]), *(f.result() for f in pending)]
        except BrokenProcessPool:
            log.warning("a reader process died; reading this batch, and the rest of the load, in the writer alone")
            self._broken = True
            self.close()
            return read_isolated(sources)
        found: dict[int, Outcome] = {}
        for share, results in zip(parts, outcomes):
            found.update(zip(share, results))
        return [found[i] for i in range(len(sources))]

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.processes - 1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_reader, initargs=(faults.armed(), os.getpid()))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "Reads":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
