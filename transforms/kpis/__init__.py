"""The week's KPIs (catalogue A1–F5) from the facts: pure, deterministic, in long form.

``compute_kpis`` returns exactly ``transforms.model.KPI_COLUMNS``, one row per KPI, scope, platform,
account, role and dimension, sorted on that key so the published Parquet is byte-identical run to
run. Names, definitions and units live in ``transforms/kpi_catalogue.yaml`` (``load_catalogue``);
the formulas live in one module per family:

- ``a_performance``: A1–A6 (posts, followers, engagement rates, over-performers, engagements gained)
- ``b_content``: B1–B4 (themes, culture resonance, format mix, video lift)
- ``c_dialogue``: C1–C6 (replies to commenters and the gap to the benchmark)
- ``d_received``: D1–D5 (public mentions, labels, sentiment, Lynch elements, travel intent)
- ``e_video``: E1–E2 (video completion, livestream pack)
- ``f_reach``: F1–F5 (languages, countries, multi-language assets, search)

``docs/kpis.md`` describes every KPI as implemented.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import yaml

import cityimage.vocabulary
import cityimage.weeks
import readers.definitions
import transforms.model
from cityimage.weeks import Week
from readers.definitions import REGISTER_FILE, DefinitionChange, breaks, load_register
from transforms.kpis import a_performance, b_content, c_dialogue, d_received, e_video, f_reach
from transforms.kpis.base import Context, Group, Out, absent
from transforms.kpis.error import ClassifierQuality, load_quality
from transforms.model import KPI_COLUMNS, Facts

__all__ = ["compute_kpis", "definition_digest", "load_catalogue", "series_break", "REGISTRY", "SORT_KEY"]

REGISTRY = [*a_performance.KPIS, *b_content.KPIS, *c_dialogue.KPIS, *d_received.KPIS, *e_video.KPIS, *f_reach.KPIS]
"""(kpi_id, function, groups) for every KPI, in catalogue order."""

SORT_KEY = ["kpi_id", "scope", "platform", "account_key", "role", "dimension"]
"""The key of a KPI row and the order of the published rows (nulls last, as DuckDB's ORDER BY)."""

CATALOGUE_FILE = "kpi_catalogue.yaml"
#: What a catalogue entry's ``present`` may say (the report's ``publish.report.Present``, its section and place).
PRESENT_KEYS = frozenset({"section", "position", "better", "decimals", "overall", "order", "rank", "numbered",
                          "signed", "gap"})


def load_catalogue() -> dict[str, dict]:
    """The KPI catalogue keyed by id, in catalogue order: name, definition, unit, finding, roll-up …"""
    text = resources.files("transforms").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    entries = document["kpis"]
    catalogue: dict[str, dict] = {}
    for entry in entries:
        missing = {"id", "name", "definition", "unit", "finding", "rollup"} - set(entry)
        if missing:
            raise ValueError(f"{CATALOGUE_FILE}: entry {entry.get('id', '?')} lacks {sorted(missing)}")
        if entry["id"] in catalogue:
            raise ValueError(f"{CATALOGUE_FILE}: {entry['id']} is listed twice")
        unknown = set(entry.get("present", {})) - PRESENT_KEYS
        if unknown:
            raise ValueError(f"{CATALOGUE_FILE}: {entry['id']}: present takes {sorted(PRESENT_KEYS)}, not {sorted(unknown)}")
        span = entry.get("input_days", {})
        if set(span) - {"before", "after"} or not all(isinstance(v, int) and v >= 0 for v in span.values()):
            raise ValueError(f"{CATALOGUE_FILE}: {entry['id']}: input_days takes before and after, whole days >= 0")
        catalogue[entry["id"]] = entry
    return catalogue


def definition_digest(zone: ZoneInfo, keywords: list[tuple[str, str | None]]) -> str:
    """What decides a week's KPIs besides the facts: the formulas' code and data files (catalogue,
    vocabularies, register of metric definitions, the classifiers' measured quality), Polars, the
    zone and the search keywords. The same facts and the same digest give the same rows."""
    from transforms.textmodel import MODEL_DIR

    package = Path(__file__).parent
    files = [*sorted(package.glob("*.py")), package.parent / CATALOGUE_FILE, MODEL_DIR / "evaluation.json",
             *(Path(f) for f in (cityimage.vocabulary.__file__, cityimage.weeks.__file__, readers.definitions.__file__,
                                 transforms.model.__file__)),
             Path(cityimage.vocabulary.__file__).with_suffix(".yaml"), Path(readers.definitions.__file__).with_name(REGISTER_FILE)]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"absent") + b"\0")
    digest.update(repr((pl.__version__, zone.key, sorted(keywords, key=repr))).encode())
    return digest.hexdigest()


