"""Is a week complete? Each account's expected exports against what the inbox delivered.

Pure: frames in, one frame out. A week that lacks an expected export is published as *incomplete*
(never as a normal week), and a week without any data at all is refused, because a KPI of
"not available" across the board reads like a week of silence when it is a week of missing files.

When an export counts as delivered for a week:
- a daily series (a file with account-day rows) must hold at least one day of the week: an export
  of last week's days does not cover this one, however recently it was downloaded;
- any other export must be dated on or after the week's last day (by its drop folder, else by the
  export's own date), or for an export delivered every N weeks, no more than N - 1 weeks before it.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

#: The expected exports: one row per account and export format.
EXPECTED_SCHEMA = {"platform": pl.String, "account_handle": pl.String, "role": pl.String, "format": pl.String,
                   "every_weeks": pl.Int64}
#: What the inbox delivered: one row per sighting of a loaded file, with the days of its daily rows.
DELIVERY_SCHEMA = {"platform": pl.String, "account_handle": pl.String, "format": pl.String,
                   "delivered_on": pl.Date, "first_day": pl.Date, "last_day": pl.Date}


def week_completeness(expected: pl.DataFrame, deliveries: pl.DataFrame, monday: date) -> pl.DataFrame:
    """One row per expected export: whether the week ``monday``..``monday + 6`` received it.

    Columns: platform, account_handle, role, format, every_weeks, is_delivered, last_delivered_on
    (the latest delivery of that export for the account, whichever week it covered).
    Accounts match case-insensitively, as handles do everywhere else.
    """
    sunday = monday + timedelta(days=6)
    keyed = deliveries.with_columns(pl.col("account_handle").str.to_lowercase().alias("_account"))
    wanted = expected.with_columns(pl.col("account_handle").str.to_lowercase().alias("_account"))
    pairs = wanted.join(keyed.drop("account_handle"), on=["platform", "_account", "format"], how="left")
    is_daily = pl.col("first_day").is_not_null()
    fresh_from = pl.lit(sunday) - pl.duration(days=7 * (pl.col("every_weeks") - 1))
    covers = pl.when(is_daily).then((pl.col("first_day") <= sunday) & (pl.col("last_day") >= monday)).otherwise(
        pl.col("delivered_on") >= fresh_from)
    return (
        pairs.with_columns(covers.fill_null(False).alias("is_delivered"))
        .group_by(["platform", "account_handle", "role", "format", "every_weeks"], maintain_order=True)
        .agg(pl.col("is_delivered").any(), pl.col("delivered_on").max().alias("last_delivered_on"))
        .sort(["platform", "account_handle", "format"])
    )


def missing_exports(completeness: pl.DataFrame) -> list[str]:
    """One sentence per export the week lacks, for the manifest, the report and the run's log."""
    lines = []
    for row in completeness.filter(~pl.col("is_delivered")).iter_rows(named=True):
        last = f"last delivered {row['last_delivered_on']}" if row["last_delivered_on"] else "never delivered"
        every = "" if row["every_weeks"] == 1 else f" (expected every {row['every_weeks']} weeks)"
        lines.append(f"{row['platform']}/{row['account_handle']}: no {row['format']} for this week{every}; {last}")
    return lines
