"""The sample inbox: deterministic bytes, the inbox layout, truth that matches the files, the
paper's story in the numbers, and (where the readers exist) files the readers load without rejects."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cityimage.profile import load_profile
from cityimage.sample import SampleTruth, build_sample, default_weeks, write_sample_inbox
from cityimage.sample.files import FORMATS
from cityimage.settings import DEFAULT_PROFILE
from cityimage.weeks import Week

UTC = timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
PACIFIC = ZoneInfo("America/Los_Angeles")
PLATFORMS = {"facebook", "instagram", "youtube", "x", "tiktok", "search_console"}
SEVEN_LANGUAGES = {"ru", "fr", "de", "es", "ar", "ja", "ko"}


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> tuple[Path, SampleTruth]:
    root = tmp_path_factory.mktemp("sample-inbox")
    truth = write_sample_inbox(root, default_weeks())
    return root, truth


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _week(instant: datetime) -> str:
    return Week.containing(instant, SHANGHAI).id


def _graph_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)


def _api_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _drop_files(root: Path, drop: str, platform: str, handle: str) -> list[Path]:
    folder = root / drop / platform / handle
    return sorted(folder.iterdir()) if folder.is_dir() else []


# ---------------------------------------------------------------------------------------------
# Determinism


def test_same_arguments_give_identical_bytes(inbox, tmp_path):
    root, truth = inbox
    again = tmp_path / "again"
    truth2 = write_sample_inbox(again, default_weeks())
    first, second = _tree(root), _tree(again)
    assert sorted(first) == sorted(second)
    different = [path for path in first if first[path] != second[path]]
    assert different == []
    assert truth.to_dict() == truth2.to_dict()


def test_another_seed_gives_other_content():
    weeks = [Week.parse("2026-W45")]
    files_a, _ = build_sample(weeks, seed=1)
    files_b, _ = build_sample(weeks, seed=2)
    assert [f.data for f in files_a] != [f.data for f in files_b]


def test_zips_carry_fixed_timestamps(inbox):
    root, truth = inbox
    zips = [f for f in truth.files if f["path"].endswith(".zip")]
    assert zips
    for record in zips:
        drop = date.fromisoformat(record["drop"])
        with zipfile.ZipFile(root / record["path"]) as archive:
            for info in archive.infolist():
                assert info.date_time == (drop.year, drop.month, drop.day, 0, 0, 0)


# ---------------------------------------------------------------------------------------------
# Layout


def test_layout_follows_the_inbox_convention(inbox):
    root, truth = inbox
    profile = load_profile(DEFAULT_PROFILE)
    handles = defaultdict(set)
    for account in profile.accounts:
        handles[account.platform].add(account.handle)
    handles["x"].add("public")
    handles["search_console"].add("www.ichongqing.info")
    mondays = {(Week.parse(w).sunday + timedelta(days=1)).isoformat() for w in truth.weeks}
    on_disk = set(_tree(root)) - {"_truth.json"}
    assert on_disk == {f["path"] for f in truth.files}
    for path in on_disk:
        parts = path.split("/")
        assert len(parts) == 4, path
        day, platform, handle, name = parts
        assert day in mondays, path
        assert date.fromisoformat(day).weekday() == 0
        assert platform in PLATFORMS, path
        assert handle in handles[platform], path
        assert name and "/" not in name
    assert {d["date"] for d in truth.drops} == mondays
    assert {f["format"] for f in truth.files} <= set(FORMATS)


def test_each_drop_holds_what_a_team_downloads_that_monday(inbox):
    root, truth = inbox
    for drop in truth.drops:
        day = drop["date"]
        start, end = drop["window"]
        assert (date.fromisoformat(end) - date.fromisoformat(start)).days == 27
        names = {f["path"].split("/", 1)[1] for f in truth.files if f["drop"] == day}
        for handle in ("iChongqing_", "Hangzhou_China"):
            assert f"x/{handle}/account_analytics_content_{start}_{end}.csv" in names
            assert f"x/{handle}/account_overview_analytics.csv" in names
            assert f"x/{handle}/conversations.jsonl" in names
        assert "x/public/search_chongqing.jsonl" in names
        for handle in ("iChongqing", "HangzhouChina"):
            assert f"facebook/{handle}/Follows.csv" in names
            assert any(n.startswith(f"facebook/{handle}/comments_") for n in names)
            assert f"youtube/{handle}/videos_p1.json" in names
        assert "facebook/iChongqing/live_videos.json" in names
        assert f"youtube/iChongqing/Content {start}_{end} iChongqing.zip" in names
        assert f"youtube/iChongqing/Geography {start}_{end} iChongqing.zip" in names
        for name in ("Content.csv", "Overview.csv", "FollowerHistory.csv", "FollowerTopTerritories.csv"):
            assert f"tiktok/ichongqing/{name}" in names
        assert f"search_console/www.ichongqing.info/www.ichongqing.info-Performance-on-Search-{day}.zip" in names


# ---------------------------------------------------------------------------------------------
# Formats: the quirks of the real exports


def test_x_content_export_matches_the_real_layout(inbox):
    root, truth = inbox
    files = truth.files_of("x_content")
    phantoms = 0
    for record in files:
        data = (root / record["path"]).read_bytes()
        assert data.startswith(b"Post id,Date,Post text,Link,Impressions,Likes,Engagements,Bookmarks,Share,")
        assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        for row in rows[1:]:
            assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d{2} \d{4}", row[1])
            if row[3].endswith("/status/undefined"):
                assert row[0] == ""
                phantoms += 1
        assert all(line.split(b",")[2].startswith(b'"') for line in data.split(b"\r\n")[1:] if line)
    assert phantoms >= 1


def test_meta_and_tiktok_files_keep_their_encodings(inbox):
    root, truth = inbox
    for fmt in ("facebook_posts", "instagram_posts"):
        for record in truth.files_of(fmt):
            data = (root / record["path"]).read_bytes()
            assert data.startswith(b"\xef\xbb\xbf")
            rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
            assert all(row[rows[0].index("Date")] == "Lifetime" for row in rows[1:])
            times = [row[rows[0].index("Publish time")] for row in rows[1:]]
            assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", t) for t in times)
    for record in truth.files_of("facebook_page_daily"):
        data = (root / record["path"]).read_bytes()
        assert data.startswith(b"\xff\xfe") and data[2:].decode("utf-16-le").startswith("sep=,\n\"Facebook follows\"\n")
    for record in truth.files_of("tiktok_content"):
        data = (root / record["path"]).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf\"Time\",") and not data.endswith(b"\n")
    undefined = sum((root / f["path"]).read_bytes().count(b'"undefined"') for f in truth.files
                    if f["format"].startswith("tiktok_"))
    assert undefined >= 2


def test_youtube_studio_quirks(inbox):
    root, truth = inbox
    leading_space = False
    for record in truth.files_of("youtube_studio_zip"):
        with zipfile.ZipFile(root / record["path"]) as archive:
            table = archive.read("Table data.csv").decode("utf-8")
            assert {"Chart data.csv", "Totals.csv"} <= set(archive.namelist())
        lines = table.splitlines()
        assert lines[1].startswith("Total,")
        leading_space |= any(line.startswith(" -") for line in lines[2:])
        if "Content " in record["path"]:
            header = lines[0].split(",")
            for column in ("Average view duration", "Average percentage viewed (%)", "Peak concurrent viewers",
                           "Average concurrent viewers"):
                assert column in header
    assert leading_space


# ---------------------------------------------------------------------------------------------
# Truth against the files


def _comments_from_files(root: Path, drop: str, platform: str, handle: str) -> list[dict]:
    """Every comment in the drop's threads for the account: id, time, author, parent (None = top)."""
    out = []
    for path in _drop_files(root, drop, platform, handle):
        if platform == "facebook" and path.name.startswith("comments_"):
            for item in json.loads(path.read_bytes())["data"]:
                out.append({"id": item["id"], "at": _graph_time(item["created_time"]), "author": item["from"]["id"],
                            "parent": None})
                for reply in item.get("comments", {}).get("data", []):
                    out.append({"id": reply["id"], "at": _graph_time(reply["created_time"]),
                                "author": reply["from"]["id"], "parent": item["id"]})
        elif platform == "instagram" and path.name.startswith("comments_"):
            for item in json.loads(path.read_bytes())["data"]:
                out.append({"id": item["id"], "at": _graph_time(item["timestamp"]), "author": item["from"]["id"],
                            "parent": None})
                for reply in item.get("replies", {}).get("data", []):
                    out.append({"id": reply["id"], "at": _graph_time(reply["timestamp"]),
                                "author": reply["from"]["id"], "parent": item["id"]})
        elif platform == "youtube" and path.name.startswith("commentThreads_"):
            for thread in json.loads(path.read_bytes())["items"]:
                top = thread["snippet"]["topLevelComment"]
                out.append({"id": top["id"], "at": _api_time(top["snippet"]["publishedAt"]),
                            "author": top["snippet"]["authorChannelId"]["value"], "parent": None})
                for reply in thread.get("replies", {}).get("comments", []):
                    out.append({"id": reply["id"], "at": _api_time(reply["snippet"]["publishedAt"]),
                                "author": reply["snippet"]["authorChannelId"]["value"],
                                "parent": reply["snippet"]["parentId"]})
        elif platform == "x" and path.name == "conversations.jsonl":
            for line in path.read_text().splitlines():
                for tweet in json.loads(line).get("data", []):
                    parent = next(r["id"] for r in tweet["referenced_tweets"] if r["type"] == "replied_to")
                    out.append({"id": tweet["id"], "at": _api_time(tweet["created_at"]), "author": tweet["author_id"],
                                "parent": None if parent == tweet["conversation_id"] else parent})
    return out


