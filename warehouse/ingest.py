"""Loading export files into staging: the edge where bytes on disk become rows in DuckDB.

A file's SHA-256 decides whether it is new. New files are read and written in batches: the rows,
the rows set aside and one ledger entry per file go in one transaction per batch, so a crash leaves
each file either wholly loaded or not at all, and the next run picks up where it stopped. A file
the readers refuse is recorded as refused with the reason and nothing of it is loaded; it is tried
again on the next run, in case the reader has since learnt its layout.

The cost of a run follows the new files, not the inbox's history: the loaded digests are fetched
once per run, and a file whose path, size and modification time match a settled file of an earlier
load is not read at all (``ops_file_stat``; the ``trust_file_stat`` setting turns this off).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import duckdb
import polars as pl

from cityimage.faults import fault
from cityimage.profile import CityProfile
from cityimage.settings import INGEST_BATCH_BYTES, MAX_FILE_BYTES, PARALLEL_READ_BYTES, SettingsError
from cityimage.vocabulary import PLATFORMS
from readers import registry as formats
from readers.archive import expand_archive, is_archive, size_text
from readers.base import ReadError, ReadResult, SourceFile
from readers.entities import ENTITIES
from transforms.pseudonymise import Registry, pseudonymise_comments, pseudonymise_posts
from transforms.schema_drift import drift_note
from warehouse.city import check_city
from warehouse.connection import insert_frame
from warehouse.reading import Outcome, Reading, Reads
from warehouse.row_rules import apply_row_rules
from warehouse.transaction import transaction

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

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
    status: str  # loaded | already_loaded | reattributed | refused
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
    started_at: datetime  # the row rules judge "in the future" against it (warehouse.row_rules)
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
    trust_file_stat: bool = True
    batch_files: int = 500
    batch_bytes: int = INGEST_BATCH_BYTES
    follow_links: bool = False
    max_file_bytes: int = MAX_FILE_BYTES
    #: Processes that read the batches of a load once one holds ``parallel_read_bytes``, while the writer
    #: writes (``warehouse.reading``); 0: the writer reads.
    reader_processes: int = 0
    parallel_read_bytes: int = PARALLEL_READ_BYTES
    #: Called with the connection just before a batch is committed: the flow run's backup (``backup_once``).
    before_write: Callable[[duckdb.DuckDBPyConnection], object] | None = None


class KeyMismatch(SettingsError):
    """The pseudonymisation key is not the one the warehouse's pseudonyms were made with."""


def key_fingerprint(key: bytes) -> str:
    return hmac.new(key, b"cityimage/key-fingerprint/v1", hashlib.sha256).hexdigest()[:16]


