"""The canonical staging entities every export format is mapped into, from the table catalogue.

Platforms export the same few things in dozens of layouts: posts with metrics, comments, an account's
daily series, audience geography and search performance. Each reader turns its layout into one or
more of these entities; the warehouse has one ``stg_*`` table per entity, declared in
``cityimage/tables.yaml``, whose columns are the entity's plus lineage. Metrics are snapshots *as of the export* (``exported_at``): the same post in three
exports is three rows here, and the facts pick the latest.

Column conventions: ``*_id`` are text (trimmed, never numbers), ``*_at`` are UTC instants, ``is_*``
are booleans, and a metric the export lacks is null, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from cityimage.tables import LINEAGE, Table, tables_of


@dataclass(frozen=True)
class Entity:
    """A staging entity: its table, grain, natural key within one export, and typed columns."""

    name: str
    table: str
    grain: str
    key: tuple[str, ...]
    columns: dict[str, pl.DataType]
    docs: dict[str, str]

    @property
    def schema(self) -> pl.Schema:
        return pl.Schema(self.columns)

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Add missing columns as nulls, cast to the declared types and order columns canonically."""
        unknown = set(frame.columns) - set(self.columns) - {"source_row"}
        if unknown:
            raise ValueError(f"{self.name}: columns not in the entity: {sorted(unknown)}")
        exprs = [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in self.columns.items()
        ]
        exprs.append(pl.col("source_row").cast(pl.Int64) if "source_row" in frame.columns else pl.lit(None, pl.Int64).alias("source_row"))
        return frame.select(exprs)


def _entity(table: Table) -> Entity:
    own = [c for c in table.columns if c not in LINEAGE]
    return Entity(str(table.entity), table.name, table.grain, table.key, {c.name: c.dtype for c in own},
                  {c.name: c.doc for c in own})


ENTITIES: dict[str, Entity] = {str(t.entity): _entity(t) for t in tables_of("staging")}
POST, COMMENT, ACCOUNT_DAY, AUDIENCE, SEARCH = (ENTITIES[n] for n in ("post", "comment", "account_day", "audience", "search"))
