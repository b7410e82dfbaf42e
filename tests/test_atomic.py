"""One way to write a file: the reader sees the old content or the new, never half, and no temporary stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityimage.atomic import replacing, temporary_for, write_bytes_atomic


def test_a_write_replaces_the_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "snapshot.json"
    write_bytes_atomic(target, b"old")
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["snapshot.json"]


def test_a_failed_write_leaves_the_old_content_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_bytes(b"old")
    with pytest.raises(OSError), replacing(target) as tmp:
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")
    assert target.read_bytes() == b"old" and not temporary_for(target).exists()


def test_a_block_that_drops_its_temporary_leaves_the_target_alone(tmp_path: Path) -> None:
    target = tmp_path / "week.parquet"
    target.write_bytes(b"same")
    before = target.stat().st_ino
    with replacing(target, tmp_path / "elsewhere" / ".week.tmp") as tmp:
        tmp.write_bytes(b"same")
        tmp.unlink()  # the same bytes are already published
    assert target.stat().st_ino == before and target.read_bytes() == b"same"
