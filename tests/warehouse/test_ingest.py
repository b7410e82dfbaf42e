"""Ingestion into a real DuckDB file: idempotent by content, every row accounted for, refusals recorded."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cityimage.profile import load_profile
from cityimage.settings import DEFAULT_PROFILE
from warehouse.connection import open_writer
from warehouse.ingest import IngestContext, ingest_paths, source_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
X_CONTENT = FIXTURES / "x" / "account_analytics_content_2025-10-12_2025-11-10.csv"
UNKNOWN = FIXTURES / "x" / "unknown_layout.csv"
KEY = "integration-test-key-0123456789"


def _ctx() -> IngestContext:
    return IngestContext(load_profile(DEFAULT_PROFILE), KEY.encode(), 10_000_000, 100)


def _ingest(warehouse: Path, *paths: Path):
    with open_writer(warehouse, "test") as con:
        return ingest_paths(con, list(paths), _ctx())


def _query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_same_content_under_two_names_is_loaded_once(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(X_CONTENT, inbox / X_CONTENT.name)
    shutil.copy(X_CONTENT, inbox / "copy of the same export.csv")
    summary = _ingest(tmp_path / "w.duckdb", inbox)
    assert sorted(f.status for f in summary.files) == ["already_loaded", "loaded"]
    warehouse = tmp_path / "w.duckdb"
    assert _query(warehouse, "SELECT count(*) FROM ops_file_ledger") == [(1,)]
    assert _query(warehouse, "SELECT count(*), count(DISTINCT file_name) FROM ops_file_sighting") == [(2, 2)]
    loaded = summary.files[0] if summary.files[0].status == "loaded" else summary.files[1]
    assert _query(warehouse, "SELECT count(*) FROM stg_post") == [(loaded.rows_loaded,)]
    again = _ingest(warehouse, inbox)
    assert [f.status for f in again.files] == ["already_loaded", "already_loaded"]
    assert _query(warehouse, "SELECT count(*) FROM stg_post") == [(loaded.rows_loaded,)]


def test_every_row_read_is_loaded_quarantined_skipped_or_duplicate(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    _ingest(warehouse, FIXTURES / "x", FIXTURES / "search_console", FIXTURES / "tiktok")
    rows = _query(
        warehouse,
        "SELECT file_name, rows_read, rows_loaded + rows_quarantined + rows_skipped + rows_duplicate "
        "FROM ops_file_ledger WHERE status = 'loaded'",
    )
    assert rows and all(read == accounted for _, read, accounted in rows)
    quarantined = _query(warehouse, "SELECT sum(rows_quarantined) FROM ops_file_ledger")[0][0]
    assert _query(warehouse, "SELECT count(*) FROM stg_quarantine")[0][0] == quarantined


def test_a_bad_value_is_quarantined_with_file_row_column_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "inbox" / "account_analytics_content_2025-10-12_2025-11-10.csv"
    bad.parent.mkdir()
    text = X_CONTENT.read_text(encoding="utf-8").replace('"1,204"', "lots", 1)
    bad.write_text(text, encoding="utf-8")
    baseline = _ingest(tmp_path / "before.duckdb", X_CONTENT).files[0]
    outcome = _ingest(tmp_path / "w.duckdb", bad.parent).files[0]
    assert outcome.status == "loaded"
    assert (outcome.rows_quarantined, outcome.rows_loaded) == (baseline.rows_quarantined + 1, baseline.rows_loaded - 1)
    rows = _query(tmp_path / "w.duckdb", "SELECT file_name, source_row, column_name, value, reason FROM stg_quarantine")
    [(name, row, column, value, reason)] = [r for r in rows if r[3] == "lots"]
    assert (name, row, column) == (bad.name, 1, "impressions")
    assert "not a non-negative whole number" in reason


def test_an_unknown_layout_is_refused_and_changes_no_data(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    _ingest(warehouse, X_CONTENT)
    before = _query(warehouse, "SELECT count(*) FROM stg_post")
    summary = _ingest(warehouse, UNKNOWN)
    [outcome] = summary.files
    assert outcome.status == "refused"
    assert "not a supported export" in outcome.message and "Closest known format" in outcome.message
    assert "'Impr.'" in outcome.message
    assert _query(warehouse, "SELECT count(*) FROM stg_post") == before
    assert _query(warehouse, "SELECT status, message FROM ops_file_ledger WHERE file_name = 'unknown_layout.csv'")[0][0] == "refused"


def test_path_hints_name_the_date_platform_and_registered_account(tmp_path: Path) -> None:
    path = tmp_path / "2026-11-23" / "youtube" / "ichongqing" / "Table data.csv"
    path.parent.mkdir(parents=True)
    path.write_text("x")
    source = source_for(path, tmp_path, b"x", load_profile(DEFAULT_PROFILE))
    assert (source.date_hint.isoformat(), source.platform_hint, source.account_hint) == ("2026-11-23", "youtube", "iChongqing")


def test_cli_ingest_reports_the_format_and_refuses_unknown_files(tmp_path: Path) -> None:
    env = {"CITYIMAGE_HOME": str(tmp_path), "CITYIMAGE_AUTHOR_KEY": KEY, "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    ok = subprocess.run([sys.executable, "-m", "cityimage", "ingest", str(X_CONTENT)], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "x_content" in ok.stdout and "loaded" in ok.stdout
    refused = subprocess.run([sys.executable, "-m", "cityimage", "ingest", str(UNKNOWN)], env=env, capture_output=True, text=True)
    assert refused.returncode == 1
    assert "refused" in refused.stdout and "Closest known format" in refused.stdout
    missing = subprocess.run([sys.executable, "-m", "cityimage", "ingest", str(tmp_path / "nope.csv")], env=env,
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


@pytest.mark.parametrize("value", ["", "short"])
def test_ingest_without_a_usable_author_key_refuses_to_start(tmp_path: Path, value: str) -> None:
    env = {"CITYIMAGE_HOME": str(tmp_path), "CITYIMAGE_AUTHOR_KEY": value, "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "cityimage", "ingest", str(X_CONTENT)], env=env, capture_output=True, text=True)
    assert run.returncode == 3 and "CITYIMAGE_AUTHOR_KEY" in run.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_a_comment_author_named_like_the_page_is_the_public_and_flagged(tmp_path: Path) -> None:
    # Identity by id: replies from "iChongqing" under another id are a public author's, pseudonymised,
    # and carry the account whose name they take; the page's own reply, by its id, keeps its identity.
    thread = json.loads((FIXTURES / "facebook" / "graph" / "comments_nested.json").read_text(encoding="utf-8"))
    replies = thread["data"][0]["comments"]["data"]
    replies[0]["from"]["name"] = "iChongqing"
    for n in range(3):
        replies.append({"id": f"901_60{n}", "created_time": "2026-01-28T13:00:00+0000", "message": "Thanks for watching!",
                        "from": {"id": "999", "name": "iChongqing"}, "like_count": 0, "comment_count": 0})
    inbox = tmp_path / "inbox" / "2026-01-30" / "facebook" / "iChongqing"
    inbox.mkdir(parents=True)
    (inbox / "comments.json").write_text(json.dumps(thread), encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"
    _ingest(warehouse, tmp_path / "inbox")
    rows = _query(warehouse, "SELECT comment_id, author_id, author_name, name_collision_account_key FROM stg_comment "
                             "WHERE comment_id IN ('901_5002', '901_600', '901_601', '901_602') ORDER BY comment_id")
    assert rows[0] == ("901_5002", "100064548282347", "iChongqing", None)
    for _, author_id, author_name, claimed in rows[1:]:
        assert author_id.startswith("anon_") and author_name.startswith("anon_") and claimed == "facebook:ichongqing"
    assert len({(r[1], r[2]) for r in rows[1:]}) == 1  # one person, still linkable
