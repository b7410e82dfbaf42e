"""Order-independent digests of a warehouse and of a snapshot folder, for "nothing lost or doubled".

A table's digest is the SHA-256 of its rows, each rendered canonically and the renderings sorted, so
row order (which DuckDB does not preserve) does not matter but every value, and every duplicate,
does. Lineage that legitimately differs between two loads of the same bytes is left out: ``load_id``
(a new id per run) and the ``ops_*`` tables (the run's own diary: times, sightings, runs).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

# Columns that name the load or the moment of loading, not the data.
LINEAGE_COLUMNS = frozenset({"load_id", "loaded_at", "first_seen_at", "seen_at", "started_at_load"})


def data_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
        "ORDER BY table_name"
    ).fetchall()
    return [name for (name,) in rows if not name.startswith("ops_")]


def table_digest(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, str]:
    columns = [
        name for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY column_name", [table]
        ).fetchall()
        if name not in LINEAGE_COLUMNS
    ]
    rows = con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    rendered = sorted(repr(row) for row in rows)
    digest = hashlib.sha256()
    digest.update(repr(columns).encode())
    for line in rendered:
        digest.update(line.encode("utf-8", "surrogatepass"))
        digest.update(b"\n")
    return len(rows), digest.hexdigest()


def warehouse_digest(path: Path, tables: list[str] | None = None, prefixes: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
    """(row count, digest) per non-``ops_`` table, optionally only tables starting with ``prefixes``."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = tables if tables is not None else data_tables(con)
        if prefixes:
            names = [n for n in names if n.startswith(prefixes)]
        return {name: table_digest(con, name) for name in names}
    finally:
        con.close()


# Manifest keys that describe the code, not the data: other engineers change the checkout (and its
# labelled evaluation set) while the suite runs, so these are compared only when the code is the same.
CODE_KEYS = ("code_version", "classifier_report", "classifier_public")


def snapshot_bytes(root: Path, ignore_code: bool = False) -> dict[str, str]:
    """SHA-256 of every file under a snapshot folder, by relative path (manifests without CODE_KEYS if asked)."""
    import json

    if not root.is_dir():
        return {}
    out = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        if ignore_code and p.parent.name == "manifests":
            body = {k: v for k, v in json.loads(data).items() if k not in CODE_KEYS}
            data = json.dumps(body, sort_keys=True).encode()
        out[str(p.relative_to(root))] = hashlib.sha256(data).hexdigest()
    return out


def temporaries(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".tmp" in p.name) if root.is_dir() else []


def snapshot_problems(root: Path) -> list[str]:
    """What a reader could trip on: leftover temporary files, manifests naming missing or changed files."""
    import json

    from publish.snapshot import file_sha256

    import pyarrow.parquet as pq

    problems = [f"visible temporary file: {t}" for t in temporaries(root) if not Path(t).name.startswith(".")]
    for parquet in root.rglob("*.parquet"):  # what a reader globbing the snapshot would open
        try:
            pq.read_table(parquet)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"unreadable {parquet.relative_to(root)}: {exc}")
    for manifest in sorted((root / "manifests").glob("*.json")) if (root / "manifests").is_dir() else []:
        body = json.loads(manifest.read_text(encoding="utf-8"))
        for entry in body["files"]:
            target = root / entry["path"]
            if not target.is_file():
                problems.append(f"{manifest.name} lists {entry['path']}, which does not exist")
            elif file_sha256(target) != entry["sha256"]:
                problems.append(f"{manifest.name} lists {entry['path']} with another checksum")
    return problems
