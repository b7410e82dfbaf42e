"""The reference year written directly: 5M comments, 200k posts with 4 metric snapshots each, 50k public
mentions and 52 weekly Search Console exports, in the platforms' real formats, in minutes.

The sample generator (``cityimage.sample``) models every comment as a Python object with a story and
holds the year in memory: about an hour and several GB at the reference size. This writer draws the
year post by post from seeded NumPy streams and writes each weekly drop as soon as it is drawn, in
the formats the bulk arrives in:

* Meta Business Suite post exports (Facebook, Instagram), one per account per drop, covering the 28
  days before it: each post is exported four times, its metrics growing between exports;
* Graph API comment pages (Facebook ``/{post}/comments``, Instagram ``/{media}/comments``), saved one
  page per line, one file per account per drop, for the posts of the 14 days before it: a comment is
  exported about twice (the week it is written and the next), its likes restated; the owned pages
  answer some comments with a nested reply;
* X API v2 search results (twarc2 JSON lines): public posts that mention the city, with its labels;
* a Search Console performance zip (queries, pages, countries, devices, chart, filters).

``scale`` is a fraction of the reference year (1.0 = the sizes above), applied to posts and mentions
(comments follow at 25 per post on average). ``python -m benchmarks.reference 1 <folder>`` writes
``<folder>/inbox`` and ``<folder>/profile.yaml`` (the accounts the drops deliver), and prints the counts.
"""

from __future__ import annotations

import io
import json
import sys
import time
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from cityimage.sample.encode import csv_text
from cityimage.sample.write_meta import FB_HEADER, IG_HEADER

SEED = 20261206
POSTS_PER_YEAR = 200_000
COMMENTS_PER_POST = 25
MENTIONS_PER_YEAR = 50_000
EXPORT_DAYS = 28          # a post export covers the 28 days before the drop: four exports of each post
COMMENT_DAYS = 14         # a comment dump covers the posts of the 14 days before it
PAGE_REPLY_SHARE = 0.12   # comments on owned posts the page answers
GRAPH = "https://graph.facebook.com/v21.0"
META_OFFSET = timedelta(hours=-8)  # Business Suite writes Pacific time (standard time is close enough here)


@dataclass(frozen=True)
class Account:
    platform: str
    handle: str
    id: str
    role: str
    city: str


ACCOUNTS = (
    Account("facebook", "iChongqing", "100064548282347", "owned", "Chongqing"),
    Account("facebook", "HangzhouChina", "100064713538741", "benchmark", "Hangzhou"),
    Account("instagram", "ichongqing", "17841401745690123", "owned", "Chongqing"),
    Account("instagram", "hangzhouchina", "17841401999887766", "benchmark", "Hangzhou"),
)

