"""A run with nothing new reuses what cannot have changed, and only that.

The KPI stage keeps a week's rows only when recomputing them would give the same rows: any change to
the facts, to the definitions or to the rows themselves recomputes. The classifiers' holdout figures
are measured once per classifier version. Real DuckDB files, the sample inbox.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from cityimage.sample import default_weeks, write_sample_inbox
from flows import stages
from tests.resilience.digest import table_digest
from tests.resilience.hostile import Lab, sample_lab
from transforms.evaluate import default_evaluation, evaluate, report_key
from transforms.kpis import definition_digest


def _kpi_rows(lab: Lab) -> tuple[int, str]:
    import duckdb

    con = duckdb.connect(str(lab.warehouse), read_only=True)
    try:
        return table_digest(con, "kpi_weekly")
    finally:
        con.close()


def test_a_week_is_kept_while_facts_and_definitions_hold_and_recomputed_when_either_moves(tmp_path: Path) -> None:
    lab, drops, week = sample_lab(tmp_path)
    stages.ingest(lab.settings)
    stages.build_facts(lab.settings)
    first = stages.compute_kpis(lab.settings, week)
    assert "kept" not in first.figures and first.figures["rows"] > 0
    again = stages.compute_kpis(lab.settings, week)
    assert again.figures["kept"].startswith("unchanged since") and again.figures["rows"] == first.figures["rows"]

    # Rows lost behind the stage's back are not "kept".
    before = _kpi_rows(lab)
    import duckdb

    con = duckdb.connect(str(lab.warehouse))
    con.execute("DELETE FROM kpi_weekly WHERE rowid IN (SELECT min(rowid) FROM kpi_weekly)")
    con.close()
    repaired = stages.compute_kpis(lab.settings, week)
    assert "kept" not in repaired.figures and _kpi_rows(lab) == before

    # New exports change the facts: the week is computed again, and equals a forced computation.
    for drop in drops[1:]:
        shutil.copytree(drop, lab.settings.inbox / drop.name)
    stages.ingest(lab.settings)
    assert stages.build_facts(lab.settings).figures
    after_load = stages.compute_kpis(lab.settings, week)
    assert "kept" not in after_load.figures
    kept = stages.compute_kpis(lab.settings, week)
    assert "kept" in kept.figures
    rows = _kpi_rows(lab)
    forced = stages.compute_kpis(lab.settings, week, force=True)
    assert "kept" not in forced.figures and _kpi_rows(lab) == rows
    assert rows != before  # the second drop did change the week's figures


def test_the_definitions_digest_follows_zone_and_keywords() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    keywords = [("chongqing", None), ("chongqing hotpot", "US")]
    base = definition_digest(zone, keywords)
    assert definition_digest(zone, list(reversed(keywords))) == base  # order of the profile's list is not a definition
    assert definition_digest(ZoneInfo("Europe/Paris"), keywords) != base
    assert definition_digest(zone, keywords[:1]) != base


def test_the_holdout_figures_are_measured_once_per_classifier_version(tmp_path: Path) -> None:
    weeks = default_weeks()[-1:]
    lab = Lab(tmp_path / "home")
    write_sample_inbox(lab.settings.inbox, weeks)
    stages.ingest(lab.settings)
    stages.build_facts(lab.settings)
    stages.compute_kpis(lab.settings, weeks[0])
    manifests = []
    for _ in range(2):
        manifests.append(json.loads(Path(stages.publish(lab.settings, weeks[0]).figures["manifest"]).read_text()))
    assert manifests[0]["classifier_report"] == manifests[1]["classifier_report"] == evaluate(split="holdout").to_dicts()
    assert lab.query("SELECT count(*), min(report_key) FROM ops_classifier_report") == [(1, report_key())]


def test_the_report_key_follows_the_labelled_rows_and_the_city_terms(tmp_path: Path) -> None:
    city = default_evaluation()
    assert city.posts is not None
    posts = tmp_path / "labelled_posts.csv"
    shutil.copyfile(city.posts, posts)
    assert report_key(evaluation=replace(city, posts=posts)) == report_key()
    posts.write_bytes(posts.read_bytes() + b"\n")
    assert report_key(evaluation=replace(city, posts=posts)) != report_key()
    assert report_key(evaluation=replace(city, city_terms=city.city_terms[1:])) != report_key()