def test_reply_figures_in_the_truth_are_those_in_the_files(inbox):
    root, truth = inbox
    spam = {p: truth.spam_ids(p) for p in ("facebook", "instagram", "youtube", "x")}
    checked = 0
    for drop in truth.drops:
        week = drop["week"]
        for platform in ("facebook", "instagram", "youtube", "x"):
            for handle, figures in truth.accounts[week][platform].items():
                comments = _comments_from_files(root, drop["date"], platform, handle)
                by_id = {c["id"]: c for c in comments}
                account = figures["account_id"]
                replies = defaultdict(list)
                for c in comments:
                    if c["parent"] is not None and c["author"] == account:
                        replies[c["parent"]].append(c["at"])
                eligible = [c for c in comments if c["parent"] is None and _week(c["at"]) == week
                            and c["author"] != account and c["id"] not in spam[platform]]
                replied = [c for c in eligible
                           if any(at - c["at"] <= timedelta(days=7) for at in replies.get(c["id"], []))]
                assert len(eligible) == figures["eligible_comments"], (week, platform, handle)
                assert len(replied) == figures["replied_within_7d"], (week, platform, handle)
                assert set(by_id) >= {k.split(":", 1)[1] for k, v in truth.comments.items()
                                      if k.startswith(platform + ":") and v["week"] == week and v["account"] == handle
                                      and v["top_level"] and not v["removed"]}
                checked += len(eligible)
    assert checked > 1000


