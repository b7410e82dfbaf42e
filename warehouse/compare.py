"""What a rebuild would change: the live warehouse against one rebuilt from the inbox, side by side.

Both files are attached read-only to one in-memory DuckDB session, so the comparison is plain SQL
and touches neither. Account keys of newly registered accounts change (a pseudonym becomes the
account's own key), so accounts and posts are compared by what a reader sees — registered accounts
by platform and handle, posts by platform, id and role — and KPIs on their natural key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

KPI_KEY = ("week_id", "kpi_id", "scope", "platform", "account_key", "role", "dimension")


@dataclass(frozen=True)
class RebuildDiff:
    """The changes a rebuild brings, each as rows ready to print."""

    registered_added: list[tuple[str, str, str]] = field(default_factory=list)  # platform, handle, role
    registered_removed: list[tuple[str, str, str]] = field(default_factory=list)
    posts_by_role: list[tuple[str, str, int, int]] = field(default_factory=list)  # platform, role, before, after
    kpi_changes: list[tuple[str, int, int, int]] = field(default_factory=list)  # week, changed, added, removed
    headline_changes: list[tuple[str, str, str, str, float | None, float | None]] = field(default_factory=list)
    files_missing_from_inbox: list[tuple[str, str]] = field(default_factory=list)  # sha256, file name

    @property
    def is_empty(self) -> bool:
        return not (self.registered_added or self.registered_removed or self.kpi_changes
                    or any(before != after for *_, before, after in self.posts_by_role))


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def compare(live: Path, rebuilt: Path, weeks: list[str]) -> RebuildDiff:
    """The differences between ``live`` and ``rebuilt`` over ``weeks``; neither file is written."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH {_quote(live)} AS live (READ_ONLY)")
        con.execute(f"ATTACH {_quote(rebuilt)} AS new (READ_ONLY)")
        return RebuildDiff(
            registered_added=_registered(con, "new", "live"),
            registered_removed=_registered(con, "live", "new"),
            posts_by_role=_posts_by_role(con),
            kpi_changes=_kpi_changes(con, weeks),
            headline_changes=_headline_changes(con, weeks),
            files_missing_from_inbox=con.execute(
                "SELECT file_sha256, file_name FROM live.ops_file_ledger WHERE status = 'loaded' AND file_sha256 NOT IN "
                "(SELECT file_sha256 FROM new.ops_file_ledger WHERE status = 'loaded') ORDER BY file_name").fetchall(),
        )
    finally:
        con.close()


def _registered(con: duckdb.DuckDBPyConnection, side: str, other: str) -> list[tuple[str, str, str]]:
    sql = (f"SELECT platform, lower(account_handle), role FROM {side}.dim_account WHERE is_registered "
           f"EXCEPT SELECT platform, lower(account_handle), role FROM {other}.dim_account WHERE is_registered ORDER BY ALL")
    return con.execute(sql).fetchall()


def _posts_by_role(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, int]]:
    sql = """
        WITH b AS (SELECT platform, role, count(*) AS n FROM live.fct_post GROUP BY ALL),
             a AS (SELECT platform, role, count(*) AS n FROM new.fct_post GROUP BY ALL)
        SELECT coalesce(a.platform, b.platform), coalesce(a.role, b.role), coalesce(b.n, 0), coalesce(a.n, 0)
        FROM a FULL JOIN b ON a.platform = b.platform AND a.role IS NOT DISTINCT FROM b.role ORDER BY 1, 2
    """
    return con.execute(sql).fetchall()


def _kpi_join(weeks_param: str = "$weeks") -> str:
    on = " AND ".join(f"a.{c} IS NOT DISTINCT FROM b.{c}" for c in KPI_KEY)
    return (f"(SELECT * FROM live.kpi_weekly WHERE list_contains({weeks_param}, week_id)) b FULL JOIN "
            f"(SELECT * FROM new.kpi_weekly WHERE list_contains({weeks_param}, week_id)) a ON {on}")


def _kpi_changes(con: duckdb.DuckDBPyConnection, weeks: list[str]) -> list[tuple[str, int, int, int]]:
    sql = f"""
        SELECT coalesce(a.week_id, b.week_id) AS week,
               count(*) FILTER (WHERE a.kpi_id IS NOT NULL AND b.kpi_id IS NOT NULL AND
                                (a.value IS DISTINCT FROM b.value OR a.status IS DISTINCT FROM b.status)),
               count(*) FILTER (WHERE b.kpi_id IS NULL), count(*) FILTER (WHERE a.kpi_id IS NULL)
        FROM {_kpi_join()} GROUP BY week ORDER BY week
    """
    rows = con.execute(sql, {"weeks": weeks}).fetchall()
    return [r for r in rows if any(r[1:])]


def _headline_changes(con: duckdb.DuckDBPyConnection, weeks: list[str], limit: int = 40
                      ) -> list[tuple[str, str, str, str, float | None, float | None]]:
    """Role roll-ups across platforms (the report's headline figures) whose value moved."""
    sql = f"""
        SELECT coalesce(a.week_id, b.week_id), coalesce(a.kpi_id, b.kpi_id), coalesce(a.kpi_name, b.kpi_name),
               coalesce(a.role, b.role), b.value, a.value
        FROM {_kpi_join()}
        WHERE coalesce(a.scope, b.scope) = 'role' AND coalesce(a.platform, b.platform) IS NULL
          AND coalesce(a.dimension, b.dimension) IS NULL AND a.value IS DISTINCT FROM b.value
        ORDER BY 1, 2, 4 LIMIT {limit}
    """
    return con.execute(sql, {"weeks": weeks}).fetchall()
