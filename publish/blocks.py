"""The report's blocks: each KPI's table and chart, the headline cards, the week's story, the
livestream and asset tables, what the snapshot was made from, the definitions. Rows in, plain dicts
out, which ``publish.report`` lays out on the page; numbers, names and dates are written by
``publish.formatting``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Mapping

import polars as pl

from cityimage.citypack import LiveReference
from cityimage.weeks import Week
from publish import charts
from publish.formatting import (
    ALL_PLATFORMS,
    NAMES,
    NBSP,
    PRESENT,
    ROLES,
    Present,
    count_text,
    decimals_of,
    fmt_value,
    kpi_sort,
    minus,
    norm,
    platform_label,
    platform_sort,
    pretty,
    role_sort,
)
from readers.definitions import DefinitionChange
from transforms.model import KPI_COLUMNS

FINDINGS: dict[str, str] = {
    "a": "culture is under-told",
    "b": "one-way voice",
    "c": "monotonous formats",
    "d": "the city's received image",
    "e": "reach through languages",
    "f": "search visibility",
    "g": "Lynch's five elements",
    "h": "from impression to visit",
}

HEADLINE = ("C1", "A3", "A1", "A2", "D3")
# KPIs whose per-platform rows stay in the main table (C1 carries the per-platform gap C6); for the others
# the main table holds the roll-up across platforms and the platforms fold out beneath it.
PLATFORMS_INLINE = ("C1",)
TOP_ROWS = 12  # a ranking (labels, countries) shows this many rows, the rest fold out

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def live_reference_text(live: LiveReference) -> str:
    return (f"{live.intro}: {live.views:,.0f} views, {live.likes:,.0f} likes, {live.comments:,.0f} comments, i.e. "
            f"{live.engagements_per_view * 100:.2f}{NBSP}% engagement per view and "
            f"{live.comments_per_thousand_views:.2f} comments per 1,000 views")


# ---------------------------------------------------------------------------------------------------
# Rows


@dataclass
class Context:
    week_id: str
    previous: str | None
    rows: list[dict[str, Any]]
    prev: dict[tuple, dict[str, Any]]
    catalogue: dict[str, dict]
    by_kpi: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: "Notes" = field(default_factory=lambda: Notes())
    changes: tuple[DefinitionChange, ...] = ()
    live_reference: LiveReference | None = None
    label_names: Mapping[str, str] = field(default_factory=dict)  # the city pack's, by label key (D2)

    def __post_init__(self) -> None:
        for row in self.rows:
            self.by_kpi.setdefault(row["kpi_id"], []).append(row)

    def breaks_of(self, row: dict[str, Any]) -> list[DefinitionChange]:
        """The definition changes a figure straddles (its row's ``series_break``), and its change since the
        previous week (the previous row's too)."""
        named = break_ids(row) | break_ids(self.prev.get(row_key(row)))
        return [c for c in self.changes if c.definition in named]

    @cached_property
    def names(self) -> dict[str, Mapping[str, str]]:
        """The breakdowns' names: the package's, and the city's labels by the names its pack gives them."""
        return {**NAMES, "D2": self.label_names}

    def dim(self, dimension: str | None, kpi: str) -> str:
        """A breakdown's name in the report."""
        return pretty(dimension, kpi, self.names)

    def name(self, kpi: str) -> str:
        entry = self.catalogue.get(kpi) or {}
        names = sorted({r["kpi_name"] for r in self.by_kpi.get(kpi, []) if r["kpi_name"]})
        name = str(entry.get("name") or (names[0] if names else kpi)).strip()
        return name[:1].upper() + name[1:]


def catalogue_of(catalogue: Any) -> dict[str, dict]:
    """The catalogue keyed by KPI id (as ``transforms.kpis.load_catalogue`` gives it); a list or the raw
    YAML document (``{"kpis": [...]}``) is accepted too."""
    if isinstance(catalogue, dict) and isinstance(catalogue.get("kpis"), (list, dict)):
        catalogue = catalogue["kpis"]
    if isinstance(catalogue, list):
        catalogue = {str(e["id"]): e for e in catalogue if isinstance(e, dict) and e.get("id")}
    if not isinstance(catalogue, dict):
        return {}
    return {str(k): v for k, v in catalogue.items() if isinstance(v, dict)}


def break_ids(row: dict[str, Any] | None) -> set[str]:
    return {part.strip() for part in ((row or {}).get("series_break") or "").split(",") if part.strip()}


def with_series_breaks(frame: pl.DataFrame, catalogue: dict[str, dict],
                        changes: tuple[DefinitionChange, ...]) -> pl.DataFrame:
    """KPI rows of a snapshot published before rows named their series breaks, given them by the same
    rule (``transforms.kpis.series_break``); newer rows are kept as published."""
    if "series_break" in frame.columns or not changes or frame.height == 0:
        return frame
    from transforms.kpis import series_break

    def named(row: dict[str, Any]) -> str | None:
        entry = catalogue.get(row["kpi_id"])
        if entry is None or row.get("value") is None:
            return None
        return series_break(changes, {"id": row["kpi_id"], **entry}, row.get("platform"), Week.parse(row["week_id"]))

    return frame.with_columns(pl.Series("series_break", [named(r) for r in frame.to_dicts()], dtype=pl.String))


def rows_of(frame: pl.DataFrame | None) -> list[dict[str, Any]]:
    """KPI rows as dicts with every catalogue column, in a stable order."""
    if frame is None or frame.width == 0:
        return []
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in KPI_COLUMNS.items() if c not in frame.columns]
    frame = frame.with_columns(missing) if missing else frame
    frame = frame.select([pl.col(c).cast(t, strict=False) for c, t in KPI_COLUMNS.items()])
    frame = frame.sort(
        ["week_id", "kpi_id", "scope", "platform", "account_key", "role", "dimension", "unit", "value"],
        nulls_last=False, maintain_order=True,
    )
    rows = frame.to_dicts()
    for row in rows:
        value = row["value"]
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            row["value"] = None
        row["status"] = (row["status"] or "ok").strip().lower()
        row["unit"] = (row["unit"] or "").strip().lower()
    return rows


def row_key(row: dict[str, Any]) -> tuple:
    return (row["kpi_id"], row["scope"], row["platform"], row["account_key"], row["role"], row["dimension"], row["unit"])


def has_value(row: dict[str, Any]) -> bool:
    return row["status"] != "absent" and row["value"] is not None


def headline_row(
    rows: Iterable[dict[str, Any]], kpi: str, role: str | None, any_role: bool = False
) -> tuple[dict[str, Any] | None, str | None]:
    """The cross-platform roll-up of ``kpi`` for ``role`` (or the only platform's), and a platform label."""
    candidates = [
        r for r in rows
        if r["kpi_id"] == kpi and r["scope"] == "role" and r["dimension"] is None and (any_role or r["role"] == role)
    ]
    if any_role:
        candidates.sort(key=lambda r: (r["role"] != role, r["role"] or ""))
    overall = [r for r in candidates if r["platform"] is None]
    if overall:
        return overall[0], None
    platforms = sorted({r["platform"] for r in candidates})
    if len(platforms) == 1:
        return candidates[0], platform_label(platforms[0])
    return None, ("reported per platform only: see the table below" if candidates else None)


# ---------------------------------------------------------------------------------------------------
# Cells: a figure, its change since last week, its notes


def _delta(row: dict[str, Any], prev: dict[str, Any] | None, kpi: str, previous_week: str | None) -> dict | None:
    """▲/▼ and the change since the previous week, in the KPI's own terms (pp for ratios)."""
    if prev is None or not has_value(row) or not has_value(prev) or prev["unit"] != row["unit"]:
        return None
    unit = row["unit"]
    shown = fmt_value(row["value"], unit, kpi)
    decimals = decimals_of(shown)
    diff = row["value"] - prev["value"]
    if unit == "ratio":
        diff, suffix, decimals = diff * 100, f"{NBSP}pp", max(decimals, 1)
    elif unit == "pp":
        suffix, decimals = f"{NBSP}pp", 1
    elif unit == "hours":
        suffix, decimals = f"{NBSP}h", 1
    else:
        suffix = ""
    magnitude = f"{abs(diff):,.{decimals}f}"
    if float(magnitude.replace(",", "")) == 0:
        arrow, tone = "=", "flat"
    else:
        arrow = "▲" if diff > 0 else "▼"
        direction = 1 if diff > 0 else -1
        better = _better(kpi, row)
        tone = "neutral" if row["role"] != "owned" or better == 0 else ("good" if direction == better else "bad")
    was = fmt_value(prev["value"], unit, kpi)
    return {
        "text": f"{arrow}{NBSP}{magnitude}{suffix}",
        "tone": tone,
        "title": f"{previous_week}: {was}",
        "words": f"{'up' if arrow == '▲' else 'down' if arrow == '▼' else 'unchanged'} from {was} in {previous_week}",
    }


def _better(kpi: str, row: dict[str, Any]) -> int:
    dim = norm(row["dimension"])
    if kpi == "B1":
        return 1 if dim.startswith("culture") else 0
    if kpi == "B3":
        return 1 if (not dim or dim.startswith(("entropy", "diversity"))) else 0
    if kpi == "C3":
        return -1 if row["unit"] == "hours" else 0
    if kpi == "D4":
        return 1 if (not dim or dim.startswith("coverage")) else 0
    if kpi == "D3" and "not rated" in dim:
        return -1
    if kpi in ("F1", "F2") and dim.startswith(("language", "country")):
        return 0  # a shift between languages or countries is neither good nor bad
    return PRESENT.get(kpi, Present()).better


def _meta(row: dict[str, Any]) -> str | None:
    num, den, n = row["numerator"], row["denominator"], row["n"]
    if row["unit"] == "ratio" and num is not None and den is not None and float(num).is_integer() and float(den).is_integer():
        return f"{num:,.0f} of {den:,.0f}"
    if n is not None:
        return f"n{NBSP}={NBSP}{n:,}"
    return None


INLINE_NOTE = 60  # a note up to this long is written in its cell; a longer one becomes a numbered footnote


class Notes:
    """The footnotes of one table (or of the headline cards): each distinct text once, numbered from 1."""

    def __init__(self, inline: int = INLINE_NOTE) -> None:
        self.texts: list[str] = []
        self.inline = inline

    def place(self, text: str | None) -> tuple[str | None, int | None]:
        """(text to write in the cell, footnote number): short notes stay inline, long ones are numbered."""
        if not text:
            return None, None
        if len(text) <= self.inline:
            return text, None
        if text not in self.texts:
            self.texts.append(text)
        return None, self.texts.index(text) + 1


def _cell(ctx: Context, row: dict[str, Any] | None, kpi: str, with_meta: bool = True) -> dict | None:
    if row is None:
        return None
    note = (row["note"] or "").strip() or None
    if not has_value(row):
        reason = note or ("no value was computed" if row["status"] != "absent" else "no reason recorded")
        return _missing(reason, ctx.notes)
    changed = ctx.breaks_of(row)
    if changed:
        note = "; ".join([*(f"series break: {platform_label(c.platform)}: {c.meaning[:1].lower()}{c.meaning[1:].rstrip('.')} "
                            f"({c.when()}), so this figure or its change mixes two definitions" for c in changed),
                          *([note] if note else [])])
    inline, number = ctx.notes.place(note)
    return {
        "na": False,
        "break": bool(changed),
        "text": fmt_value(row["value"], row["unit"], kpi),
        "range": _range(row, kpi),
        "flagged": row["status"] != "ok",
        "thin": _is_thin(row),
        "note": inline,
        "fn": number,
        "delta": _delta(row, ctx.prev.get(row_key(row)), kpi, ctx.previous),
        "meta": _meta(row) if with_meta else None,
        "ref": None,
    }


#: A rate, share or median resting on fewer items than this is marked "few": an anecdote, not a trend.
THIN_N = 5


def _is_thin(row: dict[str, Any]) -> bool:
    """Whether a measured figure rests on fewer than ``THIN_N`` items (counts are what they are)."""
    return row["unit"] != "count" and row["n"] is not None and 0 < row["n"] < THIN_N


def _range(row: dict[str, Any], kpi: str) -> str | None:
    """The value's range under the classifiers' measured error (C1, C5, D3), as "low–high"."""
    low, high = row.get("value_low"), row.get("value_high")
    if low is None or high is None:
        return None
    return f"{fmt_value(low, row['unit'], kpi)}–{fmt_value(high, row['unit'], kpi)}"


def _missing(reason: str, notes: Notes | None = None) -> dict:
    inline, number = notes.place(reason) if notes is not None else (reason, None)
    return {"na": True, "reason": inline, "fn": number}


def _dimension_sort(kpi: str, rows: list[dict[str, Any]]) -> dict[str | None, tuple]:
    """A sort key per dimension value of ``kpi``: overall first, then the KPI's order or rank."""
    present = PRESENT.get(kpi, Present())
    dims = sorted({r["dimension"] for r in rows if r["dimension"] is not None})
    keys: dict[str | None, tuple] = {None: (0, 0, 0.0, "")}
    if kpi == "C3":
        for d in dims:
            number = _NUMBER.search(d)
            never = "never" in d.lower() or "no reply" in d.lower()
            keys[d] = (1, 1 if never else 0, float(number.group()) if number and not never else 0.0, d)
        return keys
    if present.rank:
        # rank on the roll-up across platforms (else on whatever role rows there are)
        ranked = [r for r in rows if r["dimension"] is not None and has_value(r) and r["scope"] == "role"]
        overall = [r for r in ranked if r["platform"] is None]
        best: dict[str, float] = {}
        for r in overall or ranked:
            best[r["dimension"]] = max(best.get(r["dimension"], -math.inf), r["value"])
        for d in dims:
            normal = norm(d)
            position = next((i for i, p in enumerate(present.order) if normal.startswith(p)), len(present.order))
            keys[d] = (1, position, -best.get(d, -math.inf), d)
        return keys
    for d in dims:
        normal = norm(d)
        position = next((i for i, p in enumerate(present.order) if normal.startswith(p)), len(present.order))
        keys[d] = (1, position, 0.0, d)
    return keys


# ---------------------------------------------------------------------------------------------------
# Blocks


def noted_block(ctx: Context, kpi: str) -> dict:
    ctx.notes = Notes()
    block = kpi_block(ctx, kpi)
    block["notes"] = ctx.notes.texts
    return block


def kpi_block(ctx: Context, kpi: str, only: list[dict[str, Any]] | None = None) -> dict:
    """One KPI: its definition, the main table (roles as columns) and the per-platform/account details."""
    rows = ctx.by_kpi.get(kpi, []) if only is None else only
    present = PRESENT.get(kpi, Present())
    block: dict[str, Any] = {
        "kind": "block",
        "id": kpi,
        "name": ctx.name(kpi),
        "definition": _catalogue_text(ctx.catalogue.get(kpi), "definition"),
        "missing": None,
        "head": [],
        "rows": [],
        "detail_rows": [],
        "accounts": [],
        "reading": [],
        "chart": None,
        "dim_label": None,
        "live_table": None,
        "notes": [],
        "detail_notes": [],
        "account_notes": [],
        "more_rows": [],
        "first_col": "Platform",
        "detail_head": [],
    }
    gap_rows = ctx.by_kpi.get(present.gap, []) if present.gap and only is None else []
    if not rows and not gap_rows:
        block["missing"] = _missing("not in this week's snapshot")
        return block
    ranks: dict[tuple, float] = {}
    if kpi == "D2":  # "rank:<label>" rows become the rank number in front of the label's row
        for r in rows:
            if (r["dimension"] or "").startswith("rank:") and has_value(r):
                ranks.setdefault((r["scope"], r["platform"], r["account_key"], r["dimension"][5:]), r["value"])
        rows = [r for r in rows if not (r["dimension"] or "").startswith("rank:")]
    role_rows = [r for r in rows if r["scope"] == "role"]
    account_rows = [r for r in rows if r["scope"] != "role"]
    has_dims = any(r["dimension"] is not None for r in rows)
    block["dim_label"] = _dimension_heading(kpi) if has_dims else None
    dim_keys = _dimension_sort(kpi, rows)

    if role_rows:
        roles = sorted({r["role"] for r in role_rows}, key=role_sort)
        if (has_dims or kpi not in PLATFORMS_INLINE) and any(r["platform"] is None for r in role_rows):
            main = [r for r in role_rows if r["platform"] is None]
            detail = [r for r in role_rows if r["platform"] is not None]
        else:
            main, detail = role_rows, []
        block["detail_head"] = [ROLES.get(r, r or "—") for r in roles]
        block["head"] = list(block["detail_head"])
        gap_main = [g for g in gap_rows if g["scope"] == "role" and (g["platform"] is None or not has_dims)]
        if gap_rows:
            block["head"].append(f"Gap to benchmark ({present.gap})")
        block["rows"] = _pivot(ctx, kpi, main, roles, dim_keys, has_dims, gap_main, with_gap=bool(gap_rows))
        main_notes, ctx.notes = ctx.notes, Notes()  # the fold-outs number their own notes
        block["detail_rows"] = _pivot(ctx, kpi, detail, roles, dim_keys, has_dims, [], by_platform=True)
        block["detail_notes"], ctx.notes = ctx.notes.texts, Notes()
        cut = sum(1 for row in block["rows"] if row["key"][0] is None) + TOP_ROWS
        if present.numbered and len(block["rows"]) > cut + 2:  # a long ranking: the top, then the rest folded
            block["rows"], block["more_rows"] = block["rows"][:cut], block["rows"][cut:]
        if ranks:
            for row in block["rows"] + block["more_rows"] + block["detail_rows"]:
                rank = ranks.get(("role", row["key"][1], None, row["key"][0]))
                row["rank"] = f"{rank:.0f}" if rank is not None else None
        block["accounts"] = _account_list(ctx, kpi, account_rows, dim_keys)
        block["account_notes"], ctx.notes = ctx.notes.texts, main_notes
    else:
        block["head"] = ["Value"]
        block["rows"] = [
            {"label": r["account_key"] or "—", "sub": platform_label(r["platform"]),
             "dim": ctx.dim(r["dimension"], kpi) if has_dims else None, "cells": [_cell(ctx, r, kpi)],
             "highlight": False, "rank": None}
            for r in sorted(account_rows, key=lambda r: (platform_sort(r["platform"]), r["account_key"] or "",
                                                         dim_keys.get(r["dimension"], (9,)), r["unit"]))
        ]
        block["first_col"] = "Account"
    return block


def _dimension_heading(kpi: str) -> str:
    return {"B1": "Theme", "B3": "Format", "C3": "Reply time", "D2": "Label", "D4": "Lynch element",
            "F1": "Language", "F2": "Country", "F3": "Asset", "F4": "Keyword", "F5": "Keyword"}.get(kpi, "Breakdown")


def _pivot(
    ctx: Context, kpi: str, rows: list[dict[str, Any]], roles: list[str], dim_keys: dict, has_dims: bool,
    gap_rows: list[dict[str, Any]], with_gap: bool = False, by_platform: bool = False,
) -> list[dict]:
    """Rows keyed by (dimension, platform, unit) with one cell per role (and the gap, if any)."""
    keys = {(r["dimension"], r["platform"], r["unit"]) for r in rows}
    keys |= {(g["dimension"], g["platform"], None) for g in gap_rows if not any(
        (g["dimension"], g["platform"]) == (k[0], k[1]) for k in keys)}
    index: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        index.setdefault((r["dimension"], r["platform"], r["unit"], r["role"]), r)
    gaps: dict[tuple, dict[str, Any]] = {}
    for g in sorted(gap_rows, key=lambda g: (g["role"] != "owned", g["role"] or "")):
        gaps.setdefault((g["dimension"], g["platform"]), g)

    def order(k: tuple) -> tuple:
        dim, platform, unit = k
        if by_platform:
            return (platform_sort(platform), dim_keys.get(dim, (9,)), unit or "")
        return (dim_keys.get(dim, (9,)), platform_sort(platform), unit or "")

    present = PRESENT.get(kpi, Present())
    ranks = {d: i + 1 for i, d in enumerate(sorted({k[0] for k in keys if k[0] is not None}, key=lambda d: dim_keys.get(d, (9,))))}
    out = []
    for dim, platform, unit in sorted(keys, key=order):
        cells = [_cell(ctx, index.get((dim, platform, unit, role)), kpi) for role in roles]
        if with_gap:
            gap = gaps.get((dim, platform))
            cells.append(_cell(ctx, gap, gap["kpi_id"]) if gap else None)
        label = ctx.dim(dim, kpi) if has_dims else platform_label(platform)
        sub = platform_label(platform) if has_dims and (platform is not None or by_platform) else None
        out.append({"label": label, "sub": sub, "dim": None, "cells": cells, "key": (dim, platform),
                    "rank": ranks.get(dim) if present.numbered and not by_platform and len(ranks) > 1 else None,
                    "highlight": kpi == "B1" and norm(dim).startswith("culture")})
    return out


def _account_list(ctx: Context, kpi: str, rows: list[dict[str, Any]], dim_keys: dict) -> list[dict]:
    rows = sorted(rows, key=lambda r: (role_sort(r["role"]), platform_sort(r["platform"]), r["account_key"] or "",
                                       dim_keys.get(r["dimension"], (9,)), r["unit"]))
    return [{
        "account": r["account_key"] or "—",
        "platform": platform_label(r["platform"]),
        "role": ROLES.get(r["role"], r["role"] or "—"),
        "dim": ctx.dim(r["dimension"], kpi) if r["dimension"] is not None else "",
        "cell": _cell(ctx, r, kpi),
    } for r in rows]


def _catalogue_text(entry: dict | None, key: str) -> str | None:
    if not entry:
        return None
    value = entry.get(key)
    return str(value).strip() if value not in (None, "") else None


def finding_of(letter: str) -> dict:
    return {"letter": letter, "text": FINDINGS.get(letter, letter)}


def _findings_of(entry: dict | None) -> list[dict]:
    raw = (entry or {}).get("finding") or (entry or {}).get("findings") or []
    letters = raw if isinstance(raw, (list, tuple)) else re.split(r"[,\s;/]+", str(raw))
    return [finding_of(str(x).strip().lower()) for x in letters if str(x).strip()]


# ---------------------------------------------------------------------------------------------------
# Headline, trends, special blocks


def headline_card(ctx: Context, kpi: str) -> dict:
    card: dict[str, Any] = {"id": kpi, "name": ctx.name(kpi), "lines": []}
    for role in ("owned", "benchmark"):
        row, where = headline_row(ctx.rows, kpi, role)
        cell = _cell(ctx, row, kpi) if row else _missing(where or "not in this week's snapshot", ctx.notes)
        card[role] = cell
        card[f"{role}_where"] = where if row else None
    if kpi == "C1":
        row, where = headline_row(ctx.rows, "C6", "owned", any_role=True)
        per_platform = sorted(
            (r for r in ctx.by_kpi.get("C6", []) if r["scope"] == "role" and r["dimension"] is None and r["platform"]),
            key=lambda r: (platform_sort(r["platform"]), r["role"] != "owned"))
        if row is None and per_platform:
            # C6 compares like with like, so it has no cross-platform row: one line per platform.
            seen = set()
            for r in per_platform:
                if r["platform"] not in seen:
                    seen.add(r["platform"])
                    card["lines"].append({"label": f"Gap (C6), {platform_label(r['platform'])}",
                                          "cell": _cell(ctx, r, "C6", with_meta=False), "where": None})
        else:
            card["lines"].append({"label": "Gap (C6)",
                                  "cell": _cell(ctx, row, "C6", with_meta=False) if row else
                                  _missing(where or "not in this week's snapshot", ctx.notes), "where": where if row else None})
    if kpi == "D3":
        row, where = headline_row(ctx.rows, "D3", "public")
        if row is not None:
            card["lines"].append({"label": "Public posts about the city", "cell": _cell(ctx, row, kpi, with_meta=False),
                                  "where": where})
    return card


def page_breaks(ctx: Context) -> list[str]:
    """Each definition change a figure of this page (or its change since the previous week) straddles,
    once, with the KPIs it touches."""
    touched: dict[str, set[str]] = {}
    for row in ctx.rows:
        for change in ctx.breaks_of(row):
            touched.setdefault(change.definition, set()).add(row["kpi_id"])
    return [f"{platform_label(c.platform)} {c.when()}: {c.meaning} Affected here: {', '.join(sorted(touched[c.definition]))}."
            for c in ctx.changes if c.definition in touched]


def story_lines(ctx: Context) -> list[str]:
    """The week in a few plain sentences, from the headline figures: owned against benchmark, then what
    moved most since the previous week. Only figures that exist are told; nothing is guessed."""
    sentences = []
    for kpi in HEADLINE:
        owned, _ = headline_row(ctx.rows, kpi, "owned")
        bench, _ = headline_row(ctx.rows, kpi, "benchmark")
        if owned is None or not has_value(owned):
            continue
        text = f"{ctx.name(kpi)} ({kpi}): owned {fmt_value(owned['value'], owned['unit'], kpi)}"
        if bench is not None and has_value(bench) and bench["unit"] == owned["unit"]:
            text += f", benchmark {fmt_value(bench['value'], bench['unit'], kpi)}"
            better = _better(kpi, owned)
            if better and owned["value"] != bench["value"]:
                ahead = (owned["value"] - bench["value"]) * better > 0
                text += " (owned ahead)" if ahead else " (owned behind)"
        sentences.append(text + ("; few items, read with care" if _is_thin(owned) else "") + ".")
    moved = _largest_move(ctx)
    if moved:
        sentences.append(moved)
    return sentences


def _largest_move(ctx: Context) -> str | None:
    """The owned headline figure that changed most since the previous week, relative to its level."""
    best: tuple[float, str] | None = None
    for kpi in HEADLINE:
        row, _ = headline_row(ctx.rows, kpi, "owned")
        if row is None:
            continue
        prev = ctx.prev.get(row_key(row))
        delta = _delta(row, prev, kpi, ctx.previous)
        if prev is None or delta is None or delta["tone"] == "flat":
            continue
        scale = max(abs(prev["value"]), 1e-9)
        size = abs(row["value"] - prev["value"]) / scale
        verdict = {"good": ", for the better", "bad": ", for the worse"}.get(delta["tone"], "")
        sentence = (f"Biggest change since week {ctx.previous}: {ctx.name(kpi)}, {delta['words']}"
                    f" ({delta['text']}){verdict}.")
        if best is None or size > best[0]:
            best = (size, sentence)
    return best[1] if best else None


def trend_block(ctx: Context, hist_rows: list[dict[str, Any]], kpi: str, title: str) -> dict:
    points, unit = [], None
    by_week: dict[str, list[dict[str, Any]]] = {}
    for r in hist_rows:
        if r["kpi_id"] == kpi and r["week_id"] and r["week_id"] <= ctx.week_id:
            by_week.setdefault(r["week_id"], []).append(r)
    for week in sorted(by_week):
        for role in ("owned", "benchmark"):
            row, _ = headline_row(by_week[week], kpi, role)
            if row is not None and has_value(row):
                unit = unit or row["unit"]
                if row["unit"] == unit:
                    points.append({"week_id": week, "role": ROLES[role], "value": row["value"]})
    name = f"{ctx.name(kpi)} ({kpi})" if ctx.name(kpi) != kpi else f"{title} ({kpi})"
    svg = charts.trend(points, f"trend-{kpi}", name, unit or "ratio") if points else None
    return {"id": kpi, "title": name, "svg": svg,
            "missing": None if svg else "no published week has an owned or benchmark figure across platforms"}


def reading_lines(ctx: Context, kind: str | None) -> list[str]:
    """Plain sentences that read the section's key figure for the team (culture only, for now)."""
    if kind != "themes":
        return []
    out = []
    rows = _role_dim_rows(ctx, "B1")
    culture = next((r["dimension"] for r in rows if norm(r["dimension"]).startswith("culture")), None)
    shares = {r["role"]: r for r in rows if r["dimension"] == culture and r["unit"] == "ratio"}
    if "owned" in shares:
        text = f"Culture and heritage are in {fmt_value(shares['owned']['value'], 'ratio', 'B1')} of owned posts"
        if "benchmark" in shares:
            text += f", against {fmt_value(shares['benchmark']['value'], 'ratio', 'B1')} for the benchmark"
        out.append(text + ".")
    b2, _ = headline_row(ctx.rows, "B2", "owned")
    if b2 is not None and has_value(b2):
        value = b2["value"]
        verdict = ("land better than their share of the feed would predict" if value > 1 else
                   "land worse than their share of the feed would predict" if value < 1 else
                   "land exactly in line with their share of the feed")
        out.append(f"Culture resonance (B2) is {fmt_value(value, b2['unit'] or 'index', 'B2')} for the owned accounts: "
                   f"culture posts {verdict} (above 1 is better).")
    return out


def block_chart(ctx: Context, kpi: str) -> str | None:
    """The chart drawn above a KPI's table, for the KPIs whose breakdown reads better as a picture."""
    if kpi == "B1":
        rows = _role_dim_rows(ctx, "B1")
        culture = next((r["dimension"] for r in rows if norm(r["dimension"]).startswith("culture")), None)
        return _bars(ctx, "B1", "Share of posts per theme", exclude=lambda r: r["unit"] != "ratio",
                     highlight=ctx.dim(culture, "B1") if culture else None)
    if kpi == "B3":
        return _bars(ctx, "B3", "Share of posts per format",
                     exclude=lambda r: r["unit"] != "ratio" or norm(r["dimension"]).startswith(("entropy", "diversity")))
    if kpi == "C3":
        return _reply_buckets(ctx)
    if kpi == "D2":
        return _bars(ctx, "D2", "Share of mentions carrying each label", exclude=lambda r: r["unit"] != "ratio")
    if kpi == "D4":
        return _bars(ctx, "D4", "Share of place mentions per element",
                     exclude=lambda r: r["unit"] != "ratio" or norm(r["dimension"]).startswith("coverage"),
                     reference=0.05, reference_label="5 % counts as covered")
    return None


def _role_dim_rows(ctx: Context, kpi: str) -> list[dict[str, Any]]:
    """Role roll-ups of ``kpi`` with a dimension and a value, across platforms (else the only platform)."""
    rows = [r for r in ctx.by_kpi.get(kpi, []) if r["scope"] == "role" and r["dimension"] is not None and has_value(r)]
    overall = [r for r in rows if r["platform"] is None]
    if overall:
        return overall
    platforms = {r["platform"] for r in rows}
    return rows if len(platforms) == 1 else []


def _bars(ctx: Context, kpi: str, title: str, exclude=lambda r: False, highlight: str | None = None,
          reference: float | None = None, reference_label: str | None = None) -> str | None:
    rows = [r for r in _role_dim_rows(ctx, kpi) if not exclude(r)]
    units = {r["unit"] for r in rows}
    if len(units) != 1:
        rows, units = [r for r in rows if r["unit"] == "ratio"], {"ratio"}
    if not rows:
        return None
    keys = _dimension_sort(kpi, rows)
    order = [ctx.dim(d, kpi) for d in sorted({r["dimension"] for r in rows}, key=lambda d: keys[d])]
    data = [{"category": ctx.dim(r["dimension"], kpi), "role": ROLES.get(r["role"], r["role"]), "value": r["value"]}
            for r in rows]
    return charts.grouped_bars(data, f"bars-{kpi}", f"{title} ({kpi})", units.pop(), order, highlight=highlight,
                               reference=reference, reference_label=reference_label)


BUCKET_COLOURS = ["#15803d", "#65a30d", "#ca8a04", "#ea580c", "#b91c1c", "#7f1d1d", "#6b7280", "#9ca3af"]


def _reply_buckets(ctx: Context) -> str | None:
    rows = [r for r in _role_dim_rows(ctx, "C3") if r["unit"] == "ratio" and r["role"] in ("owned", "benchmark")]
    if not rows:
        return None
    keys = _dimension_sort("C3", rows)
    dims = sorted({r["dimension"] for r in rows}, key=lambda d: keys[d])
    order = [ctx.dim(d, "C3") for d in dims]
    colours = BUCKET_COLOURS[: len(order)]
    if "never" in dims[-1].lower() and len(order) <= 6:
        colours = BUCKET_COLOURS[: len(order) - 1] + ["#7f1d1d"]
    data = [{"role": ROLES[r["role"]], "bucket": ctx.dim(r["dimension"], "C3"), "value": r["value"]} for r in rows]
    return charts.stacked_shares(data, "buckets-C3", "Time to the first reply, share of eligible comments (C3)", order, colours)


def compact_blocks(blocks: list[dict]) -> list[dict]:
    """Merge runs of KPIs that have a single row into one table, so a section reads as a list of figures."""
    out: list[dict] = []
    for b in blocks:
        single = (not b["live_table"] and not b["detail_rows"] and not b["accounts"] and not b["chart"]
                  and (b["missing"] is not None or (len(b["rows"]) == 1 and b["first_col"] == "Platform"
                                                    and not b["dim_label"] and len(b["head"]) == len(b["detail_head"]))))
        if not single:
            out.append(b)
            continue
        if not out or out[-1].get("kind") != "compact":
            out.append({"kind": "compact", "items": []})
        out[-1]["items"].append(b)
    for group in out:
        if group.get("kind") != "compact":
            continue
        roles: list[str] = []
        for b in group["items"]:
            roles += [h for h in b["head"] if h not in roles]
        roles.sort(key=lambda h: role_sort(next((k for k, v in ROLES.items() if v == h), h)))
        group["head"] = roles
        group["rows"] = []
        group["notes"] = []
        for b in group["items"]:
            if b["missing"]:
                cells = None
            else:
                by_role = dict(zip(b["head"], b["rows"][0]["cells"]))
                cells = [by_role.get(h) for h in roles]
                for c in cells:  # the item's footnotes, renumbered in the shared table
                    if c is not None and c.get("fn"):
                        text = b["notes"][c["fn"] - 1]
                        if text not in group["notes"]:
                            group["notes"].append(text)
                        c["fn"] = group["notes"].index(text) + 1
            where = None if b["missing"] else b["rows"][0]["label"]
            group["rows"].append({"id": b["id"], "name": b["name"], "definition": b["definition"], "cells": cells,
                                  "missing": b["missing"], "where": None if where == ALL_PLATFORMS else where})
    return out


# Livestreams (E2): each row's dimension is "<live>:<measure>", with "total" as the live for the week's
# total (transforms/kpis/e_video.py: "total:views", "<post_id>:engagement_per_view" …). A bare measure is
# read as a total; other separators (| @ /) are tolerated.
E2_MEASURES = {
    "lives": "lives", "livestreams": "lives",
    "views": "views",
    "peak": "peak", "peak concurrent": "peak", "peak concurrent viewers": "peak", "peak viewers": "peak",
    "avg concurrent": "avg", "average concurrent": "avg", "avg concurrent viewers": "avg",
    "average concurrent viewers": "avg", "avg viewers": "avg", "average viewers": "avg",
    "watch ratio": "watch", "avg watch ratio": "watch", "watch time ratio": "watch", "avg watch time ratio": "watch",
    "average watch time ratio": "watch",
    "engagement per view": "epv", "engagements per view": "epv",
    "comments per 1000 views": "cpk", "comments per 1k views": "cpk", "comments per thousand views": "cpk",
}
E2_COLUMNS = (
    ("views", "Views"), ("peak", "Peak concurrent viewers"), ("avg", "Average concurrent viewers"),
    ("kept", "Average ÷ peak"), ("watch", "Watch time ÷ duration"), ("epv", "Engagement per view"),
    ("cpk", "Comments per 1,000 views"),
)
_TOTAL = {"", "total", "all", "week", "overall", "sum"}


def _e2_parse(dimension: str | None) -> tuple[str | None, str] | None:
    """(live, or None for a total; measure), or None when the dimension is not understood."""
    if dimension is None:
        return None
    if norm(dimension) in E2_MEASURES:
        return None, E2_MEASURES[norm(dimension)]
    for sep in (":", "|", "@", "/"):
        if sep not in dimension:
            continue
        live, measure = dimension.rsplit(sep, 1)
        if norm(measure) in E2_MEASURES:
            return (None if norm(live) in _TOTAL else live.strip()), E2_MEASURES[norm(measure)]
        measure, live = dimension.split(sep, 1)
        if norm(measure) in E2_MEASURES:
            return (None if norm(live) in _TOTAL else live.strip()), E2_MEASURES[norm(measure)]
    return None


def livestream_table(ctx: Context) -> dict | None:
    """Each live of the week and the totals, against the city pack's reference live when it has one; None
    if E2 is not understood."""
    rows = ctx.by_kpi.get("E2", [])
    groups: dict[tuple, dict[str, dict]] = {}
    unparsed = []
    for r in rows:
        parsed = _e2_parse(r["dimension"])
        if parsed is None:
            unparsed.append(r)
            continue
        live, measure = parsed
        group = (r["scope"], r["role"], r["platform"], r["account_key"], live)
        groups.setdefault(group, {}).setdefault(measure, r)
    if not groups:
        return None

    def lives(group: tuple) -> float | None:
        row = groups[group].get("lives")
        return row["value"] if row is not None and has_value(row) else None

    def views(group: tuple) -> float:
        row = groups[group].get("views")
        return -(row["value"] or 0.0) if row is not None and has_value(row) else 0.0

    role_totals = [g for g in groups if g[0] == "role" and g[4] is None]
    shown = []
    for group in groups:
        scope, role, platform, account, live = group
        if live is not None:
            shown.append(group)  # every live
        elif scope == "role" and platform is None:
            shown.append(group)  # the role's week across platforms
        elif scope == "role":
            active = [g for g in role_totals if g[1] == role and g[2] is not None and (lives(g) or 0) > 0]
            if (lives(group) or 0) > 0 and len(active) > 1:
                shown.append(group)  # per platform, when the role streamed on several
        elif not any(g[1] == role for g in role_totals) and (lives(group) or 0) > 0:
            shown.append(group)  # account totals only when there is no role roll-up
    ordered = sorted(shown, key=lambda g: (role_sort(g[1]), g[4] is not None, g[2] is not None, platform_sort(g[2]),
                                           views(g), g[4] or "", g[3] or ""))
    table = []
    for group in ordered:
        scope, role, platform, account, live = group
        measures = groups[group]
        none_streamed = live is None and lives(group) == 0
        cells = []
        for key, _label in E2_COLUMNS:
            if key == "kept":
                cells.append(None if none_streamed else _kept(measures))
                continue
            row = measures.get(key)
            if none_streamed and key != "lives":
                cells.append(None)
                continue
            cell = _cell(ctx, row, "E2", with_meta=False)
            if row is not None and cell and not cell["na"]:
                cell["text"] = _e2_text(row, key)
                cell["ref"] = _e2_reference(row, key, ctx.live_reference)
            cells.append(cell)
        where = platform_label(platform)
        sub = f"{ROLES.get(role, role or '—')} · {where}" + (f" · {account}" if account and live is not None else "")
        count = lives(group)
        label = live
        if live is None:
            label = ("Week's total: no livestream" if none_streamed else
                     "Week's total" if count is None else f"Week's total: {count:,.0f} {'live' if count == 1 else 'lives'}")
        table.append({"label": label, "sub": sub, "total": live is None, "cells": cells})
    ref = ctx.live_reference
    reference = [
        {"text": f"{ref.views:,.0f}"}, None, None, None, None,
        {"text": f"{ref.engagements_per_view * 100:.2f}{NBSP}%"}, {"text": f"{ref.comments_per_thousand_views:.2f}"},
    ] if ref else None
    against = f", against {ref.intro}" if ref else ""
    return {"first": "Live", "head": [label for _k, label in E2_COLUMNS], "rows": table, "reference": reference,
            "reference_label": ref.label if ref else None,
            "intro": f"Each live of the week, and the week's total{against}. Average ÷ peak is how much of its peak "
                     "audience a live kept on average.",
            "unparsed": kpi_block(ctx, "E2", only=unparsed) if unparsed else None}


def _e2_text(row: dict[str, Any], key: str) -> str:
    value, unit = row["value"], row["unit"]
    if key == "epv" and unit in ("ratio", ""):
        return fmt_value(value, "ratio", "E2", decimals=2)
    if key == "cpk":
        return f"{value:,.2f}"
    if key == "watch" and unit in ("ratio", ""):
        return fmt_value(value, "ratio", "E2", decimals=1)
    if key in ("lives", "views", "peak", "avg") and unit in ("count", ""):
        return f"{value:,.0f}"
    return fmt_value(value, unit or "count", "E2")


def _e2_reference(row: dict[str, Any], key: str, live: LiveReference | None) -> dict | None:
    if live is None or key not in ("epv", "cpk") or (key == "epv" and row["unit"] not in ("ratio", "")):
        return None
    ref = live.engagements_per_view if key == "epv" else live.comments_per_thousand_views
    if math.isclose(row["value"], ref, rel_tol=0.005):
        return {"text": "= ref.", "tone": "flat"}
    above = row["value"] > ref
    return {"text": "above ref." if above else "below ref.", "tone": "good" if above else "bad"}


def _kept(measures: dict[str, dict]) -> dict | None:
    peak, avg = measures.get("peak"), measures.get("avg")
    if not peak or not avg:
        return None
    if not has_value(peak) or not has_value(avg) or not peak["value"]:
        return None
    return {"na": False, "text": fmt_value(avg["value"] / peak["value"], "ratio", "E2", decimals=0),
            "flagged": False, "note": None, "fn": None, "delta": None, "meta": None, "ref": None}


# Multi-language assets (F3): "<asset>:<measure>" rows, one table row per asset.
F3_COLUMNS = (("versions", "Versions"), ("views", "Views"), ("languages", "Languages"), ("countries", "Countries"))


def asset_table(ctx: Context) -> dict | None:
    rows = ctx.by_kpi.get("F3", [])
    groups: dict[tuple, dict[str, dict]] = {}
    unparsed = []
    measures = {k for k, _ in F3_COLUMNS}
    for r in rows:
        dim = r["dimension"] or ""
        asset, _, measure = dim.rpartition(":")
        if not asset or measure not in measures:
            unparsed.append(r)
            continue
        groups.setdefault((r["scope"], r["role"], r["platform"], r["account_key"], asset), {})[measure] = r
    if not groups:
        return None
    if any(g[0] == "role" for g in groups):
        groups = {g: m for g, m in groups.items() if g[0] == "role"}
        unparsed = [r for r in unparsed if r["scope"] == "role"]

    def views(group: tuple) -> float:
        row = groups[group].get("views")
        return -(row["value"] or 0.0) if row is not None and has_value(row) else 0.0

    table = []
    for group in sorted(groups, key=lambda g: (role_sort(g[1]), views(g), g[4], platform_sort(g[2]), g[3] or "")):
        scope, role, platform, account, asset = group
        cells = [_cell(ctx, groups[group].get(key), "F3", with_meta=False) for key, _ in F3_COLUMNS]
        table.append({"label": asset, "sub": f"{ROLES.get(role, role or '—')} · {platform_label(platform)}"
                      + (f" · {account}" if account else ""), "total": False, "cells": cells})
    return {"first": "Asset", "head": [label for _, label in F3_COLUMNS], "rows": table, "reference": None,
            "reference_label": None, "intro": None,
            "unparsed": kpi_block(ctx, "F3", only=unparsed) if unparsed else None}


# ---------------------------------------------------------------------------------------------------
# Data quality, definitions, top posts


WARNING_COLUMNS = ("table", "expectation", "unexpected_count", "message")
INPUT_COLUMNS = ("file_name", "file", "path", "name", "detected_format", "format", "rows", "rows_read",
                 "rows_loaded", "rows_quarantined", "rows_skipped", "rows_duplicate", "file_sha256")
CLASSIFIER_COLUMNS = ("classifier", "class", "precision", "recall", "support")
PUBLIC_CLASSIFIER_COLUMNS = ("classifier", "language", "measure", "figure", "value", "low", "high", "n")
LABELS = {
    "unexpected_count": "Unexpected rows", "file_name": "File", "detected_format": "Format",
    "rows_read": "Rows read", "rows_loaded": "Loaded", "rows_quarantined": "Quarantined",
    "rows_skipped": "Skipped", "rows_duplicate": "Duplicates", "file_sha256": "SHA-256",
}


def _records(items: Any, preferred: tuple[str, ...], percent: tuple[str, ...] = ()) -> dict:
    """A list of dicts as a table: preferred columns first, then any others, each cell a string."""
    items = [i for i in (items or []) if isinstance(i, dict)]
    present = {k for i in items for k in i}
    columns = [c for c in preferred if c in present] + sorted(present - set(preferred))
    rows = []
    for item in items:
        cells = []
        for c in columns:
            value = item.get(c)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            if value is None:
                text = ""
            elif c in percent and numeric:
                text = "" if math.isnan(value) else f"{value * 100:.1f}{NBSP}%"
            elif c == "file_sha256" and isinstance(value, str):
                text = value[:12]
            elif numeric:
                text = minus(f"{value:,}" if isinstance(value, int) or float(value).is_integer() and abs(value) > 1
                              else f"{value:,.3g}")
            else:
                text = str(value)
            cells.append({"text": text, "num": numeric})
        rows.append(cells)
    head = [LABELS.get(c, c.replace("_", " ").capitalize()) for c in columns]
    return {"head": head, "rows": rows, "num": [any(r[i]["num"] for r in rows) for i in range(len(columns))]}


def quality_block(manifest: dict) -> dict:
    inputs = [i for i in (manifest.get("inputs") or []) if isinstance(i, dict)]
    # Only the files with rows dated in the week (manifests before `in_week` list every file loaded).
    shown = [i for i in inputs if i.get("in_week", True)]
    shown.sort(key=lambda i: (str(i.get("detected_format") or ""), str(i.get("file_name") or "")))
    return {
        "warnings": _records(manifest.get("validation_warnings"), WARNING_COLUMNS),
        "validation": _validation_line(manifest.get("validation")),
        "validation_notes": list((manifest.get("validation") or {}).get("notes") or []),
        "inputs": _records([{k: v for k, v in i.items() if k != "in_week"} for i in shown], INPUT_COLUMNS),
        "inputs_shown": len(shown),
        "inputs_total": len(inputs),
        "classifiers": _records(manifest.get("classifier_report"), CLASSIFIER_COLUMNS, percent=("precision", "recall")),
        "classifiers_public": _records(manifest.get("classifier_public"), PUBLIC_CLASSIFIER_COLUMNS),
        "code_version": manifest.get("code_version") or None,
        "lexicon_version": manifest.get("lexicon_version") or None,
    }


def _validation_line(validation: Any) -> str | None:
    """'215 expectations checked, 215 passed' (and the fallbacks), or None for older manifests."""
    if not isinstance(validation, dict) or not validation.get("expectations"):
        return None
    line = f"{validation['expectations']:,} expectations checked, {validation.get('passed', 0):,} passed"
    if validation.get("fallbacks"):
        line += f"; {validation['fallbacks']:,} checked directly in DuckDB (Great Expectations could not run them)"
    return line + "."


def status_block(ctx: Context) -> dict:
    """KPIs whose roll-ups across platforms are not available or provisional, with whom they concern.

    Only the cross-platform role rows count here (the figures a reader compares first); a platform or an
    account that is missing shows in the KPI's own table, with its reason.
    """
    absent: dict[str, list[str]] = {}
    flagged: dict[str, list[str]] = {}
    for r in ctx.rows:
        if r["scope"] != "role" or r["platform"] is not None or r["dimension"] is not None:
            continue
        target = absent if r["status"] == "absent" else flagged if r["status"] != "ok" else None
        role = ROLES.get(r["role"], r["role"] or "—").lower()
        if target is not None and role not in target.setdefault(r["kpi_id"], []):
            target[r["kpi_id"]].append(role)
    missing = [k for k in sorted({*PRESENT, *ctx.catalogue}, key=kpi_sort) if k not in ctx.by_kpi]

    def listing(d: dict[str, list[str]]) -> list[dict]:
        return [{"id": k, "name": ctx.name(k), "roles": sorted(v, key=lambda x: role_sort(x))}
                for k, v in sorted(d.items(), key=lambda i: kpi_sort(i[0]))]

    return {"absent": listing(absent), "flagged": listing(flagged),
            "missing": [{"id": k, "name": ctx.name(k)} for k in missing if k != "C6" or "C1" not in ctx.by_kpi]}


def definitions_block(ctx: Context) -> list[dict]:
    ids = sorted({*ctx.catalogue, *ctx.by_kpi} - {None}, key=kpi_sort)
    out = []
    for kpi in ids:
        entry = ctx.catalogue.get(kpi)
        rows = (entry or {}).get("rows")
        parts = []
        if isinstance(rows, dict):
            for dim, spec in rows.items():
                meaning = spec.get("meaning") if isinstance(spec, dict) else spec
                parts.append({"dim": str(dim), "meaning": str(meaning or "")})
        out.append({
            "id": kpi,
            "name": ctx.name(kpi),
            "rows": parts,
            "absent_when": _catalogue_text(entry, "absent_when"),
            "reference": live_reference_text(ctx.live_reference) if kpi == "E2" and ctx.live_reference else None,
            "definition": _catalogue_text(entry, "definition") or "Not in the KPI catalogue.",
            "unit": _catalogue_text(entry, "unit") or ", ".join(sorted({r["unit"] for r in ctx.by_kpi.get(kpi, []) if r["unit"]})),
            "findings": _findings_of(entry),
        })
    return out


def accounts_of(rows: list[dict[str, Any]], role: str) -> list[str]:
    return sorted({r["account_key"] for r in rows if r["role"] == role and r["account_key"]})


TOP_POSTS = 5
_WEB_LINK = re.compile(r"^https?://[^\s\"'<>`]+$", re.I)


def top_posts_of(posts: pl.DataFrame | None, limit: int = TOP_POSTS) -> list[dict]:
    """The week's most engaging owned and benchmark posts (engagements, then views), with their links.

    Public posts are left out: their authors are pseudonymised and their links would name them.
    """
    if posts is None or posts.is_empty() or "role" not in posts.columns:
        return []
    out = []
    for role in ("owned", "benchmark"):
        chosen = (posts.filter(pl.col("role") == role)
                  .sort(["engagements", "views", "platform", "post_id"], descending=[True, True, False, False],
                        nulls_last=True).head(limit))
        for r in chosen.iter_rows(named=True):
            text = (r.get("title") or r.get("text") or "").strip().replace("\n", " ")
            url = r.get("post_url") or ""
            out.append({
                "role": ROLES.get(role, role), "platform": platform_label(r["platform"]), "format": r.get("format") or "—",
                "text": text if len(text) <= 140 else text[:139] + "…",
                "themes": ", ".join(r.get("themes") or []) or "—",
                "engagements": count_text(r.get("engagements")), "views": count_text(r.get("views")),
                "href": url if _WEB_LINK.match(url) else None,
            })
    return out

