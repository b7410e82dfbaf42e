"""A file's context (drop date, platform, account, name) does not depend on the order files arrived in,
and a file moved to another account folder is attributed to that account. Real loads into real DuckDB
files; the warehouses are compared by content (``tests/resilience/digest``)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from cityimage.profile import load_profile
from cityimage.settings import DEFAULT_PROFILE, load_settings
from cityimage.weeks import Week
from flows import stages
from tests.resilience.digest import snapshot_bytes, warehouse_digest
from warehouse.connection import open_writer
from warehouse.ingest import IngestContext, ingest_paths

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x"
OVERVIEW = FIXTURES / "account_overview_analytics.csv"  # names no account: the folder does
CONTENT = FIXTURES / "account_analytics_content_2025-10-12_2025-11-10.csv"
KEY = "integration-test-key-0123456789"
WEEK = Week.parse("2025-W01")  # the overview export's last days
#: Three drops; the overview export is delivered in each, unchanged, under other dates and accounts.
DROPS = {
    "2025-11-17/x/iChongqing_": (OVERVIEW, CONTENT),
    "2025-11-24/x/iChongqing_": (OVERVIEW,),
    "2025-11-24/x/Hangzhou_China": (OVERVIEW, FIXTURES / "api_v2_response.json"),
}


def _ingest(warehouse: Path, inbox: Path, batch_files: int = 100):
    ctx = dataclasses.replace(IngestContext(load_profile(DEFAULT_PROFILE), KEY.encode(), 10_000_000, 100),
                              batch_files=batch_files)
    with open_writer(warehouse, "test") as con:
        return ingest_paths(con, [inbox], ctx)


def _published(home: Path) -> dict[str, str]:
    """Facts, KPIs and the snapshot of the week the drops cover, from the warehouse under ``home``."""
    settings = load_settings(home=home, author_key=KEY)
    stages.build_facts(settings)
    stages.compute_kpis(settings, WEEK)
    stages.publish(settings, WEEK)
    return snapshot_bytes(settings.snapshots, ignore_code=True)


def _drop(inbox: Path, folder: str) -> None:
    (inbox / folder).mkdir(parents=True, exist_ok=True)
    for path in DROPS[folder]:
        shutil.copy(path, inbox / folder / path.name)


def _account_days(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT DISTINCT account_handle, CAST(exported_at AS DATE) FROM stg_account_day").fetchall()


def test_a_file_moved_to_another_account_folder_is_attributed_to_that_account(tmp_path: Path) -> None:
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w.duckdb"
    wrong = inbox / "2025-11-24" / "x" / "Hangzhou_China"
    wrong.mkdir(parents=True)
    shutil.copy(OVERVIEW, wrong / OVERVIEW.name)
    _ingest(warehouse, inbox)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows_before = con.execute("SELECT count(*) FROM stg_account_day").fetchone()[0]
    assert {h for h, _ in _account_days(warehouse)} == {"Hangzhou_China"}

    right = inbox / "2025-11-24" / "x" / "iChongqing_"
    right.mkdir(parents=True)
    (wrong / OVERVIEW.name).rename(right / OVERVIEW.name)
    summary = _ingest(warehouse, inbox)

    assert [f.status for f in summary.files] == ["already_loaded", "reattributed"]
    assert {h for h, _ in _account_days(warehouse)} == {"iChongqing_"}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM stg_account_day").fetchone()[0] == rows_before
        assert con.execute("SELECT file_name, status, rows_loaded FROM ops_file_ledger").fetchall() == [
            (f"2025-11-24/x/iChongqing_/{OVERVIEW.name}", "loaded", rows_before)]
    assert [f.status for f in _ingest(warehouse, inbox).files] == ["already_loaded"]  # settled: no third read


@hypothesis_settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(sorted(DROPS)), batch_files=st.sampled_from([1, 2, 100]))
def test_any_arrival_order_and_batch_split_gives_the_same_staging(tmp_path_factory, order, batch_files) -> None:
    # The drops accumulate in the inbox, arriving in any order, read in batches of any size; the
    # warehouse must equal one load of all of them: same rows, same export dates, same accounts.
    base = tmp_path_factory.mktemp("order")
    reference_inbox, reference = base / "all", base / "reference" / "warehouse.duckdb"
    for folder in DROPS:
        _drop(reference_inbox, folder)
    _ingest(reference, reference_inbox)

    inbox, warehouse = base / "inbox", base / "arrivals" / "warehouse.duckdb"
    for folder in order:
        _drop(inbox, folder)
        _ingest(warehouse, inbox, batch_files)

    assert warehouse_digest(warehouse) == warehouse_digest(reference)
    assert _published(warehouse.parent) == _published(reference.parent)  # the snapshot, byte for byte
    assert warehouse_digest(warehouse) == warehouse_digest(reference)
    assert {handle for handle, _ in _account_days(warehouse)} == {"iChongqing_"}  # its first drop's folder


def test_a_load_of_one_folder_keeps_the_context_of_copies_still_lying_elsewhere(tmp_path: Path) -> None:
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w.duckdb"
    for folder in DROPS:
        _drop(inbox, folder)
    _ingest(warehouse, inbox)
    before = warehouse_digest(warehouse)
    summary = _ingest(warehouse, inbox / "2025-11-24")  # sees only the later copies of the overview
    assert {f.status for f in summary.files} == {"already_loaded"}
    assert warehouse_digest(warehouse) == before
    shutil.rmtree(inbox / "2025-11-17")  # the first drop is gone: its copy in the next one counts now
    summary = _ingest(warehouse, inbox / "2025-11-24")
    assert [f.status for f in summary.files].count("reattributed") == 1
