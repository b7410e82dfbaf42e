"""The register of metric definitions loads, and a figure across a change is marked as a series break."""

from __future__ import annotations

from datetime import date

import polars as pl

from publish.report import render_week
from readers.definitions import breaks, load_register
from tests.publish.test_report import CATALOGUE, CITY, MANIFEST, block_text, frame, row, text_of


def test_the_register_holds_the_dated_changes_the_platforms_announced() -> None:
    changes = load_register()
    by_id = {c.definition: c for c in changes}
    assert by_id["facebook-views-2025"].changed_from == date(2025, 11, 15)
    assert by_id["instagram-views-2025"].changed_from == date(2025, 4, 21)
    assert all(c.changed_from <= c.changed_to and c.affects for c in changes)
    assert all(k in CATALOGUE for c in changes for k in c.affects), "every affected KPI is in the catalogue"


def test_breaks_are_found_by_kpi_platform_and_days() -> None:
    changes = load_register()
    around = breaks(changes, "A2", {"facebook"}, date(2025, 11, 3), date(2025, 11, 16))
    assert [c.definition for c in around] == ["facebook-page-follows"]
    assert breaks(changes, "A2", {"instagram"}, date(2025, 11, 3), date(2025, 11, 16)) == []
    assert breaks(changes, "A2", {"facebook"}, date(2025, 11, 17), date(2025, 11, 30)) == []
    assert [c.platform for c in breaks(changes, "A3", None, date(2024, 6, 3), date(2024, 6, 16))] == ["x"]


def test_a_figure_across_a_change_is_marked_and_its_neighbours_are_not() -> None:
    week, before = "2025-W46", "2025-W45"  # 10-16 November 2025: Facebook's followers change on the 15th
    rows = [row("A2", 0.01, week=week, platform="facebook", account="fb"),
            row("A2", 0.02, week=week, platform="instagram", account="ig"),
            row("A2", 0.005, week=before, platform="facebook", account="fb"),
            row("A2", 0.02, week=before, platform="instagram", account="ig")]
    kpis = frame(rows)
    html = render_week(week, kpis.filter(pl.col("week_id") == week), kpis, CATALOGUE, MANIFEST, CITY,
                       definitions=load_register())
    assert '<div class="breaks">' in html
    banner = text_of(html.split('<div class="breaks">')[1].split("</div>")[0])
    assert "Facebook on 2025-11-15: Facebook replaced page_fans" in banner and "Affected here: A2." in banner
    text = block_text(html, "A2")
    assert "series break: Facebook: facebook replaced page_fans" in text
    assert html.count('class="break"') == 2  # the Facebook row only, and the legend
    later = render_week("2025-W48", frame([row("A2", 0.01, week="2025-W48", platform="facebook")]),
                        frame([row("A2", 0.01, week="2025-W48", platform="facebook")]), CATALOGUE, MANIFEST, CITY,
                        definitions=load_register())
    assert '<div class="breaks">' not in later and "series break:" not in block_text(later, "A2")
