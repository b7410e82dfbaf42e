"""The register of metric definitions (``readers/metric_definitions.yaml``) and the breaks it implies.

A KPI that compares two weeks, or rolls up one week, across a platform's change of definition mixes two
meanings of one number. The register says when each change happened; ``breaks`` answers, for a span of
days, which changes fall in it, so the report can mark the series break instead of showing the change
as if it were real.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

import yaml

REGISTER_FILE = "metric_definitions.yaml"


@dataclass(frozen=True)
class DefinitionChange:
    platform: str
    metric: str
    definition: str
    changed_from: date
    changed_to: date
    meaning: str
    affects: tuple[str, ...]

    def when(self) -> str:
        if self.changed_from == self.changed_to:
            return f"on {self.changed_from.isoformat()}"
        return f"between {self.changed_from.isoformat()} and {self.changed_to.isoformat()}"


@lru_cache(maxsize=1)
def load_register() -> tuple[DefinitionChange, ...]:
    """Every change in the register, checked: a malformed entry is an error naming it, never skipped."""
    document = yaml.safe_load(resources.files("readers").joinpath(REGISTER_FILE).read_text(encoding="utf-8"))
    changes: list[DefinitionChange] = []
    for i, entry in enumerate(document.get("changes") or [], start=1):
        missing = {"platform", "metric", "definition", "changed_from", "changed_to", "meaning", "affects"} - set(entry)
        if missing:
            raise ValueError(f"{REGISTER_FILE}: change {i} lacks {sorted(missing)}")
        if not isinstance(entry["changed_from"], date) or not isinstance(entry["changed_to"], date):
            raise ValueError(f"{REGISTER_FILE}: change {i}: changed_from and changed_to must be dates (YYYY-MM-DD)")
        if entry["changed_to"] < entry["changed_from"]:
            raise ValueError(f"{REGISTER_FILE}: change {i}: changed_to is before changed_from")
        if any(c.definition == entry["definition"] for c in changes):
            raise ValueError(f"{REGISTER_FILE}: change {i}: definition {entry['definition']!r} is listed twice")
        changes.append(DefinitionChange(entry["platform"], entry["metric"], entry["definition"], entry["changed_from"],
                                        entry["changed_to"], entry["meaning"], tuple(entry["affects"])))
    return tuple(changes)


def breaks(changes: tuple[DefinitionChange, ...], kpi: str, platforms: set[str] | None, first: date,
           last: date) -> list[DefinitionChange]:
    """The changes to ``kpi``'s inputs whose window meets the days ``first``..``last``.

    ``platforms``: the platforms the figure covers (None: any, as for a roll-up across platforms).
    """
    return [c for c in changes if kpi in c.affects and (platforms is None or c.platform in platforms)
            and c.changed_from <= last and c.changed_to >= first]
