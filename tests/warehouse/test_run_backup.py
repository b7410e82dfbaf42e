"""A flow run's backup: taken once, just before the run's first write to the data, and not at all by
a run that writes none.

The stages are called as the flow calls them, with the run's key; each test reads the backup back
to prove it holds the warehouse as it was before the write. Real DuckDB files, the sample inbox.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from flows import stages
from tests.resilience.hostile import Lab, sample_lab
from warehouse.backup import list_backups


def _count(path: Path, sql: str) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()[0][0]
    finally:
        con.close()


@pytest.fixture()
def loaded(tmp_path: Path) -> tuple[Lab, list[Path], str]:
    """A warehouse holding the first drop, facts and the last week's KPIs built; no backup yet."""
    lab, drops, week = sample_lab(tmp_path)
    stages.ingest(lab.settings)
    stages.build_facts(lab.settings)
    stages.compute_kpis(lab.settings, week)
    assert list_backups(lab.settings.backups) == []  # stages run without a key take none
    return lab, drops, week


def test_a_run_with_nothing_new_takes_no_backup(loaded) -> None:
    lab, _, week = loaded
    assert stages.ingest(lab.settings, backup_key="r1").count("already_loaded") > 0
    assert stages.build_facts(lab.settings, backup_key="r1").figures["mode"] == "unchanged"
    assert "kept" in stages.compute_kpis(lab.settings, week, backup_key="r1").figures
    assert list_backups(lab.settings.backups) == []


def test_a_loading_run_backs_up_once_before_its_first_batch(loaded) -> None:
    lab, drops, week = loaded
    settings = lab.settings.model_copy(update={"ingest_batch_files": 1})  # every file its own batch: each one writes
    for drop in drops[1:]:
        shutil.copytree(drop, settings.inbox / drop.name)
    ledger = "SELECT count(*) FROM ops_file_ledger WHERE status = 'loaded'"
    before = _count(settings.warehouse, ledger)
    summary = stages.ingest(settings, backup_key="r2")
    assert summary.count("loaded") > 1
    assert stages.build_facts(settings, backup_key="r2").figures["mode"] == "incremental"
    assert "kept" not in stages.compute_kpis(settings, week, backup_key="r2").figures
    [taken] = list_backups(settings.backups)
    assert taken.name.startswith("warehouse-") and taken.name.endswith("-r2.duckdb")
    assert _count(taken, ledger) == before < _count(settings.warehouse, ledger)


def test_the_first_stage_to_write_takes_the_backup_whichever_it_is(loaded) -> None:
    lab, _, week = loaded
    settings = lab.settings
    built = "SELECT count(*) FROM ops_fact_build"
    builds = _count(settings.warehouse, built)
    assert stages.build_facts(settings, full=True, backup_key="r3").figures["mode"] == "full"
    [facts] = list_backups(settings.backups)
    assert facts.name.endswith("-r3.duckdb") and _count(facts, built) == builds

    con = duckdb.connect(str(settings.warehouse))
    con.execute("DELETE FROM ops_kpi_computation")  # the week's KPIs must be computed again
    con.close()
    assert "kept" not in stages.compute_kpis(settings, week, backup_key="r4").figures
    kpis = [p for p in list_backups(settings.backups) if p.name.endswith("-r4.duckdb")]
    assert len(kpis) == 1 and _count(kpis[0], "SELECT count(*) FROM ops_kpi_computation") == 0
    assert _count(settings.warehouse, "SELECT count(*) FROM ops_kpi_computation") == 1
