"""Shared fixtures: the reference exports folder, temporary homes, and settings pointed at them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_EXPORTS = Path(os.environ.get("CITYIMAGE_REAL_EXPORTS", ROOT.parent / "shared" / "real-exports"))
FIXTURES = ROOT / "tests" / "fixtures"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture
def real_exports() -> Path:
    """The unmodified platform exports beside the project; tests that need them skip without them."""
    if not REAL_EXPORTS.is_dir():
        pytest.skip(f"reference exports not found at {REAL_EXPORTS}")
    return REAL_EXPORTS


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
