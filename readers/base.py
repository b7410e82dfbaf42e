"""What every export reader shares: the source it reads, the result it returns, and typed parsing.

Readers are pure: bytes and a name in, typed frames out. They never touch the warehouse or the disk,
so the same reader serves ingestion, tests, the fuzzer and the benchmark. A reader reads everything
as text first, then types each declared column deliberately; a value that does not parse sends its
row to quarantine with the column, the value and the reason, instead of becoming null or zero.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any, Callable, Iterable, Literal, Mapping

import orjson
import polars as pl

from readers.entities import ENTITIES

# Cells that mean "no data" in some export: missing, never zero.
# The longest cell a CSV may hold: far above any post text or caption, low enough to bound memory.
MAX_CELL_CHARS = 10_000_000

MISSING_TOKENS = ("", "-", "--", "—", "undefined", "N/A", "n/a", "NA", "null", "None", "nan")


class ReadError(ValueError):
    """The file as a whole cannot be read; the message names the file and says what to do."""


class UnknownFormat(ReadError):
    """No reader recognises the file's layout."""


@dataclass(frozen=True)
class SourceFile:
    """An export as handed to a reader: its name, its bytes, and hints from where it was found.

    ``account_hint`` is a registered handle found in the file's folder path, for exports that do not
    name their account (YouTube Studio, TikTok Studio). ``date_hint`` is the export date found in the
    path (a ``2026-03-01`` folder), for exports whose dates carry no year or whose window is not in
    the file. ``companions`` are the other small files of the same download (the same folder or zip),
    by base name, for exports split over several files (Search Console's ``Filters.csv`` holds the
    date range of ``Queries.csv``).
    """

    name: str
    data: bytes
    account_hint: str | None = None
    platform_hint: str | None = None
    date_hint: date | None = None
    companions: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem

    @property
    def basename(self) -> str:
        return PurePosixPath(self.name).name


@dataclass(frozen=True)
class Reject:
    """A row that could not be loaded, and exactly why."""

    source_row: int
    column: str | None
    value: str | None
    reason: str
    entity: str | None = None
    raw: str | None = None


@dataclass(frozen=True)
class Skip:
    """Rows recognised and deliberately not loaded (a Total row, a phantom, a description header)."""

    source_row: int
    reason: str


@dataclass
class ReadResult:
    """Typed rows per entity plus the accounting of every row read.

    ``rows_read`` counts records as the reader sees them (data rows of a CSV, items of a JSON page,
    replies included); every one ends up loaded in exactly one entity, rejected, or skipped.
    """

    format: str
    rows_read: int
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    exported_at: datetime | None = None
    notes: list[str] = field(default_factory=list)
    #: the export's own column headers (CSV), or the metric paths of its items (API responses,
    #: ``readers.graph_json.metric_paths``), compared with the previous export's for drift
    source_columns: tuple[str, ...] = ()

    @property
    def rows_loaded(self) -> int:
        return sum(frame.height for frame in self.tables.values())

    def check_accounting(self) -> None:
        """Fail loudly if a reader lost or invented rows; every reader's result passes through this."""
        accounted = self.rows_loaded + len(self.rejects) + len(self.skips)
        if accounted != self.rows_read:
            raise AssertionError(
                f"{self.format}: read {self.rows_read} rows but accounted for {accounted} "
                f"(loaded {self.rows_loaded}, rejected {len(self.rejects)}, skipped {len(self.skips)})"
            )


@dataclass(frozen=True)
class Probe:
    """What detection looks at: the decoded head of a file and, for CSV, its header cells."""

    source: SourceFile
    text: str | None
    header: tuple[str, ...]
    json: object | None


