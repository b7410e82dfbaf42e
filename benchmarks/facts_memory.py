"""What building the facts costs as staging grows: time and memory of ``stages.build_facts``.

``measure_facts(rows)`` builds a warehouse with ``rows`` synthetic rows in ``stg_comment`` (every
comment exported twice, in two weekly files, so ``rows / 2`` comments), a few thousand posts of the
registered accounts in ``stg_post`` (also exported twice), and runs ``flows.stages.build_facts`` on it
twice, each time in a fresh child process so the figures are not polluted by the parent or by each
other:

* ``first``: the first build over the whole history (nothing classified yet);
* ``again``: the same build a second time, as the next week's run sees it when no comment is new.

Comments are written the way the platforms shape them: about a quarter are replies (a third of
those by the post's own account, so replies are linked), YouTube replies come without their video
(the facts give them their parent's), X comments carry the platform's language tag, and texts of
about 90 characters are drawn from the sample generator's multilingual comment templates
(``cityimage/sample/content.yaml``) in its language mix, combined so that most are distinct.

Time is wall-clock around the build; memory is the child's peak RSS (``ru_maxrss``) and its growth over
the RSS measured just before building (after imports). Run it with
``python -m benchmarks.facts_memory 1000000``.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.measure import peak_mb, rss_mb, run_module, scratch_warehouse

if TYPE_CHECKING:
    import polars as pl

ROOT = Path(__file__).resolve().parents[1]
AUTHOR_KEY = "benchmark-author-key-0123456789"
POSTS = 3_000
PLATFORMS = ("youtube", "x", "tiktok", "facebook", "instagram")
FIRST_CREATED = datetime(2025, 11, 24, tzinfo=timezone.utc)
YEAR_SECONDS = 364 * 24 * 3600
PUBLIC_AUTHORS = 400_000
# Comment templates joined per comment: about 90 characters on average.
FRAGMENTS = 5


def measure_facts(rows: int, workdir: Path | None = None) -> dict[str, Any]:
    """Build a warehouse of ``rows`` stg_comment rows, then time and memory-measure two fact builds."""
    with scratch_warehouse(workdir, "warehouse.duckdb") as path:
        started = time.perf_counter()
        build_warehouse(path, rows)
        build_seconds = time.perf_counter() - started
        texts = _text_figures(path)
        first = _child(path.parent)
        again = _child(path.parent)
        return {
            "rows": rows,
            "comments": rows // 2,
            "posts": POSTS,
            "build_seconds": round(build_seconds, 3),
            "warehouse_mb": round(path.stat().st_size / 2**20, 1),
            **texts,
            "first": first,
            "again": again,
        }


def _text_figures(path: Path) -> dict[str, Any]:
    """How long and how varied the comment texts came out (distinct texts are what lingua reads)."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        chars, distinct = con.execute("SELECT avg(length(text)), count(DISTINCT text) FROM stg_comment").fetchall()[0]
    return {"avg_text_chars": round(chars, 1), "distinct_texts": distinct}


# -- the synthetic warehouse ----------------------------------------------------------------------


