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


def _a2_weeks(broken: str | None) -> pl.DataFrame:
    """A2 on Facebook and Instagram in 2025-W45 and W46 (10-16 November 2025: Facebook's followers change
    on the 15th); the W46 Facebook row names ``broken`` as its series break, as compute_kpis writes it."""
    week, before = "2025-W46", "2025-W45"
    rows = [row("A2", 0.01, week=week, platform="facebook", account="fb") | {"series_break": broken},
            row("A2", 0.02, week=week, platform="instagram", account="ig"),
            row("A2", 0.005, week=before, platform="facebook", account="fb"),
            row("A2", 0.02, week=before, platform="instagram", account="ig")]
    return frame(rows)


def _render(kpis: pl.DataFrame, week: str = "2025-W46") -> str:
    return render_week(week, kpis.filter(pl.col("week_id") == week), kpis, CATALOGUE, MANIFEST, CITY,
                       definitions=load_register())


def test_a_figure_whose_row_names_a_break_is_marked_and_its_neighbours_are_not() -> None:
    html = _render(_a2_weeks("facebook-page-follows"))
    assert '<div class="breaks">' in html
    banner = text_of(html.split('<div class="breaks">')[1].split("</div>")[0])
    assert "Facebook on 2025-11-15: Facebook replaced page_fans" in banner and "Affected here: A2." in banner
    text = block_text(html, "A2")
    assert "series break: Facebook: facebook replaced page_fans" in text
    assert html.count('class="break"') == 2  # the Facebook row only, and the legend


def test_the_report_trusts_the_row_not_its_own_reading_of_the_register() -> None:
    html = _render(_a2_weeks(None))  # the same weeks, but the KPI stage found no break
    assert '<div class="breaks">' not in html and "series break:" not in block_text(html, "A2")


def test_the_change_since_a_week_that_broke_is_marked_too() -> None:
    rows = [row("A2", 0.01, week="2025-W46", platform="facebook") | {"series_break": "facebook-page-follows"},
            row("A2", 0.012, week="2025-W47", platform="facebook")]
    html = _render(frame(rows), "2025-W47")
    assert html.count('class="break"') == 3  # the legend, the headline card and the table's row
    assert "series break: Facebook" in text_of(html)


def test_a_snapshot_published_before_rows_named_breaks_gets_them_by_the_kpi_stage_rule() -> None:
    html = _render(_a2_weeks(None).drop("series_break"))
    assert "series break: Facebook: facebook replaced page_fans" in block_text(html, "A2")
    assert html.count('class="break"') == 2
    later = frame([row("A2", 0.01, week="2025-W48", platform="facebook")]).drop("series_break")
    assert "series break:" not in block_text(_render(later, "2025-W48"), "A2")
