"""Staging to facts: one row per thing, latest export wins, every post and comment classified.

Pure: frames in, frames out. Metrics are snapshots; for each post (comment, account-day …) the value
of each column comes from the latest export that carries it, so a Data API dump and a Studio export of
the same video on different days complete each other, and restated metrics replace older ones
whatever order the files arrived in. Ties on the export instant are broken by file hash and row, so
the result never depends on load order.

Comments are the bulk of staging (a year is millions of rows), so their facts are built from pieces
that give the same rows on any batch of comments: ``comment_links`` (author, post, post account,
week), ``owner_replies`` and ``first_replies`` (the only link across comments, small), the
classification (which depends on a comment's text and language tag alone) and ``comment_facts``. The
flow (``flows/stages.py``) merges the exports of each comment in DuckDB with the same latest-export
rule, classifies each distinct text once across runs, and runs the pieces batch by batch;
:func:`build_facts` composes the same pieces over whole frames and is the reference the flow is
tested against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from cityimage.profile import CityProfile
from cityimage.tables import table
from transforms.classify import Lexicons, classify_comments, classify_posts
from transforms.model import Facts

UTC = "UTC"
REPLY_WINDOW_HOURS = 7 * 24
ASSET_TAG = re.compile(r"asset:([a-z0-9][a-z0-9_-]*)")

# Components of a post's engagements (E) per platform, per the KPI catalogue. X adds quotes when the
# export has them (older exports do not), all others are required: a missing one makes E missing.
ENGAGEMENT_COMPONENTS: dict[str, tuple[str, ...]] = {
    "facebook": ("likes", "comments", "shares"),
    "instagram": ("likes", "comments", "saves", "shares"),
    "youtube": ("likes", "comments", "shares"),
    "x": ("likes", "comments", "shares"),
    "tiktok": ("likes", "comments", "shares"),
}

#: What :func:`comment_links` reads of each merged comment: no text, so a pass over all comments is light.
LINK_COLUMNS = ("platform", "comment_id", "post_id", "parent_post_id", "parent_comment_id", "author_id",
                "author_name", "created_at")
#: What :func:`comment_facts` needs of each comment besides its links and its classification.
FACT_COLUMNS = (*LINK_COLUMNS, "text", "is_hidden")


@dataclass(frozen=True)
class Staging:
    """The staging tables read whole from the warehouse, one frame per entity, comments excepted.

    Comments come apart: merged per comment (:func:`latest_comments`, or DuckDB in the flow) and, in
    the flow, in batches.
    """

    post: pl.DataFrame
    account_day: pl.DataFrame
    audience: pl.DataFrame
    search: pl.DataFrame


@dataclass(frozen=True)
class BaseFacts:
    """The fact tables that do not depend on comments; the comment facts and accounts complete them."""

    fct_post: pl.DataFrame
    fct_post_metric_snapshot: pl.DataFrame
    fct_mention: pl.DataFrame
    fct_livestream: pl.DataFrame
    fct_follower_day: pl.DataFrame
    fct_audience_country: pl.DataFrame
    fct_search_query: pl.DataFrame

    def complete(self, fct_comment: pl.DataFrame, dim_account: pl.DataFrame) -> Facts:
        return Facts(
            dim_account=dim_account,
            fct_post=self.fct_post,
            fct_post_metric_snapshot=self.fct_post_metric_snapshot,
            fct_comment=fct_comment,
            fct_mention=self.fct_mention,
            fct_livestream=self.fct_livestream,
            fct_follower_day=self.fct_follower_day,
            fct_audience_country=self.fct_audience_country,
            fct_search_query=self.fct_search_query,
        )


def build_facts(staging: Staging, stg_comment: pl.DataFrame, profile: CityProfile, lexicons: Lexicons,
                zone: ZoneInfo) -> Facts:
    """Every fact and dimension table from whole staging frames; deterministic for the same staging content."""
    base = base_facts(staging, profile, lexicons, zone)
    links = comment_links(latest_comments(stg_comment), base.fct_post, account_keys(profile), zone)
    classified = classify_comments(links.select("comment_id", "platform", "text", "language_raw"), lexicons)
    fct_comment = comment_facts(links, first_replies(owner_replies(links)), classified)
    return base.complete(fct_comment, dim_account(profile, base.fct_post, comment_authors(links)))


def base_facts(staging: Staging, profile: CityProfile, lexicons: Lexicons, zone: ZoneInfo) -> BaseFacts:
    """Every fact table but the comments' and the accounts': posts (classified), their snapshots and the rest."""
    accounts = account_keys(profile)
    stg_post = canonical_posts(staging.post)
    posts = _latest(_with_account_key(stg_post, accounts), ["platform", "post_id"])
    fct_post = _post_facts(posts, profile, lexicons, zone, accounts)
    return BaseFacts(
        fct_post=fct_post,
        fct_post_metric_snapshot=post_metric_snapshots(stg_post, posts),
        fct_mention=_mentions(fct_post, lexicons),
        fct_livestream=_livestreams(fct_post, posts, zone),
        fct_follower_day=_follower_days(staging.account_day, accounts),
        fct_audience_country=_audience(staging.audience, accounts),
        fct_search_query=_search(staging.search),
    )


def _bare_post_id(column: str) -> pl.Expr:
    """A Facebook post id without its page prefix: the Graph API writes ``<page>_<post>`` where
    Business Suite writes the bare post id, and comments refer to the bare one."""
    return (
        pl.when(pl.col("platform") == "facebook")
        .then(pl.col(column).str.split("_").list.last())
        .otherwise(pl.col(column))
        .alias(column)
    )


def canonical_posts(stg_post: pl.DataFrame) -> pl.DataFrame:
    """One id per Facebook post, whichever export named it.

    Bare post ids (see :func:`_bare_post_id`); and a live video object has an id of its own, sharing
    only the video permalink with its post. Comments refer to the post id, so that is the one kept.
    """
    return _unify_live_videos(stg_post.with_columns(_bare_post_id("post_id")))


def _unify_live_videos(posts: pl.DataFrame) -> pl.DataFrame:
    video = pl.col("post_url").str.extract(r"facebook\.com/[^/]+/videos/(\d+)", 1)
    from_live_object = pl.col("source_format").str.contains("live_videos")
    post_ids = (
        posts.filter((pl.col("platform") == "facebook") & ~from_live_object)
        .with_columns(video.alias("__video"))
        .filter(pl.col("__video").is_not_null())
        .group_by("__video")
        .agg(pl.col("post_id").min().alias("__post_id"))
    )
    return (
        posts.with_columns(pl.when(pl.col("platform") == "facebook").then(video).alias("__video"))
        .join(post_ids, on="__video", how="left")
        .with_columns(post_id=pl.coalesce("__post_id", "post_id"))
        .drop("__video", "__post_id")
    )


# -- accounts ----------------------------------------------------------------------------------


def account_keys(profile: CityProfile) -> pl.DataFrame:
    """Registered accounts with their key and role, matchable by id or lower-case handle."""
    return pl.DataFrame(
        {
            "platform": [a.platform for a in profile.accounts],
            "handle_lc": [a.handle.lower() for a in profile.accounts],
            "registered_id": [a.id for a in profile.accounts],
            "account_key": [a.key for a in profile.accounts],
            "role": [a.role for a in profile.accounts],
            "city": [a.city for a in profile.accounts],
            "handle": [a.handle for a in profile.accounts],
        },
        schema={"platform": pl.String, "handle_lc": pl.String, "registered_id": pl.String, "account_key": pl.String,
                "role": pl.String, "city": pl.String, "handle": pl.String},
    )


def _resolve(frame: pl.DataFrame, accounts: pl.DataFrame, id_col: str, name_col: str, out: str) -> pl.DataFrame:
    """Key and role of the account behind ``id_col``/``name_col``: registered by id, then by handle, else public."""
    by_id = accounts.filter(pl.col("registered_id").is_not_null()).select(
        "platform", pl.col("registered_id").alias(id_col), pl.col("account_key").alias("__key_id"), pl.col("role").alias("__role_id")
    )
    by_name = accounts.select(
        "platform", pl.col("handle_lc").alias("__name_lc"), pl.col("account_key").alias("__key_name"), pl.col("role").alias("__role_name")
    )
    name_lc = pl.col(name_col).str.strip_chars().str.strip_prefix("@").str.to_lowercase()
    public_key = pl.concat_str([pl.col("platform"), pl.lit(":"), pl.coalesce(pl.col(name_col), pl.col(id_col))])
    return (
        frame.with_columns(name_lc.alias("__name_lc"))
        .join(by_id, on=["platform", id_col], how="left", nulls_equal=False)
        .join(by_name, on=["platform", "__name_lc"], how="left", nulls_equal=False)
        .with_columns(
            pl.coalesce("__key_id", "__key_name", public_key).alias(out),
            pl.coalesce("__role_id", "__role_name", pl.lit("public")).alias(f"{out}_role"),
        )
        .drop("__name_lc", "__key_id", "__role_id", "__key_name", "__role_name")
    )


def _with_account_key(posts: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    return _resolve(posts, accounts, "account_id", "account_handle", "account_key").rename({"account_key_role": "role"})


# -- latest-wins merge -------------------------------------------------------------------------


def _latest(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """One row per key; each column from the latest export where it is not null."""
    ordered = frame.sort(["exported_at", "source_file_sha256", "source_row"], nulls_last=False)
    others = [c for c in frame.columns if c not in key]
    merged = ordered.group_by(key, maintain_order=True).agg(
        [pl.col(c).drop_nulls().last().alias(c) for c in others] + [pl.len().alias("__snapshots")]
    )
    return merged.sort(key)


def engagements(platform: pl.Expr | str = "platform") -> pl.Expr:
    """E per the catalogue: the platform's components summed; null when one is missing."""
    platform = pl.col(platform) if isinstance(platform, str) else platform
    expr = pl.lit(None, pl.Int64)
    for name, parts in ENGAGEMENT_COMPONENTS.items():
        total = pl.sum_horizontal([pl.col(p) for p in parts])
        complete = pl.all_horizontal([pl.col(p).is_not_null() for p in parts])
        if name == "x":
            total = total + pl.col("quotes").fill_null(0)
        expr = pl.when(platform == name).then(pl.when(complete).then(total)).otherwise(expr)
    return expr.cast(pl.Int64)


