"""F — reach through languages, countries and search (findings e and f)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from transforms.kpis.a_performance import _cohort
from transforms.kpis.base import (
    Context,
    Group,
    Item,
    Out,
    absent,
    language_code,
    measured,
    ok,
    owned_site,
    plural,
    ratio,
)

HOME_LANGUAGES = ("en", "zh")
COUNTRY_MIN_SHARE = 0.005
TOP_POSITION = 50  # five result pages of ten


# -- F1 -------------------------------------------------------------------------------------------------


def f1_language_breadth(ctx: Context, g: Group) -> list[Out]:
    cohort = _cohort(ctx, g, "count")
    if isinstance(cohort, Out):
        return [cohort]
    posts, notes, flagged = cohort
    codes = [language_code(p.get("language")) for p in posts]
    known = [c for c in codes if c]
    unknown = len(codes) - len(known)
    unknown_note = f"{plural(unknown, 'post')} of unknown language left out" if unknown else None
    if not known:
        return [absent(f"the language of none of the {plural(len(posts), 'post')} is known", "count", notes=notes)]
    languages = sorted(set(known))
    rows = [ok(len(languages), "count", num=len(languages), n=len(known), notes=[", ".join(languages), unknown_note, *notes],
               flagged=flagged)]
    rows.append(ratio(sum(1 for c in known if c not in HOME_LANGUAGES), len(known), "ratio", reason="", n=len(known),
                      dim="non_en_zh_share", notes=[unknown_note, *notes], flagged=flagged))
    rows += [ok(known.count(c), "count", num=known.count(c), n=len(known), dim=f"language:{c}", flagged=flagged) for c in languages]
    return rows


# -- windows ---------------------------------------------------------------------------------------------


def select_windows(windows: list[tuple[date, date]], monday: date, sunday: date) -> tuple[list[tuple[date, date]], int] | None:
    """Windows lying in the week, longest first, skipping any that overlaps one already taken.

    A weekly window wins over daily ones; seven daily windows are all taken. Returns the windows and
    the number of days they cover, or None when no window lies in the week."""
    inside = [w for w in windows if w[0] >= monday and w[1] <= sunday and w[0] <= w[1]]
    if not inside:
        return None
    picked: list[tuple[date, date]] = []
    for window in sorted(set(inside), key=lambda w: (-(w[1] - w[0]).days, w[0], w[1])):
        if all(window[1] < p[0] or window[0] > p[1] for p in picked):
            picked.append(window)
    return sorted(picked), sum((w[1] - w[0]).days + 1 for w in picked)


def _windows_text(windows: list[tuple[date, date]], limit: int = 3) -> str:
    shown = [f"{a}–{b}" for a, b in windows[:limit]]
    more = f" and {len(windows) - limit} more" if len(windows) > limit else ""
    return ", ".join(shown) + more


# -- F2 -------------------------------------------------------------------------------------------------


def _account_audience(ctx: Context, key: str) -> tuple[str, dict[str, float], list[str], bool] | str:
    """(kind 'views' or 'share', per-country figure, notes, flagged) for one account, or why not."""
    rows = ctx.audience.get(key, [])
    if not rows:
        return f"no audience-by-country export for {key}"
    account_rows = [r for r in rows if r.get("post_id") is None]
    tier = account_rows or rows
    notes = [] if account_rows else [f"{key}: summed from per-video rows"]
    windows = sorted({(r["window_start"], r["window_end"]) for r in tier})
    selected = select_windows(windows, ctx.monday, ctx.sunday)
    if selected is None:
        return f"no audience-by-country window of {key} lies in the week (windows seen: {_windows_text(windows)})"
    picked, days = selected
    flagged = days < 7
    if flagged:
        notes.append(f"{key}: audience windows cover {days} of 7 days")
    chosen = [r for r in tier if (r["window_start"], r["window_end"]) in picked]
    with_views = [r for r in chosen if r.get("views") is not None]
    if with_views:
        views: dict[str, float] = defaultdict(float)
        for row in with_views:
            views[row["country"]] += row["views"]
        return "views", dict(views), notes, flagged
    with_share = [r for r in chosen if r.get("share") is not None]
    if with_share and len(picked) == 1 and account_rows:
        shares: dict[str, float] = defaultdict(float)
        for row in with_share:
            shares[row["country"]] += row["share"]
        return "share", dict(shares), [*notes, f"{key}: audience shares (no views in the export)"], flagged
    return f"the country rows of {key} for the week have neither views nor a single distribution of shares"


def f2_country_breadth(ctx: Context, g: Group) -> list[Out]:
    if not g.accounts:
        return [absent(f"no {g.role} account registered" + (f" on {g.platform}" if g.platform else ""), "count")]
    results = {key: _account_audience(ctx, key) for key in g.accounts}
    reasons = [r for r in results.values() if isinstance(r, str)]
    usable = {k: r for k, r in results.items() if not isinstance(r, str)}
    if not usable:
        return [absent("; ".join(reasons), "count")]
    notes = list(reasons)
    if len(usable) == 1:
        kind, figures, extra, flagged = next(iter(usable.values()))
        notes += extra
    else:
        kind, figures, flagged = "views", defaultdict(float), False
        for key, (k, per_country, extra, f) in usable.items():
            if k != "views":
                notes.append(f"{key}: only audience shares, which cannot be pooled with other accounts; left out")
                continue
            notes += extra
            flagged = flagged or f
            for country, views in per_country.items():
                figures[country] += views
        if not figures:
            return [absent("no account has views by country that can be pooled", "count", notes=notes)]
    total = sum(figures.values()) if kind == "views" else 1.0
    if not total:
        return [absent("no views in the week's country rows", "count", notes=notes)]
    shares = {c: v / total for c, v in figures.items()}
    strong = sorted(c for c, s in shares.items() if s >= COUNTRY_MIN_SHARE)
    rows = [ok(len(strong), "count", num=len(strong), n=len(shares), flagged=flagged,
               notes=[f"{len(strong)} of {plural(len(shares), 'country', 'countries')} at or above 0.5 %", *notes])]
    for country in strong:
        if kind == "views":
            rows.append(ratio(figures[country], total, "ratio", reason="", n=len(shares), dim=f"country:{country}", flagged=flagged))
        else:
            rows.append(ok(shares[country], "ratio", n=len(shares), dim=f"country:{country}", flagged=flagged))
    return rows


# -- F3 -------------------------------------------------------------------------------------------------


def f3_asset_reach(ctx: Context, g: Group) -> list[Out]:
    owned = set(g.accounts)
    if not owned:
        return [absent("no owned account registered", "count")]
    assets = sorted({p["asset_key"] for p in ctx.week_posts(sorted(owned)) if p.get("asset_key")})
    if not assets:
        return [absent("no owned post published in the week carries an asset key (custom label asset:<key>)", "count")]
    rows = []
    for asset in assets:
        versions = [p for p in ctx.asset_posts if p["account_key"] in owned and p.get("asset_key") == asset]
        ids = {(p["platform"], p["post_id"]) for p in versions}
        platforms = ", ".join(sorted({p["platform"] for p in versions}))
        rows.append(ok(len(versions), "count", num=len(versions), n=len(versions), dim=f"{asset}:versions", notes=[platforms]))
        with_views = [p for p in versions if p.get("views") is not None]
        left = len(versions) - len(with_views)
        left_note = f"{plural(left, 'version')} without views excluded" if left else None
        if with_views:
            views = sum(p["views"] for p in with_views)
            rows.append(ok(views, "count", num=views, n=len(with_views), dim=f"{asset}:views",
                           notes=["views at each version's latest export, all weeks", left_note]))
        else:
            rows.append(absent("no version has views in the export", "count", dim=f"{asset}:views"))
        languages = sorted({c for c in (language_code(p.get("language")) for p in versions) if c})
        rows.append(ok(len(languages), "count", num=len(languages), n=len(versions), dim=f"{asset}:languages",
                       notes=[", ".join(languages) or None]))
        audience = [r for key in sorted(owned) for r in ctx.audience.get(key, [])
                    if r.get("post_id") is not None and (r["platform"], r["post_id"]) in ids]
        if audience:
            reached = sorted({r["country"] for r in audience if (r.get("views") or 0) > 0 or (r.get("share") or 0) > 0})
            rows.append(ok(len(reached), "count", num=len(reached), n=len(audience), dim=f"{asset}:countries",
                           notes=["countries with views in any window of the versions' per-video country rows"]))
        else:
            rows.append(absent("no per-video country rows for the asset's versions", "count", dim=f"{asset}:countries"))
    return rows


# -- F4, F5 ---------------------------------------------------------------------------------------------


def _query_rows(ctx: Context) -> tuple[list[Item], list[str], bool] | str:
    """The search export's query rows whose windows lie in the week, one set of windows per property."""
    if not ctx.search:
        return "no search-console export"
    queries = [r for r in ctx.search if r["dimension"] == "query"]
    if not queries:
        return "the search-console exports have no query rows"
    by_property: dict[str | None, list[Item]] = defaultdict(list)
    for row in queries:
        by_property[row.get("property")].append(row)
    chosen, notes, flagged, seen = [], [], False, []
    for prop in sorted(by_property, key=lambda p: (p is None, p or "")):
        rows = by_property[prop]
        windows = sorted({(r["window_start"], r["window_end"]) for r in rows})
        selected = select_windows(windows, ctx.monday, ctx.sunday)
        if selected is None:
            seen += windows
            continue
        picked, days = selected
        if days < 7:
            flagged = True
            notes.append(f"{prop or 'search'}: windows cover {days} of 7 days")
        chosen += [r for r in rows if (r["window_start"], r["window_end"]) in picked]
    if not chosen:
        return f"no search export with query rows whose window lies in the week (windows seen: {_windows_text(sorted(set(seen)))})"
    return chosen, notes, flagged


