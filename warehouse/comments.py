"""Comments for the fact build, in SQL: merged in DuckDB, read back in batches, classified once per text.

A year of comments is millions of ``stg_comment`` rows (a comment is exported again every week it is
in a window), too many to hold in memory at once, so the fact build never reads the table whole:

* :func:`stage_latest` merges each comment's exports into a temporary table with the rule of
  ``transforms.facts._latest`` (each column from the latest export that carries it; ties on the export
  instant broken by file hash, then row; nulls first), adds the post of the comment replied to, and
  the key of what the classifier reads of the comment (``input_sha256``);
* ``ops_comment_classification`` keeps the classification outcome of every distinct input under the
  classifier's version: :func:`unclassified` lists the inputs a build still has to classify,
  :func:`store_classifications` keeps their outcomes;
* :func:`attach_classifications` joins each merged comment to its outcome, and :func:`read` reads
  the result back.

The relations are lazy: the caller streams them in batches. Polars stays out of this module except to
insert the outcomes it is handed.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

LATEST = "tmp_latest_comment"
CLASSIFIED = "tmp_classified_comment"
CACHE = "ops_comment_classification"
# Classifier outcome columns as the classifier names them, and as the cache (and fct_comment) does.
OUTCOMES = {
    "language": "language", "is_spam": "is_spam", "is_question": "is_question", "is_praise": "is_praise",
    "is_travel_intent": "is_travel_intent", "is_complaint": "is_complaint", "sentiment": "sentiment",
    "sentiment_score": "sentiment_score", "rules": "classification_rules",
}
# Exports in the order ``transforms.facts._latest`` sorts them: instant, file hash (as its rank among
# the files, compared far faster than the hash), row; a null before any value. DuckDB orders a null
# field of a struct last, hence the flags.
_EXPORT_ORDER = (
    "(exported_at IS NOT NULL, coalesce(exported_at, TIMESTAMPTZ 'epoch'), file_rank, "
    "source_row IS NOT NULL, coalesce(source_row, 0))"
)


def stage_latest(con: duckdb.DuckDBPyConnection, columns: Sequence[str]) -> None:
    """Merge every comment's exports into a temporary table.

    ``columns``: the ``stg_comment`` columns to merge besides the key (``platform``, ``comment_id``);
    they must include ``post_id``, ``parent_comment_id``, ``text`` and ``language_raw``.
    """
    merged = ", ".join(
        f'arg_max("{c}", {_EXPORT_ORDER}) FILTER (WHERE "{c}" IS NOT NULL) AS "{c}"' for c in columns
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {LATEST} AS
        WITH file AS (
            SELECT source_file_sha256, row_number() OVER (ORDER BY source_file_sha256) AS file_rank
            FROM (SELECT DISTINCT source_file_sha256 FROM stg_comment WHERE source_file_sha256 IS NOT NULL)
        ), export AS (
            SELECT c.*, coalesce(f.file_rank, 0) AS file_rank
            FROM stg_comment c LEFT JOIN file f ON f.source_file_sha256 = c.source_file_sha256
        ), comment AS (
            SELECT platform, comment_id, {merged} FROM export GROUP BY platform, comment_id
        )
        SELECT c.*, parent.post_id AS parent_post_id, sha256(to_json([c.language_raw, c.text])) AS input_sha256
        FROM comment c
        LEFT JOIN comment parent ON parent.platform = c.platform AND parent.comment_id = c.parent_comment_id
    """)


def forget_other_versions(con: duckdb.DuckDBPyConnection, version: str) -> None:
    """Drop outcomes of any other classifier version: they would never be read again."""
    con.execute(f"DELETE FROM {CACHE} WHERE classifier_version <> ?", [version])


def unclassified(con: duckdb.DuckDBPyConnection, version: str) -> duckdb.DuckDBPyRelation:
    """Distinct inputs of merged comments without an outcome under ``version``: input_sha256, text, language_raw."""
    return con.sql(
        f"""
        SELECT input_sha256, any_value(text) AS text, any_value(language_raw) AS language_raw
        FROM {LATEST} l
        WHERE NOT EXISTS (
            SELECT 1 FROM {CACHE} o WHERE o.input_sha256 = l.input_sha256 AND o.classifier_version = $1
        )
        GROUP BY input_sha256
        """,
        params=[version],
    )


def store_classifications(con: duckdb.DuckDBPyConnection, version: str, outcomes: pl.DataFrame) -> None:
    """Keep the outcomes (input_sha256 and the classifier's outcome columns) under ``version``."""
    con.register("__outcomes", outcomes)
    try:
        stored, named = ", ".join(OUTCOMES.values()), ", ".join(OUTCOMES)
        con.execute(
            f"INSERT INTO {CACHE} (input_sha256, classifier_version, {stored}, classified_at) "
            f"SELECT input_sha256, $1, {named}, now() FROM __outcomes",
            [version],
        )
    finally:
        con.unregister("__outcomes")


def attach_classifications(con: duckdb.DuckDBPyConnection, version: str) -> None:
    """Give every merged comment its outcome under ``version`` (a temporary table, read with :func:`read`).

    Joined once here, where DuckDB can spill, rather than in every batch; the merged table goes.
    Raises when a comment has no outcome, which would otherwise drop it from the facts silently.
    """
    outcomes = ", ".join(f"o.{stored} AS {name}" for name, stored in OUTCOMES.items())
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CLASSIFIED} AS SELECT l.*, {outcomes} FROM {LATEST} l "
        f"JOIN {CACHE} o ON o.input_sha256 = l.input_sha256 AND o.classifier_version = ?",
        [version],
    )
    counts = f"SELECT (SELECT count(*) FROM {LATEST}), (SELECT count(*) FROM {CLASSIFIED})"
    merged, joined = con.execute(counts).fetchall()[0]
    if joined != merged:
        raise RuntimeError(f"{merged - joined} of {merged} merged comments have no classification outcome")
    con.execute(f"DROP TABLE {LATEST}")


def read(con: duckdb.DuckDBPyConnection, columns: Sequence[str]) -> duckdb.DuckDBPyRelation:
    """``columns`` of every merged, classified comment: staged ones, ``parent_post_id``, the outcomes."""
    names = ", ".join(f'"{c}"' for c in columns)
    return con.sql(f"SELECT {names} FROM {CLASSIFIED}")
