"""Any sequence of exports — duplicates, re-orderings, crashes mid-load and retries — gives the warehouse
that loading each distinct file once, in date order, gives; and the ledger identity always holds."""

from __future__ import annotations

import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from cityimage import faults
from flows import stages
from tests.resilience.digest import warehouse_digest
from tests.resilience.hostile import FIRST_ID, Lab, X_HEADER, csv_text, x_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _export(day: str, impressions: int, start: int, n: int = 3, bad: bool = False) -> tuple[str, bytes]:
    rows = x_rows(n, impressions=str(impressions), start=start)
    if bad:
        rows[-1][4] = "lots"
    return f"account_analytics_content_2025-10-12_2025-11-{day}.csv", csv_text(X_HEADER, rows).encode()


# A small pool, in date order: overlapping exports that restate the same posts, one with a bad cell,
# a disjoint one, real fixtures of other layouts, and a file the readers refuse.
POOL: tuple[tuple[str, bytes], ...] = (
    _export("08", 90, FIRST_ID),
    _export("10", 100, FIRST_ID, n=4),
    _export("11", 150, FIRST_ID, bad=True),
    _export("12", 175, FIRST_ID + 2),
    _export("13", 7, FIRST_ID + 100, n=2),
    ("x/api_v2_response.json", (FIXTURES / "x" / "api_v2_response.json").read_bytes()),
    ("x/api_v2_search.jsonl", (FIXTURES / "x" / "api_v2_search.jsonl").read_bytes()),
    ("x/account_overview_analytics.csv", (FIXTURES / "x" / "account_overview_analytics.csv").read_bytes()),
    ("x/unknown_layout.csv", (FIXTURES / "x" / "unknown_layout.csv").read_bytes()),
)
CRASHES = (None, "after_read:raise", "inside_merge:raise", "after_commit:raise")
TABLES = ("stg_", "fct_", "dim_")


def _digest(lab: Lab) -> dict:
    stages.build_facts(lab.settings)
    return warehouse_digest(lab.warehouse, prefixes=TABLES)


@lru_cache(maxsize=None)
def reference(indices: frozenset[int]) -> tuple:
    """Each distinct file once, in date (pool) order, no crash."""
    home = Path(tempfile.mkdtemp(prefix="ref-"))
    try:
        lab = Lab(home)
        for i in sorted(indices):
            lab.load(*POOL[i])
        return tuple(sorted(_digest(lab).items()))
    finally:
        shutil.rmtree(home, ignore_errors=True)


steps = st.lists(st.tuples(st.integers(0, len(POOL) - 1), st.sampled_from(CRASHES)), min_size=1, max_size=8)


@hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(steps)
def test_any_order_duplicates_and_crashes_give_the_date_ordered_warehouse(sequence) -> None:
    home = Path(tempfile.mkdtemp(prefix="prop-"))
    try:
        lab = Lab(home)
        for index, crash in sequence:
            if crash:
                faults.arm(crash)
                try:
                    lab.load(*POOL[index])
                except faults.InjectedFault:
                    pass
                finally:
                    faults.arm(None)
            lab.load(*POOL[index])  # the retry (or the plain load)
            assert lab.ledger_problems() == []
        assert tuple(sorted(_digest(lab).items())) == reference(frozenset(i for i, _ in sequence))
    finally:
        faults.arm(None)
        shutil.rmtree(home, ignore_errors=True)
