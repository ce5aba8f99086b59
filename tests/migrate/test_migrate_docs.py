"""docs/migration.md's verdict table is the code's: regenerated here, it must match the page."""

from __future__ import annotations

from pathlib import Path

from backupbridge.migrate.table import verdict_table

PAGE = Path(__file__).resolve().parents[2] / "docs" / "migration.md"


def test_the_verdict_table_in_the_docs_is_generated_from_the_code() -> None:
    text = PAGE.read_text(encoding="utf-8")
    start, end = "<!-- verdict-table:start -->\n", "<!-- verdict-table:end -->"
    assert start in text and end in text
    shown = text.split(start, 1)[1].split(end, 1)[0]
    assert shown == verdict_table(), (
        "regenerate the table: python -c 'from backupbridge.migrate.table import verdict_table; print(verdict_table())'"
    )
