"""What every KPI family shares: the week's context, the groups a KPI is reported for, row helpers.

A KPI is a function ``(ctx, group) -> list[Out]``. The group says whose data to pool: one account
(``scope='account'``) or every account of a role on a platform or on all platforms
(``scope='role'``). Roll-ups are never averages of the account rows: each KPI recomputes itself over
the pooled posts, comments or days of the group, so a ratio rolls up as a ratio of sums and a
median as the median of the pooled items.

The context turns the fact frames into small per-account Python lists once per run (the week's
posts, comments, mentions, lives; the follower series; each post's metrics at 7 days), so the KPI
functions read like their definitions. Everything here is pure and deterministic: no clock, no
randomness, every list sorted on a full key.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable, NamedTuple
from zoneinfo import ZoneInfo

import polars as pl

from cityimage.weeks import Week
from transforms.kpis.error import NONE as NO_QUALITY
from transforms.kpis.error import ClassifierQuality
from transforms.model import Facts

# -- parameters (documented in docs/kpis.md and transforms/kpi_catalogue.yaml) -----------------------

COHORT_AGE_DAYS = 7.0
"""Cohort KPIs read each post's metrics at this age."""
COHORT_MIN_AGE_DAYS = 6.0
"""A snapshot younger than this is "far below" 7 days: used only when nothing older exists, and flagged."""
POST_KEY = ["platform", "post_id"]
METRICS = ("engagements", "reach", "impressions", "views")
SNAPSHOT_FIELDS = (*POST_KEY, "exported_at", "age_days", *METRICS)
"""The columns of ``fct_post_metric_snapshot`` the KPIs read (metrics at 7 days, A6's export steps)."""
AT_7_DAYS = [pl.col(metric).alias(name) for metric, name in zip(METRICS, ("e7", "reach7", "impressions7", "views7"))]
"""A post's metrics as the KPIs name them at 7 days, from a snapshot's (or the post's own) columns."""
REPLY_WINDOW_HOURS = 7 * 24.0
"""C1/C2 count a reply within 7 days of the comment."""

MEASURED_ROLES = ("owned", "benchmark")
UNKNOWN_LANGUAGES = {"", "und", "unknown", "zxx", "mul", "not_rated", "xx"}

Item = dict[str, Any]


# -- groups and output rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Whose data a KPI row pools: one account, or every account of a role (on a platform or all)."""

    scope: str  # account | role
    role: str
    platform: str | None
    account_key: str | None
    accounts: tuple[str, ...]

    @property
    def label(self) -> str:
        if self.account_key:
            return self.account_key
        where = f" on {self.platform}" if self.platform else ""
        return f"{self.role} accounts{where}"


@dataclass
class Out:
    """One KPI row before the group's columns are added."""

    value: float | None
    unit: str
    numerator: float | None = None
    denominator: float | None = None
    n: int | None = None
    dimension: str | None = None
    status: str = "ok"
    note: str | None = None
    value_low: float | None = None   # the value's range under the classifiers' measured error (C1, C5, D3)
    value_high: float | None = None


def notes_text(notes: Iterable[str | None]) -> str | None:
    """Join notes in order, dropping empties and repeats; None when there is nothing to say."""
    seen: list[str] = []
    for note in notes:
        if note and note not in seen:
            seen.append(note)
    return "; ".join(seen) if seen else None


def ok(
    value: float | int | None,
    unit: str,
    *,
    num: float | int | None = None,
    den: float | int | None = None,
    n: int | None = None,
    dim: str | None = None,
    notes: Iterable[str | None] = (),
    flagged: bool = False,
) -> Out:
    return Out(
        value=_float(value),
        unit=unit,
        numerator=_float(num),
        denominator=_float(den),
        n=n,
        dimension=dim,
        status="flagged" if flagged else "ok",
        note=notes_text(notes),
    )


