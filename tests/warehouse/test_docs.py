"""docs/warehouse.md is the schema's own documentation: it must say what the migrations say."""

from __future__ import annotations

from pathlib import Path

from warehouse.docs import render_fresh

DOCS = Path(__file__).resolve().parents[2] / "docs" / "warehouse.md"


def test_the_warehouse_page_matches_the_schema() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_fresh(), "regenerate: python -m warehouse.docs > docs/warehouse.md"


def test_every_table_states_its_grain() -> None:
    page = render_fresh()
    for block in page.split("### ")[1:]:
        name, _, rest = block.partition("\n")
        assert rest.strip().startswith(("One row per", "Staging, one row per", "One row")), name
