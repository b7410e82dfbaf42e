"""ops_file_ledger: every row read is accounted for, per file (the reconciliation gate).

For every loaded file: ``rows_read = rows_loaded + rows_quarantined + rows_skipped + rows_duplicate``;
``rows_loaded`` equals the rows its hash has in the staging tables; ``rows_quarantined`` equals its rows in
``stg_quarantine``; and no staged row comes from a file the ledger does not list as loaded. The queries
read the other tables directly (table names come from ``readers.entities``, never from input).
"""

from expectations.checks import CRITICAL, LEDGER_STATUSES, WARNING, in_set, no_rows
from expectations.suites import Suite, SuiteContext
from readers.entities import ENTITIES

STAGED = " UNION ALL ".join(f"SELECT source_file_sha256 FROM {e.table}" for e in ENTITIES.values())
QUARANTINE_SHARE_WARNING = 0.10


def build(ctx: SuiteContext) -> list:
    return [
        # file_sha256 is the primary key: DuckDB already enforces it is present and unique.
        in_set("status", LEDGER_STATUSES),
        no_rows(
            "reconciliation:rows_read",
            "SELECT file_name, file_sha256, rows_read, rows_loaded, rows_quarantined, rows_skipped, rows_duplicate "
            "FROM {batch} WHERE status = 'loaded' AND rows_read IS DISTINCT FROM "
            "coalesce(rows_loaded, 0) + coalesce(rows_quarantined, 0) + coalesce(rows_skipped, 0) + coalesce(rows_duplicate, 0)",
            CRITICAL,
            "per file: rows_read = rows_loaded + rows_quarantined + rows_skipped + rows_duplicate",
        ),
        no_rows(
            "reconciliation:rows_loaded",
            "SELECT l.file_name, l.file_sha256, l.rows_loaded, coalesce(s.n, 0) AS rows_staged FROM {batch} AS l "
            f"LEFT JOIN (SELECT source_file_sha256, count(*) AS n FROM ({STAGED}) GROUP BY 1) AS s "
            "ON s.source_file_sha256 = l.file_sha256 "
            "WHERE l.status = 'loaded' AND coalesce(l.rows_loaded, 0) <> coalesce(s.n, 0)",
            CRITICAL,
            "per file: rows_loaded equals the rows its hash has in the staging tables",
        ),
        no_rows(
            "reconciliation:rows_quarantined",
            "SELECT l.file_name, l.file_sha256, l.rows_quarantined, coalesce(q.n, 0) AS rows_in_quarantine FROM {batch} AS l "
            "LEFT JOIN (SELECT source_file_sha256, count(*) AS n FROM stg_quarantine GROUP BY 1) AS q "
            "ON q.source_file_sha256 = l.file_sha256 "
            "WHERE l.status = 'loaded' AND coalesce(l.rows_quarantined, 0) <> coalesce(q.n, 0)",
            CRITICAL,
            "per file: rows_quarantined equals its rows in stg_quarantine",
        ),
        no_rows(
            "reconciliation:orphans",
            f"SELECT s.source_file_sha256, count(*) AS rows_staged FROM ({STAGED}) AS s "
            "LEFT JOIN {batch} AS l ON l.file_sha256 = s.source_file_sha256 AND l.status = 'loaded' "
            "WHERE l.file_sha256 IS NULL GROUP BY 1",
            CRITICAL,
            "every staged row comes from a file the ledger lists as loaded",
        ),
        no_rows(
            "quarantine_share",
            "SELECT file_name, rows_read, rows_quarantined FROM {batch} "
            f"WHERE status = 'loaded' AND rows_read > 0 AND rows_quarantined > {QUARANTINE_SHARE_WARNING} * rows_read",
            WARNING,
            f"no file has more than {QUARANTINE_SHARE_WARNING:.0%} of its rows quarantined (a reader or export problem)",
        ),
    ]


SUITE = Suite("ops_file_ledger", "operations", build, ("file_name",),
              reads=(*(e.table for e in ENTITIES.values()), "stg_quarantine"))
