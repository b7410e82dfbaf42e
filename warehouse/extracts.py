"""What a week's snapshot publishes: for each table, the rows that belong to the week and their order.

One place for both the publisher (``week_tables``) and the analyst's views
(``cityimage.analyst``). Rows are sorted on their key so the same warehouse gives byte-identical
Parquet. ``dim_account`` is not published: it holds every commenter, not the week's facts.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from cityimage.weeks import Week

#: table -> (the week's rows, given $week, $monday and $sunday; the sort order, a total order on the table's key)
WEEK_EXTRACTS: dict[str, tuple[str, str]] = {
    "kpi_weekly": ("week_id = $week", "kpi_id, scope, platform, account_key, role, dimension"),
    "fct_post": ("published_week = $week", "platform, post_id"),
    "fct_post_metric_snapshot": (
        "(platform, post_id) IN (SELECT (platform, post_id) FROM fct_post WHERE published_week = $week)",
        "platform, post_id, exported_at, source_file_sha256"),
    "fct_comment": ("created_week = $week", "platform, comment_id"),
    "fct_mention": ("published_week = $week", "platform, post_id"),
    "fct_livestream": ("week_id = $week", "platform, post_id"),
    "fct_follower_day": ("day BETWEEN $monday AND $sunday", "platform, account_key, day"),
    "fct_audience_country": ("window_start <= $sunday AND window_end >= $monday", "ALL"),
    "fct_search_query": ("window_start <= $sunday AND window_end >= $monday", "ALL"),
}
SNAPSHOT_TABLES: tuple[str, ...] = tuple(WEEK_EXTRACTS)


def extract_query(table: str, week_id: str, monday: date, sunday: date) -> tuple[str, dict[str, object]]:
    """The query of one table's week extract and the parameters it names (DuckDB refuses unused ones)."""
    condition, order = WEEK_EXTRACTS[table]
    params = {"week": week_id, "monday": monday, "sunday": sunday}
    return (f"SELECT * FROM {table} WHERE {condition} ORDER BY {order}",
            {name: value for name, value in params.items() if f"${name}" in condition})


def week_tables(con: duckdb.DuckDBPyConnection, week: Week) -> dict[str, pl.DataFrame]:
    """The KPI rows and fact extracts of one week, sorted for byte-stable Parquet."""
    tables = {}
    for table in WEEK_EXTRACTS:
        query, params = extract_query(table, week.id, week.monday, week.sunday)
        tables[table] = con.sql(query, params=params).pl()
    return tables
