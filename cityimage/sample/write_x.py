"""X: account analytics content and overview exports, and twarc2 pages of the API v2."""

from __future__ import annotations

import re
import urllib.parse
from datetime import datetime, timedelta

from cityimage.sample.encode import csv_text, jsonl_twarc
from cityimage.sample.files import Emitter
from cityimage.sample.model import Account, Comment, Drop, Person, Post, World

CONTENT_HEADER = [
    "Post id", "Date", "Post text", "Link", "Impressions", "Likes", "Engagements", "Bookmarks", "Share",
    "New follows", "Replies", "Reposts", "Profile visits", "Detail expands", "Url clicks", "Hashtag clicks",
    "Permalink clicks",
]
OVERVIEW_HEADER = [
    "Date", "Impressions", "Likes", "Engagements", "Bookmarks", "Shares", "New follows", "Unfollows", "Replies",
    "Reposts", "Profile visits", "Create Post", "Video views", "Media views",
]
PAGE_SIZE = 100
TWARC_VERSION = "2.14.0"
_FIELDS = (
    "expansions=author_id%2Cin_reply_to_user_id%2Creferenced_tweets.id%2Creferenced_tweets.id.author_id%2C"
    "entities.mentions.username&user.fields=created_at%2Cdescription%2Cid%2Clocation%2Cname%2Cprofile_image_url"
    "%2Cprotected%2Cpublic_metrics%2Curl%2Cusername%2Cverified&tweet.fields=attachments%2Cauthor_id%2C"
    "conversation_id%2Ccreated_at%2Centities%2Cid%2Cin_reply_to_user_id%2Clang%2Cpublic_metrics%2Ctext%2C"
    "possibly_sensitive%2Creferenced_tweets%2Creply_settings%2Csource"
)
_HASHTAG = re.compile(r"#(\w+)")
_MENTION = re.compile(r"@(\w+)")


def write(world: World, drop: Drop, out: Emitter) -> None:
    for index, account in enumerate(a for a in world.accounts if a.platform == "x"):
        posts = [p for p in world.posts if p.account is account and drop.covers(p.published_at)]
        phantom = account.role == "owned" and drop is world.drops[min(1, len(world.drops) - 1)]
        rows = _content_rows(world, drop, account, posts, phantom)
        name = f"account_analytics_content_{drop.window_start}_{drop.window_end}.csv"
        data = csv_text(rows, newline="\r\n", quote_columns=(2,)).encode("utf-8")
        out.emit(drop, "x", account.handle, name, data, "x_content", items=len(rows) - 1)
        rows = _overview_rows(world, drop, account)
        data = csv_text(rows, trailing_newline=False).encode("utf-8")
        out.emit(drop, "x", account.handle, "account_overview_analytics.csv", data, "x_overview", items=len(rows) - 1)
        pages = _conversation_pages(world, drop, account, posts)
        out.emit(drop, "x", account.handle, "conversations.jsonl", jsonl_twarc(pages), "x_api_v2",
                 items=sum(len(p.get("data", [])) for p in pages))
    pages = _search_pages(world, drop)
    out.emit(drop, "x", "public", "search_chongqing.jsonl", jsonl_twarc(pages), "x_api_v2",
             items=sum(len(p.get("data", [])) for p in pages))


# -- analytics exports --------------------------------------------------------------------------


def post_text(post: Post) -> str:
    """The post as X shows it: one line, with the t.co link X appends for attached media."""
    text = re.sub(r"\s*\n+\s*", " ", post.text).strip()
    if post.format in ("image", "video"):
        text += f" https://t.co/{post.extra['tco']}"
    return text


def _content_values(world: World, post: Post, at: datetime) -> list[int]:
    m = lambda name: post.metric(name, at)  # noqa: E731
    replies = post.comment_count(at, direct_only=True)
    engagements = (m("likes") + replies + m("reposts") + m("bookmarks") + m("share") + m("profile_visits")
                   + m("detail_expands") + m("url_clicks") + m("hashtag_clicks") + m("permalink_clicks")
                   + m("new_follows"))
    return [m("impressions"), m("likes"), engagements, m("bookmarks"), m("share"), m("new_follows"), replies,
            m("reposts"), m("profile_visits"), m("detail_expands"), m("url_clicks"), m("hashtag_clicks"),
            m("permalink_clicks")]


def _content_rows(world: World, drop: Drop, account: Account, posts: list[Post], phantom: bool) -> list[list]:
    rows: list[list] = [CONTENT_HEADER]
    for post in sorted(posts, key=lambda p: (p.published_at, p.post_id), reverse=True):
        day = world.local(post.published_at).strftime("%a %b %d %Y")
        url = f"https://x.com/{account.handle}/status/{post.post_id}"
        rows.append([post.post_id, day, post_text(post), url, *_content_values(world, post, drop.retrieved_at)])
    if phantom and len(rows) > 2:
        # X sometimes writes a row for a post it cannot resolve: no id, a link ending in
        # /status/undefined and zeros. Readers must drop it.
        model = rows[len(rows) // 2]
        rows.insert(len(rows) // 2, ["", model[1], model[2], f"https://x.com/{account.handle}/status/undefined",
                                     *([0] * 13)])
    return rows


