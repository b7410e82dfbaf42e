"""The weekly HTML report and the index across weeks: data in, HTML string out.

``render_week`` reads only what it is given (this week's KPI rows, the KPI rows of every published
week, the KPI catalogue and the week's manifest) and returns one self-contained HTML page: inline CSS,
charts as inline SVG rendered offline by vl-convert (``publish.charts``), no script, no external
resource of any kind, and a Content-Security-Policy that forbids loading any. The same inputs give
byte-identical output: nothing about the moment of rendering is written, every list is sorted on
explicit keys, and the SVG renderer is deterministic.

The page is organised by the study's findings (culture under-told, one-way voice, monotonous formats,
livestreams that lose viewers, the labels foreigners use, reach through languages, search
visibility). Every KPI row of the week is shown somewhere: headline cards and charts pick the
cross-platform roll-ups, and each KPI's table lists all its rows, with per-platform and per-account
rows in a fold-out. A KPI whose status is ``absent`` reads "not available" with its reason, never 0;
a ``flagged`` one carries ⚑ and its note.

This module holds the sections and lays out the page; the blocks are built by ``publish.blocks`` and
numbers, names and dates written by ``publish.formatting``. ``write_report`` is the only function here
that touches the disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from cityimage.atomic import write_bytes_atomic
from cityimage.citypack import LiveReference
from publish.blocks import (
    HEADLINE,
    INLINE_NOTE,
    THIN_N,
    Context,
    Notes,
    accounts_of,
    asset_table,
    block_chart,
    catalogue_of,
    compact_blocks,
    definitions_block,
    finding_of,
    has_value,
    headline_card,
    headline_row,
    kpi_block,
    live_reference_text,
    livestream_table,
    noted_block,
    page_breaks,
    quality_block,
    reading_lines,
    row_key,
    rows_of,
    status_block,
    story_lines,
    top_posts_of,
    trend_block,
    with_series_breaks,
)
from publish.formatting import CATALOGUE, NBSP, ROLES, fmt_value, kpi_sort, week_dates
from readers.definitions import DefinitionChange

TEMPLATES = Path(__file__).resolve().parent / "templates"
TRENDS = (("C1", "Reply rate"), ("A3", "Engagement rate by followers"), ("A2", "Follower growth"))


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    findings: tuple[str, ...]
    intro: str
    extra: str | None = None  # which special block the template adds (charts, livestream table)

    @property
    def kpis(self) -> tuple[str, ...]:
        """The KPIs whose catalogue entry puts them in this section, in their positions."""
        return SECTION_KPIS.get(self.anchor, ())


SECTIONS: tuple[Section, ...] = (
    Section("posting", "Posting and engagement", ("c", "e"),
            "How much the accounts publish, how their audience grows and how much each post engages it."),
    Section("culture", "Culture in the feed", ("a",),
            "The theme mix, with culture highlighted, and how well culture posts land.", "themes"),
    Section("formats", "Formats and video", ("c",),
            "The format mix and its diversity (entropy: 0 = one format only, 1 = all formats equally), and how "
            "much better video does than images.", "formats"),
    Section("conversation", "Conversation: replies and moderation", ("b",),
            "How many comments the accounts answer, and how soon; what the comments ask, praise or complain "
            "about, and how much of it is spam.", "conversation"),
    Section("image", "How the city is seen", ("d", "g", "h"),
            "What overseas users say when they post about the city themselves: the labels they use, the tone, "
            "which of Lynch's five elements (paths, edges, districts, nodes, landmarks) they picture, and whether "
            "a good impression turns into an intent to visit.", "image"),
    Section("livestreams", "Livestreams", ("c",),
            "Each live of the week: its audience, how long it kept it, and how much it engaged.", "livestreams"),
    Section("languages", "Reach through languages", ("e",),
            "How many languages the owned accounts post in, how many countries they reach, and how multi-language "
            "assets do."),
    Section("search", "Search visibility", ("f",),
            "Where the city's site ranks for the tracked queries, and how often it is clicked."),
)
#: The sections a city pack may give context to (``report_context`` in its city.yaml).
SECTION_ANCHORS = tuple(s.anchor for s in SECTIONS)


def _section_intro(section: Section, context: str | None, live: LiveReference | None) -> str:
    """The city's context (a pack's words), then what the section shows; the livestreams name their reference."""
    words = [context, section.intro]
    if section.anchor == "livestreams" and live is not None:
        words.append(f"The reference: {live_reference_text(live)}.")
    return " ".join(w.strip() for w in words if w)


def _section_kpis(catalogue: dict[str, dict]) -> dict[str, tuple[str, ...]]:
    """Section anchor -> its KPIs by position, from the catalogue; an unknown section is an error."""
    placed: dict[str, list[tuple[int, str]]] = {}
    anchors = {s.anchor for s in SECTIONS}
    for kpi_id, entry in catalogue.items():
        section = entry.get("present", {}).get("section")
        if section is None:
            continue
        if section not in anchors:
            raise ValueError(f"kpi_catalogue.yaml: {kpi_id} is placed in section {section!r}, which the report lacks")
        placed.setdefault(section, []).append((entry["present"].get("position", 0), kpi_id))
    return {anchor: tuple(kpi for _, kpi in sorted(kpis)) for anchor, kpis in placed.items()}


SECTION_KPIS = _section_kpis(CATALOGUE)

_SAFE_HREF = re.compile(r"^(?![a-z][a-z0-9+.-]*:)(?!//)[^\s\"'<>`]+$", re.I)


# ---------------------------------------------------------------------------------------------------
# Public API


def render_week(
    week_id: str,
    kpis: pl.DataFrame,
    history: pl.DataFrame,
    catalogue: dict[str, dict],
    manifest: dict,
    city: str,
    published: list[str] | None = None,
    top_posts: pl.DataFrame | None = None,
    kpi_csv: str | None = None,
    definitions: Iterable[DefinitionChange] = (),
    live_reference: LiveReference | None = None,
    city_context: Mapping[str, str] | None = None,
    label_names: Mapping[str, str] | None = None,
) -> str:
    """The week's report as one self-contained HTML page.

    ``published``: every published week, for the links to the previous and next reports;
    ``top_posts``: the week's ``fct_post`` extract, for the most engaging owned and benchmark posts;
    ``kpi_csv``: the file name of the week's KPI table as CSV, linked beside the page;
    ``definitions``: the register of metric definition changes (``readers.definitions``): a figure
    whose row names one in ``series_break``, or whose previous week's row does, is marked as a series
    break with the change told in words; ``live_reference``: the livestream of the city pack that the
    week's lives are compared with (none: the lives stand alone); ``city_context``: the city pack's words
    before a section's own (what the study found there), by section anchor; ``label_names``: the names
    the city pack gives its labels.
    """
    context = dict(city_context or {})
    unknown = sorted(set(context) - set(SECTION_ANCHORS))
    if unknown:
        raise ValueError(f"report_context: unknown section {unknown[0]!r} (known: {', '.join(SECTION_ANCHORS)})")
    catalogue, changes = catalogue_of(catalogue), tuple(definitions)
    now_rows = [r for r in rows_of(with_series_breaks(kpis, catalogue, changes)) if r["week_id"] in (week_id, None)]
    hist_rows = rows_of(with_series_breaks(history, catalogue, changes))
    if now_rows and not any(r["week_id"] == week_id for r in hist_rows):
        hist_rows += [dict(r, week_id=week_id) for r in now_rows]  # a history that stops short of this week
    weeks = sorted({r["week_id"] for r in hist_rows if r["week_id"] and r["week_id"] <= week_id})
    previous = max((w for w in weeks if w < week_id), default=None)
    prev_index = {row_key(r): r for r in hist_rows if r["week_id"] == previous} if previous else {}
    ctx = Context(week_id, previous, now_rows, prev_index, catalogue, changes=changes, live_reference=live_reference,
                  label_names=dict(label_names or {}))

    sections = []
    for section in SECTIONS:
        blocks = []
        for kpi in section.kpis:
            ctx.notes = Notes()
            b = kpi_block(ctx, kpi)
            b["chart"] = block_chart(ctx, kpi)
            if kpi in ("E2", "F3") and not b["missing"]:
                # a fresh set of notes for the table shown; the live grid is wide: all its notes are footnotes
                kept, ctx.notes = ctx.notes, Notes(inline=0 if kpi == "E2" else INLINE_NOTE)
                b["live_table"] = livestream_table(ctx) if kpi == "E2" else asset_table(ctx)
                if b["live_table"] is None:
                    ctx.notes = kept
            b["notes"] = ctx.notes.texts
            blocks.append(b)
        sections.append({
            "anchor": section.anchor,
            "title": section.title,
            "findings": [finding_of(f) for f in section.findings],
            "intro": _section_intro(section, context.get(section.anchor), live_reference),
            "reading": reading_lines(ctx, section.extra),
            "blocks": compact_blocks(blocks),
        })
    known = {k for s in SECTIONS for k in s.kpis} | {"C6"}
    others = sorted({r["kpi_id"] for r in now_rows if r["kpi_id"] and r["kpi_id"] not in known}, key=kpi_sort)
    if others:
        sections.append({"anchor": "other", "title": "Other figures", "findings": [], "reading": [],
                         "intro": "Figures in this week's snapshot that the report has no dedicated place for.",
                         "blocks": compact_blocks([noted_block(ctx, k) for k in others])})

    ctx.notes = Notes()
    headline = [headline_card(ctx, k) for k in HEADLINE]
    headline_notes = ctx.notes.texts
    story = story_lines(ctx)
    manifest = manifest or {}
    page = {
        "city": city,
        "week_id": week_id,
        "dates": week_dates(week_id),
        "previous": previous,
        "weeks_published": len(weeks),
        "headline": headline,
        "headline_notes": headline_notes,
        "story": story,
        "breaks": page_breaks(ctx),
        "benchmark_accounts": accounts_of(now_rows, "benchmark"),
        "owned_accounts": accounts_of(now_rows, "owned"),
        "trends": [trend_block(ctx, hist_rows, k, title) for k, title in TRENDS],
        "trend_weeks": len(weeks),
        "sections": sections,
        "status": status_block(ctx),
        "quality": quality_block(manifest),
        "incomplete": missing_exports_of(manifest),
        "definitions": definitions_block(ctx),
        "neighbours": _neighbours(week_id, published or []),
        "top_posts": top_posts_of(top_posts),
        "kpi_csv": kpi_csv if kpi_csv and _SAFE_HREF.match(kpi_csv) else None,
        "thin_n": THIN_N,
    }
    return _env().get_template("report.html.j2").render(page=page, nav=_nav(sections, bool(page["top_posts"])))


def missing_exports_of(manifest: dict) -> list[str]:
    """The expected exports a published week lacks, from its manifest (empty when complete or not checked)."""
    return [str(line) for line in (manifest.get("completeness") or {}).get("missing") or []]


def render_index(weeks: list[dict], city: str) -> str:
    """Every published week, newest first, with its headline figures and a link to its report.

    Each entry has ``week_id``, ``path`` (relative link to the week's page) and ``headline``: either
    ``{label: text}`` as made by :func:`index_headline`, or ``{role: reply rate}`` (C1 as a ratio);
    optionally ``missing``: the expected exports the week lacks, so it is never shown as a normal week.
    """
    entries = sorted((w for w in weeks if w.get("week_id")), key=lambda w: str(w["week_id"]), reverse=True)
    columns: list[str] = []
    rows: list[dict[str, Any]] = []
    for entry in entries:
        figures = _index_figures(entry)
        for label in figures:
            if label not in columns:
                columns.append(label)
        path = str(entry.get("path") or "")
        rows.append({
            "week_id": str(entry["week_id"]),
            "dates": week_dates(str(entry["week_id"]), short=True),
            "href": path if _SAFE_HREF.match(path) else None,
            "figures": figures,
            "missing": list(entry.get("missing") or []),
        })
    for row in rows:
        row["cells"] = [row["figures"].get(c) for c in columns]
    page = {"city": city, "columns": columns, "rows": rows, "latest": rows[0] if rows else None}
    return _env().get_template("index.html.j2").render(page=page)


def index_headline(kpis: pl.DataFrame) -> dict[str, str]:
    """The figures the index lists for a week, already formatted (``not available`` when absent)."""
    rows = rows_of(kpis)
    figures: dict[str, str] = {}
    for kpi, role, label in (
        ("C1", "owned", "Reply rate, owned"),
        ("C1", "benchmark", "Reply rate, benchmark"),
        ("A3", "owned", "Engagement rate, owned"),
        ("A3", "benchmark", "Engagement rate, benchmark"),
        ("A1", "owned", "Posts, owned"),
        ("A2", "owned", "Follower growth, owned"),
        ("D3", "owned", "Net sentiment, owned"),
    ):
        row, _ = headline_row(rows, kpi, role)
        text = "not available"
        if row is not None and has_value(row):
            text = fmt_value(row["value"], row["unit"], kpi)
            if row["status"] != "ok":
                text += f"{NBSP}⚑"
        figures[label] = text
    return figures


def write_report(path: Path, html: str) -> Path:
    """Write ``html`` to ``path`` in one step (``cityimage.atomic``): a reader never sees half a page."""
    return write_bytes_atomic(Path(path), html.encode("utf-8"))


def _nav(sections: list[dict], top_posts: bool = False) -> list[dict]:
    items = [{"anchor": "headline", "title": "At a glance"}]
    items += [{"anchor": "top-posts", "title": "Top posts"}] if top_posts else []
    items += [{"anchor": "trends", "title": "Trends"}]
    items += [{"anchor": s["anchor"], "title": s["title"]} for s in sections]
    items += [{"anchor": "quality", "title": "Data quality"}, {"anchor": "definitions", "title": "Definitions"}]
    return items


def _neighbours(week_id: str, published: list[str]) -> dict[str, str | None]:
    """The published weeks just before and after this one, for the page's navigation."""
    earlier = [w for w in published if w < week_id]
    later = [w for w in published if w > week_id]
    return {"previous": max(earlier) if earlier else None, "next": min(later) if later else None}


def _index_figures(entry: dict) -> dict[str, str]:
    headline = entry.get("headline") or {}
    figures: dict[str, str] = {}
    if not isinstance(headline, dict):
        return figures
    for label, value in headline.items():
        name = str(label)
        if name in ROLES:
            name = f"Reply rate, {name}"
            text = "not available" if value is None else (
                fmt_value(float(value), "ratio", "C1") if isinstance(value, (int, float)) else str(value))
        elif value is None:
            text = "not available"
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            text = fmt_value(float(value), "", "")
        else:
            text = str(value)
        figures[name] = text
    return figures


# ---------------------------------------------------------------------------------------------------


_ENV: Environment | None = None


def _env() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    return _ENV
