"""``report --company`` on a state file touches only that company's alerts (adversarial pass, issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_report_trust import run


def _events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_company_filtered_run_neither_recovers_nor_opens_other_companies_alerts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, first, second, third = (tmp_path / n for n in ("s.json", "1.ndjson", "2.ndjson", "3.ndjson"))
    common = ("report", "--sandbox", "-q", "--vendor", "cleverfox", "--state-file", str(state), "--format", "json")
    run(capsys, *common, "--alerts-ndjson", str(first))
    opened = _events(first)
    companies = {e["company_id"] for e in opened}
    assert len(companies) > 1, "the tenant must have problems in several companies"
    one = sorted(str(c) for c in companies if c)[0]

    run(capsys, *common, "--company", one, "--alerts-ndjson", str(second))
    assert [e for e in _events(second) if e["event"] == "recovered"] == []
    assert all(e["company_id"] == one for e in _events(second))

    run(capsys, *common, "--alerts-ndjson", str(third))  # the full run again: nothing had changed
    assert _events(third) == []
