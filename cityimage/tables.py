"""The table catalogue (``cityimage/tables.yaml``): every staging, dimension, fact and KPI table, once.

Each table's grain, key and columns (type, meaning, nullability, allowed values, range) are read here
and everything else is derived: the DDL and comments, the Polars schema the transforms produce and
the readers write, the casts applied before an insert, the generic quality checks and the warehouse
docs. Pure: it reads package data and builds strings and schemas; the warehouse executes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any

import polars as pl
import yaml

from cityimage.vocabulary import LISTS

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

CATALOGUE_FILE = "tables.yaml"
LAYERS = ("staging", "dimension", "fact", "kpi")
UTC_INSTANT = pl.Datetime("us", "UTC")
#: SQL type -> Polars type, for every type the catalogue may use.
POLARS_TYPES: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(), "BIGINT": pl.Int64(), "INTEGER": pl.Int32(), "DOUBLE": pl.Float64(),
    "BOOLEAN": pl.Boolean(), "DATE": pl.Date(), "TIMESTAMPTZ": UTC_INSTANT, "VARCHAR[]": pl.List(pl.String()),
}
_COLUMN_KEYS = {"type", "doc", "nullable", "values", "min", "max", "warn"}
_TABLE_KEYS = {"layer", "entity", "grain", "description", "key", "lineage", "columns"}


class CatalogueError(ValueError):
    """The catalogue file is malformed; the message names the table and column."""


class FrameMismatch(ValueError):
    """A frame about to be written does not have its table's columns and types; the message says which."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str
    nullable: bool = True
    values: str | None = None   # the vocabulary list the values come from
    min: float | None = None
    max: float | str | None = None  # a number, or "now": not in the future
    warn: bool = False          # value and range checks are warnings

    @property
    def dtype(self) -> pl.DataType:
        return POLARS_TYPES[self.type]

    @property
    def allowed(self) -> tuple[str, ...] | None:
        return LISTS[self.values] if self.values else None


