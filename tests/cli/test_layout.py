"""Terminal layout at fixed widths: the report and the listings read at 80 columns and at 200.

Snapshots (tests/cli/snapshots/) pin the layout of fixed, made-up records (so a change to the simulators'
data or to the health rules does not move them); the sandbox's own reports are checked for widths, whole
names and numbers against the JSON report. Run with ``BACKUPBRIDGE_UPDATE_SNAPSHOTS=1`` to rewrite the
snapshots after a deliberate layout change.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
from pathlib import Path

import pytest
from rich.cells import cell_len

from backupbridge.cli import main
from backupbridge.exporters import (
    PLAIN_WIDTH,
    JobView,
    fit_columns,
    job_view,
    shorten_ids,
    write_capability_table,
    write_table,
)
from backupbridge.health import Health
from backupbridge.models import Device, DeviceStatus, Job, JobStatus, OSFamily
from backupbridge.plugins import list_vendors
from backupbridge.report import CompanySummary, ProblemRow, Report, render_table
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


NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
COMPANIES = ("Acme Dental", "Internationale Speditions- und Logistikgesellschaft mbH", "Müller GmbH", "日本 Holdings")
REASONS = (
    "last run failed: Unable to upload C:\\Users\\Public\\Documents\\ledger.xlsx: the network path was not found.",
    "no run since the one expected at 2026-11-01 21:00 UTC",
    "no success for 3 days (the newest success is older than --max-age 48h)",
    "finished with warnings: 3 files were skipped because they were in use",
)


def fixed_report() -> Report:
    """A report of made-up records: long and wide names, a long unbroken path, every health."""
    companies, problems = [], []
    healths = [h for h in Health if h is not Health.OK]
    for index, name in enumerate(COMPANIES):
        vendor, account = ("cleverfox", "sandbox-cleverfox") if index % 2 else ("managedbackup", "office-eu")
        counts = {h.value: (index + i) % 3 for i, h in enumerate(Health)}
        counts["ok"] = 7 + index
        companies.append(
            CompanySummary(
                vendor=vendor, account=account, company_id=str(index), company=name, devices=sum(counts.values()),
                counts=counts, last_success_at=NOW - dt.timedelta(hours=3 + index),
                oldest_last_success_at=NOW - dt.timedelta(days=2 + index, minutes=17),
            )
        )  # fmt: skip
        for item in range(index + 1):
            problems.append(
                ProblemRow(
                    vendor=vendor, account=account, company=name, device=f"{name[:4].upper()}-PRINT{item:02d}",
                    plan="Daily Documents" if item % 2 else "Weekly SQL Server full backup",
                    health=healths[(index + item) % len(healths)], reason=REASONS[(index + item) % len(REASONS)],
                    last_success_at=None if item == 2 else NOW - dt.timedelta(days=item + 1, hours=index),
                    last_run_at=NOW - dt.timedelta(hours=item),
                )
            )  # fmt: skip
    problems.sort(key=lambda p: (-p.health.rank, p.vendor, p.account, p.company, p.device or ""))
    return Report(generated_at=NOW, companies=tuple(companies), problems=tuple(problems), failures=())


@pytest.mark.parametrize("width", [80, 200])
def test_report_layout_snapshot(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    stream = io.StringIO()
    render_table(fixed_report(), stream)
    out = stream.getvalue()
    assert widest(out) <= width
    assert not re.search(r"\d\d:\d(?!\d)", out), "a time was cut"  # rich cuts a column it cannot fit
    for company in COMPANIES:  # whole words, wrapped at spaces at most
        assert set(company.split()) <= set(out.split())
    check_snapshot(f"report-{width}.txt", out)


@pytest.mark.parametrize("width", [80, 200])
def test_sandbox_report_fits(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    assert widest(run(capsys, monkeypatch, width, *REPORT)) <= width


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


def fixed_devices() -> list[Device]:
    devices = []
    for index in range(9):
        vendor, account = ("idrive360", "office-eu") if index < 5 else ("vprotect", "datacenter")
        devices.append(
            Device(
                vendor=vendor, account=account, id=f"{index:x}w1ld63cgzmqw4kndkkv7qh2la406twyqj9a3fvc8rip4wswity",
                name=f"{COMPANIES[index % 4][:4].upper()}-{('SQL', 'PRINT', 'FS')[index % 3]}{index:02d}",
                company_id=str(15020 + index % 3), os=OSFamily.WINDOWS if index % 2 else OSFamily.LINUX,
                status=DeviceStatus.ONLINE if index % 3 else DeviceStatus.OFFLINE,
                last_backup_status=JobStatus.SUCCESS if index % 4 else JobStatus.FAILED,
                last_backup_at=None if index == 3 else NOW - dt.timedelta(hours=index * 5),
            )
        )  # fmt: skip
    return devices


def fixed_jobs() -> list[JobView]:
    views = []
    devices = fixed_devices()
    for index in range(8):
        device = devices[index]
        job = Job(
            vendor=device.vendor, account=device.account, id=f"{device.id}:{index}", device_id=device.id,
            company_id=device.company_id, status=JobStatus.FAILED if index % 3 == 0 else JobStatus.SUCCESS,
            started_at=NOW - dt.timedelta(hours=index * 7), finished_at=NOW - dt.timedelta(hours=index * 7 - 1),
            error=REASONS[0] if index % 3 == 0 else None,
        )  # fmt: skip
        views.append(job_view(job, device, {"15020": COMPANIES[1], "15021": COMPANIES[2]}))
    return views


@pytest.mark.parametrize("width", [80, 200])
def test_listing_snapshots(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    for name, records in (("devices", fixed_devices()), ("jobs", fixed_jobs())):
        stream = io.StringIO()
        write_table(records, stream)
        assert widest(stream.getvalue()) <= width
        check_snapshot(f"{name}-{width}.txt", stream.getvalue())


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


@pytest.mark.parametrize("width", [80, 200])
def test_a_report_of_no_companies_renders(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    """Every account failed: no company, no problem; the table still says so instead of failing."""
    from backupbridge.bridge import AccountFailure
    from backupbridge.errors import AuthenticationError

    monkeypatch.setenv("COLUMNS", str(width))
    error = AuthenticationError("key refused", vendor="cleverfox", status_code=401)
    failure = AccountFailure(vendor="cleverfox", account="main", operation="snapshot", error=error)
    stream = io.StringIO()
    render_table(Report(generated_at=NOW, companies=(), problems=(), failures=(failure,)), stream)
    out = stream.getvalue()
    assert "No problems in the accounts that answered." in out and "account failed: cleverfox/main" in out
