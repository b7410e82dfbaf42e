"""``cityimage classify``: the comment classifiers on any CSV or JSONL file of texts.

For researchers and for acceptance: the same classifier the weekly flow runs, on texts from outside
the warehouse. One output row per input row, in the input's format and order.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import polars as pl

from cityimage.output import csv_cell
from transforms.classify import classify_comments, load_lexicons

OUTPUT_COLUMNS = ("row", "text", "language", "is_spam", "is_question", "is_praise", "is_travel_intent",
                  "is_complaint", "sentiment", "sentiment_score", "rules")


class TextFileError(ValueError):
    """The file cannot be classified; the message names the file, the row and the reason."""


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TextFileError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TextFileError(f"{path}: line {line}: not UTF-8 (byte {raw[exc.start]:#04x}); "
                            "save the file as UTF-8") from None


def read_texts(path: Path, text_column: str, language_column: str | None, fmt: str) -> pl.DataFrame:
    """text and language_raw columns from a CSV (header row) or JSONL (one object per line) file."""
    content = _decode(path)
    wanted = [text_column] + ([language_column] if language_column else [])
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(content, newline=""))
        missing = [c for c in wanted if c not in (reader.fieldnames or [])]
        if missing:
            raise TextFileError(f"{path}: no column {', '.join(map(repr, missing))} "
                                f"(columns: {', '.join(reader.fieldnames or []) or 'none'})")
        rows = [(r[text_column], r[language_column] if language_column else None) for r in reader]
    else:
        rows = []
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TextFileError(f"{path}: line {number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict) or text_column not in record:
                raise TextFileError(f"{path}: line {number}: no field {text_column!r}")
            value = record[text_column]
            if value is not None and not isinstance(value, str):
                raise TextFileError(f"{path}: line {number}: {text_column!r} is not text")
            rows.append((value, record.get(language_column) if language_column else None))
    return pl.DataFrame(rows, schema={"text": pl.String, "language_raw": pl.String}, orient="row")


def classify_file(path: Path, text_column: str, language_column: str | None, fmt: str | None,
                  output: Path | None) -> int:
    """Classify every text of ``path``; write CSV or JSONL (the input's format) to ``output`` or stdout."""
    fmt = fmt or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv")
    if fmt not in ("csv", "jsonl"):
        raise TextFileError(f"--format must be csv or jsonl, not {fmt!r}")
    if not path.is_file():
        raise TextFileError(f"{path}: no such file")
    texts = read_texts(path, text_column, language_column, fmt).with_row_index("row", offset=1)
    result = classify_comments(texts.with_columns(pl.col("row").cast(pl.Int64)), load_lexicons(), keys=("row",))
    result = result.with_columns(text=texts["text"]).select(OUTPUT_COLUMNS)
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt == "csv":
            writer = csv.writer(handle)
            writer.writerow(OUTPUT_COLUMNS)
            for record in result.iter_rows():
                writer.writerow([csv_cell(v) for v in record])
        else:
            for named in result.iter_rows(named=True):
                handle.write(json.dumps(named, ensure_ascii=False) + "\n")
    finally:
        if output:
            handle.close()
    return result.height