# -- posts -------------------------------------------------------------------------------------


def _week_of(column: str, zone: ZoneInfo) -> pl.Expr:
    local = pl.col(column).dt.convert_time_zone(str(zone))
    return pl.concat_str(
        [local.dt.iso_year().cast(pl.String), pl.lit("-W"), local.dt.week().cast(pl.String).str.zfill(2)]
    )


def _post_facts(posts: pl.DataFrame, profile: CityProfile, lexicons: Lexicons, zone: ZoneInfo, accounts: pl.DataFrame) -> pl.DataFrame:
    classified = classify_posts(posts.select("post_id", "platform", "title", "text", "language_raw"), lexicons, profile.city_terms())
    asset = pl.concat_str([pl.col("custom_labels"), pl.col("title"), pl.col("text")], separator=" ", ignore_nulls=True)
    return (
        posts.join(classified, on=["platform", "post_id"], how="left")
        .with_columns(
            published_week=_week_of("published_at", zone),
            engagements=engagements(),
            asset_key=asset.str.to_lowercase().str.extract(ASSET_TAG.pattern, 1),
            is_live=(pl.col("is_live").fill_null(False) | (pl.col("format") == "live").fill_null(False)),
            latest_exported_at=pl.col("exported_at"),
            snapshots=pl.col("__snapshots").cast(pl.Int32),
            classification_rules=pl.col("rules"),
        )
        .select(table("fct_post").names)
    )


