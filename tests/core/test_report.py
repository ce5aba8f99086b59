"""Every report format; the HTML parsed and its numbers checked against the JSON."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

import pytest

from backupbridge.bridge import Bridge
from backupbridge.health import Health, assess
from backupbridge.report import HEALTHS, RENDERERS, Report, build_report


@pytest.fixture(scope="module")
def report() -> Report:
    with Bridge.sandbox(size=24, seed=5) as bridge:
        snap = bridge.snapshot()
    result = assess(snap.devices, snap.plans, snap.jobs, now=snap.clocks, timezones=snap.timezones)
    return build_report(snap, result, generated_at=max(snap.clocks.values()))


def render(report: Report, fmt: str) -> str:
    stream = io.StringIO()
    RENDERERS[fmt](report, stream)
    return stream.getvalue()


def test_summary_covers_every_device_and_problem(report: Report) -> None:
    assert sum(c.devices for c in report.companies) == sum(report.totals.values()) > 0
    assert {p.health for p in report.problems} >= {Health.FAILED, Health.MISSED, Health.OVERDUE, Health.WARNING}
    assert all(p.health is not Health.OK for p in report.problems)
    assert [p.health.rank for p in report.problems] == sorted((p.health.rank for p in report.problems), reverse=True)


def test_json(report: Report) -> None:
    data = json.loads(render(report, "json"))
    assert data["totals"] == report.totals and len(data["problems"]) == len(report.problems)
    assert {"company", "devices", "counts", "last_success_at", "oldest_last_success_at"} <= set(data["companies"][0])


def test_ndjson(report: Report) -> None:
    rows = [json.loads(line) for line in render(report, "ndjson").splitlines()]
    assert sum(r["kind"] == "company" for r in rows) == len(report.companies)
    assert sum(r["kind"] == "problem" for r in rows) == len(report.problems)


def test_csv(report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert len(rows) == len(report.problems) and {r["health"] for r in rows} == {
        p.health.value for p in report.problems
    }


def test_table(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    text = render(report, "table")  # off a terminal: as wide as the contents, a line per row
    assert "Backup health" in text and f"{len(report.problems)} problems" in text
    lines = text.splitlines()
    for c in report.companies:
        assert f"{c.vendor} / {c.account}" in text
        row = next(line for line in lines if line.startswith(c.company + " "))
        cells = row[len(c.company) :].split()
        assert cells[: 1 + len(HEALTHS)] == [str(c.devices), *(str(c.counts[h.value]) for h in HEALTHS)]
    # Off a terminal lines are bounded (160 columns): a long reason wraps under itself, the problems are grouped
    # under a heading naming the company and its account.
    flat = " ".join(text.split())
    for p in report.problems:
        assert " ".join(p.reason.split()) in flat and f"{p.company}  {p.vendor} / {p.account}" in text, p


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_table_fits_the_terminal_without_cutting_headers(
    report: Report, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    text = render(report, "table")
    assert max(len(line.rstrip()) for line in text.splitlines()) <= columns
    assert "…" not in text  # rich marks a cut cell with an ellipsis: nothing is cut, only wrapped
    headers = ("dev", "warn", "never", "oldest ok") if columns < 100 else ("devices", "warning", "never", "oldest")
    assert all(h in text for h in headers)
    assert ("dev = devices" in text) == (columns < 100)


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.cells: list[tuple[dict[str, str | None], str]] = []
        self.charts: list[dict[str, str | None]] = []
        self.problems: list[str] = []
        self.external: list[str] = []
        self._cell: dict[str, str | None] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "link", "img", "iframe") or any(
            (v or "").startswith(("http://", "https://")) for v in a.values()
        ):
            self.external.append(tag)
        if tag == "tr" and "data-company" in a:
            self.rows.append({k: v or "" for k, v in a.items()})
            self.cells = []
        if tag == "tr" and a.get("class") == "problem":
            self.problems.append(a.get("data-health") or "")
        if tag == "td":
            self._cell, self._text = a, ""
        if tag == "svg":
            self.charts.append(a)

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            if self._cell.get("data-health") or self._cell.get("data-field"):
                self.rows[-1][f"cell:{self._cell.get('data-health') or self._cell.get('data-field')}"] = self._text
            self._cell = None


def test_html_is_self_contained_and_matches_the_json(report: Report) -> None:
    page = Collect()
    page.feed(render(report, "html"))
    data = json.loads(render(report, "json"))
    assert page.external == [], "no network: no scripts, stylesheets, images or external links"
    assert len(page.rows) == len(data["companies"]) == len(page.charts)
    for row, company, chart in zip(page.rows, data["companies"], page.charts, strict=True):
        assert row["data-company"] == company["company"] and row["data-vendor"] == company["vendor"]
        assert int(row["cell:devices"]) == company["devices"] == int(chart["data-devices"] or 0)
        for health, count in company["counts"].items():
            assert int(row[f"cell:{health}"]) == count
            assert int(chart[f"data-{health.replace('_', '-')}"] or 0) == count
    assert page.problems == [p["health"] for p in data["problems"]]


def test_html_escapes_vendor_text(report: Report) -> None:
    import attrs

    evil = attrs.evolve(report, problems=(attrs.evolve(report.problems[0], reason="<script>alert(1)</script>"),))
    assert "<script>" not in render(evil, "html")


MARKUP_LIKE = "SRV [/eu] [bold]Ltd[/bold] \\[x]"


def test_table_prints_vendor_text_as_it_is(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    """Names and reasons come from vendors; rich markup in them is text, never styling or a crash."""
    import attrs

    monkeypatch.delenv("COLUMNS", raising=False)
    odd = attrs.evolve(
        report,
        companies=(attrs.evolve(report.companies[0], company=MARKUP_LIKE), *report.companies[1:]),
        problems=(attrs.evolve(report.problems[0], reason=MARKUP_LIKE, device=MARKUP_LIKE), *report.problems[1:]),
    )
    text = render(odd, "table")
    assert text.count(MARKUP_LIKE) >= 3


def test_table_with_failed_accounts_does_not_say_no_problems(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    import attrs

    from backupbridge import TransportError
    from backupbridge.bridge import AccountFailure

    monkeypatch.delenv("COLUMNS", raising=False)
    error = TransportError("no response to GET /company [/x]", vendor="idrive360")
    failures = tuple(
        AccountFailure(vendor="idrive360", account="down", operation=op, error=error)
        for op in ("list_companies", "list_jobs")
    )
    text = render(attrs.evolve(report, problems=(), failures=failures), "table")
    assert "No problems in the accounts that answered." in text and "\nNo problems.\n" not in text
    lines = text.splitlines()
    start = lines.index("account failed: idrive360/down")
    assert [line.split(":")[0].strip() for line in lines[start + 1 : start + 3]] == ["list_companies", "list_jobs"]
    assert all("GET /company [/x]" in line for line in lines[start + 1 : start + 3])
    assert "No problems.\n" in render(attrs.evolve(report, problems=(), failures=()), "table")
