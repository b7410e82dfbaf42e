"""What a gate run found: every expectation's result, the failures by severity, and a Markdown summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

MAX_EXAMPLES = 5


def jsonable(value: Any) -> Any:
    """Examples and observed values as plain JSON types (timestamps as ISO text)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def example_text(example: Any) -> str:
    """One example on one line: ``col=value`` pairs for a row, the value itself otherwise."""
    if isinstance(example, dict):
        parts = []
        for key, value in example.items():
            text = "null" if value is None else str(value)
            if key.endswith("sha256") and len(text) > 12:
                text = text[:12] + "…"
            parts.append(f"{key}={text}")
        return " ".join(parts)
    if isinstance(example, (list, tuple)):
        return "(" + ", ".join("null" if v is None else str(v) for v in example) + ")"
    return "null" if example is None else str(example)


@dataclass(frozen=True)
class Failure:
    """A failed (or errored) expectation: where, what, how many rows, a few examples and a sentence."""

    table: str
    expectation: str
    severity: str
    unexpected_count: int | None
    examples: list[Any]
    message: str


@dataclass(frozen=True)
class CheckResult:
    """One expectation evaluated in one run, as stored in ``ops_validation_result``.

    ``engine`` says what computed it: ``gx`` (Great Expectations SQL path in DuckDB), ``duckdb-fallback``
    (GX raised; the same check ran as a direct DuckDB query; ``gx_error`` says why) or ``error`` (neither
    could run it: counts as a critical failure whatever the declared severity). ``kept_from``: the run
    that computed a verdict this run kept, its tables and definition unchanged (``expectations.verdicts``);
    None when this run computed it. A kept result reads exactly as it did when computed.
    """

    suite: str
    table: str
    check_id: str
    expectation: str
    description: str
    severity: str
    success: bool
    observed_value: Any
    unexpected_count: int | None
    examples: list[Any]
    engine: str
    gx_error: str | None = None
    error: str | None = None
    kept_from: str | None = None

    @property
    def errored(self) -> bool:
        return self.engine == "error"

    @property
    def effective_severity(self) -> str:
        return "critical" if self.errored else self.severity

    def message(self) -> str:
        if self.success:
            text = f"{self.table}: {self.expectation} passed ({self.description})"
        elif self.errored:
            text = (
                f"{self.table}: {self.expectation} could not be evaluated ({self.description}); "
                f"an expectation that errors blocks the week. Great Expectations: {self.gx_error or 'n/a'}; "
                f"direct DuckDB check: {self.error or 'n/a'}"
            )
        else:
            count = "an unknown number of" if self.unexpected_count is None else f"{self.unexpected_count}"
            noun = "row" if self.unexpected_count == 1 else "rows"
            text = f"{self.table}: {self.expectation} failed on {count} {noun} — expected {self.description}"
            if self.examples:
                text += "; e.g. " + "; ".join(example_text(e) for e in self.examples[:MAX_EXAMPLES])
        if self.engine == "duckdb-fallback":
            text += f" [checked directly in DuckDB: Great Expectations raised {self.gx_error}]"
        return text

    def failure(self) -> Failure:
        return Failure(
            table=self.table,
            expectation=self.expectation,
            severity=self.effective_severity,
            unexpected_count=self.unexpected_count,
            examples=list(self.examples[:MAX_EXAMPLES]),
            message=self.message(),
        )


@dataclass
class GateReport:
    """The outcome of the gates for one week: ``passed`` is False when any critical expectation failed."""

    run_id: str
    week_id: str
    results: list[CheckResult] = field(default_factory=list)
    suites: list[str] = field(default_factory=list)
    skipped_suites: list[str] = field(default_factory=list)
    data_docs_index: Path | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def critical(self) -> list[Failure]:
        return [r.failure() for r in self.results if not r.success and r.effective_severity == "critical"]

    @property
    def warnings(self) -> list[Failure]:
        return [r.failure() for r in self.results if not r.success and r.effective_severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.critical

    @property
    def fallbacks(self) -> list[CheckResult]:
        return [r for r in self.results if r.engine == "duckdb-fallback"]

    @property
    def kept(self) -> list[CheckResult]:
        """The results this run kept from earlier runs instead of evaluating them again."""
        return [r for r in self.results if r.kept_from is not None]

    def summary_markdown(self) -> str:
        """A short report for a Prefect artifact: verdict, critical failures, warnings, links."""
        critical, warnings = self.critical, self.warnings
        verdict = "✅ passed" if self.passed else "⛔ blocked"
        lines = [
            f"# Quality gates {self.week_id}: {verdict}",
            "",
            f"Run `{self.run_id}` evaluated {len(self.results)} expectations in {len(self.suites)} suites "
            f"({', '.join(self.suites) or 'none'}) in {self.seconds:.1f} s: "
            f"{len(critical)} critical, {len(warnings)} warning(s), {sum(r.success for r in self.results)} passed.",
        ]
        if self.kept:
            lines += ["", f"{len(self.kept)} of them kept from earlier runs, their tables and definitions unchanged "
                          f"(runs {', '.join(sorted({r.kept_from for r in self.kept if r.kept_from}))})."]
        if self.skipped_suites:
            lines += ["", f"Not validated (no rows): {', '.join(self.skipped_suites)}."]
        sections = (("Critical failures (block the publish)", critical), ("Warnings (published with the snapshot)", warnings))
        for title, failures in sections:
            if not failures:
                continue
            lines += ["", f"## {title}", "", "| table | expectation | rows | examples |", "|---|---|---:|---|"]
            for f in failures:
                rows = "error" if f.unexpected_count is None else str(f.unexpected_count)
                examples = "; ".join(example_text(e) for e in f.examples[:3]) or "—"
                lines.append(f"| {_cell(f.table)} | {_cell(f.expectation)} | {rows} | {_cell(examples)} |")
            errors = [f for f in failures if f.unexpected_count is None]
            if errors:
                lines += [""] + [f"- {_cell(f.message)}" for f in errors]
        if self.fallbacks:
            lines += ["", f"{len(self.fallbacks)} expectation(s) could not run in Great Expectations and were checked "
                          "directly in DuckDB: " + ", ".join(f"{r.table}.{r.expectation}" for r in self.fallbacks) + "."]
        if self.data_docs_index:
            lines += ["", f"Data Docs: `{self.data_docs_index}`"]
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 300 else text[:299] + "…"


def dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(jsonable(value), ensure_ascii=False, default=str)
