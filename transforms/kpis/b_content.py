"""B — content: themes, culture resonance, format mix and diversity, video lift."""

from __future__ import annotations

import math

from cityimage.vocabulary import IMAGE_FORMATS, LISTS, NO_THEME, THEMES, VIDEO_FORMATS
from transforms.kpis.a_performance import _cohort, reach_rate, reach_rates
from transforms.kpis.base import (
    Context,
    Group,
    Out,
    absent,
    measured,
    median,
    missing_e_note,
    ok,
    plural,
    ratio,
    text_list,
    young_note,
)

CULTURE = "culture"


def categories(ctx: Context, kpi_id: str) -> list[str]:
    """The values a KPI always reports: the vocabulary list its catalogue entry names (themes, formats,
    Lynch elements); the theme KPI adds the one posts without a theme count under."""
    values = list(LISTS[ctx.catalogue[kpi_id]["categories"]])
    return [*values, NO_THEME] if values == list(THEMES) else values


def post_themes(post: dict) -> list[str]:
    """The post's themes; a post with none counts under ``other``."""
    themes = sorted(set(text_list(post.get("themes"))))
    return themes or [NO_THEME]


def b1_theme_share(ctx: Context, g: Group) -> list[Out]:
    cohort = _cohort(ctx, g, "ratio")
    if isinstance(cohort, Out):
        return [cohort]
    posts, notes, flagged = cohort
    counts: dict[str, int] = {theme: 0 for theme in categories(ctx, "B1")}
    for post in posts:
        for theme in post_themes(post):
            counts[theme] = counts.get(theme, 0) + 1
    return [
        ratio(count, len(posts), "ratio", reason="", n=len(posts), dim=theme, notes=notes, flagged=flagged)
        for theme, count in sorted(counts.items())
    ]


def b2_culture_resonance(ctx: Context, g: Group) -> list[Out]:
    cohort = _cohort(ctx, g, "index")
    if isinstance(cohort, Out):
        return [cohort]
    posts, notes, flagged = cohort
    with_e = [p for p in posts if p.get("e7") is not None]
    missing = missing_e_note(len(posts) - len(with_e))
    if not with_e:
        return [absent(f"none of the {plural(len(posts), 'post')} has E", "index", notes=[missing, *notes])]
    culture = [p for p in with_e if CULTURE in post_themes(p)]
    e_all = sum(p["e7"] for p in with_e)
    e_culture = sum(p["e7"] for p in culture)
    young, young_text = young_note(with_e)
    flagged = flagged or young
    shared = [young_text, missing, *notes]
    engagement_share = ratio(e_culture, e_all, "ratio", reason="the week's posts have no engagements", n=len(with_e),
                             dim="engagement_share", notes=shared, flagged=flagged)
    post_share = ratio(len(culture), len(with_e), "ratio", reason="", n=len(with_e), dim="post_share", notes=shared, flagged=flagged)
    if not culture:
        head = absent("no culture post in the week: resonance undefined", "index", n=len(with_e), notes=shared)
    elif not e_all or engagement_share.value is None or post_share.value is None:
        head = absent("the week's posts have no engagements: resonance undefined", "index", n=len(with_e), notes=shared)
    else:
        head = ok(engagement_share.value / post_share.value, "index", num=engagement_share.value, den=post_share.value,
                  n=len(with_e), notes=shared, flagged=flagged)
    return [head, engagement_share, post_share]


def b3_format_mix(ctx: Context, g: Group) -> list[Out]:
    cohort = _cohort(ctx, g, "ratio")
    if isinstance(cohort, Out):
        return [cohort]
    posts, notes, flagged = cohort
    formats = categories(ctx, "B3")
    counts = {fmt: 0 for fmt in formats}
    unknown = 0
    for post in posts:
        if post["format_eff"] in counts:
            counts[post["format_eff"]] += 1
        else:
            unknown += 1
    known = len(posts) - unknown
    unknown_note = f"{plural(unknown, 'post')} of unknown format left out" if unknown else None
    # Shares are of posts whose format is known: an export that does not say (X's analytics export)
    # must not read as a format of its own. The unknown row says how many were left out.
    rows = [
        ratio(c, known, "ratio", reason="no post of a known format", n=known, dim=fmt,
              notes=[unknown_note, *notes], flagged=flagged)
        for fmt, c in counts.items()
    ]
    if unknown:
        rows.append(ratio(unknown, len(posts), "ratio", reason="", n=len(posts), dim="unknown",
                          notes=["format missing from the export or not one of the catalogue's formats", *notes],
                          flagged=flagged))
    if not known:
        rows.append(absent("no post of a known format", "index", dim="entropy", notes=[unknown_note, *notes]))
    else:
        entropy = -sum((c / known) * math.log(c / known) for c in counts.values() if c)
        rows.append(ok(entropy / math.log(len(formats)), "index", n=known, dim="entropy",
                       notes=[unknown_note, *notes],
                       flagged=flagged))
    return rows


def b4_video_lift(ctx: Context, g: Group) -> list[Out]:
    cohort = _cohort(ctx, g, "index")
    if isinstance(cohort, Out):
        return [cohort]
    posts, notes, flagged = cohort
    video = [p for p in posts if p["format_eff"] in VIDEO_FORMATS and reach_rate(p) is not None]
    image = [p for p in posts if p["format_eff"] in IMAGE_FORMATS and reach_rate(p) is not None]
    left_out = sum(1 for p in posts if p["format_eff"] in VIDEO_FORMATS + IMAGE_FORMATS and reach_rate(p) is None)
    left_note = f"{plural(left_out, 'post')} without E or reach measure at 7 days excluded" if left_out else None
    if not video or not image:
        missing = "video, short-video or image" if not video and not image else "video or short-video" if not video else "image"
        return [absent(f"no {missing} post with E and its reach measure at 7 days", "index", notes=[left_note, *notes])]
    v, i = median(reach_rates(video)), median(reach_rates(image))
    young, young_text = young_note(video + image)
    if not i:
        return [absent("median engagement rate of image posts is 0: lift undefined", "index", n=len(video) + len(image),
                       notes=[young_text, left_note, *notes])]
    counts = f"{plural(len(video), 'video post')} against {plural(len(image), 'image post')}"
    return [ok(v / i, "index", num=v, den=i, n=len(video) + len(image), notes=[counts, young_text, left_note, *notes],
               flagged=flagged or young)]


KPIS = [
    ("B1", b1_theme_share, measured()),
    ("B2", b2_culture_resonance, measured()),
    ("B3", b3_format_mix, measured()),
    ("B4", b4_video_lift, measured(("owned",), all_platforms=False)),
]
