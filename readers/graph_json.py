"""What the API-response readers share: pages of items, typed like CSV cells, and when figures were true.

Graph API (Facebook, Instagram) and YouTube Data API responses are pages: ``{"data": [...]}`` or
``{"items": [...]}``, sometimes a single object, sometimes one page per line. A reader turns the items
(nested replies included, in document order) into flat records of text, then types them with the same
rules as CSV cells (``type_columns``): a count that is not a count sends its record to quarantine.

``exported_at`` for an API response: responses carry no request time, so the export date found in the
path (``date_hint``) wins; otherwise the latest timestamp in the file, the earliest instant the figures
can have been true. That is documented in the format table and is the only choice that needs no setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache, cached_property, lru_cache
from itertools import chain, repeat
from typing import Callable, Iterable, Iterator, Literal
from urllib.parse import parse_qs, urlparse

import polars as pl

from cityimage.tables import UTC_INSTANT
from readers.base import (
    ExportFormat,
    Kind,
    Probe,
    ReadError,
    ReadResult,
    Reject,
    SourceFile,
    decode_text,
    json_documents,
    utf8_json_documents,
    end_of_day_utc,
    select_entity_columns,
    type_columns,
)

FieldKind = Kind | Literal["instant", "iso_duration"]
Record = dict[str, object]
#: A path's steps (:func:`dig`): each key, and the list position after it, if any.
Steps = tuple[tuple[str, int | None], ...]
#: A page's paging edge (:func:`paging_edge`): the id of the object whose edge the page lists, and the edge.
Edge = tuple[str, str]

# Row numbers of the n-th file in a batch start at n × stride: no export has 2**32 items.
_BATCH_STRIDE = 1 << 32
_EDGE = re.compile(r"/v\d+(?:\.\d+)?/([^/?]+)/([a-z_]+)")


@dataclass(frozen=True)
class Field:
    """A value a JSON reader takes from each item: its target column, where it is, and its type.

    ``path`` is what :meth:`value` reads, so the format table cannot say one thing while the reader
    does another. The path language, no more than the platforms' responses need:

    - ``snippet.channelId``: keys of nested objects, separated by dots;
    - ``attachments.data[0].type``: ``[n]`` after a key takes the n-th element of the list it holds;
    - ``a|b``: alternatives, in order: the first that holds a value wins (a scalar other than null
      and empty text, as :func:`as_text` sees it; 0 and false are values), else what the last holds.

    What is computed rather than found (an id's prefix, text without HTML, an id from the paging URL
    or the enclosing comment, a value kept only in some states) is the reader's code, never the path's,
    and ``note`` says what it adds; a field wholly computed has no path.
    """

    target: str
    path: str
    kind: FieldKind = "text"
    required: bool = False
    note: str = ""

    def value(self, item: object) -> object:
        """The JSON value at the path in ``item``, as sent: an id sent as a number is still a number."""
        return self._read(item)

    @cached_property
    def _read(self) -> Callable[[object], object]:
        """The path made a function once: a field is read in every one of millions of items, and a plain
        key (most paths) is one dictionary lookup."""
        getters = [_getter(_steps(path)) for path in self.path.split("|")] if self.path else []
        if len(getters) == 1:
            return getters[0]

        def first_value(item: object) -> object:
            found = None
            for get in getters:
                found = get(item)
                if as_text(found):
                    return found
            return found
        return first_value

    def documented(self) -> str:
        """Where the value comes from, for the format table (where ``|`` would split the cell)."""
        return ", ".join(part for part in (self.path.replace("|", ", else "), self.note) if part)


def record_of(fields: Iterable[Field]) -> Callable[[dict], Record]:
    """A function giving what each field's path holds in an item (an object), by target column.

    Made once per set of fields, as one dict display: a reader calls it on each of millions of items.
    Plain keys (``id``) and plain keys inside keys (``from.id``), most paths, are written inline, and
    alternatives (``a|b``) as conditional expressions; other paths call their getter. On 89k Facebook
    comments it took 0.13 s, against 0.36 s calling each field's getter. The keys are the fields'
    own, written with ``repr``.
    """
    names: dict[str, object] = {"as_text": as_text}

    def found(path: str, name: str) -> str:
        steps = _steps(path)
        if len(steps) == 1 and steps[0][1] is None:
            return f"item.get({steps[0][0]!r})"
        if len(steps) == 2 and steps[0][1] is None and steps[1][1] is None:
            return f"({name}.get({steps[1][0]!r}) if isinstance({name} := item.get({steps[0][0]!r}), dict) else None)"
        names[f"{name}_get"] = _getter(steps)
        return f"{name}_get(item)"

    entries = []
    for n, field in enumerate(fields):
        paths = field.path.split("|") if field.path else []
        value = found(paths[-1], f"_{n}_{len(paths) - 1}") if paths else "None"
        for k in reversed(range(len(paths) - 1)):  # the first that holds a value, else what the last holds
            value = f"(_v{n}_{k} if as_text(_v{n}_{k} := {found(paths[k], f'_{n}_{k}')}) else {value})"
        entries.append(f"{field.target!r}: {value}")
    return eval("lambda item: {" + ", ".join(entries) + "}", names)  # our own fields and keys, see above


def documents(parsed: object) -> list[object]:
    """The API pages in a parsed file: one document, or one per line of a JSON-lines file."""
    if isinstance(parsed, dict) and "__jsonl__" in parsed:
        return list(parsed["__jsonl__"])
    return [parsed]


def load_documents(source: SourceFile) -> list[object]:
    """Parse the file as JSON (or JSON lines); a broken file is refused whole, naming the line."""
    parsed = utf8_json_documents(source.data)
    return parsed[0] if parsed is not None else json_documents(decode_text(source).strip(), source.name)[0]


def page_items(doc: object) -> list[dict]:
    """The items of one page (:func:`page_entries`) that are objects: what detection looks at."""
    return [item for item in page_entries(doc) if isinstance(item, dict)]


def all_items(docs: Iterable[object]) -> list[dict]:
    return [item for doc in docs for item in page_items(doc)]


def page_entries(doc: object) -> list[object]:
    """The elements of one page: ``data`` (Graph API), ``items`` (YouTube), a bare list, or the object
    itself. A reader makes a record of each: one that is no object is quarantined (:func:`not_an_object`)
    instead of vanishing unreported."""
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        return []
    for key in ("data", "items"):
        if isinstance(doc.get(key), list):
            return doc[key]
    return [doc]


def dig_entries(item: object, path: str) -> list[object]:
    """The elements of the list at a dotted path (``replies.data``), objects or not (see :func:`page_entries`)."""
    value = dig(item, path)
    return value if isinstance(value, list) else []


def dig_items(item: object, path: str) -> list[dict]:
    """The objects of the list at a dotted path (:func:`dig_entries`): for lookups (X's ``includes``),
    where an element that is no object names nothing."""
    return [v for v in dig_entries(item, path) if isinstance(v, dict)]


#: The column of a record made from a list element that is no object: what it was instead.
NOT_AN_OBJECT = "__not_an_object"


def not_an_object(value: object) -> Record:
    """The record of an element where an item (an object) belongs: quarantined by ``JsonFormat._type``."""
    kinds = ((bool, "true or false"), (int, "a number"), (float, "a number"), (str, "text"), (list, "a list"))
    return {NOT_AN_OBJECT: next((words for cls, words in kinds if isinstance(value, cls)), "null")}


def paging_edge(doc: object) -> tuple[str, str] | None:
    """(object id, edge) from a Graph API page's paging URL, e.g. ``/v11.0/<media_id>/comments``.

    Pages often omit the parent's id from their items; the paging URL is the only place it is written.
    """
    paging = doc.get("paging") if isinstance(doc, dict) else None
    if not isinstance(paging, dict):
        return None
    for key in ("next", "previous"):
        url = paging.get(key)
        if isinstance(url, str):
            found = _EDGE.search(urlparse(url).path)
            if found:
                return found[1], found[2]
    return None


def paging_fields(doc: object) -> set[str]:
    """The top-level field names a page was requested with (``fields=id,text,timestamp``), from its paging URL.

    An empty last page has no items to tell Instagram from Facebook; the fields it asked for do.
    """
    paging = doc.get("paging") if isinstance(doc, dict) else None
    urls = [paging.get(k) for k in ("next", "previous")] if isinstance(paging, dict) else []
    for url in urls:
        if isinstance(url, str):
            fields = parse_qs(urlparse(url).query).get("fields", [""])[0]
            return {name.split("{")[0] for name in re.split(r",(?![^{]*})", fields) if name}
    return set()


#: How deep :func:`metric_paths` looks into an item: YouTube's ``snippet.topLevelComment.snippet.likeCount``.
_METRIC_DEPTH = 4


def metric_paths(items: Iterable[dict]) -> tuple[str, ...]:
    """The dotted paths of the counts the items carry, and of the objects holding them (``statistics.``).

    What schema drift compares between two API responses of one format: a platform adds, renames or
    drops a metric (X's ``public_metrics.impression_count`` arrived in 2023) where a CSV would change a
    header. Counts are integers or digit strings under a key that is no id; lists are not entered (their
    items are other entities). A holding object is listed with a trailing dot, so a count that vanished
    with its whole object (Facebook leaves ``shares`` out of a post nobody shared) is told apart from one
    that vanished from an object still there.
    """
    found: set[str] = set()

    def visit(node: dict, prefix: str, depth: int) -> None:
        for key, value in node.items():
            kind = type(value)
            if kind is dict:
                if depth < _METRIC_DEPTH:
                    before = len(found)
                    visit(value, f"{prefix}{key}.", depth + 1)
                    if len(found) > before:
                        found.add(f"{prefix}{key}.")
            elif (kind is int or (kind is str and value.isdigit() and len(value) < 16)) and _metric_key(key):
                found.add(prefix + key)

    for item in items:
        visit(item, "", 1)
    return tuple(sorted(found))


#: Integers that are no metric: pictures' sizes (thumbnails, attachments).
_NOT_METRICS = frozenset({"height", "width"})


@lru_cache(maxsize=1024)
def _metric_key(key: str) -> bool:
    """Whether a count under ``key`` is a metric: not an id. A count is an integer (not a boolean) or a
    digit string; parsed JSON holds exact types, so :func:`metric_paths` compares the type, the
    cheapest test for the millions of values of a dump, inline."""
    return not (key == "id" or key.endswith(("_id", "Id", "_ids", "Ids")) or key in _NOT_METRICS)


def dig(item: object, path: str) -> object:
    """The value at a path (``reactions.summary.total_count``, ``attachments.data[0].type``; see
    :class:`Field`), None where any step is absent."""
    return _path_getter(path)(item)


@cache
def _path_getter(path: str) -> Callable[[object], object]:
    """:func:`_getter` of a path, once per path: the readers dig every item for its replies."""
    return _getter(_steps(path))


_INDEXED = re.compile(r"^(.*)\[(\d+)\]$")


@cache
def _steps(path: str) -> Steps:
    """A path's steps: each key, with the list position that follows it (``data[0]``), if any.
    Cached: readers dig the same few paths in every item."""
    steps = []
    for step in path.split("."):
        indexed = _INDEXED.match(step)
        steps.append((indexed[1], int(indexed[2])) if indexed else (step, None))
    return tuple(steps)


def _getter(steps: Steps) -> Callable[[object], object]:
    """What :func:`_walk` does for ``steps``, without the walk for the paths most fields have: one key,
    or a key inside a key (``from.id``)."""
    if any(index is not None for _, index in steps) or len(steps) > 2:
        return lambda item: _walk(item, steps)
    if len(steps) == 1:
        key = steps[0][0]
        return lambda item: item.get(key) if isinstance(item, dict) else None
    (outer, _), (inner, _) = steps

    def nested(item: object) -> object:
        found = item.get(outer) if isinstance(item, dict) else None
        return found.get(inner) if isinstance(found, dict) else None
    return nested


def _walk(item: object, steps: Steps) -> object:
    for key, index in steps:
        if not isinstance(item, dict):
            return None
        item = item.get(key)
        if index is not None:
            item = item[index] if isinstance(item, list) and index < len(item) else None
    return item


def as_text(value: object) -> str | None:
    """A scalar as the text a CSV cell would hold; structures are not values."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_ISO_DURATION = r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"


def iso_duration_seconds(expr: pl.Expr) -> pl.Expr:
    """``PT4M13S`` → 253.0 seconds; null when the text is not an ISO 8601 duration."""
    parts = expr.str.extract_groups(_ISO_DURATION)
    units = ((1, 86400), (2, 3600), (3, 60), (4, 1))
    seconds = [parts.struct.field(str(i)).cast(pl.Float64).fill_null(0) * unit for i, unit in units]
    return pl.when(expr.str.contains(_ISO_DURATION)).then(pl.sum_horizontal(seconds))


def iso_instant(expr: pl.Expr) -> pl.Expr:
    """``2021-07-04T19:50:58+0000`` and ``2019-11-26T15:51:44.000Z`` as UTC instants; null if not one."""
    normalised = expr.str.strip_chars().str.replace(r"Z$", "+0000")
    return normalised.str.strptime(UTC_INSTANT, "%Y-%m-%dT%H:%M:%S%.f%z", strict=False)


@dataclass(frozen=True)
class Flattened:
    """A file's items as flat text records (``JsonFormat._frame``), waiting to be typed with the batch's."""

    source: SourceFile
    frame: pl.DataFrame
    metrics: tuple[str, ...]


class JsonFormat(ExportFormat):
    """An API response read into one entity. Subclasses say which documents they take and where each
    field is (``fields``); a value no path holds is computed in their code (``derived``), apart.

    ``records`` returns one flat record per item (replies included) keyed by the fields' targets plus
    any helper keys ``shape`` uses: what the fields' paths hold, completed by ``derived``. ``shape``
    adds what is constant or computed over the frame. Values stay text until ``_type`` gives them
    their declared kinds.
    """

    entity: str = ""
    fields: tuple[Field, ...] = ()

    def matches(self, docs: list[object]) -> bool:
        raise NotImplementedError

    def records(self, docs: list[object], source: SourceFile) -> list[Record]:
        """One record per item. Readers whose items nest more items (replies) walk them instead, each
        record still made of its fields' values."""
        rows = []
        for item, edge in self.items(docs):
            if not isinstance(item, dict):
                rows.append(not_an_object(item))
                continue
            row = self.record(item)
            rows.append(row | self.derived(item, row, edge))
        return rows

    @cached_property
    def record(self) -> Callable[[dict], Record]:
        """What the fields' paths hold in an item (:func:`record_of`)."""
        return record_of(self.fields)

    def items(self, docs: list[object]) -> Iterator[tuple[object, Edge | None]]:
        """Every page's items in document order (:func:`page_entries`: an element that is no object
        too), each with its page's paging edge: items often leave out the object they belong to, which
        the paging URL names."""
        for doc in docs:
            edge = paging_edge(doc)
            for item in page_entries(doc):
                yield item, edge

    def derived(self, item: dict, row: Record, edge: Edge | None) -> Record:
        """Values no path holds, computed from the item, from what its paths hold (``row``) or from
        its page's edge; they complete or replace the row's. None by default."""
        return {}

    def shape(self, typed: pl.DataFrame, source: SourceFile) -> pl.DataFrame:
        return typed

    def score(self, probe: Probe) -> float:
        return 0.95 if probe.json is not None and self.matches(documents(probe.json)) else 0.0

    def explain_mismatch(self, probe: Probe) -> str:
        return f"expected {self.description}"

    def documented_columns(self) -> list[tuple[str, str, str]]:
        return [(f.target, f.documented(), f.kind + (" (required)" if f.required else "")) for f in self.fields]

    def read(self, source: SourceFile) -> ReadResult:
        outcome = self.read_many([source])[0]
        if isinstance(outcome, ReadError):
            raise outcome
        return outcome

    def read_many(self, sources: list[SourceFile]) -> list[ReadResult | ReadError]:
        return self.read_prepared([self._flattened(source, load_documents) for source in sources])

    def prepare(self, probe: Probe) -> Flattened | ReadError:
        """The file flattened from the parse detection made: an API dump is parsed once."""
        return self._flattened(probe.source, lambda _: documents(probe.json))

    def read_prepared(self, prepared: list[Flattened | ReadError]) -> list[ReadResult | ReadError]:
        """Files flattened apart, typed as one frame: typing costs per call, not per row, and API dumps
        come as thousands of small pages. Row numbers are offset by file while typing
        (``_BATCH_STRIDE``), so each reject and row goes back to its own file."""
        flat = {i: p for i, p in enumerate(prepared) if isinstance(p, Flattened)}
        results = self._typed_together(flat)
        return [p if isinstance(p, ReadError) else results[i] for i, p in enumerate(prepared)]

    def _typed_together(self, flat: dict[int, Flattened]) -> dict[int, ReadResult | ReadError]:
        if not flat:
            return {}
        outcomes: dict[int, ReadResult | ReadError] = {}
        typed, rejects = self._type(pl.concat(
            [p.frame.with_columns(pl.col("source_row") + i * _BATCH_STRIDE) for i, p in flat.items()], how="diagonal"))
        parts = typed.with_columns((pl.col("source_row") // _BATCH_STRIDE).alias("__file")).partition_by(
            "__file", as_dict=True, include_key=False)
        for i, p in flat.items():
            part = parts.get((i,), typed.clear()).with_columns(pl.col("source_row") % _BATCH_STRIDE)
            own = [replace(r, source_row=r.source_row % _BATCH_STRIDE) for r in rejects
                   if r.source_row // _BATCH_STRIDE == i]
            try:
                outcomes[i] = self._result(p.source, p.frame.height, part, own, p.metrics)
            except ReadError as exc:
                outcomes[i] = exc
        return outcomes

    def _flattened(self, source: SourceFile, parse: Callable[[SourceFile], list[object]]) -> Flattened | ReadError:
        """The file's flat records as an all-text frame, and the metric paths its items carry
        (:func:`metric_paths`); a file that is no such response is its ReadError."""
        try:
            docs = parse(source)
            if not self.matches(docs):
                raise ReadError(f"{source.name}: not a {self.description}")
        except ReadError as exc:
            return exc
        return Flattened(source, self._frame(self.records(docs, source)), metric_paths(all_items(docs)))

    def _result(self, source: SourceFile, rows_read: int, typed: pl.DataFrame, rejects: list[Reject],
                metrics: tuple[str, ...]) -> ReadResult:
        exported_at = api_exported_at(source, typed, [f.target for f in self.fields if f.kind == "instant"])
        shaped = self.shape(typed, source).with_columns(exported_at=pl.lit(exported_at, UTC_INSTANT))
        result = ReadResult(
            format=self.name,
            rows_read=rows_read,
            tables={self.entity: select_entity_columns(self.entity, shaped)},
            rejects=rejects,
            exported_at=exported_at,
            source_columns=metrics,
        )
        result.check_accounting()
        return result

    def _frame(self, rows: list[Record]) -> pl.DataFrame:
        """All-text frame of the records, with ``source_row`` = the item's position (1 = first), and
        ``__id_number``: the first id the record holds as a JSON number, if any (see ``_type``)."""
        names = list(dict.fromkeys(chain([f.target for f in self.fields], chain.from_iterable(rows))))
        sent = {name: list(map(dict.get, rows, repeat(name))) for name in names}
        columns = {name: _texts(values) for name, values in sent.items()}
        columns["__id_number"] = _id_numbers(sent, [f.target for f in self.fields if f.kind == "id"], len(rows))
        frame = pl.DataFrame(columns, schema={name: pl.String for name in columns})
        return frame.with_columns(pl.Series("source_row", range(1, len(rows) + 1), dtype=pl.Int64))

    def _type(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
        """Declared kinds, ISO instants, and required values; failing records go to quarantine."""
        rejects: list[Reject] = []
        if NOT_AN_OBJECT in frame.columns:
            odd = frame.filter(pl.col(NOT_AN_OBJECT).is_not_null())
            rejects += [Reject(int(r), None, None, f"the item is {what}, not an object: the response was altered "
                                                   "after the platform sent it (re-download it)")
                        for r, what in zip(odd["source_row"], odd[NOT_AN_OBJECT])]
            frame = frame.filter(pl.col(NOT_AN_OBJECT).is_null()).drop(NOT_AN_OBJECT)
        numbered = frame.filter(pl.col("__id_number").is_not_null())
        rejects += [Reject(int(r), v.split("=", 1)[0], v.split("=", 1)[1],
                           f"the id {v.split('=', 1)[1]} is a JSON number, not text: a program rewrote this file and "
                           "may have rounded it (platforms send ids as strings)")
                    for r, v in zip(numbered["source_row"], numbered["__id_number"])]
        frame = frame.filter(pl.col("__id_number").is_null()).drop("__id_number")
        kinds = {f.target: f.kind for f in self.fields if f.kind in _CELL_KINDS}
        typed, typing_rejects = type_columns(frame, kinds)  # type: ignore[arg-type]
        rejects += typing_rejects
        for field in self.fields:
            if field.kind in _ISO:
                typed, bad = _type_iso(typed, field)
                rejects += bad
            if field.required:
                missing = typed.filter(pl.col(field.target).is_null())
                rejects += [Reject(int(r), field.target, None, f"no {field.documented()} in the item")
                            for r in missing["source_row"]]
                typed = typed.filter(pl.col(field.target).is_not_null())
        return typed, sorted(rejects, key=lambda r: r.source_row)


#: The types of a column that only holds text and nulls: most columns of an API page.
_TEXT_ONLY = frozenset({str, type(None)})


def _texts(values: list[object]) -> list[str | None]:
    """``as_text`` of each value. The types of a column are gathered without a Python loop, so a
    column of text and nulls (most of a page) passes as it is, and one of integers alone (counts)
    is written by ``str``; only the others are looked at value by value."""
    kinds = set(map(type, values))
    if kinds <= _TEXT_ONLY:
        return values  # type: ignore[return-value]
    if kinds == {int}:
        return list(map(str, values))
    return [v if v is None or type(v) is str else as_text(v) for v in values]


def _id_numbers(columns: dict[str, list[object]], ids: list[str], height: int) -> list[str | None]:
    """Per record, ``name=value`` of the first of ``ids`` it holds as a JSON number, else None;
    ``columns``: each column's values as sent."""
    found: list[str | None] = [None] * height
    for name in reversed(ids):  # the first id wins: it is written last
        if _TEXT_ONLY.issuperset(map(type, columns[name])):
            continue
        for i, value in enumerate(columns[name]):
            if type(value) is int or type(value) is float:
                found[i] = f"{name}={value!r}"
    return found


_ISO = {
    "instant": (iso_instant, "an ISO 8601 timestamp"),
    "iso_duration": (iso_duration_seconds, "an ISO 8601 duration"),
}
_CELL_KINDS = ("text", "id", "count", "signed_count", "number", "percent", "fraction", "duration", "bool")


def _type_iso(typed: pl.DataFrame, field: Field) -> tuple[pl.DataFrame, list[Reject]]:
    """An ISO 8601 timestamp or duration typed in place; a record whose value does not parse is quarantined."""
    parse, words = _ISO[field.kind]
    text = pl.col(field.target).str.strip_chars()
    marked = typed.with_columns(pl.when(text != "").then(parse(text)).alias("__parsed"))
    failed = pl.col("__parsed").is_null() & (text != "")
    bad = marked.filter(failed)
    rejects = [
        Reject(int(r), field.target, v, f"{v!r} is not {words}") for r, v in zip(bad["source_row"], bad[field.target])
    ]
    good = marked.filter(~failed.fill_null(False))
    return good.with_columns(pl.col("__parsed").alias(field.target)).drop("__parsed"), rejects


def api_exported_at(source: SourceFile, typed: pl.DataFrame, instant_columns: list[str]) -> datetime | None:
    """The export date from the path if there is one, else the latest timestamp in the file."""
    if source.date_hint is not None:
        return end_of_day_utc(source.date_hint)
    if typed.height == 0:
        return None
    latest = typed.select(pl.max_horizontal([pl.col(c).max() for c in instant_columns])).item()
    if latest is None:
        raise ReadError(
            f"{source.name}: the response carries no timestamp to date its figures; put it in a folder named "
            "with the export date (e.g. 2026-03-01/)"
        )
    return latest
