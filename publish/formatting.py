"""How the report writes figures and names: numbers with their units, dimension values as words,
platforms and roles, weeks as dates; and how each KPI is presented (its catalogue entry's ``present``).

Pure functions and constants: no HTML, no blocks, no page. ``publish.report`` builds the blocks and
the page from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from cityimage import vocabulary
from transforms.kpis import load_catalogue

MINUS = "\u2212"
NBSP = "\u00a0"

PLATFORMS: dict[str, str] = {
    "facebook": "Facebook",
    "instagram": "Instagram",
    "youtube": "YouTube",
    "x": "X",
    "tiktok": "TikTok",
}
ROLES: dict[str, str] = {"owned": "Owned", "benchmark": "Benchmark", "public": "Public", "media": "Media"}
ALL_PLATFORMS = "All platforms"


@dataclass(frozen=True)
class Present:
    """How a KPI is shown: decimals of its percentages, which way is better, how rows are ordered."""

    decimals: int | None = None      # decimals of a ratio shown as a percentage (None: 1, or 2 below 1 %)
    better: int = 1                  # +1 higher is better, -1 lower is better, 0 neither
    overall: str = "All"             # label of the row without a dimension
    order: tuple[str, ...] = ()      # dimension values in this order (matched on their normalised prefix)
    rank: bool = False               # dimension values sorted by value, largest first
    numbered: bool = False           # and numbered 1, 2, 3 … in the table
    signed: bool = False             # show a + on positive values (differences, net scores)
    gap: str | None = None           # a KPI whose rows give this one's gap column (C1 ← C6)


THEMES = (*vocabulary.THEMES, vocabulary.NO_THEME)
#: The vocabulary lists a catalogue entry's ``present.order`` names as ``@list``.
ORDER_LISTS: dict[str, tuple[str, ...]] = {
    "@themes": THEMES, "@formats": tuple(vocabulary.FORMATS), "@lynch_elements": tuple(vocabulary.LYNCH_ELEMENTS),
}
PRESENT_FIELDS = {"decimals", "better", "overall", "order", "rank", "numbered", "signed", "gap"}


def present_of(entry: dict) -> Present:
    """A KPI's presentation from its catalogue entry (``present``), vocabulary lists expanded."""
    given = {k: v for k, v in entry.get("present", {}).items() if k in PRESENT_FIELDS}
    if "order" in given:
        given["order"] = tuple(v for item in given["order"] for v in ORDER_LISTS.get(item, (item,)))
    return Present(**given)


CATALOGUE = load_catalogue()  # the shipped catalogue: how each KPI is presented and in which section
PRESENT: dict[str, Present] = {kpi_id: present_of(entry) for kpi_id, entry in CATALOGUE.items()}


def fmt_value(value: float, unit: str, kpi: str, decimals: int | None = None) -> str:
    present = PRESENT.get(kpi, Present())
    if unit == "ratio":
        pct = value * 100
        d = decimals if decimals is not None else present.decimals
        if d is None:
            d = 1 if abs(pct) >= 1 or pct == 0 else 2
        text = f"{pct:,.{d}f}{NBSP}%"
    elif unit == "count":
        text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.{decimals or 1}f}"
    elif unit == "hours":
        text = f"{value:,.1f}{NBSP}h"
    elif unit == "pp":
        text = f"{value:+,.1f}{NBSP}pp"
    elif unit == "per_1000":
        text = f"{value:,.2f}"
    elif unit == "rank":
        text = f"#{value:,.0f}"
    elif unit in ("score", "index"):
        d = decimals if decimals is not None else (2 if abs(value) < 10 else 1)
        text = f"{value:{'+' if present.signed else ''},.{d}f}"
    else:
        text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.{decimals or 2}f}"
    return minus(text)


def minus(text: str) -> str:
    return text.replace("-", MINUS)


def decimals_of(text: str) -> int:
    match = re.search(r"\.(\d+)", text)
    return len(match.group(1)) if match else 0


def platform_label(platform: str | None) -> str:
    if platform is None:
        return ALL_PLATFORMS
    return PLATFORMS.get(platform, platform)


def platform_sort(platform: str | None) -> tuple[int, str]:
    order = [None, *PLATFORMS]
    return (order.index(platform) if platform in order else len(order), platform or "")


def role_sort(role: str | None) -> tuple[int, str]:
    order = list(ROLES)
    return (order.index(role) if role in order else len(order), role or "")


def norm(text: str | None) -> str:
    return re.sub(r"[^0-9a-z\u00c0-\uffff]+", " ", (text or "").lower()).strip()


