"""C — dialogue: does the account answer its commenters (finding b, "one-way voice")?

Every C KPI counts what happened in the week: comments *written* in the week under the account's
posts, by anyone but the account itself, with the reply facts of the latest export.
"""

from __future__ import annotations

from transforms.kpis import error
from transforms.kpis.base import (
    Context, Group, Item, Out, absent, measured, median, ok, plural, ratio, with_bounds,
)

# C3's buckets of first-reply time: (dimension, lower bound inclusive, upper bound exclusive), hours.
REPLY_BUCKETS = (("0-2h", 0.0, 2.0), ("2-8h", 2.0, 8.0), ("8-24h", 8.0, 24.0), ("over_24h", 24.0, float("inf")))


def eligible(comments: list[Item]) -> list[Item]:
    """Top-level comments that are not spam (a comment not classified as spam counts as not spam)."""
    return [c for c in comments if c.get("is_top_level") and c.get("is_spam") is not True]


def _replied(comment: Item) -> bool:
    return comment.get("is_replied_7d") is True


def _open_note(ctx: Context, waiting: list[Item], total: int) -> tuple[bool, str | None]:
    """Comments without a reply whose 7-day window had not closed at the latest export."""
    still_open = [c for c in waiting if ctx.reply_window_open(c)]
    if not still_open:
        return False, None
    return True, (
        f"{len(still_open)} of {plural(total, 'comment')} had no reply yet and were written less than 7 days "
        "before the latest export: a reply may still come"
    )


def reply_rate(ctx: Context, comments: list[Item]) -> tuple[int, int, bool, str | None]:
    """(replied within 7 days, eligible, window still open, note) over eligible comments."""
    items = eligible(comments)
    replied = sum(_replied(c) for c in items)
    flagged, note = _open_note(ctx, [c for c in items if not _replied(c)], len(items))
    return replied, len(items), flagged, note


def _no_comments(g: Group, what: str = "eligible comment") -> str:
    if not g.accounts:
        return f"no {g.role} account registered" + (f" on {g.platform}" if g.platform else "")
    return f"no {what} written in the week under the posts of {g.label} (none exported, or none written)"


def c1_reply_rate(ctx: Context, g: Group) -> list[Out]:
    comments = ctx.week_comments(g.accounts)
    replied, total, flagged, note = reply_rate(ctx, comments)
    out = ratio(replied, total, "ratio", reason=_no_comments(g), n=total, notes=[note], flagged=flagged)
    spam = sum(1 for c in comments if c.get("is_top_level") and c.get("is_spam") is True)
    return [with_bounds(out, error.reply_rate_bounds(ctx.quality, replied, total, spam))]


def c2_question_answer_rate(ctx: Context, g: Group) -> list[Out]:
    questions = [c for c in ctx.week_comments(g.accounts) if c.get("is_question") is True]
    replied, total, flagged, note = reply_rate(ctx, questions)
    return [ratio(replied, total, "ratio", reason=_no_comments(g, "eligible question"), n=total, notes=[note], flagged=flagged)]


def reply_hours(comment: Item) -> float | None:
    hours = comment.get("first_reply_hours")
    if hours is None and comment.get("first_reply_at") is not None and comment.get("created_at") is not None:
        hours = (comment["first_reply_at"] - comment["created_at"]).total_seconds() / 3600.0
    return None if hours is None else max(0.0, float(hours))


def c3_first_reply_time(ctx: Context, g: Group) -> list[Out]:
    items = eligible(ctx.week_comments(g.accounts))
    if not items:
        return [absent(_no_comments(g), "hours")]
    hours = [h for h in (reply_hours(c) for c in items) if h is not None]
    never = [c for c in items if reply_hours(c) is None]
    flagged, note = _open_note(ctx, never, len(items))
    rows = []
    if hours:
        rows.append(ok(median(hours), "hours", n=len(hours), notes=[note], flagged=flagged))
    else:
        rows.append(absent(f"none of the {plural(len(items), 'eligible comment')} got a reply from the account", "hours",
                           n=0, notes=[note]))
    for name, low, high in REPLY_BUCKETS:
        count = sum(1 for h in hours if low <= h < high)
        rows.append(ratio(count, len(items), "ratio", reason="", n=len(items), dim=name))
    rows.append(ratio(len(never), len(items), "ratio", reason="", n=len(items), dim="never", notes=[note], flagged=flagged))
    return rows


