"""The fact build: every ``dim_`` and ``fct_`` table from staging, in DuckDB SQL, incremental by construction.

The rules live once, in :mod:`warehouse.facts.models`; each computes the rows of a *scope* of keys
from all of staging. A build chooses the scope:

* **incremental** (the weekly run): the staged rows of loads not yet built (``ops_fact_load``) and
  what depends on them — the posts they name (and every post sharing a Facebook video with them, whose
  canonical id may move), the comments they name, the comments replying under those (their post may
  come from the parent), the comments on the posts touched (their post's account may change), and the
  comments those reply to (their first reply from the post's account may change). Scopes may be
  larger than needed, never smaller: a key recomputed from all of staging comes out as a full build
  would give it. The small tables (follower days, audience countries, search) are rebuilt whole when
  new rows reached their staging table.
* **full**: every key. Taken when no build was recorded, when asked (``cityimage build-facts --full``), or
  when what decides the facts changed since the last build (``ops_fact_build.fingerprint``: the
  models' code, the registered accounts, the reporting zone, the classifiers' versions). The models
  then skip their joins with the scope tables (``every_key``): each held every key in a hash table.

Texts are classified only when their input (text and language tag, or a post's title, text and
language tag) has no outcome under the classifier's current version; outcomes are kept in
``ops_comment_classification`` and ``ops_post_classification`` and committed batch by batch, so a
build that fails later keeps its classification work. The classifiers are handed in by the caller
(:class:`transforms.facts.Classifiers`): this package runs SQL and stores what it is given.

Everything the facts show changes in one transaction: scoped rows deleted, recomputed rows inserted,
the loads recorded as built. Readers see the facts before or after, never half.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Generator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from cityimage.tables import CITY, TABLES, FrameMismatch, tables_of
from warehouse.city import recorded_city
from warehouse.facts import models
from warehouse.transaction import transaction

if TYPE_CHECKING:  # the classifiers are the pure side's; the build only calls them
    from transforms.facts import Classifiers

#: The classifier inputs read and classified this many at a time: memory is bounded by a batch.
BATCH_ROWS = 50_000
FACT_TABLES = tuple(t.name for t in tables_of("dimension", "fact"))
#: Tables rebuilt whole when their staging table received rows: small, and keyed on resolved accounts.
WHOLE_TABLES = {
    "fct_follower_day": ("stg_account_day", models.fct_follower_day),
    "fct_audience_country": ("stg_audience", models.fct_audience_country),
    "fct_search_query": ("stg_search", models.fct_search_query),
}
STAGING = ("stg_post", "stg_comment", "stg_account_day", "stg_audience", "stg_search")
#: The classifier's outcome columns, as a comment classification and the cache name them.
COMMENT_OUTCOMES = {
    "language": "language", "is_spam": "is_spam", "is_question": "is_question", "is_praise": "is_praise",
    "is_travel_intent": "is_travel_intent", "is_complaint": "is_complaint", "sentiment": "sentiment",
    "sentiment_score": "sentiment_score", "rules": "classification_rules",
}
POST_OUTCOMES = {
    "language": "language", "themes": "themes", "labels": "labels", "places": "places",
    "lynch_elements": "lynch_elements", "is_city_mention": "is_city_mention", "rules": "classification_rules",
}


@dataclass(frozen=True)
class BuildResult:
    """What a build did: its mode and why, what it rebuilt and classified, and each table's rows after it."""

    mode: str  # full | incremental | unchanged
    reason: str
    new_loads: int
    posts: int
    comments: int
    classified_posts: int
    classified_texts: int
    rows: dict[str, int]