class ExportFormat:
    """One export layout. Subclasses declare name, platform, grain, key and columns, and read files."""

    name: str = ""
    platform: str = ""
    grain: str = ""
    entities: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    description: str = ""

    def score(self, probe: Probe) -> float:
        """How well the file matches this layout, 0 (not at all) to 1 (certain)."""
        raise NotImplementedError

    def explain_mismatch(self, probe: Probe) -> str:
        """Why the file does not match: the columns that are missing or unknown."""
        return ""

    def read(self, source: SourceFile) -> ReadResult:
        raise NotImplementedError

    def read_many(self, sources: list[SourceFile]) -> list[ReadResult | ReadError]:
        """Several files of this layout, in order; a file the layout refuses is its ReadError.
        Layouts whose files come in thousands override this to share the typing work."""
        outcomes: list[ReadResult | ReadError] = []
        for source in sources:
            try:
                outcomes.append(self.read(source))
            except ReadError as exc:
                outcomes.append(exc)
        return outcomes

    def prepare(self, probe: Probe) -> Any:
        """What of the file to keep for :meth:`read_prepared` while detection holds it decoded. By
        default the file itself, read again later; a layout whose detection parses the whole file
        (JSON) keeps what it makes of the parse instead, so a large dump is parsed once and its parse
        is freed before the next file's."""
        return probe.source

    def read_prepared(self, prepared: list[Any]) -> list[ReadResult | ReadError]:
        """:meth:`read_many` over what :meth:`prepare` kept, in order."""
        return self.read_many(prepared)

    def documented_columns(self) -> list[tuple[str, str, str]]:
        """(canonical column, accepted headers, type) rows for the format table in the docs."""
        return []


# ---------------------------------------------------------------------------------------------
# Decoding and tabulating


#: Bytes as :func:`utf8_json_documents` screens them: a digit is ``0``, a quote stays, the rest is ``.``.
_NUMBER_SCREEN = bytes(ord("0") if chr(b).isdigit() else b if b == ord('"') else ord(".") for b in range(256))
#: An integer of 19 digits or more outside a string: orjson reads one beyond 64 bits as a float.
_LONG_NUMBER = b"." + b"0" * 19


def utf8_json_documents(data: bytes) -> tuple[list[object], bool] | None:
    """:func:`json_documents` of a UTF-8 file's bytes, parsed by orjson: or None, and the caller decodes
    the text and parses it with :func:`json_documents`, which decides and words any refusal.

    The Python parser needs the whole file decoded and split into lines first; on a comment page of the
    synthetic year that was about a quarter of reading its JSON, and orjson parses faster besides (0.25
    against 0.32 s for a 10 MB page file, the machine busy). orjson returns what ``json`` would,
    except that it refuses more (NaN, lone surrogates, bytes that are not UTF-8: None then) and reads
    an integer beyond 64 bits as a float: a file with an integer of 19 digits or more outside a string
    goes to the text path too. Lines are split at line feeds only, as JSON lines are written; the text
    path also splits at Unicode line separators, which JSON allows inside a string, and refuses such a
    line as broken.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if _LONG_NUMBER in b"." + data.translate(_NUMBER_SCREEN):
        return None
    try:
        return [orjson.loads(data)], False
    except orjson.JSONDecodeError:
        pass
    try:
        return [orjson.loads(line) for line in data.split(b"\n") if line.strip()], True
    except orjson.JSONDecodeError:
        return None


def json_documents(text: str, name: str) -> tuple[list[object], bool]:
    """The JSON documents of a file's text, and whether it was JSON lines.

    The whole text as one document; else one document per non-empty line (JSON lines, as twarc and
    paged API dumps write them). A line that is not JSON refuses the whole file, naming the line and
    column: every JSON reader parses through here, so they all refuse alike.
    """
    try:
        return [json.loads(text)], False
    except json.JSONDecodeError:
        pass
    documents = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                documents.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ReadError(f"{name}: line {number} is not valid JSON ({exc.msg} at column {exc.colno})") from exc
    return documents, True


def decode_text(source: SourceFile) -> str:
    """Decode with the encoding the bytes declare; UTF-8 otherwise, cp1252 as the spreadsheet fallback.

    Strips the BOM and Excel's ``sep=,`` first line. Never replaces undecodable bytes silently.
    """
    data = source.data
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ReadError(f"{source.name}: declares UTF-16 but byte {exc.start} is not valid UTF-16") from exc
    else:
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8):]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = _decode_legacy(source, data, exc)
    if text.startswith("\ufeff"):
        text = text[1:]
    if text[:4].lower() == "sep=":
        text = text.split("\n", 1)[1] if "\n" in text else ""
    return text


def _decode_legacy(source: SourceFile, data: bytes, exc: UnicodeDecodeError) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ReadError(
            f"{source.name}: not valid UTF-8 (byte {exc.start}) nor Windows-1252; re-export it as UTF-8"
        ) from exc


def normalise_header(cell: str) -> str:
    """Case, spacing and quote differences between exports do not make a new layout."""
    return re.sub(r"\s+", " ", cell.replace("\ufeff", "").strip().strip('"')).lower()


def csv_header(text: str) -> tuple[str, ...]:
    """The first CSV record's cells, for detection; an empty file has no header."""
    # newline="" as in tabulate_csv: a bare CR is a line end, not an error of the csv module.
    try:
        first = next(csv.reader(io.StringIO(text[:65536], newline="")), [])
    except csv.Error as exc:
        raise ReadError(f"broken CSV in the header row ({exc})") from exc
    return tuple(first)


