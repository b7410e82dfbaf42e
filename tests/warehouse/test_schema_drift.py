"""An export whose columns (CSV) or metric fields (API responses) differ from the previous export of its format
is named in a warning."""

from __future__ import annotations

import json
from pathlib import Path

from tests.resilience.hostile import FIRST_ID, X_HEADER, X_NAME, Lab, csv_text, x_rows
from transforms.schema_drift import drift_note


def test_drift_names_the_columns_that_came_and_went() -> None:
    assert drift_note("a.csv", ["Views", "Likes"], [" likes ", "VIEWS"]) is None  # case and spaces are no drift
    assert drift_note("a.csv", ["Impressions", "Likes"], ["Views", "Likes", "Saves"]) == (
        "schema drift against a.csv: new column(s) 'Views', 'Saves', gone 'Impressions'")


def test_an_export_with_a_changed_column_is_loaded_and_its_ledger_row_says_so(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    [first] = lab.load(X_NAME, csv_text(X_HEADER, x_rows(2)).encode())
    renamed = ["Video views" if h == "Hashtag clicks" else h for h in X_HEADER]
    later = X_NAME.replace("2025-11-10", "2025-11-17")
    [second] = lab.load(later, csv_text(renamed, x_rows(2, start=FIRST_ID + 10)).encode())

    assert first.status == "loaded" and first.message is None
    assert second.status == "loaded"
    assert second.message == f"schema drift against {X_NAME}: new column(s) 'Video views', gone 'Hashtag clicks'"
    [(stored, columns)] = lab.query("SELECT message, source_columns FROM ops_file_ledger WHERE file_name = ?", [later])
    assert stored == second.message and "Video views" in columns
    [same] = lab.load(X_NAME.replace("2025-11-10", "2025-11-24"), csv_text(renamed, x_rows(1, start=FIRST_ID + 20)).encode())
    assert same.message is None  # compared with the latest export, which already had the new column


def test_api_metric_paths_drift_only_where_their_holding_object_stayed() -> None:
    before = ["public_metrics.", "public_metrics.like_count", "public_metrics.retweet_count"]
    assert drift_note("a.jsonl", before, [*before, "public_metrics.impression_count"]) == (
        "schema drift against a.jsonl: new column(s) 'public_metrics.impression_count'")
    # Facebook leaves `shares` out of a post nobody shared: gone with its object, that is no drift ...
    assert drift_note("feed.json", ["like_count", "shares.", "shares.count"], ["like_count"]) is None
    # ... but a count gone from an object that is still there is (YouTube's statistics without likeCount).
    stats = ["statistics.", "statistics.likeCount", "statistics.viewCount"]
    assert drift_note("videos.json", stats, ["statistics.", "statistics.viewCount"]) == (
        "schema drift against videos.json: gone 'statistics.likeCount'")


def _tweets(*metrics: str) -> bytes:
    """One X API v2 page of two tweets whose public_metrics hold ``metrics``."""
    tweets = [{"id": str(2000506114667450375 + i), "text": f"tweet {i}", "author_id": "100", "lang": "en",
               "created_at": f"2025-12-1{i}T10:00:00.000Z", "conversation_id": str(2000506114667450375 + i),
               "public_metrics": {m: i + 1 for m in metrics}} for i in range(2)]
    return json.dumps({"data": tweets, "includes": {"users": [{"id": "100", "username": "cityimage_demo"}]}}).encode()


def test_an_api_response_that_gains_a_metric_is_named_in_its_ledger_row(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    old = ("like_count", "reply_count", "retweet_count", "quote_count")
    [first] = lab.load("2025-12-14/x/cityimage_demo/search.jsonl", _tweets(*old))
    [second] = lab.load("2025-12-21/x/cityimage_demo/search.jsonl", _tweets(*old, "impression_count"))
    assert first.status == "loaded" and first.message is None
    assert second.status == "loaded"
    assert second.message == (
        "schema drift against 2025-12-14/x/cityimage_demo/search.jsonl: new column(s) 'public_metrics.impression_count'")
    [(columns,)] = lab.query("SELECT source_columns FROM ops_file_ledger WHERE file_sha256 = ?", [second.sha256])
    assert "public_metrics." in columns and "public_metrics.impression_count" in columns
