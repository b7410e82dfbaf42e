"""The benchmark's direct writer of the reference year: its files are the platforms' formats as the readers
take them, every row accounted for, and its counts are what it wrote."""

from __future__ import annotations

from pathlib import Path

import duckdb

from benchmarks.reference import ACCOUNTS, write_reference
from cityimage.settings import Settings
from flows import stages


def test_the_reference_inbox_loads_whole_and_its_counts_are_what_it_wrote(tmp_path: Path) -> None:
    counts = write_reference(tmp_path / "ref", scale=0.001, n_weeks=3)
    settings = Settings(home=tmp_path / "home", inbox_path=tmp_path / "ref" / "inbox",
                        profile_path=tmp_path / "ref" / "profile.yaml", author_key="reference-writer-key-0123456789")
    summary = stages.ingest(settings)
    assert summary.count("refused") == 0, [(f.name, f.message) for f in summary.files if f.status == "refused"]
    assert all(f.rows_quarantined == 0 for f in summary.files)
    assert len(counts["drops"]) == 3 and counts["search_console_exports"] == 3
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        posts = con.execute("SELECT count(*), count(DISTINCT post_id) FROM stg_post WHERE platform <> 'x'").fetchall()[0]
        comments = con.execute("SELECT count(*) FROM stg_comment").fetchall()[0][0]
        mentions = con.execute("SELECT count(*) FROM stg_post WHERE platform = 'x'").fetchall()[0][0]
        accounts = {r[0] for r in con.execute("SELECT DISTINCT account_id FROM stg_post WHERE platform <> 'x'").fetchall()}
    assert posts[0] == counts["post_exports"] and posts[1] <= counts["posts"]
    assert comments == counts["comment_exports"] and mentions == counts["public_mentions"]
    assert accounts <= {a.id for a in ACCOUNTS}
