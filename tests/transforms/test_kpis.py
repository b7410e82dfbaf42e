"""KPIs: the output contract, weeks in the reporting zone, determinism, and the helpers the family tests use.

The family tests (``test_kpis_a.py`` … ``test_kpis_f.py``) build small ``Facts`` by hand with the
helpers below and work every expected number out in comments. The reporting week throughout is
2026-W47 in Asia/Shanghai: Monday 2026-11-16 00:00 to Monday 2026-11-23 00:00 local time, i.e.
[2026-11-15T16:00Z, 2026-11-22T16:00Z).
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow.parquet as pq
import pytest

from cityimage.weeks import Week
from cityimage.tables import TABLES
from transforms.kpis import REGISTRY, SORT_KEY, compute_kpis, load_catalogue
from transforms.model import FACT_TABLES, KPI_COLUMNS, Facts

# -- helpers -------------------------------------------------------------------------------------------

SCHEMAS = {t.name: t.schema for t in TABLES.values()}
ZONE = ZoneInfo("Asia/Shanghai")
W47 = Week.parse("2026-W47")
LATE = "2026-12-01T00:00Z"  # an export long after the week: cohorts are old enough, reply windows closed

ACCOUNTS = {
    "x:ichongqing_": "owned",
    "x:hangzhou_china": "benchmark",
    "facebook:ichongqing": "owned",
    "facebook:hangzhouchina": "benchmark",
    "youtube:ichongqing": "owned",
    "youtube:hangzhouchina": "benchmark",
}


def at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _week_id(instant: datetime | None) -> str | None:
    return None if instant is None else Week.containing(instant, ZONE).id


def post(post_id: str, account: str = "x:ichongqing_", published: str | None = "2026-11-17T02:00Z", **values: Any) -> dict:
    """A fct_post row: published at 10:00 Shanghai on Tuesday of W47 unless told otherwise."""
    published_at = at(published)
    row = {
        "platform": account.split(":")[0], "post_id": post_id, "account_key": account, "role": ACCOUNTS.get(account, "public"),
        "published_at": published_at, "published_week": _week_id(published_at), "format": "image", "language": "en",
        "themes": [], "labels": [], "places": [], "lynch_elements": [], "latest_exported_at": at(LATE), "snapshots": 1,
        "is_live": False,
    }
    row.update({k: at(v) if k == "latest_exported_at" else v for k, v in values.items()})
    return row


def snap(post_id: str, exported: str, engagements: int | None, account: str = "x:ichongqing_", **values: Any) -> dict:
    """A fct_post_metric_snapshot row; age_days is left for the KPI code to work out from the post."""
    return {"platform": account.split(":")[0], "post_id": post_id, "account_key": account, "exported_at": at(exported),
            "engagements": engagements, "source_file_sha256": "0" * 64, **values}


def comment(comment_id: str, account: str = "x:ichongqing_", created: str = "2026-11-17T03:00Z", **values: Any) -> dict:
    """A fct_comment row by a member of the public, top-level, under a post of ``account``."""
    created_at = at(created)
    row = {
        "platform": account.split(":")[0], "comment_id": comment_id, "post_id": "p1", "post_account_key": account,
        "author_key": f"{account.split(':')[0]}:fan-{comment_id}", "is_by_post_account": False, "is_top_level": True,
        "created_at": created_at, "created_week": _week_id(created_at), "is_spam": False, "sentiment": "neutral",
        "is_replied_7d": False,
    }
    row.update({k: at(v) if k == "first_reply_at" else v for k, v in values.items()})
    return row


def mention(post_id: str, platform: str = "x", published: str = "2026-11-17T02:00Z", **values: Any) -> dict:
    published_at = at(published)
    return {"platform": platform, "post_id": post_id, "account_key": f"{platform}:user-{post_id}", "published_at": published_at,
            "published_week": _week_id(published_at), "labels": [], "lynch_elements": [], "is_spam": False,
            "sentiment": "neutral", **values}


def make_facts(**tables: list[dict]) -> Facts:
    """Facts from a few rows per table; every other column null, every other table empty."""
    tables.setdefault("dim_account", [
        {"account_key": key, "platform": key.split(":")[0], "role": role, "is_registered": True} for key, role in ACCOUNTS.items()
    ])
    unknown = set(tables) - set(FACT_TABLES)
    assert not unknown, f"not fact tables: {unknown}"
    frames = {}
    for name in FACT_TABLES:
        schema = SCHEMAS[name]
        rows = tables.get(name, [])
        for row in rows:
            extra = set(row) - set(schema)
            assert not extra, f"{name} has no columns {extra}"
        frames[name] = pl.DataFrame([{c: row.get(c) for c in schema} for row in rows], schema=schema) if rows else pl.DataFrame(schema=schema)
    return Facts(**frames)


def run(facts: Facts, week: Week = W47, keywords: list[tuple[str, str | None]] | None = None) -> pl.DataFrame:
    return compute_kpis(facts, week, ZONE, keywords or [])


def pick(frame: pl.DataFrame, kpi: str, *, account: str | None = None, role: str | None = None, platform: Any = None,
         dimension: str | None = None) -> dict:
    """The one row of ``kpi`` for an account, or for a role on a platform (None = across platforms)."""
    rows = frame.filter(pl.col("kpi_id") == kpi)
    if account is not None:
        rows = rows.filter((pl.col("scope") == "account") & (pl.col("account_key") == account))
    else:
        rows = rows.filter((pl.col("scope") == "role") & (pl.col("role") == role) & pl.col("account_key").is_null())
        rows = rows.filter(pl.col("platform").is_null() if platform is None else pl.col("platform") == platform)
    rows = rows.filter(pl.col("dimension").is_null() if dimension is None else pl.col("dimension") == dimension)
    assert rows.height == 1, f"{kpi} {account or role}/{platform}/{dimension}: {rows.height} rows\n{frame.filter(pl.col('kpi_id') == kpi)}"
    return rows.row(0, named=True)


# -- a small week with something for every KPI ----------------------------------------------------------


def rich_facts() -> Facts:
    posts = [
        post("p1", themes=["culture"], engagements=50, impressions=1000, language="en", asset_key="bridge", views=100),
        post("p2", themes=["food"], format="video", engagements=20, impressions=400, language="fr", views=300,
             avg_watch_time_s=20.0, duration_s=60.0, asset_key="bridge"),
        post("p3", account="x:hangzhou_china", engagements=80, impressions=900),
        post("v1", account="youtube:ichongqing", format="video", is_live=True, views=1000, likes=20, comments=5, engagements=25),
        post("u1", account="x:someone", role="public"),
    ]
    return make_facts(
        fct_post=posts,
        fct_post_metric_snapshot=[snap("p1", "2026-11-24T02:00Z", 50), snap("p2", "2026-11-24T02:00Z", 20)],
        fct_comment=[comment("c1", is_replied_7d=True, first_reply_at="2026-11-17T04:00Z", first_reply_hours=1.0,
                             sentiment="negative", is_question=True, is_travel_intent=True),
                     comment("c2", account="x:hangzhou_china", is_spam=True)],
        fct_mention=[mention("u1", labels=["mountain_city"], lynch_elements=["landmarks"], sentiment="positive")],
        fct_livestream=[{"platform": "youtube", "post_id": "v1", "account_key": "youtube:ichongqing",
                         "started_at": at("2026-11-18T12:00Z"), "week_id": "2026-W47", "views": 1000, "likes": 20,
                         "comments": 5, "duration_s": 600.0, "peak_concurrent_viewers": 90, "avg_concurrent_viewers": 40,
                         "avg_watch_time_s": 120.0}],
        fct_follower_day=[{"account_key": "x:ichongqing_", "platform": "x", "day": d, "followers": f}
                          for d, f in ((datetime(2026, 11, 15).date(), 1000), (datetime(2026, 11, 22).date(), 1010))],
        fct_audience_country=[{"account_key": "x:ichongqing_", "platform": "x", "country": "US", "window_start": W47.monday,
                               "window_end": W47.sunday, "views": 10}],
        fct_search_query=[{"property": "site", "dimension": "query", "value": "chinese culture", "window_start": W47.monday,
                           "window_end": W47.sunday, "clicks": 1, "impressions": 10, "position": 12.0}],
    )


# -- the contract ----------------------------------------------------------------------------------------


def test_output_has_exactly_the_kpi_columns_sorted_and_unique() -> None:
    frame = run(rich_facts(), keywords=[("chinese culture", None)])
    assert frame.schema == pl.Schema(KPI_COLUMNS)
    assert frame.equals(frame.sort(SORT_KEY, nulls_last=True, maintain_order=True))
    assert frame.group_by(SORT_KEY).len().filter(pl.col("len") > 1).height == 0
    assert set(frame["status"].unique()) <= {"ok", "flagged", "absent"}
    assert set(frame["week_id"].unique()) == {"2026-W47"}


def test_every_catalogue_kpi_is_computed_and_present_even_with_no_data() -> None:
    catalogue = load_catalogue()
    assert [kpi_id for kpi_id, _, _ in REGISTRY] == list(catalogue)
    assert list(catalogue) == [f"{f}{i}" for f, n in zip("ABCDEF", (6, 4, 6, 5, 2, 5)) for i in range(1, n + 1)]
    empty = run(make_facts(dim_account=[]))
    assert sorted(empty["kpi_id"].unique()) == sorted(catalogue)
    # With nothing at all, every row says why it is empty: value null, never zero.
    assert empty["status"].unique().to_list() == ["absent"]
    assert empty["value"].null_count() == empty.height
    assert empty["note"].null_count() == 0


def test_names_and_units_come_from_the_catalogue() -> None:
    catalogue = load_catalogue()
    frame = run(rich_facts(), keywords=[("chinese culture", None)])
    for row in frame.select("kpi_id", "kpi_name", "unit", "dimension").unique().iter_rows(named=True):
        entry = catalogue[row["kpi_id"]]
        assert row["kpi_name"] == entry["name"]
        allowed = {entry["unit"]} | {str(spec["unit"]) for spec in (entry.get("rows") or {}).values()}
        assert row["unit"] in allowed or "as the total" in allowed, row


def test_catalogue_entries_have_plain_definitions_and_findings() -> None:
    for kpi_id, entry in load_catalogue().items():
        assert entry["definition"].strip() and entry["rollup"].strip(), kpi_id
        assert set(entry["finding"]) <= set("abcdefgh"), kpi_id
        assert entry["unit"] in {"ratio", "count", "hours", "pp", "score", "index", "rank", "per_1000"}, kpi_id


def test_absent_value_is_null_with_a_reason_and_never_zero() -> None:
    frame = run(rich_facts(), keywords=[("chinese culture", None)])
    absent = frame.filter(pl.col("status") == "absent")
    assert absent.height > 0
    assert absent["value"].null_count() == absent.height
    assert absent["note"].null_count() == 0
    # No follower series for the benchmark X account: A2 is absent and says so.
    row = pick(frame, "A2", account="x:hangzhou_china")
    assert row["value"] is None and row["note"] == "no follower series for x:hangzhou_china"


def test_same_inputs_give_identical_frames_and_parquet_bytes() -> None:
    facts = rich_facts()
    first, second = run(facts, keywords=[("chinese culture", None)]), run(facts, keywords=[("chinese culture", None)])
    assert first.equals(second)

    def parquet(frame: pl.DataFrame) -> bytes:
        buffer = io.BytesIO()
        pq.write_table(frame.to_arrow(), buffer, compression="zstd")
        return buffer.getvalue()

    assert parquet(first) == parquet(second)


def test_row_order_of_the_inputs_does_not_matter() -> None:
    facts = rich_facts()
    shuffled = Facts(**{name: getattr(facts, name).sample(fraction=1.0, shuffle=True, seed=7) for name in FACT_TABLES})
    assert run(facts, keywords=[("chinese culture", None)]).equals(run(shuffled, keywords=[("chinese culture", None)]))


# -- weeks in the reporting time zone -------------------------------------------------------------------


def test_a_post_late_on_sunday_utc_belongs_to_the_next_iso_week_in_shanghai() -> None:
    # 2026-11-15T17:00Z is Monday 2026-11-16 01:00 in Shanghai: the first hour of W47, not W46.
    # 2026-11-15T15:59Z is Sunday 23:59 in Shanghai: the last minute of W46.
    facts = make_facts(fct_post=[post("early", published="2026-11-15T17:00Z"), post("late", published="2026-11-15T15:59Z")],
                       fct_comment=[comment("c1", created="2026-11-15T17:00Z"), comment("c2", created="2026-11-15T15:59Z",
                                                                                        is_replied_7d=True)])
    w47, w46 = run(facts, W47), run(facts, W47.shift(-1))
    assert pick(w47, "A1", account="x:ichongqing_")["value"] == 1.0
    assert pick(w46, "A1", account="x:ichongqing_")["value"] == 1.0
    # The W47 comment was not answered, the W46 one was.
    assert pick(w47, "C1", account="x:ichongqing_")["value"] == 0.0
    assert pick(w46, "C1", account="x:ichongqing_")["value"] == 1.0


def test_the_instant_decides_the_week_even_if_a_precomputed_week_column_disagrees() -> None:
    # A week column computed in UTC would put this post in W46; the reporting zone puts it in W47.
    facts = make_facts(fct_post=[post("p", published="2026-11-15T17:00Z", published_week="2026-W46")])
    assert pick(run(facts), "A1", account="x:ichongqing_")["value"] == 1.0


def test_the_week_column_is_used_when_the_instant_is_missing() -> None:
    facts = make_facts(fct_post=[post("p", published=None, published_week="2026-W47")])
    assert pick(run(facts), "A1", account="x:ichongqing_")["value"] == 1.0


def test_duckdb_style_etc_utc_timestamps_are_accepted() -> None:
    facts = rich_facts()
    relabelled = Facts(**{
        name: getattr(facts, name).with_columns(
            [pl.col(c).dt.convert_time_zone("Etc/UTC") for c, t in getattr(facts, name).schema.items() if isinstance(t, pl.Datetime)]
        ) for name in FACT_TABLES
    })
    assert run(relabelled, keywords=[("chinese culture", None)]).equals(run(facts, keywords=[("chinese culture", None)]))


@pytest.mark.parametrize("kpi", ["A4", "B4"])
def test_owned_only_kpis_have_no_benchmark_rows(kpi: str) -> None:
    frame = run(rich_facts())
    assert frame.filter((pl.col("kpi_id") == kpi) & (pl.col("role") != "owned")).height == 0


# -- the analyst's queries in docs/kpis.md ----------------------------------------------------------------


def test_every_query_in_the_kpi_docs_runs_on_a_published_week(tmp_path: Path) -> None:
    import duckdb

    frame = run(rich_facts(), keywords=[("chinese culture", None)])
    target = tmp_path / "kpi_weekly" / "week=2026-W47" / "kpi_weekly.parquet"
    target.parent.mkdir(parents=True)
    frame.write_parquet(target)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "kpis.md").read_text(encoding="utf-8")
    queries = re.findall(r"```sql\n(.*?)```", docs, re.S)
    assert len(queries) >= 30
    con = duckdb.connect()
    for query in queries:
        relation = con.sql(query.replace("var/snapshots", str(tmp_path)))
        if relation is not None:
            relation.fetchall()
    assert con.sql("SELECT count(*) FROM kpi").fetchall() == [(frame.height,)]


# -- series breaks -----------------------------------------------------------------------------------------


def test_a_row_whose_inputs_straddle_a_definition_change_names_it() -> None:
    from datetime import date

    from readers.definitions import DefinitionChange

    def change(definition: str, platform: str, day: date, affects: tuple[str, ...]) -> DefinitionChange:
        return DefinitionChange(platform, "m", definition, day, day, "a change", affects)

    changes = (change("yt-in-week", "youtube", date(2026, 11, 18), ("A1", "A4")),
               # ten days after W47: within A4's 14 days of engagements at 7 days, outside A1's week
               change("yt-after", "youtube", date(2026, 12, 2), ("A1", "A4")),
               change("x-in-week", "x", date(2026, 11, 18), ("A1",)))
    frame = compute_kpis(rich_facts(), W47, ZONE, [], changes=changes)
    assert pick(frame, "A4", role="owned", platform="youtube")["series_break"] == "yt-in-week, yt-after"
    assert pick(frame, "A1", account="x:ichongqing_")["series_break"] == "x-in-week"
    assert pick(frame, "A1", role="owned")["series_break"] == "yt-in-week, x-in-week"  # across platforms: any
    assert pick(frame, "A1", role="benchmark", platform="x")["series_break"] == "x-in-week"
    assert pick(frame, "A1", account="youtube:ichongqing")["series_break"] == "yt-in-week"
    unaffected = frame.filter(~pl.col("kpi_id").is_in(["A1", "A4"]))
    assert unaffected["series_break"].null_count() == unaffected.height
    absent = frame.filter(pl.col("value").is_null())
    assert absent.height and absent["series_break"].null_count() == absent.height  # no figure, nothing mixed
    assert run(rich_facts())["series_break"].null_count() == run(rich_facts()).height  # the shipped register: none in W47