def test_comment_items_in_files_match_the_file_list(inbox):
    root, truth = inbox
    for record in truth.files:
        if record["format"] == "facebook_graph_comments":
            page = json.loads((root / record["path"]).read_bytes())
            count = sum(1 + len(i.get("comments", {}).get("data", [])) for i in page["data"])
        elif record["format"] == "instagram_graph_comments":
            page = json.loads((root / record["path"]).read_bytes())
            count = sum(1 + len(i.get("replies", {}).get("data", [])) for i in page["data"])
        elif record["format"] == "youtube_data_comment_threads":
            page = json.loads((root / record["path"]).read_bytes())
            count = sum(1 + len(t.get("replies", {}).get("comments", [])) for t in page["items"])
        else:
            continue
        assert count == record["items"], record["path"]


def _published_from_files(root: Path, drop: str, platform: str, handle: str) -> dict[str, datetime | date]:
    out: dict[str, datetime | date] = {}
    for path in _drop_files(root, drop, platform, handle):
        if platform in ("facebook", "instagram") and path.suffix == ".csv" and path.name != "Follows.csv":
            rows = list(csv.DictReader(io.StringIO(path.read_bytes()[3:].decode("utf-8"), newline="")))
            for row in rows:
                local = datetime.strptime(row["Publish time"], "%m/%d/%Y %H:%M")
                out[row["Post ID"]] = local.replace(tzinfo=PACIFIC).astimezone(UTC)
        elif platform == "x" and path.name.startswith("account_analytics_content_"):
            rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
            for row in rows:
                if row["Post id"]:
                    millis = (int(row["Post id"]) >> 22) + 1288834974657
                    out[row["Post id"]] = datetime.fromtimestamp(millis / 1000, tz=UTC)
        elif platform == "youtube" and path.name.startswith("videos_"):
            for item in json.loads(path.read_bytes())["items"]:
                out[item["id"]] = _api_time(item["snippet"]["publishedAt"])
        elif platform == "tiktok" and path.name == "Content.csv":
            rows = list(csv.DictReader(io.StringIO(path.read_bytes()[3:].decode("utf-8"), newline="")))
            for row in rows:
                video = row["Video link"].rsplit("/", 1)[1]
                out[video] = datetime.fromtimestamp(int(video) >> 32, tz=UTC)
    return out


