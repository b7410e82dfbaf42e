"""Loading export files into staging: the edge where bytes on disk become rows in DuckDB.

Each file is handled alone and atomically. Its SHA-256 decides whether it is new; its rows, the rows
set aside and its ledger entry are written in one transaction, so a crash leaves either all of it or
none. A file the readers refuse is recorded as refused with the reason and nothing of it is loaded;
it is tried again on the next run, in case the reader has since learnt its layout.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import duckdb
import polars as pl

from cityimage.faults import fault
from cityimage.profile import PLATFORMS, CityProfile
from readers import registry as formats
from readers.archive import expand_archive, is_archive
from readers.base import ReadError, ReadResult, Reject, SourceFile
from readers.entities import ENTITIES
from transforms.pseudonymise import Registry, pseudonymise

COMPANION_MAX_BYTES = 1_000_000
_DATE_FOLDER = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
# Hidden files, office lock files and ``_``-prefixed notes are not exports.
_IGNORED = re.compile(r"^(\.|~\$|_)")
FOLDER_WORDS = set(PLATFORMS) | {"search_console", "public"}


@dataclass
class FileOutcome:
    """What happened to one file: the figures the ledger records and the CLI prints."""

    name: str
    sha256: str
    status: str  # loaded | already_loaded | refused
    format: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    rows_duplicate: int = 0
    message: str | None = None


@dataclass
class LoadSummary:
    load_id: str
    files: list[FileOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)


@dataclass(frozen=True)
class IngestContext:
    """What loading needs besides the files: the registry for hints and pseudonyms, and limits."""

    profile: CityProfile
    author_key: bytes
    max_archive_bytes: int
    max_archive_ratio: int


# -- discovery ---------------------------------------------------------------------------------


def discover(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """Every export file under the given files or folders, as (file, root) in a stable order."""
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_file():
            found.append((path, path.parent))
        elif path.is_dir():
            found += [(p, path) for p in sorted(path.rglob("*")) if p.is_file() and not _ignored(p, path)]
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def _ignored(path: Path, root: Path) -> bool:
    return any(_IGNORED.search(part) for part in path.relative_to(root).parts)


def source_for(path: Path, root: Path, data: bytes, profile: CityProfile) -> SourceFile:
    """A SourceFile with the hints its folders give: export date, platform, registered account."""
    parts = path.relative_to(root).parts[:-1] if path != root else ()
    day = next((d for d in (_as_date(p) for p in parts) if d), None)
    platform = next((p for p in parts if p in FOLDER_WORDS - {"public"}), None)
    account = _account_in(parts, platform, profile)
    return SourceFile(
        name=str(path.relative_to(root)) if path != root else path.name,
        data=data,
        account_hint=account,
        platform_hint=platform,
        date_hint=day,
        companions=_companions(path),
    )


def _as_date(part: str) -> date | None:
    match = _DATE_FOLDER.match(part)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _account_in(parts: tuple[str, ...], platform: str | None, profile: CityProfile) -> str | None:
    """The innermost folder that is neither a date nor a platform word names the account."""
    for part in reversed(parts):
        if _as_date(part) or part in FOLDER_WORDS:
            continue
        registered = profile.find(platform or "", part, None) if platform else None
        return registered.handle if registered else part
    return None


def _companions(path: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(path.parent.iterdir())
        if p.is_file() and p != path and p.stat().st_size <= COMPANION_MAX_BYTES and p.suffix.lower() == ".csv"
    }


# -- loading -----------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_load_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[Path],
    ctx: IngestContext,
    progress: Callable[[str], None] | None = None,
) -> LoadSummary:
    """Load every new file under ``paths``; already-loaded content is a no-op, refusals are recorded."""
    summary = start_load(con)
    for path, root in discover(paths):
        data = path.read_bytes()
        source = source_for(path, root, data, ctx.profile)
        summary.files += ingest_source(con, source, ctx, summary.load_id)
        if progress:
            progress(source.name)
    finish_load(con, summary)
    return summary


def start_load(con: duckdb.DuckDBPyConnection) -> LoadSummary:
    """Open a load in ``ops_load``; every file of the run is recorded under its id."""
    summary = LoadSummary(load_id=new_load_id())
    started = datetime.now(timezone.utc)
    con.execute("INSERT INTO ops_load (load_id, started_at, status) VALUES (?, ?, 'running')", [summary.load_id, started])
    return summary


def finish_load(con: duckdb.DuckDBPyConnection, summary: LoadSummary) -> None:
    """Close the load with its file counts."""
    con.execute(
        "UPDATE ops_load SET finished_at = ?, files_seen = ?, files_loaded = ?, files_already = ?, "
        "files_refused = ?, status = 'done' WHERE load_id = ?",
        [datetime.now(timezone.utc), len(summary.files), summary.count("loaded"), summary.count("already_loaded"),
         summary.count("refused"), summary.load_id],
    )


def plan_source(
    con: duckdb.DuckDBPyConnection, source: SourceFile, ctx: IngestContext, load_id: str
) -> tuple[list[FileOutcome], list[tuple[SourceFile, str]]]:
    """What ``ingest_source`` would do before reading: record already-loaded files and bad archives
    at once, and return the (source, digest) leaves still to read, so reading can run elsewhere."""
    digest = sha256(source.data)
    if _already_loaded(con, digest):
        _sight(con, digest, source.name, load_id, "already_loaded")
        return [FileOutcome(source.name, digest, "already_loaded")], []
    if not is_archive(source.data):
        return [], [(source, digest)]
    try:
        members = expand_archive(source, ctx.max_archive_bytes, ctx.max_archive_ratio)
    except ReadError as exc:
        return [_refuse(con, source, digest, load_id, str(exc), None)], []
    done: list[FileOutcome] = []
    leaves: list[tuple[SourceFile, str]] = []
    for member in members:
        member_done, member_leaves = plan_source(con, member, ctx, load_id)
        done += member_done
        leaves += member_leaves
    return done, leaves


def load_prepared(con: duckdb.DuckDBPyConnection, prepared: "PreparedFile", load_id: str) -> FileOutcome:
    """Write a file read elsewhere, unless the same content was loaded since it was planned
    (two copies of one export in the same batch: the second is ``already_loaded``, as serially)."""
    if _already_loaded(con, prepared.digest):
        _sight(con, prepared.digest, prepared.source.name, load_id, "already_loaded")
        return FileOutcome(prepared.source.name, prepared.digest, "already_loaded")
    return write_prepared(con, prepared, load_id)


def ingest_source(con: duckdb.DuckDBPyConnection, source: SourceFile, ctx: IngestContext, load_id: str) -> list[FileOutcome]:
    """One file, or each member of an archive, loaded in its own transaction."""
    digest = sha256(source.data)
    if _already_loaded(con, digest):
        _sight(con, digest, source.name, load_id, "already_loaded")
        return [FileOutcome(source.name, digest, "already_loaded")]
    if is_archive(source.data):
        try:
            members = expand_archive(source, ctx.max_archive_bytes, ctx.max_archive_ratio)
        except ReadError as exc:
            return [_refuse(con, source, digest, load_id, str(exc), None)]
        return [outcome for member in members for outcome in ingest_source(con, member, ctx, load_id)]
    return [_load_one(con, source, digest, ctx, load_id)]


def _already_loaded(con: duckdb.DuckDBPyConnection, digest: str) -> bool:
    rows = con.execute("SELECT 1 FROM ops_file_ledger WHERE file_sha256 = ? AND status = 'loaded'", [digest]).fetchall()
    return bool(rows)


def _load_one(con: duckdb.DuckDBPyConnection, source: SourceFile, digest: str, ctx: IngestContext, load_id: str) -> FileOutcome:
    return write_prepared(con, read_source(source, digest, ctx), load_id)


@dataclass
class PreparedFile:
    """One file read and typed but not yet written: the half of loading that needs no warehouse.

    Split out so a parallel ingest (``flows/parallel.py``) can read files in Dask workers and hand
    the results to the one writer; the serial path composes the same two halves.
    """

    source: SourceFile
    digest: str
    result: ReadResult | None = None
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    duplicates: int = 0
    error: str | None = None


def read_source(source: SourceFile, digest: str, ctx: IngestContext) -> PreparedFile:
    """Read, attribute and pseudonymise one (non-archive) file; a refusal is returned, never raised."""
    try:
        result = formats.read(source)
        tables, duplicates = prepare_tables(result, source, ctx)
    except ReadError as exc:
        return PreparedFile(source, digest, error=str(exc))
    except Exception as exc:  # a reader bug must not stop the other files of the week
        return PreparedFile(source, digest, error=f"reader failed on this file ({type(exc).__name__}: {exc})")
    return PreparedFile(source, digest, result, tables, duplicates)


def write_prepared(con: duckdb.DuckDBPyConnection, prepared: PreparedFile, load_id: str) -> FileOutcome:
    """Write a read file's rows, quarantine and ledger entry in one transaction (or record its refusal)."""
    source, digest, result, tables = prepared.source, prepared.digest, prepared.result, prepared.tables
    if prepared.error is not None or result is None:
        return _refuse(con, source, digest, load_id, prepared.error or "not read", None)
    fault("after_read")
    outcome = FileOutcome(
        source.name, digest, "loaded", result.format, result.rows_read,
        sum(t.height for t in tables.values()), len(result.rejects), len(result.skips), prepared.duplicates,
    )
    con.execute("BEGIN TRANSACTION")
    try:
        _write_rows(con, tables, result, source, digest, load_id)
        fault("inside_merge")
        _write_ledger(con, outcome, source, result, load_id, len(source.data))
        _sight(con, digest, source.name, load_id, "loaded")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    fault("after_commit")
    return outcome


