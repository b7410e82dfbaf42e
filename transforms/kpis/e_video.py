"""E — video: how much of a video people watch, and the livestream pack (finding c, "monotonous form")."""

from __future__ import annotations

from cityimage.vocabulary import VIDEO_FORMATS
from transforms.kpis.a_performance import _cohort
from transforms.kpis.base import COHORT_MIN_AGE_DAYS, Context, Group, Item, Out, absent, measured, notes_text, ok, plural, ratio


def completion(post: Item) -> float | None:
    """YouTube: average percentage viewed; elsewhere average watch time ÷ duration (either as fallback)."""
    pct, watch, duration = post.get("avg_pct_viewed"), post.get("avg_watch_time_s"), post.get("duration_s")
    by_time = watch / duration if watch is not None and duration else None
    by_pct = pct / 100.0 if pct is not None else None
    if post["platform"] == "youtube":
        return by_pct if by_pct is not None else by_time
    return by_time if by_time is not None else by_pct


def _latest_age(post: Item) -> float | None:
    latest, published = post.get("latest_exported_at"), post.get("published_at")
    if latest is None or published is None:
        return None
    return (latest - published).total_seconds() / 86400.0


def e1_video_completion(ctx: Context, g: Group) -> list[Out]:
    cohort = _cohort(ctx, g, "ratio")
    if isinstance(cohort, Out):
        return [cohort]
    posts, notes, flagged = cohort
    videos = [p for p in posts if p["format_eff"] in VIDEO_FORMATS]
    if not videos:
        return [absent(f"no video or short-video post published in the week by {g.label}", "ratio", n=0, notes=notes)]
    watched = offered = 0.0
    used: list[Item] = []
    for post in videos:
        share, views, duration = completion(post), post.get("views"), post.get("duration_s")
        if share is None or not views or not duration:
            continue
        watched += share * views * duration
        offered += views * duration
        used.append(post)
    left = len(videos) - len(used)
    left_note = f"{plural(left, 'video')} without completion, views or duration excluded" if left else None
    if not used:
        return [absent(f"none of the {plural(len(videos), 'video')} has completion, views and duration in the export", "ratio",
                       n=0, notes=notes)]
    young = [p for p in used if (_latest_age(p) or 0.0) < COHORT_MIN_AGE_DAYS]
    young_note = (f"{len(young)} of {plural(len(used), 'video')} measured at their latest export younger than 7 days"
                  if young else None)
    return [ok(watched / offered, "ratio", num=watched, den=offered, n=len(used),
               notes=[young_note, left_note, *notes],
               flagged=flagged or bool(young))]


# -- E2 --------------------------------------------------------------------------------------------------

LIVE_MEASURES = (
    "views", "peak_concurrent_viewers", "avg_concurrent_viewers", "watch_ratio", "engagement_per_view", "comments_per_1000_views",
)


def _live_rows(live: Item, prefix: str) -> list[Out]:
    """One row per measure of one livestream."""
    views, likes, comments = live.get("views"), live.get("likes"), live.get("comments")
    watch, duration = live.get("avg_watch_time_s"), live.get("duration_s")
    missing = "not in the export for this live"
    rows = []
    rows.append(ok(views, "count", num=views, n=1, dim=f"{prefix}views") if views is not None
                else absent(f"views {missing}", "count", dim=f"{prefix}views"))
    for measure in ("peak_concurrent_viewers", "avg_concurrent_viewers"):
        value = live.get(measure)
        rows.append(ok(value, "count", n=1, dim=f"{prefix}{measure}") if value is not None
                    else absent(f"{measure.replace('_', ' ')} {missing}", "count", dim=f"{prefix}{measure}"))
    if watch is not None and duration:
        rows.append(ratio(watch, duration, "ratio", reason="", n=1, dim=f"{prefix}watch_ratio"))
    else:
        rows.append(absent(f"average watch time or duration {missing}", "ratio", dim=f"{prefix}watch_ratio"))
    if views and likes is not None and comments is not None:
        rows.append(ratio(likes + comments, views, "ratio", reason="", n=1, dim=f"{prefix}engagement_per_view"))
    else:
        rows.append(absent(f"views, likes or comments {missing}", "ratio", dim=f"{prefix}engagement_per_view"))
    if views and comments is not None:
        rows.append(ratio(comments, views, "per_1000", reason="", n=1, scale=1000.0, dim=f"{prefix}comments_per_1000_views"))
    else:
        rows.append(absent(f"views or comments {missing}", "per_1000", dim=f"{prefix}comments_per_1000_views"))
    return rows


