"""The report's charts: Altair (Vega-Lite) specs rendered to inline SVG by vl-convert, offline.

Each function takes plain rows (lists of dicts already cut by the report) and returns an SVG string
ready to be placed in the page, or ``None`` when there is nothing to draw. Rendering happens in
process with vl-convert's bundled Vega: no browser, no CDN, no network (data URLs are refused), and
the same rows give the same bytes.

The SVG is post-processed so several charts can live in one HTML page: the namespace declarations are
dropped (the HTML parser puts ``<svg>`` in the SVG namespace by itself), element ids are prefixed
with the chart's id so clip paths and gradients of one chart never resolve to another's, and a
``role="img"`` with an ``aria-label`` is added for screen readers.
"""

from __future__ import annotations

import html
import re
from typing import Any, Iterable

import altair as alt
import vl_convert as vlc

# Arial and Liberation Sans share their metrics, and vl-convert measures labels with Liberation Sans: the
# labels it lays out fit in the browser whichever of the two (or Helvetica) the reader's machine has.
FONT = "Arial, Helvetica, Liberation Sans, sans-serif"
INK = "#1f2933"
MUTED = "#52606d"
GRID = "#e4e7eb"

# Owned channels in the report's one strong colour, the benchmark in grey, the public in teal:
# the same in every chart and in the headline cards.
ROLE_COLOURS: dict[str, str] = {
    "Owned": "#1d4ed8",
    "Benchmark": "#8a94a3",
    "Public": "#0f766e",
    "Media": "#7c3aed",
}
HIGHLIGHT = "#fdecc8"  # band behind the culture row of the theme chart
REFERENCE = "#b45309"  # reference lines (the paper's figures, thresholds)

CONFIG: dict[str, Any] = {
    "font": FONT,
    "background": "white",
    "view": {"stroke": None},
    "axis": {
        "labelColor": MUTED,
        "titleColor": MUTED,
        "labelFontSize": 12,
        "titleFontSize": 12,
        "titleFontWeight": "normal",
        "gridColor": GRID,
        "domainColor": "#9aa5b1",
        "tickColor": "#9aa5b1",
    },
    "legend": {"labelColor": INK, "labelFontSize": 12, "titleColor": MUTED, "titleFontSize": 12,
               "titleFontWeight": "normal", "orient": "top", "symbolStrokeWidth": 3},
    "title": {"color": INK, "fontSize": 14, "fontWeight": "bold", "anchor": "start", "offset": 10},
}

_ID = re.compile(r'\bid="([^"]+)"')
_XMLNS = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_TAG = re.compile(r"<([A-Za-z][\w:-]*)((?:\s+[\w:-]+\s*=\s*\"[^\"]*\")*)\s*/?>")
_ATTRIBUTE = re.compile(r'([\w:-]+)\s*=\s*"([^"]*)"')
_URL_ATTRIBUTES = {"style", "fill", "stroke", "clip-path", "mask", "filter", "marker-start", "marker-mid", "marker-end", "cursor"}
_ACTIVE_TAGS = {"script", "foreignobject", "iframe", "object", "embed", "image", "use", "a", "style", "animate", "set"}


def role_colour_scale(roles: Iterable[str]) -> alt.Scale:
    domain = [r for r in ROLE_COLOURS if r in set(roles)]
    domain += sorted(set(roles) - set(domain))
    return alt.Scale(domain=domain, range=[ROLE_COLOURS.get(r, "#334e68") for r in domain])


def to_svg(chart: alt.TopLevelMixin, chart_id: str, label: str) -> str:
    """Render ``chart`` to an SVG string safe to inline in the report page."""
    spec = chart.to_dict()
    spec.pop("$schema", None)
    svg = vlc.vegalite_to_svg(spec, allowed_base_urls=[])
    return _inline(svg, chart_id, label)


