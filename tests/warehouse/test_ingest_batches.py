"""Ingestion's cost follows the new files: batches, one ledger lookup per run, unchanged files unread.

Each test runs real loads into a real DuckDB file and compares what the warehouse holds.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest

from cityimage.profile import load_profile
from cityimage.settings import DEFAULT_PROFILE
from warehouse.connection import open_writer
from warehouse.ingest import IngestContext, ingest_paths

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
X_CONTENT = FIXTURES / "x" / "account_analytics_content_2025-10-12_2025-11-10.csv"
SUITE_EXPORT = "Jan-01-2026_Jan-31-2026_1002003004.csv"
KEY = "integration-test-key-0123456789"
STAGING = ("stg_post", "stg_comment", "stg_account_day", "stg_audience", "stg_search", "stg_quarantine")


def _ctx(**changes: object) -> IngestContext:
    return dataclasses.replace(IngestContext(load_profile(DEFAULT_PROFILE), KEY.encode(), 10_000_000, 100), **changes)


def _ingest(warehouse: Path, *paths: Path, **changes: object):
    with open_writer(warehouse, "test") as con:
        return ingest_paths(con, list(paths), _ctx(**changes))


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _contents(warehouse: Path) -> dict[str, list[tuple]]:
    """Staging and ledger without what names the load or the time."""
    tables = {}
    for table in (*STAGING, "ops_file_ledger"):
        columns = [c for (c,) in _rows(warehouse, f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'")
                   if c not in ("load_id", "first_seen_at", "loaded_at")]
        tables[table] = sorted(_rows(warehouse, f"SELECT {', '.join(columns)} FROM {table}"), key=repr)
    return tables


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """Every fixture layout, plus a second copy of one export and a file no reader knows."""
    folder = tmp_path / "inbox"
    for platform in ("x", "facebook", "instagram", "youtube", "tiktok", "search_console"):
        shutil.copytree(FIXTURES / platform, folder / platform)
    shutil.copy(X_CONTENT, folder / "x" / "the same export again.csv")
    return folder


def test_batches_of_any_size_load_the_same_rows_and_ledger(inbox: Path, tmp_path: Path) -> None:
    one_batch = _ingest(tmp_path / "one.duckdb", inbox)
    tiny = _ingest(tmp_path / "tiny.duckdb", inbox, batch_files=2)
    assert [(f.name, f.status, f.rows_loaded) for f in tiny.files] == [(f.name, f.status, f.rows_loaded) for f in one_batch.files]
    assert one_batch.count("loaded") > 20 and one_batch.count("refused") >= 1 and one_batch.count("already_loaded") >= 1
    assert _contents(tmp_path / "tiny.duckdb") == _contents(tmp_path / "one.duckdb")


def test_a_second_copy_in_the_same_batch_is_already_loaded_and_sighted(inbox: Path, tmp_path: Path) -> None:
    summary = _ingest(tmp_path / "w.duckdb", inbox / "x")
    by_name = {f.name: f for f in summary.files}
    first, copy = by_name[X_CONTENT.name], by_name["the same export again.csv"]
    assert (first.status, copy.status) == ("loaded", "already_loaded") and first.sha256 == copy.sha256
    sightings = _rows(tmp_path / "w.duckdb", f"SELECT file_name, outcome FROM ops_file_sighting WHERE file_sha256 = '{first.sha256}'")
    assert sorted(sightings) == [(X_CONTENT.name, "loaded"), ("the same export again.csv", "already_loaded")]


def test_an_unchanged_file_is_not_read_again(tmp_path: Path) -> None:
    """Rewrite a loaded file behind the loader's back, keeping its size and modification time: trusting
    the file's stat, the next run does not read it; with the setting off, it reads and loads it."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    target = inbox / X_CONTENT.name
    shutil.copy2(X_CONTENT, target)
    _ingest(tmp_path / "w.duckdb", inbox)
    stat = target.stat()
    data = target.read_bytes()
    swapped = data.replace(b'"1,204"', b'"1,205"', 1)
    assert swapped != data and len(swapped) == len(data)
    target.write_bytes(swapped)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    trusted = _ingest(tmp_path / "w.duckdb", inbox)
    assert [f.status for f in trusted.files] == ["already_loaded"]
    assert _rows(tmp_path / "w.duckdb", "SELECT count(*) FROM ops_file_ledger") == [(1,)]
    rehashed = _ingest(tmp_path / "w.duckdb", inbox, trust_file_stat=False)
    assert [f.status for f in rehashed.files] == ["loaded"]
    assert _rows(tmp_path / "w.duckdb", "SELECT count(*) FROM ops_file_ledger") == [(2,)]