NAMES: dict[str, dict[str, str]] = {
    "B1": {"culture": "Culture & heritage", "food": "Food", "scenery": "Scenery", "economy": "Economy & investment",
           "livelihood": "Livelihood", "infrastructure": "Infrastructure & transport", "events": "Events & festivals",
           "other": "Other"},
    "B2": {"engagement_share": "Culture's share of engagements", "post_share": "Culture's share of the posts with engagements (B1: of all posts)"},
    "B3": {"image": "Image", "carousel": "Carousel", "video": "Video", "short_video": "Short video", "live": "Live",
           "text": "Text or link", "text_link": "Text or link", "entropy": "Diversity (entropy, 0 to 1)",
           "unknown": "Format unknown"},
    "C3": {"0-2h": "0–2 h", "2-8h": "2–8 h", "8-24h": "8–24 h", "over_24h": "Over 24 h", "never": "Never"},
    "D3": {"not_rated_share": "Share not rated (language not covered)"},
    "D5": {"conversion": "Conversion (intent ÷ positive comments)"},
    "F1": {"non_en_zh_share": "Share of posts in neither English nor Chinese"},
    "F4": {"top50_share": "Share of keywords in the top 50"},
    "F5": {"clicks": "Clicks", "impressions": "Impressions"},
}
COUNTRIES = {
    "US": "United States", "GB": "United Kingdom", "CA": "Canada", "AU": "Australia", "NZ": "New Zealand",
    "IE": "Ireland", "IN": "India", "PK": "Pakistan", "BD": "Bangladesh", "LK": "Sri Lanka", "NP": "Nepal",
    "PH": "Philippines", "ID": "Indonesia", "MY": "Malaysia", "SG": "Singapore", "TH": "Thailand", "VN": "Vietnam",
    "KH": "Cambodia", "MM": "Myanmar", "JP": "Japan", "KR": "South Korea", "TW": "Taiwan", "HK": "Hong Kong",
    "MO": "Macao", "CN": "China", "MN": "Mongolia", "KZ": "Kazakhstan", "UZ": "Uzbekistan", "RU": "Russia",
    "BY": "Belarus", "UA": "Ukraine", "DE": "Germany", "FR": "France", "ES": "Spain", "IT": "Italy", "PT": "Portugal",
    "NL": "Netherlands", "BE": "Belgium", "CH": "Switzerland", "AT": "Austria", "PL": "Poland", "CZ": "Czechia",
    "SE": "Sweden", "NO": "Norway", "DK": "Denmark", "FI": "Finland", "GR": "Greece", "TR": "Türkiye", "RO": "Romania",
    "HU": "Hungary", "RS": "Serbia", "IL": "Israel", "AE": "United Arab Emirates", "SA": "Saudi Arabia",
    "QA": "Qatar", "IR": "Iran", "IQ": "Iraq", "EG": "Egypt", "MA": "Morocco", "DZ": "Algeria", "TN": "Tunisia",
    "NG": "Nigeria", "GH": "Ghana", "KE": "Kenya", "ET": "Ethiopia", "TZ": "Tanzania", "ZA": "South Africa",
    "CM": "Cameroon", "CI": "Côte d'Ivoire", "BR": "Brazil", "MX": "Mexico", "AR": "Argentina", "CL": "Chile",
    "CO": "Colombia", "PE": "Peru", "VE": "Venezuela", "EC": "Ecuador",
}
LANGUAGES = {"en": "English", "zh": "Chinese", "ru": "Russian", "fr": "French", "de": "German", "es": "Spanish",
             "ar": "Arabic", "ja": "Japanese", "ko": "Korean", "pt": "Portuguese", "it": "Italian", "th": "Thai",
             "vi": "Vietnamese", "id": "Indonesian", "hi": "Hindi", "tr": "Turkish", "nl": "Dutch", "pl": "Polish"}


def pretty(dimension: str | None, kpi: str, names: Mapping[str, Mapping[str, str]] = NAMES) -> str:
    """A breakdown's name in the report; ``names``: the package's, with a city pack's label names."""
    if dimension is None:
        return PRESENT.get(kpi, Present()).overall
    known = names.get(kpi, {}).get(dimension.strip().lower())
    if known:
        return known
    prefix, _, rest = dimension.partition(":")
    if rest and prefix == "language":
        return f"Posts in {LANGUAGES.get(rest.lower(), rest)}"
    if rest and prefix == "country":
        return COUNTRIES.get(rest.upper(), rest.upper() if len(rest) <= 3 else rest)
    if rest and prefix == "keyword":
        keyword, _, region = rest.partition("@")
        return f"\u201c{keyword}\u201d" + (f" ({region})" if region else "")
    if rest and prefix == "rank":
        return pretty(rest, kpi, names)
    if kpi in ("F3", "F4", "F5"):  # asset keys and search keywords are shown as written
        return dimension
    text = dimension.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text and text[0].isascii() else text


def kpi_sort(kpi: str) -> tuple[str, int, str]:
    match = re.match(r"^([A-Za-z]+)(\d+)", kpi or "")
    return (match.group(1), int(match.group(2)), kpi) if match else (kpi or "", 0, kpi or "")


def count_text(value: Any) -> str:
    return "—" if value is None else f"{value:,.0f}"


def week_dates(week_id: str, short: bool = False) -> str | None:
    try:
        from cityimage.weeks import Week

        week = Week.parse(week_id)
    except (ValueError, ImportError):
        return None
    mon, sun = week.monday, week.sunday
    if short:
        if mon.month == sun.month:
            return f"{mon.day}\u2013{sun.day} {sun:%b} {sun.year}"
        if mon.year == sun.year:
            return f"{mon.day} {mon:%b} \u2013 {sun.day} {sun:%b} {sun.year}"
        return f"{mon.day} {mon:%b} {mon.year} \u2013 {sun.day} {sun:%b} {sun.year}"
    left = f"{mon.day} {mon:%B}" + (f" {mon.year}" if mon.year != sun.year else "")
    if mon.month == sun.month and mon.year == sun.year:
        left = f"{mon.day}"
    return f"Monday {left} to Sunday {sun.day} {sun:%B} {sun.year}"