def post_metric_snapshots(stg_post: pl.DataFrame, posts: pl.DataFrame) -> pl.DataFrame:
    """One row per post and export instant; exports of the same instant complete each other."""
    key = ["platform", "post_id", "exported_at"]
    per_instant = _latest(stg_post.filter(pl.col("exported_at").is_not_null()), key)
    known = posts.select("platform", "post_id", "account_key", pl.col("published_at").alias("__published"))
    return (
        per_instant.drop("account_key", strict=False)
        .join(known, on=["platform", "post_id"], how="inner")
        .with_columns(
            age_days=(pl.col("exported_at") - pl.col("__published")).dt.total_seconds() / 86400.0,
            engagements=engagements(),
        )
        .select(table("fct_post_metric_snapshot").names)
        .sort(key)
    )


# -- comments ----------------------------------------------------------------------------------


def latest_comments(stg_comment: pl.DataFrame) -> pl.DataFrame:
    """One row per comment, each column from its latest export that carries it, with its parent's post.

    ``parent_post_id`` is the post of the comment replied to, as that comment's merged row has it. The
    flow gets the same frame from DuckDB (``warehouse/comments.py``) without holding staging in memory.
    """
    comments = _latest(stg_comment, ["platform", "comment_id"])
    parents = comments.select(
        "platform", pl.col("comment_id").alias("parent_comment_id"), pl.col("post_id").alias("parent_post_id")
    )
    return comments.join(parents, on=["platform", "parent_comment_id"], how="left")


