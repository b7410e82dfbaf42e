"""The frames the KPIs are computed from: one field per ``dim_``/``fct_`` table of the warehouse.

Columns and grains are those of the table catalogue (``cityimage/tables.yaml``); the flow reads the
tables into this container, the KPI functions read only from it, so they stay pure and testable on
small hand-built frames.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import polars as pl

from cityimage.tables import table, tables_of

FACT_TABLES: tuple[str, ...] = tuple(t.name for t in tables_of("dimension", "fact"))


@dataclass(frozen=True)
class Facts:
    """All fact and dimension frames; a missing table is an empty frame, never None."""

    dim_account: pl.DataFrame
    fct_post: pl.DataFrame
    fct_post_metric_snapshot: pl.DataFrame
    fct_comment: pl.DataFrame
    fct_mention: pl.DataFrame
    fct_livestream: pl.DataFrame
    fct_follower_day: pl.DataFrame
    fct_audience_country: pl.DataFrame
    fct_search_query: pl.DataFrame

    def __post_init__(self) -> None:
        assert tuple(f.name for f in fields(self)) == FACT_TABLES


KPI_COLUMNS: dict[str, pl.DataType] = table("kpi_weekly").schema
"""The columns and types of a KPI row, as the table catalogue declares ``kpi_weekly``."""
