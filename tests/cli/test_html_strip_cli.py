"""``backupbridge report --format html`` with a store shows each device's strip and each company's compliance;
``--no-store`` shows neither (the page is as before)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from backupbridge.cli import cli

from .test_html_browser import Structure


def _report(*args: str) -> str:
    done = CliRunner().invoke(
        cli, ["report", "--sandbox", "--vendor", "idrive360", "--size", "12", "--format", "html", *args]
    )
    assert done.exit_code in (0, 1), done.output  # rc 1: the sandbox has problems to alert on
    match = re.search(r"<!DOCTYPE html>.*</html>", done.output, flags=re.DOTALL)
    assert match, done.output[-500:]
    return match.group(0)


def test_a_recorded_report_shows_a_strip_per_device_and_compliance_per_company(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    _report("--store", store, "--no-alerts")
    page = _report("--store", store, "--no-alerts")
    parsed = Structure()
    parsed.feed(page)
    strips = [a for t, a in parsed.tags if t == "svg" and a.get("class") == "strip"]
    devices = [a for t, a in parsed.tags if t == "tr" and "data-device" in a]
    assert len(strips) == len(devices) == 12
    assert all((a.get("aria-label") or "").count(" to ") == 1 for a in strips)
    compliance = [a for t, a in parsed.tags if t == "td" and a.get("data-field") == "compliance"]
    assert compliance and any("data-device-days" in a for a in compliance)


def test_without_the_store_the_page_has_no_history(tmp_path: Path) -> None:
    page = _report("--no-store", "--no-alerts")
    assert 'class="strip"' not in page and 'data-field="compliance"' not in page
