"""Bad and hostile files through the real ingestion: refused with a reason or loaded exactly; never a
silent replacement, never a lost row, never a change to what was already loaded.

Every test starts from a warehouse holding one good export and checks, after the bad file, that the
good file's staged rows are byte-for-byte what they were and that the ledger identity holds.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from pathlib import Path

import pytest

from readers import registry
from readers.base import ReadError, SourceFile
from tests.resilience.hostile import FIRST_ID, X_HEADER, X_NAME, Lab, build_zip, csv_text, x_csv, x_rows

GOOD = x_csv(3, text="already loaded", start=FIRST_ID - 100)
TEXT = "Café 重庆 🎉 naïve"


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    lab = Lab(tmp_path)
    [outcome] = lab.load("good/" + X_NAME, GOOD)
    assert outcome.status == "loaded" and outcome.rows_loaded == 3
    lab.good_sha = outcome.sha256
    lab.good_rows = lab.rows_of(outcome.sha256)
    return lab


def load_one(lab: Lab, data: bytes, name: str = X_NAME):
    outcomes = lab.load(name, data)
    assert lab.rows_of(lab.good_sha) == lab.good_rows, "a bad file changed what was already loaded"
    assert lab.ledger_problems() == []
    return outcomes


def texts(lab: Lab, sha: str) -> list[str]:
    return [t for (t,) in lab.query("SELECT text FROM stg_post WHERE source_file_sha256 = ? ORDER BY post_id", [sha])]


# -- encodings ---------------------------------------------------------------------------------

BASE = csv_text(X_HEADER, x_rows(2, text=TEXT))


@pytest.mark.parametrize("label, data", [
    ("utf-8", BASE.encode()),
    ("utf-8 with BOM", codecs.BOM_UTF8 + BASE.encode()),
    ("utf-16 with sep= line", ("sep=,\r\n" + BASE).encode("utf-16")),
    ("utf-16-be with BOM", codecs.BOM_UTF16_BE + BASE.encode("utf-16-be")),
])
def test_unicode_encodings_load_the_text_exactly(lab: Lab, label: str, data: bytes) -> None:
    [outcome] = load_one(lab, data)
    assert outcome.status == "loaded", outcome.message
    assert texts(lab, outcome.sha256) == [TEXT, TEXT]


def test_windows_1252_is_decoded_not_replaced(lab: Lab) -> None:
    [outcome] = load_one(lab, csv_text(X_HEADER, x_rows(2, text="Café naïve €")).encode("cp1252"))
    assert outcome.status == "loaded"
    assert texts(lab, outcome.sha256) == ["Café naïve €"] * 2


@pytest.mark.parametrize("label, data, reason", [
    ("utf-8 with an encoded lone surrogate", BASE.encode().replace("Café".encode(), b"Caf\xed\xa0\x80", 1), "UTF-8"),
    ("utf-8 file with one corrupt byte", BASE.encode().replace("naïve".encode(), b"na\xff\x81ve", 1), "UTF-8"),
    ("utf-16 with an odd byte count", codecs.BOM_UTF16_LE + BASE.encode("utf-16-le") + b"\x00", "UTF-16"),
])
def test_undecodable_bytes_refuse_the_file_rather_than_guess(lab: Lab, label: str, data: bytes, reason: str) -> None:
    [outcome] = load_one(lab, data)
    assert outcome.status == "refused", label
    assert reason in outcome.message and X_NAME in outcome.message


def test_a_json_lone_surrogate_refuses_the_file_with_a_reason(lab: Lab) -> None:
    doc = {"data": [{"id": "2000506114667450375", "text": "bad \ud800 text", "author_id": "100",
                     "created_at": "2025-12-15T10:00:00.000Z", "lang": "en",
                     "public_metrics": {"retweet_count": 1, "reply_count": 1, "like_count": 1, "quote_count": 1,
                                        "impression_count": 1}}],
           "includes": {"users": [{"id": "100", "username": "someone", "name": "Some One"}]}, "meta": {"result_count": 1}}
    [outcome] = load_one(lab, json.dumps(doc).encode(), "api_v2_response.json")
    assert outcome.status == "refused"
    assert "lone UTF-16 surrogate" in outcome.message


def test_emoji_and_astral_characters_survive(lab: Lab) -> None:
    text = "🏙️🚋 👨‍👩‍👧 𠀀 \u200d zero-width joiner"
    [outcome] = load_one(lab, csv_text(X_HEADER, x_rows(1, text=text)).encode())
    assert texts(lab, outcome.sha256) == [text]


# -- structure ---------------------------------------------------------------------------------

def test_structure_variants(lab: Lab) -> None:
    rows = x_rows(3)
    perm = [2, 0, 1] + list(range(3, 17))
    cases = {
        "truncated last line": (csv_text(X_HEADER, rows)[:-30].encode(), "loaded", 2, 1),
        "reordered columns": (csv_text([X_HEADER[i] for i in perm], [[r[i] for i in perm] for r in x_rows(3, start=FIRST_ID + 10)]).encode(), "loaded", 3, 0),
        "extra column": (csv_text(X_HEADER + ["Mystery"], [r + ["?"] for r in x_rows(3, start=FIRST_ID + 20)]).encode(), "loaded", 3, 0),
        "missing optional column": (csv_text(X_HEADER[:-1], [r[:-1] for r in x_rows(3, start=FIRST_ID + 30)]).encode(), "loaded", 3, 0),
        "duplicated header row": (csv_text(X_HEADER, x_rows(2, start=FIRST_ID + 40) + [X_HEADER] + x_rows(1, start=FIRST_ID + 45)).encode(), "loaded", 3, 1),
        "header only": (csv_text(X_HEADER, []).encode(), "loaded", 0, 0),
    }
    for label, (data, status, loaded, quarantined) in cases.items():
        [outcome] = load_one(lab, data)
        assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == (status, loaded, quarantined), label
    # Reordered columns give the same typed rows as the original order.
    [a] = load_one(lab, csv_text(X_HEADER, x_rows(2, start=FIRST_ID + 60)).encode(), "a/" + X_NAME)
    [b] = load_one(lab, csv_text([X_HEADER[i] for i in perm], [[r[i] for i in perm] for r in x_rows(2, start=FIRST_ID + 60)]).encode() + b"\r\n", "b/" + X_NAME)
    assert len(lab.rows_of(a.sha256)["stg_post"]) == len(lab.rows_of(b.sha256)["stg_post"]) == 2
    assert lab.query("SELECT count(DISTINCT (post_id, impressions, text)) FROM stg_post WHERE source_file_sha256 IN (?, ?)",
                     [a.sha256, b.sha256]) == [(2,)]


@pytest.mark.parametrize("label, data, match", [
    ("empty file", b"", "empty"),
    ("only a BOM", codecs.BOM_UTF8, "empty"),
    ("missing required column", csv_text(X_HEADER[1:], [r[1:] for r in x_rows(2)]).encode(), "not a supported export"),
    ("unterminated quote at the end", (csv_text(X_HEADER, x_rows(2)) + '1987536676582330999,"Sun, Nov 9').encode(), "quoting"),
    ("broken JSON", b'{"data": [{"id": "1", ', "not valid JSON"),
    ("binary noise", bytes(range(256)) * 8, ""),
])
def test_files_that_cannot_be_trusted_are_refused_with_a_reason(lab: Lab, label: str, data: bytes, match: str) -> None:
    [outcome] = load_one(lab, data)
    assert outcome.status == "refused", label
    assert outcome.message and match in outcome.message


def test_newlines_and_delimiters_inside_quoted_text_are_kept(lab: Lab) -> None:
    text = 'line one\r\nline two, with "quotes"; and\ttabs | pipes'
    [outcome] = load_one(lab, csv_text(X_HEADER, x_rows(2, text=text, start=FIRST_ID + 70)).encode())
    assert texts(lab, outcome.sha256) == [text, text]


def test_a_bad_value_deep_in_a_large_file_quarantines_that_row_only(lab: Lab) -> None:
    rows = x_rows(30_001, start=FIRST_ID + 1000)
    rows[30_000][4] = "12x"
    [outcome] = load_one(lab, csv_text(X_HEADER, rows).encode())
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (30_001, 30_000, 1)
    [(row, column, value)] = lab.query(
        "SELECT source_row, column_name, value FROM stg_quarantine WHERE source_file_sha256 = ?", [outcome.sha256])
    assert (row, column, value) == (30_001, "impressions", "12x")


def test_a_very_long_field_loads_intact(lab: Lab) -> None:
    text = "long " * 400_000  # 2 MB, beyond the csv module's default cell limit
    [outcome] = load_one(lab, csv_text(X_HEADER, x_rows(1, text=text, start=FIRST_ID + 80)).encode())
    assert outcome.status == "loaded"
    assert texts(lab, outcome.sha256) == [text]


# -- types -------------------------------------------------------------------------------------

def test_typed_values(lab: Lab) -> None:
    base = x_rows(6, start=FIRST_ID + 200)
    base[0][4] = "1,234"        # thousands separator
    base[1][4] = "1938.0"       # a count written as a float
    for i, token in enumerate(("-", "N/A", "undefined"), start=2):
        base[i][4] = token        # missing, never zero
    base[5][4] = "-5"           # a negative count: quarantined, not loaded as -5 or 0
    [outcome] = load_one(lab, csv_text(X_HEADER, base).encode())
    got = dict(lab.query("SELECT post_id, impressions FROM stg_post WHERE source_file_sha256 = ?", [outcome.sha256]))
    ids = [str(FIRST_ID + 200 + i) for i in range(6)]
    assert got == {ids[0]: 1234, ids[1]: 1938, ids[2]: None, ids[3]: None, ids[4]: None}
    assert outcome.rows_quarantined == 1
    # 19-digit ids stay exact text (no float rounding).
    assert all(len(i) == 19 for i in got) and set(got) <= set(ids)


def test_a_year_less_date_without_an_export_date_refuses_the_file() -> None:
    """Directly through the readers: an ambiguous date with no year and no date in the path refuses the
    file rather than guessing a year."""
    from tests.conftest import FIXTURES

    tiktok = (FIXTURES / "tiktok" / "Content.csv").read_bytes()
    with pytest.raises(ReadError):
        registry.read(SourceFile("Content.csv", tiktok))  # "January 3" and no export date: which year?


# -- semantics ---------------------------------------------------------------------------------

def test_the_same_file_twice_under_another_name_is_a_no_op_and_both_names_are_seen(lab: Lab) -> None:
    before = lab.rows_of(lab.good_sha)
    [again] = load_one(lab, GOOD, "renamed copy (1).csv")
    assert again.status == "already_loaded"
    assert lab.rows_of(lab.good_sha) == before
    names = {n for (n,) in lab.query("SELECT file_name FROM ops_file_sighting WHERE file_sha256 = ?", [lab.good_sha])}
    assert names == {"good/" + X_NAME, "renamed copy (1).csv"}


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_restated_metrics_in_any_order_give_the_latest_values(tmp_path: Path, order: tuple[int, ...]) -> None:
    from flows.stages import build_facts

    exports = [
        (f"account_analytics_content_2025-10-12_2025-11-{day}.csv", x_csv(3, impressions=str(value), start=FIRST_ID + 500))
        for day, value in (("10", 100), ("11", 150), ("12", 175))
    ]
    lab = Lab(tmp_path)
    for i in order:
        lab.load(*exports[i])
    build_facts(lab.settings)
    assert {v for (v,) in lab.query("SELECT impressions FROM fct_post")} == {175}
    assert lab.query("SELECT count(*), min(snapshots) FROM fct_post") == [(3, 3)]
    assert lab.ledger_problems() == []


def test_a_platform_with_no_files_has_absent_kpis_with_a_reason_not_zero(tmp_path: Path) -> None:
    from cityimage.weeks import Week
    from flows.stages import build_facts, compute_kpis

    lab = Lab(tmp_path)
    lab.load(X_NAME, x_csv(3))
    build_facts(lab.settings)
    compute_kpis(lab.settings, Week.parse("2025-W45"))
    rows = lab.query("SELECT platform, status, value, note FROM kpi_weekly WHERE platform = 'youtube'")
    assert rows, "KPIs of a platform with no data must be listed as absent, not left out silently"
    for platform, status, value, note in rows:
        assert status == "absent" and value is None and note, (platform, status, value, note)


# -- hostile -----------------------------------------------------------------------------------

def _encrypted(data: bytes) -> bytes:
    data = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature) + offset
        data[at] |= 0x01
    return bytes(data)


@pytest.mark.parametrize("label, data, match", [
    ("path traversal", build_zip({"../../etc/" + X_NAME: x_csv(2)}), ""),
    ("absolute path", build_zip({"/tmp/" + X_NAME: x_csv(2)}), ""),
    ("zip bomb", build_zip({X_NAME: b"0" * 5_000_000}), "expands more than"),
    ("nested archive", build_zip({"inner.zip": build_zip({X_NAME: x_csv(2)})}), "itself an archive"),
    ("encrypted member", _encrypted(build_zip({X_NAME: x_csv(2)})), "encrypted"),
    ("truncated zip", build_zip({X_NAME: x_csv(50)})[:-40], ""),
    ("empty zip", build_zip({}), "holds no file to load"),
    ("only a folder and Finder litter", build_zip({"exports/": b"", "__MACOSX/._x.csv": b"x"}), "holds no file to load"),
])
def test_hostile_archives_are_refused_and_load_nothing(lab: Lab, tmp_path: Path, label: str, data: bytes, match: str) -> None:
    staged_before = lab.query("SELECT count(*) FROM stg_post")
    outcomes = load_one(lab, data, "download.zip")
    assert [o.status for o in outcomes] == ["refused"], label
    assert match in outcomes[0].message
    assert lab.query("SELECT count(*) FROM stg_post") == staged_before
    assert not any(p.name == X_NAME for p in tmp_path.parent.rglob(X_NAME) if "etc" in p.parts)


def test_an_honest_archive_loads_each_member(lab: Lab) -> None:
    outcomes = load_one(lab, build_zip({"x/" + X_NAME: x_csv(2, start=FIRST_ID + 900)}), "download.zip")
    assert [o.status for o in outcomes] == ["loaded"] and outcomes[0].rows_loaded == 2


@pytest.mark.parametrize("text", [
    "=HYPERLINK(\"http://evil.example\",\"click\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
    "\t=1+1", "\r=1+1", "'; DROP TABLE stg_post; --", "Robert'); DELETE FROM ops_file_ledger; --",
    "100% _under_ \\backslash\\ \"quoted\" $1 ?", "\x00nul byte",
])
def test_formula_and_sql_metacharacters_are_loaded_and_queried_intact(lab: Lab, text: str) -> None:
    start = FIRST_ID + 3000 + int(hashlib.sha256(text.encode()).hexdigest()[:6], 16) % 1000 * 10
    [outcome] = load_one(lab, csv_text(X_HEADER, x_rows(1, text=text, start=start)).encode())
    assert outcome.status == "loaded", outcome.message
    stored = lab.query("SELECT text FROM stg_post WHERE text = ?", [text])
    expected = text.strip() if text[:1] in "\t\r" else text  # readers trim surrounding white space of text cells
    if text.startswith("@SUM"):  # shaped like an @handle: pseudonymised as a person's would be, the rest intact
        [(kept,)] = lab.query("SELECT text FROM stg_post WHERE source_file_sha256 = ?", [outcome.sha256])
        assert kept.startswith("@anon_") and kept.endswith("(A1:A9)")
        return
    assert stored == [(text,)] or lab.query("SELECT text FROM stg_post WHERE source_file_sha256 = ?", [outcome.sha256]) == [(expected,)]
    assert lab.query("SELECT count(*) FROM ops_file_ledger") >= [(2,)]


#: Where the product writes CSV: ``cityimage classify``, the query results of ``sql``/``analyst`` and the
#: KPI table beside each report, all escaped by ``output.csv_cell``.
CSV_WRITERS = {"cityimage/textfile.py", "cityimage/output.py", "publish/reporting.py"}


def test_the_product_writes_csv_only_where_cells_are_escaped() -> None:
    """Formula injection only matters where a spreadsheet opens a CSV the product wrote: outputs are
    Parquet, JSON manifests and HTML with auto-escaping, except ``cityimage classify``'s CSV and the query
    results, which escape every cell (tested in tests/test_classify_command.py and tests/test_output.py)."""
    import re

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"write_csv|csv\.writer|DictWriter|to_csv|COPY .* TO .*csv", re.IGNORECASE)
    offenders = [
        str(p.relative_to(root)) for package in ("cityimage", "readers", "warehouse", "transforms", "publish", "flows", "expectations")
        for p in (root / package).rglob("*.py")
        if "sample" not in p.parts and pattern.search(p.read_text(encoding="utf-8"))
        and str(p.relative_to(root)) not in CSV_WRITERS
    ]
    assert offenders == [], f"the product now writes CSV ({offenders}): escape =,+,-,@,tab,CR there and test it"


def test_symbolic_links_in_the_inbox_are_refused_by_name_and_never_followed(lab: Lab) -> None:
    """A link to /etc/passwd used to be read (its first line reached the ledger); a linked folder was
    skipped without a trace. Both are refused by name now, and the rest of the drop loads."""
    import os

    from flows.stages import ingest

    drop = lab.drop("x/" + X_NAME, x_csv(2))
    os.symlink("/etc/passwd", drop / "x" / "passwd.csv")
    os.symlink("/etc", drop / "linked_account")

    outcomes = {f.name: f for f in ingest(lab.settings, [drop]).files}

    assert outcomes["x/" + X_NAME].status == "loaded"
    for name, target in (("x/passwd.csv", "/etc/passwd"), ("linked_account", "/etc")):
        assert outcomes[name].status == "refused" and f"symbolic link (to {target}) is not followed" in outcomes[name].message
    messages = " ".join(m or "" for (m,) in lab.query("SELECT message FROM ops_file_ledger"))
    assert "root:" not in messages  # nothing of /etc/passwd was read
    assert lab.query("SELECT count(*) FROM ops_file_ledger WHERE status = 'refused'") == [(2,)]


def test_a_fifo_in_the_inbox_is_refused_by_name_and_never_opened(lab: Lab) -> None:
    """Opening a FIFO blocks until someone writes to it: the load would hang. It is refused unread."""
    import os

    from flows.stages import ingest

    drop = lab.drop("x/" + X_NAME, x_csv(2))
    os.mkfifo(drop / "x" / "pipe.csv")

    outcomes = {f.name: f for f in ingest(lab.settings, [drop]).files}

    assert outcomes["x/" + X_NAME].status == "loaded"
    assert outcomes["x/pipe.csv"].status == "refused" and "not a regular file" in outcomes["x/pipe.csv"].message
    assert lab.query("SELECT file_name FROM ops_file_ledger WHERE status = 'refused'") == [("x/pipe.csv",)]


def test_links_are_followed_only_when_the_setting_says_so(lab: Lab, tmp_path: Path) -> None:
    import os

    from flows.stages import ingest

    elsewhere = tmp_path / "exports" / "x"
    elsewhere.mkdir(parents=True)
    (elsewhere / X_NAME).write_bytes(x_csv(3))
    drop = lab.drop("x/placeholder.txt", b"")
    os.symlink(elsewhere, drop / "linked")

    outcomes = {f.name: f for f in ingest(lab.settings.model_copy(update={"follow_inbox_links": True}), [drop]).files}

    linked = outcomes["linked/" + X_NAME]
    assert linked.status == "loaded" and linked.rows_loaded == 3
    assert lab.query("SELECT count(*) FROM ops_file_sighting WHERE file_name = ?", ["linked/" + X_NAME]) == [(1,)]
