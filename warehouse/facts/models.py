"""The fact models: staging → intermediate → facts, as DuckDB SQL, each rule written once.

Every model computes the rows of the keys in a *scope* table (``scope_post``: platform and post id;
``scope_comment``: platform and comment id) from all of staging, so any set of keys gives exactly the
rows a whole rebuild would give them. The build (``warehouse.facts``) decides the scope: the keys a
run's new loads touched, and what depends on them; in a full build every key (``every_key``), where
the comment models read no scope table at all.

The rules:

* **latest export wins** (:func:`latest`): for each key, each column from the latest export that
  carries it; exports ordered by instant (none first), then file hash, then row. So restated metrics
  replace older ones and two exports complete each other, whatever order files arrived in.
* **canonical post ids**: a Facebook post id without its page prefix (the Graph API writes
  ``<page>_<post>``, Business Suite the bare id, comments the bare id); a live video object, which has
  an id of its own, takes the id of the post sharing its video permalink.
* **accounts** (:func:`resolved`): a registered account by its id; by its handle only where the row
  has no id (never for a comment author, whose display name anyone can take); anyone else is
  ``platform:<id or name>`` (public authors are pseudonymised at load).
* **reply linking**: a reply listed without its post belongs to its parent's post; the post account's
  first reply under a comment is the earliest reply its own account wrote there.

``$zone`` (the reporting time zone) and the classifier versions are bound parameters; table and
column names come from the table catalogue, never from data.
"""

from __future__ import annotations

from collections.abc import Sequence

from cityimage.profile import HANDLE_SPACE
from cityimage.tables import table

#: Components of a post's engagements (E) per platform, per the KPI catalogue. X adds quotes when the
#: export has them (older exports do not); every other part is required: one missing makes E missing.
ENGAGEMENT_COMPONENTS: dict[str, tuple[str, ...]] = {
    "facebook": ("likes", "comments", "shares"),
    "instagram": ("likes", "comments", "saves", "shares"),
    "youtube": ("likes", "comments", "shares"),
    "x": ("likes", "comments", "shares"),
    "tiktok": ("likes", "comments", "shares"),
}
REPLY_WINDOW_HOURS = 7 * 24
ASSET_TAG = r"asset:([a-z0-9][a-z0-9_-]*)"
FACEBOOK_VIDEO = r"facebook\.com/[^/]+/videos/(\d+)"


#: Bits of the export order packed into one HUGEINT below the export's rank: the source row, then the rowid.
_ROW_BITS = 48
#: Columns per mask of which columns a row carries (a BIGINT each).
_MASK_WIDTH = 62


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: One step of a model: a temp table the build creates, and its query.
Step = tuple[str, str]


