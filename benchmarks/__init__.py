"""Benchmarks against the DuckDB-only floor (see `make bench`)."""
