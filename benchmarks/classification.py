"""``make bench-classify``: the comment classifier with its trained models against the lexicons alone.

    python -m benchmarks.classification [--rows 1000000] [--out benchmarks/classification.md]

The lexicons alone are what classification cost before the models; the target is that the models keep
it within 2× in time and in peak memory. Both run in fresh child processes on the same synthetic,
all-distinct comments (``benchmarks.comments``), alternating, ``REPEATS`` times; medians are reported
as ratios because the machines are shared. Writes the Markdown page and ``benchmarks/classification.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.measure import run_child
from benchmarks.run import machine

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 2
TARGET = 2.0


def measure(rows: int) -> dict:
    runs: dict[str, list[dict]] = {"lexicons": [], "models": []}
    for _ in range(REPEATS):
        for name in ("lexicons", "models"):
            runs[name].append(run_child("classify_comments", {"rows": rows, "models": name == "models"}))
    figures = {name: {"seconds": statistics.median(r["seconds"] for r in rs),
                      "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rs),
                      "spam": rs[0]["spam"], "rated": rs[0]["rated"]} for name, rs in runs.items()}
    time_ratio = figures["models"]["seconds"] / figures["lexicons"]["seconds"]
    memory_ratio = figures["models"]["peak_rss_mb"] / figures["lexicons"]["peak_rss_mb"]
    return {"rows": rows, "repeats": REPEATS, "figures": figures, "time_ratio": round(time_ratio, 2),
            "memory_ratio": round(memory_ratio, 2), "target": TARGET,
            "met": time_ratio <= TARGET and memory_ratio <= TARGET, "runs": runs,
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine()}


def render(res: dict) -> str:
    f = res["figures"]
    verdict = "meets" if res["met"] else "misses"
    return "\n".join([
        "# Classification benchmark",
        "",
        f"{res['rows']:,} synthetic distinct comments in eleven languages (our own phrases, not real comments), "
        f"classified in a fresh process, median of {res['repeats']} alternating runs; measured "
        f"{res['measured_at']} on {res['machine'].get('cores', '?')} cores. `make bench-classify` rewrites this page.",
        "",
        "| classifier | seconds | peak RSS (MB) | spam | rated |",
        "|---|---:|---:|---:|---:|",
        *(f"| {name} | {v['seconds']:.1f} | {v['peak_rss_mb']:.0f} | {v['spam']:,} | {v['rated']:,} |"
          for name, v in (("lexicons alone (before the models)", f["lexicons"]),
                          ("lexicons + trained models", f["models"]))),
        "",
        f"Ratios, models ÷ lexicons alone: time **{res['time_ratio']}×**, peak memory **{res['memory_ratio']}×** "
        f"(target ≤ {res['target']}× in both: {verdict} it).",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.classification", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "classification.md")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "classification.json")
    args = parser.parse_args(argv)
    res = measure(args.rows)
    args.results.write_text(json.dumps(res, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    args.out.write_text(render(res), encoding="utf-8")
    print(render(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