def latest(table: str, key: Sequence[str], columns: Sequence[str], picks: str, count_as: str | None = None,
           where: str = "true") -> tuple[list[Step], str]:
    """One row per ``key`` of ``table``'s rows that satisfy ``where`` (on ``t``): each of ``columns`` from
    the latest export that carries it. Returns the steps that keep which row gives each value (temp
    tables ``picks`` and ``picks_fix``), and the query of the merged rows, which reads them.

    ``table`` must be a table, not a query: values are fetched by ``rowid``. Sorting whole rows (texts
    and all) by export is what made the merge slow at the reference year, so each key's latest row is
    found on narrow rows: the export order (instant, none first; file hash; row; then ``rowid``, so
    ties are settled the same way every time) packed into one HUGEINT whose maximum is the latest row,
    and a bit per column the row carries. Where a key's rows all carry the same columns, the latest
    row holds every value; only the other keys (rare: an export lacking a column another has) pick a
    row per column (``picks_fix``), and only those values come from rows other than the latest.
    Ranked with a window and picked per column for every key, the picks took 8.5 s at the reference
    year, against 3.2 s.
    """
    keys = ", ".join(_q(k) for k in key)
    of_t = ", ".join(f"t.{_q(k)}" for k in key)
    fix = f"{picks}_fix"
    masks = [list(enumerate(columns))[i:i + _MASK_WIDTH] for i in range(0, len(columns), _MASK_WIDTH)]
    flags = "".join(f", {' | '.join(f'(CASE WHEN t.{_q(c)} IS NOT NULL THEN {1 << b} ELSE 0 END)' for b, (_, c) in enumerate(m))}"
                    f" AS __mask{n}" for n, m in enumerate(masks))
    exports = (f"SELECT exported_at, source_file_sha256, row_number() OVER (ORDER BY exported_at ASC NULLS FIRST, "
               f"source_file_sha256 ASC NULLS FIRST) AS __export FROM (SELECT DISTINCT exported_at, source_file_sha256 FROM {table})")
    ranked = f"""
        SELECT {of_t}{flags}, (e.__export::HUGEINT << {2 * _ROW_BITS})
               | (coalesce(t.source_row + 1, 0)::HUGEINT << {_ROW_BITS}) | t.rowid AS __rank
        FROM {table} t JOIN ({exports}) e ON e.exported_at IS NOT DISTINCT FROM t.exported_at
             AND e.source_file_sha256 IS NOT DISTINCT FROM t.source_file_sha256
        WHERE {where}"""

    def row_of(rank: str) -> str:
        return f"CAST({rank} & {(1 << _ROW_BITS) - 1} AS BIGINT)"

    counted = f", count(*) AS {_q(count_as)}" if count_as else ""
    differ = " OR ".join(f"bit_or(__mask{n}) <> bit_and(__mask{n})" for n in range(len(masks)))
    pick = f"SELECT {keys}, {row_of('max(__rank)')} AS __latest, {differ} AS __differ{counted} FROM ({ranked}) GROUP BY {keys}"
    per_column = "".join(f", {row_of(f'max(__rank) FILTER (WHERE __mask{n} & {1 << b} <> 0)')} AS __row{i}"
                         for n, m in enumerate(masks) for b, (i, _) in enumerate(m))
    same_key = " AND ".join(f"d.{_q(k)} IS NOT DISTINCT FROM r.{_q(k)}" for k in key)
    picked = f"""
        SELECT {keys}, {row_of('max(__rank)')} AS __latest{per_column}{counted} FROM ({ranked}) r
        SEMI JOIN (SELECT {keys} FROM {picks} WHERE __differ) d ON {same_key} GROUP BY {keys}"""
    fetched = " UNION ".join(f"SELECT __row{i} FROM {fix}" for i in range(len(columns)))
    head = ", ".join(f"p.{_q(k)}" for k in key)
    kept = f", p.{_q(count_as)}" if count_as else ""
    # the keys whose rows differ take each value from the latest row that carries it: a few rows, fetched once
    merged = f"""
        WITH other AS MATERIALIZED (
            SELECT rowid AS __row, {", ".join(_q(c) for c in columns)} FROM {table} WHERE rowid IN ({fetched}))
        SELECT {head}, {", ".join(f"l.{_q(c)}" for c in columns)}{kept}
        FROM {picks} p JOIN {table} l ON l.rowid = p.__latest
        WHERE NOT p.__differ
        UNION ALL
        SELECT {head}, {", ".join(f"o{i}.{_q(c)}" for i, c in enumerate(columns))}{kept}
        FROM {fix} p {" ".join(f"LEFT JOIN other o{i} ON o{i}.__row = p.__row{i}" for i in range(len(columns)))}"""
    return [(picks, pick), (fix, picked)], merged


def week_of(instant: str) -> str:
    """The ISO week (``2026-W47``) of an instant in the reporting time zone."""
    return f"strftime(timezone($zone, {instant}), '%G-W%V')"


def bare_post_id(column: str, platform: str = "platform") -> str:
    """A Facebook post id without its page prefix; other platforms' ids as they are."""
    return f"CASE WHEN {platform} = 'facebook' THEN string_split({column}, '_')[-1] ELSE {column} END"


def normal_handle_sql(column: str) -> str:
    """``cityimage.profile.normal_handle`` in DuckDB SQL."""
    space = " || ".join(f"chr({ord(c)})" for c in HANDLE_SPACE)
    return f"lower(regexp_replace(trim({column}, {space}), '^@', ''))"