def input_span(entry: dict, week: Week) -> tuple[date, date]:
    """The days a KPI's figure for ``week`` reads: the week, widened by the catalogue's ``input_days``."""
    span = entry.get("input_days", {})
    return week.monday - timedelta(days=span.get("before", 0)), week.sunday + timedelta(days=span.get("after", 0))


def series_break(changes: tuple[DefinitionChange, ...], entry: dict, platform: str | None, week: Week) -> str | None:
    """The definitions (ids, comma-separated) of the metric changes a figure's inputs straddle, or None.

    A cross-platform row (``platform`` None) straddles a change of any platform.
    """
    met = breaks(changes, entry["id"], {platform} if platform else None, *input_span(entry, week))
    return ", ".join(c.definition for c in met) or None


def compute_kpis(facts: Facts, week: Week, zone: ZoneInfo, keywords: list[tuple[str, str | None]],
                 quality: ClassifierQuality | None = None,
                 changes: tuple[DefinitionChange, ...] | None = None) -> pl.DataFrame:
    """Every KPI of the catalogue for ``week`` (ISO week in ``zone``), per account and rolled up per role.

    ``quality``: the classifiers' measured precision and recall the C1, C5 and D3 intervals come from
    (default: the shipped models' ``evaluation.json``; ``transforms.kpis.error.NONE`` for no intervals).
    ``changes``: the register of metric definitions (default: the shipped one); a row whose inputs meet a
    change names it in ``series_break``, so no figure mixes two definitions without saying so.
    """
    catalogue = load_catalogue()
    changes = load_register() if changes is None else changes
    ctx = Context(facts, week, zone, keywords, catalogue, load_quality() if quality is None else quality)
    rows: list[dict] = []
    for kpi_id, function, groups in REGISTRY:
        if kpi_id not in catalogue:
            raise KeyError(f"{kpi_id} is computed but not in {CATALOGUE_FILE}")
        entry = catalogue[kpi_id]
        produced = [_row(week, entry, group, out, changes) for group in groups(ctx) for out in function(ctx, group)]
        if not produced:
            # Every KPI is present in every snapshot, if only to say why it cannot be computed.
            reason = f"no account registered for the roles this KPI covers ({entry.get('reported_for', 'see the catalogue')})"
            produced = [_row(week, entry, Group("role", "owned", None, None, ()), absent(reason, entry["unit"]), changes)]
        rows += produced
    frame = pl.DataFrame(rows, schema=KPI_COLUMNS, orient="row") if rows else pl.DataFrame(schema=KPI_COLUMNS)
    duplicates = frame.group_by(SORT_KEY).len().filter(pl.col("len") > 1)
    if duplicates.height:
        raise AssertionError(f"KPI rows are not unique on {SORT_KEY}: {duplicates.head(5).to_dicts()}")
    return frame.sort(SORT_KEY, nulls_last=True, maintain_order=True)


def _row(week: Week, entry: dict, group: Group, out: Out, changes: tuple[DefinitionChange, ...]) -> dict:
    return {
        "week_id": week.id,
        "kpi_id": entry["id"],
        "kpi_name": entry["name"],
        "scope": group.scope,
        "platform": group.platform,
        "account_key": group.account_key,
        "role": group.role,
        "dimension": out.dimension,
        "value": out.value,
        "numerator": out.numerator,
        "denominator": out.denominator,
        "n": out.n,
        "unit": out.unit,
        "status": out.status,
        "note": out.note,
        "value_low": out.value_low,
        "value_high": out.value_high,
        "series_break": series_break(changes, entry, group.platform, week) if out.value is not None else None,
    }