def check_key(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Record the key's fingerprint on the first load; refuse a load under any other key.

    Under another key every author already loaded would get a second pseudonym and the reply, spam
    and sentiment figures that follow authors would split silently."""
    rows = con.execute("SELECT fingerprint FROM ops_key_fingerprint").fetchall()
    mine = key_fingerprint(key)
    if not rows:
        con.execute("INSERT INTO ops_key_fingerprint VALUES (?, now())", [mine])
    elif rows[0][0] != mine:
        raise KeyMismatch(
            f"CITYIMAGE_AUTHOR_KEY is not the key this warehouse's pseudonyms were made with (fingerprint "
            f"{rows[0][0]}, this key {mine}): loading under it would give every known author a second "
            "pseudonym. Use the original key, or run `cityimage rebuild --apply` to pseudonymise everything "
            "again under the new one.")


# -- discovery ---------------------------------------------------------------------------------


def discover(paths: Iterable[Path], follow_links: bool = False) -> list[tuple[Path, Path]]:
    """Every entry to load or refuse under the given files or folders, as (file, root) in a stable order.

    Folders are walked; every other entry is listed, so the load can record what it will not read
    (a link, a FIFO) rather than skip it unseen. ``follow_links``: a linked folder is walked too.
    """
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_file():  # a file named on the command line is read where it is, through a link too
            real = path.resolve() if path.is_symlink() else path
            found.append((real, real.parent))
        elif path.is_dir():
            found += [(p, path) for p in _entries(path, follow_links) if not _ignored(p, path)]
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def _entries(folder: Path, follow_links: bool) -> list[Path]:
    entries = []
    for p in sorted(folder.rglob("*")):
        if p.is_symlink() and p.is_dir() and follow_links:
            entries += [q for q in sorted(p.rglob("*")) if q.is_symlink() or not q.is_dir()]
        elif p.is_symlink() or not p.is_dir():
            entries.append(p)
    return entries


def _ignored(path: Path, root: Path) -> bool:
    return any(_IGNORED.search(part) for part in path.relative_to(root).parts)


#: What a file's folders say about its delivery: drop date, platform, account.
Hints = tuple[date | None, str | None, str | None]
#: One sighting of a file: its content hash, its name, what the load did with it, its folders' hints,
#: and the folder its name is relative to.
Sighting = tuple[str, str, str, date | None, str | None, str | None, str]
#: Where a file was seen: its name, the file on disk (an archive, for a member) and the root of the name.
Place = tuple[str, Path, Path]
#: The sighting each loaded file's rows were read from: the latest that loaded or re-attributed it.
READ_AS = ("SELECT file_sha256, arg_max(file_name, seen_at) FROM ops_file_sighting "
           "WHERE outcome IN ('loaded', 'reattributed') GROUP BY file_sha256")


def source_for(
    path: Path, root: Path, data: bytes, profile: CityProfile, companions: "Companions | None" = None
) -> SourceFile:
    """A SourceFile with the hints its folders give: export date, platform, registered account."""
    day, platform, account = folder_hints(path, root, profile)
    return SourceFile(
        name=str(path.relative_to(root)) if path != root else path.name,
        data=data,
        account_hint=account,
        platform_hint=platform,
        date_hint=day,
        companions=(companions or Companions()).of(path),
    )


def folder_hints(path: Path, root: Path, profile: CityProfile) -> Hints:
    """(drop date, platform, account) named by the folders between ``root`` and the file."""
    parts = path.relative_to(root).parts[:-1] if path != root else ()
    day = next((d for d in (_as_date(p) for p in parts) if d), None)
    platform = next((p for p in parts if p in FOLDER_WORDS - {"public"}), None)
    return day, platform, _account_in(parts, platform, profile)


def _read_at_most(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None if it holds more than ``limit``: never more than that in memory."""
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    return None if len(data) > limit else data


def _context_order(place: tuple[str, Path, Path]) -> tuple[int, str]:
    """Sightings of one file, best context first: more folders (a date, a platform, an account) say
    more than fewer (the same file reached from a deeper root); then by name, for a stable choice."""
    name = place[0]
    return -len(Path(name).parts), name


def _hints_of(source: SourceFile) -> Hints:
    return source.date_hint, source.platform_hint, source.account_hint


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


class Companions:
    """The small CSVs beside a file (Search Console's ``Filters.csv``), read once per folder.

    Files are discovered folder by folder, so remembering the last folder read avoids reading every
    sibling again for each of thousands of files in one folder.
    """

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._files: dict[str, bytes] = {}

    def of(self, path: Path) -> dict[str, bytes]:
        if path.parent != self._folder:
            self._folder = path.parent
            self._files = {
                p.name: p.read_bytes()
                for p in sorted(path.parent.iterdir())
                if p.suffix.lower() == ".csv" and p.is_file() and p.stat().st_size <= COMPANION_MAX_BYTES
            }
        return {name: data for name, data in self._files.items() if name != path.name}


# -- loading -----------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_load_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Leaf:
    """A file to read (never an archive: archives are expanded into their members), in discovery order.

    ``error`` is set when the file is refused before reading (a bad archive): it is recorded with the
    batch it falls in, like any other refusal.
    """

    seq: int
    source: SourceFile
    digest: str
    error: str | None = None


@dataclass
class PreparedFile:
    """One file read and typed but not yet written, or the reason it cannot be."""

    leaf: Leaf
    result: ReadResult | None = None  # its tables are moved into the batch's
    rows_loaded: int = 0
    duplicates: int = 0
    error: str | None = None


@dataclass
class PreparedBatch:
    """Files read together: their staging rows per entity (lineage columns set, ``__file`` = position
    in ``files``), ready for one write. Built without the warehouse, from what the readers returned."""

    files: list[PreparedFile]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[Path],
    ctx: IngestContext,
    progress: Callable[[str], None] | None = None,
) -> LoadSummary:
    """Load every new file under ``paths``; already-loaded content is a no-op, refusals are recorded."""
    with Reads(ctx.reader_processes, ctx.parallel_read_bytes) as reads:
        loader = Loader(con, ctx, reads)
        batches = Batches(loader, reads)
        for path, root in discover(paths, ctx.follow_links):
            batches.add(loader.plan(path, root))
            if progress:
                progress(str(path.relative_to(root)) if path != root else path.name)
        batches.close()
        return loader.finish()


