"""The network view: cities' published weeks side by side, from their snapshot folders (read only).
Two real homes publish the sample week, one under the Chongqing profile, one under a Hangzhou one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from cityimage.sample import default_weeks, write_sample_inbox
from cityimage.settings import DEFAULT_PROFILE
from flows import stages
from publish.network import NetworkInputError, publish_network
from tests.resilience.hostile import Lab
from transforms.network import network_kpis

WEEK = default_weeks()[-1]


def _kpis(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["week_id", "kpi_id", "kpi_name", "scope", "platform", "role", "dimension", "unit",
                                      "value"], orient="row")


def test_each_city_beside_the_median_of_the_cities_that_have_the_figure() -> None:
    w = WEEK.id
    a = _kpis([(w, "C1", "reply rate", "role", None, "owned", None, "ratio", 0.10),
               (w, "C1", "reply rate", "role", "x", "owned", None, "ratio", 0.90),        # one platform: left out
               (w, "C1", "reply rate", "account", "x", "owned", None, "ratio", 0.90),     # one account: left out
               (w, "B1", "theme share", "role", None, "owned", "culture", "ratio", 0.20)])
    b = _kpis([(w, "C1", "reply rate", "role", None, "owned", None, "ratio", 0.30),
               (w, "B1", "theme share", "role", None, "owned", "culture", "ratio", None)])  # absent: left out
    c = _kpis([(w, "C1", "reply rate", "role", None, "owned", None, "ratio", 0.50)])
    table = network_kpis({("a", "A"): a, ("b", "B"): b, ("c", "C"): c})
    reply = table.filter(pl.col("kpi_id") == "C1").select("city_key", "value", "network_median", "vs_median", "rank", "cities")
    assert reply.rows() == [("a", 0.1, 0.3, pytest.approx(-0.2), 3, 3), ("b", 0.3, 0.3, 0.0, 2, 3),
                            ("c", 0.5, 0.3, pytest.approx(0.2), 1, 3)]
    assert table.filter(pl.col("kpi_id") == "B1").select("city_key", "cities").rows() == [("a", 1)]


@pytest.fixture(scope="module")
def two_cities(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    roots = []
    for name in ("Chongqing", "Hangzhou"):
        folder = tmp_path_factory.mktemp(name.lower())
        profile = folder / "profile.yaml"
        profile.write_text(DEFAULT_PROFILE.read_text(encoding="utf-8").replace("city: Chongqing", f"city: {name}", 1))
        lab = Lab(folder / "home")
        settings = lab.settings.model_copy(update={"profile_path": profile})
        write_sample_inbox(settings.inbox, [WEEK], scale=0.2)
        stages.ingest(settings)
        stages.build_facts(settings)
        stages.compute_kpis(settings, WEEK)
        stages.publish(settings, WEEK)
        roots.append(settings.snapshots)
    return roots


def test_the_network_table_manifest_and_page_from_two_cities(two_cities: list[Path], tmp_path: Path) -> None:
    late = tmp_path / "late-city-snapshots"  # has not published the week yet: listed, not fatal
    late.mkdir()
    before = {p: p.read_bytes() for root in two_cities for p in root.rglob("*") if p.is_file()}
    summary = publish_network(WEEK, [*two_cities, late], tmp_path / "network")
    assert summary["cities"] == ["chongqing", "hangzhou"] and summary["absent"] == [str(late)]
    table = pl.read_parquet(tmp_path / "network" / "network_kpis" / f"week={WEEK.id}" / "network_kpis.parquet")
    assert table.height == summary["rows"] > 0 and set(table["city"]) == {"Chongqing", "Hangzhou"}
    assert (table["cities"] <= 2).all() and table.filter(pl.col("cities") == 2).height > 0
    manifest = json.loads((tmp_path / "network" / "manifests" / f"week={WEEK.id}.json").read_text())
    assert [s["city_key"] for s in manifest["sources"]] == ["chongqing", "hangzhou"]
    page = (tmp_path / "network" / f"network-{WEEK.id}.html").read_text(encoding="utf-8")
    assert "Chongqing" in page and "Hangzhou" in page and "late-city-snapshots" in page
    assert {p: p.read_bytes() for root in two_cities for p in root.rglob("*") if p.is_file()} == before  # read only
    again = publish_network(WEEK, [*two_cities, late], tmp_path / "network-again")
    assert again == summary | {"absent": [str(late)]}
    assert (tmp_path / "network-again" / "network_kpis" / f"week={WEEK.id}" / "network_kpis.parquet").read_bytes() == \
        (tmp_path / "network" / "network_kpis" / f"week={WEEK.id}" / "network_kpis.parquet").read_bytes()


def test_a_city_given_twice_or_unnamed_is_refused(two_cities: list[Path], tmp_path: Path) -> None:
    with pytest.raises(NetworkInputError, match="Chongqing is given twice"):
        publish_network(WEEK, [two_cities[0], two_cities[0]], tmp_path / "n1")
    unnamed = tmp_path / "old-snapshots" / "manifests"
    unnamed.mkdir(parents=True)
    (unnamed / f"week={WEEK.id}.json").write_text(json.dumps({"week_id": WEEK.id, "files": []}))
    with pytest.raises(NetworkInputError, match="names no city"):
        publish_network(WEEK, [unnamed.parent], tmp_path / "n2")


def test_every_published_row_names_its_city_and_a_folder_mixing_two_is_refused(two_cities: list[Path],
                                                                              tmp_path: Path) -> None:
    for root, key in zip(two_cities, ("chongqing", "hangzhou")):
        files = sorted(root.glob(f"*/week={WEEK.id}/*.parquet"))
        assert len(files) == 9, files
        for path in files:
            assert set(pl.read_parquet(path, columns=["city_key"])["city_key"]) <= {key}, path
    mixed = tmp_path / "mixed"
    shutil.copytree(two_cities[1], mixed)
    shutil.copyfile(two_cities[0] / "kpi_weekly" / f"week={WEEK.id}" / "kpi_weekly.parquet",
                    mixed / "kpi_weekly" / f"week={WEEK.id}" / "kpi_weekly.parquet")
    with pytest.raises(NetworkInputError, match="rows of chongqing in Hangzhou's snapshot"):
        publish_network(WEEK, [two_cities[0], mixed], tmp_path / "n3")


def test_cities_side_by_side_in_one_store_read_as_one_table(two_cities: list[Path], tmp_path: Path) -> None:
    """A shared store holds each city's snapshot folder under city=<key> (a local folder given to each
    city as its CITYIMAGE_SNAPSHOT_PATH, or the mirror's bucket): DuckDB reads the cities as one table,
    the path's city beside each row's own."""
    import duckdb

    store = tmp_path / "store"
    for root, key in zip(two_cities, ("chongqing", "hangzhou")):
        shutil.copytree(root, store / f"city={key}")
    rows = duckdb.sql(f"SELECT city, city_key, count(*) FROM read_parquet('{store}/*/kpi_weekly/*/*.parquet', "
                      "hive_partitioning = true, union_by_name = true) GROUP BY ALL ORDER BY city").fetchall()
    assert [(city, key) for city, key, _ in rows] == [("chongqing", "chongqing"), ("hangzhou", "hangzhou")]
    assert all(n > 0 for _, _, n in rows)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_network_flow_runs_under_prefect(two_cities: list[Path], tmp_path: Path) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from flows.network import network

    with prefect_test_harness(server_startup_timeout=180):
        summary = network(week=WEEK.id, snapshots=[str(r) for r in two_cities], out=str(tmp_path / "network"))
    assert summary["cities"] == ["chongqing", "hangzhou"]
    assert (tmp_path / "network" / "network_kpis" / f"week={WEEK.id}" / "network_kpis.parquet").is_file()
