"""YouTube: Data API v3 responses and YouTube Studio advanced-mode exports (as zips)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import datetime, timedelta

from cityimage.sample.encode import clock, csv_text, deterministic_zip, iso_duration, json_google, trim_float
from cityimage.sample.files import Emitter, Member
from cityimage.sample.model import Account, Comment, Drop, Post, World

VIDEOS_PAGE = 50
THREADS_PAGE = 100
CONTENT_HEADER = [
    "Content", "Video title", "Video publish time", "Duration", "Views", "Watch time (hours)", "Subscribers", "Likes",
    "Comments added", "Shares", "Average view duration", "Average percentage viewed (%)", "Impressions",
    "Impressions click-through rate (%)", "Peak concurrent viewers", "Average concurrent viewers",
]
GEO_HEADER = ["Geography", "Views", "Average view duration", "Watch time (hours)"]
# Countries Studio lists with no views in the window (they close the Geography table).
ZERO_COUNTRIES = ["CG", "GL", "GQ", "MC", "SC", "SS", "TL", "VG", "XK"]
_URL = re.compile(r"(https?://\S+|www\.\S+)")


def write(world: World, drop: Drop, out: Emitter) -> None:
    for account in world.accounts:
        if account.platform != "youtube":
            continue
        posts = [p for p in world.posts if p.account is account and drop.covers(p.published_at)]
        posts.sort(key=lambda p: (p.published_at, p.post_id), reverse=True)
        for number, start in enumerate(range(0, max(1, len(posts)), VIDEOS_PAGE), start=1):
            chunk = posts[start:start + VIDEOS_PAGE]
            document = {
                "kind": "youtube#videoListResponse",
                "etag": _etag("videos", account.id, drop.folder, number),
                "items": [_video(world, account, p, drop.retrieved_at) for p in chunk],
                "pageInfo": {"totalResults": len(chunk), "resultsPerPage": len(chunk)},
            }
            out.emit(drop, "youtube", account.handle, f"videos_p{number}.json", json_google(document),
                     "youtube_data_videos", items=len(chunk))
        for post in sorted(posts, key=lambda p: p.post_id):
            for number, document, count in _thread_pages(account, post, drop):
                out.emit(drop, "youtube", account.handle, f"commentThreads_{post.post_id}_p{number}.json",
                         json_google(document), "youtube_data_comment_threads", items=count)
        span = f"{drop.window_start}_{drop.window_end}"
        content = _studio_content(world, drop, account, posts)
        out.emit(drop, "youtube", account.handle, f"Content {span} {account.display_name}.zip",
                 deterministic_zip([(m.name, m.data) for m in content], drop.day), "youtube_studio_zip",
                 members=content)
        geography = _studio_geography(world, drop, account)
        out.emit(drop, "youtube", account.handle, f"Geography {span} {account.display_name}.zip",
                 deterministic_zip([(m.name, m.data) for m in geography], drop.day), "youtube_studio_zip",
                 members=geography)


def _etag(*parts: object) -> str:
    digest = hashlib.sha1("/".join(str(p) for p in parts).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:27]


def _ts(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.000Z")


# -- Data API ---------------------------------------------------------------------------------------


def _video(world: World, account: Account, post: Post, at: datetime) -> dict:
    thumbs = {
        size: {"url": f"https://i.ytimg.com/vi/{post.post_id}/{name}.jpg", "width": w, "height": h}
        for size, name, w, h in (("default", "default", 120, 90), ("medium", "mqdefault", 320, 180),
                                 ("high", "hqdefault", 480, 360))
    }
    tags = ["iChongqing" if account.role == "owned" else "Hangzhou", "China", "travel"]
    if post.asset:
        tags.append(world.content["asset"]["label"])
    snippet = {
        "publishedAt": _ts(post.published_at),
        "channelId": account.id,
        "title": post.title,
        "description": post.text,
        "thumbnails": thumbs,
        "channelTitle": account.display_name,
        "tags": tags,
        "categoryId": "19",
        "liveBroadcastContent": "none",
        "defaultLanguage": post.language,
        "localized": {"title": post.title, "description": post.text},
        "defaultAudioLanguage": post.language,
    }
    item: dict = {
        "kind": "youtube#video",
        "etag": _etag("video", post.post_id, at.isoformat()),
        "id": post.post_id,
        "snippet": snippet,
        "contentDetails": {"duration": iso_duration(post.duration_s), "dimension": "2d", "definition": "hd",
                           "caption": "false", "licensedContent": False, "contentRating": {},
                           "projection": "rectangular"},
        "status": {"uploadStatus": "processed", "privacyStatus": "public", "license": "youtube", "embeddable": True,
                   "publicStatsViewable": True, "madeForKids": False},
        "statistics": {"viewCount": str(post.metric("views", at)), "likeCount": str(post.metric("likes", at)),
                       "favoriteCount": "0", "commentCount": str(post.comment_count(at))},
    }
    if post.is_live:
        item["liveStreamingDetails"] = {
            "actualStartTime": _ts(post.published_at),
            "actualEndTime": _ts(post.extra["live_end"]),
            "scheduledStartTime": _ts(post.published_at - timedelta(minutes=5)),
        }
    return item


def _display(text: str) -> str:
    """textDisplay is HTML: escaped, links as anchors, line breaks as <br>."""
    escaped = html.escape(text, quote=True).replace("&#x27;", "&#39;")
    linked = _URL.sub(lambda m: f'<a href="{m.group(1) if m.group(1).startswith("http") else "http://" + m.group(1)}">'
                      f"{m.group(1)}</a>", escaped)
    return linked.replace("\n", "<br>")


def _comment(account: Account, post: Post, comment: Comment, parent: Comment | None) -> dict:
    author = comment.author
    handle = f"@{author.username}"
    snippet: dict = {
        "channelId": account.id,
        "videoId": post.post_id,
        "textDisplay": _display(comment.text),
        "textOriginal": comment.text,
    }
    if parent is not None:
        snippet["parentId"] = parent.comment_id
    snippet.update({
        "authorDisplayName": handle,
        "authorProfileImageUrl": f"https://yt3.ggpht.com/ytc/{author.id[2:14]}=s48-c-k-c0x00ffffff-no-rj",
        "authorChannelUrl": f"http://www.youtube.com/{handle}",
        "authorChannelId": {"value": author.id},
        "canRate": True,
        "viewerRating": "none",
        "likeCount": comment.like_count,
        "publishedAt": _ts(comment.created_at),
        "updatedAt": _ts(comment.created_at),
    })
    return {"kind": "youtube#comment", "etag": _etag("comment", comment.comment_id), "id": comment.comment_id,
            "snippet": snippet}


def _thread_pages(account: Account, post: Post, drop: Drop):
    at = drop.retrieved_at
    tops = sorted((c for c in post.comments if c.created_at < at and not c.removed),
                  key=lambda c: (c.created_at, c.comment_id), reverse=True)
    chunks = [tops[i:i + THREADS_PAGE] for i in range(0, len(tops), THREADS_PAGE)] or [[]]
    for number, chunk in enumerate(chunks, start=1):
        items, count = [], 0
        for top in chunk:
            replies = [r for r in top.replies if r.created_at < at and not r.removed]
            thread: dict = {
                "kind": "youtube#commentThread",
                "etag": _etag("thread", top.comment_id, at.isoformat()),
                "id": top.comment_id,
                "snippet": {"channelId": account.id, "videoId": post.post_id,
                            "topLevelComment": _comment(account, post, top, None), "canReply": True,
                            "totalReplyCount": len(replies), "isPublic": True},
            }
            if replies:
                thread["replies"] = {"comments": [_comment(account, post, r, top) for r in replies]}
            items.append(thread)
            count += 1 + len(replies)
        document: dict = {"kind": "youtube#commentThreadListResponse",
                          "etag": _etag("threads", post.post_id, at.isoformat(), number)}
        if number < len(chunks):
            document["nextPageToken"] = _etag("next", post.post_id, number) + "=="
        document["pageInfo"] = {"totalResults": len(chunk), "resultsPerPage": THREADS_PAGE}
        document["items"] = items
        yield number, document, count


# -- Studio exports ---------------------------------------------------------------------------------


def _studio_id(video_id: str) -> str:
    # Studio puts a space before ids that start with "-" so spreadsheets do not read a formula.
    return " " + video_id if video_id.startswith("-") else video_id


def _publish_day(world: World, post: Post) -> str:
    day = world.local(post.published_at).date()
    return f"{day:%b} {day.day}, {day.year}"


def _studio_content(world: World, drop: Drop, account: Account, posts: list[Post]) -> list[Member]:
    at = drop.retrieved_at
    rows, totals = [], {"views": 0, "watch": 0.0, "subs": 0, "likes": 0, "comments": 0, "shares": 0, "impr": 0}
    shorts = [p for p in posts if p.format == "short_video"]
    # Studio shows a net loss of subscribers as a negative number: one short of the city's channel.
    losing = None
    if shorts and account.role == "owned":
        losing = min(shorts, key=lambda p: (p.metric("views", at), p.post_id))
    for post in sorted(posts, key=lambda p: (-p.metric("views", at), p.post_id)):
        views = post.metric("views", at)
        watch = views * post.ratios["avg_view_s"] / 3600
        subs = -1 if post is losing else post.metric("subscribers", at)
        likes, comments, shares = post.metric("likes", at), post.comment_count(at), post.metric("shares", at)
        impressions = post.metric("impressions", at)
        live = post.live or {}
        ctr = trim_float(100 * views / impressions, 2) if impressions else ""
        rows.append([
            _studio_id(post.post_id), post.title, _publish_day(world, post), post.duration_s, views,
            trim_float(watch, 4), subs, likes, comments, shares, clock(post.ratios["avg_view_s"]),
            trim_float(post.ratios["apv"], 2), impressions, ctr,
            live.get("peak_concurrent", ""), live.get("avg_concurrent", ""),
        ])
        for key, value in (("views", views), ("watch", watch), ("subs", subs), ("likes", likes),
                           ("comments", comments), ("shares", shares), ("impr", impressions)):
            totals[key] += value
    avd = totals["watch"] * 3600 / totals["views"] if totals["views"] else 0.0
    apv = (sum(p.metric("views", at) * p.ratios["apv"] for p in posts) / totals["views"]) if totals["views"] else 0.0
    total = ["Total", "", "", "", totals["views"], trim_float(totals["watch"], 4), totals["subs"], totals["likes"],
             totals["comments"], totals["shares"], clock(avd), trim_float(apv, 2), totals["impr"],
             trim_float(100 * totals["views"] / totals["impr"], 2) if totals["impr"] else "", "", ""]
    table = csv_text([CONTENT_HEADER, total, *rows]).encode("utf-8")
    chart_rows: list[list] = [["Date", "Content", "Video title", "Video publish time", "Duration", "Views"]]
    daily_total: dict = {}
    days = _days(drop)
    for post in sorted(posts, key=lambda p: p.post_id):
        first = world.local(post.published_at).date()
        for day in days:
            if day < first:
                continue
            views = world.daily_delta(post, "views", day)
            daily_total[day] = daily_total.get(day, 0) + views
            chart_rows.append([day.isoformat(), _studio_id(post.post_id), post.title, _publish_day(world, post),
                               post.duration_s, views])
    totals_rows = [["Date", "Views"]] + [[d.isoformat(), daily_total.get(d, 0)] for d in days]
    return [
        Member("Table data.csv", "youtube_studio_content", table, items=len(rows) + 1),
        Member("Chart data.csv", "youtube_studio_content_chart", csv_text(chart_rows).encode("utf-8"),
               items=len(chart_rows) - 1),
        Member("Totals.csv", "youtube_studio_totals", csv_text(totals_rows).encode("utf-8"), items=len(days)),
    ]


def _days(drop: Drop) -> list:
    out, day = [], drop.window_start
    while day <= drop.window_end:
        out.append(day)
        day += timedelta(days=1)
    return out


def _studio_geography(world: World, drop: Drop, account: Account) -> list[Member]:
    days = _days(drop)
    by_day = {day: world.youtube_country_views(account, day) for day in days}
    views: dict[str, int] = {}
    for counts in by_day.values():
        for code, count in counts.items():
            views[code] = views.get(code, 0) + count
    # Average view duration per country: the channel's average, nudged by a stable per-country factor.
    posts = [p for p in world.posts if p.account is account and p.published_at < drop.retrieved_at]
    weight = sum(p.metric("views", drop.retrieved_at) for p in posts) or 1
    base_avd = sum(p.metric("views", drop.retrieved_at) * p.ratios["avg_view_s"] for p in posts) / weight
    rows: list[list] = []
    total_views, total_watch = 0, 0.0
    for code in sorted(views, key=lambda c: (-views[c], c)):
        factor = 0.8 + (int(hashlib.sha1(code.encode()).hexdigest()[:4], 16) % 400) / 1000
        avd = base_avd * factor
        watch = views[code] * avd / 3600
        rows.append([code, views[code], clock(avd), trim_float(watch, 4)])
        total_views += views[code]
        total_watch += watch
    zero = [c for c in ZERO_COUNTRIES if c not in views]
    rows += [[code, 0, "", 0] for code in zero]
    total_avd = total_watch * 3600 / total_views if total_views else 0
    table: list[list] = [GEO_HEADER, ["Total", total_views, clock(total_avd), trim_float(total_watch, 4)], *rows]
    chart: list[list] = [["Date", "Geography", "Views"]]
    for code in sorted(list(views) + zero):
        for day in days:
            chart.append([day.isoformat(), code, by_day[day].get(code, 0)])
    totals = [["Date", "Views"]] + [[d.isoformat(), sum(by_day[d].values())] for d in days]
    return [
        Member("Table data.csv", "youtube_studio_geography", csv_text(table).encode("utf-8"), items=len(rows) + 1),
        Member("Chart data.csv", "youtube_studio_geography_chart", csv_text(chart).encode("utf-8"),
               items=len(chart) - 1),
        Member("Totals.csv", "youtube_studio_totals", csv_text(totals).encode("utf-8"), items=len(days)),
    ]
