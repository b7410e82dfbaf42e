"""A — output and performance: posts, followers, engagement rates, over-performers, engagements gained."""

from __future__ import annotations

import bisect
import math
from datetime import timedelta

from transforms.kpis.base import (
    Context,
    Group,
    Item,
    Out,
    absent,
    measured,
    median,
    missing_e_note,
    ok,
    plural,
    ratio,
    young_note,
)

# A4's denominator per platform: what the platform reports as the audience of a post.
REACH_MEASURE = {"facebook": "reach", "instagram": "reach", "x": "impressions", "youtube": "views", "tiktok": "views"}

A5_HISTORY = 100
"""A5 compares a post with the account's previous 100 posts of the same format …"""
A5_MIN_HISTORY = 10
"""… and only when at least 10 such earlier posts have E at 7 days."""
A5_FACTOR = 1.5
A5_TRIM = 0.25
"""The trimmed mean drops the lowest and highest quarter (floor(n/4) posts each side)."""


def a1_posts(ctx: Context, g: Group) -> list[Out]:
    cov = ctx.post_coverage(g)
    if cov.absent:
        return [absent(cov.reason or "no post export", "count")]
    count = len(ctx.week_posts(cov.accounts))
    return [ok(count, "count", num=count, n=count, notes=cov.notes, flagged=cov.flagged)]


# -- A2 ---------------------------------------------------------------------------------------------


def _follower_change(ctx: Context, key: str) -> tuple[int, int, bool, str | None] | str:
    """(start, end, flagged, note) for one account, or the reason it cannot be measured."""
    series = dict(ctx.followers.get(key, []))
    if not series:
        return f"no follower series for {key}"
    before = ctx.monday - timedelta(days=1)
    days = [ctx.monday + timedelta(days=i) for i in range(7)]
    start_day = before if before in series else next((d for d in days if d in series), None)
    end_day = ctx.sunday if ctx.sunday in series else next((d for d in reversed(days) if d in series), None)
    if start_day is None or end_day is None:
        return f"no follower count for {key} in the week"
    if end_day <= start_day:
        return f"followers of {key} known on one day only in the week ({start_day})"
    notes = []
    if start_day != before:
        notes.append(f"{key}: start taken from the end of {start_day} (no count for {before})")
    if end_day != ctx.sunday:
        notes.append(f"{key}: end taken from the end of {end_day} (no count for {ctx.sunday})")
    if series[start_day] <= 0:
        return f"{key} had no followers at the week's start: growth undefined"
    return series[start_day], series[end_day], bool(notes), "; ".join(notes) or None


def a2_follower_growth(ctx: Context, g: Group) -> list[Out]:
    if not g.accounts:
        return [absent(f"no {g.role} account registered" + (f" on {g.platform}" if g.platform else ""), "ratio")]
    start = end = used = 0
    notes, reasons, flagged = [], [], False
    for key in g.accounts:
        change = _follower_change(ctx, key)
        if isinstance(change, str):
            reasons.append(change)
            continue
        s, e, f, note = change
        start, end, used, flagged = start + s, end + e, used + 1, flagged or f
        notes.append(note)
    if not used:
        return [absent("; ".join(reasons), "ratio")]
    return [ratio(end - start, start, "ratio", reason="no followers at the week's start", n=used,
                  notes=[*reasons, *notes], flagged=flagged)]


# -- cohort helpers ------------------------------------------------------------------------------------


def _cohort(ctx: Context, g: Group, unit: str) -> tuple[list[Item], list[str], bool] | Out:
    """The week's posts of the group's covered accounts, or an absent row."""
    cov = ctx.post_coverage(g)
    if cov.absent:
        return absent(cov.reason or "no post export", unit)
    posts = ctx.week_posts(cov.accounts)
    if not posts:
        return absent(f"no posts published in the week by {g.label}", unit, n=0, notes=cov.notes)
    return posts, cov.notes, cov.flagged


def reach_rate(post: Item) -> float | None:
    """E at 7 days ÷ the platform's audience measure at 7 days; None when either is missing or 0."""
    measure = REACH_MEASURE.get(post["platform"])
    base = post.get(f"{measure}7") if measure else None
    if post.get("e7") is None or not base:
        return None
    return post["e7"] / base


def reach_rates(posts: list[Item]) -> list[float]:
    """The posts' reach rates (``reach_rate``), leaving out the posts without one."""
    return [rate for post in posts if (rate := reach_rate(post)) is not None]


def a3_engagement_by_followers(ctx: Context, g: Group) -> list[Out]:
    cohort = _cohort(ctx, g, "ratio")
    if isinstance(cohort, Out):
        return [cohort]
    posts, notes, flagged = cohort
    with_e = [p for p in posts if p.get("e7") is not None]
    rates, used, no_followers = [], [], set()
    for post in with_e:
        followers = ctx.followers_at(post["account_key"], ctx.local_day(post["published_at"])) if post.get("published_at") else None
        if not followers:
            no_followers.add(post["account_key"])
            continue
        rates.append(post["e7"] / followers)
        used.append(post)
    missing = [missing_e_note(len(posts) - len(with_e))]
    if not with_e:
        return [absent(f"none of the {plural(len(posts), 'post')} has E", "ratio", notes=[*missing, *notes])]
    lacking = [f"no follower series for {key} on or before its posting days" for key in sorted(no_followers)]
    if not rates:
        return [absent("; ".join(lacking), "ratio", notes=[*missing, *notes])]
    young, young_text = young_note(used)
    excluded = len(with_e) - len(used)
    lacking_note = f"{plural(excluded, 'post')} excluded: " + "; ".join(lacking) if excluded else None
    return [ok(median(rates), "ratio", n=len(rates), notes=[young_text, *missing, lacking_note, *notes], flagged=flagged or young)]


