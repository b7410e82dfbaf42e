"""D — the received image: what the public says about the city, and how the city's commenters feel."""

from __future__ import annotations

from cityimage.vocabulary import SENTIMENTS
from transforms.kpis import error
from transforms.kpis.a_performance import _cohort
from transforms.kpis.b_content import categories
from transforms.kpis.base import (
    Context,
    Group,
    Item,
    Out,
    absent,
    measured,
    ok,
    plural,
    public_groups,
    ratio,
    text_list,
    with_bounds,
)

RATED = tuple(s for s in SENTIMENTS if s != "not_rated")
LYNCH_MIN_SHARE = 0.05
LYNCH_PLURAL = {"path": "paths", "edge": "edges", "district": "districts", "node": "nodes", "landmark": "landmarks"}
"""The gazetteer names the elements in the plural; a singular spelling counts the same."""


def _not_spam(items: list[Item]) -> list[Item]:
    """Items not classified as spam (an unclassified item counts as not spam)."""
    return [i for i in items if i.get("is_spam") is not True]


def _public_coverage(ctx: Context, g: Group) -> str | None:
    """Why the public's posts cannot be counted for the group, or None when they can."""
    if g.platform is None and not ctx.mention_platforms:
        return "no export of public posts on any platform (search results or API dumps)"
    if g.platform is not None and g.platform not in ctx.mention_platforms:
        return f"no export of public posts on {g.platform} (search results or API dumps)"
    return None


def d1_mentions(ctx: Context, g: Group) -> list[Out]:
    reason = _public_coverage(ctx, g)
    if reason:
        return [absent(reason, "count")]
    mentions = ctx.week_mentions(g.platform)
    spam = len(mentions) - len(_not_spam(mentions))
    note = f"{plural(spam, 'mention')} classified as spam included" if spam else None
    return [ok(len(mentions), "count", num=len(mentions), n=len(mentions), notes=[note])]


def d2_label_share(ctx: Context, g: Group) -> list[Out]:
    reason = _public_coverage(ctx, g)
    if reason:
        return [absent(reason, "ratio")]
    mentions = _not_spam(ctx.week_mentions(g.platform))
    if not mentions:
        return [absent("no public post mentioning the city in the week", "ratio", n=0)]
    counts: dict[str, int] = {}
    for mention in mentions:
        for label in sorted(set(text_list(mention.get("labels")))):
            counts[label] = counts.get(label, 0) + 1
    if not counts:
        return [absent(f"none of the {plural(len(mentions), 'mention')} carries a city label", "ratio", n=len(mentions))]
    rows = []
    for label, count in sorted(counts.items()):
        rank = 1 + sum(1 for other in counts.values() if other > count)
        rows.append(ratio(count, len(mentions), "ratio", reason="", n=len(mentions), dim=label))
        rows.append(ok(rank, "rank", n=count, dim=f"rank:{label}", notes=[f"{plural(count, 'mention')} with the label"]))
    return rows


def _sentiment_rows(ctx: Context, items: list[Item], what: str, where: str) -> list[Out]:
    if not items:
        reason = f"no non-spam {what} {where}"
        return [absent(reason, "score", n=0), absent(reason, "ratio", dim="not_rated_share", n=0)]
    sentiments = [str(i.get("sentiment") or "").strip().lower() for i in items]
    pos, neu, neg = (sentiments.count(s) for s in RATED)
    rated = pos + neu + neg
    by_language: dict[str, dict[str, int]] = {}
    for item, sentiment in zip(items, sentiments):
        if sentiment in RATED:
            counts = by_language.setdefault(str(item.get("language") or "und"), {})
            counts[sentiment] = counts.get(sentiment, 0) + 1
    bounds = error.net_sentiment_bounds(ctx.quality, by_language)
    coverage = None
    if bounds is not None and bounds[2] < rated:
        coverage = (f"the interval covers classifier error for {bounds[2]} of the {rated} rated {what}s "
                    "(languages with a model measured on public data)")
    net = ratio(pos - neg, rated, "score", reason=f"none of the {plural(len(items), what)} could be rated (language not covered)",
                n=rated, scale=100.0, notes=[f"{pos} positive, {neu} neutral, {neg} negative", coverage])
    rows = [with_bounds(net, bounds[:2] if bounds else None)]
    rows.append(ratio(len(items) - rated, len(items), "ratio", reason="", n=len(items), dim="not_rated_share"))
    return rows


