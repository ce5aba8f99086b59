"""docs/alerts.md's ConnectWise section as written: its config table loads into a ConnectWiseSink, and the
pasted ticket carries the marker of the alert key it shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from backupbridge.sinks import load_sinks
from backupbridge_connectwise import ConnectWiseSink

DOC = Path(__file__).resolve().parents[3] / "docs" / "alerts.md"


def test_the_config_example_loads(tmp_path: Path) -> None:
    (block,) = re.findall(r'```toml title="config.toml"\n(.*?)```', DOC.read_text(encoding="utf-8"), re.DOTALL)
    config = tmp_path / "config.toml"
    config.write_text(block)
    (sink,) = load_sinks(config)
    assert isinstance(sink, ConnectWiseSink) and sink.label == "psa" and sink.board == "Backups"
    assert sink.priorities == {"critical": 1, "high": 2, "medium": 3, "low": 4}
    assert sink.companies["cleverfox/fox/7"] == "Bakery" and sink.default_company == "CatchAll"
    assert sink.status_names == {"new": "New", "closed": "Closed (resolved)", "reopened": "Re-opened"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('private_key = "abc"', "unknown key 'private_key'"),
        ('site = "http://psa.example.com"', "site must be https://"),
        ("priorities = { urgent = 1 }", "priorities must map critical/high/medium/low"),
        ('client_id = "x"', "give client_id or client_id_env, not both"),
    ],
)
def test_a_table_in_error_names_the_key(tmp_path: Path, line: str, message: str) -> None:
    (block,) = re.findall(r'```toml title="config.toml"\n(.*?)```', DOC.read_text(encoding="utf-8"), re.DOTALL)
    key = line.split(" ", 1)[0]
    kept = [row for row in block.splitlines() if not row.startswith(f"{key} ")]
    config = tmp_path / "config.toml"
    config.write_text("\n".join([*kept, line]) + "\n")
    with pytest.raises(Exception, match=re.escape(message)):
        load_sinks(config)


def test_the_pasted_ticket_carries_the_marker_of_its_alert_key() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("The ConnectWise ticket (") :]
    ticket = json.loads(re.search(r"```json\n(.*?)```", section, re.DOTALL)[1])  # type: ignore[index]
    assert ticket["summary"] == "Acme Architects project / acme-build02: backup failed [bb:b448fe1a66db]"
    from backupbridge_connectwise import marker

    key = (
        "vprotect|sandbox-vprotect|e3e70682-c209-4cac-629f-6fbed82c07cd|66faf989-0813-5d58-6a16-89addfe1b307|"
        "71545a13-7a1d-5006-8d72-3104f77383c1|failed"
    )
    assert ticket["summary"].endswith(marker(key)) and f"Alert key: {key}" in section