def test_posts_in_the_truth_are_those_in_the_exports(inbox):
    root, truth = inbox
    for drop in truth.drops:
        week = drop["week"]
        for platform in ("facebook", "instagram", "youtube", "x", "tiktok"):
            for handle, figures in truth.accounts[week][platform].items():
                published = _published_from_files(root, drop["date"], platform, handle)
                in_week = [pid for pid, at in published.items() if _week(at) == week]
                assert len(in_week) == figures["posts_published"], (week, platform, handle)
                for pid in in_week:
                    intended = truth.posts[f"{platform}:{pid}"]
                    assert intended["week"] == week and intended["account"] == handle


def test_mentions_and_search_in_the_truth_are_those_in_the_files(inbox):
    root, truth = inbox
    media = {"CGTNOfficial", "ChinaDaily", "XHNews"}
    for drop in truth.drops:
        week = drop["week"]
        path = root / drop["date"] / "x" / "public" / "search_chongqing.jsonl"
        public = []
        for line in path.read_text().splitlines():
            page = json.loads(line)
            users = {u["id"]: u["username"] for u in page.get("includes", {}).get("users", [])}
            public += [t["id"] for t in page.get("data", []) if users[t["author_id"]] not in media]
        assert sorted(public) == truth.mentions[week]["post_ids"]
        assert len(public) == truth.mentions[week]["public_mentions"]
        archive = root / drop["date"] / "search_console" / "www.ichongqing.info"
        (zip_path,) = archive.iterdir()
        with zipfile.ZipFile(zip_path) as z:
            queries = {row["Top queries"]: row for row in csv.DictReader(io.StringIO(z.read("Queries.csv").decode()))}
            filters = z.read("Filters.csv").decode()
        monday = Week.parse(week).monday
        assert f"Date,\"{monday:%b} {monday.day}, {monday.year}-" in filters
        for keyword, figures in truth.search[week]["tracked"].items():
            assert float(queries[keyword]["Position"]) == pytest.approx(figures["position"], abs=0.005)
            assert int(queries[keyword]["Clicks"]) == figures["clicks"]
            assert int(queries[keyword]["Impressions"]) == figures["impressions"]


