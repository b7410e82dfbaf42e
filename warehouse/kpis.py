"""The KPI stage's side of the warehouse: the facts a week's KPIs read, and the record that lets a run
with nothing new keep the week's rows (``ops_kpi_computation``)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from cityimage.weeks import Week, in_week_sql
from transforms.model import FACT_TABLES, Facts
from warehouse.connection import insert_frame
from warehouse.transaction import transaction


def last_fact_build(con: duckdb.DuckDBPyConnection) -> str | None:
    """The last fact build that changed the facts, or None before the first."""
    last = con.execute("SELECT build_id FROM ops_fact_build ORDER BY finished_at DESC LIMIT 1").fetchall()
    return last[0][0] if last else None


def kept_kpis(con: duckdb.DuckDBPyConnection, week: Week, build_id: str | None, digest: str) -> dict[str, Any] | None:
    """The figures of the week's KPI rows when they came from this fact build and these definitions, else None."""
    rows = con.execute(
        "SELECT c.computed_at, count(k.kpi_id), count(k.kpi_id) FILTER (WHERE k.status = 'absent') "
        "FROM ops_kpi_computation c LEFT JOIN kpi_weekly k ON k.week_id = c.week_id "
        "WHERE c.week_id = $1 AND c.build_id IS NOT DISTINCT FROM $2 AND c.fingerprint = $3 "
        "GROUP BY c.computed_at, c.kpi_rows HAVING count(k.kpi_id) = c.kpi_rows",
        [week.id, build_id, digest],
    ).fetchall()
    if not rows:
        return None
    computed_at, count, absent = rows[0]
    return {"rows": count, "absent": absent, "kept": f"unchanged since {computed_at:%Y-%m-%d %H:%M %Z}: same facts, same definitions"}


def read_facts(con: duckdb.DuckDBPyConnection, week: Week, zone: ZoneInfo) -> Facts:
    """What a week's KPIs read: every fact table whole, but only the week's comments (``week_comments``)
    and of the public's accounts one per platform (``registered_accounts``)."""
    whole = {name: read_table(con, name) for name in FACT_TABLES if name not in ("fct_comment", "dim_account")}
    return Facts(**whole, dim_account=registered_accounts(con), fct_comment=week_comments(con, week, zone))


#: The registered accounts, and one public account per platform the public was seen on. The public's
#: accounts are every commenter and mentioner (1.8M at the reference year, 0.5 GB once read) and no KPI
#: looks at them one by one: only at the platforms they are on.
REGISTERED_ACCOUNTS = """
    SELECT * FROM dim_account WHERE role <> 'public'
    UNION ALL
    SELECT * FROM dim_account WHERE role = 'public' QUALIFY row_number() OVER (PARTITION BY platform ORDER BY account_key) = 1"""


def registered_accounts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``dim_account`` as the KPIs read it (:data:`REGISTERED_ACCOUNTS`), sorted, timestamps relabelled ``UTC``."""
    return _relabel_utc(con.sql(f"SELECT * FROM ({REGISTERED_ACCOUNTS}) ORDER BY account_key").pl())


def store_kpis(con: duckdb.DuckDBPyConnection, week: Week, kpis: pl.DataFrame, build_id: str | None, digest: str) -> None:
    """Replace the week's rows of ``kpi_weekly`` and the record of what they were computed from, in one transaction."""
    with transaction(con):
        con.execute("DELETE FROM kpi_weekly WHERE week_id = ?", [week.id])
        insert_frame(con, "kpi_weekly", kpis)
        con.execute("DELETE FROM ops_kpi_computation WHERE week_id = ?", [week.id])
        con.execute("INSERT INTO ops_kpi_computation VALUES (?, ?, ?, now(), ?)", [week.id, build_id, digest, kpis.height])


def week_comments(con: duckdb.DuckDBPyConnection, week: Week, zone: ZoneInfo) -> pl.DataFrame:
    """The comments a week's KPIs can look at: created in the week, or undated and labelled with it.

    The KPIs select the same rows again (``Context._week_filter``); reading only these keeps the
    KPI stage's memory at one week of comments instead of the whole history, the largest table.
    """
    condition = in_week_sql("created_at", "created_week")
    return _relabel_utc(con.sql(f"SELECT * FROM fct_comment WHERE {condition}", params=week.sql_params(zone)).pl())


def read_table(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    """A whole table as Polars, timestamps relabelled ``UTC``."""
    return _relabel_utc(con.sql(f"SELECT * FROM {table}").pl())


def _relabel_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Timestamps relabelled ``UTC``: DuckDB hands them over as ``Etc/UTC``, the transforms compare with ``UTC``."""
    return frame.with_columns(
        [pl.col(c).dt.convert_time_zone("UTC") for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    )
