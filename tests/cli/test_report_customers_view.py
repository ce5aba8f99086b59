"""Issue 16: the report's table and HTML show the customer where one is mapped (a per-customer table over
its companies in every vendor, and each company and problem labelled), and look as before where none is."""

from __future__ import annotations

import html.parser
import json
from pathlib import Path

import pytest

from backupbridge.cli import main

VP = "vprotect/sandbox-vprotect/e3e70682-c209-4cac-629f-6fbed82c07cd"
IDR = "idrive360/sandbox-idrive360/15021"


def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[customers.acme-architects]\ncompanies = ["{IDR}", "{VP}"]\n')
    return path


def report(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str, *extra: str) -> str:
    args = ["report", "--sandbox", "--size", "10", "--no-alerts", "--format", fmt, "--vendor", "vprotect"]
    code = main([*args, "--vendor", "idrive360", *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


class Cells(html.parser.HTMLParser):
    """Each table's rows as (attributes of the row, the text of each cell)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[dict[str, str | None], list[str]]]] = {}
        self.heads: dict[str, list[str]] = {}
        self._table = ""
        self._in_head = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table], self.heads[self._table] = [], []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self.tables[self._table].append((dict(attrs), []))
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            (self.heads[self._table] if self._in_head else self.tables[self._table][-1][1]).append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_html_has_a_customer_table_and_labels_companies_and_problems(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cfg = config(tmp_path)
    page = Cells()
    page.feed(report(capsys, tmp_path, "html", "--config", str(cfg)))
    data = json.loads(report(capsys, tmp_path, "json", "--config", str(cfg)))
    (acme,) = data["customers"]
    ((attrs, cells),) = page.tables["customers"]
    assert attrs["data-customer"] == "acme-architects" and cells[0] == "acme-architects"
    assert cells[1] == str(acme["devices"]) and sorted(cells[-1].split(", ")) == sorted([IDR, VP])
    assert page.heads["companies"][:3] == ["company", "customer", "account"]
    mapped = [cells for attrs, cells in page.tables["companies"] if attrs.get("data-customer") == "acme-architects"]
    assert len(mapped) == 2 and all(cells[1] == "acme-architects" for cells in mapped)
    others = [cells for attrs, cells in page.tables["companies"] if "data-customer" not in attrs]
    assert others and all(cells[1] == "" for cells in others)  # no customer: an empty cell, never a guess
    assert page.heads["problems"][:4] == ["health", "company", "customer", "account"]
    labelled = [cells for attrs, cells in page.tables["problems"] if attrs.get("data-customer") == "acme-architects"]
    expected = [p for p in data["problems"] if p["customer"] == "acme-architects"]
    assert labelled and len(labelled) == len(expected)
    assert all(len(cells) == len(page.heads["problems"]) for _, cells in page.tables["problems"])


def test_html_without_a_mapping_has_no_customer_column(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    page = Cells()
    page.feed(report(capsys, tmp_path, "html"))
    assert "customers" not in page.tables and "customer" not in page.heads["companies"]
    assert "customer" not in page.heads["problems"]


def test_the_table_totals_each_customer_and_labels_its_companies_and_problems(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    cfg = config(tmp_path)
    out = report(capsys, tmp_path, "table", "--config", str(cfg))
    data = json.loads(report(capsys, tmp_path, "json", "--config", str(cfg)))
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.strip() == "customers"))
    row = next(line for line in lines[start:] if line.split() and line.split()[0] == "acme-architects")
    assert str(data["customers"][0]["devices"]) in row.split() and IDR in row
    mapped = {c["company"] for c in data["companies"] if c["customer"] == "acme-architects"}
    for company in mapped:
        assert any(company in line and "(acme-architects)" in line for line in lines), company
    problem_companies = {p["company"] for p in data["problems"] if p["customer"] == "acme-architects"}
    assert problem_companies
    for company in problem_companies:
        assert any(line.startswith(company) and "customer acme-architects" in line for line in lines), company


def test_the_table_without_a_mapping_shows_no_customers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = report(capsys, tmp_path, "table")
    assert "customers" not in out.split() and "customer " not in out
