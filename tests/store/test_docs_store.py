"""docs/store.md's example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "store.md"


def test_the_store_page_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    block = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)[0]  # the recording one
    exec(compile(block, str(DOC), "exec"), {})  # our own documentation
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("1 1 ") and int(lines[0].split()[2]) > 0
    assert len(lines) > 4 and all(part for part in lines)