def _keyword_stats(rows: list[Item], keyword: str) -> dict | None:
    matches = [r for r in rows if " ".join(str(r["value"]).split()).lower() == keyword]
    if not matches:
        return None
    clicks = sum(r["clicks"] for r in matches if r.get("clicks") is not None)
    impressions = sum(r["impressions"] for r in matches if r.get("impressions") is not None)
    placed = [r for r in matches if r.get("position") is not None]
    position = None
    if placed and all((r.get("impressions") or 0) > 0 for r in placed):
        # Search Console's average position is impression-weighted; pooled the same way.
        position = sum(r["position"] * r["impressions"] for r in placed) / sum(r["impressions"] for r in placed)
    elif placed:
        position = sum(r["position"] for r in placed) / len(placed)
    return {"clicks": clicks, "impressions": impressions, "position": position}


def _keyword_dim(keyword: str, region: str | None) -> str:
    return f"keyword:{keyword}" + (f"@{region}" if region else "")


def _region_note(ctx: Context) -> str | None:
    if any(region for _, region in ctx.keywords):
        return "query rows carry no region: region-specific keywords are counted over all regions"
    return None


def f4_search_visibility(ctx: Context, g: Group) -> list[Out]:
    if not ctx.keywords:
        return [absent("no tracked keywords in the city profile", "score")]
    selected = _query_rows(ctx)
    if isinstance(selected, str):
        return [absent(selected, "score"), absent(selected, "ratio", dim="top50_share")]
    rows_in, notes, flagged = selected
    total_score, top, found, rows = 0.0, 0, 0, []
    for keyword, region in ctx.keywords:
        stats = _keyword_stats(rows_in, keyword)
        dim = _keyword_dim(keyword, region)
        if stats is None or stats["position"] is None:
            rows.append(ok(0.0, "score", num=0.0, den=TOP_POSITION, n=0, dim=dim, flagged=flagged,
                           notes=["not in the export: counted as beyond page 5"]))
            continue
        found += 1
        points = max(0.0, TOP_POSITION + 1 - stats["position"])
        total_score += points / TOP_POSITION
        top += stats["position"] <= TOP_POSITION
        rows.append(ratio(points, TOP_POSITION, "score", reason="", n=stats["impressions"], dim=dim, flagged=flagged,
                          notes=[f"average position {stats['position']:.2f}"]))
    k = len(ctx.keywords)
    missing = k - found
    head_notes = [f"{missing} of {plural(k, 'tracked keyword')} not in the export: counted as beyond page 5 (score 0)"
                  if missing else None, _region_note(ctx), *notes]
    rows.append(ok(total_score / k, "score", num=total_score, den=k, n=found, notes=head_notes, flagged=flagged))
    rows.append(ratio(top, k, "ratio", reason="", n=found, dim="top50_share", notes=head_notes, flagged=flagged))
    return rows