def tabulate_csv(text: str, source: SourceFile, header_rows: int = 1) -> tuple[list[str], list[list[str]]]:
    """Split CSV text into a header and data records with Python's csv module, exactly.

    Quoted newlines and delimiters are kept; a ragged record (a truncated last line, a stray quote)
    is kept too and reported by ``frame_from_records``. Returns the header and the records.
    """
    if csv.field_size_limit() < MAX_CELL_CHARS:
        csv.field_size_limit(MAX_CELL_CHARS)  # the module's default (131,072) refuses long post texts
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ReadError(f"{source.name}: a cell is longer than {MAX_CELL_CHARS:,} characters; "
                            "this is not an export cityimage can trust") from exc
        raise ReadError(f"{source.name}: broken CSV quoting near record {exc}") from exc
    if not records or not any(cell.strip() for cell in records[0]):
        raise ReadError(f"{source.name}: the file is empty (no header row)")
    return records[0], records[header_rows:]


def frame_from_records(
    header: list[str], records: list[list[str]], first_row: int = 1
) -> tuple[pl.DataFrame, list[Reject]]:
    """All-text frame with ``source_row``; records whose cell count differs from the header are rejected.

    Duplicate header names are made unique with ``#2``, ``#3`` suffixes, so no column is dropped.
    Blank records (an empty trailing line) are not rows and are not counted.
    """
    names = _unique(header)
    width = len(names)
    rows: list[list[str]] = []
    numbers: list[int] = []
    rejects: list[Reject] = []
    for offset, record in enumerate(records):
        number = first_row + offset
        if not record or (len(record) == 1 and record[0] == ""):
            continue
        if len(record) != width:
            rejects.append(
                Reject(number, None, None, f"has {len(record)} cells where the header has {width}",
                       raw=",".join(record)[:2000])
            )
            continue
        rows.append(record)
        numbers.append(number)
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    frame = pl.DataFrame(columns, schema={name: pl.String for name in names})
    return frame.with_columns(pl.Series("source_row", numbers, dtype=pl.Int64)), rejects


