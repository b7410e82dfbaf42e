"""The frames the KPIs are computed from: one field per ``dim_``/``fct_`` table of the warehouse.

Columns and grains are those of ``warehouse/migrations/0002_facts_and_kpis.sql``; the flow reads the
tables into this container, the KPI functions read only from it, so they stay pure and testable on
small hand-built frames.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import polars as pl

FACT_TABLES = (
    "dim_account",
    "fct_post",
    "fct_post_metric_snapshot",
    "fct_comment",
    "fct_mention",
    "fct_livestream",
    "fct_follower_day",
    "fct_audience_country",
    "fct_search_query",
)


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


KPI_COLUMNS: dict[str, pl.DataType] = {
    "week_id": pl.String(),
    "kpi_id": pl.String(),
    "kpi_name": pl.String(),
    "scope": pl.String(),        # account | role
    "platform": pl.String(),     # null for a cross-platform roll-up
    "account_key": pl.String(),  # null for a role roll-up
    "role": pl.String(),
    "dimension": pl.String(),    # theme, format, label, bucket, keyword … or null
    "value": pl.Float64(),
    "numerator": pl.Float64(),
    "denominator": pl.Float64(),
    "n": pl.Int64(),
    "unit": pl.String(),         # ratio | count | hours | pp | score | index
    "status": pl.String(),       # ok | flagged | absent
    "note": pl.String(),
    "value_low": pl.Float64(),   # C1, C5, D3: the value's range under the classifiers' measured error
    "value_high": pl.Float64(),
    "series_break": pl.String(),  # metric definition changes (ids) the figure's inputs straddle, or null
}
