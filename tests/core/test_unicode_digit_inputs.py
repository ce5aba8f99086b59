"""Text that str.isdigit() accepts but int() refuses ("\u00b2") or that int() reads as a number no client sends
(Arabic-Indic digits, 5000 digits) never crashes a receiver or a width setting (the simulators' own
cases are in their plugins' tests)."""

from __future__ import annotations

import io

import httpx
import pytest

from backupbridge.exporters import PLAIN_WIDTH, output_width
from backupbridge.sinks import verify_signature
from backupbridge.sinks.webhook import sign

ODD = ["\u00b2", "\u0661\u0662", "9" * 5000, "\uff11"]


@pytest.mark.parametrize("stamp", ODD)
def test_a_webhook_receiver_refuses_an_odd_timestamp_without_raising(stamp: str) -> None:
    body = b"{}"
    headers = {"X-Backupbridge-Timestamp": stamp, "X-Backupbridge-Signature": "sha256=00"}
    assert verify_signature("k", headers, body) is False


def test_a_good_signature_still_verifies() -> None:
    headers = {"X-Backupbridge-Timestamp": "1700000000", "X-Backupbridge-Signature": sign("k", 1700000000, b"{}")}
    assert verify_signature("k", headers, b"{}", now=1700000000) is True


@pytest.mark.parametrize("columns", ODD)
def test_an_odd_columns_setting_is_ignored(columns: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    assert output_width(io.StringIO()) == PLAIN_WIDTH


@pytest.mark.parametrize("text", ODD)
def test_a_paging_fault_reads_odd_page_numbers_as_no_page(text: str) -> None:
    from backupbridge.plugin import PageShape, SimRequest

    def request(query: dict[str, str], path: dict[str, str] | None = None) -> SimRequest:
        return SimRequest("GET", "/x", httpx.QueryParams(query), httpx.Headers(), b"", path or {})

    by_query = PageShape(page="page", size="size", first=1)
    assert by_query.position(request({"page": "2", "size": "5"})) == (1, 5)
    assert by_query.position(request({"page": text, "size": "5"})) is None
    assert by_query.position(request({"page": "2", "size": text})) is None
    by_path = PageShape(offset="offset", count="count")
    assert by_path.position(request({}, {"offset": "10", "count": "5"})) == (2, 5)
    assert by_path.position(request({}, {"offset": text, "count": "5"})) is None