# Words the comments are made of: per language an opener, a subject and a close; combined they give
# about a million distinct texts, so classification works on distinct inputs as it would on real ones.
PARTS = {
    "en": (["Wow", "Amazing", "So beautiful", "I love this", "Incredible", "Where is this?", "Great video",
            "Thanks for sharing", "Stunning", "Can't believe it"],
           ["the night view of Hongyadong", "the hot pot", "this mountain city", "the bridges over the Yangtze",
            "the cable car", "the light rail through the building", "the old streets of Ciqikou", "this 8D city",
            "the river at sunset", "the Three Gorges", "the food here", "the skyline"],
           ["I want to visit next year!", "so crowded though.", "looks like a movie.", "❤️", "🔥🔥", "is it safe?",
            "how do I get there?", "too spicy for me 😅", "never seen anything like it.", "my dream trip!"]),
    "fr": (["Magnifique", "Incroyable", "Superbe", "J'adore", "Quelle vue"],
           ["la ville la nuit", "le hot pot", "les ponts", "la montagne", "le téléphérique", "les rues"],
           ["je veux y aller !", "trop de monde.", "c'est un rêve.", "😍", "quelle ambiance."]),
    "es": (["Qué bonito", "Increíble", "Me encanta", "Precioso", "Wow"],
           ["la ciudad de noche", "el hot pot", "los puentes", "la montaña", "el teleférico", "las calles"],
           ["quiero ir pronto!", "demasiada gente.", "parece de película.", "😍", "un sueño."]),
    "de": (["Wunderschön", "Unglaublich", "Toll", "Sehr schön", "Wahnsinn"],
           ["die Stadt bei Nacht", "der Feuertopf", "die Brücken", "die Berge", "die Seilbahn", "die Gassen"],
           ["da will ich hin!", "viel zu voll.", "wie im Film.", "😍", "ein Traum."]),
    "ar": (["رائع", "مذهل", "جميل جدا", "أحب هذا", "واو"],
           ["المدينة في الليل", "الطعام", "الجسور", "الجبال", "التلفريك", "الشوارع"],
           ["أريد زيارتها!", "مزدحمة جدا.", "مثل فيلم.", "😍", "حلم."]),
    "zh": (["太美了", "厉害", "好喜欢", "震撼", "哇"],
           ["重庆的夜景", "火锅", "长江索道", "洪崖洞", "轻轨穿楼", "磁器口"],
           ["一定要去！", "人太多了。", "像电影一样。", "😍", "梦想之地。"]),
}
LANGUAGE_WEIGHTS = {"en": 0.55, "fr": 0.1, "es": 0.1, "de": 0.08, "ar": 0.07, "zh": 0.1}
POST_TEXTS = [
    "Hongyadong lights up the night in Chongqing, the mountain city. #Chongqing",
    "Hot pot season in Chongqing: which dish would you try first? #ChongqingFood",
    "The Yangtze River Cableway crosses the river in four minutes. #iChongqing",
    "Liziba station: the light rail that runs through a building. #8DMagic",
    "Chongqing's bridges at dusk: over 15,000 of them. #BridgeCity",
    "Smart China Expo opens in Chongqing this week. #SmartExpo",
    "West Lake at dawn, Hangzhou. #Hangzhou",
    "Longjing tea harvest in the hills of Hangzhou. #HangzhouTea",
    "Qiantang River tidal bore this weekend. #Hangzhou",
    "Dazu Rock Carvings: a thousand years of Buddhist art in Chongqing. #heritage",
]
MENTION_TEXTS = [
    "Chongqing really is the mountain city, stairs everywhere!", "This 8D city broke my Google Maps 😂 #Chongqing",
    "Best hot pot of my life in Chongqing", "Chongqing at night looks like Cyberpunk", "Took the cable car over "
    "the Yangtze in Chongqing, unreal", "Chongqing, the bridge city: counted 12 bridges from one viewpoint",
    "Too humid in Chongqing but the food makes up for it", "Hongyadong in Chongqing was so crowded",
]


def reference_weeks(n: int = 52) -> list:
    from benchmarks.scale import weeks

    return weeks()[:n]