def _unique(header: Iterable[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for cell in header:
        name = cell.replace("\ufeff", "").strip()
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


# ---------------------------------------------------------------------------------------------
# Typed columns

Kind = Literal[
    "text", "id", "count", "signed_count", "number", "percent", "fraction", "duration", "bool"
]


@dataclass(frozen=True)
class Col:
    """A column a CSV layout may carry: where it goes, the headers it appears under, and its type.

    ``aliases`` are compared after ``normalise_header``; list every spelling seen in the wild,
    localized ones included. ``required`` columns define the layout for detection.
    """

    target: str
    aliases: tuple[str, ...]
    kind: Kind = "text"
    required: bool = False

    def matches(self, header: str) -> bool:
        return normalise_header(header) in {normalise_header(a) for a in self.aliases}


_NUMBER_CLEAN = r"[,\u00a0\u202f ']"


def _clean(expr: pl.Expr) -> pl.Expr:
    stripped = expr.str.strip_chars()
    return pl.when(stripped.is_in(MISSING_TOKENS)).then(None).otherwise(stripped)


def _clean_text(expr: pl.Expr) -> pl.Expr:
    """Free text keeps its words (a comment may say "None"); only an empty cell is missing."""
    return pl.when(expr.str.strip_chars() == "").then(None).otherwise(expr)


def _parse(kind: Kind, expr: pl.Expr) -> pl.Expr:
    """The typed value of a cleaned text expression; null where it does not parse."""
    if kind in ("text", "id"):
        return expr
    if kind in ("count", "signed_count"):
        digits = expr.str.replace_all(_NUMBER_CLEAN, "").str.replace(r"^(-?\d+)\.0+$", "$1")
        value = digits.cast(pl.Int64, strict=False)
        return value if kind == "signed_count" else pl.when(value >= 0).then(value)
    if kind == "number":
        return expr.str.replace_all(_NUMBER_CLEAN, "").cast(pl.Float64, strict=False)
    if kind == "percent":
        # Rounded so "0.07%" is 0.0007, not 0.0007000000000000001: the snapshot must not carry float noise.
        return (expr.str.replace_all(r"[%\s]", "").str.replace_all(",", "").cast(pl.Float64, strict=False) / 100).round(12)
    if kind == "fraction":
        return expr.str.replace_all(_NUMBER_CLEAN, "").cast(pl.Float64, strict=False)
    if kind == "duration":
        parts = expr.str.extract_groups(r"^(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)$")
        hours = parts.struct.field("1").cast(pl.Float64).fill_null(0)
        return hours * 3600 + parts.struct.field("2").cast(pl.Float64) * 60 + parts.struct.field("3").cast(pl.Float64)
    if kind == "bool":
        lowered = expr.str.to_lowercase()
        return (
            pl.when(lowered.is_in(["true", "yes", "1", "sí", "si", "oui", "ja"])).then(True)
            .when(lowered.is_in(["false", "no", "0", "non", "nein"])).then(False)
        )
    raise ValueError(f"unknown kind {kind}")


_KIND_WORDS = {
    "count": "a non-negative whole number",
    "signed_count": "a whole number",
    "number": "a number",
    "percent": "a percentage",
    "fraction": "a fraction",
    "duration": "a duration H:MM:SS",
    "bool": "yes/no",
}

#: An id a spreadsheet rewrote as a number: ``6.49E+17``, and as European locales or other programs
#: write it, ``6,49E+17`` or ``6.49E17``. One digit before the mark and an exponent of at most two
#: digits, so no platform id (YouTube's 11 characters never hold a '.' or ',') takes this shape.
SCIENTIFIC_ID = re.compile(r"(?i)^\d([.,]\d{1,15})?E\+?\d{1,2}$")  # (?i) inline: Polars takes the pattern


def type_columns(frame: pl.DataFrame, columns: dict[str, Kind]) -> tuple[pl.DataFrame, list[Reject]]:
    """Type text columns in place; rows with an unparseable value leave the frame as rejects.

    ``columns`` maps a column of ``frame`` to its kind. Cells in ``MISSING_TOKENS`` become null.
    Ids are trimmed text; an id written in scientific notation means a spreadsheet re-saved the file,
    which is a whole-file error raised by ``refuse_spreadsheet_resave``.
    """
    typed = frame.with_columns(
        [
            (_parse(kind, _clean(pl.col(name))) if kind != "text" else _clean_text(pl.col(name))).alias(name)
            for name, kind in columns.items()
        ]
    )
    failed = [(name, kind) for name, kind in columns.items() if kind not in ("text", "id")]
    rejects: list[Reject] = []
    bad_rows: set[int] = set()
    for name, kind in failed:
        mask = frame.select(_clean(pl.col(name)).is_not_null()).to_series() & typed.get_column(name).is_null()
        if not mask.any():
            continue
        bad = frame.filter(mask)
        for row, value in zip(bad["source_row"], bad[name]):
            if row in bad_rows:
                continue
            bad_rows.add(row)
            rejects.append(Reject(row, name, value, f"{value!r} is not {_KIND_WORDS[kind]}"))
    if bad_rows:
        typed = typed.filter(~pl.col("source_row").is_in(list(bad_rows)))
    return typed, sorted(rejects, key=lambda r: r.source_row)


def refuse_spreadsheet_resave(source: SourceFile, frame: pl.DataFrame, id_columns: Iterable[str]) -> None:
    """Ids like ``6.49E+17`` mean a spreadsheet rewrote the file and lost digits: refuse it whole."""
    for name in id_columns:
        if name not in frame.columns:
            continue
        hits = frame.filter(pl.col(name).str.strip_chars().str.contains(SCIENTIFIC_ID.pattern))
        if hits.height:
            row = hits["source_row"][0]
            raise ReadError(
                f"{source.name}: row {row}, column {name!r} holds {hits[name][0]!r}: the file was re-saved by a "
                "spreadsheet program, which rounds ids and rewrites dates. Load the file as the platform "
                "exported it."
            )


SPREADSHEET_DATE = re.compile(r"^\d{1,2}-[A-Za-z]{3}-\d{2}(\d{2})?(\s.*)?$")


def refuse_spreadsheet_dates(source: SourceFile, frame: pl.DataFrame, date_columns: Iterable[str]) -> None:
    """Dates like ``3-Jun-26`` are a spreadsheet's rewrite of the platform's own format: refuse the file whole."""
    for name in date_columns:
        if name not in frame.columns:
            continue
        hits = frame.filter(pl.col(name).str.strip_chars().str.contains(SPREADSHEET_DATE.pattern))
        if hits.height:
            raise ReadError(
                f"{source.name}: row {hits['source_row'][0]}, column {name!r} holds {hits[name][0]!r}: the file was "
                "re-saved by a spreadsheet program, which rewrites dates and rounds ids. Load the file as the "
                "platform exported it."
            )


def parse_datetimes(expr: pl.Expr, formats: Iterable[str], zone: str | None = None) -> pl.Expr:
    """First format that parses wins; naive results are read in ``zone`` (UTC if none) and made UTC."""
    attempts = [expr.str.strptime(pl.Datetime("us"), fmt, strict=False) for fmt in formats]
    naive = pl.coalesce(attempts)
    return naive.dt.replace_time_zone(zone or "UTC", ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")


def check_datetimes(
    frame: pl.DataFrame, raw: pl.DataFrame, column: str, label: str
) -> tuple[pl.DataFrame, list[Reject]]:
    """Rows whose raw ``column`` had text but no timestamp came out are rejected, not nulled."""
    raw_clean = raw.select(pl.col("source_row"), _clean(pl.col(column)).alias("raw"))
    joined = frame.select("source_row", pl.col(column).alias("typed")).join(raw_clean, on="source_row", how="left")
    bad = joined.filter(pl.col("raw").is_not_null() & pl.col("typed").is_null())
    rejects = [Reject(r, column, v, f"{v!r} is not {label}") for r, v in zip(bad["source_row"], bad["raw"])]
    if rejects:
        frame = frame.filter(~pl.col("source_row").is_in(bad["source_row"].to_list()))
    return frame, rejects


def select_entity(entity: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Conform a reader's frame to the canonical entity (extra helper columns must be dropped first)."""
    return ENTITIES[entity].conform(frame)


def select_entity_columns(entity: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``select_entity`` after dropping the reader's helper columns (raw dates, metrics the entity lacks)."""
    keep = [c for c in frame.columns if c in ENTITIES[entity].columns or c == "source_row"]
    return select_entity(entity, frame.select(keep))


ReaderFn = Callable[[SourceFile], ReadResult]


_NAME_DATES = (
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), lambda m: date(int(m[1]), int(m[2]), int(m[3]))),
    (re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)"), lambda m: date(int(m[1]), int(m[2]), int(m[3]))),
    (
        re.compile(r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-(\d{1,2})-(\d{4})"),
        lambda m: datetime.strptime(f"{m[1]} {m[2]} {m[3]}", "%b %d %Y").date(),
    ),
)


def window_from_name(name: str) -> tuple[date, date] | None:
    """The export window platforms write into file names (``…_2024-11-21_2025-02-19.csv``)."""
    base = PurePosixPath(name).name
    for pattern, build in _NAME_DATES:
        found = [build(m) for m in pattern.finditer(base)]
        if len(found) >= 2:
            return min(found), max(found)
        if len(found) == 1:
            return found[0], found[0]
    return None


def day_span(days: pl.Series) -> tuple[date, date] | None:
    """The first and last day of a Date column; None when it holds no day (empty, or every cell null)."""
    first, last = days.min(), days.max()
    return (first, last) if isinstance(first, date) and isinstance(last, date) else None


def last_day(days: pl.Series) -> date | None:
    """The last day of a Date column; None when it holds none."""
    span = day_span(days)
    return span[1] if span else None


def end_of_day_utc(day: date) -> datetime:
    """Figures exported for a window are true as of the end of its last day."""
    from datetime import timedelta, timezone

    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
