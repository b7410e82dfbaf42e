"""The report's edge: read the published snapshots, render, write atomically.

The report is built from what was published (the Parquet and the manifest), not from the live
warehouse, so it always describes exactly the snapshot an analyst can query.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cityimage.profile import load_profile
from cityimage.settings import Settings
from cityimage.weeks import Week
from publish.report import index_headline, missing_exports_of, render_index, render_week, write_report
from publish.snapshot import partition_path, published_weeks, read_manifest


def write_week_report(settings: Settings, week: Week) -> Path:
    """Write ``<reports>/<week>.html`` and refresh ``<reports>/index.html``; returns the week's page."""
    from transforms.kpis import load_catalogue

    root = settings.snapshots
    weeks = [w for w in published_weeks(root) if w <= week.id]
    history = pl.concat([pl.read_parquet(partition_path(root, "kpi_weekly", w)) for w in weeks], how="vertical_relaxed")
    kpis = history.filter(pl.col("week_id") == week.id)
    city = load_profile(settings.profile_path).city
    manifest = read_manifest(root, week.id) or {}
    page = settings.reports / f"{week.id}.html"
    write_report(page, render_week(week.id, kpis, history, load_catalogue(), manifest, city))
    write_report(settings.reports / "index.html", render_index(_index_entries(root, settings.reports), city))
    return page


def _index_entries(root: Path, reports: Path) -> list[dict]:
    entries = []
    for week_id in published_weeks(root):
        kpis = pl.read_parquet(partition_path(root, "kpi_weekly", week_id))
        entries.append({"week_id": week_id, "path": f"{week_id}.html", "headline": index_headline(kpis),
                        "missing": missing_exports_of(read_manifest(root, week_id) or {})})
    return entries
