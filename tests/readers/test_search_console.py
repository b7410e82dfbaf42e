"""Search Console readers: the tables of one download, dated by its Filters.csv."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from readers import registry
from readers.archive import expand_archive
from readers.base import ReadError, ReadResult, SourceFile

UTC = timezone.utc
DOCS = Path(__file__).resolve().parents[2] / "docs" / "formats" / "x_tiktok_search.md"
MARCH = (date(2026, 3, 1), date(2026, 3, 31))  # the reference download's range
FIXTURE_WEEK = (date(2026, 11, 16), date(2026, 11, 22))  # our own fixtures' range


def read(path: Path, companions: bool = True, **hints: object) -> ReadResult:
    """Read as the inbox would: the download's other files as companions."""
    others = {p.name: p.read_bytes() for p in path.parent.iterdir() if p != path and p.is_file()} if companions else {}
    return registry.read(SourceFile(path.name, path.read_bytes(), companions=others, **hints))  # type: ignore[arg-type]


def counts(result: ReadResult) -> tuple[str, int, int, int, int]:
    return result.format, result.rows_read, result.rows_loaded, len(result.rejects), len(result.skips)


def window(result: ReadResult) -> tuple[date, date]:
    search = result.tables["search"]
    return search["window_start"].unique().item(), search["window_end"].unique().item()


REAL = [
    ("Queries.csv", ("gsc_queries", 1000, 1000, 0, 0)),
    ("Pages.csv", ("gsc_pages", 196, 196, 0, 0)),
    ("Countries.csv", ("gsc_countries", 229, 229, 0, 0)),
    ("Devices.csv", ("gsc_devices", 3, 3, 0, 0)),
    ("Search appearance.csv", ("gsc_search_appearance", 1, 1, 0, 0)),
    ("Chart.csv", ("gsc_chart", 31, 31, 0, 0)),
    ("Filters.csv", ("gsc_filters", 2, 0, 0, 2)),
]


# ---------------------------------------------------------------------------------------------
# Real exports


@pytest.mark.real_exports
@pytest.mark.parametrize(("name", "expected"), REAL)
def test_real_export_counts(real_exports: Path, name: str, expected: tuple) -> None:
    result = read(real_exports / "search_console" / name)
    assert counts(result) == expected
    assert result.exported_at == datetime(2026, 4, 1, tzinfo=UTC)
    if result.rows_loaded:
        assert window(result) == MARCH
        assert set(result.tables["search"]["property"]) == {"stupski.org"}
        assert set(result.tables["search"]["search_type"]) == {"web"}


@pytest.mark.real_exports
def test_real_queries_and_pages(real_exports: Path) -> None:
    queries = read(real_exports / "search_console/Queries.csv").tables["search"]
    first = queries.row(0, named=True)
    assert (first["dimension"], first["value"], first["clicks"], first["impressions"]) == ("query", "stupski foundation", 627, 974)
    assert first["ctr"] == pytest.approx(0.6437)
    assert first["position"] == pytest.approx(1.27)
    assert queries.row(-1, named=True)["value"].startswith("which statement best explains how stress responses")
    assert queries["value"].str.contains("\n").sum() > 0  # quoted newlines kept inside the query

    pages = read(real_exports / "search_console/Pages.csv").tables["search"]
    assert (pages.row(0, named=True)["value"], pages.row(0, named=True)["ctr"]) == ("https://stupski.org/", pytest.approx(0.2198))


@pytest.mark.real_exports
def test_real_chart_and_countries(real_exports: Path) -> None:
    chart = read(real_exports / "search_console/Chart.csv").tables["search"]
    assert chart["value"].to_list()[:2] == ["2026-03-01", "2026-03-02"]
    assert (chart.row(0, named=True)["clicks"], chart.row(0, named=True)["impressions"]) == (9, 12177)
    assert chart.row(0, named=True)["ctr"] == pytest.approx(0.0007)
    countries = read(real_exports / "search_console/Countries.csv").tables["search"]
    assert countries.row(0, named=True)["value"] == "United States"
    assert countries.row(-1, named=True)["value"] == "Palau"