def resolved(source: str, id_column: str, name_column: str, out: str, by_handle: bool = True) -> str:
    """``source`` with the key (``out``) and role (``out_role``) of the account behind the id or name.

    ``CityProfile.find``'s rule: the id decides; a handle only where the row has no id or the account
    was registered without one, never for comment authors (``by_handle=False``). Anyone else is
    ``platform:<id>``, or ``platform:<name>`` where the export gives no id (pseudonyms both).
    """
    name_lc = normal_handle_sql(f"x.{_q(name_column)}")
    by_name = f"""
        LEFT JOIN reg_account by_name ON by_name.platform = x.platform AND by_name.handle_lc = {name_lc}
              AND (x.{_q(id_column)} IS NULL OR by_name.registered_id IS NULL)""" if by_handle else ""
    named = ("by_name.account_key", "by_name.role") if by_handle else ("NULL", "NULL")
    return f"""
        SELECT x.*, coalesce(by_id.account_key, {named[0]},
                             x.platform || ':' || coalesce(x.{_q(id_column)}, x.{_q(name_column)})) AS {_q(out)},
               coalesce(by_id.role, {named[1]}, 'public') AS {_q(out + '_role')}
        FROM ({source}) x
        LEFT JOIN reg_account by_id ON by_id.platform = x.platform AND by_id.registered_id = x.{_q(id_column)}{by_name}"""


def engagements(prefix: str = "") -> str:
    """E of a post row (``prefix`` qualifies the columns): the platform's components summed, null when one is."""
    cases = []
    for platform, parts in ENGAGEMENT_COMPONENTS.items():
        total = " + ".join(f"{prefix}{p}" for p in parts)
        if platform == "x":
            total += f" + coalesce({prefix}quotes, 0)"
        cases.append(f"WHEN '{platform}' THEN {total}")
    return f"CAST(CASE {prefix}platform {' '.join(cases)} END AS BIGINT)"


# -- posts ---------------------------------------------------------------------------------------------

#: Every Facebook video's post: the least bare id among the posts (not live video objects) linking to it.
POST_VIDEO_IDS = f"""
    SELECT video, min(bare_id) AS post_id FROM (
        SELECT string_split(post_id, '_')[-1] AS bare_id, NULLIF(regexp_extract(post_url, '{FACEBOOK_VIDEO}', 1), '') AS video
        FROM stg_post WHERE platform = 'facebook' AND NOT contains(source_format, 'live_videos')
    ) WHERE video IS NOT NULL GROUP BY video"""

#: Every staged post row with its canonical id (``post_id``), the id as exported without a page prefix
#: (``bare_id``) and its Facebook video (``video``); needs ``tmp_post_video``.
POST_ROWS = f"""
    SELECT r.* EXCLUDE (post_id), coalesce(v.post_id, r.bare_id) AS post_id
    FROM (SELECT *, {bare_post_id('post_id')} AS bare_id,
                 CASE WHEN platform = 'facebook' THEN NULLIF(regexp_extract(post_url, '{FACEBOOK_VIDEO}', 1), '') END AS video
          FROM stg_post) r
    LEFT JOIN tmp_post_video v ON v.video = r.video"""


def post_rows(rows: str) -> str:
    """``tmp_post_row``: the scoped posts' rows of :data:`POST_ROWS` (``rows``), each with its account."""
    return resolved(f"SELECT * EXCLUDE (bare_id, video) FROM ({rows})", "account_id", "account_handle", "account_key")


def post_latest() -> list[Step]:
    """``tmp_post``: one row per scoped post, latest export wins, with its account and classifier input."""
    staged = [c for c in table("stg_post").names if c not in ("platform", "post_id")]
    picks, merged = latest("tmp_post_row", ("platform", "post_id"), [*staged, "account_key", "account_key_role"],
                          "tmp_post_pick", count_as="snapshots")
    return [*picks, ("tmp_post", f"""
        SELECT m.* EXCLUDE (account_key_role), m.account_key_role AS role,
               sha256(to_json([m.title, m.text, m.language_raw])) AS input_sha256
        FROM ({merged}) m""")]


