"""Publishing a week: Parquet files at paths computed from the week, then the manifest that lists them.

Every file is written to a temporary name in its final folder and renamed into place, so a reader
sees the old file or the new one, never a torn one. The manifest is written last: it is the record
of what the week's snapshot is (rows, checksums, schemas, code and lexicon versions, input files by
hash, validation warnings). Writing is deterministic — sorted rows, fixed Parquet options, no
timestamps — so the same inputs give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from cityimage.atomic import replacing, write_bytes_atomic
from cityimage.faults import fault
from cityimage.settings import SettingsError

# Temporaries of a publish, beside the tables' folders, never inside them.
INCOMING = ".incoming"

PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 3, "write_statistics": True, "use_dictionary": True}


@dataclass(frozen=True)
class PublishedFile:
    table: str
    path: str
    rows: int
    sha256: str
    schema: dict[str, str]


def partition_path(root: Path, table: str, week_id: str) -> Path:
    """Hive-style location of a table's file for a week: ``<root>/<table>/week=<id>/<table>.parquet``."""
    return root / table / f"week={week_id}" / f"{table}.parquet"


def manifest_path(root: Path, week_id: str) -> Path:
    return root / "manifests" / f"week={week_id}.json"


def write_parquet_atomic(frame: pl.DataFrame, path: Path, tmp_dir: Path | None = None) -> str:
    """Write ``frame`` to ``path`` via a temporary file; returns the file's SHA-256.

    The temporary is in ``tmp_dir`` (same file system, so the rename is atomic) or else beside ``path``.
    ``publish_week`` keeps temporaries out of the partition folders: a reader listing a folder (Polars on a
    hive directory) must never meet a half-written file, not even a hidden one.
    """
    _sweep_temporaries(path)
    tmp = (tmp_dir / f".{path.parent.parent.name}.{path.parent.name}.{path.name}.tmp-{os.getpid()}"
           if tmp_dir is not None else None)
    with replacing(path, tmp) as tmp:
        table = frame.to_arrow()
        with pq.ParquetWriter(str(tmp), table.schema, **PARQUET_OPTIONS) as writer:
            half = max(1, table.num_rows // 2)
            writer.write_table(table.slice(0, half))
            fault("during_parquet")
            writer.write_table(table.slice(half))
        fault("before_rename")
        digest = file_sha256(tmp)
        if path.is_file() and file_sha256(path) == digest:
            tmp.unlink()  # same bytes already published: leave the file (and readers mid-query) alone
    return digest


def write_text_atomic(text: str, path: Path) -> None:
    _sweep_temporaries(path)
    write_bytes_atomic(path, text.encode("utf-8"))


def _sweep_temporaries(path: Path) -> None:
    """Remove temporaries a killed publish left beside ``path`` (hidden, never read; publishing holds the
    writer lock, so none belongs to a live writer)."""
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        stale.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class SnapshotCityMismatch(SettingsError):
    """The snapshot folder holds another city's weeks."""


def publish_week(root: Path, week_id: str, tables: dict[str, pl.DataFrame], manifest: dict[str, Any]) -> Path:
    """Write the week's tables, then its manifest; returns the manifest's path.

    A manifest naming its city (``manifest["city"]["key"]``) is refused in a folder whose weeks are
    another city's, before anything is written: two cities sharing a folder would overwrite each other.
    """
    _check_folder_city(root, manifest.get("city"))
    published = []
    incoming = root / INCOMING
    if incoming.is_dir():  # what a killed publish left; publishing holds the writer lock, so nobody else's
        for stale in incoming.glob(".*.tmp-*"):
            stale.unlink(missing_ok=True)
    for name in sorted(tables):
        frame = tables[name]
        path = partition_path(root, name, week_id)
        digest = write_parquet_atomic(frame, path, tmp_dir=incoming)
        published.append(
            PublishedFile(name, str(path.relative_to(root)), frame.height, digest, {c: str(t) for c, t in frame.schema.items()})
        )
    body = dict(manifest) | {"week_id": week_id, "files": [p.__dict__ for p in published]}
    target = manifest_path(root, week_id)
    write_text_atomic(json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n", target)
    return target


def _check_folder_city(root: Path, city: dict[str, str] | None) -> None:
    weeks = published_weeks(root)
    if city is None or not weeks:
        return
    theirs = (read_manifest(root, weeks[-1]) or {}).get("city")
    if theirs is not None and theirs["key"] != city["key"]:
        raise SnapshotCityMismatch(
            f"the snapshot folder {root} holds {theirs['name']}'s weeks and this run publishes {city['name']}'s: "
            "each city needs its own snapshot folder (CITYIMAGE_SNAPSHOT_PATH), docs/deployment.md, 'Several cities'.")


def read_manifest(root: Path, week_id: str) -> dict[str, Any] | None:
    path = manifest_path(root, week_id)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def published_weeks(root: Path) -> list[str]:
    """Weeks with a manifest, oldest first."""
    folder = root / "manifests"
    if not folder.is_dir():
        return []
    return sorted(p.stem.removeprefix("week=") for p in folder.glob("week=*.json"))