@pytest.mark.real_exports
def test_real_table_alone_is_refused_without_dates(real_exports: Path) -> None:
    with pytest.raises(ReadError, match="Filters.csv"):
        read(real_exports / "search_console/Queries.csv", companions=False)
    # The daily chart dates itself.
    assert window(read(real_exports / "search_console/Chart.csv", companions=False)) == MARCH


@pytest.mark.real_exports
def test_real_download_as_a_zip(real_exports: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((real_exports / "search_console").glob("*.csv")):
            archive.write(path, f"stupski.org-Performance-on-Search-2026-04-02/{path.name}")
    members = expand_archive(SourceFile("gsc.zip", buffer.getvalue()), max_total_bytes=50_000_000, max_ratio=200)
    results = {m.basename: counts(registry.read(m)) for m in members}
    assert results == dict(REAL)


# ---------------------------------------------------------------------------------------------
# Fixtures


def test_fixture_download(fixtures: Path) -> None:
    folder = fixtures / "search_console"
    queries = read(folder / "Queries.csv")
    assert counts(queries) == ("gsc_queries", 3, 2, 1, 0)
    assert (queries.rejects[0].source_row, queries.rejects[0].column, queries.rejects[0].value) == (3, "ctr", "abc%")
    rows = queries.tables["search"].to_dicts()
    assert rows[1]["value"] == "tram line 4\ntimetable"
    assert rows[0]["ctr"] == pytest.approx(0.6432)
    assert {r["property"] for r in rows} == {"www.cityimage.example"}  # host of the first page of Pages.csv
    assert window(queries) == FIXTURE_WEEK
    for name, fmt, dimension, n in [
        ("Pages.csv", "gsc_pages", "page", 2),
        ("Countries.csv", "gsc_countries", "country", 2),
        ("Devices.csv", "gsc_devices", "device", 2),
        ("Search appearance.csv", "gsc_search_appearance", "appearance", 1),
        ("Chart.csv", "gsc_chart", "date", 3),
    ]:
        result = read(folder / name)
        assert counts(result) == (fmt, n, n, 0, 0)
        assert set(result.tables["search"]["dimension"]) == {dimension}


def test_filters_produce_no_rows(fixtures: Path) -> None:
    result = read(fixtures / "search_console/Filters.csv")
    assert counts(result) == ("gsc_filters", 2, 0, 0, 2)
    assert "Search type" in result.skips[0].reason


def test_account_hint_names_the_property(fixtures: Path) -> None:
    result = read(fixtures / "search_console/Devices.csv", account_hint="sc-domain:cityimage.example")
    assert set(result.tables["search"]["property"]) == {"sc-domain:cityimage.example"}


def test_date_folder_gives_only_the_window_end(fixtures: Path) -> None:
    result = read(fixtures / "search_console/Devices.csv", companions=False, date_hint=date(2026, 4, 2))
    rows = result.tables["search"]
    assert rows["window_start"].to_list() == [None, None]
    assert set(rows["window_end"]) == {date(2026, 4, 2)}
    assert result.notes and "window start unknown" in result.notes[0]


def test_hourly_chart_is_converted_to_utc(fixtures: Path) -> None:
    result = read(fixtures / "search_console/hourly/Chart.csv")
    assert counts(result) == ("gsc_chart_hourly", 3, 3, 0, 0)
    rows = result.tables["search"]
    assert rows["value"].to_list() == ["2026-03-31T22:00Z", "2026-03-31T23:00Z", "2026-04-01T00:00Z"]
    assert window(result) == (date(2026, 3, 31), date(2026, 4, 1))
    assert result.exported_at == datetime(2026, 4, 1, 1, tzinfo=UTC)
    assert rows["ctr"].to_list() == pytest.approx([0.04, 0.025, 0.0])


def test_formats_are_documented() -> None:
    from readers import search_console

    text = DOCS.read_text(encoding="utf-8")
    for fmt in search_console.FORMATS:
        assert f"`{fmt.name}`" in text
        for target, _, _ in fmt.documented_columns():
            assert f"`{target}`" in text
