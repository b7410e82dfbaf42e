"""One rule of week membership, in every form it takes: Python (``Week.contains``), DuckDB
(``in_week_sql``, and the fact build's ``week_of``), and Polars (the KPI context), held equal at the
edges of weeks, across a daylight-saving change."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest

from cityimage.weeks import Week, in_week_sql
from tests.transforms.test_kpis import make_facts
from transforms.kpis import load_catalogue
from transforms.kpis.base import Context
from warehouse.facts.models import week_of

CASES = [
    (ZoneInfo("Asia/Shanghai"), Week.parse("2026-W47")),
    (ZoneInfo("Europe/Paris"), Week.parse("2026-W13")),  # summer time begins on its Sunday, 29 March
    (ZoneInfo("America/New_York"), Week.parse("2026-W45")),  # winter time returns on 1 November
]


def _instants(week: Week, zone: ZoneInfo) -> list[datetime | None]:
    start, end = week.bounds_utc(zone)
    micro = timedelta(microseconds=1)
    edges = [start - micro, start, start + micro, end - micro, end, end + micro]
    inside = [start + timedelta(hours=h) for h in range(0, 7 * 24 + 2, 5)]
    return [*edges, *inside, None, None]


@pytest.mark.parametrize(("zone", "week"), CASES, ids=[str(z) for z, _ in CASES])
def test_every_form_of_week_membership_agrees(zone: ZoneInfo, week: Week) -> None:
    instants = _instants(week, zone)
    labels = [week.id if i % 2 else week.shift(1).id for i in range(len(instants))]  # only undated rows use them
    python = [week.contains(at, zone, label) for at, label in zip(instants, labels)]

    frame = pl.DataFrame({"instant": instants, "label": labels},
                         schema={"instant": pl.Datetime("us", "UTC"), "label": pl.String})
    con = duckdb.connect()
    con.register("t", frame.with_row_index("i").to_arrow())
    # A WHERE condition: NULL (an undated row of another week) keeps no row, like false.
    sql = [bool(r[0]) for r in con.execute(f"SELECT {in_week_sql('instant', 'label')} FROM t ORDER BY i",
                                           week.sql_params(zone)).fetchall()]
    ids = [r[0] for r in con.execute(f"SELECT {week_of('instant')} FROM t ORDER BY i", {"zone": zone.key}).fetchall()]
    con.close()

    ctx = Context(make_facts(), week, zone, [], load_catalogue())
    kept = ctx._week_filter(frame.with_row_index("i"), "instant", "label")["i"].to_list()
    polars_ = [i in kept for i in range(len(instants))]
    in_week = [ctx.in_week(at, label) for at, label in zip(instants, labels)]

    for name, other in (("sql", sql), ("polars", polars_), ("in_week", in_week)):
        assert python == other, (name, [(i, instants[i], p, o) for i, (p, o) in enumerate(zip(python, other)) if p != o])
    assert [bool(b) for b in python[:6]] == [False, True, True, True, False, False]
    dated = [(at, i) for at, i in zip(instants, ids) if at is not None]
    assert all((Week.containing(at, zone).id == i) and ((i == week.id) == week.contains(at, zone)) for at, i in dated)
    assert python[-2:] == [False, True]  # undated: by the week column alone
