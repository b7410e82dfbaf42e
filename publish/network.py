"""The network's weekly table and page, from the cities' published snapshots (read only).

Each snapshot folder is one city's (its manifests name the city: ``publish.snapshot``). The table is
``transforms.network.network_kpis``; it is written as Parquet beside a manifest naming the cities and
the manifests it was made from, and as an HTML page, each file in one step (``cityimage.atomic``).
"""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from cityimage.atomic import replacing, write_bytes_atomic
from cityimage.settings import SettingsError
from cityimage.weeks import Week
from publish.snapshot import PARQUET_OPTIONS, manifest_path, partition_path, read_manifest
from transforms.network import network_kpis


class NetworkInputError(SettingsError):
    """A snapshot folder cannot take part: no such week, no city named, or a city given twice."""


def publish_network(week: Week, roots: list[Path], out: Path) -> dict[str, Any]:
    """Read each city's published week, write the network table, its manifest and its page under ``out``.

    A folder without the week is left out and listed (``absent``), so one late city does not stop the
    others; a folder whose manifest names no city, or a city given twice, is refused by name.
    """
    cities: dict[tuple[str, str], pl.DataFrame] = {}
    sources, absent = [], []
    for root in roots:
        manifest = read_manifest(root, week.id)
        if manifest is None:
            absent.append(str(root))
            continue
        city = manifest.get("city")
        if not city:
            raise NetworkInputError(f"{manifest_path(root, week.id)} names no city: publish the week again with "
                                    "this version, which records the city in every manifest")
        if any(key == city["key"] for key, _ in cities):
            raise NetworkInputError(f"{city['name']} is given twice (again in {root}): one snapshot folder per city")
        cities[(city["key"], city["name"])] = _city_rows(partition_path(root, "kpi_weekly", week.id), city)
        sources.append({"city_key": city["key"], "snapshots": str(root),
                        "manifest_sha256": hashlib.sha256(manifest_path(root, week.id).read_bytes()).hexdigest()})
    table = network_kpis(cities)
    with replacing(out / "network_kpis" / f"week={week.id}" / "network_kpis.parquet") as tmp:
        pq.write_table(table.to_arrow(), tmp, **PARQUET_OPTIONS)
    body = {"week_id": week.id, "cities": sorted(key for key, _ in cities), "sources": sources, "absent": absent,
            "rows": table.height}
    write_bytes_atomic(out / "manifests" / f"week={week.id}.json",
                       (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    write_bytes_atomic(out / f"network-{week.id}.html", _page(week, table, absent).encode("utf-8"))
    return body


def _city_rows(path: Path, city: dict[str, str]) -> pl.DataFrame:
    """The week's KPI rows of one city; rows that name another city than their manifest are refused (a
    folder assembled from two warehouses). Snapshots from before the city column carry it only in the
    manifest."""
    rows = pl.read_parquet(path)
    if "city_key" in rows.columns:
        others = sorted(set(rows.filter(pl.col("city_key") != city["key"])["city_key"].to_list()))
        if others:
            raise NetworkInputError(f"{path}: rows of {', '.join(others)} in {city['name']}'s snapshot (its "
                                    f"manifest names {city['key']}): one snapshot folder holds one city's weeks")
    return rows


def _page(week: Week, table: pl.DataFrame, absent: list[str]) -> str:
    """One table per KPI figure: each city's value, the network's median, the difference and the rank."""
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Network {week.id}</title>"
             "<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem}td,th{padding:.2rem .8rem;text-align:right}"
             "th:first-child,td:first-child{text-align:left}</style></head><body>",
             f"<h1>The network, week {week.id}</h1>",
             "<p>Each city's figure for its own accounts (or the public's, for what the public says), the median "
             "of the cities that have it, and its rank among them (1 = the highest value).</p>"]
    if absent:
        parts.append("<p>Not published for this week: " + ", ".join(html.escape(a) for a in absent) + "</p>")
    for (kpi_id, kpi_name, role, dimension, unit), rows in table.group_by(
            ["kpi_id", "kpi_name", "role", "dimension", "unit"], maintain_order=True):
        title = f"{kpi_id} {kpi_name} ({role}{', ' + dimension if dimension else ''}; {unit})"
        parts.append(f"<h2>{html.escape(title)}</h2><table><thead><tr><th>city</th><th>value</th><th>median</th>"
                     "<th>vs median</th><th>rank</th></tr></thead><tbody>")
        for r in rows.iter_rows(named=True):
            parts.append(f"<tr><td>{html.escape(r['city'])}</td><td>{r['value']:.4g}</td><td>{r['network_median']:.4g}"
                         f"</td><td>{r['vs_median']:+.4g}</td><td>{r['rank']} of {r['cities']}</td></tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    return "".join(parts)