def build(con: duckdb.DuckDBPyConnection, accounts: pl.DataFrame, zone: str, classifiers: Classifiers,
          full: bool = False, before_write: Callable[[duckdb.DuckDBPyConnection], object] | None = None) -> BuildResult:
    """Bring every fact and dimension table up to date with staging (see the module's docstring).

    ``accounts``: the registered accounts (platform, handle_lc, registered_id, account_key, role, city,
    handle); ``zone``: the reporting time zone's name. ``con`` must not be inside a transaction.
    ``before_write`` is called with ``con`` once the build knows it will write (not when unchanged).
    """
    fingerprint = _fingerprint(accounts, zone, classifiers)
    mode, reason = _mode(con, fingerprint, full)
    con.execute(f"CREATE OR REPLACE TEMP TABLE new_load AS {_new_loads(mode)}")
    new_loads = _count(con, "new_load")
    if mode == "incremental" and new_loads == 0:
        return BuildResult("unchanged", "no load since the last build", 0, 0, 0, 0, 0, _rows(con))
    if before_write is not None:
        before_write(con)
    con.register("__accounts", accounts)
    con.execute("CREATE OR REPLACE TEMP TABLE reg_account AS SELECT * FROM __accounts")
    con.unregister("__accounts")
    _forget_other_versions(con, classifiers)
    _scope_posts(con, mode)
    classified_posts = _classify(con, "SELECT input_sha256, title, text, language_raw FROM tmp_post",
                                 "ops_post_classification", classifiers.post_version, classifiers.classify_posts,
                                 POST_OUTCOMES)
    _stage_post_facts(con, zone, classifiers)
    _merge_comments(con, mode)
    # The texts keep their scope's semi join in a full build too: streamed without it, a first build
    # of the reference year peaked at 2.1 GB while classifying, against 1.8 GB; it saved 1.3 s.
    scoped = models.scoped_comments("tmp_comment", "scope_comment", every_key=False)
    texts = (f"SELECT input_sha256, text, language_raw FROM ({scoped}) "
             f"UNION ALL SELECT input_sha256, text, language AS language_raw FROM ({models.MENTION_INPUTS})")
    classified_texts = _classify(con, texts, "ops_comment_classification", classifiers.comment_version,
                                 classifiers.classify_texts, COMMENT_OUTCOMES)
    _stage_comment_facts(con, classifiers, mode)
    _apply(con, mode, reason, fingerprint, _stage_whole_tables(con, mode),
           {"zone": zone, "comment_version": classifiers.comment_version})
    return BuildResult(mode, reason, new_loads, _count(con, "scope_post"), _count(con, "scope_comment"),
                       classified_posts, classified_texts, _rows(con))


# -- when to build what ----------------------------------------------------------------------------------


def _fingerprint(accounts: pl.DataFrame, zone: str, classifiers: Classifiers) -> str:
    """What decides the facts besides staging: the models' code, the registered accounts, the zone, the
    classifiers' versions. Another fingerprint than the last build's asks for a full build."""
    digest = hashlib.sha256()
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.read_bytes())
    digest.update(repr(sorted(accounts.rows(), key=repr)).encode())
    for part in (zone, classifiers.post_version, classifiers.comment_version):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


def _mode(con: duckdb.DuckDBPyConnection, fingerprint: str, full: bool) -> tuple[str, str]:
    last = con.execute("SELECT fingerprint FROM ops_fact_build ORDER BY finished_at DESC LIMIT 1").fetchall()
    if full:
        return "full", "a full build was asked for"
    if not last:
        return "full", "no build recorded yet"
    if last[0][0] != fingerprint:
        return "full", "the fact models, registered accounts, reporting zone or classifiers changed since the last build"
    return "incremental", "loads not yet built"


def _new_loads(mode: str) -> str:
    loads = " UNION ".join(f"SELECT DISTINCT load_id FROM {t}" for t in STAGING)
    built = "" if mode == "full" else " WHERE load_id NOT IN (SELECT load_id FROM ops_fact_load)"
    return f"SELECT load_id FROM ({loads}){built}"


def _scope_posts(con: duckdb.DuckDBPyConnection, mode: str) -> None:
    """``scope_post`` and its staged rows ``tmp_post_row``, then ``tmp_post``: the merged scoped posts."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE tmp_post_video AS {models.POST_VIDEO_IDS}")
    if mode == "full":
        con.execute(f"CREATE OR REPLACE TEMP TABLE tmp_post_row AS {models.post_rows(models.POST_ROWS)}")
        con.execute("CREATE OR REPLACE TEMP TABLE scope_post AS SELECT DISTINCT platform, post_id FROM tmp_post_row")
    else:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE scope_post AS
            WITH r AS (SELECT platform, post_id, bare_id, video, load_id IN (SELECT load_id FROM new_load) AS is_new
                       FROM ({models.POST_ROWS})),
                 moved AS (SELECT DISTINCT video FROM r WHERE is_new AND video IS NOT NULL)
            SELECT platform, post_id FROM r WHERE is_new
            UNION SELECT platform, post_id FROM r WHERE video IN (SELECT video FROM moved)
            UNION SELECT platform, bare_id FROM r WHERE video IN (SELECT video FROM moved)""")
        scoped = f"SELECT r.* FROM ({models.POST_ROWS}) r SEMI JOIN scope_post s ON s.platform = r.platform AND s.post_id = r.post_id"
        con.execute(f"CREATE OR REPLACE TEMP TABLE tmp_post_row AS {models.post_rows(scoped)}")
    _run(con, models.post_latest())