FCT_POST = f"""
    SELECT p.platform, p.post_id, p.account_key, p.role, p.published_at, {week_of('p.published_at')} AS published_week,
           p.format, c.language, c.themes, c.labels, c.places, c.lynch_elements, c.is_city_mention,
           NULLIF(regexp_extract(lower(concat_ws(' ', p.custom_labels, p.title, p.text)), '{ASSET_TAG}', 1), '') AS asset_key,
           p.title, p.text, p.post_url, p.duration_s, p.impressions, p.reach, p.views, p.likes, p.comments, p.shares,
           p.quotes, p.saves, {engagements('p.')} AS engagements, p.avg_pct_viewed, p.avg_watch_time_s,
           coalesce(p.is_live, false) OR coalesce(p.format = 'live', false) AS is_live,
           p.exported_at AS latest_exported_at, CAST(p.snapshots AS INTEGER) AS snapshots, c.classification_rules
    FROM tmp_post p
    LEFT JOIN ops_post_classification c ON c.input_sha256 = p.input_sha256 AND c.classifier_version = $post_version"""


def fct_post_metric_snapshot() -> list[Step]:
    """``tmp_fct_post_metric_snapshot``: one row per scoped post and export instant; exports of one
    instant complete each other."""
    metrics = ["impressions", "reach", "views", "likes", "comments", "shares", "quotes", "saves", "source_file_sha256"]
    picks, per_instant = latest("tmp_post_row", ("platform", "post_id", "exported_at"), metrics, "tmp_post_snapshot_pick",
                               where="t.exported_at IS NOT NULL")
    return [*picks, ("tmp_fct_post_metric_snapshot", f"""
        SELECT s.platform, s.post_id, p.account_key, s.exported_at,
               epoch(s.exported_at - p.published_at) / 86400.0 AS age_days,
               s.impressions, s.reach, s.views, s.likes, s.comments, s.shares, s.quotes, s.saves,
               {engagements('s.')} AS engagements, s.source_file_sha256
        FROM ({per_instant}) s JOIN tmp_post p ON p.platform = s.platform AND p.post_id = s.post_id""")]


FCT_LIVESTREAM = f"""
    SELECT platform, post_id, account_key, coalesce(live_started_at, published_at) AS started_at,
           live_ended_at AS ended_at, {week_of('coalesce(live_started_at, published_at)')} AS week_id,
           coalesce(duration_s, epoch(live_ended_at - live_started_at)) AS duration_s, views,
           peak_concurrent_viewers, avg_concurrent_viewers, avg_watch_time_s, likes, comments
    FROM tmp_post WHERE coalesce(is_live, false) OR coalesce(format = 'live', false)"""

#: The public posts of the scope that mention the city, as the comment classifier reads them.
MENTION_INPUTS = """
    SELECT platform, post_id, account_key, published_at, published_week, language, labels, places, lynch_elements,
           text, sha256(to_json([language, text])) AS input_sha256
    FROM tmp_fct_post WHERE role = 'public' AND coalesce(is_city_mention, false)"""

FCT_MENTION = f"""
    SELECT m.platform, m.post_id, m.account_key, m.published_at, m.published_week, m.language, m.labels, m.places,
           m.lynch_elements, o.sentiment, o.is_spam, m.text
    FROM ({MENTION_INPUTS}) m
    LEFT JOIN ops_comment_classification o ON o.input_sha256 = m.input_sha256 AND o.classifier_version = $comment_version"""


# -- comments ------------------------------------------------------------------------------------------


def comment_merged(every_key: bool = False) -> list[Step]:
    """``tmp_comment``: one row per comment of ``scope_comment_merge`` (every staged comment when
    ``every_key``), latest export wins, with its classifier input."""
    columns = ["post_id", "parent_comment_id", "author_id", "author_name", "text", "created_at", "is_hidden", "language_raw"]
    scoped = "true" if every_key else ("EXISTS (SELECT 1 FROM scope_comment_merge s "
                                       "WHERE s.platform = t.platform AND s.comment_id = t.comment_id)")
    picks, merged = latest("stg_comment", ("platform", "comment_id"), columns, "tmp_comment_pick", where=scoped)
    return [*picks, ("tmp_comment", f"SELECT *, sha256(to_json([language_raw, text])) AS input_sha256 FROM ({merged})")]


#: Every post's account as the build leaves it: the posts out of scope as they are, the scoped ones rebuilt.
POST_OWNERS = """
    SELECT platform, post_id, account_key FROM fct_post f
    WHERE NOT EXISTS (SELECT 1 FROM scope_post s WHERE s.platform = f.platform AND s.post_id = f.post_id)
    UNION ALL SELECT platform, post_id, account_key FROM tmp_fct_post"""