def _overview_rows(world: World, drop: Drop, account: Account) -> list[list]:
    posts = [p for p in world.posts if p.account is account]
    rows: list[list] = [OVERVIEW_HEADER]
    day = drop.window_end
    while day >= drop.window_start:
        d = lambda name: sum(world.daily_delta(p, name, day) for p in posts)  # noqa: E731
        start, end = world.local_midnight(day), world.local_midnight(day + timedelta(days=1))
        replies = sum(1 for p in posts for c in p.comments if start <= c.created_at < end and not c.removed)
        created = sum(1 for p in posts if start <= p.published_at < end)
        likes, reposts, bookmarks, share = d("likes"), d("reposts"), d("bookmarks"), d("share")
        visits = d("profile_visits")
        engagements = likes + reposts + bookmarks + share + replies + visits + d("detail_expands") + d("url_clicks")
        label = f"{day:%a}, {day:%b} {day.day}, {day.year}"
        rows.append([label, d("impressions"), likes, engagements, bookmarks, share, account.gained.get(day, 0),
                     account.lost.get(day, 0), replies, reposts, visits, created, d("video_views"),
                     d("media_views")])
        day -= timedelta(days=1)
    return rows


# -- API v2 pages ---------------------------------------------------------------------------------


def _ts(instant: datetime) -> str:
    # The API gives whole seconds; the id (a Snowflake) carries the milliseconds.
    return instant.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _entities(text: str, users: dict[str, Person]) -> dict:
    entities: dict = {}
    tags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in _HASHTAG.finditer(text)]
    if tags:
        entities["hashtags"] = tags
    mentions = []
    for m in _MENTION.finditer(text):
        entry = {"start": m.start(), "end": m.end(), "username": m.group(1)}
        if m.group(1) in users:
            entry["id"] = users[m.group(1)].id
        mentions.append(entry)
    if mentions:
        entities["mentions"] = mentions
    return entities