def _inline(svg: str, chart_id: str, label: str) -> str:
    problem = _active_content(svg)
    if problem:
        raise ValueError(f"chart {chart_id}: the SVG contains {problem}, refusing to inline it")
    slug = re.sub(r"[^a-z0-9-]", "-", chart_id.lower())
    # vl-convert numbers clip paths with a counter that lives as long as the process: renumber them in
    # order of appearance so the same chart gives the same bytes whatever was rendered before it.
    renamed: dict[str, str] = {}
    for old in _ID.findall(svg):
        renamed.setdefault(old, f"{slug}-{len(renamed) + 1}")

    def swap(match: re.Match) -> str:
        prefix, old, suffix = match.group(1), match.group(2), match.group(3)
        return f"{prefix}{renamed.get(old, old)}{suffix}"

    svg = re.sub(r'(\bid=")([^"]+)(")', swap, svg)
    svg = re.sub(r"(url\(#)([^)]+)(\))", swap, svg)
    svg = re.sub(r'(href="#)([^"]+)(")', swap, svg)
    svg = _XMLNS.sub("", svg, count=2)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label, quote=True)}" ', 1)
    return svg


def trend(rows: list[dict[str, Any]], chart_id: str, title: str, unit: str) -> str | None:
    """Lines over weeks, one per role. Rows: week_id, role, value."""
    rows = [r for r in rows if r.get("value") is not None]
    if not rows:
        return None
    weeks = sorted({r["week_id"] for r in rows})
    roles = sorted({r["role"] for r in rows}, key=_role_order)
    axis = _value_axis(unit)
    base = alt.Chart(alt.Data(values=rows), title=title)
    line = base.mark_line(point=alt.OverlayMarkDef(size=55, filled=True), strokeWidth=2.5).encode(
        x=alt.X("week_id:O", sort=weeks, title=None, axis=alt.Axis(labelAngle=0, labelOverlap="greedy")),
        y=alt.Y("value:Q", axis=axis, scale=alt.Scale(zero=unit != "hours")),
        color=alt.Color("role:N", scale=role_colour_scale(roles), title=None, sort=roles),
    )
    chart = line.properties(width=300, height=170).configure(**CONFIG)
    return to_svg(chart, chart_id, f"{title}: {', '.join(roles)} by week")


def grouped_bars(
    rows: list[dict[str, Any]], chart_id: str, title: str, unit: str, order: list[str],
    highlight: str | None = None, reference: float | None = None, reference_label: str | None = None,
) -> str | None:
    """Horizontal bars per category, one bar per role. Rows: category, role, value.

    ``highlight`` puts a tinted band behind one category (the culture row of the theme mix);
    ``reference`` draws a vertical rule (a threshold such as Lynch's 5 %).
    """
    rows = [r for r in rows if r.get("value") is not None]
    if not rows:
        return None
    roles = sorted({r["role"] for r in rows}, key=_role_order)
    data = alt.Data(values=rows)
    height_per = 16 * max(1, len(roles)) + 10
    y = alt.Y("category:N", sort=order, title=None, axis=alt.Axis(labelLimit=170, labelFontSize=12, ticks=False))
    bars = alt.Chart(data).mark_bar(cornerRadiusEnd=2, height={"band": 0.85}).encode(
        y=y,
        yOffset=alt.YOffset("role:N", sort=roles),
        x=alt.X("value:Q", axis=_value_axis(unit), title=None),
        color=alt.Color("role:N", scale=role_colour_scale(roles), title=None, sort=roles),
    )
    text = alt.Chart(data).mark_text(align="left", dx=4, fontSize=11, color=INK).encode(
        y=y, yOffset=alt.YOffset("role:N", sort=roles), x="value:Q",
        text=alt.Text("value:Q", format=_d3_format(unit)),
    )
    layers: list[alt.Chart] = []
    if highlight is not None and highlight in {r["category"] for r in rows}:
        band = alt.Chart(alt.Data(values=[{"category": highlight}])).mark_rect(color=HIGHLIGHT).encode(y=y)
        layers.append(band)
    layers += [bars, text]
    if reference is not None:
        rule = alt.Chart(alt.Data(values=[{"ref": reference, "label": reference_label or ""}]))
        layers.append(rule.mark_rule(color=REFERENCE, strokeDash=[4, 3], strokeWidth=1.5).encode(x="ref:Q"))
        if reference_label:
            layers.append(rule.mark_text(color=REFERENCE, align="left", dx=3, dy=-4, baseline="bottom", fontSize=11)
                          .encode(x="ref:Q", y=alt.value(0), text="label:N"))
    categories = len({r["category"] for r in rows})
    chart = alt.layer(*layers, title=title).properties(width=330, height=height_per * categories)
    return to_svg(chart.configure(**CONFIG), chart_id, f"{title}, by category and role")


