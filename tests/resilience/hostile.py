"""Builders shared by the hostile-input, property and privacy tests: export bytes and a scratch warehouse."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import duckdb

from cityimage.sample import default_weeks, write_sample_inbox
from cityimage.settings import load_settings
from readers.entities import ENTITIES

KEY = "resilience-test-key-0123456789abcdef"
X_HEADER = ["Post id", "Date", "Post text", "Post Link", "Impressions", "Likes", "Engagements", "Bookmarks", "Shares",
            "New follows", "Replies", "Reposts", "Profile visits", "Detail expands", "URL Clicks", "Hashtag clicks",
            "Permalink clicks"]
X_NAME = "account_analytics_content_2025-10-12_2025-11-10.csv"
FIRST_ID = 1987536676582330000


def x_rows(n: int, text: str = "hello", impressions: str = "100", start: int = FIRST_ID) -> list[list[str]]:
    return [
        [str(start + i), "Sun, Nov 9, 2025", text, f"https://x.com/cityimage_demo/status/{start + i}", impressions,
         "1", "2", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0"]
        for i in range(n)
    ]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def x_csv(n: int = 3, **kw) -> bytes:
    return csv_text(X_HEADER, x_rows(n, **kw)).encode()


def build_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class Lab:
    """A scratch home: drop files, ingest them through the real stage, query the warehouse."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.settings = load_settings(home=home, author_key=KEY)
        self.drops = 0

    @property
    def warehouse(self) -> Path:
        return self.settings.warehouse

    def drop(self, name: str, data: bytes) -> Path:
        self.drops += 1
        root = self.home / "drops" / f"{self.drops:04d}"
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return root

    def load(self, name: str, data: bytes):
        from flows.stages import ingest

        return ingest(self.settings, [self.drop(name, data)]).files

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def rows_of(self, sha: str) -> dict[str, list[str]]:
        """Every staged and quarantined row of one file, rendered and sorted (lineage ``load_id`` aside)."""
        out = {}
        for table in [e.table for e in ENTITIES.values()] + ["stg_quarantine"]:
            cols = [c for (c,) in self.query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY column_name", [table])
                if c != "load_id"]
            out[table] = sorted(repr(r) for r in self.query(
                f"SELECT {', '.join(cols)} FROM {table} WHERE source_file_sha256 = ?", [sha]))
        return out

    def ledger_problems(self) -> list[str]:
        """The ledger identity, per loaded file: read = loaded + quarantined + skipped + duplicate, and the
        staged and quarantined rows of that file are exactly as many as the ledger says."""
        problems = []
        staged = " + ".join(
            f"(SELECT count(*) FROM {e.table} s WHERE s.source_file_sha256 = l.file_sha256)" for e in ENTITIES.values())
        for name, read, loaded, quarantined, skipped, duplicate, in_staging, in_quarantine in self.query(
            f"SELECT file_name, rows_read, rows_loaded, rows_quarantined, rows_skipped, rows_duplicate, {staged}, "
            "(SELECT count(*) FROM stg_quarantine q WHERE q.source_file_sha256 = l.file_sha256) "
            "FROM ops_file_ledger l WHERE status = 'loaded'"
        ):
            if read != loaded + quarantined + skipped + duplicate:
                problems.append(f"{name}: read {read} != {loaded}+{quarantined}+{skipped}+{duplicate}")
            if in_staging != loaded:
                problems.append(f"{name}: ledger says {loaded} loaded, staging holds {in_staging}")
            if in_quarantine != quarantined:
                problems.append(f"{name}: ledger says {quarantined} quarantined, quarantine holds {in_quarantine}")
        return problems


def sample_lab(tmp_path: Path, weeks: int = 2) -> tuple[Lab, list[Path], str]:
    """A lab whose inbox holds the first of the sample's drops for its last ``weeks`` weeks; returns it,
    every drop (written apart, to copy in later) and the last week's id."""
    chosen = default_weeks()[-weeks:]
    write_sample_inbox(tmp_path / "inbox", chosen)
    drops = sorted(p for p in (tmp_path / "inbox").iterdir() if p.is_dir())
    lab = Lab(tmp_path / "home")
    lab.settings.inbox.mkdir(parents=True)
    shutil.copytree(drops[0], lab.settings.inbox / drops[0].name)
    return lab, drops, chosen[-1]
