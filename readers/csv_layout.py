"""Declarative CSV layouts: columns with aliases define both detection and typing.

Most analytics exports are one CSV per view. A layout lists its columns once (canonical target,
every header spelling seen, type, whether it defines the layout); detection, header mapping, typing
and the docs' format table all come from that one list. A subclass adds only what is particular to
its export in ``shape``: Total rows, phantom rows, dates, which entity the rows become.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from readers.base import (
    Col,
    ExportFormat,
    Probe,
    ReadError,
    ReadResult,
    Reject,
    Skip,
    SourceFile,
    decode_text,
    frame_from_records,
    normalise_header,
    refuse_spreadsheet_resave,
    tabulate_csv,
    type_columns,
)


@dataclass
class Shaped:
    """What a layout's ``shape`` returns: typed rows per entity and the rows it set aside."""

    tables: dict[str, pl.DataFrame]
    skips: list[Skip] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    exported_at: datetime | None = None
    notes: list[str] = field(default_factory=list)


class CsvLayout(ExportFormat):
    """A CSV export described by its columns. Subclasses set the class attributes and ``shape``."""

    columns: tuple[Col, ...] = ()
    header_rows: int = 1
    id_columns: tuple[str, ...] = ()
    # A layout can forbid a header that would make it another layout (e.g. a per-post id).
    forbidden: tuple[str, ...] = ()
    # Whether the platform's own export repeats a header (then the first is the figure); elsewhere a
    # repeated header is refused, since which copy holds the figure cannot be told.
    repeats_headers: bool = False

    # -- detection ------------------------------------------------------------------------------
    def _required(self) -> list[Col]:
        return [c for c in self.columns if c.required]

    def _known(self, header: tuple[str, ...]) -> list[bool]:
        return [any(c.matches(cell) for c in self.columns) for cell in header]

    def score(self, probe: Probe) -> float:
        if not probe.header:
            return 0.0
        if any(normalise_header(cell) in {normalise_header(f) for f in self.forbidden} for cell in probe.header):
            return 0.0
        required = self._required()
        found = sum(any(c.matches(cell) for cell in probe.header) for c in required)
        req = found / len(required) if required else 0.0
        known = sum(self._known(probe.header)) / len(probe.header)
        return 0.8 * req + 0.2 * known if req == 1.0 else 0.5 * req * known

    def explain_mismatch(self, probe: Probe) -> str:
        missing = [c.aliases[0] for c in self._required() if not any(c.matches(h) for h in probe.header)]
        unknown = [h for h, ok in zip(probe.header, self._known(probe.header)) if not ok]
        parts = []
        if missing:
            parts.append(f"missing {', '.join(repr(m) for m in missing)}")
        if unknown:
            parts.append(f"unrecognised {', '.join(repr(u) for u in unknown[:12])}")
        return "; ".join(parts)

    def documented_columns(self) -> list[tuple[str, str, str]]:
        return [(c.target, " / ".join(c.aliases), c.kind + (" (required)" if c.required else "")) for c in self.columns]

    # -- reading --------------------------------------------------------------------------------
    def read(self, source: SourceFile) -> ReadResult:
        text = decode_text(source)
        header, records = tabulate_csv(text, source, header_rows=self.header_rows)
        raw, ragged = frame_from_records(header, records, first_row=1)
        mapped = self._map_headers(raw, source)
        refuse_spreadsheet_resave(source, mapped, self.id_columns)
        kinds = {c.target: c.kind for c in self.columns if c.target in mapped.columns}
        typed, bad = type_columns(mapped, kinds)
        shaped = self.shape(typed, mapped, source)
        result = ReadResult(
            format=self.name,
            rows_read=raw.height + len(ragged),
            tables=shaped.tables,
            rejects=sorted(ragged + bad + shaped.rejects, key=lambda r: r.source_row),
            skips=shaped.skips,
            exported_at=shaped.exported_at,
            notes=shaped.notes,
            source_columns=tuple(h.strip() for h in header),
        )
        result.check_accounting()
        return result

    def _map_headers(self, raw: pl.DataFrame, source: SourceFile) -> pl.DataFrame:
        """Rename matched headers to targets; keep only declared columns (first match wins)."""
        renames: dict[str, str] = {}
        for col in self.columns:
            matching = [name for name in raw.columns
                        if name != "source_row" and name not in renames and col.matches(name.split("#")[0])]
            if len(matching) > 1 and not self.repeats_headers:
                positions = " and ".join(str(raw.columns.index(name) + 1) for name in matching[:2])
                raise ReadError(f"{source.name}: columns {positions} both hold {col.aliases[0]!r} "
                                f"({', '.join(repr(n.split('#')[0]) for n in matching[:2])}): which one is the figure "
                                "cannot be told; export the file again from the platform")
            if matching:
                renames[matching[0]] = col.target
        missing = [c.aliases[0] for c in self._required() if c.target not in renames.values()]
        if missing:
            raise ReadError(f"{source.name}: {self.name} export lacks {', '.join(repr(m) for m in missing)}")
        return raw.select([pl.col(src).alias(dst) for src, dst in renames.items()] + [pl.col("source_row")])

    def shape(self, typed: pl.DataFrame, raw: pl.DataFrame, source: SourceFile) -> Shaped:
        """Turn typed rows into entity frames; subclasses handle their export's particulars."""
        raise NotImplementedError