def c4_negative_handling(ctx: Context, g: Group) -> list[Out]:
    negative = [c for c in eligible(ctx.week_comments(g.accounts)) if c.get("sentiment") == "negative"]
    handled = sum(1 for c in negative if _replied(c) or c.get("first_reply_at") is not None or c.get("is_hidden") is True)
    if not negative:
        return [absent(_no_comments(g, "negative non-spam comment"), "ratio", n=0)]
    note = "a removed comment is not visible in the exports, so only replies and hiding count as handling"
    flagged, open_note = _open_note(ctx, [c for c in negative if not _replied(c) and c.get("is_hidden") is not True], len(negative))
    return [ratio(handled, len(negative), "ratio", reason="", n=len(negative), notes=[note, open_note], flagged=flagged)]


def c5_spam_exposure(ctx: Context, g: Group) -> list[Out]:
    comments = ctx.week_comments(g.accounts)
    if not comments:
        return [absent(_no_comments(g, "comment"), "ratio", n=0)]
    visible = sum(1 for c in comments if c.get("is_spam") is True and c.get("is_hidden") is not True)
    note = (
        "approximation: a spam comment counts as still visible at 72 h when the latest export does not mark it hidden "
        "(the exports give the hidden state, not when it changed; an export without a hidden flag counts as visible)"
    )
    out = ratio(visible, len(comments), "ratio", reason="", n=len(comments), notes=[note])
    return [with_bounds(out, error.spam_share_bounds(ctx.quality, visible, len(comments)))]


def c6_reply_gap(ctx: Context, g: Group) -> list[Out]:
    """C1 of the owned accounts minus C1 of the benchmark accounts on the same platform, in points."""
    sides = {}
    for role in ("owned", "benchmark"):
        accounts = ctx.accounts_of(role, g.platform)
        replied, total, flagged, _ = reply_rate(ctx, ctx.week_comments(accounts))
        sides[role] = (replied, total, flagged, accounts)
    reasons = [
        _no_comments(Group("role", role, g.platform, None, accounts))
        for role, (_, total, _, accounts) in sides.items() if not total
    ]
    n = sides["owned"][1] + sides["benchmark"][1]
    if reasons:
        return [absent("; ".join(reasons), "pp", n=n)]
    (ro, to, fo, _), (rb, tb, fb, _) = sides["owned"], sides["benchmark"]
    owned, bench = ro / to, rb / tb
    note = f"owned {100 * owned:.1f} % ({ro}/{to}) − benchmark {100 * bench:.1f} % ({rb}/{tb})"
    flag_note = "a reply window was still open on one side (see C1)" if fo or fb else None
    return [ok(100 * (owned - bench), "pp", n=n, notes=[note, flag_note], flagged=fo or fb)]


def c6_groups(ctx: Context) -> list[Group]:
    """C6 is a role row of the owned side, one per platform where either side has an account."""
    platforms = sorted(set(ctx.platforms_of("owned")) | set(ctx.platforms_of("benchmark")))
    return [Group("role", "owned", p, None, ctx.accounts_of("owned", p)) for p in platforms]


KPIS = [
    ("C1", c1_reply_rate, measured()),
    ("C2", c2_question_answer_rate, measured()),
    ("C3", c3_first_reply_time, measured()),
    ("C4", c4_negative_handling, measured()),
    ("C5", c5_spam_exposure, measured()),
    ("C6", c6_reply_gap, c6_groups),
]