@dataclass(frozen=True)
class Table:
    name: str
    layer: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str = ""
    entity: str | None = None
    lineage: bool = False

    @cached_property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def stored(self) -> tuple[Column, ...]:
        """Every column the warehouse keeps: the table's own, then the city it stamps on every row."""
        return (*self.columns, CITY)

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """Column name -> Polars type, in the table's order."""
        return {c.name: c.dtype for c in self.columns}

    @property
    def comment(self) -> str:
        """The table's comment in the database: its grain, then what else a reader must know."""
        grain = self.grain[:1].upper() + self.grain[1:] + "."
        extra = ("Staging: metrics as of exported_at; lineage in source_* and load_id." if self.layer == "staging"
                 else self.description)
        return f"{grain} {extra}".strip()

    @property
    def counts(self) -> tuple[str, ...]:
        """The integer columns that can never be negative: counts."""
        return tuple(c.name for c in self.columns if c.type in ("BIGINT", "INTEGER") and c.min == 0)

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)

    def ddl(self) -> str:
        """CREATE TABLE for a new warehouse. Staging takes what the readers wrote (its gates judge it), so
        only the other layers declare NOT NULL."""
        lines = [f"    {c.name} {c.type}{' NOT NULL' if not c.nullable and self.layer != 'staging' else ''}"
                 for c in self.stored]
        return f"CREATE TABLE {self.name} (\n" + ",\n".join(lines) + "\n)"

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` as the table's columns, in order, cast to their types: what is written, exactly.

        A missing or extra column, or one whose type cannot become the table's without loss (text for a
        number, a time without a zone), is an error naming the table and column, never a silent null. The
        city column is not the frame's to give: the warehouse stamps it (``stored``).
        """
        missing = [c for c in self.names if c not in frame.columns]
        extra = [c for c in frame.columns if c not in self.by_name]
        if missing or extra:
            parts = ([f"lacks {', '.join(missing)}"] if missing else []) + ([f"has no place for {', '.join(extra)}"] if extra else [])
            raise FrameMismatch(f"rows for {self.name}: {'; '.join(parts)} (the table catalogue, cityimage/tables.yaml)")
        for column in self.columns:
            got = frame.schema[column.name]
            if not castable(got, column.dtype):
                raise FrameMismatch(f"rows for {self.name}: column {column.name} is {got}, the catalogue says "
                                    f"{column.type} ({column.dtype})")
        return frame.select([_cast(column.name, frame.schema[column.name], column.dtype) for column in self.columns])


def castable(got: PolarsDataType, want: PolarsDataType) -> bool:
    """Whether a column of type ``got`` can be written as ``want`` without losing or inventing meaning.

    Either may be a type's class, not an instance: ``pl.List(pl.Int64).inner`` is the class ``pl.Int64``.
    """
    if got == want or got == pl.Null():
        return True
    if isinstance(want, pl.List):
        return isinstance(got, pl.List) and castable(got.inner, want.inner)
    if isinstance(want, pl.Datetime):
        return isinstance(got, pl.Datetime) and got.time_zone is not None  # a naive time has no known instant
    if want.is_integer():
        return got.is_integer()
    if want.is_float():
        return got.is_numeric()
    return False


def _cast(name: str, got: pl.DataType, want: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if isinstance(want, pl.Datetime) and isinstance(got, pl.Datetime) and got.time_zone != want.time_zone:
        column = column.dt.convert_time_zone(want.time_zone or "UTC")
    return column.cast(want, strict=True)


def _column(table: str, name: str, spec: Any) -> Column:
    where = f"{CATALOGUE_FILE}: {table}.{name}"
    if not isinstance(spec, dict) or "type" not in spec or "doc" not in spec:
        raise CatalogueError(f"{where}: needs at least a type and a doc")
    unknown = set(spec) - _COLUMN_KEYS
    if unknown:
        raise CatalogueError(f"{where}: unknown keys {sorted(unknown)}")
    if spec["type"] not in POLARS_TYPES:
        raise CatalogueError(f"{where}: type {spec['type']!r} is not one of {', '.join(POLARS_TYPES)}")
    if spec.get("values") is not None and spec["values"] not in LISTS:
        raise CatalogueError(f"{where}: values {spec['values']!r} is no list of cityimage/vocabulary.yaml")
    if spec.get("max") not in (None, "now") and not isinstance(spec.get("max"), (int, float)):
        raise CatalogueError(f"{where}: max is a number or now")
    return Column(name, spec["type"], str(spec["doc"]), bool(spec.get("nullable", True)), spec.get("values"),
                  spec.get("min"), spec.get("max"), bool(spec.get("warn", False)))


def _table(name: str, spec: dict, lineage: tuple[Column, ...]) -> Table:
    unknown = set(spec) - _TABLE_KEYS
    if unknown:
        raise CatalogueError(f"{CATALOGUE_FILE}: {name}: unknown keys {sorted(unknown)}")
    if spec.get("layer") not in LAYERS:
        raise CatalogueError(f"{CATALOGUE_FILE}: {name}: layer must be one of {', '.join(LAYERS)}")
    if not str(spec.get("grain", "")).startswith("one row per"):
        raise CatalogueError(f"{CATALOGUE_FILE}: {name}: grain must say 'one row per …'")
    columns = tuple(_column(name, column, body) for column, body in (spec.get("columns") or {}).items())
    if spec.get("lineage"):
        columns += lineage
    table = Table(name, spec["layer"], spec["grain"], tuple(spec.get("key") or ()), columns,
                  str(spec.get("description", "")), spec.get("entity"), bool(spec.get("lineage")))
    stray = [k for k in table.key if k not in table.by_name]
    if stray:
        raise CatalogueError(f"{CATALOGUE_FILE}: {name}: key names no column {stray}")
    if (table.layer == "staging") != bool(table.entity):
        raise CatalogueError(f"{CATALOGUE_FILE}: {name}: a staging table, and only one, names its entity")
    return table


def _load() -> tuple[dict[str, Table], tuple[Column, ...], Column]:
    document = yaml.safe_load(resources.files("cityimage").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8"))
    lineage = tuple(_column("lineage_columns", name, spec) for name, spec in document["lineage_columns"].items())
    (city,) = (_column("city_column", name, spec) for name, spec in document["city_column"].items())
    tables = {name: _table(name, spec, lineage) for name, spec in document["tables"].items()}
    clash = [name for name, t in tables.items() if city.name in t.by_name]
    if clash:
        raise CatalogueError(f"{CATALOGUE_FILE}: {', '.join(clash)}: {city.name} is the city column, stamped by the warehouse")
    return tables, lineage, city


TABLES, LINEAGE, CITY = _load()


def table(name: str) -> Table:
    """The catalogue entry of ``name``; a KeyError names the tables there are."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"{name} is not in the table catalogue ({', '.join(TABLES)})") from None


def tables_of(*layers: str) -> list[Table]:
    """The tables of the given layers, in catalogue order."""
    return [t for t in TABLES.values() if t.layer in layers]