def _stage_post_facts(con: duckdb.DuckDBPyConnection, zone: str, classifiers: Classifiers) -> None:
    """The scoped posts' fact rows, ready to go in: ``tmp_fct_post`` and the tables made from posts."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE tmp_fct_post AS {models.FCT_POST}",
                {"zone": zone, "post_version": classifiers.post_version})
    _run(con, models.fct_post_metric_snapshot())
    con.execute(f"CREATE OR REPLACE TEMP TABLE tmp_fct_livestream AS {models.FCT_LIVESTREAM}", {"zone": zone})


def _merge_comments(con: duckdb.DuckDBPyConnection, mode: str) -> None:
    """``tmp_comment``: the merged comments of the scope (:func:`_scope_comments`).

    In a full build the scope is every staged comment: a reply's id is staged, and a parent that is not
    staged has no row to merge. The models then read no scope (``every_key``), and ``scope_comment``
    is the merged comments' keys: made distinct from staging, it took 3 s at the reference year.
    """
    full = mode == "full"
    if not full:
        _scope_comments(con)
    _run(con, models.comment_merged(every_key=full))
    if full:
        con.execute("CREATE OR REPLACE TEMP TABLE scope_comment AS SELECT platform, comment_id FROM tmp_comment")


def _scope_comments(con: duckdb.DuckDBPyConnection) -> None:
    """``scope_comment`` (the comments to rebuild), ``scope_comment_link`` (them and the replies under
    them) and ``scope_comment_merge`` (those and the comments they reply to), for an incremental build."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE tmp_new_comment AS
        SELECT DISTINCT platform, comment_id FROM stg_comment WHERE load_id IN (SELECT load_id FROM new_load)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE tmp_scope_comment AS
        SELECT platform, comment_id FROM tmp_new_comment
        UNION {_children('tmp_new_comment')}
        UNION SELECT f.platform, f.comment_id FROM fct_comment f
              SEMI JOIN scope_post p ON p.platform = f.platform AND p.post_id = f.post_id""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE scope_comment AS
        SELECT platform, comment_id FROM tmp_scope_comment UNION {_parents('tmp_scope_comment')}""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE scope_comment_link AS
        SELECT platform, comment_id FROM scope_comment UNION {_children('scope_comment')}""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE scope_comment_merge AS
        SELECT platform, comment_id FROM scope_comment_link UNION {_parents('scope_comment')}""")


def _children(keys: str) -> str:
    """Comments that any export lists as replying to one of ``keys``."""
    return (f"SELECT DISTINCT c.platform, c.comment_id FROM stg_comment c SEMI JOIN {keys} k "
            "ON k.platform = c.platform AND k.comment_id = c.parent_comment_id")


def _parents(keys: str) -> str:
    """Comments that any export of one of ``keys`` names as the one it replies to."""
    return (f"SELECT DISTINCT c.platform, c.parent_comment_id FROM stg_comment c SEMI JOIN {keys} k "
            "ON k.platform = c.platform AND k.comment_id = c.comment_id WHERE c.parent_comment_id IS NOT NULL")


# -- classification ------------------------------------------------------------------------------------


def _forget_other_versions(con: duckdb.DuckDBPyConnection, classifiers: Classifiers) -> None:
    """Outcomes of other classifier versions would never be read again."""
    con.execute("DELETE FROM ops_post_classification WHERE classifier_version <> ?", [classifiers.post_version])
    con.execute("DELETE FROM ops_comment_classification WHERE classifier_version <> ?", [classifiers.comment_version])


def _classify(con: duckdb.DuckDBPyConnection, inputs: str, cache: str, version: str,
              classify: Callable[[pl.DataFrame], pl.DataFrame], outcomes: dict[str, str]) -> int:
    """Classify the distinct ``inputs`` without an outcome under ``version`` in ``cache``; returns how many.

    The inputs with an outcome are set aside before the rest are made distinct: made distinct first,
    every input row, texts and all, went through the DISTINCT ON, which at the reference year took 7 s
    of a full build whose every outcome was already kept. Each batch is committed as soon as it is
    classified (by a second cursor: the first is streaming).
    """
    pending = con.sql(f"""
        SELECT DISTINCT ON (input_sha256) * FROM ({inputs}) i
        WHERE NOT EXISTS (SELECT 1 FROM {cache} o WHERE o.input_sha256 = i.input_sha256 AND o.classifier_version = $v)""",
                      params={"v": version})
    done = 0
    stored, named = ", ".join(outcomes.values()), ", ".join(outcomes)
    with closing(con.cursor()) as writer, closing(_batches(pending)) as batches:
        for batch in batches:
            result = classify(batch)
            writer.register("__outcomes", result)
            writer.execute(f"INSERT INTO {cache} (input_sha256, classifier_version, {stored}, classified_at) "
                           f"SELECT input_sha256, $1, {named}, now() FROM __outcomes", [version])
            writer.unregister("__outcomes")
            done += batch.height
    return done


def _batches(relation: duckdb.DuckDBPyRelation) -> Generator[pl.DataFrame, None, None]:
    for batch in relation.to_arrow_reader(BATCH_ROWS):
        if batch.num_rows:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)  # a record batch is a table, never a single column
            yield frame


# -- the swap ------------------------------------------------------------------------------------------


def _stage_comment_facts(con: duckdb.DuckDBPyConnection, classifiers: Classifiers, mode: str) -> None:
    """What the comment facts are made of (``tmp_comment_link``, which replaces the merged comments),
    the mentions (``tmp_fct_mention``), and the accounts the scoped rows name before the build (an
    incremental build's question: a full one rebuilds ``dim_account`` whole).

    Computed before the transaction: at the reference year, the links computed inside it did not fit
    the memory budget. The comment fact rows themselves are computed as they go in (``_apply``): staged
    apart as well, they were written twice, which took 26 s of a full build at the reference year
    against 21 s for the insert alone."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE tmp_post_owner AS {models.POST_OWNERS}")
    _run(con, models.comment_links(every_key=mode == "full"))
    con.execute("DROP TABLE tmp_comment")
    con.execute(f"CREATE OR REPLACE TEMP TABLE tmp_fct_mention AS {models.FCT_MENTION}",
                {"comment_version": classifiers.comment_version})
    if mode == "full":
        return
    con.execute("""CREATE OR REPLACE TEMP TABLE tmp_old_account AS
                   SELECT account_key, platform FROM fct_post f SEMI JOIN scope_post s USING (platform, post_id)
                   UNION SELECT author_key, platform FROM fct_comment c SEMI JOIN scope_comment s USING (platform, comment_id)""")