def absent(reason: str, unit: str, *, dim: str | None = None, n: int | None = None, notes: Iterable[str | None] = ()) -> Out:
    """A KPI the week's inputs cannot support: value null, never zero, and the reason."""
    return Out(value=None, unit=unit, n=n, dimension=dim, status="absent", note=notes_text([reason, *notes]))


def ratio(
    num: float | int,
    den: float | int,
    unit: str,
    *,
    reason: str,
    n: int | None = None,
    dim: str | None = None,
    scale: float = 1.0,
    notes: Iterable[str | None] = (),
    flagged: bool = False,
) -> Out:
    """``scale × num ÷ den``, or absent with ``reason`` when the denominator is 0."""
    if not den:
        return absent(reason, unit, dim=dim, n=n, notes=notes)
    return ok(scale * num / den, unit, num=num, den=den, n=n, dim=dim, notes=notes, flagged=flagged)


def with_bounds(out: Out, bounds: tuple[float, ...] | None, scale: float = 1.0) -> Out:
    """``out`` with the range its value could take under the classifiers' measured error, if any."""
    if bounds is None or out.value is None:
        return out
    out.value_low, out.value_high = _float(scale * bounds[0]), _float(scale * bounds[1])
    return out


def _float(value: float | int | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return None
    return value


def median(values: list[float]) -> float:
    """Median of a non-empty list; the mean of the two middle values for an even count."""
    return float(statistics.median(sorted(values)))


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def young_note(items: list[Item]) -> tuple[bool, str | None]:
    """Whether a cohort is young, and the note saying how young."""
    young = [p for p in items if p.get("young")]
    if not young:
        return False, None
    ages = [p["age7"] for p in young if p.get("age7") is not None]
    at = f" (latest export at {min(ages):.1f}–{max(ages):.1f} days)" if ages else ""
    return True, (
        f"{len(young)} of {plural(len(items), 'post')} measured younger than 7 days{at}: the figure will rise "
        "as later exports arrive"
    )


def missing_e_note(count: int) -> str | None:
    if not count:
        return None
    return f"{plural(count, 'post')} without E excluded (a component of E is missing from the export)"


def language_code(value: Any) -> str | None:
    """Primary language subtag in lower case (``zh-Hans`` → ``zh``); None when unknown."""
    if value is None:
        return None
    code = str(value).strip().lower().replace("_", "-").split("-")[0]
    return None if code in UNKNOWN_LANGUAGES else code


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def text_list(value: Any) -> list[str]:
    """A list column as trimmed lower-case strings (null → empty list)."""
    if value is None:
        return []
    return [str(v).strip().lower() for v in value if v is not None and str(v).strip()]


# -- coverage -------------------------------------------------------------------------------------------


@dataclass
class Coverage:
    """Which of a group's accounts have a post export that can speak for the week."""

    accounts: tuple[str, ...]
    notes: list[str] = field(default_factory=list)
    flagged: bool = False
    reason: str | None = None

    @property
    def absent(self) -> bool:
        return not self.accounts


class E7History(NamedTuple):
    """One account's posts of one format that have E at 7 days, in publication order, as parallel lists.

    Parallel sorted lists so A5 finds a post's earlier posts by bisection: a scan of the whole
    history per post was quadratic and took minutes at the reference year.
    """

    published_at: list[datetime]
    e7: list[int]


def _e7_history(posts: pl.DataFrame) -> dict[tuple[str, str | None], E7History]:
    """Per (account, format): the dated posts with E at 7 days, ordered by publication then post id."""
    dated = (posts.filter(pl.col("published_at").is_not_null() & pl.col("e7").is_not_null())
             .sort("account_key", "format_eff", "published_at", "post_id", nulls_last=True)
             .group_by("account_key", "format_eff", maintain_order=True).agg("published_at", "e7"))
    return {(key, fmt): E7History(at, e7) for key, fmt, at, e7 in dated.iter_rows()}


# -- the context ----------------------------------------------------------------------------------------


class Context:
    """The week, the accounts and the facts cut into per-account lists, built once per run."""

    def __init__(self, facts: Facts, week: Week, zone: ZoneInfo, keywords: list[tuple[str, str | None]],
                 catalogue: dict[str, dict], quality: ClassifierQuality = NO_QUALITY):
        self.week = week
        self.quality = quality
        self.zone = zone
        self.catalogue = catalogue
        self.start, self.end = week.bounds_utc(zone)
        self.monday, self.sunday = week.monday, week.sunday
        self.keywords = _unique_keywords(keywords)

        self._accounts_cache: dict[tuple[str, str | None], tuple[str, ...]] = {}
        self._load_accounts(facts)

        self._load_posts(facts)

        self.followers: dict[str, list[tuple[date, int]]] = defaultdict(list)
        for row in _sorted_dicts(facts.fct_follower_day, ["account_key", "day"]):
            if row.get("followers") is not None:
                self.followers[row["account_key"]].append((row["day"], int(row["followers"])))

        comments = _frame_utc(facts.fct_comment)
        self.comments_week: dict[str, list[Item]] = defaultdict(list)
        for row in _sorted_dicts(self._week_filter(comments, "created_at", "created_week"), ["platform", "comment_id"]):
            if row.get("post_account_key") is not None:
                self.comments_week[row["post_account_key"]].append(row)

        mentions = _frame_utc(facts.fct_mention)
        self.mention_platforms: set[str] = set(mentions["platform"].to_list()) if mentions.height else set()
        self.mention_platforms |= self.public_post_platforms
        self.mentions_week: list[Item] = _sorted_dicts(
            self._week_filter(mentions, "published_at", "published_week"), ["platform", "post_id"]
        )

        lives = _frame_utc(facts.fct_livestream)
        self.lives_week: dict[str, list[Item]] = defaultdict(list)
        for row in _sorted_dicts(self._week_filter(lives, "started_at", "week_id"), ["platform", "post_id"]):
            self.lives_week[row["account_key"]].append(row)

        self.audience: dict[str, list[Item]] = defaultdict(list)
        for row in _sorted_dicts(facts.fct_audience_country, ["account_key", "platform", "post_id", "country", "window_start", "window_end"]):
            self.audience[row["account_key"]].append(row)

        self.search: list[Item] = _sorted_dicts(
            facts.fct_search_query, ["property", "dimension", "value", "window_start", "window_end"]
        )

    # accounts ------------------------------------------------------------------------------------

    def _load_accounts(self, facts: Facts) -> None:
        """The registered accounts by key; of the public's accounts only their platforms.

        The public's accounts are every commenter and mentioner (millions at the reference year) and
        no KPI groups them one by one, so they are never turned into Python objects.
        """
        # Defensive: an account seen in the posts but missing from dim_account keeps its post role.
        known = facts.dim_account.select("account_key", "platform", "role")
        seen = facts.fct_post.select("account_key", "platform", "role").unique()
        accounts = pl.concat([known, seen.join(known, on="account_key", how="anti")], how="vertical_relaxed")
        public = pl.col("role") == "public"
        registered = accounts.filter(~public).sort("account_key")
        keys = registered["account_key"].to_list()
        self.account_platform = dict(zip(keys, registered["platform"].to_list()))
        self.account_role = dict(zip(keys, registered["role"].to_list()))
        self.public_platforms: set[str] = set(accounts.filter(public)["platform"].unique().to_list())

    def accounts_of(self, role: str, platform: str | None = None) -> tuple[str, ...]:
        """The role's registered accounts (on the platform), sorted; cached, as every KPI asks."""
        if role == "public":
            raise ValueError("the public's accounts are not listed one by one: use public_platforms")
        cache_key = (role, platform)
        if cache_key not in self._accounts_cache:
            self._accounts_cache[cache_key] = tuple(
                key for key, r in self.account_role.items()
                if r == role and (platform is None or self.account_platform[key] == platform)
            )
        return self._accounts_cache[cache_key]

    def platforms_of(self, role: str) -> list[str]:
        return sorted({self.account_platform[key] for key in self.accounts_of(role)})

    # weeks ---------------------------------------------------------------------------------------

    def in_week(self, instant: datetime | None, week_id: str | None = None) -> bool:
        """The instant falls in [Monday 00:00, next Monday 00:00) of the reporting zone.

        The instant decides; the precomputed week column is used only when the instant is missing."""
        instant = utc(instant)
        if instant is not None:
            return self.start <= instant < self.end
        return week_id == self.week.id

    def _week_filter(self, frame: pl.DataFrame, at: str, week_col: str) -> pl.DataFrame:
        if frame.height == 0:
            return frame
        start = pl.lit(self.start).cast(pl.Datetime("us", "UTC"))
        end = pl.lit(self.end).cast(pl.Datetime("us", "UTC"))
        in_bounds = (pl.col(at).cast(pl.Datetime("us", "UTC")) >= start) & (pl.col(at).cast(pl.Datetime("us", "UTC")) < end)
        by_week = pl.col(at).is_null() & (pl.col(week_col) == self.week.id)
        return frame.filter(in_bounds.fill_null(False) | by_week.fill_null(False))

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    # posts ---------------------------------------------------------------------------------------

    def _load_posts(self, facts: Facts) -> None:
        """The year's posts and metric snapshots, summed up in frames; as dicts only the posts a KPI
        looks at one by one: published in the week, exported in the week (A6), or another version of
        an asset published in the week (F3). Holding the year as dicts took gigabytes at the reference year."""
        snapshots = _frame_utc(facts.fct_post_metric_snapshot.select(
            [c for c in SNAPSHOT_FIELDS if c in facts.fct_post_metric_snapshot.columns]))
        posts = _frame_utc(facts.fct_post).with_columns(format_eff=EFFECTIVE_FORMAT)
        posts = posts.join(_metrics_at_7_days(posts, snapshots), on=POST_KEY, how="left")
        self.latest_post_export: dict[str, datetime] = _latest_exports(posts, snapshots)
        self.e7_history = _e7_history(posts)
        self.public_post_platforms: set[str] = set(posts.filter(pl.col("role") == "public")["platform"].to_list())

        in_week = self._week_filter(posts, "published_at", "published_week")
        exported = snapshots.filter(pl.col("exported_at").is_between(self.start, self.end, closed="left")).select(POST_KEY).unique()
        assets = in_week["asset_key"].drop_nulls().unique().to_list()
        looked_at = posts.filter(
            pl.struct(POST_KEY).is_in(in_week.select(pl.struct(POST_KEY)).to_series().implode())
            | pl.struct(POST_KEY).is_in(exported.select(pl.struct(POST_KEY)).to_series().implode())
            | pl.col("asset_key").is_in(assets).fill_null(False)
        )
        self.posts_week: dict[str, list[Item]] = defaultdict(list)
        self.posts_exported: dict[str, list[Item]] = defaultdict(list)
        self.asset_posts: list[Item] = []
        exported_keys = set(exported.iter_rows())
        for post in _sorted_dicts(looked_at, POST_KEY):
            if self.in_week(post.get("published_at"), post.get("published_week")):
                self.posts_week[post["account_key"]].append(post)
            if (post["platform"], post["post_id"]) in exported_keys:
                self.posts_exported[post["account_key"]].append(post)
            if post.get("asset_key") in assets:
                self.asset_posts.append(post)
        self.snapshots: dict[tuple[str, str], list[Item]] = defaultdict(list)
        for snap in _sorted_dicts(snapshots.join(exported, on=POST_KEY, how="semi"), [*POST_KEY, "exported_at"]):
            self.snapshots[(snap["platform"], snap["post_id"])].append(snap)

    def post_coverage(self, group: Group) -> Coverage:
        """Accounts whose post exports were taken after the week began; flagged when before its end."""
        if not group.accounts:
            return Coverage((), reason=f"no {group.role} account registered" + (f" on {group.platform}" if group.platform else ""))
        covered, notes, flagged, reasons = [], [], False, []
        for key in group.accounts:
            latest = self.latest_post_export.get(key)
            if latest is None:
                reasons.append(f"no post export for {key}")
            elif latest < self.start:
                reasons.append(f"the latest post export for {key} ({latest:%Y-%m-%d %H:%M} UTC) predates the week")
            else:
                covered.append(key)
                if latest < self.end:
                    flagged = True
                    notes.append(
                        f"the latest post export for {key} ({latest:%Y-%m-%d %H:%M} UTC) was taken before the week ended: "
                        "later posts are missing"
                    )
        if not covered:
            return Coverage((), reason="; ".join(reasons))
        return Coverage(tuple(covered), notes=reasons + notes, flagged=flagged)

    def week_posts(self, accounts: Iterable[str]) -> list[Item]:
        return [p for key in accounts for p in self.posts_week.get(key, [])]

    def followers_at(self, account: str, day: date) -> int | None:
        """Followers at the end of ``day``, or of the closest earlier day with a count."""
        series = self.followers.get(account, [])
        index = bisect.bisect_right([d for d, _ in series], day)
        return series[index - 1][1] if index else None

    # comments ------------------------------------------------------------------------------------

    def week_comments(self, accounts: Iterable[str]) -> list[Item]:
        """Comments written in the week under the accounts' posts, by someone other than the account."""
        return [c for key in accounts for c in self.comments_week.get(key, []) if not c.get("is_by_post_account")]

    def reply_window_open(self, comment: Item) -> bool:
        """The 7-day reply window of the comment had not closed when its account's posts were last exported."""
        latest = self.latest_post_export.get(comment.get("post_account_key", ""))
        created = comment.get("created_at")
        if latest is None or created is None:
            return False
        return latest < created + timedelta(hours=REPLY_WINDOW_HOURS)

    # mentions ------------------------------------------------------------------------------------

    def week_mentions(self, platform: str | None) -> list[Item]:
        return [m for m in self.mentions_week if platform is None or m["platform"] == platform]


EFFECTIVE_FORMAT = (
    pl.when(pl.col("is_live").fill_null(False)).then(pl.lit("live"))
    .otherwise(pl.col("format").str.strip_chars().str.to_lowercase().replace("", None))
)
"""A post's format for the KPIs: a livestream is ``live`` whatever format the export gave it."""


def _metrics_at_7_days(posts: pl.DataFrame, snapshots: pl.DataFrame) -> pl.DataFrame:
    """Each post's metrics at 7 days (e7, reach7, impressions7, views7, age7, young): the snapshot
    closest to 7 days among those at least 6 days old, the older on a tie; when every snapshot is
    younger, the oldest one, marked ``young``; with no snapshot, the post's latest metrics at the age of
    its latest export. Among equals the earlier export wins, and with no age at all the latest."""
    snaps = (
        snapshots.join(posts.select(*POST_KEY, "published_at"), on=POST_KEY, how="inner")
        .sort([*POST_KEY, "exported_at"], nulls_last=True, maintain_order=True)
        .with_row_index("order")
        .with_columns(age=pl.coalesce(pl.col("age_days").cast(pl.Float64), _days_between(pl.col("exported_at"), pl.col("published_at"))))
    )
    old, aged = pl.col("age") >= COHORT_MIN_AGE_DAYS, pl.col("age").is_not_null()
    order = pl.col("order").cast(pl.Int64)
    chosen = (
        snaps.with_columns(
            rank_class=pl.when(old).then(0).when(aged).then(1).otherwise(2),
            rank_first=pl.when(old).then((pl.col("age") - COHORT_AGE_DAYS).abs()).when(aged).then(-pl.col("age")).otherwise(0.0),
            rank_then=pl.when(old).then(-pl.col("age")).otherwise(0.0),
            rank_last=pl.when(aged).then(order).otherwise(-order),
        )
        .sort([*POST_KEY, "rank_class", "rank_first", "rank_then", "rank_last"])
        .group_by(POST_KEY, maintain_order=True).first()
        .select(*POST_KEY, *AT_7_DAYS, age7="age")
    )
    fallback = posts.join(chosen, on=POST_KEY, how="anti").select(
        *POST_KEY, *AT_7_DAYS, age7=_days_between(pl.col("latest_exported_at"), pl.col("published_at")),
    )
    both = pl.concat([chosen, fallback], how="vertical_relaxed")
    return both.with_columns(young=pl.col("age7").is_null() | (pl.col("age7") < COHORT_MIN_AGE_DAYS))



def _days_between(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Days from ``earlier`` to ``later``, as Python's ``timedelta.total_seconds() / 86400`` computes them."""
    return (later - earlier).dt.total_microseconds().cast(pl.Float64) / 1e6 / 86400.0


def _latest_exports(posts: pl.DataFrame, snapshots: pl.DataFrame) -> dict[str, datetime]:
    """Per account, its latest post export: the latest of its posts' exports and metric snapshots."""
    instants = pl.concat([
        posts.select("account_key", at="latest_exported_at"),
        snapshots.join(posts.select(*POST_KEY, "account_key"), on=POST_KEY).select("account_key", at="exported_at"),
    ], how="vertical_relaxed").drop_nulls()
    return dict(instants.group_by("account_key").agg(pl.col("at").max()).iter_rows())


def _unique_keywords(keywords: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    seen: list[tuple[str, str | None]] = []
    for keyword, region in keywords:
        item = (" ".join(keyword.split()).lower(), region)
        if item not in seen:
            seen.append(item)
    return seen


def _frame_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Every timestamp column as a UTC instant (DuckDB hands them over as ``Etc/UTC``)."""
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            col = pl.col(name)
            exprs.append((col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col.dt.convert_time_zone("UTC")).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def _sorted_dicts(frame: pl.DataFrame, keys: list[str]) -> list[Item]:
    if frame.height == 0:
        return []
    frame = _frame_utc(frame)
    present = [k for k in keys if k in frame.columns]
    rows = frame.sort(present, nulls_last=True, maintain_order=True).to_dicts() if present else frame.to_dicts()
    return rows


# -- group builders -------------------------------------------------------------------------------------

GroupsFn = Callable[[Context], list[Group]]


def measured(roles: tuple[str, ...] = MEASURED_ROLES, *, accounts: bool = True, per_platform: bool = True, all_platforms: bool = True) -> GroupsFn:
    """Account groups and role roll-ups (per platform and/or across platforms) for the roles."""

    def build(ctx: Context) -> list[Group]:
        groups: list[Group] = []
        for role in roles:
            if accounts:
                groups += [Group("account", role, ctx.account_platform[k], k, (k,)) for k in ctx.accounts_of(role)]
            if per_platform:
                groups += [Group("role", role, p, None, ctx.accounts_of(role, p)) for p in ctx.platforms_of(role)]
            if all_platforms:
                groups.append(Group("role", role, None, None, ctx.accounts_of(role)))
        return groups

    return build


def public_groups(ctx: Context) -> list[Group]:
    """The public's posts per platform (every platform with public posts or a public account) and in all."""
    platforms = sorted(ctx.mention_platforms | ctx.public_platforms)
    return [Group("role", "public", p, None, ()) for p in platforms] + [Group("role", "public", None, None, ())]


def owned_site(ctx: Context) -> list[Group]:
    """One owned roll-up across platforms: search (F4, F5) and multi-language assets (F3)."""
    return [Group("role", "owned", None, None, ctx.accounts_of("owned"))]


KpiFn = Callable[[Context, Group], list[Out]]