class Batches:
    """Planned files cut into batches (``batch_files`` files or ``batch_bytes`` bytes), each read then
    written, in order. While reader processes read a batch, the writer writes the one before and plans
    the next (``warehouse.reading``); a file planned then whose content is in the batch still being
    read is a copy of it, as within one batch: loaded with it, or refused with it and tried again by
    the next run. A batch read in the writer is written at once, as when there are no processes."""

    def __init__(self, loader: "Loader", reads: Reads) -> None:
        self.loader, self.reads = loader, reads
        self.pending: list[Leaf] = []
        self.pending_bytes = 0
        self.ahead: tuple[list[Leaf], Reading] | None = None

    def add(self, leaves: list[Leaf]) -> None:
        self.pending += leaves
        self.pending_bytes += sum(len(leaf.source.data) for leaf in leaves)
        ctx = self.loader.ctx
        if len(self.pending) >= ctx.batch_files or self.pending_bytes >= ctx.batch_bytes:
            self._hand_over()

    def close(self) -> None:
        """The last batch read and written."""
        if self.pending:
            self._hand_over()
        self._write_ahead()

    def _hand_over(self) -> None:
        leaves, self.pending, self.pending_bytes = self.pending, [], 0
        reading = self.reads.start(_sources(leaves))
        self._write_ahead()
        self.ahead = (leaves, reading)
        if not reading.in_background:
            self._write_ahead()

    def _write_ahead(self) -> None:
        if self.ahead is not None:
            (leaves, reading), self.ahead = self.ahead, None
            self.loader.write(prepared_batch(leaves, self.loader.ctx, reading.outcomes()))


