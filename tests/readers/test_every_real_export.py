"""Every file in the reference exports is recognised and read with its rows accounted for.

The per-platform tests check exact counts and values; this one guarantees that no reference file is
left without a reader, so a file added to the folder cannot go silently unread.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path


from readers import registry
from readers.base import SourceFile

# Exports that do not name their account or year get them from the inbox folders, as in real use.
HINTS = {"account_hint": "reference_account", "date_hint": date(2026, 2, 28)}


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "README.md")


def test_every_reference_export_is_read_and_accounted_for(real_exports: Path) -> None:
    files = _files(real_exports)
    assert len(files) >= 33
    formats = set()
    for path in files:
        companions = {p.name: p.read_bytes() for p in path.parent.iterdir() if p.is_file() and p != path}
        source = SourceFile(name=path.name, data=path.read_bytes(), companions=companions, **HINTS)
        result = registry.read(source)
        assert result.rows_read > 0 or path.name == "Filters.csv", path
        assert result.rows_loaded + len(result.rejects) + len(result.skips) == result.rows_read, path
        assert not result.rejects, (path, result.rejects[:3])
        formats.add(result.format)
    # Each platform family is represented by at least one detected format.
    for prefix in ("x_", "facebook_", "instagram_", "youtube_", "tiktok_", "gsc_"):
        assert any(f.startswith(prefix) for f in formats), prefix