def d3_net_sentiment(ctx: Context, g: Group) -> list[Out]:
    if g.role == "public":
        reason = _public_coverage(ctx, g)
        if reason:
            return [absent(reason, "score"), absent(reason, "ratio", dim="not_rated_share")]
        return _sentiment_rows(ctx, _not_spam(ctx.week_mentions(g.platform)), "mention", "by the public in the week")
    if not g.accounts:
        reason = f"no {g.role} account registered" + (f" on {g.platform}" if g.platform else "")
        return [absent(reason, "score"), absent(reason, "ratio", dim="not_rated_share")]
    return _sentiment_rows(ctx, _not_spam(ctx.week_comments(g.accounts)), "comment", f"written in the week under the posts of {g.label}")


def _lynch_rows(ctx: Context, items: list[Item], what: str, notes: list[str], flagged: bool) -> list[Out]:
    elements = categories(ctx, "D4")
    counts = {e: 0 for e in elements}
    carrying = 0
    for item in items:
        found = [LYNCH_PLURAL.get(e, e) for e in text_list(item.get("lynch_elements"))]
        found = [e for e in found if e in counts]
        carrying += bool(found)
        for element in found:
            counts[element] += 1
    total = sum(counts.values())
    if not total:
        return [absent(f"no place of the gazetteer named in the week's {plural(len(items), what)}", "ratio", n=len(items), notes=notes)]
    strong = sum(1 for c in counts.values() if c / total >= LYNCH_MIN_SHARE)
    rows = [ok(strong / len(elements), "ratio", num=strong, den=len(elements), n=carrying, flagged=flagged,
               notes=[f"{plural(total, 'place mention')} in {carrying} of {plural(len(items), what)}", *notes])]
    rows += [ratio(c, total, "ratio", reason="", n=total, dim=e, notes=notes, flagged=flagged) for e, c in counts.items()]
    return rows


def d4_lynch_coverage(ctx: Context, g: Group) -> list[Out]:
    if g.role == "public":
        reason = _public_coverage(ctx, g)
        if reason:
            return [absent(reason, "ratio")]
        mentions = _not_spam(ctx.week_mentions(g.platform))
        if not mentions:
            return [absent("no public post mentioning the city in the week", "ratio", n=0)]
        return _lynch_rows(ctx, mentions, "mention", [], False)
    cohort = _cohort(ctx, g, "ratio")
    if isinstance(cohort, Out):
        return [cohort]
    posts, notes, flagged = cohort
    return _lynch_rows(ctx, posts, "post", notes, flagged)


def d5_travel_intent(ctx: Context, g: Group) -> list[Out]:
    if not g.accounts:
        reason = f"no {g.role} account registered" + (f" on {g.platform}" if g.platform else "")
        return [absent(reason, "ratio"), absent(reason, "ratio", dim="conversion")]
    comments = _not_spam(ctx.week_comments(g.accounts))
    intent = sum(1 for c in comments if c.get("is_travel_intent") is True)
    positive = sum(1 for c in comments if str(c.get("sentiment") or "").lower() == "positive")
    return [
        ratio(intent, len(comments), "ratio", reason=f"no non-spam comment written in the week under the posts of {g.label}",
              n=len(comments)),
        ratio(intent, positive, "ratio", reason=f"no positive comment written in the week under the posts of {g.label}", n=positive,
              dim="conversion", notes=["intent comments need not be positive, so conversion can exceed 1"] if positive else []),
    ]


def d_groups(roles: tuple[str, ...]):
    """Account and role groups of ``roles`` plus the public's per-platform and all-platform groups."""
    base = measured(roles)

    def build(ctx: Context) -> list[Group]:
        return base(ctx) + public_groups(ctx)

    return build


KPIS = [
    ("D1", d1_mentions, public_groups),
    ("D2", d2_label_share, public_groups),
    ("D3", d3_net_sentiment, d_groups(("owned", "benchmark"))),
    ("D4", d4_lynch_coverage, d_groups(("owned",))),
    ("D5", d5_travel_intent, measured()),
]
