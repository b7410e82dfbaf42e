"""Byte-exact encoders for the export formats: CSV dialects, JSON styles and deterministic zips.

Each platform quotes, terminates and encodes its files its own way; the writers say which dialect
they need and these functions produce exactly those bytes, with nothing taken from the clock.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from typing import Iterable, Literal, Sequence

Quoting = Literal["minimal", "all", "meta"]

BOM = "\ufeff"


def _needs_quotes(cell: str, quoting: Quoting) -> bool:
    if quoting == "all":
        return True
    if quoting == "meta":
        # Meta Business Suite quotes any cell with a space, comma, quote or line break.
        return any(ch in cell for ch in ' ,"\n\r\t')
    return any(ch in cell for ch in ',"\n\r')


def csv_cell(value: object, quoting: Quoting = "minimal") -> str:
    """One CSV cell; ``None`` is an empty cell."""
    text = "" if value is None else str(value)
    if quoting == "all" or (text and _needs_quotes(text, quoting)):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_text(
    rows: Iterable[Sequence[object]],
    *,
    quoting: Quoting = "minimal",
    newline: str = "\n",
    trailing_newline: bool = True,
    quote_columns: Iterable[int] = (),
) -> str:
    """CSV text in one dialect; ``quote_columns`` are always quoted (X quotes every post text)."""
    forced = set(quote_columns)
    lines = []
    for index, row in enumerate(rows):
        cells = []
        for col, value in enumerate(row):
            if index > 0 and col in forced:
                cells.append(csv_cell(value, "all"))
            else:
                cells.append(csv_cell(value, quoting))
        lines.append(",".join(cells))
    text = newline.join(lines)
    return text + newline if trailing_newline and lines else text


def json_compact(document: object) -> bytes:
    """Graph API style: no spaces, UTF-8 kept as is."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_google(document: object) -> bytes:
    """Google API style: two-space indent, UTF-8 kept, ``<`` and ``>`` escaped as \\u003c/\\u003e."""
    text = json.dumps(document, ensure_ascii=False, indent=2)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e") + "\n").encode("utf-8")


def jsonl_twarc(pages: Iterable[object]) -> bytes:
    """twarc2 style: one API page per line, Python's default separators, non-ASCII escaped."""
    return "".join(json.dumps(page) + "\n" for page in pages).encode("ascii")


def deterministic_zip(members: Sequence[tuple[str, bytes]], day: date) -> bytes:
    """A zip whose bytes depend only on the members and the day stamped on them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(day.year, day.month, day.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return buffer.getvalue()


def trim_float(value: float, places: int) -> str:
    """``12.50`` → ``12.5``, ``7.00`` → ``7``: how YouTube Studio and Search Console print numbers."""
    text = f"{value:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def clock(seconds: float) -> str:
    """``0:04:34``: YouTube Studio's average view duration (hours not padded)."""
    total = int(round(seconds))
    return f"{total // 3600}:{(total % 3600) // 60:02d}:{total % 60:02d}"


def iso_duration(seconds: int) -> str:
    """``PT2H10M20S``: YouTube Data API contentDetails.duration."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    if secs or out == "PT":
        out += f"{secs}S"
    return out