def scoped_comments(source: str, scope: str, every_key: bool) -> str:
    """``source``'s rows (comments) whose key is in ``scope``. In a full build (``every_key``) every key is,
    and the rows come as they are: the semi join would only build a hash table of every key (5.3M at
    the reference year, 2 to 4 s of the comment facts)."""
    if every_key:
        return f"SELECT * FROM {source}"
    return (f"SELECT t.* FROM {source} t SEMI JOIN {scope} k "
            "ON k.platform = t.platform AND k.comment_id = t.comment_id")


#: The merged comments some merged comment replies to, keys and posts only.
COMMENT_PARENTS = """
    SELECT t.platform, t.comment_id, t.post_id FROM tmp_comment t
    SEMI JOIN (SELECT platform, parent_comment_id FROM tmp_comment WHERE parent_comment_id IS NOT NULL) r
         ON r.platform = t.platform AND r.parent_comment_id = t.comment_id"""


def comment_links(every_key: bool = False) -> list[Step]:
    """``tmp_comment_link``: each merged comment of ``scope_comment_link`` (the scope and the replies under
    it), with its author, its post (its parent's when it names none) and the post's account (from
    ``tmp_post_owner``, :data:`POST_OWNERS`), and what the fact row takes from the comment (text,
    hidden, classifier input).

    The comments, texts and all, stream through the joins; each join's hash table holds narrow rows:
    the parents (:data:`COMMENT_PARENTS`, 300k of 5.3M comments at the reference year), the accounts,
    the posts' owners. Looked up in ``tmp_comment`` itself, DuckDB built the parents' table on the
    scoped comments, texts and all, and ran out of a 1 GB budget; with the texts left out of the links,
    the fact rows had to join them back, which took 13 s."""
    linked = f"""
        SELECT c.platform, c.comment_id, {bare_post_id('c.post_id', 'c.platform')} AS own_post_id,
               {bare_post_id('parent.post_id', 'c.platform')} AS parent_post_id, c.parent_comment_id, c.author_id,
               c.author_name, c.created_at, c.text, c.is_hidden, c.input_sha256
        FROM ({scoped_comments('tmp_comment', 'scope_comment_link', every_key)}) c
        LEFT JOIN tmp_comment_parent parent ON parent.platform = c.platform AND parent.comment_id = c.parent_comment_id"""
    return [("tmp_comment_parent", COMMENT_PARENTS), ("tmp_comment_link", f"""
        SELECT l.* EXCLUDE (parent_post_id, author_key_role), f.account_key AS post_account_key,
               coalesce(l.author_key = f.account_key, false) AS is_by_post_account
        FROM (SELECT a.* EXCLUDE (own_post_id), coalesce(a.own_post_id, a.parent_post_id) AS post_id
              FROM ({resolved(linked, 'author_id', 'author_name', 'author_key', by_handle=False)}) a) l
        LEFT JOIN tmp_post_owner f ON f.platform = l.platform AND f.post_id = l.post_id""")]


def fct_comment(every_key: bool = False) -> str:
    """The fact rows of ``scope_comment``, from their links; a reply by the post's account counts for
    its parent's first reply, whether or not the reply is in scope."""
    return f"""
    WITH first_reply AS (
        SELECT platform, parent_comment_id AS comment_id, min(created_at) AS first_reply_at
        FROM tmp_comment_link WHERE is_by_post_account AND parent_comment_id IS NOT NULL
        GROUP BY platform, parent_comment_id
    ), scoped AS (
        SELECT l.*, r.first_reply_at, epoch(r.first_reply_at - l.created_at) / 3600.0 AS first_reply_hours
        FROM ({scoped_comments('tmp_comment_link', 'scope_comment', every_key)}) l
        LEFT JOIN first_reply r ON r.platform = l.platform AND r.comment_id = l.comment_id
    )
    SELECT c.platform, c.comment_id, c.post_id, c.parent_comment_id, c.post_account_key, c.author_key,
           c.is_by_post_account, c.parent_comment_id IS NULL OR coalesce(c.parent_comment_id = c.post_id, false) AS is_top_level,
           c.created_at, {week_of('c.created_at')} AS created_week, c.text, o.language, o.sentiment, o.sentiment_score,
           o.is_spam, o.is_question, o.is_praise, o.is_travel_intent, o.is_complaint, c.is_hidden, c.first_reply_at,
           c.first_reply_hours, coalesce(c.first_reply_hours <= {REPLY_WINDOW_HOURS}, false) AS is_replied_7d,
           o.classification_rules
    FROM scoped c
    LEFT JOIN ops_comment_classification o ON o.input_sha256 = c.input_sha256 AND o.classifier_version = $comment_version"""