def test_livestream_figures_reach_the_studio_export(inbox):
    root, truth = inbox
    lives = [lv for lv in truth.livestreams if lv["platform"] == "youtube"]
    assert lives
    found = 0
    for record in truth.files_of("youtube_studio_zip"):
        if "/iChongqing/Content " not in record["path"]:
            continue
        with zipfile.ZipFile(root / record["path"]) as archive:
            rows = list(csv.DictReader(io.StringIO(archive.read("Table data.csv").decode())))
        for live in lives:
            row = next((r for r in rows if r["Content"].strip() == live["post_id"]), None)
            if row is None:
                continue
            assert int(row["Peak concurrent viewers"]) == live["peak_concurrent_viewers"]
            assert int(row["Average concurrent viewers"]) == live["average_concurrent_viewers"]
            assert int(row["Views"]) == live["by_drop"][record["drop"]]["views"]
            found += 1
    assert found >= 1


# ---------------------------------------------------------------------------------------------
# The paper's story, in the truth


def test_owned_account_rarely_replies_and_the_benchmark_mostly_does(inbox):
    _, truth = inbox
    for week in truth.weeks:
        owned, benchmark = truth.role_reply_rate(week, "owned"), truth.role_reply_rate(week, "benchmark")
        assert owned < 0.15 < 0.6 < benchmark, (week, owned, benchmark)
        for platform in ("facebook", "instagram", "x"):
            assert truth.reply_rate(week, platform, {"facebook": "iChongqing", "instagram": "ichongqing",
                                                      "x": "iChongqing_"}[platform]) < 0.2
        assert truth.role_totals(week, "owned", "spam_visible_72h") > 0
        assert truth.role_totals(week, "owned", "negative_handled") == 0


def test_culture_is_rare_in_the_feed_but_resonates(inbox):
    _, truth = inbox
    owned = [p for p in truth.posts.values() if p["role"] == "owned" and p["week"] in truth.weeks]
    themes = Counter(p["theme"] for p in owned)
    culture_share = themes["culture"] / len(owned)
    assert 0 < culture_share < 0.15
    assert {"food", "scenery", "economy", "livelihood", "infrastructure"} <= set(themes)
    culture_e = sum(p["engagements_7d"] for p in owned if p["theme"] == "culture")
    all_e = sum(p["engagements_7d"] for p in owned)
    assert (culture_e / all_e) / culture_share > 1
    images = sum(1 for p in owned if p["format"] == "image") / len(owned)
    assert 0.5 <= images <= 0.7


def test_public_labels_languages_asset_live_and_search(inbox):
    _, truth = inbox
    labels = Counter()
    for week in truth.weeks:
        labels.update(truth.mentions[week]["labels"])
    assert labels.most_common(1)[0][0] == "mountain_city"
    assert all(truth.mentions[week]["label_rank"][0] == "mountain_city" for week in truth.weeks)
    assert {"8d_city", "bridge_city", "hotpot", "cyberpunk", "fog_city", "largest_municipality"} <= \
        {k for k, v in labels.items() if v}
    languages = Counter(c["language"] for c in truth.comments.values() if not c["by_account"])
    assert {"en", "zh"} | SEVEN_LANGUAGES <= set(languages)
    assert languages["sw"] + languages["tl"] > 0
    assert set(truth.asset["languages"]) == SEVEN_LANGUAGES
    assert truth.asset["countries_reached"] >= 60
    assert all(lv["average_concurrent_viewers"] * 5 < lv["peak_concurrent_viewers"]
               for lv in truth.livestreams if lv["platform"] == "youtube")
    for week in truth.weeks:
        search = truth.search[week]
        assert search["beyond_50"]
        assert {"chinese investment", "chinese culture", "chinese tourism"} <= set(search["tracked"])


