"""The simulated world behind the sample inbox: accounts, posts, comments, mentions and series.

Everything here is decided once, from the seed, before any file is written: who posted what and
when, each post's metrics as a growth curve, every comment with its author, act, language and the
account's reply (if any), the public's posts about the city, follower series and search
performance. The writers (one module per platform) only look at this world through a drop's
window; the truth is computed from the same objects, never by reading files back.

Randomness comes from named streams (``stream(seed, "posts", platform, handle)``) so adding a
consumer in one corner never shifts the numbers in another, and nothing depends on the clock, hash
seeds or set order.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import yaml

from cityimage.profile import CityProfile, load_profile
from cityimage.vocabulary import PLATFORMS
from cityimage.settings import DEFAULT_PROFILE
from cityimage.weeks import Week

UTC = timezone.utc
CONTENT_PATH = Path(__file__).with_name("content.yaml")
TWITTER_EPOCH_MS = 1288834974657
ACTS = ("praise", "question", "intent", "complaint", "neutral", "spam")
# Hours for a post's metrics to reach 63 % of their final value, per platform.
TAU_HOURS = {"facebook": 20.0, "instagram": 24.0, "youtube": 96.0, "x": 8.0, "tiktok": 48.0}
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def load_content(path: Path | None = None) -> dict:
    """The templates and knobs of the sample (``content.yaml``)."""
    with (path or CONTENT_PATH).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def stream(seed: int, *parts: object) -> random.Random:
    """An independent, reproducible random stream named by its parts (string seeds are hashed
    with SHA-512 by ``random``, so the stream does not depend on PYTHONHASHSEED)."""
    return random.Random("/".join(str(p) for p in (seed, *parts)))


def weighted(rng: random.Random, weights: dict) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[float(weights[k]) for k in keys], k=1)[0]


def quota(rng: random.Random, weights: dict, n: int) -> list[str]:
    """Exactly ``n`` draws whose counts follow ``weights`` (largest remainder), in random order.

    Used for themes and formats so a seed cannot, by bad luck, make the city's culture share or
    image share wander away from the story the sample is meant to tell.
    """
    total = sum(float(v) for v in weights.values())
    exact = {k: n * float(v) / total for k, v in weights.items()}
    counts = {k: int(math.floor(x)) for k, x in exact.items()}
    rest = n - sum(counts.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - counts[k]), list(weights).index(k)))[:rest]:
        counts[key] += 1
    out = [k for k in weights for _ in range(counts[k])]
    rng.shuffle(out)
    return out


def how_many(rng: random.Random, mean: float) -> int:
    """A count with the given mean: Poisson for small means, a rounded normal for large ones."""
    if mean <= 0:
        return 0
    if mean > 60:
        return max(0, int(round(rng.gauss(mean, math.sqrt(mean)))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def scaled_count(rng: random.Random, mean: float) -> int:
    """``mean`` rounded stochastically (2.3 → 2 or 3), for per-week volumes times ``scale``."""
    base = int(math.floor(mean))
    return base + (1 if rng.random() < mean - base else 0)


def lognormal(rng: random.Random, sigma: float) -> float:
    return math.exp(rng.gauss(-sigma * sigma / 2, sigma))


# ---------------------------------------------------------------------------------------------
# Entities


@dataclass(eq=False)
class Person:
    """Anyone who writes: a public user, a spammer, a media outlet or a registered account."""

    platform: str
    id: str
    name: str
    username: str
    language: str
    role: str  # public, spam, media, owned, benchmark
    created_at: datetime
    followers: int


@dataclass(eq=False)
class Account:
    platform: str
    handle: str
    id: str
    role: str
    city: str | None
    display_name: str
    params: dict
    person: Person
    followers: dict[date, int] = field(default_factory=dict)
    gained: dict[date, int] = field(default_factory=dict)
    lost: dict[date, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.handle}"


@dataclass(eq=False)
class Comment:
    platform: str
    comment_id: str
    post: "Post"
    author: Person
    text: str
    created_at: datetime
    act: str  # praise … spam for the public's comments; reply, followup, answer for the rest
    language: str
    parent: "Comment | None" = None
    reply_to: "Comment | None" = None
    is_spam: bool = False
    is_hidden: bool = False
    removed: bool = False
    like_count: int = 0
    by_account: bool = False
    late: bool = False
    replies: list["Comment"] = field(default_factory=list)

    @property
    def top_level(self) -> bool:
        return self.parent is None

    def account_reply(self) -> "Comment | None":
        """The account's first reply to this comment, if it gave one."""
        for reply in self.replies:
            if reply.by_account and (reply.reply_to is self or reply.reply_to is None):
                return reply
        return None