def _total_rows(lives: list[Item]) -> list[Out]:
    """The week's lives pooled: sums where a measure adds up, max for the peak, weighted means otherwise."""
    p = "total:"
    rows = [ok(len(lives), "count", num=len(lives), n=len(lives), dim=f"{p}lives")]
    if not lives:
        reason = "no livestream in the week"
        units = {"views": "count", "peak_concurrent_viewers": "count", "avg_concurrent_viewers": "count",
                 "watch_ratio": "ratio", "engagement_per_view": "ratio", "comments_per_1000_views": "per_1000"}
        return rows + [absent(reason, units[m], dim=f"{p}{m}", n=0) for m in LIVE_MEASURES]

    def pooled(need: tuple[str, ...]) -> tuple[list[Item], str | None]:
        have = [lv for lv in lives if all(lv.get(k) is not None for k in need)]
        left = len(lives) - len(have)
        return have, (f"{plural(left, 'live')} without {', '.join(need)} excluded" if left else None)

    have, note = pooled(("views",))
    views = sum(lv["views"] for lv in have)
    rows.append(ok(views, "count", num=views, n=len(have), dim=f"{p}views", notes=[note]) if have
                else absent("no live with views in the export", "count", dim=f"{p}views"))
    have, note = pooled(("peak_concurrent_viewers",))
    rows.append(ok(max(lv["peak_concurrent_viewers"] for lv in have), "count", n=len(have), dim=f"{p}peak_concurrent_viewers",
                   notes=[note]) if have
                else absent("no live with peak concurrent viewers in the export", "count", dim=f"{p}peak_concurrent_viewers"))
    have, note = pooled(("avg_concurrent_viewers", "duration_s"))
    rows.append(ratio(sum(lv["avg_concurrent_viewers"] * lv["duration_s"] for lv in have), sum(lv["duration_s"] for lv in have),
                      "count", reason="no live with average concurrent viewers and duration in the export", n=len(have),
                      dim=f"{p}avg_concurrent_viewers", notes=[note]))
    have, note = pooled(("avg_watch_time_s", "duration_s", "views"))
    rows.append(ratio(sum(lv["avg_watch_time_s"] * lv["views"] for lv in have), sum(lv["duration_s"] * lv["views"] for lv in have),
                      "ratio", reason="no live with average watch time, duration and views in the export", n=len(have),
                      dim=f"{p}watch_ratio", notes=[note]))
    have, note = pooled(("views", "likes", "comments"))
    rows.append(ratio(sum(lv["likes"] + lv["comments"] for lv in have), sum(lv["views"] for lv in have), "ratio",
                      reason="no live with views, likes and comments in the export", n=len(have),
                      dim=f"{p}engagement_per_view", notes=[note]))
    have, note = pooled(("views", "comments"))
    rows.append(ratio(sum(lv["comments"] for lv in have), sum(lv["views"] for lv in have), "per_1000",
                      reason="no live with views and comments in the export", n=len(have), scale=1000.0,
                      dim=f"{p}comments_per_1000_views", notes=[note]))
    return rows


def e2_livestream_pack(ctx: Context, g: Group) -> list[Out]:
    cov = ctx.post_coverage(g)
    if cov.absent:
        return [absent(cov.reason or "no post export", "count", dim="total:lives")]
    lives = [lv for key in cov.accounts for lv in ctx.lives_week.get(key, [])]
    rows = []
    if g.scope == "account":
        for live in sorted(lives, key=lambda lv: lv["post_id"]):
            rows += _live_rows(live, f"{live['post_id']}:")
    rows += _total_rows(lives)
    for row in rows:
        row.note = notes_text([row.note, *cov.notes])
        if cov.flagged and row.status == "ok":
            row.status = "flagged"
    return rows


KPIS = [
    ("E1", e1_video_completion, measured()),
    ("E2", e2_livestream_pack, measured()),
]