def test_scale_multiplies_volumes_through_the_same_code_path():
    weeks = [Week.parse("2026-W45")]
    small_files, small = build_sample(weeks, scale=1.0)
    big_files, big = build_sample(weeks, scale=3.0)
    assert len(big.posts) > 2.5 * len(small.posts)
    assert len(big.comments) > 2.5 * len(small.comments)
    assert {f.format for f in big_files} == {f.format for f in small_files}
    strip = lambda f: re.sub(r"\d", "#", f.path)  # noqa: E731
    assert {strip(f) for f in small_files if "comment" not in f.path} == \
        {strip(f) for f in big_files if "comment" not in f.path}


def test_any_weeks_work_across_a_year_boundary_and_without_history():
    files, truth = build_sample([Week.parse("2026-W01")])
    assert truth.history_weeks == ["2025-W50", "2025-W51", "2025-W52"]
    assert [d["window"] for d in truth.drops] == [["2025-12-08", "2026-01-04"]]
    content = next(f for f in files if f.path == "2026-01-05/tiktok/ichongqing/FollowerHistory.csv")
    assert '"December 8"' in content.data.decode("utf-8-sig") and '"January 4"' in content.data.decode("utf-8-sig")
    files, truth = build_sample([Week.parse("2026-W47")], history_weeks=0)
    assert truth.history_weeks == [] and truth.accounts["2026-W47"]["x"]["iChongqing_"]["posts_published"] > 0


# ---------------------------------------------------------------------------------------------
# The readers load every generated file (formats whose reader exists)

try:
    from readers import registry as _registry
    from readers.archive import expand_archive, is_archive
    from readers.base import SourceFile

    _READER_NAMES = {fmt.name for fmt in _registry.FORMATS}
except Exception:  # pragma: no cover - readers not importable yet
    _registry = None
    _READER_NAMES = set()

# The sample's format name → the reader expected to detect it.
READER_FOR = {
    "x_content": "x_content",
    "x_overview": "x_overview",
    "x_api_v2": "x_api_v2",
    "facebook_posts": "facebook_business_suite_posts",
    "facebook_graph_comments": "facebook_api_comments",
    "facebook_graph_live_videos": "facebook_api_live_videos",
    "facebook_page_daily": "meta_daily_series",
    "instagram_posts": "instagram_business_suite_posts",
    "instagram_graph_comments": "instagram_api_comments",
    "youtube_data_videos": "youtube_api_videos",
    "youtube_data_comment_threads": "youtube_api_comment_threads",
    "youtube_studio_content": "youtube_studio_content",
    "youtube_studio_content_chart": "youtube_studio_content_daily",
    "youtube_studio_geography": "youtube_studio_geography",
    "youtube_studio_geography_chart": "youtube_studio_geography_daily",
    "youtube_studio_totals": "youtube_studio_daily",
    "tiktok_content": "tiktok_content",
    "tiktok_overview": "tiktok_overview",
    "tiktok_follower_history": "tiktok_follower_history",
    "tiktok_follower_territories": "tiktok_follower_territories",
    "search_console_queries": "gsc_queries",
    "search_console_pages": "gsc_pages",
    "search_console_countries": "gsc_countries",
    "search_console_devices": "gsc_devices",
    "search_console_appearance": "gsc_search_appearance",
    "search_console_chart": "gsc_chart",
    "search_console_filters": "gsc_filters",
}
# Rows a reader may set aside on purpose: the deliberate phantom and Total rows, plus rows its
# format declares as not data (Filters.csv settings; Studio's per-video daily chart has no entity).
ALLOWED_SKIPS = {
    "x_content": ("phantom",),
    "youtube_studio_content": ("Total row",),
    "youtube_studio_geography": ("Total row",),
    "youtube_studio_content_chart": ("no staging entity",),
    "search_console_filters": ("filter setting",),
}


def _sources(root: Path, truth: SampleTruth):
    """(sample format, SourceFile) for every generated file, zip members expanded as ingestion does."""
    for record in truth.files:
        day, platform, handle, name = record["path"].split("/")
        source = SourceFile(name=name, data=(root / record["path"]).read_bytes(), account_hint=handle,
                            platform_hint=platform, date_hint=date.fromisoformat(day))
        if is_archive(source.data):
            formats = {m["name"]: m["format"] for m in record["members"]}
            for member in expand_archive(source, 10**9, 1000):
                yield formats[member.name.rsplit("/", 1)[1]], record, member
        else:
            yield record["format"], record, source


