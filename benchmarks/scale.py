"""A year of exports at a chosen fraction of the reference size, cached under ``var/bench/<scale>/``.

The reference size (issue 7) is a year of 5M comments, 200k posts with 4 metric snapshots each, 50k
public mentions and 52 weekly Search Console exports. ``--scale`` is a fraction of it. The files are
written by the project's own seeded sample generator (``write_sample_inbox``), so they are the
platforms' real formats with their quirks, over 52 reported weeks (plus the generator's 3 weeks of
history in the first drop).

The generator's volume knob (``scale`` of ``write_sample_inbox``) multiplies posts per week; the
sample's world has about 10 comments per post where the reference has 25, so the fraction is
calibrated on **comments** (the bulk of the rows): 1.0 of the reference is sample scale
``SAMPLE_SCALE_PER_REFERENCE``. Posts and mentions then come out at their own ratios; ``stats.json``
records the counts actually written, and the report prints them next to the reference.

Measured here (2 cores): the generator writes about 1.2k comments per second of CPU, i.e. about
40 s at ``--scale 0.01`` and an estimated hour at 1.0; it holds a year's files in memory before
writing (about 0.5 GB at 0.05). From ``DIRECT_FROM`` on, the inbox comes from the direct writer
(``benchmarks.reference``: the bulk formats only, drawn column by column, minutes at 1.0) and a city
profile of the accounts it writes for.

Run alone with ``python -m benchmarks.scale 0.01``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where generated inboxes and the run's working warehouses live (tests point it at a temporary folder).
BENCH_HOME = Path(os.environ.get("CITYIMAGE_BENCH_HOME", ROOT / "var" / "bench"))
WEEKS = 52
FIRST_WEEK = "2025-W48"
REFERENCE = {"comments": 5_000_000, "posts": 200_000, "post_metric_snapshots": 800_000, "public_mentions": 50_000,
             "search_console_exports": 52}
# Calibrated on the generator: 616 comments per reported week per unit of sample scale
# (27,119 comments over 8 + 3 weeks at sample scale 4); 5M / 52 / 616 ≈ 156.
SAMPLE_SCALE_PER_REFERENCE = 156.0
# From this scale on the inbox is written by the direct writer: the generator would take hours.
DIRECT_FROM = 0.1


def weeks() -> list:
    from cityimage.weeks import Week

    first = Week.parse(FIRST_WEEK)
    return [first.shift(i) for i in range(WEEKS)]


def folder(scale: float) -> Path:
    return BENCH_HOME / f"{scale:g}"


def ensure_dataset(scale: float, n_weeks: int = WEEKS) -> dict:
    """Generate (or reuse) the inbox for ``scale``; returns its stats (see ``stats.json``)."""
    base = folder(scale) if n_weeks == WEEKS else BENCH_HOME / f"{scale:g}-w{n_weeks}"
    stats_path = base / "stats.json"
    if stats_path.is_file():
        stats = json.loads(stats_path.read_text())
        stats["cached"] = True
        return stats
    if scale >= DIRECT_FROM:
        return _direct(base, scale, n_weeks, stats_path)
    from cityimage.sample import write_sample_inbox

    inbox = base / "inbox"
    reported = weeks()[:n_weeks]
    started = time.perf_counter()
    truth = write_sample_inbox(inbox, reported, scale=scale * SAMPLE_SCALE_PER_REFERENCE)
    seconds = time.perf_counter() - started
    drops = sorted(p.name for p in inbox.iterdir() if p.is_dir())
    files = [p for p in inbox.rglob("*") if p.is_file() and not p.name.startswith("_")]
    mentions = sum(w.get("public_mentions", 0) for w in truth.mentions.values())
    stats = {
        "scale": scale,
        "sample_scale": round(scale * SAMPLE_SCALE_PER_REFERENCE, 4),
        "weeks": [w.id for w in reported],
        "history_weeks": truth.history_weeks,
        "drops": drops,
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "posts": len(truth.posts),
        "comments": len(truth.comments),
        "public_mentions": mentions,
        "search_console_exports": sum(1 for p in files if "search_console" in p.parts and p.suffix == ".zip") or
                                  len({p.parts[len(inbox.parts)] for p in files if "search_console" in p.parts}),
        "generate_seconds": round(seconds, 1),
        "inbox": str(inbox),
        "writer": "sample generator",
        "profile": None,
    }
    stats_path.write_text(json.dumps(stats, indent=1))
    stats["cached"] = False
    return stats


def _direct(base: Path, scale: float, n_weeks: int, stats_path: Path) -> dict:
    from benchmarks.reference import write_reference

    counts = write_reference(base, scale, n_weeks)
    stats = {"scale": scale, "sample_scale": None, "weeks": counts["weeks"], "history_weeks": 0, "drops": counts["drops"],
             "files": counts["files"], "bytes": counts["bytes"], "posts": counts["posts"], "comments": counts["comments"],
             "public_mentions": counts["public_mentions"], "search_console_exports": counts["search_console_exports"],
             "generate_seconds": counts["seconds"], "inbox": str(base / "inbox"), "writer": "direct writer",
             "profile": str(base / "profile.yaml")}
    stats_path.write_text(json.dumps(stats, indent=1))
    stats["cached"] = False
    return stats


def main(argv: list[str]) -> int:
    scale = float(argv[0]) if argv else 0.01
    n_weeks = int(argv[1]) if len(argv) > 1 else WEEKS
    print(json.dumps(ensure_dataset(scale, n_weeks)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