def comment_links(comments: pl.DataFrame, fct_post: pl.DataFrame, accounts: pl.DataFrame, zone: ZoneInfo) -> pl.DataFrame:
    """Each merged comment with its author's key, its post, the post's account and its week.

    Replies listed without their video (YouTube's comments.list) belong to their parent's post. Row by
    row given the posts and accounts, so any batch of comments gets the rows the whole would.
    """
    comments = comments.with_columns(_bare_post_id("post_id"), _bare_post_id("parent_post_id"))
    comments = _resolve(comments, accounts, "author_id", "author_name", "author_key").drop("author_key_role")
    owners = fct_post.select("platform", "post_id", pl.col("account_key").alias("post_account_key"))
    return (
        comments.with_columns(post_id=pl.coalesce("post_id", "parent_post_id"))
        .drop("parent_post_id")
        .join(owners, on=["platform", "post_id"], how="left")
        .with_columns(
            is_by_post_account=(pl.col("author_key") == pl.col("post_account_key")).fill_null(False),
            # A reply whose parent and video are unknown (YouTube's comments.list alone) is still a reply.
            is_top_level=pl.col("parent_comment_id").is_null()
            | (pl.col("parent_comment_id") == pl.col("post_id")).fill_null(False),
            created_week=_week_of("created_at", zone),
        )
    )


def owner_replies(links: pl.DataFrame) -> pl.DataFrame:
    """Replies written by the post's own account: the comment replied to and when (few rows)."""
    return links.filter(pl.col("is_by_post_account") & pl.col("parent_comment_id").is_not_null()).select(
        "platform", pl.col("parent_comment_id").alias("comment_id"), "created_at"
    )


def first_replies(replies: pl.DataFrame) -> pl.DataFrame:
    """Earliest reply by the post's account under each comment, from the ``owner_replies`` of all comments."""
    return replies.group_by("platform", "comment_id").agg(pl.col("created_at").min().alias("first_reply_at"))


def comment_authors(links: pl.DataFrame) -> pl.DataFrame:
    """The distinct authors of linked comments, as ``account_key`` and ``platform`` for :func:`dim_account`."""
    return links.select(pl.col("author_key").alias("account_key"), "platform").unique()


def classify_texts(inputs: pl.DataFrame, lexicons: Lexicons) -> pl.DataFrame:
    """The classification outcome of each distinct input (``input_sha256``, ``text``, ``language_raw``).

    A comment's outcome depends on its text and language tag alone, so the flow keeps it per input and
    classifies only the inputs it has not seen under the same classifier version.
    """
    return classify_comments(inputs, lexicons, keys=("input_sha256",))


def comment_facts(links: pl.DataFrame, first: pl.DataFrame, classified: pl.DataFrame) -> pl.DataFrame:
    """``fct_comment`` rows of linked comments, with their classification and the post account's first reply.

    ``classified``: platform, comment_id and the classifier's outcome columns; ``first``: the
    :func:`first_replies` of all comments, since a reply may sit in another batch than its parent.
    """
    return (
        links.join(classified, on=["platform", "comment_id"], how="left")
        .join(first, on=["platform", "comment_id"], how="left")
        .with_columns(
            first_reply_hours=(pl.col("first_reply_at") - pl.col("created_at")).dt.total_seconds() / 3600.0,
        )
        .with_columns(is_replied_7d=(pl.col("first_reply_hours") <= REPLY_WINDOW_HOURS).fill_null(False),
                      classification_rules=pl.col("rules"))
        .select(table("fct_comment").names)
        .sort(["platform", "comment_id"])
    )


