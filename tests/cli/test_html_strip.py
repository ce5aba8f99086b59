"""The HTML report with the store's history: a strip of each device's last days and a compliance figure per
company, inline SVG (no network, no script), with a text alternative, laid out at 360, 1366 and 1920 px in
headless Chromium like the rest of the page, its colours in the tested palette. Without a history the page
is as before (tests/cli/test_html_browser.py)."""

from __future__ import annotations

import datetime as dt
import html as html_module
import json
import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from backupbridge.bridge import Bridge, Snapshot
from backupbridge.health import HealthPolicy, assess
from backupbridge.report import Report, build_report, html_contrast_pairs
from backupbridge.sandbox import connect_sandbox, sandbox_tenants
from backupbridge.store import Store, open_store, record_snapshot
from backupbridge.store.history import ReportHistory, report_history

from .test_html_browser import MEASURE, WIDTHS, Structure, chromium, framed, needs_chromium, page

DAYS = 3


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path_factory.mktemp('strip') / 'history.sqlite3'}") as opened:
        yield opened


@pytest.fixture(scope="module")
def recorded(store: Store) -> tuple[Snapshot, list[tuple[str, str]]]:
    """Three sandbox days (every vendor, 40 devices each) recorded a simulated day apart; the last snapshot."""
    tenants = sandbox_tenants(size=40)
    bridge = Bridge([connect_sandbox(vendor, simulator=sim, account=account) for vendor, account, sim in tenants])
    snap = Snapshot()
    for day in range(DAYS):
        if day:
            for _, _, sim in tenants:
                sim.clock.advance(dt.timedelta(days=1))  # type: ignore[attr-defined]
        snap = bridge.snapshot(since=None)
        record_snapshot(store, snap, dt.datetime.now(dt.UTC))
    return snap, bridge.accounts


@pytest.fixture(scope="module")
def report(store: Store, recorded: tuple[Snapshot, list[tuple[str, str]]]) -> Report:
    snap, accounts = recorded
    assessment = assess(
        snap.devices,
        snap.plans,
        snap.jobs,
        now=snap.clocks,
        policy=HealthPolicy(),
        timezones=snap.timezones,
        incomplete=snap.incomplete,
    )
    result = build_report(snap, assessment, generated_at=max(snap.clocks.values()))
    strips = report_history(store, accounts, days=30, devices={(d.vendor, d.account, d.id) for d in snap.devices})
    long_name = "Internationale Speditions- und Logistikgesellschaft mbH"
    company = attrs.evolve(result.companies[0], company=long_name)
    return attrs.evolve(result, companies=(company, *result.companies[1:]), history=strips)


def _history(report: Report) -> ReportHistory:
    assert report.history is not None
    return report.history


def test_the_history_holds_a_strip_per_device_and_compliance_per_company(
    report: Report, recorded: tuple[Snapshot, list[tuple[str, str]]]
) -> None:
    history = _history(report)
    assert set(history.devices) == {(d.vendor, d.account, d.id) for d in recorded[0].devices}
    assert all(len(strip.days) == 30 for strip in history.devices.values())
    # "No result" only on the three days a collect listed the runs; days before come from the vendors' own
    # history of runs (a result) or are unknown.
    for strip in history.devices.values():
        collected = {d.day for d in strip.days[-DAYS:]}
        assert {d.day for d in strip.days if d.status.value == "no-result"} <= collected
    assert any(d.status.value == "no-result" for s in history.devices.values() for d in s.days)
    assert history.compliance and all(c.device_days <= 3 * 40 for c in history.compliance.values())


def test_the_page_shows_a_strip_per_device_with_a_text_alternative(report: Report) -> None:
    html = page(report)
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    parsed = Structure()
    parsed.feed(html)
    strips = [a for t, a in parsed.tags if t == "svg" and a.get("class") == "strip"]
    rows = [a for t, a in parsed.tags if t == "tr" and "data-device" in a]
    assert len(strips) == len(rows) == len(_history(report).devices) > 0
    for svg in strips:
        assert svg.get("role") == "img"
        label = svg.get("aria-label") or ""
        assert re.search(r"\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d: \d+ ", label), label
    assert all(a.get("tabindex") == "0" for a in rows)
    # Every strip's days, counted in its data- attributes, add up to the window.
    for svg in strips:
        counted = sum(int(v or 0) for k, v in svg.items() if k.startswith("data-") and k != "data-days")
        assert counted == int(svg["data-days"] or 0) == 30
    # The shared day marks each strip uses are defined once in the page.
    uses = {a.get("href") for t, a in parsed.tags if t == "use"}
    ids = {a.get("id") for _, a in parsed.tags}
    assert uses and all(u and u[1:] in ids for u in uses)
    assert sum(t == "caption" for t, _ in parsed.tags) == sum(t == "table" for t, _ in parsed.tags) == 3


