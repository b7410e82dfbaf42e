"""No public author's raw id or name reaches the warehouse or a snapshot; no key, no run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cityimage.profile import load_profile
from cityimage.sample import default_weeks, write_sample_inbox
from readers import registry
from tests.resilience.hostile import KEY, Lab
from warehouse.ingest import discover, source_for

WEEK = default_weeks()[-1]


def raw_public_authors(inbox: Path, profile) -> set[str]:
    """Every author id and name of the public the readers see in the inbox, before pseudonymisation."""
    found: set[str] = set()
    for path, root in discover([inbox]):
        source = source_for(path, root, path.read_bytes(), profile)
        try:
            result = registry.read(source)
        except Exception:  # noqa: BLE001 - archives and companions are read through their members elsewhere
            continue
        for entity, id_col, name_col in (("comment", "author_id", "author_name"), ("post", "account_id", "account_handle")):
            frame = result.tables.get(entity)
            if frame is None or frame.is_empty():
                continue
            for platform, ident, name in frame.select("platform", id_col, name_col).iter_rows():
                if profile.find(platform, name, ident, by_handle=entity == "post"):
                    continue
                found |= {v for v in (ident, name) if v and len(v) >= 3}
    return found


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    from flows import stages

    home = tmp_path_factory.mktemp("privacy")
    write_sample_inbox(home / "inbox", [WEEK])
    lab = Lab(home)
    summary = stages.ingest(lab.settings)
    assert summary.count("loaded") > 0
    stages.build_facts(lab.settings)
    stages.compute_kpis(lab.settings, WEEK)
    stages.publish(lab.settings, WEEK)
    return lab, raw_public_authors(home / "inbox", load_profile(lab.settings.profile_path))


def test_the_sample_has_public_authors_to_hide(loaded) -> None:
    _, raw = loaded
    assert len(raw) > 50


def test_no_raw_public_author_in_any_text_column_of_any_table(loaded) -> None:
    lab, raw = loaded
    con = duckdb.connect(str(lab.warehouse), read_only=True)
    needles = sorted(raw)
    leaks: list[str] = []
    scanned = 0
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' OR data_type = 'VARCHAR[]' ORDER BY 1, 2").fetchall()
        for table, column in columns:
            values = con.execute(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{table}"').fetchall()
            scanned += 1
            hits = _containing(pl.Series([v for (v,) in values], dtype=pl.String), needles)
            leaks += [f"{table}.{column}: {h!r}" for h in hits[:3]]
    finally:
        con.close()
    assert scanned > 50
    assert leaks == []


def _containing(values: pl.Series, raw: list[str]) -> list[str]:
    """The raw identities found inside any of ``values``, as whole words (a name inside a longer word,
    "Ana" in "Banana", identifies no one)."""
    cells = values.drop_nulls().unique()
    candidates = cells.filter(cells.str.contains_any(raw))
    found = set()
    for cell in candidates.to_list():
        found |= {r for r in raw if r in cell and re.search(rf"(?<![\w]){re.escape(r)}(?![\w])", cell)}
    return sorted(found)


def test_no_raw_public_author_anywhere_in_the_published_snapshot(loaded) -> None:
    # As substrings: links (x.com/<user>/status/...), "@user" replies and names written into replies.
    lab, raw = loaded
    files = list(lab.settings.snapshots.rglob("*.parquet"))
    assert files
    needles = sorted(raw)
    leaks = []
    for path in files:
        frame = pl.read_parquet(path)
        for column, dtype in frame.schema.items():
            if dtype == pl.String:
                hits = _containing(frame[column], needles)
            elif dtype == pl.List(pl.String):
                hits = _containing(frame[column].explode(), needles)
            else:
                continue
            leaks += [f"{path.name}.{column}: {h!r}" for h in hits[:3]]
    assert leaks == []


def test_pseudonyms_come_from_the_configured_key(loaded) -> None:
    from transforms.pseudonymise import pseudonym

    lab, _ = loaded
    [(platform, author_id)] = lab.query(
        "SELECT platform, author_id FROM stg_comment WHERE author_id LIKE 'anon_%' ORDER BY 1, 2 LIMIT 1")
    assert author_id.startswith("anon_") and len(author_id) == 25
    # The same raw id under another key gives another pseudonym: the key, not the code, protects it.
    assert pseudonym(KEY.encode(), platform, "x") != pseudonym(b"another-key-0123456789abcdef", platform, "x")


@pytest.mark.parametrize("command", [["run", "--week", WEEK.id], ["ingest", "inbox"], ["backfill", "--from", WEEK.id, "--to", WEEK.id]])
def test_nothing_starts_without_the_key(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "inbox").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CITYIMAGE_AUTHOR_KEY"} | {"CITYIMAGE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "cityimage", *command], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode in (2, 3), done.stderr
    assert "CITYIMAGE_AUTHOR_KEY" in done.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_a_load_under_another_key_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    """Under a new key every author already loaded would get a second pseudonym: refuse, name the way out."""
    from pydantic import SecretStr

    from flows import stages
    from tests.resilience.hostile import FIRST_ID, X_NAME, Lab, x_csv
    from warehouse.ingest import KeyMismatch

    lab = Lab(tmp_path)
    lab.load(X_NAME, x_csv(2))
    before = lab.query("SELECT count(*) FROM ops_file_ledger")
    other = lab.settings.model_copy(update={"author_key": SecretStr("a-different-key-0123456789abcdef")})
    with pytest.raises(KeyMismatch, match="not the key this warehouse's pseudonyms were made with.*cityimage rebuild"):
        stages.ingest(other, [lab.drop("later/" + X_NAME, x_csv(2, start=FIRST_ID + 50))])
    assert lab.query("SELECT count(*) FROM ops_file_ledger") == before
    lab.load("again/" + X_NAME, x_csv(1, start=FIRST_ID + 90))  # the original key still loads
