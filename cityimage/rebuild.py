"""Rebuild a warehouse from the inbox's raw files alone: the proof that the warehouse is derived data.

A fresh warehouse at ``target`` (never the live one), every file of the inbox ingested, facts rebuilt,
KPIs recomputed for the given weeks. Because loading is idempotent and facts and KPIs are functions of
staging, the result equals the warehouse built week by week (tests/resilience/test_backup_restore.py).
"""

from __future__ import annotations

from pathlib import Path

from cityimage.settings import Settings
from cityimage.weeks import Week


def rebuild(settings: Settings, target: Path, weeks: list[Week]) -> Path:
    """Build a new warehouse at ``target`` from ``settings.inbox``; refuses to overwrite anything."""
    from flows import stages

    if target.exists():
        raise FileExistsError(f"{target} exists: rebuild writes a new warehouse, never over one")
    if target.resolve() == settings.warehouse.resolve():
        raise ValueError("rebuild writes beside the live warehouse, not over it")
    fresh = settings.model_copy(update={"warehouse_path": target})
    stages.ingest(fresh)
    stages.build_facts(fresh)
    for week in weeks:
        stages.compute_kpis(fresh, week)
    return target
