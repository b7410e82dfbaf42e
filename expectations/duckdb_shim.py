"""Make Great Expectations 1.24's SQL path work (and work fast enough) against DuckDB: four small patches.

Importing this module imports GX and applies the patches once (idempotent: a second import or call
to :func:`apply` changes nothing). Only ``expectations.gx_engine`` imports it, inside a validation run;
importing the ``expectations`` package or the project does not patch anything.

1. **One persistent connection for the ``duckdb`` dialect.**
   ``SqlAlchemyExecutionEngine.get_connection`` opens a connection per query in a ``with`` block for
   every dialect except the few it knows need a persistent one (SQLite, SQL Server, BigQuery,
   Databricks); GX then reads the results after the block has returned the connection to the pool. The
   pool's reset-on-return runs a ROLLBACK on the same DuckDB connection, and DuckDB 2.x drops the pending
   result, so every metric comes back empty and every expectation "fails" with an exception recorded in
   its result. We give ``duckdb`` the same treatment GX gives SQLite: keep one connection on the
   execution engine and reuse it. ``close()`` is patched to close that connection for ``duckdb`` too
   (upstream only does so for dialects it keeps an engine backup for).

2. **Regex for DuckDB.** ``get_dialect_regex_expression`` knows no DuckDB, so ``expect_column_values_to_
   (not_)match_regex`` raise "Regex is not supported for dialect duckdb". We map it to DuckDB's
   ``regexp_matches(column, pattern)`` (a partial match, like pandas ``str.contains`` and PostgreSQL
   ``~``). The function is imported by name into several metric modules, so each module's reference is
   replaced, not only the definition in ``metrics.util``.

3. **Columns read once per batch, without reflection that cannot work.** GX asks for a table's
   columns (``table.column_types``) once per *domain* — every distinct row condition of a suite is
   one, about ten for ``stg_comment``. For each, ``get_sqlalchemy_column_metadata`` tries SQLAlchemy
   reflection, which duckdb-engine does with PostgreSQL catalog queries that fail on DuckDB 2.x (no
   ``pg_catalog.pg_collation``, no ``REGCLASS``), and then falls back to ``SELECT * … LIMIT 1`` for
   the names: four queries and two caught exceptions, ~20 ms, per domain. For ``duckdb`` the shim goes
   straight to GX's fallback (``column_reflection_fallback``) and keeps the answer in the batch's
   inspector cache (``info_cache``; GX builds a new inspector for every batch, so a changed table is
   seen afresh) — the same column list, primary-key flags off, as upstream returns here. A test
   checks that the reflection still fails; when it stops failing, let GX reflect again.

4. **An expectation's kwargs built once per call.** ``Expectation._get_domain_kwargs`` and
   ``_get_success_kwargs`` read ``self.configuration`` once *per key*, and ``configuration`` is a
   property that serialises the whole expectation (pydantic ``.dict()``) each time: some 2,000 builds
   for the 22 expectations of ``stg_comment``, about a fifth of the validation's time on 100,000 rows. The
   replacements read it once per call and return the same dicts (``configuration`` is a pure function
   of the expectation's fields); this one is dialect-independent. The shim test compares them with
   the originals.

Patches 1–3 delegate to the original code for every other dialect; remove them once GX knows DuckDB,
and patch 4 once ``configuration`` is cheap (check with ``tests/expectations``: the shim test fails
loudly if upstream changes the patched names).
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from typing import Any, Iterator

import sqlalchemy as sa
from great_expectations.execution_engine import sqlalchemy_execution_engine as _engine_module
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.metrics import util as _metrics_util
from great_expectations.expectations.metrics.table_metrics import table_column_types as _column_types

DIALECT = "duckdb"
_MARK = "_cityimage_duckdb_shim"

# Metric modules that bind get_dialect_regex_expression at import time.
_REGEX_MODULES = (
    "great_expectations.expectations.metrics.util",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_match_regex",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_not_match_regex",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_match_regex_list",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_not_match_regex_list",
    "great_expectations.expectations.metrics.column_aggregate_metrics.column_values_match_regex_values",
    "great_expectations.expectations.metrics.column_aggregate_metrics.column_values_not_match_regex_values",
)


def _is_duckdb(dialect: Any) -> bool:
    return getattr(dialect, "name", None) == DIALECT or getattr(getattr(dialect, "dialect", None), "name", None) == DIALECT


def apply() -> None:
    """Apply the patches; a no-op when already applied."""
    engine_cls = _engine_module.SqlAlchemyExecutionEngine
    if not getattr(engine_cls, _MARK, False):
        _patch_connection(engine_cls)
        setattr(engine_cls, _MARK, True)
    original = getattr(_metrics_util.get_dialect_regex_expression, "__wrapped_original__", None)
    if original is None:
        _patch_regex(_metrics_util.get_dialect_regex_expression)
    if not hasattr(_column_types.get_sqlalchemy_column_metadata, "__wrapped_original__"):
        _patch_column_metadata(_column_types.get_sqlalchemy_column_metadata)
    if not hasattr(Expectation._get_success_kwargs, "__wrapped_original__"):
        _patch_expectation_kwargs()


def is_applied() -> bool:
    return (
        bool(getattr(_engine_module.SqlAlchemyExecutionEngine, _MARK, False))
        and hasattr(_metrics_util.get_dialect_regex_expression, "__wrapped_original__")
        and hasattr(_column_types.get_sqlalchemy_column_metadata, "__wrapped_original__")
        and hasattr(Expectation._get_success_kwargs, "__wrapped_original__")
    )


def _patch_connection(engine_cls: Any) -> None:
    original_get_connection = engine_cls.get_connection
    original_close = engine_cls.close

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        if self.dialect_name == DIALECT:
            # Persist the connection, as upstream does for SQLite: results are read after the block.
            if self._connection is None or self._connection.closed:
                self._connection = self.engine.connect()
            yield self._connection
        else:
            with original_get_connection(self) as connection:
                yield connection

    def close(self) -> None:
        if self.dialect_name == DIALECT and self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
        original_close(self)

    get_connection.__doc__ = original_get_connection.__doc__
    get_connection.__wrapped_original__ = original_get_connection  # type: ignore[attr-defined]
    engine_cls.get_connection = get_connection
    engine_cls.close = close


def _patch_regex(original: Any) -> None:
    def get_dialect_regex_expression(column: Any, regex: str, dialect: Any, positive: bool = True) -> Any:
        if _is_duckdb(dialect):
            match = sa.func.regexp_matches(column, sa.literal(regex))
            return match if positive else sa.not_(match)
        return original(column, regex, dialect, positive)

    get_dialect_regex_expression.__wrapped_original__ = original  # type: ignore[attr-defined]
    get_dialect_regex_expression.__doc__ = original.__doc__
    for name in _REGEX_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "get_dialect_regex_expression", None) is original:
            setattr(module, "get_dialect_regex_expression", get_dialect_regex_expression)


def _patch_column_metadata(original: Any) -> None:
    def get_sqlalchemy_column_metadata(
        execution_engine: Any, table_selectable: Any, schema_name: str | None = None
    ) -> Any:
        if execution_engine.dialect_name != DIALECT:
            return original(execution_engine, table_selectable, schema_name)
        cache = execution_engine.get_inspector().info_cache
        key = (_MARK, str(table_selectable), schema_name)
        if key not in cache:
            engine = execution_engine.engine
            names = _metrics_util.column_reflection_fallback(table_selectable, engine.dialect, engine, schema_name)
            cache[key] = [{**column, "primary_key": False} for column in names]
        return [dict(column) for column in cache[key]]  # copies, as upstream returns

    get_sqlalchemy_column_metadata.__wrapped_original__ = original  # type: ignore[attr-defined]
    get_sqlalchemy_column_metadata.__doc__ = original.__doc__
    _column_types.get_sqlalchemy_column_metadata = get_sqlalchemy_column_metadata


def _patch_expectation_kwargs() -> None:
    original_domain, original_success = Expectation._get_domain_kwargs, Expectation._get_success_kwargs

    def pick(self: Expectation, kwargs: dict, keys: tuple[str, ...]) -> dict[str, Any]:
        return {key: kwargs.get(key, self._get_default_value(key)) for key in keys}

    def _get_domain_kwargs(self: Expectation) -> dict[str, Any]:
        return pick(self, self.configuration.kwargs, self.domain_keys)

    def _get_success_kwargs(self: Expectation) -> dict[str, Any]:
        kwargs = self.configuration.kwargs
        return {**pick(self, kwargs, self.success_keys), **pick(self, kwargs, self.domain_keys)}

    _get_domain_kwargs.__wrapped_original__ = original_domain  # type: ignore[attr-defined]
    _get_success_kwargs.__wrapped_original__ = original_success  # type: ignore[attr-defined]
    Expectation._get_domain_kwargs = _get_domain_kwargs  # type: ignore[method-assign]
    Expectation._get_success_kwargs = _get_success_kwargs  # type: ignore[method-assign]


apply()
