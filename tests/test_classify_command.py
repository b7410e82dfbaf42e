"""``cityimage classify``: CSV and JSONL in, one row per text out, clear refusals for bad input."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from cityimage.cli import app
from cityimage.output import csv_cell

runner = CliRunner()


def test_csv_in_csv_out_with_every_class_and_the_trace(tmp_path):
    source = tmp_path / "texts.csv"
    source.write_text('id,body,lang\n1,"Subscribe to my channel, free gifts http://a.tk",\n'
                      '2,"I hate the traffic, awful",en\n3,"=HYPERLINK(""http://x"")",\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["classify", str(source), "--text-column", "body", "--language-column", "lang",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["row"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["is_spam"] == "true" and rows[0]["sentiment"] == "not_rated"
    assert rows[1]["language"] == "en" and rows[1]["sentiment"] == "negative"
    assert "sentiment.model@en:negative=" in rows[1]["rules"]
    assert rows[2]["text"].startswith("'=")  # a formula is never handed to a spreadsheet


def test_jsonl_in_jsonl_out(tmp_path):
    source = tmp_path / "texts.jsonl"
    source.write_text('{"t": "Che bello, ci voglio andare"}\n{"t": "重庆的火锅太好吃了"}\n', encoding="utf-8")
    result = runner.invoke(app, ["classify", str(source), "--text-column", "t"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["language"] for r in rows] == ["it", "zh"]
    assert rows[0]["sentiment"] == "positive" and isinstance(rows[0]["rules"], list)


def test_a_missing_column_a_wrong_encoding_and_bad_json_are_refused_by_name(tmp_path):
    source = tmp_path / "texts.csv"
    source.write_text("id,body\n1,hello\n", encoding="utf-8")
    result = runner.invoke(app, ["classify", str(source), "--text-column", "text"])
    assert result.exit_code == 2 and "no column 'text'" in result.output and "body" in result.output
    latin = tmp_path / "latin.csv"
    latin.write_bytes("body\ncaf\xe9 tr\xe8s bon\n".encode("latin-1"))
    result = runner.invoke(app, ["classify", str(latin), "--text-column", "body"])
    assert result.exit_code == 2 and "line 2: not UTF-8" in result.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"t": "ok"}\n{"t": \n', encoding="utf-8")
    result = runner.invoke(app, ["classify", str(broken), "--text-column", "t"])
    assert result.exit_code == 2 and "line 2: not JSON" in result.output


def test_csv_cells_are_escaped_for_spreadsheets():
    assert [csv_cell(v) for v in ["=1+1", "+3", "-2", "@x", "\tx", "ok", ["a", "b"], 3]] == [
        "'=1+1", "'+3", "'-2", "'@x", "'\tx", "ok", "a | b", 3]
