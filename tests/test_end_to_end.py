"""The weekly flow end to end on the sample inbox, as `make demo` runs it, against known truth.

One module-scoped run of the real `cityimage demo` command (a child process: the sample inbox, then
the backfill over its weeks through Prefect); the tests read the warehouse, the published snapshots
and the command's own output, and compare them with what the sample generator knows it wrote. The
tests that run the flow again do so in-process, under Prefect's test harness.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cityimage.sample import SampleTruth, default_weeks, write_sample_inbox
from publish.snapshot import manifest_path, partition_path, published_weeks
from warehouse.lock import lock_path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

AUTHOR_KEY = "end-to-end-test-key-0123456789abcdef"
WEEKS = [w.id for w in default_weeks()]
COMPLETE_WEEKS = WEEKS[:-1]  # the last week's 7-day reply window is still open at its export


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleTruth, subprocess.CompletedProcess]:
    """`cityimage demo --home <home>` in a child process; (home, truth, the finished process).

    The sample is deterministic: the truth comes from writing it first, and the demo writes the same
    files again over it."""
    home = tmp_path_factory.mktemp("home")
    truth = write_sample_inbox(home / "inbox", default_weeks())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYIMAGE_", "PREFECT_API"))}
    env |= {"CITYIMAGE_AUTHOR_KEY": AUTHOR_KEY, "PREFECT_HOME": str(home.parent / f"{home.name}-prefect")}
    out = subprocess.run([sys.executable, "-m", "cityimage", "demo", "--home", str(home)], env=env,
                         capture_output=True, text=True, timeout=850)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return home, truth, out


@pytest.fixture(scope="module")
def run(demo):
    """(home, truth) after the demo, with Prefect's test harness up for the tests that run flows again."""
    from prefect.testing.utilities import prefect_test_harness

    home, truth, _ = demo
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CITYIMAGE_HOME", str(home))
        env.setenv("CITYIMAGE_AUTHOR_KEY", AUTHOR_KEY)
        with prefect_test_harness(server_startup_timeout=180):
            yield home, truth


def test_the_demo_prints_where_things_are_and_no_traceback_or_leak_report(demo) -> None:
    """The first command anyone runs: its stderr is held to warnings at most."""
    home, _, out = demo
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    assert "leaked" not in out.stderr, out.stderr[-3000:]
    assert " ERROR " not in out.stderr, [line for line in out.stderr.splitlines() if " ERROR " in line]
    assert "report index" in out.stdout and (home / "reports" / "index.html").is_file()
    assert (home / "reports" / "data_docs" / "run.html").is_file()  # Data Docs built, with the offline index
    status = subprocess.run([sys.executable, "-m", "cityimage", "status"], env=os.environ | {"CITYIMAGE_HOME": str(home)},
                            capture_output=True, text=True, timeout=120)
    assert status.returncode == 0 and "Traceback" not in status.stderr and "leaked" not in status.stderr, status.stderr
    assert "facts: last built" in status.stdout and "full" in status.stdout


def _con(home: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)


def test_every_file_is_loaded_and_every_row_accounted_for(run) -> None:
    home, truth = run
    con = _con(home)
    try:
        statuses = dict(con.execute("SELECT status, count(*) FROM ops_file_ledger GROUP BY status").fetchall())
        assert statuses.get("refused", 0) == 0
        unbalanced = con.execute(
            "SELECT file_name FROM ops_file_ledger WHERE status = 'loaded' AND "
            "rows_read <> rows_loaded + rows_quarantined + rows_skipped + rows_duplicate"
        ).fetchall()
        assert unbalanced == []
        ledger_rows = con.execute("SELECT sum(rows_loaded) FROM ops_file_ledger WHERE status = 'loaded'").fetchall()[0][0]
        staged = sum(
            con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in ("stg_post", "stg_comment", "stg_account_day", "stg_audience", "stg_search")
        )
        assert staged == ledger_rows
        # Every distinct file the generator wrote is in the ledger (zips by their members).
        names = {r[0] for r in con.execute("SELECT file_name FROM ops_file_sighting").fetchall()}
        written = {f["path"] for f in truth.files}
        assert all(any(name == path or name.startswith(path + "/") for name in names) for path in written)
    finally:
        con.close()


