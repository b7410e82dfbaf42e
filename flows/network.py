"""The network flow: the cities' published weeks side by side (``publish.network``), for a network of
cities that each run their own weekly flow. It only reads their snapshot folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from cityimage.weeks import Week
from publish.network import publish_network


@flow(name="network")
def network(week: str, snapshots: list[str], out: str) -> dict[str, Any]:
    """Publish the network table and page of ``week`` from the cities' snapshot folders into ``out``."""
    summary = publish_network(Week.parse(week), [Path(p) for p in snapshots], Path(out))
    get_run_logger().info("network %s: %s cities, %s rows; not published: %s", week, len(summary["cities"]),
                          summary["rows"], summary["absent"] or "none")
    return summary
