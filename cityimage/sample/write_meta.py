"""Facebook and Instagram: Meta Business Suite exports and Graph API pages."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

from cityimage.sample.encode import BOM, csv_text, json_compact
from cityimage.sample.files import Emitter
from cityimage.sample.model import Account, Comment, Drop, Post, World

GRAPH = "https://graph.facebook.com/v21.0"
FB_HEADER = [
    "Post ID", "Page ID", "Page name", "Title", "Description", "Duration (sec)", "Publish time", "Caption type",
    "Permalink", "Is crosspost", "Is share", "Post type", "Languages", "Custom labels", "Funded content status",
    "Data comment", "Date", "Views", "Reach", "Reactions, Comments and Shares", "Reactions", "Comments", "Shares",
    "Total clicks", "Link clicks", "Other Clicks", "Matched Audience Targeting Consumption (Photo Click)",
    "Negative feedback from users: Hide all", "Seconds viewed", "Average Seconds viewed", "Estimated earnings (USD)",
    "Ad impressions",
]
# English UI column order as described in ../shared/real-exports/README.md.
IG_HEADER = [
    "Post ID", "Account ID", "Account username", "Account name", "Description", "Duration (sec)", "Publish time",
    "Permalink", "Post type", "Data comment", "Date", "Views", "Likes", "Shares", "Comments", "Saves", "Reach",
    "Follows",
]
FB_POST_TYPES = {"image": "Photos", "video": "Videos", "short_video": "Reels", "live": "Live", "text": "Links"}
IG_POST_TYPES = {"image": "IG image", "carousel": "IG carousel", "short_video": "IG reel", "video": "IG reel"}
FB_PAGE_SIZE = 100
IG_PAGE_SIZE = 50


def write(world: World, drop: Drop, out: Emitter) -> None:
    for account in world.accounts:
        if account.platform not in ("facebook", "instagram"):
            continue
        posts = [p for p in world.posts if p.account is account and drop.covers(p.published_at)]
        posts.sort(key=lambda p: (p.published_at, p.post_id), reverse=True)
        name = f"{_mdy(drop.window_start)}_{_mdy(drop.window_end)}_{_export_number(world, account, drop)}.csv"
        if account.platform == "facebook":
            rows = [FB_HEADER] + [_fb_row(world, drop, account, p) for p in posts]
            out.emit(drop, "facebook", account.handle, name, _meta_csv(rows), "facebook_posts", items=len(posts))
            for post in sorted(posts, key=lambda p: p.post_id):
                for page_no, page, count in _fb_comment_pages(world, drop, account, post):
                    out.emit(drop, "facebook", account.handle, f"comments_{account.id}_{post.post_id}_p{page_no}.json",
                             json_compact(page), "facebook_graph_comments", items=count)
            lives = [p for p in world.posts
                     if p.account is account and p.is_live and p.published_at < drop.retrieved_at]
            if lives:
                out.emit(drop, "facebook", account.handle, "live_videos.json",
                         json_compact(_live_videos(account, lives)), "facebook_graph_live_videos", items=len(lives))
            out.emit(drop, "facebook", account.handle, "Follows.csv", _follows_csv(world, drop, account),
                     "facebook_page_daily", items=(drop.window_end - drop.window_start).days + 1)
        else:
            rows = [IG_HEADER] + [_ig_row(world, drop, account, p) for p in posts]
            out.emit(drop, "instagram", account.handle, name, _meta_csv(rows), "instagram_posts", items=len(posts))
            for post in sorted(posts, key=lambda p: p.post_id):
                for page_no, page, count in _ig_comment_pages(drop, account, post):
                    out.emit(drop, "instagram", account.handle, f"comments_{post.post_id}_p{page_no}.json",
                             json_compact(page), "instagram_graph_comments", items=count)


# -- Business Suite CSV ---------------------------------------------------------------------------


def _mdy(day) -> str:
    return f"{day:%b}-{day.day:02d}-{day.year}"


def _export_number(world: World, account: Account, drop: Drop) -> str:
    # Meta appends an export number to the file name; any stable 15-digit number will do.
    base = int(account.id[-9:]) * 1_000_003 + drop.day.toordinal() * 7919 + world.seed
    return str(100_000_000_000_000 + base % 900_000_000_000_000)


def _meta_csv(rows: list[list]) -> bytes:
    return (BOM + csv_text(rows, quoting="meta")).encode("utf-8")


def _publish_time(world: World, post: Post) -> str:
    return post.published_at.astimezone(world.meta_zone).strftime("%m/%d/%Y %H:%M")


def _fb_permalink(account: Account, post: Post) -> str:
    if post.format == "short_video":
        return f"https://www.facebook.com/reel/{post.extra['video_id']}/"
    if "video_id" in post.extra:
        return f"https://www.facebook.com/{account.handle}/videos/{post.extra['video_id']}/"
    return f"https://www.facebook.com/{account.handle}/posts/{post.extra['pfbid']}"


def _fb_row(world: World, drop: Drop, account: Account, post: Post) -> list:
    at = drop.retrieved_at
    m = lambda name: post.metric(name, at)  # noqa: E731
    comments = post.comment_count(at)
    video = post.format in ("video", "short_video", "live")
    title, description = (post.title, post.text) if video else (post.text, "")
    languages = world.content["language_names"].get(post.language, "") if post.asset else ""
    label = world.content["asset"]["label"] if post.asset else ""
    seconds = m("seconds_viewed") if video else ""
    avg = f"{post.ratios['avg_view_s']:.0f}" if video and post.ratios.get("avg_view_s") else ""
    return [
        post.post_id, account.id, account.display_name, title, description, post.duration_s,
        _publish_time(world, post), "N/A", _fb_permalink(account, post), 0, 0, FB_POST_TYPES[post.format],
        languages, label, "", "", "Lifetime", m("views"), m("reach"), m("reactions") + comments + m("shares"),
        m("reactions"), comments, m("shares"), m("total_clicks"), m("link_clicks"), m("other_clicks"),
        m("photo_clicks"), m("hide_all"), seconds, avg, "", "",
    ]


def _ig_row(world: World, drop: Drop, account: Account, post: Post) -> list:
    at = drop.retrieved_at
    m = lambda name: post.metric(name, at)  # noqa: E731
    kind = "reel" if post.format in ("short_video", "video") else "p"
    reach = "" if post.ratios.get("reach_blank") else m("reach")
    return [
        post.post_id, account.id, account.handle, account.display_name, post.text, post.duration_s,
        _publish_time(world, post), f"https://www.instagram.com/{kind}/{post.extra['shortcode']}/",
        IG_POST_TYPES[post.format], "", "Lifetime", m("views"), m("likes"), m("shares"), post.comment_count(at),
        m("saves"), reach, m("follows"),
    ]


def _follows_csv(world: World, drop: Drop, account: Account) -> bytes:
    """Business Suite's page series: UTF-16LE with a BOM, Excel's ``sep=,`` line and a title."""
    lines = ["sep=,", '"Facebook follows"', '"Date","Primary"']
    day = drop.window_start
    while day <= drop.window_end:
        lines.append(f'"{day.isoformat()}T00:00:00","{account.gained.get(day, 0)}"')
        day += timedelta(days=1)
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-16-le")


# -- Graph API pages ------------------------------------------------------------------------------


def _graph_time(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _cursor(value: str) -> str:
    return base64.b64encode(f"QVFI{value}".encode()).decode().rstrip("=")


def _visible(comment: Comment, at: datetime) -> bool:
    return comment.created_at < at and not comment.removed


def _fb_comment(account: Account, post: Post, comment: Comment, at: datetime) -> dict:
    replies = [r for r in comment.replies if _visible(r, at)]
    _, _, cid = comment.comment_id.partition("_")
    item: dict = {
        "id": comment.comment_id,
        "created_time": _graph_time(comment.created_at),
        "from": {"name": comment.author.name, "id": comment.author.id},
        "message": comment.text,
        "like_count": comment.like_count,
        "comment_count": len(replies),
        "is_hidden": comment.is_hidden,
        "permalink_url": f"https://www.facebook.com/{account.id}/posts/{post.post_id}/?comment_id={cid}",
    }
    if replies:
        item["comments"] = {
            "data": [
                {
                    "id": r.comment_id,
                    "created_time": _graph_time(r.created_at),
                    "from": {"name": r.author.name, "id": r.author.id},
                    "message": r.text,
                    "like_count": r.like_count,
                    "permalink_url": f"https://www.facebook.com/{account.id}/posts/{post.post_id}/?comment_id={cid}"
                                     f"&reply_comment_id={r.comment_id.partition('_')[2]}",
                }
                for r in replies
            ],
            "paging": {"cursors": {"before": _cursor(replies[0].comment_id), "after": _cursor(replies[-1].comment_id)}},
        }
    return item


def _fb_comment_pages(world: World, drop: Drop, account: Account, post: Post):
    at = drop.retrieved_at
    tops = [c for c in post.comments if _visible(c, at)]
    chunks = [tops[i:i + FB_PAGE_SIZE] for i in range(0, len(tops), FB_PAGE_SIZE)] or [[]]
    fields = "id%2Cfrom%2Cmessage%2Ccreated_time%2Clike_count%2Ccomment_count%2Cis_hidden%2Cpermalink_url%2Ccomments"
    for number, chunk in enumerate(chunks, start=1):
        page: dict = {"data": [_fb_comment(account, post, c, at) for c in chunk]}
        paging: dict = {}
        if chunk:
            paging["cursors"] = {"before": _cursor(chunk[0].comment_id), "after": _cursor(chunk[-1].comment_id)}
        if number < len(chunks):
            paging["next"] = (f"{GRAPH}/{account.id}_{post.post_id}/comments?access_token=access_token&pretty=0"
                              f"&fields={fields}&filter=toplevel&order=chronological&summary=1&limit={FB_PAGE_SIZE}"
                              f"&after={paging['cursors']['after']}")
        if paging:
            page["paging"] = paging
        page["summary"] = {"order": "chronological", "total_count": len(tops), "can_comment": True}
        count = sum(1 + len(item.get("comments", {}).get("data", [])) for item in page["data"])
        yield number, page, count


def _live_videos(account: Account, lives: list[Post]) -> dict:
    data = []
    for post in sorted(lives, key=lambda p: p.published_at, reverse=True):
        data.append({
            "id": post.extra["live_video_id"],
            "creation_time": _graph_time(post.published_at - timedelta(minutes=12)),
            "description": post.text,
            "embed_html": "",
            "live_views": 0,
            "permalink_url": f"/{account.handle}/videos/{post.extra['video_id']}/",
            "status": "VOD",
            "title": post.title,
            "video": {"id": post.extra["video_id"]},
        })
    return {
        "data": data,
        "paging": {"cursors": {"before": _cursor(data[0]["id"]), "after": _cursor(data[-1]["id"])}},
    }


def _ig_comment(comment: Comment, at: datetime) -> dict:
    replies = [r for r in comment.replies if _visible(r, at)]
    item: dict = {
        "timestamp": _graph_time(comment.created_at),
        "text": comment.text,
        "id": comment.comment_id,
        "username": comment.author.username,
        "from": {"id": comment.author.id, "username": comment.author.username},
        "like_count": comment.like_count,
        "hidden": comment.is_hidden,
    }
    if replies:
        item["replies"] = {"data": [
            {"timestamp": _graph_time(r.created_at), "text": r.text, "id": r.comment_id,
             "username": r.author.username, "from": {"id": r.author.id, "username": r.author.username},
             "like_count": r.like_count}
            for r in sorted(replies, key=lambda r: (r.created_at, r.comment_id), reverse=True)
        ]}
    return item


def _ig_comment_pages(drop: Drop, account: Account, post: Post):
    at = drop.retrieved_at
    tops = sorted((c for c in post.comments if _visible(c, at)), key=lambda c: (c.created_at, c.comment_id),
                  reverse=True)
    chunks = [tops[i:i + IG_PAGE_SIZE] for i in range(0, len(tops), IG_PAGE_SIZE)] or [[]]
    fields = ("id%2Ctext%2Ctimestamp%2Cusername%2Cfrom%2Clike_count%2Chidden%2C"
              "replies%7Bid%2Ctext%2Ctimestamp%2Cusername%2Cfrom%2Clike_count%7D")
    for number, chunk in enumerate(chunks, start=1):
        after = _cursor(chunk[-1].comment_id if chunk else post.post_id)
        page: dict = {
            "data": [_ig_comment(c, at) for c in chunk],
            # The Graph API keeps a "next" link on the last page too; it leads to an empty page.
            "paging": {
                "cursors": {"before": _cursor(chunk[0].comment_id if chunk else post.post_id), "after": after},
                "next": f"{GRAPH}/{post.post_id}/comments?access_token=access_token&pretty=0&fields={fields}"
                        f"&limit={IG_PAGE_SIZE}&after={after}",
            },
        }
        count = sum(1 + len(item.get("replies", {}).get("data", [])) for item in page["data"])
        yield number, page, count
