"""A copy of each published week on object storage (S3 and S3-compatible stores), for analysts elsewhere.

The snapshot folder stays the publication of record; after a week is published there, its files are
copied to ``snapshot_mirror_url`` with pyarrow's file systems, in the folder layout analysts know, under
the city's key, so one store holds a network of cities side by side
(``city=<key>/<table>/week=<id>/<table>.parquet``, ``city=<key>/manifests/week=<id>.json``). Each file is one object PUT,
whole or absent; the manifest goes last, so a reader that waits for a week's manifest never reads a
half-copied week. Copying the same week again writes the same bytes, so a failed copy is mended by the
next run. The URL carries the store's options: ``s3://bucket/prefix?endpoint_override=host:9000&scheme=http``;
credentials come from the usual ``AWS_*`` variables.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from publish.snapshot import manifest_path, read_manifest

#: The AWS SDK's newer default adds checksums that S3-compatible servers (Ceph, rclone, MinIO before
#: 2025) refuse ("MissingContentLength"); a mock store hides this. Set unless the user chose otherwise.
CHECKSUM_VARIABLE = "AWS_REQUEST_CHECKSUM_CALCULATION"


class MirrorError(RuntimeError):
    """A week could not be copied to object storage; it stays published locally."""


def mirror_week(root: Path, week_id: str, url: str) -> list[str]:
    """Copy the week published under ``root`` to ``url``: its Parquet files, then its manifest.

    Returns the object paths written. Raises ``MirrorError`` naming the file, the store and the reason.
    """
    manifest = read_manifest(root, week_id)
    if manifest is None:
        raise MirrorError(f"week {week_id} is not published in {root}: nothing to copy to {url}")
    files = [root / f["path"] for f in manifest["files"]] + [manifest_path(root, week_id)]
    filesystem, base = _filesystem(url)
    city = (manifest.get("city") or {}).get("key")
    prefix = base.rstrip("/") + (f"/city={city}" if city else "")
    written = []
    for path in files:
        key = f"{prefix}/{path.relative_to(root).as_posix()}"
        try:
            with path.open("rb") as source, filesystem.open_output_stream(key) as target:
                shutil.copyfileobj(source, target, length=8 * 2**20)
            if filesystem.get_file_info(key).size != path.stat().st_size:
                raise OSError(f"the store holds {filesystem.get_file_info(key).size} bytes, the file {path.stat().st_size}")
        except OSError as exc:
            raise MirrorError(
                f"copying week {week_id} to {shown_url(url)} failed at {path.relative_to(root)}: {exc}. The week stays "
                f"published in {root}; the next run copies it again."
            ) from exc
        written.append(key)
    return written


def _filesystem(url: str):
    """pyarrow's file system and base path for the URL, checksums set for S3-compatible servers."""
    import pyarrow.fs

    os.environ.setdefault(CHECKSUM_VARIABLE, "when_required")
    try:
        return pyarrow.fs.FileSystem.from_uri(url)
    except (OSError, ValueError) as exc:
        raise MirrorError(f"snapshot_mirror_url {shown_url(url)} is not a store pyarrow can open: {exc}") from exc


def shown_url(url: str) -> str:
    """The URL without its query (which may carry keys), for messages."""
    return url.split("?", 1)[0]
