"""Row-level rules, applied as a file is loaded, beside the readers' own rejects.

A comment that names no post (nor, for a reply, its parent), a negative count, an event dated in the
future: each is a fault of one row, not of the week. Inside the load's transaction such rows go from
their staging table to ``stg_quarantine`` (stage ``row_rule``, with file, row, column, value, reason
and the whole row as JSON), and their file's ledger entry counts them as quarantined, not loaded. No
committed state ever holds them in staging, and the quality gates only read: the warehouse stays a
function of the inbox (and of the day a file was loaded, for "in the future"). Whatever is systematic
rather than isolated (an unknown platform, a duplicated key, a CTR written as a percentage) stays for
the table-level suites, which block.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from cityimage.tables import TABLES
from readers.entities import ENTITIES
from warehouse.connection import ident

STAGE = "row_rule"

#: Instants up to this far ahead of now are not "in the future": an export whose window ends today is
#: stamped with the next midnight UTC (readers.base.end_of_day_utc), and a date-only publication day
#: converted from a zone ahead of UTC lands up to 14 h later.
FUTURE_TOLERANCE = timedelta(days=2)


@dataclass(frozen=True)
class RowRule:
    """Rows of ``entity`` for which ``kind`` holds on ``column`` are quarantined with ``reason``."""

    entity: str
    column: str
    kind: str  # missing | negative | future | ancient
    reason: str
    unless: str | None = None  # missing only: rows where this column is set are exempt

    def predicate(self) -> str:
        col = ident(self.column)
        if self.kind == "missing":
            return f"{col} IS NULL" + (f" AND {ident(self.unless)} IS NULL" if self.unless else "")
        if self.kind == "negative":
            return f"{col} < 0"
        if self.kind == "future":
            return f"{col} > ?"
        if self.kind == "ancient":
            return f"{col} < DATE '{FIRST_PLATFORM_DAY.isoformat()}'"
        raise ValueError(f"unknown row rule kind {self.kind!r}")


def _missing(entity: str, column: str, why: str, unless: str | None = None) -> RowRule:
    what = f"{column} is missing" + (f" and so is {unless}" if unless else "")
    return RowRule(entity, column, "missing", f"{what}: {why}", unless)


def _negative(entity: str, columns: tuple[str, ...]) -> list[RowRule]:
    return [RowRule(entity, c, "negative", f"{c} is negative: a count is never below zero") for c in columns]


def _future(entity: str, column: str) -> RowRule:
    return RowRule(entity, column, "future", f"{column} is in the future (more than {FUTURE_TOLERANCE} after the file was loaded)")


#: The first day any of the platforms existed (Facebook, 4 February 2004): a date before it is a
#: corrupt cell (year 1, a spreadsheet's day zero), never a post.
FIRST_PLATFORM_DAY = date(2004, 2, 4)


def _ancient(entity: str, column: str) -> RowRule:
    return RowRule(entity, column, "ancient",
                   f"{column} is before {FIRST_PLATFORM_DAY.isoformat()}, when none of the platforms existed yet")


ROW_RULES: tuple[RowRule, ...] = (
    _missing("post", "platform", "a post must name its platform"),
    _missing("post", "post_id", "a post must carry its id"),
    *_negative("post", TABLES["stg_post"].counts),
    _future("post", "published_at"),
    _ancient("post", "published_at"),
    _future("post", "exported_at"),
    _missing("comment", "platform", "a comment must name its platform"),
    _missing("comment", "comment_id", "a comment must carry its id"),
    _missing("comment", "post_id", "a comment must name the post it is on (a reply at least its parent)", "parent_comment_id"),
    *_negative("comment", ("like_count", "reply_count")),
    _future("comment", "created_at"),
    _ancient("comment", "created_at"),
    _future("comment", "exported_at"),
    _missing("account_day", "platform", "an account-day must name its platform"),
    _missing("account_day", "day", "an account-day must name its day"),
    *_negative("account_day", TABLES["stg_account_day"].counts),
    _future("account_day", "day"),
    _ancient("account_day", "day"),
    _missing("audience", "platform", "an audience row must name its platform"),
    _missing("audience", "dimension", "an audience row must name its dimension"),
    _missing("audience", "value", "an audience row must name its dimension value"),
    *_negative("audience", ("views",)),
    _missing("search", "dimension", "a search row must name its dimension"),
    _missing("search", "value", "a search row must name its dimension value"),
    *_negative("search", ("clicks", "impressions")),
)


def apply_row_rules(con: duckdb.DuckDBPyConnection, load_id: str, now: datetime) -> dict[str, int]:
    """Move the rows of ``load_id`` that break a row rule to ``stg_quarantine`` and count them as
    quarantined in their files' ledger rows; returns how many rows moved per file SHA-256.

    Runs inside the caller's transaction, after the load's staging and ledger rows are written. A row
    breaking several rules is moved once, with every reason, column and value joined by ``; ``.
    """
    limit = now + FUTURE_TOLERANCE
    by_entity: dict[str, list[RowRule]] = defaultdict(list)
    for rule in ROW_RULES:
        by_entity[rule.entity].append(rule)
    moved: dict[str, int] = defaultdict(int)
    con.execute("CREATE OR REPLACE TEMP TABLE __row_rule_hits (rid BIGINT, rule_no INTEGER, column_name VARCHAR, "
                "value VARCHAR, reason VARCHAR)")
    for entity_name, rules in by_entity.items():
        for sha, count in _quarantine_entity(con, entity_name, rules, load_id, limit):
            moved[sha] += count
    con.execute("DROP TABLE __row_rule_hits")
    return dict(moved)


def _quarantine_entity(con: duckdb.DuckDBPyConnection, entity_name: str, rules: list[RowRule], load_id: str,
                       limit: datetime) -> list[tuple[str, int]]:
    table = ident(ENTITIES[entity_name].table)
    con.execute("DELETE FROM __row_rule_hits")
    for number, rule in enumerate(rules):
        bound = [limit.date() if rule.column == "day" else limit] if rule.kind == "future" else []
        con.execute(
            f"INSERT INTO __row_rule_hits SELECT rowid, ?, ?, CAST({ident(rule.column)} AS VARCHAR), ? "
            f"FROM {table} WHERE load_id = ? AND ({rule.predicate()})",
            [number, rule.column, rule.reason, load_id, *bound],
        )
    counts = con.execute(
        f"SELECT t.source_file_sha256, count(*) FROM {table} AS t WHERE t.rowid IN (SELECT rid FROM __row_rule_hits) "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    if not counts:
        return []
    con.execute(
        "INSERT INTO stg_quarantine BY NAME "
        "SELECT t.load_id, t.source_file_sha256, coalesce(l.file_name, t.source_file_sha256) AS file_name, "
        "t.source_format, t.source_row, ? AS entity, h.column_name, h.value, h.reason, "
        "CAST(to_json(t) AS VARCHAR) AS raw, ? AS stage, t.city_key "
        "FROM (SELECT rid, string_agg(column_name, '; ' ORDER BY rule_no) AS column_name, "
        "      string_agg(coalesce(value, 'null'), '; ' ORDER BY rule_no) AS value, "
        "      string_agg(reason, '; ' ORDER BY rule_no) AS reason FROM __row_rule_hits GROUP BY rid) AS h "
        f"JOIN {table} AS t ON t.rowid = h.rid "
        "LEFT JOIN ops_file_ledger AS l ON l.file_sha256 = t.source_file_sha256",
        [entity_name, STAGE],
    )
    con.executemany(
        "UPDATE ops_file_ledger SET rows_loaded = coalesce(rows_loaded, 0) - ?, "
        "rows_quarantined = coalesce(rows_quarantined, 0) + ? WHERE file_sha256 = ?",
        [[n, n, sha] for sha, n in counts],
    )
    con.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT rid FROM __row_rule_hits)")
    return [(sha, int(n)) for sha, n in counts]