def write_reference(folder: Path, scale: float = 1.0, n_weeks: int = 52) -> dict:
    """Write the reference inbox at ``scale`` under ``folder/inbox`` (and ``folder/profile.yaml``); its counts."""
    started = time.perf_counter()
    inbox = folder / "inbox"
    weeks = reference_weeks(n_weeks)
    posts = _posts(scale, weeks)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profile.yaml").write_text(_profile(), encoding="utf-8")
    counts = {"posts": len(posts["post_id"]), "comments": 0, "comment_exports": 0, "post_exports": 0,
              "public_mentions": 0, "search_console_exports": 0, "files": 0}
    mention_rng = np.random.default_rng(SEED + 7)
    per_week_mentions = max(1, round(MENTIONS_PER_YEAR * scale / len(weeks)))
    for n, week in enumerate(weeks):
        day = week.sunday + timedelta(days=1)
        retrieved = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=6)
        at = int(retrieved.timestamp())
        drop = inbox / day.isoformat()
        for a, account in enumerate(ACCOUNTS):
            mine = (posts["account"] == a) & (posts["published"] < at)
            rows = np.flatnonzero(mine & (posts["published"] >= at - EXPORT_DAYS * 86400))
            start, end = day - timedelta(days=EXPORT_DAYS), day - timedelta(days=1)
            name = f"{start:%b}-{start.day:02d}-{start.year}_{end:%b}-{end.day:02d}-{end.year}_{account.id[-9:]}{n:06d}.csv"
            _write(drop / account.platform / account.handle / name, _post_csv(account, posts, rows, retrieved))
            counts["post_exports"] += int(len(rows))
            dumped = np.flatnonzero(mine & (posts["published"] >= at - COMMENT_DAYS * 86400))
            text, written, first_time = _comment_dump(account, posts, dumped, retrieved)
            _write(drop / account.platform / account.handle / f"comments_{account.handle}_{day.isoformat()}.json", text)
            counts["comment_exports"] += written
            counts["comments"] += first_time
        lines, mentions = _mentions(mention_rng, week, retrieved, per_week_mentions, n)
        _write(drop / "x" / "public" / f"search_chongqing_{day.isoformat()}.jsonl", lines)
        counts["public_mentions"] += mentions
        _write(drop / "search_console" / "site" / f"www.ichongqing.info-Performance-on-Search-{day.isoformat()}.zip",
               _search_zip(week, day, scale))
        counts["search_console_exports"] += 1
        counts["files"] += len(ACCOUNTS) * 2 + 2
    counts["seconds"] = round(time.perf_counter() - started, 1)
    counts["weeks"] = [w.id for w in weeks]
    counts["drops"] = sorted(p.name for p in inbox.iterdir() if p.is_dir())
    counts["bytes"] = sum(p.stat().st_size for p in inbox.rglob("*") if p.is_file())
    return counts


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _profile() -> str:
    """The city profile the reference drops deliver for: the four accounts and their two exports each."""
    lines = ["version: 1", "city: Chongqing", "names: {en: [Chongqing, Chungking], zh: [重庆]}",
             "hashtags: ['#chongqing', '#ichongqing']", "accounts:"]
    for a in ACCOUNTS:
        exports = f"[{a.platform}_business_suite_posts, {a.platform}_api_comments]"
        lines.append(f"  - {{platform: {a.platform}, handle: {a.handle}, id: \"{a.id}\", role: {a.role}, "
                     f"city: {a.city}, exports: {exports}}}")
    lines += ["search_keywords:", "  - {keyword: chongqing, region: null}", "  - {keyword: chongqing hotpot, region: null}"]
    return "\n".join(lines) + "\n"


# -- posts ---------------------------------------------------------------------------------------------


def _posts(scale: float, weeks: list) -> dict[str, np.ndarray]:
    """Every post of the year: account, id, publication instant (epoch seconds), format, text, final metrics."""
    rng = np.random.default_rng(SEED)
    n = max(len(weeks) * len(ACCOUNTS), round(POSTS_PER_YEAR * scale))
    first = datetime.combine(weeks[0].monday, datetime.min.time(), tzinfo=timezone.utc) - timedelta(hours=8)
    span = len(weeks) * 7 * 86400
    return {
        "account": rng.integers(0, len(ACCOUNTS), n),
        "post_id": np.arange(n) + 1_000_000_000_000_000,
        "published": np.sort(rng.integers(0, span, n)) + int(first.timestamp()),
        "format": rng.choice(["image", "video", "short_video"], n, p=[0.5, 0.2, 0.3]),
        "text": rng.integers(0, len(POST_TEXTS), n),
        "views": rng.lognormal(8, 1.2, n).astype(np.int64),
        "likes": rng.lognormal(4.5, 1.1, n).astype(np.int64),
        "shares": rng.lognormal(2, 1.0, n).astype(np.int64),
        "saves": rng.lognormal(2, 1.0, n).astype(np.int64),
        "comments": rng.poisson(COMMENTS_PER_POST, n),
    }


def _grown(final: np.ndarray, age_days: np.ndarray) -> np.ndarray:
    """A metric ``age_days`` after publication: most of it comes in the first days."""
    return (final * (1 - np.exp(-np.maximum(age_days, 0) / 2.0))).astype(np.int64)


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc)