# -- the rest ----------------------------------------------------------------------------------


def dim_account(profile: CityProfile, fct_post: pl.DataFrame, authors: pl.DataFrame) -> pl.DataFrame:
    """Registered accounts, and every other account seen publishing a post or a comment (``authors``)."""
    registered = pl.DataFrame(
        {
            "account_key": [a.key for a in profile.accounts],
            "platform": [a.platform for a in profile.accounts],
            "account_id": [a.id for a in profile.accounts],
            "account_handle": [a.handle for a in profile.accounts],
            "role": [a.role for a in profile.accounts],
            "city": [a.city for a in profile.accounts],
            "is_registered": [True] * len(profile.accounts),
        },
        schema=table("dim_account").schema,
    )
    seen = (
        pl.concat([fct_post.select("account_key", "platform"), authors.select("account_key", "platform")])
        .unique()
        .filter(~pl.col("account_key").is_in(registered["account_key"].implode()) & pl.col("account_key").is_not_null())
    )
    public = seen.with_columns(
        account_id=pl.lit(None, pl.String),
        account_handle=pl.col("account_key").str.split_exact(":", 1).struct.field("field_1"),
        role=pl.lit("public"),
        city=pl.lit(None, pl.String),
        is_registered=pl.lit(False),
    ).select(registered.columns)
    return pl.concat([registered, public]).sort("account_key")


def _mentions(fct_post: pl.DataFrame, lexicons: Lexicons) -> pl.DataFrame:
    public = fct_post.filter((pl.col("role") == "public") & pl.col("is_city_mention").fill_null(False))
    tone = classify_comments(
        public.select("post_id", "platform", "text", pl.col("language").alias("language_raw")),
        lexicons,
        keys=("post_id", "platform"),
    ).select("post_id", "platform", "sentiment", "is_spam")
    return (
        public.join(tone, on=["platform", "post_id"], how="left")
        .select(table("fct_mention").names)
        .sort(["platform", "post_id"])
    )


def _livestreams(fct_post: pl.DataFrame, posts: pl.DataFrame, zone: ZoneInfo) -> pl.DataFrame:
    live = posts.filter(pl.col("is_live").fill_null(False) | (pl.col("format") == "live").fill_null(False))
    started = pl.coalesce("live_started_at", "published_at")
    duration = pl.coalesce(
        pl.col("duration_s"), (pl.col("live_ended_at") - pl.col("live_started_at")).dt.total_seconds().cast(pl.Float64)
    )
    return (
        live.with_columns(started_at=started, ended_at=pl.col("live_ended_at"), duration_s=duration)
        .with_columns(week_id=_week_of("started_at", zone))
        .select(table("fct_livestream").names)
        .sort(["platform", "post_id"])
    )


def _follower_days(stg: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    keyed = _resolve(stg, accounts, "account_id", "account_handle", "account_key").drop("account_key_role")
    latest = _latest(keyed.drop("account_id", "account_handle", "account_key_hint"), ["account_key", "platform", "day"])
    return latest.select(table("fct_follower_day").names)


def _audience(stg: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    countries = stg.filter(pl.col("dimension") == "country")
    keyed = _resolve(countries, accounts, "account_id", "account_handle", "account_key").drop("account_key_role")
    latest = _latest(
        keyed.drop("account_id", "account_handle"), ["account_key", "platform", "post_id", "value", "window_start", "window_end"]
    )
    return latest.rename({"value": "country"}).select(table("fct_audience_country").names)


def _search(stg: pl.DataFrame) -> pl.DataFrame:
    latest = _latest(stg, ["property", "dimension", "value", "window_start", "window_end"])
    return latest.select(table("fct_search_query").names)