@pytest.fixture(scope="module")
def read_back(inbox):
    """Every generated file read by the registry (only formats whose reader exists)."""
    root, truth = inbox
    results = []
    for fmt, record, source in _sources(root, truth):
        if READER_FOR.get(fmt) not in _READER_NAMES:
            continue
        detected = _registry.detect(source)
        result = detected.read(source)
        result.check_accounting()
        results.append((fmt, record, source, detected.name, result))
    return results


@pytest.mark.parametrize("fmt", sorted(READER_FOR))
def test_readers_load_every_generated_file(fmt, read_back):
    if READER_FOR[fmt] not in _READER_NAMES:
        pytest.skip(f"no reader named {READER_FOR[fmt]} yet for the sample's {fmt} files")
    results = [r for r in read_back if r[0] == fmt]
    assert results, f"the sample wrote no {fmt} file"
    allowed = ALLOWED_SKIPS.get(fmt, ())
    for _, record, source, detected, result in results:
        assert detected == READER_FOR[fmt], source.name
        assert result.rejects == [], (source.name, result.rejects[:3])
        for skip in result.skips:
            assert any(word in skip.reason for word in allowed), (source.name, skip.reason)


def test_readers_see_the_truths_posts_and_reply_rates(inbox, read_back):
    """What the pipeline will compute from the readers' rows equals the truth."""
    _, truth = inbox
    needed = {"facebook_posts", "instagram_posts", "x_content", "youtube_data_videos", "tiktok_content",
              "facebook_graph_comments", "instagram_graph_comments", "youtube_data_comment_threads", "x_api_v2"}
    missing = sorted(f for f in needed if READER_FOR[f] not in _READER_NAMES)
    if missing:
        pytest.skip(f"readers missing for {missing}")
    drops = {d["date"]: d["week"] for d in truth.drops}
    posts = defaultdict(dict)  # (drop, platform, handle) -> post id -> published_at
    comments = defaultdict(list)
    for fmt, record, _, _, result in read_back:
        key = (record["drop"], record["platform"], record["account"])
        if fmt in ("facebook_posts", "instagram_posts", "x_content", "youtube_data_videos", "tiktok_content"):
            for row in result.tables["post"].iter_rows(named=True):
                posts[key][row["post_id"]] = row["published_at"]
        if "comment" in result.tables and record["account"] != "public":
            comments[key] += list(result.tables["comment"].iter_rows(named=True))
    for (drop, platform, handle), read in posts.items():
        week = drops[drop]
        for post_id, published in read.items():
            intended = truth.posts[f"{platform}:{post_id}"]
            exact = datetime.strptime(intended["published_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            assert abs((published - exact).total_seconds()) < 60, (platform, post_id)
        in_week = sum(1 for at in read.values() if _week(at) == week)
        assert in_week == truth.figures(week, platform, handle)["posts_published"], (drop, platform, handle)
    for (drop, platform, handle), rows in comments.items():
        week = drops[drop]
        figures = truth.figures(week, platform, handle)
        spam = truth.spam_ids(platform)
        account = figures["account_id"]
        replies = defaultdict(list)
        for row in rows:
            if row["parent_comment_id"] and row["author_id"] == account:
                replies[row["parent_comment_id"]].append(row["created_at"])
        eligible = [r for r in rows if r["parent_comment_id"] is None and _week(r["created_at"]) == week
                    and r["author_id"] != account and r["comment_id"] not in spam]
        replied = [r for r in eligible
                   if any(at - r["created_at"] <= timedelta(days=7) for at in replies.get(r["comment_id"], []))]
        assert len(eligible) == figures["eligible_comments"], (drop, platform, handle)
        assert len(replied) == figures["replied_within_7d"], (drop, platform, handle)