def _stage_whole_tables(con: duckdb.DuckDBPyConnection, mode: str) -> list[str]:
    """The small tables to rebuild whole (those whose staging table received rows; all in a full build),
    each staged as ``tmp_<table>``; returns their names."""
    whole = [name for name, (staging, _) in WHOLE_TABLES.items()
             if mode == "full" or con.execute(f"SELECT 1 FROM {staging} WHERE load_id IN (SELECT load_id FROM new_load) LIMIT 1").fetchall()]
    for name in whole:
        _run(con, WHOLE_TABLES[name][1]())
    return whole


def _apply(con: duckdb.DuckDBPyConnection, mode: str, reason: str, fingerprint: str, whole: list[str],
           comment_params: dict[str, str]) -> None:
    """One transaction: every scoped row replaced, the small tables ``whole`` rebuilt, the accounts
    brought in line, the loads recorded as built. ``comment_params``: the comment facts' query's."""
    build_id = uuid.uuid4().hex
    started = datetime.now(timezone.utc)
    with transaction(con):
        for name in ("fct_post", "fct_post_metric_snapshot", "fct_livestream", "fct_mention"):
            _delete(con, name, "scope_post", ("platform", "post_id"), mode)
            _insert(con, name, f"tmp_{name}")
        for name in whole:
            con.execute(f"DELETE FROM {name}")
            _insert(con, name, f"tmp_{name}")
        _delete(con, "fct_comment", "scope_comment", ("platform", "comment_id"), mode)
        _insert(con, "fct_comment", f"({models.fct_comment(every_key=mode == 'full')})", comment_params)
        _accounts(con, mode)
        if mode == "full":
            con.execute("DELETE FROM ops_fact_load")
        con.execute("INSERT INTO ops_fact_load (load_id, build_id) SELECT load_id, ? FROM new_load", [build_id])
        con.execute("INSERT INTO ops_fact_build (build_id, fingerprint, mode, reason, started_at, finished_at, loads, "
                    "posts, comments) VALUES (?, ?, ?, ?, ?, now(), (SELECT count(*) FROM new_load), "
                    "(SELECT count(*) FROM scope_post), (SELECT count(*) FROM scope_comment))",
                    [build_id, fingerprint, mode, reason, started])


