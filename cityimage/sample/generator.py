"""A seeded, deterministic sample inbox in the platforms' real export formats.

``write_sample_inbox(root, weeks)`` simulates a city's overseas accounts (and a peer city's) over
the given ISO weeks plus a few weeks of history, then writes what a communication team would
download each Monday after a reported week::

    root/<YYYY-MM-DD>/<platform>/<account handle>/<file name as the platform names it>

with ``<YYYY-MM-DD>`` the export day, public users' content under the handle folder ``public`` and
Search Console under the site's host. It also writes ``root/_truth.json``: the figures the
simulation knows (see ``cityimage.sample.truth``). The same arguments give byte-identical files.
See docs/sample_inbox.md for the formats, quirks and the story the numbers tell.
"""

from __future__ import annotations

from pathlib import Path

from cityimage.atomic import write_bytes_atomic
from cityimage.profile import CityProfile
from cityimage.sample import write_meta, write_search_console, write_tiktok, write_x, write_youtube
from cityimage.sample.files import Emitter, EmittedFile
from cityimage.sample.model import World, load_content
from cityimage.sample.truth import SampleTruth, build_truth
from cityimage.weeks import Week, week_range

DEFAULT_SEED = 20221
DEFAULT_FIRST_WEEK = "2026-W44"
DEFAULT_LAST_WEEK = "2026-W47"
# Underscore-prefixed: ingestion passes over it, so the truth never becomes an input.
TRUTH_FILE = "_truth.json"
WRITERS = (write_x.write, write_meta.write, write_youtube.write, write_tiktok.write, write_search_console.write)


def default_weeks() -> list[Week]:
    """The demo's reported weeks: 2026-W44 to 2026-W47."""
    return week_range(Week.parse(DEFAULT_FIRST_WEEK), Week.parse(DEFAULT_LAST_WEEK))


def build_sample(
    weeks: list[Week],
    seed: int = DEFAULT_SEED,
    *,
    scale: float = 1.0,
    content_path: Path | None = None,
    profile: CityProfile | None = None,
    history_weeks: int | None = None,
) -> tuple[list[EmittedFile], SampleTruth]:
    """The inbox's files (in memory, sorted by path) and its truth, without touching the disk."""
    world = World(list(weeks), seed, scale, load_content(content_path), profile, history_weeks)
    emitter = Emitter()
    for drop in world.drops:
        for writer in WRITERS:
            writer(world, drop, emitter)
    files = emitter.sorted()
    return files, build_truth(world, files)


def write_sample_inbox(
    root: Path,
    weeks: list[Week],
    seed: int = DEFAULT_SEED,
    *,
    scale: float = 1.0,
    content_path: Path | None = None,
    profile: CityProfile | None = None,
    history_weeks: int | None = None,
) -> SampleTruth:
    """Write the sample inbox under ``root`` and ``root/_truth.json``; return the truth.

    ``weeks`` are the reported weeks (one drop each, dated the Monday after); the generator adds
    ``history_weeks`` earlier weeks of posts by itself (``content.yaml``: 3), so pass
    ``default_weeks()`` (2026-W44 … W47) for the demo, not a range that already includes history.
    ``scale`` multiplies the volumes (posts per week, hence comments; public mentions; the search
    long tail) without changing how anything is generated, for benchmarks. Files already under
    ``root`` at the same paths are overwritten; other files are left alone.
    """
    root = Path(root)
    files, truth = build_sample(weeks, seed, scale=scale, content_path=content_path, profile=profile,
                                history_weeks=history_weeks)
    for item in files:
        _write(root / item.path, item.data)
    _write(root / TRUTH_FILE, truth.dumps())
    return truth


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary name so an interrupted run never leaves half a file."""
    write_bytes_atomic(path, data)