def test_posts_published_match_the_truth(run) -> None:
    home, truth = run
    kpis = pl.read_parquet(f"{home}/snapshots/kpi_weekly/*/*.parquet", hive_partitioning=False)
    checked = 0
    for week in WEEKS:
        for platform, accounts in truth.accounts[week].items():
            for handle, figures in accounts.items():
                row = kpis.filter(
                    (pl.col("week_id") == week) & (pl.col("kpi_id") == "A1") & (pl.col("scope") == "account")
                    & (pl.col("account_key") == f"{platform}:{handle.lower()}") & pl.col("dimension").is_null()
                )
                assert row["value"].to_list() == [figures["posts_published"]], (week, platform, handle)
                checked += 1
    assert checked == len(WEEKS) * 10


def test_reply_rates_match_the_truth_given_the_spam_the_classifier_saw(run) -> None:
    """C1's numerator is exactly the replies the generator wrote; its denominator is the generator's
    top-level comments by others in the week, less those our spam classifier flagged and those the
    account removed (a removed comment is in no export)."""
    home, truth = run
    con = _con(home)
    try:
        spam = dict(con.execute("SELECT platform || ':' || comment_id, is_spam FROM fct_comment").fetchall())
        kpis = con.execute(
            "SELECT week_id, account_key, numerator, denominator FROM kpi_weekly "
            "WHERE kpi_id = 'C1' AND scope = 'account' AND dimension IS NULL AND value IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    observed = {(w, k): (num, den) for w, k, num, den in kpis}
    expected: dict[tuple[str, str], list[int]] = {}
    for key, comment in truth.comments.items():
        if not comment["top_level"] or comment["by_account"] or comment["removed"] or comment["week"] not in COMPLETE_WEEKS:
            continue
        platform = key.split(":", 1)[0]
        if spam.get(key):
            continue
        slot = expected.setdefault((comment["week"], f"{platform}:{comment['account'].lower()}"), [0, 0])
        slot[1] += 1
        slot[0] += bool(comment.get("replied_within_7d"))
    assert expected, "the truth has eligible comments"
    for slot, (replied, eligible) in expected.items():
        assert observed[slot] == (replied, eligible), slot


def test_the_snapshot_tells_the_studys_story(run) -> None:
    home, _ = run
    kpis = pl.read_parquet(partition_path(home / "snapshots", "kpi_weekly", COMPLETE_WEEKS[-1]))
    role_c1 = {
        r["role"]: r["value"]
        for r in kpis.filter((pl.col("kpi_id") == "C1") & (pl.col("scope") == "role") & pl.col("platform").is_null()
                             & pl.col("dimension").is_null()).to_dicts()
    }
    assert role_c1["owned"] < 0.15 < 0.6 < role_c1["benchmark"]
    culture = {
        r["role"]: r["value"]
        for r in kpis.filter((pl.col("kpi_id") == "B1") & (pl.col("scope") == "role") & pl.col("platform").is_null()
                             & (pl.col("dimension") == "culture")).to_dicts()
    }
    # Culture is under-told: a small share of the city's posts (themes overlap, so not the generator's
    # single intended theme), well below the peer city's.
    assert culture["owned"] < 0.25 and culture["owned"] < culture["benchmark"]
    owned_formats = {
        r["dimension"]: r["value"]
        for r in kpis.filter((pl.col("kpi_id") == "B3") & (pl.col("scope") == "role") & (pl.col("role") == "owned")
                             & pl.col("platform").is_null()).to_dicts()
    }
    known = {k: v for k, v in owned_formats.items() if k not in ("entropy", "unknown")}
    assert max(known, key=known.get) == "image" and known["image"] > 0.4  # mostly picture posts
    ranks = kpis.filter((pl.col("kpi_id") == "D2") & (pl.col("scope") == "role") & (pl.col("role") == "public")
                        & pl.col("platform").is_null() & (pl.col("unit") == "rank")).sort("value")
    assert ranks["dimension"][0] == "rank:mountain_city"  # the label foreigners use most


def test_the_snapshot_is_what_the_warehouse_holds(run) -> None:
    home, _ = run
    week = COMPLETE_WEEKS[-1]
    published = pl.read_parquet(partition_path(home / "snapshots", "kpi_weekly", week))
    con = _con(home)
    try:
        live = con.sql(f"SELECT * FROM kpi_weekly WHERE week_id = '{week}'").pl()
    finally:
        con.close()
    key = ["kpi_id", "scope", "platform", "account_key", "role", "dimension"]
    assert published.sort(key, nulls_last=True).equals(live.sort(key, nulls_last=True))
    assert published_weeks(home / "snapshots") == WEEKS
    assert (home / "reports" / f"{week}.html").is_file() and (home / "reports" / "index.html").is_file()


def test_running_again_loads_nothing_and_publishes_identical_bytes(run) -> None:
    """Nothing new: nothing loaded, the same bytes published, and no backup taken (no data is written)."""
    from warehouse.backup import list_backups

    home, _ = run
    week = WEEKS[-1]
    backups = list_backups(home / "backups")
    snapshot = partition_path(home / "snapshots", "kpi_weekly", week)
    before = {p: p.read_bytes() for p in (snapshot, manifest_path(home / "snapshots", week))}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CITYIMAGE_HOME", str(home))
        env.setenv("CITYIMAGE_AUTHOR_KEY", AUTHOR_KEY)
        from flows.weekly import weekly_pipeline

        summary = weekly_pipeline(week=week)
    assert summary["ingest"]["loaded"] == 0
    assert summary["ingest"]["already loaded"] == summary["ingest"]["files seen"] > 0
    assert summary["facts"]["mode"] == "unchanged" and "kept" in summary["kpis"]
    for path, data in before.items():
        assert path.read_bytes() == data, path
    assert list_backups(home / "backups") == backups


def test_a_backfill_does_the_shared_work_once_under_one_backup(run) -> None:
    """Ingest, the table checks and the facts once for all the weeks, then each week's volumes checked and
    the week published; one backup, taken before the first write (here the first week's KPIs), which a
    backfill longer than the backups kept cannot rotate away; and each week's manifest as a run of that
    week alone makes it."""
    from warehouse.backup import list_backups

    home, _ = run
    before = set(list_backups(home / "backups"))
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("DELETE FROM ops_kpi_computation")  # every week's KPIs are computed again: each one writes
    con.close()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CITYIMAGE_BACKUP_KEEP", "2")  # fewer than the weeks
        from flows.weekly import backfill

        results = backfill(first=WEEKS[0], last=WEEKS[-1])
    [taken] = set(list_backups(home / "backups")) - before
    assert taken.name.endswith(f"-{results[-1]['run_id']}.duckdb")
    with duckdb.connect(str(taken), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops_kpi_computation").fetchall() == [(0,)]
    assert all("kept" not in r["kpis"] for r in results)
    assert [r["week"] for r in results] == WEEKS and all("refused" not in r for r in results)
    assert results[0]["facts"] == results[-1]["facts"] and results[0]["facts"]["mode"] == "unchanged"
    run_ids = [r["run_id"] for r in results]
    with _con(home) as con:
        flows = con.execute("SELECT DISTINCT flow_run_id FROM ops_run WHERE list_contains(?, run_id)", [run_ids]).fetchall()
        gated = con.execute("SELECT DISTINCT run_id, expectation LIKE '%volume%' FROM ops_validation_result "
                            "WHERE list_contains(?, run_id)", [run_ids]).fetchall()
        statuses = con.execute("SELECT DISTINCT status FROM ops_run WHERE list_contains(?, run_id)", [run_ids]).fetchall()
    assert len(flows) == 1
    assert {run for run, volume in gated if not volume} == {run_ids[-1]}  # the tables judged once
    assert {run for run, volume in gated if volume} == set(run_ids)  # each week's volumes with it
    assert {s for (s,) in statuses} <= {"published", "incomplete"}
    first = manifest_path(home / "snapshots", WEEKS[0])
    manifest = first.read_bytes()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CITYIMAGE_BACKUP_KEEP", "2")
        from flows.weekly import weekly_pipeline

        weekly_pipeline(week=WEEKS[0], ingest=False)
    assert first.read_bytes() == manifest


def test_a_second_run_is_refused_while_the_first_completes(run) -> None:
    home, _ = run
    env = os.environ | {"CITYIMAGE_HOME": str(home), "CITYIMAGE_AUTHOR_KEY": AUTHOR_KEY,
                        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}
    env.pop("PREFECT_API_URL", None)
    cli = [sys.executable, "-m", "cityimage", "run", "--week", WEEKS[-1], "--no-ingest"]
    first = subprocess.Popen(cli, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_lock_holder(home / "warehouse.duckdb", first.pid)
        second = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 3
        assert f"being written by process {first.pid}" in second.stderr
        assert "one run at a time" in second.stderr
        out, _ = first.communicate(timeout=600)
        assert first.returncode == 0, out[-3000:]
    finally:
        if first.poll() is None:
            first.kill()


def _wait_for_lock_holder(warehouse: Path, pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    path = lock_path(warehouse)
    while time.monotonic() < deadline:
        if path.is_file() and f'"pid": {pid}' in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never took the warehouse lock")


def test_every_sample_week_received_what_its_accounts_declare(run) -> None:
    home, _ = run
    for week in WEEKS:
        manifest = json.loads(manifest_path(home / "snapshots", week).read_text())
        assert manifest["completeness"] == {"status": "complete", "missing": []}, week
    assert 'class="incomplete-tag"' not in (home / "reports" / "index.html").read_text()


def test_a_week_without_any_data_is_refused_and_nothing_is_published(run) -> None:
    from cityimage.weeks import Week
    from flows.stages import EmptyWeek

    home, _ = run
    empty = Week.parse(WEEKS[-1]).shift(2).id
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CITYIMAGE_HOME", str(home))
        env.setenv("CITYIMAGE_AUTHOR_KEY", AUTHOR_KEY)
        from flows.weekly import weekly_pipeline

        with pytest.raises(EmptyWeek, match=f"week {empty} .* holds no post, comment, account day or search window"):
            weekly_pipeline(week=empty, ingest=False)
    assert empty not in published_weeks(home / "snapshots")
    assert not (home / "reports" / f"{empty}.html").exists()
    con = _con(home)
    try:
        status = con.execute("SELECT status FROM ops_run WHERE week_id = ? ORDER BY started_at DESC", [empty]).fetchall()
    finally:
        con.close()
    assert status[0][0] == "refused"


def test_a_week_missing_an_expected_export_is_published_as_incomplete(run, tmp_path: Path) -> None:
    from cityimage.settings import DEFAULT_PROFILE

    home, _ = run
    week = WEEKS[-1]
    profile = tmp_path / "profile.yaml"
    declared = "exports: [instagram_business_suite_posts, instagram_api_comments]"
    text = DEFAULT_PROFILE.read_text()
    assert declared in text
    profile.write_text(text.replace(declared, "exports: [instagram_business_suite_posts, instagram_api_media]", 1))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CITYIMAGE_HOME", str(home))
        env.setenv("CITYIMAGE_AUTHOR_KEY", AUTHOR_KEY)
        env.setenv("CITYIMAGE_PROFILE_PATH", str(profile))
        from flows.weekly import weekly_pipeline

        state = weekly_pipeline(week=week, ingest=False, return_state=True)
    assert state.is_completed() and state.name == "Incomplete"
    missing = ["instagram/ichongqing: no instagram_api_media for this week; never delivered"]
    assert state.result()["completeness"]["missing"] == missing
    manifest = json.loads(manifest_path(home / "snapshots", week).read_text())
    assert manifest["completeness"] == {"status": "incomplete", "missing": missing}
    report = (home / "reports" / f"{week}.html").read_text()
    assert "Incomplete week." in report and missing[0] in report
    assert f"week {week}</a>, <span class=\"incomplete-tag\">incomplete</span>" in (home / "reports" / "index.html").read_text()


def test_a_profile_edited_during_a_run_is_seen_by_the_next_run_only(run, tmp_path: Path) -> None:
    """A run reads its settings and profile once, at its start, and hands them to every task: an edit
    made while the facts build (here, an owned account demoted) changes nothing of that run; the next
    run reads it, and refuses it as a contradiction of what the warehouse holds."""
    from cityimage.settings import DEFAULT_PROFILE
    from flows import stages
    from warehouse.city import ProfileContradiction

    home, _ = run
    week = COMPLETE_WEEKS[-1]
    profile = tmp_path / "profile.yaml"
    text = DEFAULT_PROFILE.read_text()
    owned = 'id: "100064548282347"\n    role: owned'
    assert owned in text
    profile.write_text(text)
    build = stages.build_facts

    def demote_then_build(settings, *args, **kwargs):
        profile.write_text(text.replace(owned, 'id: "100064548282347"\n    role: benchmark', 1))
        return build(settings, *args, **kwargs)

    with pytest.MonkeyPatch.context() as env:
        env.setenv("CITYIMAGE_HOME", str(home))
        env.setenv("CITYIMAGE_AUTHOR_KEY", AUTHOR_KEY)
        env.setenv("CITYIMAGE_PROFILE_PATH", str(profile))
        env.setattr(stages, "build_facts", demote_then_build)
        from flows.weekly import weekly_pipeline

        assert weekly_pipeline(week=week, ingest=False, return_state=True).is_completed()
        env.setattr(stages, "build_facts", build)
        with pytest.raises(ProfileContradiction, match="facebook:ichongqing: role owned → benchmark"):
            weekly_pipeline(week=week, ingest=False)
