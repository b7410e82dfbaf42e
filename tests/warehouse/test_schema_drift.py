"""A CSV export whose columns differ from the previous export of its format is named in a warning."""

from __future__ import annotations

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