@dataclass(eq=False)
class Post:
    platform: str
    account: Account
    post_id: str
    published_at: datetime
    week: Week
    theme: str
    format: str  # image, carousel, video, short_video, live, text
    language: str
    title: str
    text: str
    place: str
    asset: str | None = None
    duration_s: int = 0
    final: dict[str, float] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    tau_h: float = 24.0
    is_live: bool = False
    live: dict | None = None
    extra: dict = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)

    def progress(self, at: datetime) -> float:
        """Share of the final metrics reached at ``at`` (0 before publication)."""
        hours = (at - self.published_at).total_seconds() / 3600
        return 0.0 if hours <= 0 else 1.0 - math.exp(-hours / self.tau_h)

    def metric(self, name: str, at: datetime) -> int:
        return int(math.floor(self.final.get(name, 0.0) * self.progress(at)))

    def all_comments(self) -> Iterator[Comment]:
        for top in self.comments:
            yield top
            yield from top.replies

    def comment_count(self, at: datetime, direct_only: bool = False) -> int:
        """Comments visible at ``at``: all of them (Facebook, Instagram, YouTube) or only direct
        replies (X's reply_count). TikTok has no comment objects; its count is a curve."""
        if self.platform == "tiktok":
            return self.metric("comments", at)
        items = self.comments if direct_only else list(self.all_comments())
        return sum(1 for c in items if c.created_at < at and not c.removed)

    def engagements(self, at: datetime) -> int:
        """E as KPIS.md defines it per platform."""
        comments = self.comment_count(at, direct_only=self.platform == "x")
        m = lambda name: self.metric(name, at)  # noqa: E731
        if self.platform == "facebook":
            return m("reactions") + comments + m("shares")
        if self.platform == "instagram":
            return m("likes") + comments + m("saves") + m("shares")
        if self.platform == "x":
            return m("likes") + comments + m("reposts") + m("quotes")
        return m("likes") + comments + m("shares")


@dataclass(eq=False)
class Mention:
    """A public (or media) post on X that mentions the city."""

    post_id: str
    author: Person
    created_at: datetime
    text: str
    language: str
    labels: list[str]
    place: str
    metrics: dict[str, int]
    is_media: bool


@dataclass(frozen=True)
class Drop:
    """One Monday's downloads: exports of the last ``window`` days, taken just after midnight."""

    week: Week
    day: date
    cutoff: datetime  # Monday 00:00 in the reporting zone, as UTC
    retrieved_at: datetime  # when the script ran; events before it are in the drop
    window_start: date
    window_end: date
    window_start_utc: datetime

    def covers(self, instant: datetime) -> bool:
        return self.window_start_utc <= instant < self.cutoff

    @property
    def folder(self) -> str:
        return self.day.isoformat()


# ---------------------------------------------------------------------------------------------
# Ids in each platform's shape


class Ids:
    """Platform-shaped ids, unique within the world, from their own random stream."""

    def __init__(self, seed: int) -> None:
        self._rng = stream(seed, "ids")
        self._used: set[str] = set()

    def _unique(self, make) -> str:
        while True:
            value = make()
            if value not in self._used:
                self._used.add(value)
                return value

    def digits(self, n: int, prefix: str = "") -> str:
        rng = self._rng
        low, high = 10 ** (n - len(prefix) - 1), 10 ** (n - len(prefix))
        return self._unique(lambda: prefix + str(rng.randrange(low, high)))

    def chars(self, n: int, alphabet: str, prefix: str = "", suffix: str = "") -> str:
        rng = self._rng
        return self._unique(lambda: prefix + "".join(rng.choice(alphabet) for _ in range(n)) + suffix)

    def youtube_video(self, lead: str | None = None) -> str:
        rng = self._rng

        def make() -> str:
            body = "".join(rng.choice(_B64) for _ in range(10))
            if lead:
                body = lead + body[len(lead):]
            return body + rng.choice("AEIMQUYcgkosw048")

        return self._unique(make)

    def youtube_comment(self) -> str:
        rng = self._rng
        return self._unique(
            lambda: "Ug" + rng.choice("wxyz") + "".join(rng.choice(_B64[:-2]) for _ in range(19)) + "4AaABAg"
        )

    def youtube_reply(self, parent: str) -> str:
        return self.chars(22, _ALNUM, prefix=parent + ".")

    def snowflake(self, at: datetime) -> str:
        rng = self._rng
        millis = int(round(at.timestamp() * 1000)) - TWITTER_EPOCH_MS
        return self._unique(lambda: str((millis << 22) | (rng.randrange(1024) << 12) | rng.randrange(4096)))

    def tiktok_video(self, at: datetime) -> str:
        rng = self._rng
        return self._unique(lambda: str((int(at.timestamp()) << 32) | rng.getrandbits(32)))


def snowflake_time(post_id: str) -> datetime:
    millis = (int(post_id) >> 22) + TWITTER_EPOCH_MS
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


# ---------------------------------------------------------------------------------------------
# The world