def _delete(con: duckdb.DuckDBPyConnection, table: str, scope: str, key: tuple[str, ...], mode: str) -> None:
    if mode == "full":
        con.execute(f"DELETE FROM {table}")
    else:
        on = " AND ".join(f"{table}.{k} = s.{k}" for k in key)
        con.execute(f"DELETE FROM {table} USING {scope} s WHERE {on}")


def _insert(con: duckdb.DuckDBPyConnection, table: str, source: str, params: dict | None = None) -> None:
    """Insert ``source``'s rows, whose columns must be the table's, in its order, with its types; each
    row takes the warehouse's city."""
    relation = con.sql(f"SELECT * FROM {source}", params=params) if params else con.sql(f"SELECT * FROM {source}")
    _check_shape(table, dict(zip(relation.columns, (str(t) for t in relation.types))))
    columns = ", ".join(TABLES[table].names)
    con.execute(f"INSERT INTO {table} ({columns}, {CITY.name}) SELECT {columns}, $__city FROM {source}",
                (params or {}) | {"__city": recorded_city(con)})


def _check_shape(table: str, got: dict[str, str]) -> None:
    """The model's columns are exactly the catalogue's, and each type is the catalogue's (or NULL)."""
    want = {c.name: c.type for c in TABLES[table].columns}
    spelled = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ"}
    if list(got) != list(want):
        raise FrameMismatch(f"the {table} model gives columns {list(got)}, the catalogue {list(want)}")
    wrong = [f"{c} is {t}, the catalogue says {want[c]}" for c, t in got.items()
             if spelled.get(t, t) not in (want[c], '"NULL"', "NULL")]
    if wrong:
        raise FrameMismatch(f"the {table} model: {'; '.join(wrong)}")


def _accounts(con: duckdb.DuckDBPyConnection, mode: str) -> None:
    """``dim_account``: the registered accounts, and every other account a post or comment names."""
    if mode == "full":
        con.execute("DELETE FROM dim_account")
        _insert(con, "dim_account", f"({models.DIM_ACCOUNT_REGISTERED})")
        _insert(con, "dim_account", f"({models.dim_account_public(models.rebuilt_accounts(every_key=True))})")
        return
    con.execute(f"""DELETE FROM dim_account USING ({models.GONE_ACCOUNTS}) g
                    WHERE dim_account.account_key = g.account_key AND NOT dim_account.is_registered""")
    _insert(con, "dim_account", f"({models.dim_account_public(models.rebuilt_accounts(), new_only=True)})")


# -- small helpers ---------------------------------------------------------------------------------------


def _run(con: duckdb.DuckDBPyConnection, steps: list[models.Step]) -> None:
    """Each step of a model, in order, as the temp table it names. The last is the model's; the others
    are dropped once it exists, so they hold none of the build's memory budget afterwards."""
    for name, query in steps:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")
    for name, _ in steps[:-1]:
        con.execute(f"DROP TABLE {name}")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _rows(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {name: _count(con, name) for name in FACT_TABLES}