def stacked_shares(
    rows: list[dict[str, Any]], chart_id: str, title: str, order: list[str], colours: list[str]
) -> str | None:
    """One 100 % bar per role, split into ordered buckets. Rows: role, bucket, value (shares)."""
    rows = [r for r in rows if r.get("value") is not None]
    if not rows:
        return None
    roles = sorted({r["role"] for r in rows}, key=_role_order)
    for r in rows:
        r["bucket_order"] = order.index(r["bucket"]) if r["bucket"] in order else len(order)
    data = alt.Data(values=rows)
    bars = alt.Chart(data).mark_bar(height={"band": 0.7}).encode(
        y=alt.Y("role:N", sort=roles, title=None, axis=alt.Axis(ticks=False, labelFontSize=12)),
        x=alt.X("value:Q", stack="normalize", axis=alt.Axis(format="~%", tickCount=5), title=None),
        color=alt.Color("bucket:N", sort=order, scale=alt.Scale(domain=order, range=colours[: len(order)]), title=None),
        order=alt.Order("bucket_order:Q"),
    )
    chart = bars.properties(width=380, height=34 * len(roles), title=title)
    return to_svg(chart.configure(**CONFIG), chart_id, f"{title}, share per bucket and role")


def _active_content(svg: str) -> str | None:
    """What in the SVG's markup could run or fetch something (text content is escaped, so only tags count)."""
    checked = {tag.start() for tag in _TAG.finditer(svg)}
    for opening in re.finditer(r"<[A-Za-z]", svg):
        if opening.start() not in checked:
            return f"markup it cannot check at {svg[opening.start():opening.start() + 40]!r}"
    for tag in _TAG.finditer(svg):
        name = tag.group(1).lower()
        if name in _ACTIVE_TAGS:
            return f"a <{name}> element"
        for attribute, value in _ATTRIBUTE.findall(tag.group(2)):
            attribute = attribute.lower()
            if attribute.startswith("on"):
                return f"an {attribute} handler"
            if attribute in ("href", "xlink:href", "src") and not value.startswith("#"):
                return f"a link to {value[:40]!r}"
            if attribute in _URL_ATTRIBUTES and re.search(r"url\(\s*['\"]?\s*(?!#)", value):
                return f"an external url() in {attribute}"
    return None


def _role_order(role: str) -> tuple[int, str]:
    keys = list(ROLE_COLOURS)
    return (keys.index(role) if role in keys else len(keys), role)


def _value_axis(unit: str) -> alt.Axis:
    if unit == "ratio":
        return alt.Axis(format="~%", tickCount=5, title=None)
    if unit == "hours":
        return alt.Axis(format="~s", tickCount=5, title="hours")
    if unit == "pp":
        return alt.Axis(format="~r", tickCount=5, title="percentage points")
    return alt.Axis(format="~s", tickCount=5, title=None)


def _d3_format(unit: str) -> str:
    return {"ratio": ".1%", "hours": ".1f", "pp": "+.1f", "count": ",.0f"}.get(unit, ".2~f")