def _user(person: Person) -> dict:
    return {
        "created_at": _ts(person.created_at),
        "description": "" if person.role in ("public", "spam") else f"The official account of {person.name}",
        "id": person.id,
        "name": person.name,
        "profile_image_url": f"https://pbs.twimg.com/profile_images/{person.id[-12:]}/avatar_normal.jpg",
        "protected": False,
        "public_metrics": {"followers_count": person.followers, "following_count": 180 + len(person.username) * 7,
                           "tweet_count": 40 + person.followers // 3, "listed_count": person.followers // 900,
                           "like_count": 25 + person.followers // 5},
        "url": "",
        "username": person.username,
        "verified": person.role in ("owned", "benchmark", "media"),
    }


def _tweet(tweet_id: str, text: str, created: datetime, author: Person, conversation: str, lang: str,
           metrics: dict, users: dict[str, Person], replied_to: tuple[str, str] | None = None) -> dict:
    out: dict = {
        "author_id": author.id,
        "conversation_id": conversation,
        "created_at": _ts(created),
        "edit_history_tweet_ids": [tweet_id],
        "id": tweet_id,
        "lang": lang,
        "possibly_sensitive": False,
        "public_metrics": metrics,
        "reply_settings": "everyone",
        "source": "Twitter for iPhone" if author.role in ("public", "spam") else "Twitter Web App",
        "text": text,
    }
    entities = _entities(text, users)
    if entities:
        out["entities"] = entities
    if replied_to:
        out["in_reply_to_user_id"] = replied_to[1]
        out["referenced_tweets"] = [{"type": "replied_to", "id": replied_to[0]}]
    return dict(sorted(out.items()))


def _root_metrics(post: Post, at: datetime) -> dict:
    return {"retweet_count": post.metric("reposts", at), "reply_count": post.comment_count(at, direct_only=True),
            "like_count": post.metric("likes", at), "quote_count": post.metric("quotes", at),
            "bookmark_count": post.metric("bookmarks", at), "impression_count": post.metric("impressions", at)}


def _reply_text(comment: Comment, account: Account) -> str:
    """X prefixes a reply with the handles it answers."""
    if comment.by_account:
        return f"@{comment.reply_to.author.username} {comment.text}" if comment.reply_to else comment.text
    if comment.act == "answer":
        assert comment.reply_to is not None, "an answer is a reply, made with the comment it answers"
        return f"@{comment.reply_to.author.username} @{account.handle} {comment.text}"
    return f"@{account.handle} {comment.text}"


def _reply_metrics(comment: Comment, at: datetime) -> dict:
    direct = sum(1 for c in comment.post.all_comments() if c.reply_to is comment and c.created_at < at)
    likes = comment.like_count
    return {"retweet_count": 0, "reply_count": direct, "like_count": likes, "quote_count": 0, "bookmark_count": 0,
            "impression_count": 20 + likes * 9 + len(comment.comment_id) % 7}


def _conversation_pages(world: World, drop: Drop, account: Account, posts: list[Post]) -> list[dict]:
    at = drop.retrieved_at
    x_lang = world.content["x_lang"]
    pages = []
    for post in sorted(posts, key=lambda p: p.published_at, reverse=True):
        replies = [c for c in post.all_comments() if c.created_at < at and not c.removed]
        if not replies:
            continue
        replies.sort(key=lambda c: int(c.comment_id), reverse=True)
        users: dict[str, Person] = {account.handle: account.person}
        for c in replies:
            users[c.author.username] = c.author
        query = f"conversation_id:{post.post_id}"
        for start in range(0, len(replies), PAGE_SIZE):
            chunk = replies[start:start + PAGE_SIZE]
            data: list[dict] = []
            included: dict[str, Post | Comment] = {}
            authors: dict[str, Person] = {}
            for c in chunk:
                parent = c.reply_to
                if parent is None:
                    replied = (post.post_id, account.id)
                    included.setdefault(post.post_id, post)
                else:
                    replied = (parent.comment_id, parent.author.id)
                    if parent not in chunk:
                        included.setdefault(parent.comment_id, parent)
                lang = x_lang.get(c.language, "und")
                data.append(_tweet(c.comment_id, _reply_text(c, account), c.created_at, c.author, post.post_id, lang,
                                   _reply_metrics(c, at), users, replied))
                authors[c.author.id] = c.author
                authors[account.id] = account.person
                if parent is not None:
                    authors[parent.author.id] = parent.author
            tweets = []
            for key in sorted(included, key=int, reverse=True):
                obj = included[key]
                if isinstance(obj, Post):
                    tweets.append(_tweet(obj.post_id, post_text(obj), obj.published_at, account.person, obj.post_id,
                                         x_lang.get(obj.language, "und"), _root_metrics(obj, at), users))
                else:
                    rp = obj.reply_to
                    replied = (post.post_id, account.id) if rp is None else (rp.comment_id, rp.author.id)
                    tweets.append(_tweet(obj.comment_id, _reply_text(obj, account), obj.created_at, obj.author,
                                         post.post_id, x_lang.get(obj.language, "und"), _reply_metrics(obj, at), users,
                                         replied))
            page: dict = {"data": data,
                          "includes": {"users": [_user(authors[k]) for k in sorted(authors)], "tweets": tweets}}
            meta = {"newest_id": chunk[0].comment_id, "oldest_id": chunk[-1].comment_id, "result_count": len(chunk)}
            if start + PAGE_SIZE < len(replies):
                meta["next_token"] = _token(chunk[-1].comment_id)
            page["meta"] = meta
            page["__twarc"] = _twarc("all", query, at, post.published_at)
            pages.append(page)
    return pages


def _search_pages(world: World, drop: Drop) -> list[dict]:
    at = drop.retrieved_at
    since = drop.cutoff - timedelta(days=7)
    mentions = [m for m in world.mentions if since <= m.created_at < at]
    mentions.sort(key=lambda m: int(m.post_id), reverse=True)
    names = world.profile.names
    terms = sorted({n for values in names.values() for n in values})
    query = "(" + " OR ".join(f'"{t}"' if " " in t else t for t in terms) + ") -is:retweet"
    x_lang = world.content["x_lang"]
    pages: list[dict] = []
    for start in range(0, max(1, len(mentions)), PAGE_SIZE):
        chunk = mentions[start:start + PAGE_SIZE]
        if not chunk:
            pages.append({"meta": {"result_count": 0}, "__twarc": _twarc("recent", query, at, since)})
            break
        users = {m.author.username: m.author for m in chunk}
        data = [_tweet(m.post_id, m.text, m.created_at, m.author, m.post_id, x_lang.get(m.language, "und"),
                       dict(m.metrics), users) for m in chunk]
        authors = {m.author.id: m.author for m in chunk}
        meta = {"newest_id": chunk[0].post_id, "oldest_id": chunk[-1].post_id, "result_count": len(chunk)}
        if start + PAGE_SIZE < len(mentions):
            meta["next_token"] = _token(chunk[-1].post_id)
        pages.append({"data": data, "includes": {"users": [_user(authors[k]) for k in sorted(authors)]},
                      "meta": meta, "__twarc": _twarc("recent", query, at, since)})
    return pages


def _token(seed: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    value = int(seed)
    out: list[str] = []
    while len(out) < 45:
        value, r = divmod(value * 7919 + 13, 36)
        out.append(alphabet[r])
        if value == 0:
            value = int(seed) // (len(out) + 1) + 17
    return "b26v89c19zqg8o3" + "".join(out)[:30]


def _twarc(endpoint: str, query: str, at: datetime, since: datetime) -> dict:
    params = f"{_FIELDS}&max_results=100&query={urllib.parse.quote(query, safe='')}"
    params += f"&start_time={urllib.parse.quote(since.strftime('%Y-%m-%dT%H:%M:%S+00:00'), safe='')}"
    return {
        "url": f"https://api.twitter.com/2/tweets/search/{endpoint}?{params}",
        "version": TWARC_VERSION,
        "retrieved_at": at.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
    }
