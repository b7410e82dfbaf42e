"""Pieces several suites share: id shapes and the week-over-week volume query (the table catalogue gives the rest)."""

from __future__ import annotations

from datetime import datetime

from expectations.checks import ID_PATTERNS, WARNING, Check, id_pattern, no_rows
from expectations.suites import SuiteContext

# A week whose row count falls below half, or rises above twice, the mean of the trailing weeks
# that had rows is flagged. Judged only once at least MIN_HISTORY_WEEKS of the 4 trailing weeks had rows.
DROP_RATIO = 0.5
SPIKE_RATIO = 2.0
TRAILING_WEEKS = 4
MIN_HISTORY_WEEKS = 2

STAGING_INDEX = ("source_file_sha256", "source_row")
#: The id of the one check that depends on which week is gated: its volume against the weeks before it.
VOLUME_CHECK = "volume:week_vs_trailing_4"


def is_week_check(check: Check) -> bool:
    """Whether ``check`` compares the gated week with the weeks before it (every other check judges the
    table whatever the week): what a run over many weeks evaluates once per week."""
    return check.id == VOLUME_CHECK


def id_patterns(column: str, kind: str) -> list[Check]:
    return [id_pattern(column, platform, regex, WARNING) for platform, regex in ID_PATTERNS[kind].items()]


def name_collisions(key: str, what: str) -> Check:
    """Rows whose name takes a registered account's handle while the id says they are someone else
    (set at load, ``transforms.pseudonymise``): kept as the public, flagged so a spoof is seen."""
    return no_rows(
        "identity:name_collision",
        f"SELECT platform, {key}, name_collision_account_key, source_file_sha256, source_row FROM {{batch}} "
        "WHERE name_collision_account_key IS NOT NULL",
        WARNING,
        f"no {what} takes a registered account's name under another id (identity goes by id: such rows stay public)",
    )


def _ts(value: datetime) -> str:
    # Bounds come from cityimage.weeks.Week (a parsed, validated week), never from user text.
    return f"TIMESTAMPTZ '{value.isoformat()}'"


def volume_by_instant(ctx: SuiteContext, column: str, what: str) -> Check:
    """Rows whose ``column`` falls in the week vs the trailing weeks' mean (warning)."""
    bounds = [ctx.week_bounds(k) for k in range(TRAILING_WEEKS + 1)]
    cases = " ".join(f"WHEN {column} >= {_ts(s)} AND {column} < {_ts(e)} THEN {k}" for k, (s, e) in enumerate(bounds))
    source = (
        f"SELECT CASE {cases} END AS k FROM {{batch}} "
        f"WHERE {column} >= {_ts(bounds[-1][0])} AND {column} < {_ts(bounds[0][1])}"
    )
    return _volume_check(ctx, source, what)


def volume_by_week_column(ctx: SuiteContext, column: str, what: str) -> Check:
    """Rows whose ISO-week column equals the week vs the trailing weeks' mean (warning)."""
    weeks = [ctx.week.shift(-k).id for k in range(TRAILING_WEEKS + 1)]
    cases = " ".join(f"WHEN '{w}' THEN {k}" for k, w in enumerate(weeks))
    listed = ", ".join(f"'{w}'" for w in weeks)
    source = f"SELECT CASE {column} {cases} END AS k FROM {{batch}} WHERE {column} IN ({listed})"
    return _volume_check(ctx, source, what)


def _volume_check(ctx: SuiteContext, tagged: str, what: str) -> Check:
    query = (
        f"WITH tagged AS ({tagged}), "
        "per_week AS (SELECT k, count(*) AS n FROM tagged GROUP BY k), "
        "stats AS (SELECT coalesce(max(n) FILTER (WHERE k = 0), 0) AS week_rows, "
        "avg(n) FILTER (WHERE k > 0) AS trailing_mean, count(*) FILTER (WHERE k > 0) AS history_weeks FROM per_week) "
        f"SELECT CASE WHEN week_rows < {DROP_RATIO} * trailing_mean THEN 'drop' ELSE 'spike' END AS change, "
        "week_rows, round(trailing_mean, 1) AS trailing_mean, history_weeks FROM stats "
        f"WHERE history_weeks >= {MIN_HISTORY_WEEKS} "
        f"AND (week_rows < {DROP_RATIO} * trailing_mean OR week_rows > {SPIKE_RATIO} * trailing_mean)"
    )
    return no_rows(
        VOLUME_CHECK,
        query,
        WARNING,
        f"{what} in {ctx.week.id} within {DROP_RATIO:g}×–{SPIKE_RATIO:g}× the mean of the {TRAILING_WEEKS} weeks before "
        f"(judged once {MIN_HISTORY_WEEKS} of them had rows)",
    )
