"""Quality gates: Great Expectations suites as code, run inside the DuckDB warehouse.

``run_gates(warehouse, week_id, run_id, data_docs_dir)`` is the entry point (see ``docs/quality_gates.md``).
Importing this package does not import Great Expectations (seconds) nor patch it: both happen only
inside ``run_gates``, via ``expectations.gx_engine`` and ``expectations.duckdb_shim``.
"""

from expectations.report import CheckResult, Failure, GateReport
from expectations.runner import run_gates

__all__ = ["CheckResult", "Failure", "GateReport", "run_gates"]