def _post_csv(account: Account, posts: dict, rows: np.ndarray, retrieved: datetime) -> bytes:
    age = (retrieved.timestamp() - posts["published"][rows]) / 86400
    views, likes = _grown(posts["views"][rows], age), _grown(posts["likes"][rows], age)
    shares, saves = _grown(posts["shares"][rows], age), _grown(posts["saves"][rows], age)
    comments = _grown(posts["comments"][rows], age)
    table = [FB_HEADER if account.platform == "facebook" else IG_HEADER]
    for i, r in enumerate(rows):
        post_id, fmt = str(posts["post_id"][r]), posts["format"][r]
        published = (_instant(posts["published"][r]) + META_OFFSET).strftime("%m/%d/%Y %H:%M")
        text = POST_TEXTS[posts["text"][r]]
        reach = int(views[i] * 0.7)
        if account.platform == "facebook":
            kind = {"image": "Photos", "video": "Videos", "short_video": "Reels"}[fmt]
            table.append([post_id, account.id, account.handle, text if fmt == "image" else "Video", "" if fmt == "image" else text,
                          0 if fmt == "image" else 95, published, "N/A",
                          f"https://www.facebook.com/{account.handle}/posts/{post_id}", 0, 0, kind, "", "", "", "",
                          "Lifetime", views[i], reach, likes[i] + comments[i] + shares[i], likes[i], comments[i], shares[i],
                          likes[i] // 10, likes[i] // 20, likes[i] // 30, 0, 0, "", "", "", ""])
        else:
            kind = {"image": "IG image", "video": "IG reel", "short_video": "IG reel"}[fmt]
            table.append([post_id, account.id, account.handle, account.handle, text, 0 if fmt == "image" else 30,
                          published, f"https://www.instagram.com/p/{post_id}/", kind, "", "Lifetime", views[i], likes[i],
                          shares[i], comments[i], saves[i], reach, likes[i] // 50])
    return ("\ufeff" + csv_text(table, quoting="meta")).encode("utf-8")


# -- comments --------------------------------------------------------------------------------------------


def _texts(rng: np.random.Generator, n: int) -> list[str]:
    languages = rng.choice(list(LANGUAGE_WEIGHTS), n, p=list(LANGUAGE_WEIGHTS.values()))
    out = []
    picks = rng.integers(0, 1 << 30, (n, 3))
    for language, (a, b, c) in zip(languages, picks):
        opener, subject, close = PARTS[language]
        out.append(f"{opener[a % len(opener)]}, {subject[b % len(subject)]} {close[c % len(close)]} "
                   f"{'!' * (a % 3)}{c % 97}")
    return out


def _graph_time(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _comment_dump(account: Account, posts: dict, rows: np.ndarray, retrieved: datetime) -> tuple[bytes, int, int]:
    """One page per post of ``rows`` (its comments written before ``retrieved``), one page per line;
    with the comments written and how many of them are new since the previous week's dump."""
    lines = []
    written = new = 0
    last_week = retrieved - timedelta(days=7)
    for r in rows:
        post_id = int(posts["post_id"][r])
        rng = np.random.default_rng(SEED + post_id % 1_000_003)  # the same comments in every dump of the post
        count = int(posts["comments"][r])
        created = [_instant(posts["published"][r] + s) for s in rng.exponential(86400 * 1.5, count).astype(np.int64)]
        texts = _texts(rng, count)
        likes = rng.poisson(3, count)
        answered = rng.random(count) < (PAGE_REPLY_SHARE if account.role == "owned" else 0)
        delays = rng.exponential(6 * 3600, count)
        items = []
        for k in range(count):
            if created[k] >= retrieved:
                continue
            age = (retrieved - created[k]).total_seconds() / 86400
            reply_at = created[k] + timedelta(seconds=int(delays[k]))
            items.append(_comment(account, post_id, k, created[k], texts[k], int(likes[k] * min(1.0, 0.4 + age / 7)),
                                  reply_at if answered[k] and reply_at < retrieved else None))
            written += 1 + int(bool(answered[k]) and reply_at < retrieved)
            new += int(created[k] >= last_week)
        edge = f"{account.id}_{post_id}" if account.platform == "facebook" else str(post_id)
        lines.append(json.dumps({"data": items, "paging": {
            "cursors": {"before": "QVFIa", "after": "QVFIb"},
            "next": f"{GRAPH}/{edge}/comments?access_token=access_token&limit=100&after=QVFIb"}},
            ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode("utf-8"), written, new


def _comment(account: Account, post_id: int, k: int, created: datetime, text: str, likes: int,
             reply_at: datetime | None) -> dict:
    author = f"{(post_id * 31 + k * 7) % 900_000 + 100_000}"
    if account.platform == "facebook":
        item = {"id": f"{post_id}_{k + 1}", "created_time": _graph_time(created), "message": text, "like_count": likes,
                "comment_count": int(reply_at is not None), "from": {"name": f"fan{author}", "id": author}}
        if reply_at is not None:
            item["comments"] = {"data": [{"id": f"{post_id}_{k + 1}_1", "created_time": _graph_time(reply_at),
                                          "message": "Thank you! Welcome to Chongqing!", "like_count": 0,
                                          "from": {"name": account.handle, "id": account.id}}]}
        return item
    item = {"id": f"{post_id}{k + 1:04d}", "timestamp": _graph_time(created), "text": text, "like_count": likes,
            "username": f"fan{author}", "from": {"id": author, "username": f"fan{author}"}}
    if reply_at is not None:
        item["replies"] = {"data": [{"id": f"{post_id}{k + 1:04d}1", "timestamp": _graph_time(reply_at),
                                     "text": "Thank you! Welcome to Chongqing!", "username": account.handle,
                                     "from": {"id": account.id, "username": account.handle}, "like_count": 0}]}
    return item


# -- public mentions and search ------------------------------------------------------------------------


def _mentions(rng: np.random.Generator, week, retrieved: datetime, count: int, n: int) -> tuple[bytes, int]:
    """The week's public posts mentioning the city, as twarc2 saves X API v2 search pages (100 a page)."""
    start = datetime.combine(week.monday, datetime.min.time(), tzinfo=timezone.utc)
    pages = []
    for first in range(0, count, 100):
        tweets, users = [], []
        for i in range(first, min(first + 100, count)):
            tweet_id = str(1_900_000_000_000_000_000 + n * 1_000_000 + i)
            user = str(5_000_000 + int(rng.integers(0, 2_000_000)))
            created = start + timedelta(seconds=int(rng.integers(0, 7 * 86400)))
            tweets.append({"id": tweet_id, "text": MENTION_TEXTS[int(rng.integers(0, len(MENTION_TEXTS)))],
                           "author_id": user, "conversation_id": tweet_id, "lang": "en",
                           "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                           "public_metrics": {"retweet_count": int(rng.poisson(2)), "reply_count": int(rng.poisson(1)),
                                              "like_count": int(rng.poisson(10)), "quote_count": 0,
                                              "impression_count": int(rng.poisson(400))}})
            users.append({"id": user, "username": f"traveller{user}", "name": f"Traveller {user}"})
        pages.append(json.dumps({"data": tweets, "includes": {"users": users}, "meta": {"result_count": len(tweets)},
                                 "__twarc": {"url": "https://api.twitter.com/2/tweets/search/recent",
                                             "version": "2.14.0", "retrieved_at": retrieved.isoformat()}},
                                ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(pages) + "\n").encode("utf-8"), count


def _search_zip(week, day: date, scale: float) -> bytes:
    """The site's Search Console performance export for the week."""
    rng = np.random.default_rng(SEED + day.toordinal())
    queries = max(10, round(1000 * min(scale, 1.0)))

    def rows(header: str, names: list[str]) -> list[list]:
        impressions = rng.integers(10, 5000, len(names))
        clicks = (impressions * rng.uniform(0.01, 0.2, len(names))).astype(int)
        return [[header, "Clicks", "Impressions", "CTR", "Position"]] + [
            [name, int(c), int(i), f"{100 * c / i:.2f}%", f"{rng.uniform(1, 40):.2f}"]
            for name, c, i in zip(names, clicks, impressions)]

    days = [week.monday + timedelta(days=d) for d in range(7)]
    topics = ("travel", "hotpot", "night", "metro")
    tables = {
        "Queries.csv": rows("Top queries", [f"chongqing {topics[k % 4]} {k}" for k in range(queries)]),
        "Pages.csv": rows("Top pages", [f"https://www.ichongqing.info/page/{k}" for k in range(100)]),
        "Countries.csv": rows("Country", ["United States", "India", "United Kingdom", "Germany", "France", "Pakistan"]),
        "Devices.csv": rows("Device", ["Mobile", "Desktop", "Tablet"]),
        "Chart.csv": rows("Date", [d.isoformat() for d in days]),
        "Filters.csv": [["Filter", "Value"], ["Search type", "Web"],
                        ["Date", f"{days[0]:%b} {days[0].day}, {days[0].year}-{days[-1]:%b} {days[-1].day}, {days[-1].year}"]],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, table in tables.items():
            info = zipfile.ZipInfo(name, date_time=(day.year, day.month, day.day, 0, 0, 0))
            archive.writestr(info, csv_text(table, trailing_newline=False).encode("utf-8"))
    return buffer.getvalue()


if __name__ == "__main__":
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("var/bench/reference")
    print(json.dumps(write_reference(target, float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)))
