"""Terminal layout at fixed widths: the report and the listings read at 80 columns and at 200.

Snapshots (tests/cli/snapshots/) pin the layout; the numbers are checked against the JSON report separately.
Run with ``BACKUPBRIDGE_UPDATE_SNAPSHOTS=1`` to rewrite the snapshots after a deliberate layout change.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from rich.cells import cell_len

from backupbridge.cli import main
from backupbridge.exporters import PLAIN_WIDTH, fit_columns, shorten_ids, write_capability_table
from backupbridge.plugins import list_vendors
from backupbridge.sandbox import connect_sandbox

SNAPSHOTS = Path(__file__).parent / "snapshots"
REPORT = ["report", "--sandbox", "--no-alerts", "--size", "40"]


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int | None, *args: str) -> str:
    if width is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", str(width))
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def widest(text: str) -> int:
    return max(cell_len(line.rstrip()) for line in text.splitlines())


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("BACKUPBRIDGE_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path}: run with BACKUPBRIDGE_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8"), f"the layout changed from {path}"


@pytest.mark.parametrize("width", [80, 200])
def test_report_layout_snapshot(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    out = run(capsys, monkeypatch, width, *REPORT)
    assert widest(out) <= width
    check_snapshot(f"report-{width}.txt", out)


@pytest.mark.parametrize("width", [80, 200])
def test_report_names_are_never_split_inside_a_word(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    out = run(capsys, monkeypatch, width, *REPORT)
    data = json.loads(run(capsys, monkeypatch, width, *REPORT, "--format", "json"))
    words = {
        w for p in data["problems"] for name in (p["device"], p["plan"], p["company"]) if name for w in name.split()
    }
    words |= {w for c in data["companies"] for w in c["company"].split()}
    shown = set(out.split())
    assert words <= shown, sorted(words - shown)[:5]


def test_report_numbers_match_the_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The layout is in the snapshots; here the numbers: every problem once, under its own company."""
    data = json.loads(run(capsys, monkeypatch, 80, *REPORT, "--format", "json"))
    for width in (80, 200):
        out = run(capsys, monkeypatch, width, *REPORT)
        assert f"{len(data['problems'])} problems in " in out
        headings = re.findall(r"^(.+?)  (\S+) / (\S+)  (\d+) problems?$", out, flags=re.MULTILINE)
        by_company: dict[tuple[str, str, str], int] = {}
        for p in data["problems"]:
            key = (p["company"], p["vendor"], p["account"])
            by_company[key] = by_company.get(key, 0) + 1
        # One heading per company (grouped), with that company's count; together they are every problem.
        assert {(c, v, a): int(n) for c, v, a, n in headings} == by_company
        assert len(headings) == len(by_company)
        health_rows = re.findall(r"^(failed|missed|overdue|never_run|warning|unknown)\s", out, flags=re.MULTILINE)
        assert len(health_rows) == len(data["problems"])
        for company in data["companies"]:
            row = f"{company['devices']:>3}"
            assert row.strip() in out


def test_report_off_a_terminal_is_plain_and_bounded(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = run(capsys, monkeypatch, None, *REPORT, "--size", "120", "--tenants", "2")
    assert widest(out) <= PLAIN_WIDTH
    assert "\x1b" not in out and "─" not in out  # no colour, ASCII rules


@pytest.mark.parametrize("command", ["devices", "jobs", "plans", "companies"])
@pytest.mark.parametrize("width", [80, 200])
def test_listings_fit_and_keep_names_whole(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str, width: int
) -> None:
    out = run(capsys, monkeypatch, width, command, "--sandbox", "--size", "8")
    assert widest(out) <= width
    records = json.loads(run(capsys, monkeypatch, width, command, "--sandbox", "--size", "8", "--format", "json"))
    assert re.search(rf"^{len(records)} records", out, flags=re.MULTILINE)
    if command in ("devices", "companies"):
        words = {w for r in records for w in (r["name"] or "").split()}
        assert words <= set(out.split()), sorted(words - set(out.split()))[:5]


def test_listing_snapshot(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for width in (80, 200):
        check_snapshot(f"devices-{width}.txt", run(capsys, monkeypatch, width, "devices", "--sandbox", "--size", "8"))
        check_snapshot(f"jobs-{width}.txt", run(capsys, monkeypatch, width, "jobs", "--sandbox", "--size", "4"))


def test_ids_are_shortened_in_a_narrow_table_and_whole_in_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = list(connect_sandbox("idrive360", size=8).list_devices())
    out = run(capsys, monkeypatch, 80, "devices", "--sandbox", "--vendor", "idrive360", "--size", "8")
    assert all(d.id not in out for d in devices)  # 50-character ids would take most of the line
    assert all(d.id[:8] in out for d in devices)
    assert "id: unique prefixes" in " ".join(out.split())
    wide = run(capsys, monkeypatch, 200, "devices", "--sandbox", "--vendor", "idrive360", "--size", "8")
    assert all(d.id in wide for d in devices)  # room enough: whole
    data = json.loads(
        run(capsys, monkeypatch, 80, "devices", "--sandbox", "--vendor", "idrive360", "--size", "8", "--format", "json")
    )
    assert [r["id"] for r in data] == [d.id for d in devices]


def test_shorten_ids_are_unique_prefixes() -> None:
    ids = ["abcdefgh1234", "abcdefgh1299", "zz", "0123456789abcdef"]
    short = shorten_ids(ids)
    assert short["zz"] == "zz"
    assert short["0123456789abcdef"] == "01234567"
    assert short["abcdefgh1234"] == "abcdefgh123" and short["abcdefgh1299"] == "abcdefgh129"
    assert len(set(short.values())) == len(ids)
    assert all(full.startswith(prefix) for full, prefix in short.items())


def test_fit_columns_wraps_free_text_first_and_names_at_words() -> None:
    rows = [["ACME-PRINT01", "Northwind Architects", "failed", "a long reason " * 8]]
    layout = fit_columns(["device", "company", "status", "error"], rows, 60)
    device, company, status, error = (layout.widths[i] for i in range(4))
    assert device == len("ACME-PRINT01") and status == len("status")  # never cut
    assert company >= len("Architects")  # wraps at the space at most
    assert sum(layout.widths.values()) + 3 <= 60 and error >= 10 and not layout.dropped


def test_capability_table_never_cuts_the_operation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    stream = io.StringIO()
    write_capability_table(list_vendors(), stream)
    out = stream.getvalue()
    from backupbridge.models import Capability

    for cap in Capability:
        assert re.search(rf"^\s*{cap.value}\s", out, flags=re.MULTILINE), cap.value
    assert widest(out) <= 80


def test_vendors_command_uses_the_capability_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = run(capsys, monkeypatch, 80, "vendors")
    assert "list_companies " in out and "list_compani…" not in out and widest(out) <= 80
