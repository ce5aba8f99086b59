"""Every Python example in docs/ runs as written, so a stale example fails CI.

Every ``docs/**/*.md`` page is picked up (a page added tomorrow too). A page's ```` ```python ```` blocks run
in order in one namespace, as a reader would paste them into one script: compiled as a script (no top-level
``await``), in a temporary directory. Blocks fenced as shell, toml, output and so on are not Python and are
left alone.

Only the doors to real accounts are swapped, as tests/test_readme.py does for the README:
``backupbridge.connect``/``connect_async`` become the in-process simulators (the credentials are the
simulator's), and ``Bridge.from_config``/``AsyncBridge.from_config`` become ``.sandbox()``. Everything else
is the page's own code.

A block that cannot run on its own (a fragment of a plugin module naming the plugin's classes) is marked on
the line before it with ``<!-- example: fragment -->``: it is still compiled, so a syntax error or a
top-level ``await`` fails, but not run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

import backupbridge
from backupbridge.bridge import AsyncBridge, Bridge
from backupbridge.sandbox import connect_sandbox, connect_sandbox_async

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
# A fence's info string: ```python (also ```py, ```python3, with attributes after a space or in braces).
BLOCK = re.compile(
    r"(?P<marker><!--\s*example:\s*(?P<kind>\w+)[^>]*-->\s*\n)?^(?P<fence>```+|~~~+)[ \t]*(?P<info>[^\n]*)\n"
    r"(?P<code>.*?)^(?P=fence)[ \t]*$",
    flags=re.DOTALL | re.MULTILINE,
)
PYTHON = {"python", "py", "python3", "pycon"}


def blocks(text: str) -> list[tuple[int, str, str]]:
    """``(line, code, kind)`` of each Python block; ``kind`` is ``run`` or the marker's (``fragment``)."""
    found = []
    for match in BLOCK.finditer(text):
        info = match.group("info").strip().lstrip("{").lstrip(".")
        language = re.split(r"[\s{}]", info, maxsplit=1)[0].lower() if info else ""
        if language in PYTHON:
            line = text.count("\n", 0, match.start("code")) + 1
            found.append((line, match.group("code"), match.group("kind") or "run"))
    return found


def test_the_block_finder() -> None:
    page = (
        "text\n```python\nx = 1\n```\n```bash\nls\n```\n<!-- example: fragment -->\n```python\ny = AcmeDriver\n```\n"
        '```toml\na = 1\n```\n```python title="x.py"\nz = 2\n```\n'
    )
    assert [(code, kind) for _, code, kind in blocks(page)] == [
        ("x = 1\n", "run"),
        ("y = AcmeDriver\n", "fragment"),
        ("z = 2\n", "run"),
    ]


def _sandbox_connect(opener: Any) -> Any:
    def connect(vendor: str, **options: Any) -> Any:
        spec = backupbridge.get_vendor(vendor)
        # The simulator's own credentials stand in for the page's (``api_key=...`` or the environment).
        for field in spec.credentials:
            options.pop(field.name, None)
        options.pop("base_url", None)
        return opener(vendor, **options)

    return connect


@pytest.fixture
def sandboxed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(backupbridge, "connect", _sandbox_connect(connect_sandbox))
    monkeypatch.setattr(backupbridge, "connect_async", _sandbox_connect(connect_sandbox_async))
    monkeypatch.setattr(Bridge, "from_config", classmethod(lambda cls, path=None, **kw: cls.sandbox(**kw)))
    monkeypatch.setattr(AsyncBridge, "from_config", classmethod(lambda cls, path=None, **kw: cls.sandbox(**kw)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(tmp_path / "no-config.toml"))


def _examples() -> list[Any]:
    params = []
    for page in PAGES:
        found = blocks(page.read_text(encoding="utf-8"))
        if found:
            params.append(pytest.param(page, found, id=str(page.relative_to(DOCS))))
    return params


def test_every_docs_page_is_looked_at() -> None:
    assert DOCS / "quickstart.md" in PAGES and DOCS / "plans.md" in PAGES and DOCS / "from-httpx.md" in PAGES
    assert all(page.is_relative_to(DOCS) for page in PAGES)


@pytest.mark.usefixtures("sandboxed")
@pytest.mark.parametrize(("page", "found"), _examples())
def test_docs_examples_run(page: Path, found: list[tuple[int, str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {"__name__": f"docs_example_{page.stem}"}
    for line, code, kind in found:
        where = f"{page.relative_to(DOCS.parent)}:{line}"
        # Compiled as a script would be, at its own line numbers (a failure points into the page).
        compiled = compile("\n" * (line - 1) + code, str(page), "exec")
        if kind == "fragment":
            continue
        try:
            exec(compiled, namespace)  # our own documentation
        except Exception as exc:
            raise AssertionError(f"the example at {where} fails: {type(exc).__name__}: {exc}") from exc
    capsys.readouterr()


def test_the_quickstart_and_plan_examples_do_what_they_say(capsys: pytest.CaptureFixture[str]) -> None:
    """Not only that they run: the plan page's example creates the plan it describes."""
    os.environ.setdefault("COLUMNS", "120")
    namespace: dict[str, Any] = {}
    page = DOCS / "plans.md"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backupbridge, "connect", _sandbox_connect(connect_sandbox))
        for _, code, _ in blocks(page.read_text(encoding="utf-8")):
            exec(compile(code, str(page), "exec"), namespace)  # our own documentation
    out = capsys.readouterr().out
    assert "Nightly documents weekly 22:30:00 ['mon', 'thu']" in out
    assert "refused:" in out