class Loader:
    """One load in the writer: what the warehouse already holds, the files seen, their outcomes.

    ``plan`` decides per file on disk (skip unread, already loaded, a copy of a file planned in this
    load, or to read); ``write`` commits a read batch; ``reattribute`` reads again the files whose
    context moved; ``finish`` records what was seen.

    A file's context (its folders' drop date, platform and account, and its name) comes from one
    sighting, whatever order files arrived in: among those still where they were seen, the one whose
    folders say most, then whose name sorts first (:func:`_context_order`; :data:`READ_AS` records
    which one its rows were read from).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, ctx: IngestContext,
                 reads: Callable[[list[SourceFile]], list[Outcome]]) -> None:
        self.con, self.ctx, self.reads = con, ctx, reads
        check_key(con, ctx.author_key)
        check_city(con, ctx.profile)
        self.summary = start_load(con)
        self.loaded = {d for (d,) in con.execute("SELECT file_sha256 FROM ops_file_ledger WHERE status = 'loaded'").fetchall()}
        self.settled = _settled_stats(con) if ctx.trust_file_stat else {}
        self.companions = Companions()
        self.outcomes: dict[int, FileOutcome] = {}
        self.planned: set[str] = set()
        self.copies: dict[str, list[tuple[int, str, Hints]]] = {}
        self.stats: list[_StatRow] = []
        self.sightings: list[Sighting] = []
        self.read_as: dict[str, str] = dict(con.execute(READ_AS).fetchall())
        self.places: dict[str, list[Place]] = {}
        self.roots: dict[int, str] = {}
        self._resolved: dict[Path, str] = {}
        self._where: tuple[Path, Path] = (Path(), Path())
        self._seq = 0

    def plan(self, path: Path, root: Path) -> list[Leaf]:
        """The leaves of one file on disk still to read; everything else is decided at once."""
        if path.is_symlink() and path != root and not (self.ctx.follow_links and path.is_file()):
            return self._refuse_link(path, root)
        if not path.is_file():
            return self._refuse_entry(path, root, "not a regular file (a FIFO, socket or device); only export "
                                                  "files are read")
        try:
            stat = path.stat()
        except OSError as exc:
            return self._refuse_entry(path, root, f"cannot be read ({exc.strerror})", "unreadable")
        if stat.st_size > self.ctx.max_file_bytes:
            return self._refuse_entry(path, root, f"is {size_text(stat.st_size)}, over the "
                                                  f"{size_text(self.ctx.max_file_bytes)} limit for one file "
                                                  "(CITYIMAGE_MAX_FILE_BYTES); it was not read", "too_large")
        key = str(path.resolve())
        name = str(path.relative_to(root)) if path != root else path.name
        known = self.settled.get(key)
        self._where = (path, root)
        if known and known.unchanged(stat) and (known.is_archive or known.file_sha256 in self.loaded):
            self._decide(FileOutcome(name, known.file_sha256, "already_loaded"), folder_hints(path, root, self.ctx.profile))
            if not known.is_archive:
                self._place(known.file_sha256, name)
            return []
        try:
            data = _read_at_most(path, self.ctx.max_file_bytes)
        except OSError as exc:
            return self._refuse_entry(path, root, f"cannot be read ({exc.strerror})", "unreadable")
        if data is None:
            return self._refuse_entry(path, root, f"grew past the {size_text(self.ctx.max_file_bytes)} limit for "
                                                  "one file while it was read; it was not loaded", "too_large")
        digest, first = sha256(data), self._seq
        leaves = self._plan_source(source_for(path, root, data, self.ctx.profile, self.companions), digest)
        self.stats.append(_StatRow(key, stat.st_size, stat.st_mtime_ns, digest, is_archive(data), range(first, self._seq)))
        return leaves

    def _refuse_link(self, path: Path, root: Path) -> list[Leaf]:
        """A symbolic link in a folder is not followed (unless ``follow_links`` and it names a file): it
        could name any file on the machine (its first line would reach the ledger's message) or a folder
        outside the inbox. It is refused by name."""
        target = os.readlink(path)
        return self._refuse_entry(path, root, f"a symbolic link (to {target}) is not followed; copy the export "
                                              "itself into the inbox (or set CITYIMAGE_FOLLOW_INBOX_LINKS)",
                                  "symlink", target)

    def _refuse_entry(self, path: Path, root: Path, why: str, kind: str = "special", target: str = "") -> list[Leaf]:
        """An entry that is not read, refused by name; the ledger keys it by the hash of its kind and
        own path (a link: and its target), never of what it holds, which is not read."""
        name = str(path.relative_to(root))
        digest = sha256(f"{kind}\0{name}\0{target}".encode())
        source = source_for(path, root, b"", self.ctx.profile)
        return [] if digest in self.planned else [Leaf(self._take_seq(), source, digest, f"{name}: {why}")]

    def _plan_source(self, source: SourceFile, digest: str) -> list[Leaf]:
        self._place(digest, source.name)
        if digest in self.loaded:
            self._decide(FileOutcome(source.name, digest, "already_loaded"), _hints_of(source))
            return []
        if digest in self.planned:
            self.copies.setdefault(digest, []).append((self._take_seq(), source.name, _hints_of(source)))
            return []
        error = None
        if is_archive(source.data):
            try:
                members = expand_archive(source, self.ctx.max_archive_bytes, self.ctx.max_archive_ratio,
                                         max_member_bytes=self.ctx.max_file_bytes)
            except ReadError as exc:
                error = str(exc)
            else:
                if members:
                    return [leaf for member in members for leaf in self._plan_source(member, sha256(member.data))]
                error = f"{source.name}: the archive holds no file to load"  # refused by name, not skipped unseen
        self.planned.add(digest)
        return [Leaf(self._take_seq(), source, digest, error)]

    def _note_drift(self, files: list[PreparedFile]) -> None:
        """Note on each CSV export whose columns differ from the previous export of its format.

        "Previous" is by export time: the latest file of the format exported no later than this one,
        among those loaded before it (in the warehouse, or earlier in this load's order), so how the
        load is split into batches changes nothing. An older export loaded late is compared with the
        export before it, not with the newer one."""
        known = self.con.execute(
            "SELECT detected_format, exported_at, file_name, source_columns, file_sha256 FROM ops_file_ledger "
            "WHERE status = 'loaded' AND source_columns IS NOT NULL").fetchall()
        readable = [(f, f.result) for f in sorted(files, key=lambda f: f.leaf.seq)
                    if f.error is None and f.result is not None and f.result.source_columns]
        for f, result in readable:
            previous = _predecessor(known, result.format, result.exported_at, f.leaf.digest)
            known.append((result.format, result.exported_at, f.leaf.source.name, list(result.source_columns),
                          f.leaf.digest))
            if previous is not None:
                note = drift_note(previous[2], previous[3], result.source_columns)
                if note:
                    result.notes.append(note)

    def write(self, batch: PreparedBatch) -> None:
        """Commit a batch: staging rows, quarantine, one ledger row per file, sightings; all or nothing."""
        fault("after_read")
        self._note_drift(batch.files)
        outcomes = [_outcome(prepared) for prepared in batch.files]
        copies = [(seq, FileOutcome(name, o.sha256, "already_loaded" if o.status == "loaded" else "refused", o.format,
                                    message=o.message), hints)
                  for o in outcomes for seq, name, hints in self.copies.get(o.sha256, [])]
        load_id = self.summary.load_id
        self._before_write()
        with transaction(self.con):
            _write_rows(self.con, batch.tables, load_id)
            fault("inside_merge")
            _write_quarantine(self.con, batch.files, load_id)
            _write_ledger(self.con, batch.files, outcomes, load_id)
            outcomes = _after_row_rules(outcomes, apply_row_rules(self.con, load_id, self.summary.started_at))
            _write_sightings(self.con, self.sightings + [(o.sha256, o.name, o.status, *hints, self.roots[seq])
                                                         for seq, o, hints in copies]
                             + [(o.sha256, o.name, o.status, *_hints_of(f.leaf.source), self.roots[f.leaf.seq])
                                for f, o in zip(batch.files, outcomes)], load_id)
        self.sightings = []
        for prepared, outcome in zip(batch.files, outcomes):
            self.outcomes[prepared.leaf.seq] = outcome
            self.planned.discard(outcome.sha256)
            self.copies.pop(outcome.sha256, None)
            if outcome.status == "loaded":
                self.loaded.add(outcome.sha256)
                self.read_as[outcome.sha256] = outcome.name
        self.outcomes.update((seq, outcome) for seq, outcome, _ in copies)
        fault("after_commit")

    def reattribute(self) -> None:
        """Read again every loaded file seen in this load whose best sighting (``_context_order``), among
        this load's and the earlier ones still where they were seen, is not the one its rows were read
        from: a file moved to the right account folder, or a copy of it in an earlier drop."""
        # A file seen once, where it was read from, is settled; only the others need their history.
        unsettled = [d for d, places in self.places.items() if d in self.loaded
                     and (len(places) > 1 or self.read_as.get(d) not in {name for name, _, _ in places})]
        earlier = self._earlier_places(unsettled)
        batch: list[Leaf] = []
        held = 0
        for digest in unsettled:
            name, path, root = min(self.places[digest] + earlier.get(digest, []), key=_context_order)
            if self.read_as.get(digest) == name:
                continue
            self._where = (path, root)
            source = self._source_again(path, root, digest)  # read one at a time: batches bound the bytes held
            if source is not None:
                batch.append(Leaf(self._take_seq(), source, digest))
                held += len(source.data)
            if len(batch) >= self.ctx.batch_files or held >= self.ctx.batch_bytes:
                self._replace(read_batch(batch, self.ctx, self.reads))
                batch, held = [], 0
        if batch:
            self._replace(read_batch(batch, self.ctx, self.reads))

    def _earlier_places(self, digests: list[str]) -> dict[str, list[Place]]:
        """Where earlier loads saw these files, for the places that still hold the same file (a file,
        or the archive holding it, unchanged since by its recorded size and modification time)."""
        if not digests:
            return {}
        rows = self.con.execute(
            "SELECT DISTINCT s.file_sha256, s.file_name, s.root_path FROM ops_file_sighting s "
            "WHERE s.root_path IS NOT NULL AND s.file_sha256 IN (SELECT unnest(?))", [digests]).fetchall()
        stats = _stats_of(self.con, [str(Path(r) / n) for _, n, r in rows])
        current = {(name, str(root.resolve())) for places in self.places.values() for name, _, root in places}
        found: dict[str, list[Place]] = {}
        for digest, name, root in rows:
            if (name, root) in current:
                continue
            on_disk = _file_holding(Path(root), name, digest, stats)
            if on_disk is not None:
                found.setdefault(digest, []).append((name, on_disk, Path(root)))
        return found

    def _source_again(self, path: Path, root: Path, digest: str) -> SourceFile | None:
        """The file (or archive member) with content ``digest`` at ``path``, unless it changed or went
        since: then the rows stay as they were read."""
        try:
            data = _read_at_most(path, self.ctx.max_file_bytes)
        except OSError:
            return None
        if data is None:
            return None
        source = source_for(path, root, data, self.ctx.profile, self.companions)
        if sha256(data) == digest:
            return source
        if is_archive(data):
            try:
                members = expand_archive(source, self.ctx.max_archive_bytes, self.ctx.max_archive_ratio,
                                         max_member_bytes=self.ctx.max_file_bytes)
            except ReadError:
                return None
            return next((m for m in members if sha256(m.data) == digest), None)
        return None

    def _replace(self, batch: PreparedBatch) -> None:
        """Commit files read again: each one's old staging and quarantine rows out, the new ones in, its
        ledger row updated; all or nothing. A file that no longer reads where it now lies keeps its
        rows, and its sighting says why."""
        outcomes = [_outcome(prepared) for prepared in batch.files]
        good = [i for i, o in enumerate(outcomes) if o.status == "loaded"]
        digests = [outcomes[i].sha256 for i in good]
        tables = {name: frame.filter(pl.col("__file").is_in(good)) for name, frame in batch.tables.items()}
        self._before_write()
        with transaction(self.con):
            for table in [*(e.table for e in ENTITIES.values()), "stg_quarantine"]:
                self.con.execute(f"DELETE FROM {table} WHERE source_file_sha256 IN (SELECT unnest(?))", [digests])
            _write_rows(self.con, tables, self.summary.load_id)
            _write_quarantine(self.con, [batch.files[i] for i in good], self.summary.load_id)
            _write_ledger(self.con, [batch.files[i] for i in good], [outcomes[i] for i in good], self.summary.load_id)
            outcomes = _after_row_rules(outcomes, apply_row_rules(self.con, self.summary.load_id, self.summary.started_at))
            moved = [replace(o, status="reattributed") if o.status == "loaded" else o for o in outcomes]
            _write_sightings(self.con, [(o.sha256, o.name, o.status, *_hints_of(f.leaf.source), self.roots[f.leaf.seq])
                                        for f, o in zip(batch.files, moved)], self.summary.load_id)
        for prepared, outcome in zip(batch.files, moved):
            self.outcomes[prepared.leaf.seq] = outcome
            if outcome.status == "reattributed":
                self.read_as[outcome.sha256] = outcome.name

    def finish(self) -> LoadSummary:
        """Read again the files whose context moved, then record the remaining sightings, the files'
        stats and the load's counts in one transaction."""
        self.reattribute()
        self.summary.files = [self.outcomes[seq] for seq in sorted(self.outcomes)]
        with transaction(self.con):
            _write_sightings(self.con, self.sightings, self.summary.load_id)
            _write_stats(self.con, self.stats, self.outcomes, self.summary.load_id)
            finish_load(self.con, self.summary)
        self.sightings = []
        return self.summary

    def _before_write(self) -> None:
        if self.ctx.before_write is not None:
            self.ctx.before_write(self.con)

    def _take_seq(self) -> int:
        """The next position in the load's order, remembering the root of the file being planned."""
        root = self._where[1]
        if root not in self._resolved:
            self._resolved[root] = str(root.resolve())
        self.roots[self._seq] = self._resolved[root]
        self._seq += 1
        return self._seq - 1

    def _place(self, digest: str, name: str) -> None:
        self.places.setdefault(digest, []).append((name, *self._where))

    def _decide(self, outcome: FileOutcome, hints: Hints) -> None:
        seq = self._take_seq()
        self.outcomes[seq] = outcome
        self.sightings.append((outcome.sha256, outcome.name, outcome.status, *hints, self.roots[seq]))


@dataclass(frozen=True)
class _StatRow:
    file_path: str
    file_bytes: int
    modified_ns: int
    file_sha256: str
    is_archive: bool
    seqs: range = range(0)

    def unchanged(self, stat: os.stat_result) -> bool:
        return (self.file_bytes, self.modified_ns) == (stat.st_size, stat.st_mtime_ns)


def _stats_of(con: duckdb.DuckDBPyConnection, names: list[str]) -> dict[str, _StatRow]:
    """The recorded stats of the files and archives along these paths (every prefix of each)."""
    prefixes = sorted({str(p) for name in names for p in [Path(name), *Path(name).parents]})
    rows = con.execute("SELECT file_path, file_bytes, modified_ns, file_sha256, is_archive FROM ops_file_stat "
                       "WHERE file_path IN (SELECT unnest(?))", [prefixes]).fetchall()
    return {r[0]: _StatRow(*r) for r in rows}


def _file_holding(root: Path, name: str, digest: str, stats: dict[str, _StatRow]) -> Path | None:
    """The file under ``root`` that still holds content ``digest`` at ``name``: the file itself, or the
    archive a member's name starts with; judged by the stats recorded when it was read."""
    parts = Path(name).parts
    for k in range(len(parts), 0, -1):
        candidate = root.joinpath(*parts[:k])
        if candidate.is_symlink() or not candidate.is_file():
            continue
        known = stats.get(str(candidate))
        if known is None or not known.unchanged(candidate.stat()):
            return None
        same = known.file_sha256 == digest if k == len(parts) else known.is_archive
        return candidate if same else None
    return None


def _settled_stats(con: duckdb.DuckDBPyConnection) -> dict[str, _StatRow]:
    rows = con.execute(
        "SELECT file_path, file_bytes, modified_ns, file_sha256, is_archive FROM ops_file_stat WHERE is_settled"
    ).fetchall()
    return {row[0]: _StatRow(*row) for row in rows}


def start_load(con: duckdb.DuckDBPyConnection) -> LoadSummary:
    """Open a load in ``ops_load``; every file of the run is recorded under its id."""
    summary = LoadSummary(load_id=new_load_id(), started_at=datetime.now(timezone.utc))
    con.execute("INSERT INTO ops_load (load_id, started_at, status) VALUES (?, ?, 'running')",
                [summary.load_id, summary.started_at])
    return summary


def finish_load(con: duckdb.DuckDBPyConnection, summary: LoadSummary) -> None:
    """Close the load with its file counts."""
    con.execute(
        "UPDATE ops_load SET finished_at = ?, files_seen = ?, files_loaded = ?, files_already = ?, "
        "files_refused = ?, status = 'done' WHERE load_id = ?",
        [datetime.now(timezone.utc), len(summary.files), summary.count("loaded"), summary.count("already_loaded"),
         summary.count("refused"), summary.load_id],
    )


# -- reading and preparing (no warehouse: the files are read in the writer or in reader processes) --


def read_batch(leaves: list[Leaf], ctx: IngestContext, read: Callable[[list[SourceFile]], list[Outcome]]) -> PreparedBatch:
    """Read, attribute and pseudonymise files, sharing the typing work across them; pure given the
    context. ``read``: in the writer alone, or with reader processes (``Reads``)."""
    return prepared_batch(leaves, ctx, read(_sources(leaves)))


def _sources(leaves: list[Leaf]) -> list[SourceFile]:
    """The files of a batch to read: those not refused already when they were planned."""
    return [leaf.source for leaf in leaves if leaf.error is None]


def prepared_batch(leaves: list[Leaf], ctx: IngestContext, outcomes: list[Outcome]) -> PreparedBatch:
    """Attribute and pseudonymise the files read (``outcomes``, one per file of ``_sources``); pure
    given the context. A refusal is a file's ``error``, never raised."""
    results = iter(outcomes)
    files: list[PreparedFile] = []
    frames: dict[str, list[pl.DataFrame]] = {}
    for leaf in leaves:
        outcome = ReadError(leaf.error) if leaf.error is not None else next(results)
        prepared = _attributed(leaf, outcome, len(files), frames)
        files.append(prepared)
    batch = PreparedBatch(files)
    for entity_name, parts in frames.items():
        batch.tables[entity_name] = _deduplicated(batch, entity_name, _pseudonymise(
            pl.concat(parts, how="diagonal_relaxed"), entity_name, ctx.author_key, Registry.from_profile(ctx.profile)))
    return batch


def _attributed(leaf: Leaf, outcome: ReadResult | ReadError, index: int, frames: dict[str, list[pl.DataFrame]]) -> PreparedFile:
    """The file's tables, accounts attributed and lineage set, added to ``frames``; or its refusal."""
    if isinstance(outcome, ReadError):
        return PreparedFile(leaf, error=str(outcome))
    try:
        tables = {name: _attribute(frame, name, leaf.source) for name, frame in outcome.tables.items() if not frame.is_empty()}
    except ReadError as exc:
        return PreparedFile(leaf, error=str(exc))
    for name, frame in tables.items():
        frames.setdefault(name, []).append(frame.with_columns(
            source_format=pl.lit(outcome.format), source_file_sha256=pl.lit(leaf.digest), __file=pl.lit(index, pl.Int32)))
    return PreparedFile(leaf, result=replace(outcome, tables={}))


def _deduplicated(batch: PreparedBatch, entity_name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Drop rows repeating a natural key within their own file, counting them per file."""
    unique = frame.unique(subset=[*ENTITIES[entity_name].key, "__file"], keep="first", maintain_order=True)
    before = dict(frame.group_by("__file").len().iter_rows())
    after = dict(unique.group_by("__file").len().iter_rows())
    for index, rows in before.items():
        batch.files[index].rows_loaded += after.get(index, 0)
        batch.files[index].duplicates += rows - after.get(index, 0)
    return unique


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
        return pseudonymise_comments(frame, key, registry)
    if entity_name == "post":
        return pseudonymise_posts(frame, key, registry)
    return frame


def _predecessor(candidates: list[tuple], fmt: str, exported_at: datetime | None, digest: str) -> tuple | None:
    """The export of ``fmt`` exported last at or before ``exported_at`` (any, when it has no date)."""
    same = [c for c in candidates if c[0] == fmt and c[4] != digest]
    if exported_at is not None:
        same = [c for c in same if c[1] is not None and c[1] <= exported_at]
    if not same:
        return None
    return max(same, key=lambda c: (c[1] is not None, c[1] or datetime.min.replace(tzinfo=timezone.utc), c[2], c[4]))


# -- writing (inside the batch's transaction) -----------------------------------------------------


def _outcome(prepared: PreparedFile) -> FileOutcome:
    leaf, result = prepared.leaf, prepared.result
    if prepared.error is not None or result is None:
        return FileOutcome(leaf.source.name, leaf.digest, "refused", message=prepared.error or "not read")
    return FileOutcome(
        leaf.source.name, leaf.digest, "loaded", result.format, result.rows_read, prepared.rows_loaded,
        len(result.rejects), len(result.skips), prepared.duplicates,
        message="; ".join(result.notes) if result.notes else None,
    )


def _after_row_rules(outcomes: list[FileOutcome], moved: dict[str, int]) -> list[FileOutcome]:
    """The outcomes with the rows the row rules set aside counted as quarantined, as the ledger now says."""
    return [replace(o, rows_loaded=o.rows_loaded - moved[o.sha256], rows_quarantined=o.rows_quarantined + moved[o.sha256])
            if o.sha256 in moved else o for o in outcomes]


def _write_rows(con: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame], load_id: str) -> None:
    for entity_name, frame in tables.items():
        insert_frame(con, ENTITIES[entity_name].table, frame.drop("__file").with_columns(load_id=pl.lit(load_id)))


def _write_quarantine(con: duckdb.DuckDBPyConnection, files: list[PreparedFile], load_id: str) -> None:
    rows = [
        {"source_file_sha256": f.leaf.digest, "file_name": f.leaf.source.name, "source_format": f.result.format,
         "source_row": r.source_row, "entity": r.entity, "column_name": r.column,
         "value": None if r.value is None else str(r.value)[:2000], "reason": r.reason, "raw": r.raw}
        for f in files if f.error is None and f.result is not None for r in f.result.rejects
    ]
    if not rows:
        return
    frame = pl.DataFrame(rows, schema=_QUARANTINE_SCHEMA).with_columns(load_id=pl.lit(load_id), stage=pl.lit("read"))
    insert_frame(con, "stg_quarantine", frame)


_QUARANTINE_SCHEMA = {
    "source_file_sha256": pl.String, "file_name": pl.String, "source_format": pl.String, "source_row": pl.Int64,
    "entity": pl.String, "column_name": pl.String, "value": pl.String, "reason": pl.String, "raw": pl.String,
}
_LEDGER_SCHEMA: dict[str, PolarsDataType] = {
    "file_sha256": pl.String, "file_name": pl.String, "file_bytes": pl.Int64, "detected_format": pl.String,
    "platform": pl.String, "status": pl.String, "rows_read": pl.Int64, "rows_loaded": pl.Int64,
    "rows_quarantined": pl.Int64, "rows_skipped": pl.Int64, "rows_duplicate": pl.Int64,
    "exported_at": pl.Datetime("us", "UTC"), "load_id": pl.String, "first_seen_at": pl.Datetime("us", "UTC"),
    "loaded_at": pl.Datetime("us", "UTC"), "message": pl.String, "source_columns": pl.List(pl.String),
}


def _write_ledger(con: duckdb.DuckDBPyConnection, files: list[PreparedFile], outcomes: list[FileOutcome], load_id: str) -> None:
    """One row per file content; a content refused by an earlier load keeps its first sighting time."""
    now = datetime.now(timezone.utc)
    rows = [
        (o.sha256, o.name, len(f.leaf.source.data), o.format, formats.by_name(o.format).platform if o.format else None,
         o.status, o.rows_read, o.rows_loaded, o.rows_quarantined, o.rows_skipped, o.rows_duplicate,
         f.result.exported_at if f.result and o.status == "loaded" else None, load_id, now,
         now if o.status == "loaded" else None, o.message,
         list(f.result.source_columns) or None if f.result and o.status == "loaded" else None)
        for f, o in zip(files, outcomes)
    ]
    frame = pl.DataFrame(rows, schema=_LEDGER_SCHEMA, orient="row")
    insert_frame(con, "ops_file_ledger", frame, _update_on_conflict(frame, "file_sha256", keep=("first_seen_at",)))


def _write_sightings(con: duckdb.DuckDBPyConnection, sightings: list[Sighting], load_id: str) -> None:
    if not sightings:
        return
    frame = pl.DataFrame(sightings, schema={"file_sha256": pl.String, "file_name": pl.String, "outcome": pl.String,
                                            "delivered_on": pl.Date, "platform": pl.String, "account_handle": pl.String,
                                            "root_path": pl.String},
                         orient="row").with_columns(load_id=pl.lit(load_id), seen_at=pl.lit(datetime.now(timezone.utc)))
    insert_frame(con, "ops_file_sighting", frame)


def _write_stats(con: duckdb.DuckDBPyConnection, stats: list[_StatRow], outcomes: dict[int, FileOutcome], load_id: str) -> None:
    """Remember each file read in this load; settled when every leaf of it is in the warehouse."""
    if not stats:
        return
    now = datetime.now(timezone.utc)
    rows = [
        (s.file_path, s.file_bytes, s.modified_ns, s.file_sha256, s.is_archive,
         len(s.seqs) > 0 and all(outcomes[q].status in ("loaded", "already_loaded") for q in s.seqs), load_id, now)
        for s in stats
    ]
    frame = pl.DataFrame(rows, orient="row", schema={
        "file_path": pl.String, "file_bytes": pl.Int64, "modified_ns": pl.Int64, "file_sha256": pl.String,
        "is_archive": pl.Boolean, "is_settled": pl.Boolean, "load_id": pl.String, "recorded_at": pl.Datetime("us", "UTC")})
    insert_frame(con, "ops_file_stat", frame, _update_on_conflict(frame, "file_path"))


def _update_on_conflict(frame: pl.DataFrame, key: str, keep: tuple[str, ...] = ()) -> str:
    """An upsert clause: a row whose ``key`` exists takes the frame's values, except the ``keep`` columns."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in frame.columns if c != key and c not in keep)
    return f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
