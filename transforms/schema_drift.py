"""Schema drift: an export whose columns differ from the previous export of the same format.

Platforms rename, add and drop columns without notice (Facebook's impressions became views, Instagram
plays became views). A reader keeps the columns it knows and ignores the rest, so a renamed metric
would otherwise vanish silently, one week's KPI turning "not available" for no visible reason. The
warning names the columns that appeared and those that vanished; whether each appeared column is read
is the reader's business (its aliases), the warning only says it changed.
"""

from __future__ import annotations

from collections.abc import Sequence


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def _holder(column: str) -> str | None:
    """The object holding an API response's metric path (``statistics.`` for ``statistics.viewCount``)."""
    return column.rsplit(".", 1)[0] + "." if "." in column.rstrip(".") else None


def drift_note(previous_file: str, previous: Sequence[str], current: Sequence[str]) -> str | None:
    """One sentence naming what changed against ``previous_file``'s columns, or None when nothing did.

    Headers compare case- and space-insensitively: a re-export that only changes their case is no drift.
    An API response's columns are metric paths with their holding objects (``statistics.``, see
    ``readers.graph_json.metric_paths``): the objects are never named themselves, and a metric gone
    with its whole object (a post nobody shared has no ``shares``) is no drift; one gone from an object
    that is still there is.
    """
    before = {_norm(c): c for c in previous if c.strip()}
    after = {_norm(c): c for c in current if c.strip()}
    dropped_holders = {k for k in before if k.endswith(".") and k not in after}
    appeared = [after[k] for k in after if k not in before and not k.endswith(".")]
    vanished = [before[k] for k in before
                if k not in after and not k.endswith(".") and _holder(k) not in dropped_holders]
    if not appeared and not vanished:
        return None
    parts = []
    if appeared:
        parts.append("new column(s) " + ", ".join(repr(c) for c in appeared[:12]) + (" …" if len(appeared) > 12 else ""))
    if vanished:
        parts.append("gone " + ", ".join(repr(c) for c in vanished[:12]) + (" …" if len(vanished) > 12 else ""))
    return f"schema drift against {previous_file}: " + ", ".join(parts)  # no ';': the ledger joins notes with it
