"""Off a terminal, tables keep no trailing blanks: rich pads every line to the table's width, which a file,
a mail or a diff of two morning reports carries as noise."""

from __future__ import annotations

import io

import pytest

from backupbridge.cli import main
from backupbridge.exporters import _TrimmedLines, table_console


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--sandbox", "--no-alerts", "--no-store"],
        ["devices", "--sandbox", "--vendor", "idrive360"],
        ["vendors"],
    ],
)
@pytest.mark.parametrize("width", ["80", "200"])
def test_tables_off_a_terminal_end_their_lines(
    args: list[str], width: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", width)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.count("\n") > 3
    padded = [line for line in out.splitlines() if line != line.rstrip(" ")]
    assert padded == []


def test_a_line_written_in_pieces_is_trimmed_once_it_ends() -> None:
    sink = io.StringIO()
    trimmed = _TrimmedLines(sink)
    trimmed.write("name   ")
    trimmed.write("  value   ")
    assert sink.getvalue() == ""  # the line is still open: more may follow on it
    trimmed.write("\nnext  \n\n  ")
    assert sink.getvalue() == "name     value\nnext\n\n"
    trimmed.flush()  # an open line is written as it is
    assert sink.getvalue() == "name     value\nnext\n\n  "


def test_a_table_printed_to_a_file_has_no_padding_and_loses_no_text() -> None:
    from rich.table import Table

    sink = io.StringIO()
    table = Table("device", "status")
    table.add_row("SRV-1", "ok")
    table.add_row("A-much-longer-device-name", "failed   x")
    table_console(sink).print(table)
    text = sink.getvalue()
    assert "A-much-longer-device-name" in text and "failed   x" in text
    assert all(line == line.rstrip(" ") for line in text.splitlines())