def test_a_touched_file_is_hashed_again_and_found_loaded(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    target = inbox / X_CONTENT.name
    shutil.copy2(X_CONTENT, target)
    _ingest(tmp_path / "w.duckdb", inbox)
    before = _rows(tmp_path / "w.duckdb", "SELECT modified_ns, is_settled FROM ops_file_stat")
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    again = _ingest(tmp_path / "w.duckdb", inbox)
    assert [f.status for f in again.files] == ["already_loaded"]
    after = _rows(tmp_path / "w.duckdb", "SELECT modified_ns, is_settled FROM ops_file_stat")
    assert before[0][1] and after == [(before[0][0] + 10**9, True)]


def test_a_refused_file_stays_unsettled_and_is_read_on_every_run(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "x" / "unknown_layout.csv", inbox / "unknown_layout.csv")
    for _ in range(2):
        summary = _ingest(tmp_path / "w.duckdb", inbox)
        assert [f.status for f in summary.files] == ["refused"]
    assert _rows(tmp_path / "w.duckdb", "SELECT is_settled FROM ops_file_stat") == [(False,)]
    assert _rows(tmp_path / "w.duckdb", "SELECT count(*) FROM ops_file_sighting WHERE outcome = 'refused'") == [(2,)]


def test_an_archive_is_settled_only_when_every_member_is_loaded(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with zipfile.ZipFile(inbox / "good.zip", "w") as archive:
        archive.write(X_CONTENT, X_CONTENT.name)
    with zipfile.ZipFile(inbox / "mixed.zip", "w") as archive:
        archive.write(FIXTURES / "facebook" / SUITE_EXPORT, SUITE_EXPORT)
        archive.write(FIXTURES / "x" / "unknown_layout.csv", "unknown_layout.csv")
    first = _ingest(tmp_path / "w.duckdb", inbox)
    assert sorted(f.status for f in first.files) == ["loaded", "loaded", "refused"]
    settled = dict(_rows(tmp_path / "w.duckdb", "SELECT file_path, is_settled FROM ops_file_stat WHERE is_archive"))
    assert settled == {str((inbox / "good.zip").resolve()): True, str((inbox / "mixed.zip").resolve()): False}
    again = _ingest(tmp_path / "w.duckdb", inbox)
    # good.zip is skipped unread (one outcome for the archive); mixed.zip is opened again, member by member.
    assert sorted((f.name, f.status) for f in again.files) == sorted(
        [("good.zip", "already_loaded")] + [(f.name, "already_loaded" if f.status == "loaded" else "refused")
                                            for f in first.files if f.name.startswith("mixed.zip")])


def test_a_file_named_twice_in_one_load_is_recorded_once(tmp_path: Path) -> None:
    """`cityimage ingest inbox inbox/x`: the same file is discovered twice; its stat is recorded once."""
    inbox = tmp_path / "inbox"
    (inbox / "x").mkdir(parents=True)
    shutil.copy2(X_CONTENT, inbox / "x" / X_CONTENT.name)
    summary = _ingest(tmp_path / "w.duckdb", inbox, inbox / "x")
    assert sorted(f.status for f in summary.files) == ["already_loaded", "loaded"]
    assert _rows(tmp_path / "w.duckdb", "SELECT count(*), bool_and(is_settled) FROM ops_file_stat") == [(1, True)]
    target = inbox / "x" / X_CONTENT.name
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    again = _ingest(tmp_path / "w.duckdb", inbox, inbox / "x", trust_file_stat=False)
    assert [f.status for f in again.files] == ["already_loaded", "already_loaded"]
    assert _rows(tmp_path / "w.duckdb", "SELECT count(*) FROM ops_file_stat") == [(1,)]
