"""TikTok Studio: Content, Overview, FollowerHistory and FollowerTopTerritories exports."""

from __future__ import annotations

import re
from datetime import date, timedelta

from cityimage.sample.encode import BOM, csv_text
from cityimage.sample.files import Emitter
from cityimage.sample.model import Account, Drop, World, lognormal, stream


def _day(day: date) -> str:
    return f"{day:%B} {day.day}"  # TikTok writes dates without a year


def _csv(rows: list[list]) -> bytes:
    return (BOM + csv_text(rows, quoting="all", trailing_newline=False)).encode("utf-8")


def write(world: World, drop: Drop, out: Emitter) -> None:
    for account in world.accounts:
        if account.platform != "tiktok":
            continue
        at = drop.retrieved_at
        posts = [p for p in world.posts if p.account is account and drop.covers(p.published_at)]
        rows: list[list] = [["Time", "Video title", "Video link", "Post time", "Total likes", "Total comments",
                             "Total shares", "Total views"]]
        for post in sorted(posts, key=lambda p: (-p.metric("views", at), p.post_id)):
            posted = world.local(post.published_at).date()
            # Figures TikTok has not computed yet come out as the literal "undefined".
            shares = "undefined" if posted == drop.window_end else post.metric("shares", at)
            rows.append([_day(drop.day), re.sub(r"\s*\n+\s*", " ", post.text),
                         f"https://www.tiktok.com/@{account.handle}/video/{post.post_id}", _day(posted),
                         post.metric("likes", at), post.metric("comments", at), shares, post.metric("views", at)])
        out.emit(drop, "tiktok", account.handle, "Content.csv", _csv(rows), "tiktok_content", items=len(rows) - 1)

        days = []
        day = drop.window_start
        while day <= drop.window_end:
            days.append(day)
            day += timedelta(days=1)
        every = [p for p in world.posts if p.account is account]
        overview: list[list] = [["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"]]
        for day in days:
            total = lambda name: sum(world.daily_delta(p, name, day) for p in every)  # noqa: E731
            overview.append([_day(day), total("views"), total("profile_views"), total("likes"), total("comments"),
                             total("shares")])
        out.emit(drop, "tiktok", account.handle, "Overview.csv", _csv(overview), "tiktok_overview", items=len(days))

        history: list[list] = [["Date", "Followers", "Difference in followers from previous day"]]
        first_drop = drop is world.drops[0]
        for index, day in enumerate(days):
            followers = account.followers[day]
            previous = account.followers.get(day - timedelta(days=1), followers)
            value = "undefined" if first_drop and index < 2 else followers
            history.append([_day(day), value, followers - previous])
        out.emit(drop, "tiktok", account.handle, "FollowerHistory.csv", _csv(history), "tiktok_follower_history",
                 items=len(days))

        territories = _territories(world, account, drop)
        out.emit(drop, "tiktok", account.handle, "FollowerTopTerritories.csv", _csv(territories),
                 "tiktok_follower_territories", items=len(territories) - 1)


def _territories(world: World, account: Account, drop: Drop) -> list[list]:
    rng = stream(world.seed, "tiktok-territories", account.handle, drop.folder)
    base = world.content["tiktok_territories"][account.handle]
    shares = {code: float(v) * lognormal(rng, 0.08) for code, v in base.items()}
    rows: list[list] = [["Top territories", "Distribution"]]
    listed = 0.0
    for code in sorted(shares, key=lambda c: (-shares[c], c)):
        value = round(shares[code], 3)
        listed += value
        rows.append([code, f"{value:.3f}"])
    rows.append(["Others", f"{max(0.0, 1 - listed):.3f}"])
    return rows
