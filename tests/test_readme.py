"""The README's tour runs as written, against the simulators instead of real accounts.

Only the two doors to real accounts are swapped: ``backupbridge.connect`` (a key from the environment)
becomes ``connect_sandbox`` with the same options, and ``Bridge.from_config()`` becomes
``Bridge.sandbox()``. Everything else (names, signatures, attributes) is the README's own code, so a
rename that leaves the README behind fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import backupbridge
from backupbridge.bridge import Bridge
from backupbridge.sandbox import connect_sandbox

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_readme_tour_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) == 2, "the README's tour has two code blocks"
    monkeypatch.setattr(backupbridge, "connect", lambda vendor, **options: connect_sandbox(vendor, **options))
    monkeypatch.setattr(Bridge, "from_config", classmethod(lambda cls, path=None, **kw: cls.sandbox(**kw)))
    namespace: dict[str, Any] = {}
    for block in blocks:
        # Compiled as a script would be (no top-level await): a block that only runs in a notebook fails here.
        exec(compile(block, str(README), "exec"), namespace)  # our own README
    out = capsys.readouterr().out
    assert "Capability.LIST_DEVICES" in out  # print(conn.capabilities)
    assert len(namespace["devices"]) == 200  # the async listing of size=200
    assert namespace["failing"] and all(p.health.value != "ok" for p in namespace["failing"])
    assert namespace["config"].setup_link.startswith("https://")
