"""Small warehouses for the quality-gate tests: clean rows per table, and one violating row per check.

Everything is written with plain SQL through ``warehouse.connection.open_writer``, so the tests need
neither readers nor transforms. The gated week is 2026-W47 in Asia/Shanghai (Mon 16 – Sun 22 Nov 2026),
validated on 24 Nov 2026.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from cityimage.weeks import Week
from expectations.checks import Check
from expectations.suites import SuiteContext

WEEK = "2026-W47"
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=timezone.utc)
CITY_KEY = "testcity"
CTX = SuiteContext(now=NOW, week=Week.parse(WEEK), zone=ZONE, city=CITY_KEY)
EXPORTED = datetime(2026, 11, 21, tzinfo=timezone.utc)
PUBLISHED = datetime(2026, 11, 17, 10, 0, tzinfo=timezone.utc)
DAY = date(2026, 11, 18)
FILE = "f" * 64


def record_city(con: duckdb.DuckDBPyConnection, key: str = CITY_KEY) -> None:
    """Record the warehouse's city, as the first writing stage does: rows written after it carry it."""
    con.execute("INSERT INTO ops_city VALUES (?, ?, now())", [key, key.title()])


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Plain INSERTs; a table whose rows carry the city gets the test city unless the row names one."""
    from warehouse.city import stamped

    for row in rows:
        if stamped(table):
            row = {"city_key": CITY_KEY} | row
        cols = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        con.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(row.values()))


def ledger(con: duckdb.DuckDBPyConnection, sha: str, name: str, rows_read: int, *, loaded: int | None = None,
           quarantined: int = 0, skipped: int = 0, duplicate: int = 0) -> None:
    insert(con, "ops_file_ledger", [{
        "file_sha256": sha, "file_name": name, "file_bytes": 100, "status": "loaded", "platform": "youtube",
        "rows_read": rows_read, "rows_loaded": rows_read - quarantined - skipped - duplicate if loaded is None else loaded,
        "rows_quarantined": quarantined, "rows_skipped": skipped, "rows_duplicate": duplicate,
        "exported_at": EXPORTED, "load_id": "L1", "first_seen_at": EXPORTED, "loaded_at": EXPORTED,
    }])


def lineage(n: int, sha: str = FILE) -> dict[str, Any]:
    return {"source_row": n, "source_format": "test", "source_file_sha256": sha, "load_id": "L1"}


# -- one clean row per table; ``marker`` is the key column varied to keep rows distinct ------------

def video_id(n: int) -> str:
    return f"vid{n:08d}"  # 11 characters: a valid YouTube video id


@dataclass(frozen=True)
class TableSpec:
    table: str
    marker: str
    make: Any  # n -> clean row

    def marker_value(self, n: int) -> str:
        return str(self.make(n)[self.marker])


def _post(n: int) -> dict[str, Any]:
    return {
        "platform": "youtube", "account_handle": "iChongqing", "post_id": video_id(n), "published_at": PUBLISHED,
        "format": "video", "impressions": 1000, "reach": 800, "views": 500, "likes": 50, "comments": 5, "shares": 3,
        "quotes": 0, "saves": 2, "clicks": 10, "engagements_reported": 70, "new_followers": -2, "duration_s": 60.0,
        "watch_time_h": 2.5, "avg_watch_time_s": 30.0, "avg_pct_viewed": 110.0, "is_live": True,
        "live_started_at": PUBLISHED, "live_ended_at": PUBLISHED + timedelta(hours=1),
        "peak_concurrent_viewers": 100, "avg_concurrent_viewers": 40, "exported_at": EXPORTED, **lineage(n),
    }


def _comment(n: int) -> dict[str, Any]:
    return {
        "platform": "youtube", "comment_id": f"Ug{n:06d}", "post_id": video_id(1), "text": "nice city",
        "created_at": PUBLISHED + timedelta(hours=2), "like_count": 3, "reply_count": 1, "exported_at": EXPORTED,
        **lineage(n),
    }


def _account_day(n: int) -> dict[str, Any]:
    return {
        "platform": "youtube", "account_handle": f"acct{n}", "day": DAY, "followers": 1000, "followers_gained": 10,
        "followers_lost": 2, "impressions": 5000, "reach": 4000, "views": 3000, "engagements": 300, "likes": 200,
        "comments": 20, "shares": 10, "profile_views": 50, "posts_published": 1, "exported_at": EXPORTED, **lineage(n),
    }


def _audience(n: int) -> dict[str, Any]:
    return {
        "platform": "youtube", "account_handle": "iChongqing", "dimension": "country", "value": f"C{n:03d}",
        "window_start": date(2026, 11, 16), "window_end": date(2026, 11, 20), "views": 100, "watch_time_h": 1.5,
        "avg_watch_time_s": 20.0, "share": 0.1, "exported_at": EXPORTED, **lineage(n),
    }


def _search(n: int) -> dict[str, Any]:
    return {
        "property": "https://example.org/", "search_type": "web", "dimension": "query", "value": f"chongqing {n}",
        "window_start": date(2026, 11, 16), "window_end": date(2026, 11, 20), "clicks": 5, "impressions": 100,
        "ctr": 0.05, "position": 3.2, "exported_at": EXPORTED, **lineage(n),
    }


def _dim_account(n: int) -> dict[str, Any]:
    return {"account_key": f"youtube:acct{n}", "platform": "youtube", "account_handle": f"acct{n}", "role": "owned",
            "is_registered": True}


def _fct_post(n: int) -> dict[str, Any]:
    return {
        "platform": "youtube", "post_id": video_id(n), "account_key": "youtube:ichongqing", "role": "owned",
        "published_at": PUBLISHED, "published_week": WEEK, "format": "video", "impressions": 1000, "reach": 800,
        "views": 500, "likes": 50, "comments": 5, "shares": 3, "quotes": 0, "saves": 2, "engagements": 70,
        "avg_pct_viewed": 40.0, "latest_exported_at": EXPORTED, "snapshots": 1,
    }


def _fct_snapshot(n: int) -> dict[str, Any]:
    return {
        "platform": "youtube", "post_id": video_id(n), "account_key": "youtube:ichongqing", "exported_at": EXPORTED,
        "age_days": 3.6, "impressions": 1000, "reach": 800, "views": 500, "likes": 50, "comments": 5, "shares": 3,
        "quotes": 0, "saves": 2, "engagements": 70, "source_file_sha256": FILE,
    }


def _fct_comment(n: int) -> dict[str, Any]:
    created = PUBLISHED + timedelta(hours=2)
    return {
        "platform": "youtube", "comment_id": f"Ug{n:06d}", "post_id": video_id(1), "is_by_post_account": False,
        "is_top_level": True, "created_at": created, "created_week": WEEK, "text": "nice", "sentiment": "positive",
        "sentiment_score": 0.6, "first_reply_at": created + timedelta(hours=5), "first_reply_hours": 5.0,
    }


def _fct_mention(n: int) -> dict[str, Any]:
    return {"platform": "x", "post_id": str(1_000_000 + n), "account_key": "x:someone", "published_at": PUBLISHED,
            "published_week": WEEK, "text": "Chongqing!"}


def _fct_livestream(n: int) -> dict[str, Any]:
    return {"platform": "youtube", "post_id": video_id(n), "account_key": "youtube:ichongqing", "started_at": PUBLISHED,
            "ended_at": PUBLISHED + timedelta(hours=1), "week_id": WEEK, "duration_s": 3600.0, "views": 900,
            "peak_concurrent_viewers": 100, "avg_concurrent_viewers": 40, "avg_watch_time_s": 300.0, "likes": 80,
            "comments": 30}


def _fct_follower_day(n: int) -> dict[str, Any]:
    return {"account_key": f"youtube:acct{n}", "platform": "youtube", "day": DAY, "followers": 1000,
            "followers_gained": 10, "followers_lost": 2, "views": 3000}


def _fct_audience_country(n: int) -> dict[str, Any]:
    return {"account_key": "youtube:ichongqing", "platform": "youtube", "post_id": None, "country": f"C{n:03d}",
            "window_start": date(2026, 11, 16), "window_end": date(2026, 11, 20), "views": 100, "share": 0.1}


def _fct_search_query(n: int) -> dict[str, Any]:
    return {"property": "https://example.org/", "dimension": "query", "value": f"chongqing {n}",
            "window_start": date(2026, 11, 16), "window_end": date(2026, 11, 20), "clicks": 5, "impressions": 100,
            "ctr": 0.05, "position": 3.2}


STAGING = {
    "stg_post": TableSpec("stg_post", "post_id", _post),
    "stg_comment": TableSpec("stg_comment", "comment_id", _comment),
    "stg_account_day": TableSpec("stg_account_day", "account_handle", _account_day),
    "stg_audience": TableSpec("stg_audience", "value", _audience),
    "stg_search": TableSpec("stg_search", "value", _search),
}
FACTS = {
    "dim_account": TableSpec("dim_account", "account_key", _dim_account),
    "fct_post": TableSpec("fct_post", "post_id", _fct_post),
    "fct_post_metric_snapshot": TableSpec("fct_post_metric_snapshot", "post_id", _fct_snapshot),
    "fct_comment": TableSpec("fct_comment", "comment_id", _fct_comment),
    "fct_mention": TableSpec("fct_mention", "post_id", _fct_mention),
    "fct_livestream": TableSpec("fct_livestream", "post_id", _fct_livestream),
    "fct_follower_day": TableSpec("fct_follower_day", "account_key", _fct_follower_day),
    "fct_audience_country": TableSpec("fct_audience_country", "country", _fct_audience_country),
    "fct_search_query": TableSpec("fct_search_query", "value", _fct_search_query),
}
TABLES = {**STAGING, **FACTS}


def clean_warehouse(con: duckdb.DuckDBPyConnection, rows_per_table: int = 3) -> None:
    """Every staging and fact table with a few rows that pass every check; the ledger balances."""
    for spec in TABLES.values():
        insert(con, spec.table, [spec.make(n) for n in range(1, rows_per_table + 1)])
    ledger(con, FILE, "clean.csv", rows_per_table * len(STAGING))


def _shift(value: Any, by: int) -> Any:
    if isinstance(value, (datetime, date)):
        return value + timedelta(days=by)
    return value + by


def violation(check: Check, row: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Rows (from a clean ``row``) that break ``check``; None for checks built from queries."""
    p = check.params
    if check.kind == "not_null":
        return [{**row, check.columns[0]: None} | ({p["unless"]: None} if p.get("unless") else {})]
    if check.kind == "in_set":
        return [{**row, check.columns[0]: "not_in_the_set"}]
    if check.kind == "between":
        column = check.columns[0]
        if p.get("min") is not None:
            return [{**row, column: _shift(p["min"], -1)}]
        return [{**row, column: _shift(p["max"], 1)}]
    if check.kind == "a_ge_b":
        a, b = check.columns
        return [{**row, a: _shift(row[b], -1)}]
    if check.kind == "regex":
        column, platform = p["where"]
        return [{**row, column: platform, check.columns[0]: "not an id!"}]
    if check.kind == "unique":
        return [dict(row), dict(row)]
    return None


def new_warehouse(tmp_path: Path, name: str = "warehouse.duckdb") -> Path:
    from warehouse.connection import open_writer

    path = tmp_path / name
    with open_writer(path, "test") as con:
        record_city(con)
    return path
