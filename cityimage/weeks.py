"""ISO weeks in the reporting time zone: the unit every KPI, snapshot and report is cut by."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week such as ``2026-W47``; Monday 00:00 to next Monday 00:00 in the reporting zone."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> "Week":
        match = _WEEK.match(text.strip())
        if not match:
            raise ValueError(f"week {text!r} is not of the form YYYY-Www, e.g. 2026-W47")
        week = cls(int(match.group(1)), int(match.group(2)))
        try:
            week.monday
        except ValueError:
            raise ValueError(f"week {text!r} does not exist in ISO year {week.year}") from None
        return week

    @classmethod
    def of(cls, day: date) -> "Week":
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def containing(cls, instant: datetime, zone: ZoneInfo) -> "Week":
        return cls.of(instant.astimezone(zone).date())

    @property
    def id(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def bounds_utc(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) of the week as UTC instants, so SQL on UTC columns cuts at local midnight."""
        start = datetime.combine(self.monday, datetime.min.time(), tzinfo=zone)
        end = start + timedelta(days=7)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)

    def contains(self, instant: datetime | None, zone: ZoneInfo, week_id: str | None = None) -> bool:
        """Whether a row belongs to the week: its instant decides; an undated row goes by its week column.

        The one rule of week membership. ``in_week_sql`` is the same rule in DuckDB and
        ``transforms.kpis.base.Context`` in Polars; a test holds the forms equal at the week's edges."""
        if instant is None:
            return week_id == self.id
        start, end = self.bounds_utc(zone)
        return start <= instant < end

    def sql_params(self, zone: ZoneInfo) -> dict[str, object]:
        """The parameters ``in_week_sql`` names: ``$start``, ``$end`` and ``$week``."""
        start, end = self.bounds_utc(zone)
        return {"start": start, "end": end, "week": self.id}

    def shift(self, weeks: int) -> "Week":
        return Week.of(self.monday + timedelta(weeks=weeks))

    def __str__(self) -> str:
        return self.id


def in_week_sql(at: str, week_column: str | None = None) -> str:
    """``Week.contains`` as a DuckDB ``WHERE`` condition on the instant column ``at``, with
    ``Week.sql_params``: the instant decides; an undated row counts by ``week_column`` where the table
    has one (a row it keeps out may evaluate to NULL rather than false)."""
    dated = f"({at} >= $start AND {at} < $end)"
    return f"({dated} OR ({at} IS NULL AND {week_column} = $week))" if week_column else dated


def week_range(first: Week, last: Week) -> list[Week]:
    """Every week from ``first`` to ``last`` inclusive, in order."""
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    weeks, current = [], first
    while current <= last:
        weeks.append(current)
        current = current.shift(1)
    return weeks
