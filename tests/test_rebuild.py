"""`cityimage rebuild`: an account registered after its files were loaded is re-attributed, with a diff.

The live warehouse is built from the sample's X exports of one week and published with a profile that
lacks the X benchmark account; the bundled profile, which has it, is then rebuilt against it: first as a dry run (the diff, nothing
changed), then with --apply (the swap, the backup, the run history kept, every published week
republished through the real Prefect flow).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cityimage.sample import default_weeks, write_sample_inbox
from cityimage.settings import DEFAULT_PROFILE, load_settings
from publish.snapshot import manifest_path


KEY = "rebuild-test-key-0123456789abcdef0123"
X_BENCHMARK = """  - platform: x
    handle: Hangzhou_China
    id: "1021634447447707648"
    role: benchmark
    city: Hangzhou
    exports: [x_content, x_api_v2]
"""


def _x_posts_by_role(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return dict(con.execute("SELECT role, count(*) FROM fct_post WHERE platform = 'x' GROUP BY role").fetchall())
    finally:
        con.close()


def _cityimage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cityimage", *args], env=env, capture_output=True, text=True, timeout=800)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_rebuild_shows_the_reattribution_then_applies_it(tmp_path: Path) -> None:
    from flows import stages

    profile = DEFAULT_PROFILE.read_text(encoding="utf-8")
    assert X_BENCHMARK in profile
    without = tmp_path / "without-x-benchmark.yaml"
    without.write_text(profile.replace(X_BENCHMARK, ""), encoding="utf-8")
    home = tmp_path / "home"
    week = default_weeks()[-2]
    write_sample_inbox(home / "inbox", [week])
    for drop in (p for p in (home / "inbox").iterdir() if p.is_dir()):  # X alone: the account that moves
        for folder in (p for p in drop.iterdir() if p.is_dir() and p.name != "x"):
            shutil.rmtree(folder)
    live = load_settings(home=home, author_key=KEY, profile_path=without)
    stages.ingest(live)
    stages.build_facts(live)
    stages.compute_kpis(live, week)
    stages.publish(live, week)
    before = _x_posts_by_role(live.warehouse)
    assert "benchmark" not in before and before.get("public", 0) > 0

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYIMAGE_", "PREFECT_API"))}
    env |= {"CITYIMAGE_HOME": str(home), "CITYIMAGE_AUTHOR_KEY": KEY, "PREFECT_HOME": str(tmp_path / "prefect"),
            "COLUMNS": "200"}
    dry = _cityimage(["rebuild"], env)

    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "newly registered: x/hangzhou_china (benchmark)" in dry.stdout
    assert "posts by role" in dry.stdout and "headline figures that move" in dry.stdout
    assert _x_posts_by_role(live.warehouse) == before  # a dry run changes nothing
    assert (home / "warehouse.rebuilt.duckdb").is_file()
    manifest = manifest_path(live.snapshots, week.id).read_text(encoding="utf-8")

    applied = _cityimage(["rebuild", "--apply"], env)

    assert applied.returncode in (0, 7), applied.stdout + applied.stderr
    assert "Traceback" not in applied.stderr
    after = _x_posts_by_role(live.warehouse)
    assert after.get("benchmark", 0) > 0 and after.get("public", 0) < before["public"]
    assert not (home / "warehouse.rebuilt.duckdb").exists()
    assert list((home / "backups").glob("warehouse-*.duckdb"))
    assert manifest_path(live.snapshots, week.id).read_text(encoding="utf-8") != manifest  # republished
    con = duckdb.connect(str(live.warehouse), read_only=True)
    try:
        statuses = [s for (s,) in con.execute("SELECT status FROM ops_run WHERE week_id = ?", [week.id]).fetchall()]
    finally:
        con.close()
    assert statuses and all(s in ("published", "incomplete") for s in statuses)


def test_compare_finds_no_change_in_a_copy_and_names_a_moved_figure(tmp_path: Path) -> None:
    from warehouse.compare import compare
    from warehouse.connection import open_writer

    live = tmp_path / "live.duckdb"
    with open_writer(live, "test") as con:
        con.execute("INSERT INTO ops_run (run_id, week_id, status, started_at) VALUES ('r', '2026-W47', 'published', now())")
    shutil.copyfile(live, tmp_path / "copy.duckdb")
    diff = compare(live, tmp_path / "copy.duckdb", ["2026-W47"])
    assert diff.is_empty and not diff.files_missing_from_inbox
    row = ("INSERT INTO kpi_weekly (week_id, kpi_id, kpi_name, scope, role, value, unit, status, city_key) "
           "VALUES ('2026-W47', 'C1', 'Reply rate', 'role', 'owned', {}, 'ratio', 'ok', 'chongqing')")
    with open_writer(live, "test") as con:
        con.execute(row.format(0.04))
    with open_writer(tmp_path / "copy.duckdb", "test") as con:
        con.execute(row.format(0.85))
    moved = compare(live, tmp_path / "copy.duckdb", ["2026-W47"])
    assert not moved.is_empty and moved.kpi_changes == [("2026-W47", 1, 0, 0)]
    assert moved.headline_changes == [("2026-W47", "C1", "Reply rate", "owned", 0.04, 0.85)]
    assert compare(live, tmp_path / "copy.duckdb", ["2026-W46"]).is_empty  # other weeks are not compared