def prepare_tables(result: ReadResult, source: SourceFile, ctx: IngestContext) -> tuple[dict[str, pl.DataFrame], int]:
    """Attribute accounts, pseudonymise the public and drop in-file duplicates; pure given the context."""
    registry = Registry.from_profile(ctx.profile)
    tables: dict[str, pl.DataFrame] = {}
    duplicates = 0
    for entity_name, frame in result.tables.items():
        if frame.is_empty():
            continue
        frame = _attribute(frame, entity_name, source)
        frame = _pseudonymise(frame, entity_name, ctx.author_key, registry)
        unique = frame.unique(subset=list(ENTITIES[entity_name].key), keep="first", maintain_order=True)
        duplicates += frame.height - unique.height
        tables[entity_name] = unique
    return tables, duplicates


def _attribute(frame: pl.DataFrame, entity_name: str, source: SourceFile) -> pl.DataFrame:
    """Rows that do not name their account take the folder's; none at all is a refusal."""
    if "account_handle" not in frame.columns:
        return frame
    if source.account_hint:
        frame = frame.with_columns(pl.col("account_handle").fill_null(pl.lit(source.account_hint)))
    unnamed = frame.filter(pl.col("account_handle").is_null() & pl.col("account_id").is_null())
    if unnamed.height:
        raise ReadError(
            f"{source.name}: row {unnamed['source_row'][0]}: cannot tell which account this {entity_name} belongs to; "
            "drop the file in a folder named after the account's handle (e.g. inbox/<date>/youtube/iChongqing/)"
        )
    return frame


