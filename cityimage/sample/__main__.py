"""``python -m cityimage.sample ROOT [--first 2026-W44] [--last 2026-W47] [--seed N] [--scale X]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from cityimage.sample.generator import DEFAULT_FIRST_WEEK, DEFAULT_LAST_WEEK, DEFAULT_SEED, write_sample_inbox
from cityimage.weeks import Week, week_range


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cityimage.sample", description="Write the sample inbox.")
    parser.add_argument("root", type=Path, help="folder to write the inbox into")
    parser.add_argument("--first", default=DEFAULT_FIRST_WEEK, help="first reported ISO week (YYYY-Www)")
    parser.add_argument("--last", default=DEFAULT_LAST_WEEK, help="last reported ISO week (YYYY-Www)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the volumes (for benchmarks)")
    args = parser.parse_args(argv)
    weeks = week_range(Week.parse(args.first), Week.parse(args.last))
    truth = write_sample_inbox(args.root, weeks, args.seed, scale=args.scale)
    print(f"wrote {len(truth.files)} files for {', '.join(truth.weeks)} under {args.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