def build_warehouse(path: Path, rows: int) -> None:
    """``rows // 2`` comments exported twice and ``POSTS`` posts exported twice, with their ledger."""
    from warehouse.connection import open_writer

    with open_writer(path, "benchmark") as con:
        con.register("fragment", _fragments())
        con.register("owner", _owners())
        con.execute(_insert("post", _POST_COLUMNS, "posts", "range(?) AS r(i), (VALUES (0), (1)) AS e(export)"), [POSTS])
        con.execute(_insert("comment", _COMMENT_COLUMNS, "comments", _COMMENT_SOURCE), [rows // 2])
        con.execute(_LEDGER)
        con.unregister("fragment")
        con.unregister("owner")
        con.execute("CHECKPOINT")


def _insert(entity: str, expressions: dict[str, str], what: str, source: str) -> str:
    """An INSERT of every column of the entity and its lineage: given expressions, else typed nulls.

    The column set comes from the entity declaration, so the benchmark follows the staging schema.
    """
    from cityimage.tables import TABLES
    from readers.entities import ENTITIES

    table = ENTITIES[entity]
    declared = {c.name: c.type for c in TABLES[table.table].columns}
    unknown = set(expressions) - set(declared)
    if unknown:
        raise ValueError(f"{what}: not staging columns: {sorted(unknown)}")
    select = ",\n".join(f'CAST({expressions.get(name, "NULL")} AS {kind}) AS "{name}"' for name, kind in declared.items())
    return f"INSERT INTO {table.table} BY NAME SELECT {select} FROM {source}"


def _owners() -> pl.DataFrame:
    """The registered owned and benchmark accounts, one per platform and role, numbered for picking."""
    import polars as pl

    from cityimage.profile import load_profile
    from cityimage.settings import DEFAULT_PROFILE

    accounts = [a for a in load_profile(DEFAULT_PROFILE).accounts if a.role in ("owned", "benchmark")]
    return pl.DataFrame(
        {
            "platform": [a.platform for a in accounts],
            "role_n": [0 if a.role == "owned" else 1 for a in accounts],
            "account_id": [a.id for a in accounts],
            "handle": [a.handle for a in accounts],
        },
        schema={"platform": pl.String, "role_n": pl.Int64, "account_id": pl.String, "handle": pl.String},
    )


def _fragments() -> pl.DataFrame:
    """The sample's comment templates per language, each language weighted by its share of comments."""
    import polars as pl
    import yaml

    content = yaml.safe_load((ROOT / "cityimage" / "sample" / "content.yaml").read_text(encoding="utf-8"))
    fill = {"{place}": "Hongyadong", "{spam_url}": "www.cheap-likes.example", "{bench_place}": "West Lake"}
    texts: dict[str, list[str]] = {}
    for section in (*content["comments"].values(), content["followups"], content["peer_answers"]):
        for lang, templates in section.items():
            for template in templates:
                for placeholder, value in fill.items():
                    template = template.replace(placeholder, value)
                texts.setdefault(lang, []).append(template)
    weights = content["comment_languages"]
    slots = [lang for lang, share in weights.items() for _ in range(round(share * 100))]
    rows = [(slot, lang, k, text) for slot, lang in enumerate(slots) for k, text in enumerate(texts[lang])]
    return pl.DataFrame(rows, schema={"slot": pl.Int64, "lang": pl.String, "k": pl.Int64, "text": pl.String}, orient="row")


_POST_ID = """CASE i % 5
    WHEN 0 THEN 'v' || lpad(i::VARCHAR, 10, '0')
    WHEN 1 THEN (1860000000000000000 + i)::VARCHAR
    WHEN 2 THEN (7300000000000000000 + i)::VARCHAR
    WHEN 3 THEN (SELECT account_id FROM owner WHERE platform = 'facebook' AND role_n = 0) || '_' || (900000000000 + i)::VARCHAR
    ELSE (17900000000000000 + i)::VARCHAR END"""

_POST_COLUMNS = {
    "platform": f"{list(PLATFORMS)}[(i % 5) + 1]",
    "account_id": f"(SELECT account_id FROM owner o WHERE o.platform = {list(PLATFORMS)}[(i % 5) + 1] AND o.role_n = (i // 5) % 2)",
    "account_handle": f"(SELECT handle FROM owner o WHERE o.platform = {list(PLATFORMS)}[(i % 5) + 1] AND o.role_n = (i // 5) % 2)",
    "post_id": _POST_ID,
    "post_url": "'https://example.com/p/' || i::VARCHAR",
    "published_at": f"TIMESTAMPTZ '{FIRST_CREATED.isoformat()}' + to_seconds((i * 7919) % {YEAR_SECONDS})",
    "title": "'Chongqing, the mountain city, post ' || i::VARCHAR",
    "text": "'Hongyadong at night and the Liziba monorail through a building: the 8D magic of Chongqing, "
            "a city of bridges and hotpot. #chongqing #' || i::VARCHAR",
    "format": "['image', 'video', 'short_video', 'live', 'carousel'][(i // 5) % 5 + 1]",
    "impressions": "1000 + i * 3 + export * 200",
    "reach": "800 + i * 2 + export * 100",
    "views": "500 + i + export * 50",
    "likes": "50 + i % 97 + export * 5",
    "comments": "5 + i % 13 + export",
    "shares": "i % 11 + export",
    "saves": "i % 7",
    "exported_at": f"TIMESTAMPTZ '{FIRST_CREATED.isoformat()}' + to_seconds((i * 7919) % {YEAR_SECONDS}) + to_days(3 + 7 * export)",
    "source_row": "i",
    "source_format": "'bench_posts'",
    "source_file_sha256": "sha256('posts' || export::VARCHAR || (i % 52)::VARCHAR)",
    "load_id": "'bench'",
}

# One row per comment (c) and export: comment c replies to comment c - 5 (same platform, top-level)
# when c % 4 = 1, and then lives under its parent's post; a third of the replies are by that post's account.
_COMMENT_SOURCE = """(
    WITH comment AS (
        SELECT c, ['youtube', 'x', 'tiktok', 'facebook', 'instagram'][(c % 5) + 1] AS platform,
               c % 4 = 1 AND c >= 5 AS is_reply, c % 12 = 1 AND c >= 5 AS owner_reply,
               ((hash(CASE WHEN c % 4 = 1 AND c >= 5 THEN c - 5 ELSE c END) % 600) * 5 + c % 5)::BIGINT AS post_n,
               (hash(c, 'language') % 100)::BIGINT AS slot
        FROM range(?) AS r(c)
    ), slot_texts AS (
        SELECT slot, any_value(lang) AS lang, list(text ORDER BY k) AS texts FROM fragment GROUP BY slot
    ), post AS (
        SELECT DISTINCT source_row AS post_n, post_id AS post_post_id, account_id AS post_account_id,
               account_handle AS post_account_handle, published_at FROM stg_post
    )
    SELECT comment.*, s.lang, post.* EXCLUDE (post_n), e.export, {text} AS body,
           post.published_at + to_seconds((hash(c - 5 * is_reply::INT) % 864000)::BIGINT + is_reply::INT * (c % 200) * 3600) AS created_at
    FROM comment JOIN slot_texts s USING (slot) JOIN post USING (post_n), (VALUES (0), (1)) AS e(export)
) AS base""".format(
    text=" || ' ' || ".join(f"s.texts[(hash(c, {k}) % len(s.texts))::BIGINT + 1]" for k in range(FRAGMENTS)),
)


def _comment_id(c: str) -> str:
    """The platform's id shape for comment number ``c`` (a SQL expression)."""
    return f"""CASE platform
    WHEN 'youtube' THEN 'Ugx' || md5(({c})::VARCHAR)[:20]
    WHEN 'facebook' THEN split_part(post_post_id, '_', 2) || '_' || (500000000000 + {c})::VARCHAR
    ELSE (1870000000000000000 + {c})::VARCHAR END"""


_PUBLIC_AUTHOR = f"'anon_' || md5((hash(c) % {PUBLIC_AUTHORS})::VARCHAR)[:20]"

_COMMENT_COLUMNS = {
    "platform": "platform",
    "comment_id": _comment_id("c"),
    "post_id": "CASE WHEN platform = 'youtube' AND is_reply THEN NULL ELSE post_post_id END",
    "parent_comment_id": f"CASE WHEN is_reply THEN {_comment_id('c - 5')} END",
    "author_id": f"CASE WHEN owner_reply THEN post_account_id ELSE {_PUBLIC_AUTHOR} END",
    "author_name": f"CASE WHEN owner_reply THEN post_account_handle ELSE {_PUBLIC_AUTHOR} END",
    "text": "body",
    "created_at": "created_at",
    "like_count": "c % 50 + export * 3",
    "reply_count": "c % 7",
    "is_hidden": "CASE WHEN export = 1 THEN c % 97 = 0 END",
    "language_raw": "CASE WHEN platform = 'x' THEN lang END",
    "exported_at": "created_at + to_days(2 + 7 * export)",
    "source_row": "c",
    "source_format": "'bench_comments'",
    "source_file_sha256": "sha256('comments' || export::VARCHAR || platform || (epoch(created_at)::BIGINT // 604800)::VARCHAR)",
    "load_id": "'bench'",
}

_LEDGER = """
INSERT INTO ops_file_ledger (file_sha256, file_name, file_bytes, detected_format, platform, status, rows_read,
    rows_loaded, rows_quarantined, rows_skipped, rows_duplicate, exported_at, load_id, first_seen_at, loaded_at)
SELECT source_file_sha256, 'bench_' || source_file_sha256[:12] || '.json', 1000, 'bench', any_value(platform), 'loaded',
       count(*), count(*), 0, 0, 0, max(exported_at), 'bench', max(exported_at), max(exported_at)
FROM (SELECT source_file_sha256, platform, exported_at FROM stg_comment
      UNION ALL SELECT source_file_sha256, platform, exported_at FROM stg_post)
GROUP BY source_file_sha256
"""


# -- the child processes -------------------------------------------------------------------------


def _child(folder: Path) -> dict[str, Any]:
    return run_module("benchmarks.facts_memory", ["--child", str(folder)], timeout=4 * 3600)


def _run_child(folder: Path) -> dict[str, Any]:
    started = time.perf_counter()
    import duckdb  # noqa: F401
    import lingua  # noqa: F401
    import polars  # noqa: F401

    import transforms.classify  # noqa: F401
    import transforms.facts  # noqa: F401
    from cityimage.settings import Settings
    from flows import stages

    import_seconds = time.perf_counter() - started
    settings = Settings(home=folder, author_key=AUTHOR_KEY)
    baseline = rss_mb()
    started = time.perf_counter()
    result = stages.build_facts(settings)
    seconds = time.perf_counter() - started
    peak = peak_mb()
    return {
        "seconds": round(seconds, 3),
        "import_seconds": round(import_seconds, 3),
        "rss_before_mb": round(baseline, 1),
        "peak_rss_mb": round(peak, 1),
        "rss_growth_mb": round(max(peak - baseline, 0.0), 1),
        "tables": result.figures,
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        print(json.dumps(_run_child(Path(argv[1]))))
        return 0
    rows = int(argv[0]) if argv else 1_000_000
    print(json.dumps(measure_facts(rows), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