def test_each_company_row_has_its_compliance(report: Report) -> None:
    parsed = Structure()
    parsed.feed(page(report))
    cells = [a for t, a in parsed.tags if t == "td" and a.get("data-field") == "compliance"]
    assert len(cells) == len(report.companies)
    judged = [a for a in cells if "data-device-days" in a]
    assert judged
    for cell in judged:
        assert 0 <= int(cell["data-device-days-ok"] or 0) <= int(cell["data-device-days"] or 0)
    html = page(report)
    assert "compliance, 30 days" in html and 'href="#history-heading"' in html


def test_without_history_the_page_has_no_strip_and_no_compliance(report: Report) -> None:
    html = page(attrs.evolve(report, history=None))
    assert 'class="strip"' not in html and 'data-field="compliance"' not in html and "history-heading" not in html
    empty = page(attrs.evolve(report, history=ReportHistory(days=30)))
    assert 'class="strip"' not in empty and "history-heading" not in empty


def test_a_strip_day_is_one_bar_per_run_of_equal_days_and_each_has_a_title() -> None:
    from backupbridge.report import _strip
    from backupbridge.store import DayResult, DayStatus, EntityHistory, Scope

    start = dt.date(2026, 11, 1)
    statuses = [DayStatus.UNKNOWN, DayStatus.SUCCESS, DayStatus.SUCCESS, DayStatus.FAILURE, DayStatus.NO_RESULT]
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    entity = EntityHistory(
        kind=Scope.DEVICE, vendor="v", account="a", id="d1", name="SRV <01>", company_id="c1", names=("SRV <01>",),
        first_seen=at, last_seen=at,
        days=tuple(DayResult(day=start + dt.timedelta(days=i), status=s) for i, s in enumerate(statuses)),
        status=DayStatus.NO_RESULT, days_in_status=1, days_since_result=1, days_since_success=2, success_rate=2 / 3,
    )  # fmt: skip
    svg = _strip("SRV <01>", entity)
    assert svg.count("<rect") == 4
    assert "<title>2026-11-02 to 2026-11-03: success</title>" in svg
    assert 'aria-label="SRV &lt;01&gt;, 2026-11-01 to 2026-11-05: 1 unknown, 2 success, 1 failure, 1 no result; ' in svg
    assert "now no result for 1 day" in svg and "<01>" not in svg


def test_every_colour_of_the_strip_is_in_the_tested_palette(report: Report) -> None:
    tested = {c for _, fg, bg in html_contrast_pairs() for c in (fg, bg)}
    used = set(re.findall(r"#[0-9a-f]{6}\b", page(report)))
    assert used <= tested | {"#d0d4da"}, used - tested


@needs_chromium
@pytest.mark.parametrize("width", WIDTHS)
def test_the_report_with_strips_fits_the_window_at_every_width(report: Report, tmp_path: Path, width: int) -> None:
    measure = MEASURE.replace(
        "rows: document",
        'strips: Array.prototype.map.call(document.querySelectorAll("svg.strip"), function (s) {\n'
        "      return s.getBoundingClientRect().width; }),\n    rows: document",
    )
    target = tmp_path / "report.html"
    target.write_text(framed(page(report).replace("</body>", measure + "</body>"), width, 1000), encoding="utf-8")
    done = chromium(tmp_path, width, 1000, "--dump-dom", target.as_uri())
    match = re.search(r'<pre id="measurements">(.*?)</pre>', done.stdout, flags=re.DOTALL)
    assert match, f"Chromium gave no measurements (rc {done.returncode}): {done.stderr[-500:]}"
    measured = json.loads(html_module.unescape(match.group(1)))
    assert measured["width"] == width
    assert measured["scrollWidth"] <= width, "the page scrolls sideways"
    assert measured["problems"] == []
    assert measured["strips"] and min(measured["strips"]) >= 60  # every strip readable, none squeezed away
    assert measured["rows"] == len(report.companies) + len(report.problems) + len(_history(report).devices)


@needs_chromium
def test_the_report_with_strips_prints(report: Report, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text(page(report), encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    done = chromium(tmp_path, 1366, 1000, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", target.as_uri())
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF"), done.stderr[-500:]
