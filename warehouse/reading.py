"""Reading a batch's files: in the writer, or in reader processes while the writer writes.

Reading an API dump (decoding, parsing, flattening, typing) is Python that holds the interpreter
lock, so a writer reading alone uses one core however many the machine has. A batch of at least
``min_bytes`` is cut into one share per reader process, balanced by bytes, and read there while the
writer writes the batch before it (``warehouse.ingest``); the processes start with the first such
batch and read every later one of the load. A file's outcome does not depend on which files share its
read (``read_many``), so the outcomes are the same, in the same order, as when the writer reads the
whole batch.

Reader processes are spawned, never forked: the writer holds DuckDB's and Prefect's threads, and a
fork copies their locks in whatever state they are. If a reader process dies (killed, out of
memory), the batch is read again in the writer and the load goes on without processes; if the writer
dies, its reader processes end too (``_end_with``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
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
    """A reader process arms the writer's fault point (tests only), watches the writer, and leaves
    Ctrl-C to it: the terminal sends SIGINT to the whole process group, and the writer, which stops
    the readers as it ends, is the one that answers it."""
    faults.arm(fault)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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


class Reading:
    """One batch's reading (``Reads.start``): done already, in the writer, or under way in reader
    processes while the writer does other work; ``outcomes`` waits for it."""

    def __init__(self, reads: "Reads", sources: list[SourceFile], parts: list[list[int]] | None = None,
                 pending: list[Future[list[Outcome]]] | None = None) -> None:
        self._reads, self._sources, self._parts, self._pending = reads, sources, parts or [], pending
        self._done = read_isolated(sources) if pending is None else None

    @property
    def in_background(self) -> bool:
        return self._pending is not None

    def outcomes(self) -> list[Outcome]:
        """Each file's outcome, in the order of the sources."""
        if self._done is None:
            self._done = self._reads.gathered(self._sources, self._parts, self._pending or [])
        return self._done


class Reads:
    """How a load reads its batches (see the module's docstring); a context manager that stops its
    reader processes when the load ends."""

    def __init__(self, processes: int, min_bytes: int) -> None:
        self.processes, self.min_bytes = processes, min_bytes
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    def start(self, sources: list[SourceFile]) -> Reading:
        """Read the files now in the writer, or hand them to the reader processes: one share each,
        when the batch is big enough or the processes have already started."""
        worth_it = self._pool is not None or sum(len(s.data) for s in sources) >= self.min_bytes
        if self.processes < 1 or self._broken or not sources or not worth_it:
            return Reading(self, sources)
        parts = shares([len(s.data) for s in sources], self.processes)
        try:
            pool = self._started()
            return Reading(self, sources, parts, [pool.submit(_read_in_worker, [sources[i] for i in share])
                                                  for share in parts])
        except BrokenProcessPool:  # a process died between two batches
            self._gave_up()
            return Reading(self, sources)

    def __call__(self, sources: list[SourceFile]) -> list[Outcome]:
        return self.start(sources).outcomes()

    def gathered(self, sources: list[SourceFile], parts: list[list[int]], pending: list[Future[list[Outcome]]]
                 ) -> list[Outcome]:
        """The shares' outcomes put back in the sources' order; read in the writer if a process died."""
        try:
            outcomes = [future.result() for future in pending]
        except BrokenProcessPool:  # a process died while it read this batch or the one before
            self._gave_up()
            return read_isolated(sources)
        found: dict[int, Outcome] = {}
        for share, results in zip(parts, outcomes):
            found.update(zip(share, results))
        return [found[i] for i in range(len(sources))]

    def _gave_up(self) -> None:
        if not self._broken:
            log.warning("a reader process died; reading this batch, and the rest of the load, in the writer alone")
        self._broken = True
        self.close()

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
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
