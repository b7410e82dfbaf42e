"""Writing a file so that a reader sees the old content or the new, never half of it.

Every file the product publishes or keeps (snapshots, manifests, reports, backups, trained models,
the sample inbox) is written here: to a temporary on the same file system, flushed to disk, then
renamed over the target in one step. A crash or a full disk leaves the target as it was.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temporary_for(path: Path) -> Path:
    """The default temporary of ``path``: hidden, beside it, named by this process."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@contextmanager
def replacing(path: Path, tmp: Path | None = None) -> Iterator[Path]:
    """A temporary (``tmp``, default :func:`temporary_for`) to write ``path``'s new content to.

    When the block ends without error the temporary, if still there, is synced to disk and renamed over
    ``path``; on any error it is removed and ``path`` is untouched. A block that deletes the temporary
    itself (the same bytes are already in place) leaves ``path`` alone.
    """
    tmp = tmp or temporary_for(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield tmp
        if tmp.exists():
            fsync_file(tmp)
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """``data`` as the whole content of ``path``, replaced in one step."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return path


def fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
