"""Every supported export format, and detection of which one a file is.

Detection is by content (header signature or JSON shape), never by file name: people rename
downloads. The best-scoring format wins; below the threshold the file is refused with the closest
format and what did not match, so the user can see whether the platform changed its export.
"""

from __future__ import annotations

import codecs
import csv
from contextlib import contextmanager
from typing import Any, Iterator

from readers.base import (
    ExportFormat, Probe, ReadError, ReadResult, SourceFile, UnknownFormat, csv_header, decode_text, json_documents,
    utf8_json_documents,
)
from readers import facebook, instagram, search_console, tiktok, x, youtube

MATCH_THRESHOLD = 0.8
#: The head of a JSON file a probe decodes: what a scorer of CSV layouts looks at (``MetaDailySeries``).
JSON_HEAD_BYTES = 4096

FORMATS: tuple[ExportFormat, ...] = (
    *x.FORMATS,
    *facebook.FORMATS,
    *instagram.FORMATS,
    *youtube.FORMATS,
    *tiktok.FORMATS,
    *search_console.FORMATS,
)


def probe(source: SourceFile) -> Probe:
    """Decode the head once for all formats to score. A UTF-8 JSON file is parsed from its bytes
    (:func:`utf8_json_documents`), and only its head is decoded: detection reads no more of the text
    of a JSON file."""
    if source.data[:JSON_HEAD_BYTES].removeprefix(codecs.BOM_UTF8).lstrip()[:1] in (b"{", b"["):
        fast = utf8_json_documents(source.data)
        if fast is not None:
            head = source.data[:JSON_HEAD_BYTES].decode("utf-8", errors="ignore")  # a character cut at the end
            return Probe(source=source, text=head, header=(), json=_as_parsed(*fast))
    text = decode_text(source)
    stripped = text.lstrip()
    parsed: object | None = None
    header: tuple[str, ...] = ()
    if stripped[:1] in ("{", "["):
        parsed = _parse_json(stripped, source)
    else:
        try:
            header = csv_header(text)
        except ReadError as exc:
            raise ReadError(f"{source.name}: {exc}") from exc
    return Probe(source=source, text=text, header=header, json=parsed)


def _parse_json(text: str, source: SourceFile) -> object:
    return _as_parsed(*json_documents(text, source.name))


def _as_parsed(documents: list[object], lines: bool) -> object:
    """A JSON document, or the documents of a JSON-lines file under ``__jsonl__``."""
    return {"__jsonl__": documents} if lines else documents[0]


def detect(source: SourceFile) -> ExportFormat:
    """The format that reads this file, or UnknownFormat naming the closest one."""
    return _detected(probe(source))


def _detected(seen: Probe) -> ExportFormat:
    source = seen.source
    if not seen.header and seen.json is None:
        raise UnknownFormat(f"{source.name}: the file is empty")
    scored = sorted(((fmt.score(seen), fmt) for fmt in FORMATS), key=lambda pair: -pair[0])
    best_score, best = scored[0]
    if best_score >= MATCH_THRESHOLD:
        return best
    what = f"columns {', '.join(repr(h) for h in seen.header[:12])}" if seen.header else "a JSON document"
    hint = best.explain_mismatch(seen)
    raise UnknownFormat(
        f"{source.name}: not a supported export ({what}). Closest known format: {best.name} "
        f"({best.platform}){': ' + hint if hint else ''}. See docs/formats.md for the layouts cityimage reads."
    )


def read(source: SourceFile) -> ReadResult:
    """Detect and read; the result's accounting is checked before it is returned."""
    outcome = read_many([source])[0]
    if isinstance(outcome, ReadError):
        raise outcome
    return outcome


def read_many(sources: list[SourceFile]) -> list[ReadResult | ReadError]:
    """Read several files, each detected alone, files of one layout read together; in order.

    A file that cannot be read is its ReadError in the list and never affects the others: if reading
    a group fails in an unexpected way, its files are read again one by one, so a malformed file is
    named in its own ReadError and a reader bug raises from the file that triggers it.
    """
    outcomes: list[ReadResult | ReadError | None] = [None] * len(sources)
    groups: dict[str, list[int]] = {}
    prepared: dict[int, Any] = {}
    for i, source in enumerate(sources):
        outcome = _detect_and_prepare(source)
        if isinstance(outcome, tuple):
            groups.setdefault(outcome[0].name, []).append(i)
            prepared[i] = outcome[1]
        else:
            outcomes[i] = outcome
    for name, members in groups.items():
        fmt = by_name(name)
        try:
            read_together = fmt.read_prepared([prepared.pop(i) for i in members])
        except Exception:  # re-read one by one: malformed files become ReadErrors, a reader bug still raises
            read_together = [_read_alone(fmt, sources[i]) for i in members]
        for i, outcome in zip(members, read_together):
            outcomes[i] = outcome
    for result in outcomes:
        if isinstance(result, ReadResult):
            result.check_accounting()
    return [o for o in outcomes if o is not None]


def _detect_and_prepare(source: SourceFile) -> tuple[ExportFormat, Any] | ReadResult | ReadError:
    """The file's format and what it keeps of the file (``ExportFormat.prepare``), or its refusal.
    A function of its own so the decoded file is freed before the next one is decoded."""
    try:
        with _as_read_error(source):
            seen = probe(source)
            fmt = _detected(seen)
    except ReadError as exc:
        return exc
    try:
        with _as_read_error(source):
            return fmt, fmt.prepare(seen)
    except ReadError as exc:
        return exc
    except Exception:  # a reader bug while preparing: read alone, where it raises from its own file
        return _read_alone(fmt, source)


def _read_alone(fmt: ExportFormat, source: SourceFile) -> ReadResult | ReadError:
    try:
        with _as_read_error(source):
            return fmt.read(source)
    except ReadError as exc:
        return exc


@contextmanager
def _as_read_error(source: SourceFile) -> Iterator[None]:
    """Failures that mean a malformed file, not a reader bug, become the file's ReadError."""
    try:
        yield
    except csv.Error as exc:  # any CSV the csv module cannot split is a malformed file, not a reader bug
        raise ReadError(f"{source.name}: broken CSV ({exc}); re-export the file") from exc
    except UnicodeEncodeError as exc:
        if "surrogate" not in str(exc):
            raise
        # JSON can spell a lone UTF-16 surrogate (\ud800) that is no character: the export is corrupt.
        raise ReadError(
            f"{source.name}: holds a lone UTF-16 surrogate ({exc.object[exc.start:exc.end]!a}), which is not a "
            "character; the export is corrupt, re-download it"
        ) from exc


def by_name(name: str) -> ExportFormat:
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise KeyError(name)