class World:
    """Builds and holds every simulated object; see the module docstring."""

    def __init__(
        self,
        weeks: list[Week],
        seed: int,
        scale: float = 1.0,
        content: dict | None = None,
        profile: CityProfile | None = None,
        history_weeks: int | None = None,
    ) -> None:
        if not weeks:
            raise ValueError("write_sample_inbox needs at least one week")
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.seed = seed
        self.scale = float(scale)
        self.content = content or load_content()
        self.profile = profile or load_profile(DEFAULT_PROFILE)
        self.zone = ZoneInfo(self.content["timezones"]["reporting"])
        self.meta_zone = ZoneInfo(self.content["timezones"]["meta_business_suite"])
        self.reported: list[Week] = sorted(set(weeks))
        history = int(self.content["history_weeks"] if history_weeks is None else history_weeks)
        if history < 0:
            raise ValueError(f"history_weeks must be 0 or more, got {history}")
        self.history: list[Week] = [self.reported[0].shift(-i) for i in range(history, 0, -1)]
        self.weeks: list[Week] = self.history + self.reported
        self.ids = Ids(seed)
        self.drops = [self._drop(week) for week in self.reported]
        self.first_day = min(self.weeks[0].monday, self.drops[0].window_start)
        self.last_day = self.drops[-1].day
        self.accounts: list[Account] = []
        self.posts: list[Post] = []
        self.mentions: list[Mention] = []
        self.search: dict[str, dict] = {}
        self._people: dict[str, list[Person]] = {}
        self._usernames: set[str] = set()
        self._country_cache: dict[tuple[str, date], dict[str, int]] = {}
        self._build()

    # -- time ---------------------------------------------------------------------------------
    def local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0, 0), tzinfo=self.zone).astimezone(UTC)

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)

    def week_of(self, instant: datetime) -> Week:
        return Week.containing(instant, self.zone)

    def _drop(self, week: Week) -> Drop:
        day = week.sunday + timedelta(days=1)
        cutoff = self.local_midnight(day)
        window = int(self.content["export_window_days"])
        start = day - timedelta(days=window)
        return Drop(
            week=week,
            day=day,
            cutoff=cutoff,
            retrieved_at=cutoff + timedelta(minutes=int(self.content["drop_offset_minutes"])),
            window_start=start,
            window_end=day - timedelta(days=1),
            window_start_utc=self.local_midnight(start),
        )

    def drop_for_week(self, week: Week) -> Drop | None:
        """The drop that reports ``week``; history weeks are reported by the first drop's window."""
        for drop in self.drops:
            if drop.week == week:
                return drop
        return self.drops[0] if week < self.reported[0] else None

    def days(self) -> list[date]:
        out, day = [], self.first_day - timedelta(days=1)
        while day <= self.last_day:
            out.append(day)
            day += timedelta(days=1)
        return out

    # -- people -------------------------------------------------------------------------------
    def person(self, platform: str, language: str, rng: random.Random, role: str = "public") -> Person:
        """A new public user (or spammer) with a display name in their language."""
        c = self.content
        if role == "spam":
            display = rng.choice(c["spam_names"])
            latin = re.sub(r"[^a-z0-9]", "", display.lower())[:12]
        else:
            pool = c["people"].get(language) or c["people"]["en"]
            entry = rng.choice(pool)
            display, _, latin = entry.partition("|")
            latin = latin or re.sub(r"[^a-z]", "", display.lower().split()[0])
        username = self._username(latin, rng)
        created = datetime(2009 + rng.randrange(16), 1 + rng.randrange(12), 1 + rng.randrange(28),
                           rng.randrange(24), rng.randrange(60), rng.randrange(60), tzinfo=UTC)
        followers = int(lognormal(rng, 1.4) * (40 if role == "spam" else 260))
        pid = self._person_id(platform, created)
        person = Person(platform, pid, display, username, language, role, created, followers)
        return person

    def _username(self, latin: str, rng: random.Random) -> str:
        base = re.sub(r"[^a-z0-9_]", "", latin.lower()) or "user"
        while True:
            name = f"{base}{rng.choice(['', '_', '.'])}{rng.randrange(10, 99999)}".replace("..", ".")
            if name not in self._usernames:
                self._usernames.add(name)
                return name

    def _person_id(self, platform: str, created: datetime) -> str:
        ids = self.ids
        if platform == "facebook":
            return ids.digits(16, "1000")
        if platform == "instagram":
            return ids.digits(17, "17")
        if platform == "youtube":
            return ids.chars(22, _B64, prefix="UC")
        if platform == "x":
            if created.year >= 2019:
                return ids.snowflake(created)
            return ids.digits(9 + (created.year - 2009) // 4)
        return ids.digits(19, "7")

    def commenter(self, platform: str, language: str, rng: random.Random) -> Person:
        """A public commenter: a regular of the platform (a quarter of the time) or someone new."""
        regulars = self._people.setdefault(f"{platform}:{language}", [])
        if regulars and rng.random() < 0.25:
            return rng.choice(regulars)
        person = self.person(platform, language, rng)
        if len(regulars) < 12 * max(1, int(self.scale)):
            regulars.append(person)
        return person

    # -- text ---------------------------------------------------------------------------------
    def fill(self, template: str, rng: random.Random, **given: str) -> str:
        """Fill a template's placeholders; missing slots are drawn from content.yaml lists."""
        c = self.content

        class Slots(dict):
            def __missing__(self, key: str) -> str:
                if key == "place":
                    value = c["places"][weighted(rng, c["place_weights"])][0]
                elif key == "dish":
                    value = rng.choice(c["dishes"])
                elif key == "bench_place":
                    value = rng.choice(c["bench_places"])
                elif key == "spam_url":
                    value = rng.choice(c["spam_urls"])
                elif key == "city":
                    value = c["city_names"]["en"]
                elif key.startswith("topic"):
                    value = rng.choice(c["topics"]["scenery"])
                else:
                    raise KeyError(f"content.yaml: unknown placeholder {{{key}}} in {template!r}")
                self[key] = value
                return value

        return template.format_map(Slots(given))

    # -- build --------------------------------------------------------------------------------
    def _build(self) -> None:
        self._build_accounts()
        for account in self.accounts:
            self._build_posts(account)
        self._build_special_posts()
        self.posts.sort(key=lambda p: (p.published_at, p.platform, p.post_id))
        for post in self.posts:
            self._build_comments(post)
        self._build_followers()
        self._build_mentions()
        self._build_search()

    def _build_accounts(self) -> None:
        params = self.content["accounts"]
        for platform in PLATFORMS:
            for account in self.profile.accounts:
                if account.platform != platform or account.role not in ("owned", "benchmark"):
                    continue
                conf = params.get(platform, {}).get(account.handle)
                if conf is None:
                    raise ValueError(
                        f"content.yaml has no simulation parameters for {platform} account {account.handle!r}"
                    )
                rng = stream(self.seed, "account", platform, account.handle)
                account_id = account.id or self.ids.digits(19, "7")
                joined = datetime(2016 + rng.randrange(3), 3, 1, tzinfo=UTC)
                person = Person(platform, account_id, conf["display_name"], account.handle, "en",
                                account.role, joined, int(conf["followers"]))
                self.accounts.append(Account(platform, account.handle, account_id, account.role, account.city,
                                             conf["display_name"], conf, person))

    def account(self, platform: str, role: str) -> Account:
        for account in self.accounts:
            if account.platform == platform and account.role == role:
                return account
        raise KeyError((platform, role))

    def _publish_time(self, rng: random.Random, week: Week, platform: str, day: int | None = None,
                      at: str | None = None) -> datetime:
        day_index = rng.randrange(7) if day is None else day
        if at is None:
            minutes = rng.randrange(8 * 60, 22 * 60 + 30)
        else:
            hh, mm = at.split(":")
            minutes = int(hh) * 60 + int(mm)
        local = datetime.combine(week.monday + timedelta(days=day_index), time(0, 0), tzinfo=self.zone)
        instant = (local + timedelta(minutes=minutes, seconds=rng.randrange(60))).astimezone(UTC)
        if platform in ("facebook", "instagram"):
            # Meta writes local Pacific times without an offset: keep posts out of the repeated
            # hour when daylight saving time ends, where such a time would be ambiguous.
            naive = instant.astimezone(self.meta_zone).replace(tzinfo=None)
            zone = self.meta_zone
            if zone.utcoffset(naive.replace(fold=0)) != zone.utcoffset(naive.replace(fold=1)):
                instant += timedelta(hours=2)
        return instant

    def _build_posts(self, account: Account) -> None:
        rng = stream(self.seed, "posts", account.platform, account.handle)
        conf = account.params
        per_week = [scaled_count(rng, float(conf["posts_per_week"]) * self.scale) for _ in self.weeks]
        total = sum(per_week)
        themes = quota(rng, self.content["themes"][account.role], total)
        formats = quota(rng, conf["formats"], total)
        languages = quota(rng, self.content["post_languages"][account.role], total)
        slot = 0
        for week, count in zip(self.weeks, per_week):
            for _ in range(count):
                published = self._publish_time(rng, week, account.platform)
                self._add_post(account, rng, published, themes[slot], formats[slot], languages[slot])
                slot += 1

    def _post_text(self, account: Account, rng: random.Random, theme: str,
                   language: str) -> tuple[str, str, str]:
        c = self.content
        place_key = weighted(rng, c["place_weights"])
        place_en, place_zh, _ = c["places"][place_key]
        bench_place = rng.choice(c["bench_places"])
        role = account.role
        if language == "en":
            title_t, text_t = rng.choice(c["posts"][role][theme])
            topic = rng.choice(c["topics"][theme]) if theme in c["topics"] else ""
            slots = dict(place=place_en, bench_place=bench_place, topic=topic)
            title = self.fill(title_t, rng, **slots)
            text = self.fill(text_t, rng, **slots)
        else:
            own = c.get("post_captions_benchmark", {}) if role == "benchmark" else c["post_captions"]
            captions = own.get(language) or c["post_captions"][language]
            template = captions.get(theme) or captions["*"]
            place = place_zh if language == "zh" else place_en
            text = self.fill(template, rng, place=place, bench_place=bench_place)
            title = re.sub(r"\s*#\S+", "", text).strip()[:70]
        if role == "benchmark":
            place_key = ""
        return _capitalised(title), _capitalised(text), place_key

    def _add_post(self, account: Account, rng: random.Random, published: datetime, theme: str, fmt: str,
                  language: str, *, title: str | None = None, text: str | None = None,
                  asset: str | None = None, live: dict | None = None, duration_s: int | None = None,
                  lead: str | None = None) -> Post:
        platform = account.platform
        if title is None or text is None:
            title, text, place = self._post_text(account, rng, theme, language)
        else:
            place = ""
        if duration_s is None:
            duration_s = {"video": rng.randrange(95, 720), "short_video": rng.randrange(12, 59)}.get(fmt, 0)
        post_id, extra = self._post_id(platform, published, fmt, lead)
        post = Post(platform, account, post_id, published, self.week_of(published), theme, fmt, language,
                    title, text, place, asset=asset, duration_s=duration_s, tau_h=TAU_HOURS[platform],
                    is_live=live is not None, live=live, extra=extra)
        self._finals(post, rng)
        self.posts.append(post)
        return post

    def _post_id(self, platform: str, published: datetime, fmt: str, lead: str | None) -> tuple[str, dict]:
        ids = self.ids
        if platform == "facebook":
            post_id = ids.digits(16, "12")
            extra = {"pfbid": ids.chars(55, _ALNUM, prefix="pfbid0")}
            if fmt in ("video", "short_video", "live"):
                extra["video_id"] = ids.digits(16, "1")
            return post_id, extra
        if platform == "instagram":
            return ids.digits(17, "18"), {"shortcode": ids.chars(10, _B64, prefix="D")}
        if platform == "youtube":
            return ids.youtube_video(lead), {}
        if platform == "x":
            return ids.snowflake(published), {"tco": ids.chars(10, _ALNUM)}
        return ids.tiktok_video(published), {}

    def _finals(self, post: Post, rng: random.Random) -> None:
        """Final (saturated) metrics of a post; exports show them scaled by the post's age."""
        conf = post.account.params
        followers = float(conf["followers"])
        theme_mult = float(self.content["theme_engagement"].get(post.theme, 1.0))
        eng = float(conf["engagement_rate"]) * theme_mult * lognormal(rng, 0.3)
        reach_base = followers * float(conf["reach_rate"]) * lognormal(rng, 0.45)
        f, r = post.final, post.ratios
        fmt = post.format
        if post.platform == "facebook":
            lift = {"image": 1.0, "video": 1.3, "short_video": 1.6, "text": 0.6, "live": 1.2}
            reach = reach_base * lift.get(fmt, 1.0)
            if post.asset:
                reach *= 4
            e = reach * eng
            f.update(reach=reach, views=reach * (1.45 if fmt in ("video", "short_video", "live") else 1.15),
                     reactions=0.8 * e, shares=0.12 * e, total_clicks=reach * 0.025, hide_all=reach * 0.0004)
            f["link_clicks"] = f["total_clicks"] * 0.6 if fmt == "text" else 0.0
            f["photo_clicks"] = f["total_clicks"] * 0.5 if fmt == "image" else 0.0
            f["other_clicks"] = f["total_clicks"] - f["link_clicks"] - f["photo_clicks"]
            if post.duration_s:
                r["avg_view_s"] = post.duration_s * rng.uniform(0.12, 0.35)
                f["seconds_viewed"] = f["views"] * r["avg_view_s"]
        elif post.platform == "instagram":
            reach = reach_base * {"image": 1.0, "carousel": 1.2, "short_video": 1.8}.get(fmt, 1.0)
            e = reach * eng
            f.update(reach=reach, views=reach * rng.uniform(1.4, 2.0), likes=0.82 * e, saves=0.1 * e,
                     shares=0.06 * e, follows=reach * 0.0015)
            r["reach_blank"] = 1.0 if rng.random() < 0.04 else 0.0
        elif post.platform == "youtube":
            views = reach_base * {"video": 1.0, "short_video": 2.5}.get(fmt, 1.0)
            if post.asset:
                views = rng.uniform(40000, 220000)
            apv = rng.uniform(0.25, 0.55) if fmt != "short_video" else rng.uniform(0.6, 0.95)
            r.update(apv=apv * 100, avg_view_s=post.duration_s * apv, ctr=rng.uniform(2.5, 7.5))
            f.update(views=views, likes=views * eng * 0.8, shares=views * 0.004, subscribers=views * 0.002,
                     impressions=views * 100 / r["ctr"])
            f["watch_h"] = views * r["avg_view_s"] / 3600
            audience = self.content["audience_by_language"]
            weights = dict(audience.get(post.language) or audience["en"])
            if post.asset:
                # A language version also travels beyond its language area (finding e: 60+ countries).
                for code, share in audience["en"].items():
                    weights[code] = float(weights.get(code, 0.0)) + 0.25 * float(share)
            noisy = {code: float(share) * lognormal(rng, 0.3) for code, share in sorted(weights.items())}
            total = sum(noisy.values())
            post.extra["countries"] = {code: share / total for code, share in noisy.items()}
        elif post.platform == "x":
            imp = reach_base * {"image": 1.0, "video": 1.3, "text": 0.7}.get(fmt, 1.0)
            likes = imp * eng
            f.update(impressions=imp, likes=likes, reposts=likes * 0.22, quotes=likes * 0.03,
                     bookmarks=likes * 0.08, share=likes * 0.02, profile_visits=imp * 0.002,
                     detail_expands=imp * 0.01, url_clicks=imp * 0.003 if fmt == "text" else 0.0,
                     hashtag_clicks=imp * 0.0008, permalink_clicks=imp * 0.0005, new_follows=imp * 0.0002,
                     video_views=imp * 0.3 if fmt == "video" else 0.0,
                     media_views=imp * 0.45 if fmt != "text" else 0.0)
        else:  # tiktok
            views = reach_base * lognormal(rng, 0.6)
            likes = views * eng
            comments = how_many(rng, float(conf["comments_per_post"]) * float(
                self.content["theme_comments"].get(post.theme, 1.0)))
            f.update(views=views, likes=likes, shares=likes * 0.06, comments=comments + 0.999,
                     profile_views=views * 0.01)

    def _build_special_posts(self) -> None:
        c = self.content
        rng = stream(self.seed, "special")
        # The multi-language asset: seven versions on YouTube and on Facebook, in the second
        # reported week (the first when only one is reported).
        week = self.reported[min(1, len(self.reported) - 1)]
        asset = c["asset"]
        for index, (language, (title, text)) in enumerate(asset["versions"].items()):
            for platform in ("youtube", "facebook"):
                account = self.account(platform, "owned")
                published = self._publish_time(rng, week, platform, day=1 + index // 3,
                                               at=f"{17 + index % 3}:00")
                self._add_post(account, rng, published, "infrastructure", "video", language, title=title,
                               text=text + "\n\n" + asset["label"].replace("asset:", "#"), asset=asset["key"],
                               duration_s=int(asset["duration_s"]))
        # Livestreams, simulcast on YouTube and Facebook.
        first = self.reported[0]
        for live in c["livestreams"]:
            week = first.shift(int(live["week_index"]))
            if week not in self.weeks:
                continue
            for platform in ("youtube", "facebook"):
                account = self.account(platform, "owned")
                start = self._publish_time(rng, week, platform, day=int(live["weekday"]),
                                           at=live["start_local"])
                post = self._add_post(account, rng, start, live["theme"], "live", "en", title=live["title"],
                                      text=live["description"], live=dict(live),
                                      duration_s=int(live["duration_s"]))
                share = 1.0 if platform == "youtube" else 0.55
                post.tau_h = 20.0
                post.final.update(views=live["views"] * share, likes=live["likes"] * share)
                if platform == "youtube":
                    post.ratios.update(avg_view_s=float(live["avg_view_s"]),
                                       apv=100 * float(live["avg_view_s"]) / int(live["duration_s"]))
                    post.final["watch_h"] = live["views"] * float(live["avg_view_s"]) / 3600
                    post.final["impressions"] = post.final["views"] * 100 / post.ratios["ctr"]
                    post.final["subscribers"] = live["views"] * 0.003
                else:
                    post.final["reactions"] = live["likes"] * share
                    post.ratios["avg_view_s"] = float(live["avg_view_s"]) * 0.8
                    post.final["seconds_viewed"] = post.final["views"] * post.ratios["avg_view_s"]
                    post.extra["live_video_id"] = self.ids.digits(17, "10")
                post.extra["live_end"] = start + timedelta(seconds=int(live["duration_s"]))
        # One YouTube id in the first reported week starts with "-" and a letter: Studio writes such
        # ids with a leading space (so a spreadsheet does not read them as formulas).
        firsts = [p for p in self.posts if p.platform == "youtube" and p.account.role == "owned"
                  and p.week == self.reported[0] and not p.asset and not p.is_live]
        if firsts:
            target = firsts[0]
            self.ids._used.discard(target.post_id)
            target.post_id = self.ids.youtube_video(lead="-" + rng.choice("abcdefghijkmnpqrstuvwxyz"))
            target.extra["leading_dash"] = True

    # -- comments -----------------------------------------------------------------------------
    def _visible_deadline(self, created: datetime) -> datetime | None:
        """When the drop that reports the comment's week is taken (replies must land before it)."""
        drop = self.drop_for_week(self.week_of(created))
        if drop is None or drop.retrieved_at <= created:
            later = [d for d in self.drops if d.retrieved_at > created]
            return later[0].retrieved_at if later else None
        return drop.retrieved_at

    def _build_comments(self, post: Post) -> None:
        if post.platform == "tiktok":
            return
        c = self.content
        rng = stream(self.seed, "comments", post.platform, post.post_id)
        account = post.account
        mean = float(account.params["comments_per_post"]) * float(c["theme_comments"].get(post.theme, 1.0))
        if post.asset:
            mean *= 2.2
        if post.is_live:
            mean = 22.0
        n = how_many(rng, mean)
        horizon_h = 24.0 * float(c["comment_horizon_days"])
        policy = c["reply_policy"][account.role]
        for _ in range(n):
            lag = rng.expovariate(1 / 18.0) % horizon_h
            created = post.published_at + timedelta(hours=lag, minutes=2 + rng.randrange(30))
            act = weighted(rng, c["comment_acts"])
            if act == "spam":
                language = weighted(rng, c["spam_languages"])
                author = self.person(post.platform, language, rng, role="spam")
            else:
                language = weighted(rng, c["comment_languages"])
                author = self.commenter(post.platform, language, rng)
            templates = c["comments"][act].get(language) or c["comments"][act]["en"]
            text = self.fill(rng.choice(templates), rng)
            comment = Comment(post.platform, self._comment_id(post, at=created), post, author, text, created,
                              act, language, is_spam=act == "spam",
                              like_count=min(400, int(lognormal(rng, 1.2) * 1.5)))
            if comment.is_spam and rng.random() < float(policy["hide_spam"]):
                if post.platform in ("facebook", "instagram"):
                    comment.is_hidden = True
                else:
                    comment.removed = True  # YouTube and X: held or deleted, never exported
            post.comments.append(comment)
            if not comment.is_spam:
                self._reply(post, comment, rng, policy)
        post.comments.sort(key=lambda cm: (cm.created_at, cm.comment_id))
        for top in post.comments:
            top.replies.sort(key=lambda cm: (cm.created_at, cm.comment_id))

    def _comment_id(self, post: Post, parent: Comment | None = None, at: datetime | None = None) -> str:
        ids = self.ids
        if post.platform == "facebook":
            return f"{post.post_id}_{ids.digits(16, '1')}"
        if post.platform == "instagram":
            return ids.digits(17, "17" if ids._rng.random() < 0.5 else "18")
        if post.platform == "youtube":
            return ids.youtube_reply(parent.comment_id) if parent else ids.youtube_comment()
        return ids.snowflake(at or post.published_at)

    def _child(self, post: Post, top: Comment, author: Person, text: str, at: datetime, act: str,
               language: str, by_account: bool = False, reply_to: Comment | None = None,
               rng: random.Random | None = None) -> Comment:
        child = Comment(post.platform, "", post, author, text, at, act, language, parent=top,
                        reply_to=reply_to or top, by_account=by_account,
                        like_count=0 if rng is None else int(lognormal(rng, 1.0)))
        child.comment_id = self._comment_id(post, top, at)
        top.replies.append(child)
        return child

    def _reply(self, post: Post, comment: Comment, rng: random.Random, policy: dict) -> None:
        c = self.content
        account = post.account
        deadline = self._visible_deadline(comment.created_at)
        replied = rng.random() < float(policy["reply"].get(comment.act, 0.0))
        reply: Comment | None = None
        if replied and deadline is not None:
            low, high = (float(x) for x in policy["delay_hours"])
            delay = timedelta(hours=math.exp(rng.uniform(math.log(low), math.log(high))))
            at = comment.created_at + delay
            if at >= deadline:
                at = comment.created_at + (deadline - comment.created_at) * rng.uniform(0.3, 0.9)
            texts = c["replies"][account.role][comment.act]
            template = rng.choice(texts.get(comment.language) or texts["*"])
            text = self.fill(template, rng, place=c["places"][post.place][0] if post.place else
                             c["places"]["hongyadong"][0])
            reply = self._child(post, comment, account.person, text, at, "reply", "en", by_account=True,
                                rng=rng)
            wants_more = comment.act in ("praise", "intent", "question")
            if wants_more and rng.random() < float(c["followup_after_reply"]):
                follow_at = at + timedelta(hours=rng.uniform(0.5, 30))
                follow = c["followups"].get(comment.language) or c["followups"]["en"]
                self._child(post, comment, comment.author, rng.choice(follow), follow_at, "followup",
                            comment.language, reply_to=reply, rng=rng)
        elif not replied and rng.random() < float(policy.get("late_reply", 0.0)):
            at = comment.created_at + timedelta(days=rng.uniform(7.5, 11))
            texts = c["replies"][account.role].get(comment.act) or c["replies"][account.role]["neutral"]
            text = self.fill(rng.choice(texts.get(comment.language) or texts["*"]), rng)
            late = self._child(post, comment, account.person, text, at, "reply", "en", by_account=True,
                               rng=rng)
            late.late = True
        if comment.act == "question" and reply is None and rng.random() < float(c["peer_answer"]):
            peer = self.commenter(post.platform, "en", rng)
            at = comment.created_at + timedelta(hours=rng.uniform(1, 48))
            place = c["places"][post.place][0] if post.place else rng.choice(c["bench_places"])
            answer = self.fill(rng.choice(c["peer_answers"]["en"]), rng, place=place)
            self._child(post, comment, peer, answer, at, "answer", "en", rng=rng)

    # -- followers ----------------------------------------------------------------------------
    def _build_followers(self) -> None:
        asset_days = sorted({self.local(p.published_at).date() for p in self.posts if p.asset})
        for account in self.accounts:
            rng = stream(self.seed, "followers", account.platform, account.handle)
            total = int(account.params["followers"])
            base = float(account.params["follower_gain_per_day"])
            for day in self.days():
                bump = 1.0
                if account.role == "owned" and account.platform in ("facebook", "youtube") and asset_days:
                    if asset_days[0] <= day <= asset_days[-1] + timedelta(days=2):
                        bump = 2.6
                weekly = 1.0 + 0.25 * math.sin(day.toordinal() / 7 * 2 * math.pi)
                gained = how_many(rng, base * bump * weekly)
                lost = how_many(rng, base * 0.28)
                total += gained - lost
                account.gained[day], account.lost[day], account.followers[day] = gained, lost, total

    def daily_delta(self, post: Post, metric: str, day: date) -> int:
        """How much of ``metric`` the post gained on ``day`` (reporting zone)."""
        start, end = self.local_midnight(day), self.local_midnight(day + timedelta(days=1))
        return post.metric(metric, end) - post.metric(metric, start)

    def youtube_country_views(self, account: Account, day: date) -> dict[str, int]:
        """Views of the channel's videos on ``day`` by country: each video's daily views split over
        its audience by largest remainder, so the figures are whole numbers that add up exactly."""
        key = (account.key, day)
        cached = self._country_cache.get(key)
        if cached is not None:
            return cached
        out: dict[str, int] = {}
        for post in self.posts:
            if post.account is not account:
                continue
            views = self.daily_delta(post, "views", day)
            if views <= 0:
                continue
            for code, count in split_whole(views, post.extra["countries"]).items():
                out[code] = out.get(code, 0) + count
        self._country_cache[key] = out
        return out

    def followers_at(self, account: Account, instant: datetime) -> int:
        """Followers at the end of the day before ``instant`` (the last completed day)."""
        day = self.local(instant).date() - timedelta(days=1)
        if day in account.followers:
            return account.followers[day]
        return int(account.params["followers"])

    # -- public mentions on X -------------------------------------------------------------------
    def _build_mentions(self) -> None:
        c = self.content
        labels = c["labels"]
        label_weights = {k: v["weight"] for k, v in labels.items()}
        for week in self.reported:
            rng = stream(self.seed, "mentions", week.id)
            public = scaled_count(rng, float(c["mentions_per_week"]) * self.scale)
            media = scaled_count(rng, float(c["media_mentions_per_week"]) * self.scale)
            # Which public posts carry a label, and which label first, by quota: the labels' rank
            # order (mountain city first) then holds in every week, not only on average.
            labelled = int(round(public * (1 - float(c["unlabelled_share"]))))
            firsts = quota(rng, label_weights, labelled) + [""] * (public - labelled)
            rng.shuffle(firsts)
            for index in range(public + media):
                is_media = index >= public
                created = self._publish_time(rng, week, "x") + timedelta(minutes=rng.randrange(-480, 480))
                if self.week_of(created) != week:
                    created = self._publish_time(rng, week, "x")
                language = "en" if is_media else weighted(rng, c["mention_languages"])
                place_key = weighted(rng, c["place_weights"])
                place_en, place_zh, _ = c["places"][place_key]
                place = place_zh if language == "zh" else place_en
                city = c["city_names"][language]
                chosen: list[str] = []
                first_label = weighted(rng, label_weights) if is_media else firsts[index]
                if first_label:
                    chosen.append(first_label)
                    if not is_media and rng.random() < float(c["two_label_share"]):
                        rest = {k: v for k, v in label_weights.items() if k not in chosen}
                        chosen.append(weighted(rng, rest))
                if is_media:
                    template = rng.choice(c["media_templates"])
                    author = self._media_person(rng)
                elif chosen:
                    template = rng.choice(c["mention_templates"][language])
                    author = self.commenter("x", language, rng)
                else:
                    pool = c["mention_templates_unlabelled"]
                    template = rng.choice(pool.get(language) or pool["*"])
                    author = self.commenter("x", language, rng)
                first = labels[chosen[0]][language] if chosen else ""
                text = self.fill(template, rng, city=city, place=place, label=first)
                if len(chosen) > 1:
                    text += f" · {labels[chosen[1]][language]}"
                likes = int(lognormal(rng, 1.3) * 12)
                metrics = {
                    "retweet_count": int(likes * rng.uniform(0.05, 0.3)),
                    "reply_count": int(likes * rng.uniform(0.02, 0.15)),
                    "like_count": likes,
                    "quote_count": int(likes * rng.uniform(0.0, 0.05)),
                    "bookmark_count": int(likes * rng.uniform(0.0, 0.1)),
                    "impression_count": int(likes * rng.uniform(30, 90)) + rng.randrange(20, 400),
                }
                self.mentions.append(Mention(self.ids.snowflake(created), author, created, text, language,
                                             chosen, place_key, metrics, is_media))
        self.mentions.sort(key=lambda m: (m.created_at, m.post_id))

    def _media_person(self, rng: random.Random) -> Person:
        handle = rng.choice(self.content["media_accounts"])
        key = f"x:media:{handle}"
        if key not in self._people:
            registered = self.profile.find("x", handle, None)
            created = datetime(2010, 6, 1, tzinfo=UTC)
            pid = (registered.id if registered and registered.id else None) or self.ids.digits(9)
            self._people[key] = [Person("x", pid, handle, handle, "en", "media", created, 5_000_000)]
        return self._people[key][0]

    # -- search console -----------------------------------------------------------------------
    def _build_search(self) -> None:
        # A tracked keyword the content has no query for (another city's profile) is never searched:
        # the export leaves it out, as Search Console does for a query without impressions.
        c = self.content["search"]
        for index, week in enumerate(self.reported):
            rng = stream(self.seed, "search", week.id)
            days = [week.monday + timedelta(days=i) for i in range(7)]
            queries: dict[str, dict] = {}
            entries = list(c["queries"].items())
            for n in range(scaled_count(rng, float(c["long_tail_per_week"]) * self.scale)):
                stem = rng.choice(c["long_tail_stems"])
                entries.append((f"{stem} {n + 1}", {"impressions_per_day": rng.uniform(0.3, 6),
                                                    "position": rng.uniform(3, 70)}))
            for query, spec in entries:
                drift = 1.0 + 0.03 * index * (1 if rng.random() < 0.5 else -1) + rng.gauss(0, 0.03)
                base_pos = max(1.0, float(spec["position"]) * drift)
                daily = []
                for day in days:
                    weekly = 0.85 if day.weekday() >= 5 else 1.05
                    impressions = how_many(rng, float(spec["impressions_per_day"]) * weekly)
                    position = max(1.0, base_pos + rng.gauss(0, 0.04 * base_pos))
                    clicks = how_many(rng, impressions * ctr_at(position))
                    daily.append((day, min(clicks, impressions), impressions, position))
                impressions = sum(d[2] for d in daily)
                if impressions == 0:
                    continue
                clicks = sum(d[1] for d in daily)
                position = sum(d[2] * d[3] for d in daily) / impressions
                queries[query] = {"daily": daily, "clicks": clicks, "impressions": impressions,
                                  "position": position}
            self.search[week.id] = {"week": week, "days": days, "queries": queries}


def ctr_at(position: float) -> float:
    """A click-through curve by average position (top results take most clicks)."""
    return 0.30 * math.exp(-0.32 * (position - 1)) + 0.002


def _capitalised(text: str) -> str:
    """Templates may start with a slot ("{topic} is back!"); a sentence starts with a capital."""
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def split_whole(total: int, shares: dict[str, float]) -> dict[str, int]:
    """``total`` split over ``shares`` in whole numbers (largest remainder, ties by key order)."""
    weight = sum(shares.values())
    exact = {k: total * v / weight for k, v in shares.items()}
    out = {k: int(math.floor(x)) for k, x in exact.items()}
    rest = total - sum(out.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - out[k]), k))[:rest]:
        out[key] += 1
    return {k: v for k, v in out.items() if v}
