"""The files a drop holds, collected in memory before anything touches the disk."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from cityimage.sample.model import Drop

# The formats the sample emits, by the name the truth gives them, with a one-line description
# (docs/sample_inbox.md lists the same table).
FORMATS: dict[str, str] = {
    "x_content": "X account analytics content export (CSV, one row per post)",
    "x_overview": "X account overview export (CSV, one row per day)",
    "x_api_v2": "X API v2 pages as saved by twarc2 (JSON lines)",
    "facebook_posts": "Meta Business Suite Facebook post export (CSV)",
    "facebook_graph_comments": "Facebook Graph API /{post}/comments page (JSON)",
    "facebook_graph_live_videos": "Facebook Graph API /{page}/live_videos page (JSON)",
    "facebook_page_daily": "Meta Business Suite page series, Follows.csv (UTF-16 CSV)",
    "instagram_posts": "Meta Business Suite Instagram content export (CSV, English UI)",
    "instagram_graph_comments": "Instagram Graph API /{media}/comments page (JSON)",
    "youtube_data_videos": "YouTube Data API v3 videos.list response (JSON)",
    "youtube_data_comment_threads": "YouTube Data API v3 commentThreads.list response (JSON)",
    "youtube_studio_content": "YouTube Studio advanced-mode export, Content dimension, Table data.csv",
    "youtube_studio_content_chart": "YouTube Studio Content export, Chart data.csv",
    "youtube_studio_geography": "YouTube Studio advanced-mode export, Geography dimension, Table data.csv",
    "youtube_studio_geography_chart": "YouTube Studio Geography export, Chart data.csv",
    "youtube_studio_totals": "YouTube Studio export, Totals.csv (daily totals)",
    "tiktok_content": "TikTok Studio Content.csv",
    "tiktok_overview": "TikTok Studio Overview.csv",
    "tiktok_follower_history": "TikTok Studio FollowerHistory.csv",
    "tiktok_follower_territories": "TikTok Studio FollowerTopTerritories.csv",
    "search_console_queries": "Search Console performance export, Queries.csv",
    "search_console_pages": "Search Console performance export, Pages.csv",
    "search_console_countries": "Search Console performance export, Countries.csv",
    "search_console_devices": "Search Console performance export, Devices.csv",
    "search_console_appearance": "Search Console performance export, Search appearance.csv",
    "search_console_chart": "Search Console performance export, Chart.csv",
    "search_console_filters": "Search Console performance export, Filters.csv",
    "youtube_studio_zip": "YouTube Studio export archive (zip of Table data, Chart data, Totals)",
    "search_console_zip": "Search Console performance export archive (zip of 7 CSVs)",
}


@dataclass
class Member:
    """A file inside a zip archive."""

    name: str
    format: str
    data: bytes
    items: int | None = None


@dataclass
class EmittedFile:
    path: str  # relative to the inbox root, POSIX separators
    data: bytes
    format: str
    platform: str
    account: str
    drop: str
    items: int | None = None  # records the file holds (rows, JSON items), where meaningful
    members: list[Member] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def record(self) -> dict:
        out = {
            "path": self.path,
            "format": self.format,
            "platform": self.platform,
            "account": self.account,
            "drop": self.drop,
            "bytes": len(self.data),
            "sha256": self.sha256,
        }
        if self.items is not None:
            out["items"] = self.items
        if self.members:
            out["members"] = [
                {"name": m.name, "format": m.format, "sha256": hashlib.sha256(m.data).hexdigest(),
                 **({"items": m.items} if m.items is not None else {})}
                for m in self.members
            ]
        return out


class Emitter:
    """Collects files by inbox path; refuses two files at one path (a layout bug)."""

    def __init__(self) -> None:
        self.files: dict[str, EmittedFile] = {}

    def emit(self, drop: Drop, platform: str, account: str, name: str, data: bytes, fmt: str,
             items: int | None = None, members: list[Member] | None = None) -> EmittedFile:
        if fmt not in FORMATS:
            raise KeyError(f"unknown sample format {fmt}")
        path = str(PurePosixPath(drop.folder, platform, account, name))
        if path in self.files:
            raise ValueError(f"two sample files at {path}")
        record = EmittedFile(path, data, fmt, platform, account, drop.folder, items, members or [])
        self.files[path] = record
        return record

    def sorted(self) -> list[EmittedFile]:
        return [self.files[p] for p in sorted(self.files)]