# -- accounts, audiences, search -----------------------------------------------------------------------

#: Registered accounts, as the city profile lists them.
DIM_ACCOUNT_REGISTERED = """
    SELECT account_key, platform, registered_id AS account_id, handle AS account_handle, role, city, true AS is_registered
    FROM reg_account"""


def rebuilt_accounts(every_key: bool = False) -> str:
    """The accounts the rebuilt fact rows name, once the comments are in: they go from their query
    straight into ``fct_comment`` (see ``warehouse.facts._apply``), where the scoped rows are the rebuilt ones."""
    comments = scoped_comments("fct_comment", "scope_comment", every_key)
    return f"SELECT account_key, platform FROM tmp_fct_post UNION SELECT author_key, platform FROM ({comments})"


def dim_account_public(keys: str, new_only: bool = False) -> str:
    """``dim_account`` rows of the public accounts among ``keys`` (account_key, platform); ``new_only``:
    those ``dim_account`` does not hold yet."""
    held = " AND account_key NOT IN (SELECT account_key FROM dim_account)" if new_only else ""
    return f"""
        SELECT DISTINCT account_key, platform, CAST(NULL AS VARCHAR) AS account_id,
               split_part(account_key, ':', 2) AS account_handle, 'public' AS role, CAST(NULL AS VARCHAR) AS city,
               false AS is_registered
        FROM ({keys}) WHERE account_key IS NOT NULL AND account_key NOT IN (SELECT account_key FROM reg_account){held}"""


#: The accounts the scoped rows named before the build (``tmp_old_account``) that no fact row names once
#: they are replaced: asked after the swap, when ``fct_post`` and ``fct_comment`` hold the rebuilt rows.
GONE_ACCOUNTS = """
    SELECT account_key FROM tmp_old_account
    EXCEPT SELECT f.account_key FROM fct_post f SEMI JOIN tmp_old_account o ON o.account_key = f.account_key
    EXCEPT SELECT c.author_key FROM fct_comment c SEMI JOIN tmp_old_account o ON o.account_key = c.author_key"""


def fct_follower_day() -> list[Step]:
    """``tmp_fct_follower_day``, from every staged account day with its account."""
    rows = resolved("SELECT * FROM stg_account_day", "account_id", "account_handle", "account_key")
    picks, merged = latest("tmp_follower_day_row", ("account_key", "platform", "day"),
                          ["followers", "followers_gained", "followers_lost", "views"], "tmp_follower_day_pick")
    return [("tmp_follower_day_row", rows), *picks, ("tmp_fct_follower_day", merged)]


def fct_audience_country() -> list[Step]:
    """``tmp_fct_audience_country``, from every staged audience share by country with its account."""
    rows = resolved("SELECT * FROM stg_audience WHERE dimension = 'country'", "account_id", "account_handle", "account_key")
    picks, merged = latest("tmp_audience_row", ("account_key", "platform", "post_id", "value", "window_start", "window_end"),
                          ["views", "share"], "tmp_audience_pick")
    return [("tmp_audience_row", rows), *picks, ("tmp_fct_audience_country", f"""
        SELECT account_key, platform, post_id, value AS country, window_start, window_end, views, share FROM ({merged})""")]


def fct_search_query() -> list[Step]:
    """``tmp_fct_search_query``, from every staged Search Console row."""
    picks, merged = latest("stg_search", ("property", "dimension", "value", "window_start", "window_end"),
                          ["clicks", "impressions", "ctr", "position"], "tmp_search_pick")
    return [*picks, ("tmp_fct_search_query", merged)]
