"""What a published week's manifest says it was made from: code and lexicon versions, input files by
hash, what the quality gates found, the classifiers' measured quality, and the week's completeness."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import duckdb

from cityimage import __version__
from cityimage.citypack import CityPack
from cityimage.profile import CityProfile
from cityimage.weeks import Week
from warehouse.deliveries import week_files
from warehouse.transaction import transaction

if TYPE_CHECKING:
    from transforms.classify import Lexicons


def build_manifest(con: duckdb.DuckDBPyConnection, week: Week, zone: ZoneInfo, city: CityProfile, pack: CityPack,
                   gates: dict[str, Any] | None = None, completeness: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the snapshot was made from: the city, code and lexicon versions (the city pack's lexicons
    over the package's), input files by hash (``in_week``: the file holds rows dated in the week), what
    the gates found, the city's classifiers measured on its labelled rows, and whether the week received
    every expected export (``completeness``: status and missing exports)."""
    from transforms.classify import load_lexicons

    gates = gates or {}
    lexicons = load_lexicons(pack.lexicon_dir)
    in_week = week_files(con, week, zone)
    inputs = con.sql(
        "SELECT file_sha256, file_name, detected_format, rows_read, rows_loaded, rows_quarantined, rows_skipped, rows_duplicate "
        "FROM ops_file_ledger WHERE status = 'loaded' ORDER BY file_sha256"
    ).pl()
    warnings = gates.get("warnings", [])
    return {
        "city": {"key": city.key, "name": city.city},
        "code_version": code_version(),
        "lexicon_version": lexicons.version,
        "inputs": [row | {"in_week": row["file_sha256"] in in_week} for row in inputs.to_dicts()],
        "validation": {key: gates.get(key, 0) for key in ("expectations", "passed", "fallbacks")}
                      | {"notes": list(gates.get("notes", []))},
        "validation_warnings": sorted(warnings, key=lambda w: json.dumps(w, sort_keys=True, default=str)),
        "classifier_report": classifier_report(con, lexicons, pack, city),
        "classifier_public": classifier_public(),
        "completeness": ({"status": completeness["status"], "missing": list(completeness["missing"])}
                         if completeness else {"status": "not checked", "missing": []}),
    }


def classifier_public() -> list[dict[str, Any]]:
    """The comment models' out-of-fold figures on the public labelled sets, with 95 % intervals.

    Measured once by ``cityimage train`` (``transforms/models/evaluation.json``), not at each publish.
    """
    from transforms.evaluate import public_figures

    return public_figures().to_dicts()


def classifier_report(con: duckdb.DuckDBPyConnection, lexicons: Lexicons, pack: CityPack,
                      city: CityProfile) -> list[dict[str, Any]]:
    """Precision and recall of the city's classifiers on the project's own labelled holdout rows: the
    comments any city's, the posts the city pack's (none: its post classifiers are not measured).

    A smoke test (the rows were written here), published with each snapshot beside the public figures.
    Measured once per classifier version and labelled set (``ops_classifier_report``): it takes seconds
    and depends on nothing the week brings.
    """
    from transforms.evaluate import city_evaluation, evaluate, report_key

    evaluation = city_evaluation(pack, city)
    key = report_key(lexicons, evaluation)
    stored = con.execute("SELECT report_json FROM ops_classifier_report WHERE report_key = ?", [key]).fetchall()
    if stored:
        return json.loads(stored[0][0])
    report = evaluate(lexicons, split="holdout", evaluation=evaluation).to_dicts()
    with transaction(con):
        con.execute("INSERT INTO ops_classifier_report VALUES (?, ?, now())", [key, json.dumps(report)])
    return report


def code_version() -> str:
    """The package version, plus the commit when running from a checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__
