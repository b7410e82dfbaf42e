"""The report's edge: read the published snapshots, render, write atomically.

The report is built from what was published (the Parquet and the manifest), not from the live
warehouse, so it always describes exactly the snapshot an analyst can query.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cityimage.atomic import replacing
from cityimage.output import write_csv
from cityimage.settings import Settings
from cityimage.weeks import Week
from publish.report import index_headline, missing_exports_of, render_index, render_week, write_report
from publish.snapshot import partition_path, published_weeks, read_manifest
from readers.definitions import load_register


def write_week_report(settings: Settings, week: Week) -> Path:
    """Write ``<reports>/<week>.html`` and its KPI table as CSV, refresh the previous week's page (its
    "next" link) and ``<reports>/index.html``; returns the week's page."""
    root = settings.snapshots
    published = published_weeks(root)
    city = settings.profile.city
    page = _write_page(settings, week.id, published, city)
    earlier = [w for w in published if w < week.id]
    if earlier and (settings.reports / f"{earlier[-1]}.html").is_file():
        _write_page(settings, earlier[-1], published, city)
    write_report(settings.reports / "index.html", render_index(_index_entries(root, settings.reports), city))
    return page


def _write_page(settings: Settings, week_id: str, published: list[str], city: str) -> Path:
    from transforms.kpis import load_catalogue

    root = settings.snapshots
    weeks = [w for w in published if w <= week_id]
    # diagonal: weeks published before a column was added (city_key) lack it
    history = pl.concat([pl.read_parquet(partition_path(root, "kpi_weekly", w)) for w in weeks], how="diagonal_relaxed")
    kpis = history.filter(pl.col("week_id") == week_id)
    posts_file = partition_path(root, "fct_post", week_id)
    posts = pl.read_parquet(posts_file) if posts_file.is_file() else None
    csv_name = f"{week_id}.kpis.csv"
    write_kpi_csv(settings.reports / csv_name, kpis)
    page = settings.reports / f"{week_id}.html"
    write_report(page, render_week(week_id, kpis, history, load_catalogue(), read_manifest(root, week_id) or {}, city,
                                   published=published, top_posts=posts, kpi_csv=csv_name,
                                   definitions=load_register(), live_reference=settings.pack.livestream_reference,
                                   city_context=settings.pack.report_context, label_names=settings.pack.label_names))
    return page


#: The KPI table's columns in the CSV beside each report, in the snapshot's order (unit included).
KPI_CSV_COLUMNS = ("week_id", "kpi_id", "kpi_name", "scope", "platform", "account_key", "role", "dimension",
                   "value", "unit", "numerator", "denominator", "n", "status", "note", "series_break")


def write_kpi_csv(path: Path, kpis: pl.DataFrame) -> Path:
    """The week's KPI rows as CSV for a spreadsheet: escaped cells, written whole then renamed."""
    columns = [c for c in KPI_CSV_COLUMNS if c in kpis.columns]
    rows = kpis.select(columns).sort(["kpi_id", "scope", "platform", "account_key", "role", "dimension"],
                                     nulls_last=False).rows()
    with replacing(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        write_csv(columns, rows, handle)
    return path


def _index_entries(root: Path, reports: Path) -> list[dict]:
    entries = []
    for week_id in published_weeks(root):
        kpis = pl.read_parquet(partition_path(root, "kpi_weekly", week_id))
        entries.append({"week_id": week_id, "path": f"{week_id}.html", "headline": index_headline(kpis),
                        "missing": missing_exports_of(read_manifest(root, week_id) or {})})
    return entries