def _pseudonymise(frame: pl.DataFrame, entity_name: str, key: bytes, registry: Registry) -> pl.DataFrame:
    if entity_name == "comment":
        return pseudonymise(frame, key, registry, "author_id", "author_name")
    if entity_name == "post":
        return pseudonymise(frame, key, registry, "account_id", "account_handle")
    return frame


def _write_rows(
    con: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame], result: ReadResult, source: SourceFile, digest: str, load_id: str
) -> None:
    for entity_name, frame in tables.items():
        staged = frame.with_columns(
            source_format=pl.lit(result.format), source_file_sha256=pl.lit(digest), load_id=pl.lit(load_id)
        )
        con.register("__staged", staged)
        con.execute(f"INSERT INTO {ENTITIES[entity_name].table} BY NAME SELECT * FROM __staged")
        con.unregister("__staged")
    if result.rejects:
        _write_quarantine(con, result.rejects, result.format, source.name, digest, load_id, "read")


def _write_quarantine(
    con: duckdb.DuckDBPyConnection, rejects: list[Reject], fmt: str | None, name: str, digest: str, load_id: str, stage: str
) -> None:
    rows = pl.DataFrame(
        {
            "load_id": [load_id] * len(rejects),
            "source_file_sha256": [digest] * len(rejects),
            "file_name": [name] * len(rejects),
            "source_format": [fmt] * len(rejects),
            "source_row": [r.source_row for r in rejects],
            "entity": [r.entity for r in rejects],
            "column_name": [r.column for r in rejects],
            "value": [None if r.value is None else str(r.value)[:2000] for r in rejects],
            "reason": [r.reason for r in rejects],
            "raw": [r.raw for r in rejects],
            "stage": [stage] * len(rejects),
        },
        schema_overrides={"source_row": pl.Int64, "entity": pl.String, "column_name": pl.String, "raw": pl.String,
                          "source_format": pl.String, "value": pl.String},
    )
    con.register("__rejects", rows)
    con.execute("INSERT INTO stg_quarantine BY NAME SELECT * FROM __rejects")
    con.unregister("__rejects")


def _write_ledger(
    con: duckdb.DuckDBPyConnection, outcome: FileOutcome, source: SourceFile, result: ReadResult | None, load_id: str, size: int
) -> None:
    now = datetime.now(timezone.utc)
    platform = formats.by_name(outcome.format).platform if outcome.format else None
    con.execute("DELETE FROM ops_file_ledger WHERE file_sha256 = ?", [outcome.sha256])
    con.execute(
        "INSERT INTO ops_file_ledger (file_sha256, file_name, file_bytes, detected_format, platform, status, rows_read, "
        "rows_loaded, rows_quarantined, rows_skipped, rows_duplicate, exported_at, load_id, first_seen_at, loaded_at, message) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            outcome.sha256, source.name, size, outcome.format, platform, outcome.status, outcome.rows_read,
            outcome.rows_loaded, outcome.rows_quarantined, outcome.rows_skipped, outcome.rows_duplicate,
            result.exported_at if result else None, load_id, now, now if outcome.status == "loaded" else None,
            outcome.message if outcome.message else ("; ".join(result.notes) if result and result.notes else None),
        ],
    )


def _refuse(con: duckdb.DuckDBPyConnection, source: SourceFile, digest: str, load_id: str, message: str, fmt: str | None) -> FileOutcome:
    outcome = FileOutcome(source.name, digest, "refused", fmt, message=message)
    con.execute("BEGIN TRANSACTION")
    _write_ledger(con, outcome, source, None, load_id, len(source.data))
    _sight(con, digest, source.name, load_id, "refused")
    con.execute("COMMIT")
    return outcome


def _sight(con: duckdb.DuckDBPyConnection, digest: str, name: str, load_id: str, outcome: str) -> None:
    con.execute(
        "INSERT INTO ops_file_sighting (file_sha256, file_name, load_id, seen_at, outcome) VALUES (?, ?, ?, ?, ?)",
        [digest, name, load_id, datetime.now(timezone.utc), outcome],
    )