def a4_engagement_by_reach(ctx: Context, g: Group) -> list[Out]:
    cohort = _cohort(ctx, g, "ratio")
    if isinstance(cohort, Out):
        return [cohort]
    posts, notes, flagged = cohort
    with_e = [p for p in posts if p.get("e7") is not None]
    used = [p for p in with_e if reach_rate(p) is not None]
    missing = missing_e_note(len(posts) - len(with_e))
    no_base = len(with_e) - len(used)
    base_note = (
        f"{plural(no_base, 'post')} without reach (Facebook, Instagram), impressions (X) or views (YouTube, TikTok) excluded"
        if no_base else None
    )
    if not used:
        return [absent("no post has both E and its reach measure at 7 days", "ratio", notes=[missing, base_note, *notes])]
    young, young_text = young_note(used)
    return [ok(median(reach_rates(used)), "ratio", n=len(used),
               notes=[young_text, missing, base_note, *notes], flagged=flagged or young)]


# -- A5 -------------------------------------------------------------------------------------------------


def trimmed_mean(values: list[float]) -> float:
    """Mean of the middle of the sorted values, floor(n/4) dropped at each end (the middle 50 %)."""
    ordered = sorted(values)
    cut = math.floor(len(ordered) * A5_TRIM)
    middle = ordered[cut: len(ordered) - cut]
    return sum(middle) / len(middle)


def a5_threshold(ctx: Context, post: Item) -> float | None:
    """1.5 × trimmed mean of E at 7 days over the account's previous 100 posts of the same format."""
    if post.get("published_at") is None:
        return None
    history = ctx.e7_history.get((post["account_key"], post["format_eff"]))
    if history is None:
        return None
    before = bisect.bisect_left(history.published_at, post["published_at"])
    earlier = history.e7[max(0, before - A5_HISTORY):before]
    if len(earlier) < A5_MIN_HISTORY:
        return None
    return A5_FACTOR * trimmed_mean([float(e) for e in earlier])


def a5_over_performing(ctx: Context, g: Group) -> list[Out]:
    cohort = _cohort(ctx, g, "ratio")
    if isinstance(cohort, Out):
        return [cohort]
    posts, notes, flagged = cohort
    with_e = [p for p in posts if p.get("e7") is not None]
    assessed, over = [], 0
    for post in with_e:
        threshold = a5_threshold(ctx, post)
        if threshold is None:
            continue
        assessed.append(post)
        over += post["e7"] >= threshold
    missing = missing_e_note(len(posts) - len(with_e))
    short = len(with_e) - len(assessed)
    short_note = (
        f"{plural(short, 'post')} with fewer than {A5_MIN_HISTORY} earlier posts of the same format with E at 7 days excluded"
        if short else None
    )
    if not assessed:
        return [absent(f"no post of the week has {A5_MIN_HISTORY} earlier posts of its format with E at 7 days",
                       "ratio", notes=[missing, short_note, *notes])]
    young, young_text = young_note(assessed)
    return [ratio(over, len(assessed), "ratio", reason="", n=len(assessed),
                  notes=[young_text, missing, short_note, *notes], flagged=flagged or young)]


# -- A6 -------------------------------------------------------------------------------------------------


def _engagements_gained(ctx: Context, key: str) -> tuple[int, int, list[str]] | str:
    """(E gained, posts contributing, notes) from consecutive exports whose later export is in the week."""
    gained, contributing, missing, no_base, exports = 0, set(), 0, 0, 0
    for post in ctx.posts_exported.get(key, []):
        snaps = ctx.snapshots.get((post["platform"], post["post_id"]), [])
        for index, snap in enumerate(snaps):
            if not (ctx.start <= snap["exported_at"] < ctx.end):
                continue
            exports += 1
            current = snap.get("engagements")
            if index == 0:
                published = post.get("published_at")
                if published is None or published < ctx.start:
                    no_base += 1  # first seen in the week but published before it: growth before the week unknown
                    continue
                previous: int | None = 0  # published in the week: E grew from 0
            else:
                previous = snaps[index - 1].get("engagements")
            if current is None or previous is None:
                missing += 1
                continue
            gained += current - previous
            contributing.add(post["post_id"])
    if not exports:
        return f"no export of {key}'s posts was taken in the week"
    notes = []
    if missing:
        notes.append(f"{key}: {plural(missing, 'export step')} without E on one side excluded")
    if no_base:
        notes.append(f"{key}: {plural(no_base, 'post')} first exported in the week but published before it excluded (no earlier export)")
    return gained, len(contributing), notes


def a6_engagements_gained(ctx: Context, g: Group) -> list[Out]:
    if not g.accounts:
        return [absent(f"no {g.role} account registered" + (f" on {g.platform}" if g.platform else ""), "count")]
    total, posts, used, notes, reasons = 0, 0, 0, [], []
    for key in g.accounts:
        result = _engagements_gained(ctx, key)
        if isinstance(result, str):
            reasons.append(result)
            continue
        total, posts, used = total + result[0], posts + result[1], used + 1
        notes += result[2]
    if not used:
        return [absent("; ".join(reasons), "count")]
    return [ok(total, "count", num=total, n=posts, notes=[*reasons, *notes])]


KPIS = [
    ("A1", a1_posts, measured()),
    ("A2", a2_follower_growth, measured()),
    ("A3", a3_engagement_by_followers, measured()),
    ("A4", a4_engagement_by_reach, measured(("owned",), all_platforms=False)),
    ("A5", a5_over_performing, measured()),
    ("A6", a6_engagements_gained, measured()),
]
