"""Google Search Console: the performance export zip for the city's site, one per weekly drop."""

from __future__ import annotations

from cityimage.sample.encode import csv_text, deterministic_zip, trim_float
from cityimage.sample.files import Emitter, Member
from cityimage.sample.model import Drop, World, ctr_at, split_whole, stream


def _ctr(clicks: int, impressions: int) -> str:
    return trim_float(100 * clicks / impressions, 2) + "%" if impressions else "0%"


def _csv(rows: list[list]) -> bytes:
    return csv_text(rows, trailing_newline=False).encode("utf-8")


def totals(world: World, week_id: str) -> dict:
    """The week's site totals: the listed queries plus the anonymized ones Search Console hides."""
    model = world.search[week_id]
    share = float(world.content["search"]["anonymized_share"])
    daily = {}
    for day in model["days"]:
        clicks = impressions = 0
        weighted = 0.0
        for q in model["queries"].values():
            for d, c, i, pos in q["daily"]:
                if d == day:
                    clicks, impressions, weighted = clicks + c, impressions + i, weighted + i * pos
        extra_i = int(round(impressions * share / (1 - share)))
        extra_c = int(round(extra_i * ctr_at(9.0)))
        position = (weighted + extra_i * 9.0) / (impressions + extra_i) if impressions + extra_i else 0.0
        daily[day] = (clicks + extra_c, impressions + extra_i, position)
    clicks = sum(v[0] for v in daily.values())
    impressions = sum(v[1] for v in daily.values())
    position = sum(v[1] * v[2] for v in daily.values()) / impressions if impressions else 0.0
    return {"daily": daily, "clicks": clicks, "impressions": impressions, "position": position}


def write(world: World, drop: Drop, out: Emitter) -> None:
    c = world.content["search"]
    model = world.search[drop.week.id]
    rng = stream(world.seed, "search-split", drop.week.id)
    site = totals(world, drop.week.id)

    queries = sorted(model["queries"].items(), key=lambda kv: (-kv[1]["clicks"], -kv[1]["impressions"], kv[0]))
    q_rows = [["Top queries", "Clicks", "Impressions", "CTR", "Position"]] + [
        [q, v["clicks"], v["impressions"], _ctr(v["clicks"], v["impressions"]), trim_float(v["position"], 2)]
        for q, v in queries
    ]

    def split_rows(header: str, weights: dict[str, float], names: dict[str, str] | None = None) -> list[list]:
        noisy = {k: float(w) * (0.8 + 0.4 * rng.random()) for k, w in weights.items()}
        imps = split_whole(site["impressions"], noisy)
        clicks = split_whole(site["clicks"], {k: noisy[k] * (0.7 + 0.6 * rng.random()) for k in noisy})
        rows: list[list] = []
        for key in noisy:
            i = imps.get(key, 0)
            if i == 0:
                continue
            k = min(clicks.get(key, 0), i)
            position = max(1.0, site["position"] * (0.85 + 0.3 * rng.random()))
            rows.append([(names or {}).get(key, key), k, i, _ctr(k, i), trim_float(position, 2)])
        rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
        return [[header, "Clicks", "Impressions", "CTR", "Position"], *rows]

    host = world.content["site"]["property"]
    pages = {host.rstrip("/") + path: 1.0 / (n + 1) for n, path in enumerate(c["pages"])}
    countries = world.content["countries"]
    chart = [["Date", "Clicks", "Impressions", "CTR", "Position"]] + [
        [day.isoformat(), v[0], v[1], _ctr(v[0], v[1]), trim_float(v[2], 1)] for day, v in site["daily"].items()
    ]
    appearance: list[list] = [["Search Appearance", "Clicks", "Impressions", "CTR", "Position"]]
    for name, share in c["appearance"].items():
        i = max(1, int(site["impressions"] * float(share)))
        appearance.append([name, 0, i, "0%", trim_float(site["position"] * 0.7, 2)])
    first, last = model["days"][0], model["days"][-1]
    filters = [["Filter", "Value"], ["Search type", "Web"],
               ["Date", f"{first:%b} {first.day}, {first.year}-{last:%b} {last.day}, {last.year}"]]
    tables = [
        ("Queries.csv", "search_console_queries", q_rows),
        ("Pages.csv", "search_console_pages", split_rows("Top pages", pages)),
        ("Countries.csv", "search_console_countries", split_rows("Country", c["country_shares"], countries)),
        ("Devices.csv", "search_console_devices", split_rows("Device", c["devices"])),
        ("Search appearance.csv", "search_console_appearance", appearance),
        ("Chart.csv", "search_console_chart", chart),
        ("Filters.csv", "search_console_filters", filters),
    ]
    members = [Member(name, fmt, _csv(rows), items=len(rows) - 1) for name, fmt, rows in tables]
    folder = world.content["site"]["folder"]
    name = f"{world.content['site']['host']}-Performance-on-Search-{drop.day.isoformat()}.zip"
    out.emit(drop, "search_console", folder, name, deterministic_zip([(m.name, m.data) for m in members], drop.day),
             "search_console_zip", members=members)
