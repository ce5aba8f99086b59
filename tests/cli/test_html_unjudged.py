"""The HTML report of an account that was not judged (its run listing failed) never says "never" of its last
success: a failed listing must not make devices look as if they never backed up (house rule 1). Table,
JSON and CSV leave the time out; the HTML says "not judged"."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from backupbridge.cli import main

from .test_report_trust import fail_endpoint


class _Cells(HTMLParser):
    """Every ``<td data-label=...>`` of the page: (the row's data-vendor, its section id, label, text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[tuple[str, str, str, str]] = []
        self._section = ""
        self._vendor = ""
        self._cell: list[str] | None = None
        self._label = ""
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section":
            self._section = found.get("aria-labelledby") or ""
        elif tag == "tr":
            self._vendor = found.get("data-vendor") or ""
        elif tag == "td" and self._cell is None:
            self._cell, self._label, self._depth = [], found.get("data-label") or "", 0
        elif self._cell is not None:
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._cell is None:
            return
        if tag == "td" and self._depth == 0:
            self.cells.append((self._vendor, self._section, self._label, "".join(self._cell).strip()))
            self._cell = None
        elif tag != "td":
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _html(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[tuple[str, str, str, str]]]:
    code = main(["report", "--sandbox", "--size", "8", "--no-alerts", "--format", "html", *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    parser = _Cells()
    parser.feed(out)
    assert parser.cells, out[:500]
    return code, parser.cells


def _successes(cells: list[tuple[str, str, str, str]], vendor: str) -> list[tuple[str, str]]:
    return [(label, text) for v, _section, label, text in cells if v == vendor and "last success" in label]


@pytest.fixture(autouse=True)
def _no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(tmp_path / "absent.toml"))


def test_an_unjudged_account_s_companies_say_not_judged_never_never(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_endpoint(monkeypatch, "cleverfox", "/logs")
    code, cells = _html(capsys, "--no-store")
    assert code == 1
    mine = _successes(cells, "cleverfox")
    labels = {label for label, _ in mine}
    assert labels == {"last success", "oldest last success"}, mine
    assert all(text == "not judged" for _, text in mine), mine
    # The accounts that answered keep their times.
    others = _successes(cells, "idrive360")
    assert others and all(text[:2] == "20" for _, text in others), others


def test_with_a_store_the_strip_of_an_unjudged_account_never_says_never(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its listing failed on the first recorded run: the store holds no result of it, so its history rows
    (the 30-day strip) cannot say it never backed up either."""
    fail_endpoint(monkeypatch, "cleverfox", "/logs")
    code, cells = _html(capsys)
    assert code == 1
    mine = [(section, label, text) for v, section, label, text in cells if v == "cleverfox" and "success" in label]
    assert mine and not any(text == "never" for _, _, text in mine), mine
    assert any(section == "history-heading" for section, _, _ in mine), mine  # the strip rows are there
