"""youtube exports (readers being written; see docs/formats.md)."""

from __future__ import annotations

FORMATS: tuple = ()
