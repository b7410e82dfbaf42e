"""What the inbox delivered, and whether a week holds any data: the warehouse side of completeness.

The verdict itself is pure (``transforms.completeness``); these queries only gather its inputs.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from cityimage.weeks import Week, in_week_sql
from transforms.completeness import DELIVERY_SCHEMA

#: Every sighting of a loaded file with the account its folders (or, failing them, its own rows) name.
#: The drop date is the folder's; a file found outside dated folders counts from its export date.
_DELIVERIES = """
WITH row_account AS (
    SELECT source_file_sha256, any_value(account_handle) AS account_handle FROM stg_post
    WHERE account_handle IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT source_file_sha256, any_value(account_handle) FROM stg_account_day
    WHERE account_handle IS NOT NULL GROUP BY ALL
), file_account AS (
    SELECT source_file_sha256, any_value(account_handle) AS account_handle FROM row_account GROUP BY ALL
), daily AS (
    SELECT source_file_sha256, min(day) AS first_day, max(day) AS last_day FROM stg_account_day GROUP BY ALL
)
SELECT l.platform,
       coalesce(s.account_handle, a.account_handle) AS account_handle,
       l.detected_format AS format,
       coalesce(s.delivered_on, CAST(l.exported_at AS DATE)) AS delivered_on,
       d.first_day, d.last_day
FROM ops_file_sighting s
JOIN ops_file_ledger l USING (file_sha256)
LEFT JOIN file_account a ON a.source_file_sha256 = l.file_sha256
LEFT JOIN daily d ON d.source_file_sha256 = l.file_sha256
WHERE l.status = 'loaded' AND l.detected_format IS NOT NULL
  AND coalesce(s.account_handle, a.account_handle) IS NOT NULL
"""


def deliveries(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row per sighting of a loaded, attributable file (``DELIVERY_SCHEMA``)."""
    frame = con.sql(_DELIVERIES).pl()
    return frame.select([pl.col(name).cast(dtype) for name, dtype in DELIVERY_SCHEMA.items()])


def week_rows(con: duckdb.DuckDBPyConnection, week: Week, zone: ZoneInfo) -> dict[str, int]:
    """How many facts fall in the week, by kind: all zero means there is nothing to report on."""
    instants, days = week.sql_params(zone), {"monday": week.monday, "sunday": week.sunday}
    queries = {
        "posts published": (f"SELECT count(*) FROM fct_post WHERE {in_week_sql('published_at', 'published_week')}", instants),
        "comments written": (f"SELECT count(*) FROM fct_comment WHERE {in_week_sql('created_at', 'created_week')}", instants),
        "account days": ("SELECT count(*) FROM fct_follower_day WHERE day BETWEEN $monday AND $sunday", days),
        "search windows": ("SELECT count(*) FROM fct_search_query WHERE window_start <= $sunday AND window_end >= $monday",
                           days),
    }
    return {label: int(con.execute(sql, params).fetchall()[0][0]) for label, (sql, params) in queries.items()}


#: Files holding at least one staged row dated in the week: the files a week's figures are read from.
_WEEK_FILES = f"""
SELECT source_file_sha256 FROM stg_post WHERE {in_week_sql("published_at")}
UNION SELECT source_file_sha256 FROM stg_comment WHERE {in_week_sql("created_at")}
UNION SELECT source_file_sha256 FROM stg_account_day WHERE day BETWEEN $monday AND $sunday
UNION SELECT source_file_sha256 FROM stg_audience WHERE window_start <= $sunday AND window_end >= $monday
UNION SELECT source_file_sha256 FROM stg_search WHERE window_start <= $sunday AND window_end >= $monday
"""


def week_files(con: duckdb.DuckDBPyConnection, week: Week, zone: ZoneInfo) -> set[str]:
    """Hashes of the files with rows dated in the week (posts published, comments written, days, windows)."""
    start, end = week.bounds_utc(zone)
    params = {"start": start, "end": end, "monday": week.monday, "sunday": week.sunday}
    return {row[0] for row in con.execute(_WEEK_FILES, params).fetchall()}