def f5_search_demand(ctx: Context, g: Group) -> list[Out]:
    if not ctx.keywords:
        return [absent("no tracked keywords in the city profile", "ratio")]
    selected = _query_rows(ctx)
    if isinstance(selected, str):
        return [absent(selected, "ratio"), absent(selected, "count", dim="clicks"), absent(selected, "count", dim="impressions")]
    rows_in, notes, flagged = selected
    clicks = impressions = found = 0
    rows = []
    for keyword, region in ctx.keywords:
        stats = _keyword_stats(rows_in, keyword)
        dim = _keyword_dim(keyword, region)
        if stats is None:
            rows.append(absent("not in the export: no impressions recorded, or the query was anonymised", "ratio", dim=dim))
            continue
        found += 1
        clicks += stats["clicks"]
        impressions += stats["impressions"]
        rows.append(ratio(stats["clicks"], stats["impressions"], "ratio", reason="no impressions recorded", n=stats["impressions"],
                          dim=dim, flagged=flagged))
    k = len(ctx.keywords)
    head_notes = [f"{found} of {plural(k, 'tracked keyword')} in the export", _region_note(ctx), *notes]
    if not found:
        reason = "none of the tracked keywords is in the export"
        return rows + [absent(reason, "ratio", notes=head_notes), absent(reason, "count", dim="clicks"),
                       absent(reason, "count", dim="impressions")]
    rows.append(ratio(clicks, impressions, "ratio", reason="no impressions on the tracked keywords", n=impressions,
                      notes=head_notes, flagged=flagged))
    rows.append(ok(clicks, "count", num=clicks, n=found, dim="clicks", notes=head_notes, flagged=flagged))
    rows.append(ok(impressions, "count", num=impressions, n=found, dim="impressions", notes=head_notes, flagged=flagged))
    return rows


KPIS = [
    ("F1", f1_language_breadth, measured(("owned",))),
    ("F2", f2_country_breadth, measured(("owned",))),
    ("F3", f3_asset_reach, owned_site),
    ("F4", f4_search_visibility, owned_site),
    ("F5", f5_search_demand, owned_site),
]
