"""What the sample inbox is known to contain, computed from the simulation (never from its files).

``truth.json`` lets tests and the demo check the pipeline against exact figures: per reported
week, platform and account handle, the posts published, the comments written and how many the
account answered within seven days (so the owned and benchmark reply rates are known), plus the
intended theme of every post, the intended spam flag of every comment, the livestreams' figures,
the public's city labels, the tracked keywords' search positions, the multi-language asset and the
list of files written with their format names.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cityimage.sample.files import EmittedFile
from cityimage.sample.model import Account, Comment, Post, World, split_whole
from cityimage.sample import write_search_console
from cityimage.vocabulary import PLATFORMS

SEVEN_DAYS = timedelta(days=7)
GENERATOR_VERSION = 1


def _iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sorted_counts(counter: Counter) -> dict:
    return {k: counter[k] for k in sorted(counter)}


@dataclass
class SampleTruth:
    """Figures the generator knows about the inbox it wrote; ``truth.json`` holds the same."""

    seed: int
    scale: float
    weeks: list[str]
    history_weeks: list[str]
    timezone: str
    export_timezones: dict[str, str]
    drops: list[dict]
    accounts: dict[str, dict[str, dict[str, dict]]]  # week -> platform -> handle -> figures
    posts: dict[str, dict]  # "platform:post_id" -> intended theme, format, language, …
    comments: dict[str, dict]  # "platform:comment_id" -> intended act, language, spam flag, …
    livestreams: list[dict]
    mentions: dict[str, dict]  # week -> public city mentions on X
    search: dict[str, dict]  # week -> tracked keywords in Search Console
    asset: dict
    files: list[dict]
    generator_version: int = GENERATOR_VERSION
    notes: list[str] = field(default_factory=list)

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    def dumps(self) -> bytes:
        return (json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n").encode("utf-8")

    @classmethod
    def load(cls, path: Path) -> "SampleTruth":
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))

    # -- questions tests ask -----------------------------------------------------------------
    def figures(self, week: str, platform: str, handle: str) -> dict:
        return self.accounts[week][platform][handle]

    def reply_rate(self, week: str, platform: str, handle: str) -> float | None:
        f = self.figures(week, platform, handle)
        return f["replied_within_7d"] / f["eligible_comments"] if f.get("eligible_comments") else None

    def role_totals(self, week: str, role: str, key: str) -> int:
        return sum(f.get(key, 0) for by_handle in self.accounts[week].values() for f in by_handle.values()
                   if f["role"] == role)

    def role_reply_rate(self, week: str, role: str) -> float:
        eligible = self.role_totals(week, role, "eligible_comments")
        return self.role_totals(week, role, "replied_within_7d") / eligible if eligible else 0.0

    def spam_ids(self, platform: str) -> set[str]:
        prefix = platform + ":"
        return {k[len(prefix):] for k, v in self.comments.items() if k.startswith(prefix) and v["spam"]}

    def files_of(self, fmt: str) -> list[dict]:
        return [f for f in self.files if f["format"] == fmt]


# ---------------------------------------------------------------------------------------------


def _reply_delay(comment: Comment) -> timedelta | None:
    reply = comment.account_reply()
    if reply is None or reply.late:
        return None
    delay = reply.created_at - comment.created_at
    return delay if delay <= SEVEN_DAYS else None


def _account_week(world: World, account: Account, week) -> dict:
    start, end = week.bounds_utc(world.zone)
    own = [p for p in world.posts if p.account is account]
    posts = [p for p in own if p.week == week]
    figures: dict = {"role": account.role, "account_id": account.id, "posts_published": len(posts),
                     "posts_by_format": _sorted_counts(Counter(p.format for p in posts)),
                     "posts_by_theme": _sorted_counts(Counter(p.theme for p in posts)),
                     "posts_by_language": _sorted_counts(Counter(p.language for p in posts))}
    e7 = {p.post_id: p.engagements(p.published_at + SEVEN_DAYS) for p in posts}
    culture = [p for p in posts if p.theme == "culture"]
    figures["engagements_7d"] = sum(e7.values())
    figures["culture_posts"] = len(culture)
    figures["culture_engagements_7d"] = sum(e7[p.post_id] for p in culture)
    if culture and figures["engagements_7d"]:
        share = len(culture) / len(posts)
        figures["culture_resonance"] = round(figures["culture_engagements_7d"] / figures["engagements_7d"] / share, 4)
    before, last = week.monday - timedelta(days=1), week.sunday
    figures["followers_start"] = account.followers.get(before)
    figures["followers_end"] = account.followers.get(last)
    figures["followers_gained"] = sum(account.gained.get(week.monday + timedelta(days=i), 0) for i in range(7))
    if account.platform == "tiktok":
        return figures  # TikTok Studio has no comment threads
    written = [c for p in own for c in p.all_comments()
               if start <= c.created_at < end and not c.by_account and not c.removed]
    tops = [c for p in own for c in p.comments if start <= c.created_at < end]
    eligible = [c for c in tops if not c.is_spam and not c.by_account]
    delays = {id(c): _reply_delay(c) for c in eligible}
    replied = [c for c in eligible if delays[id(c)] is not None]
    questions = [c for c in eligible if c.act == "question"]
    negative = [c for c in eligible if c.act == "complaint"]
    spam = [c for c in tops if c.is_spam]
    hours = sorted(delay.total_seconds() / 3600 for delay in delays.values() if delay is not None)
    buckets: Counter[str] = Counter()
    for c in eligible:
        delay = delays[id(c)]
        if delay is None:
            buckets["never"] += 1
        else:
            h = delay.total_seconds() / 3600
            buckets["0-2h" if h < 2 else "2-8h" if h < 8 else "8-24h" if h < 24 else "over_24h"] += 1
    figures.update({
        "comments_written": len(written),
        "top_level_comments": sum(1 for c in tops if not c.removed),
        "eligible_comments": len(eligible),
        "replied_within_7d": len(replied),
        "reply_rate": round(len(replied) / len(eligible), 4) if eligible else None,
        "late_replies": sum(1 for c in eligible if (r := c.account_reply()) is not None and r.late),
        "first_reply_hours_median": round(statistics.median(hours), 3) if hours else None,
        "first_reply_buckets": {k: buckets[k] for k in ("0-2h", "2-8h", "8-24h", "over_24h", "never")},
        "questions": len(questions),
        "questions_answered": sum(1 for c in questions if delays[id(c)] is not None),
        "praise": sum(1 for c in eligible if c.act == "praise"),
        "travel_intent": sum(1 for c in eligible if c.act == "intent"),
        "negative_comments": len(negative),
        "negative_handled": sum(1 for c in negative if delays[id(c)] is not None or c.is_hidden or c.removed),
        "spam_comments": len(spam),
        "spam_hidden_or_removed": sum(1 for c in spam if c.is_hidden or c.removed),
        "spam_visible_72h": sum(1 for c in spam if not (c.is_hidden or c.removed)),
        "eligible_by_language": _sorted_counts(Counter(c.language for c in eligible)),
    })
    if account.platform == "youtube":
        views: Counter = Counter()
        for i in range(7):
            views.update(world.youtube_country_views(account, week.monday + timedelta(days=i)))
        total = sum(views.values())
        figures["youtube_views_in_week"] = total
        figures["countries_over_0_5pct"] = sorted(k for k, v in views.items() if total and v / total >= 0.005)
    return figures


def _post_record(world: World, post: Post) -> dict:
    return {
        "platform": post.platform,
        "account": post.account.handle,
        "role": post.account.role,
        "week": post.week.id,
        "published_at": _iso(post.published_at),
        "theme": post.theme,
        "format": post.format,
        "language": post.language,
        "asset": post.asset,
        "is_live": post.is_live,
        "title": post.title,
        "engagements_7d": post.engagements(post.published_at + SEVEN_DAYS),
        "followers_at_post": world.followers_at(post.account, post.published_at),
    }


def _comment_record(world: World, comment: Comment) -> dict:
    eligible = comment.top_level and not comment.is_spam and not comment.by_account
    record = {
        "post": comment.post.post_id,
        "account": comment.post.account.handle,
        "week": world.week_of(comment.created_at).id,
        "act": comment.act,
        "language": comment.language,
        "spam": comment.is_spam,
        "hidden": comment.is_hidden,
        "removed": comment.removed,
        "top_level": comment.top_level,
        "by_account": comment.by_account,
        "eligible": eligible,
    }
    if eligible:
        record["replied_within_7d"] = _reply_delay(comment) is not None
    return record


def _livestreams(world: World) -> list[dict]:
    out = []
    for post in world.posts:
        if not post.is_live:
            continue
        live = post.live or {}
        record: dict = {
            "platform": post.platform,
            "account": post.account.handle,
            "post_id": post.post_id,
            "week": post.week.id,
            "title": post.title,
            "started_at": _iso(post.published_at),
            "ended_at": _iso(post.extra["live_end"]),
            "duration_s": post.duration_s,
            "views_final": int(post.final["views"]),
            "likes_final": int(post.final.get("likes", post.final.get("reactions", 0))),
            "avg_view_s": round(post.ratios.get("avg_view_s", 0.0), 1),
            "by_drop": {},
        }
        if post.platform == "youtube":
            record["peak_concurrent_viewers"] = live.get("peak_concurrent")
            record["average_concurrent_viewers"] = live.get("avg_concurrent")
        else:
            record["live_video_id"] = post.extra["live_video_id"]
            record["video_id"] = post.extra["video_id"]
        likes_metric = "likes" if post.platform == "youtube" else "reactions"
        for drop in world.drops:
            if post.published_at >= drop.retrieved_at:
                continue
            at = drop.retrieved_at
            views, likes, comments = post.metric("views", at), post.metric(likes_metric, at), post.comment_count(at)
            record["by_drop"][drop.folder] = {
                "views": views, "likes": likes, "comments": comments,
                "engagement_per_view": round((likes + comments) / views, 5) if views else None,
                "comments_per_1000_views": round(1000 * comments / views, 3) if views else None,
            }
        out.append(record)
    return out


def _mentions(world: World) -> dict:
    labels = list(world.content["labels"])
    places = world.content["places"]
    out = {}
    for week in world.reported:
        start, end = week.bounds_utc(world.zone)
        items = [m for m in world.mentions if start <= m.created_at < end]
        public = [m for m in items if not m.is_media]
        counts = Counter(label for m in public for label in m.labels)
        out[week.id] = {
            "public_mentions": len(public),
            "media_mentions": len(items) - len(public),
            "labelled_mentions": sum(1 for m in public if m.labels),
            "labels": {k: counts[k] for k in labels},
            "label_rank": [k for k in sorted(labels, key=lambda k: (-counts[k], labels.index(k))) if counts[k]],
            "languages": _sorted_counts(Counter(m.language for m in public)),
            "places": _sorted_counts(Counter(m.place for m in public)),
            "lynch_elements": _sorted_counts(Counter(places[m.place][2] for m in public)),
            "post_ids": sorted(m.post_id for m in public),
        }
    return out


def _search(world: World) -> dict:
    out = {}
    tracked = [k.keyword for k in world.profile.search_keywords]
    for week in world.reported:
        model = world.search[week.id]
        rows: dict[str, dict | None] = {}
        for keyword in tracked:
            q = model["queries"].get(keyword)
            if q is None:
                rows[keyword] = None
                continue
            rows[keyword] = {"position": round(q["position"], 2), "clicks": q["clicks"],
                             "impressions": q["impressions"],
                             "ctr": round(q["clicks"] / q["impressions"], 4) if q["impressions"] else 0.0}
        positions = [r["position"] for r in rows.values() if r]
        site = write_search_console.totals(world, week.id)
        out[week.id] = {
            "tracked": rows,
            "visibility": round(sum(max(0.0, (51 - p) / 50) for p in positions) / len(tracked), 4),
            "top50_share": round(sum(1 for p in positions if p <= 50) / len(tracked), 4),
            "beyond_50": sorted(k for k, r in rows.items() if r and r["position"] > 50),
            "site_clicks": site["clicks"],
            "site_impressions": site["impressions"],
        }
    return out


def _asset(world: World) -> dict:
    conf = world.content["asset"]
    posts = [p for p in world.posts if p.asset == conf["key"]]
    if not posts:
        return {}
    by_drop = {}
    for drop in world.drops:
        at = drop.retrieved_at
        views = sum(p.metric("views", at) for p in posts if p.published_at < at)
        if views:
            by_drop[drop.folder] = views
    countries: Counter = Counter()
    for post in posts:
        if post.platform == "youtube":
            countries.update(split_whole(int(post.final["views"]), post.extra["countries"]))
    return {
        "key": conf["key"],
        "label": conf["label"],
        "posts": [{"platform": p.platform, "post_id": p.post_id, "language": p.language, "title": p.title}
                  for p in posts],
        "languages": sorted({p.language for p in posts}),
        "views_by_drop": by_drop,
        "youtube_countries": sorted(countries),
        "countries_reached": len(countries),
    }


def build_truth(world: World, files: list[EmittedFile]) -> SampleTruth:
    accounts: dict = {}
    for week in world.weeks:
        per_platform: dict = {}
        for platform in PLATFORMS:
            handles = {a.handle: _account_week(world, a, week) for a in world.accounts if a.platform == platform}
            if handles:
                per_platform[platform] = handles
        accounts[week.id] = per_platform
    posts = {f"{p.platform}:{p.post_id}": _post_record(world, p) for p in world.posts}
    comments = {f"{c.platform}:{c.comment_id}": _comment_record(world, c)
                for p in world.posts for c in p.all_comments()}
    drops = [{"date": d.folder, "week": d.week.id, "window": [d.window_start.isoformat(), d.window_end.isoformat()],
              "cutoff_utc": _iso(d.cutoff), "retrieved_at_utc": _iso(d.retrieved_at)} for d in world.drops]
    return SampleTruth(
        seed=world.seed,
        scale=world.scale,
        weeks=[w.id for w in world.reported],
        history_weeks=[w.id for w in world.history],
        timezone=world.content["timezones"]["reporting"],
        export_timezones={"meta_business_suite": world.content["timezones"]["meta_business_suite"]},
        drops=drops,
        accounts=accounts,
        posts=posts,
        comments=comments,
        livestreams=_livestreams(world),
        mentions=_mentions(world),
        search=_search(world),
        asset=_asset(world),
        files=[f.record() for f in files],
        notes=[
            "Week figures count comments written in the week (reporting time zone) on the account's posts; "
            "eligible = top-level, not spam, not by the account; replied_within_7d = the account replied within "
            "7 days. Replies that count always land before the drop that reports the comment's week.",
            "History weeks are covered by the first drop's 28-day window; mentions and search exist for reported "
            "weeks only.",
            "engagements_7d follows KPIS.md per platform (Facebook reactions+comments+shares, Instagram "
            "likes+comments+saves+shares, YouTube and TikTok likes+comments+shares, X likes+replies+reposts+quotes).",
        ],
    )
