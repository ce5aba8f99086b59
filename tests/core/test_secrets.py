"""The API key appears in no repr, log line, exception or output, whatever happens."""

from __future__ import annotations

import logging

import httpx
import pytest

import backupbridge
from backupbridge.http import RetryPolicy
from backupbridge.redaction import redact, register_secret
from backupbridge.sandbox import SimulatorTransport
from backupbridge_idrive360 import IDrive360Simulator

KEY = "idr-live-key-7c1e9a55f0d24b8e"


def test_key_is_absent_from_reprs_logs_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sim = IDrive360Simulator(api_key=KEY)
    conn = backupbridge.connect("idrive360", api_key=KEY, transport=SimulatorTransport(sim.handle))
    list(conn.list_devices())
    seen = [repr(conn), repr(conn.vendor), repr(conn._session.client.auth), str(conn._session.client.auth)]
    with pytest.raises(backupbridge.NotFoundError) as info:
        conn.get_device("nope")
    seen += [str(info.value), repr(info.value), str(info.value.__dict__)]
    assert all(KEY not in text for text in seen)
    assert KEY not in caplog.text
    assert "GET https://api.idrive360.com/api/msp/device/summary -> 200" in caplog.text


def test_a_vendor_echoing_the_key_in_its_error_is_redacted() -> None:
    body = {
        "ok": False,
        "type": "invalid_request",
        "errors": [{"type": "invalid_request", "message": f"bad key {KEY}"}],
    }
    transport = httpx.MockTransport(lambda r: httpx.Response(400, json=body))
    conn = backupbridge.connect("idrive360", api_key=KEY, transport=transport, retry=RetryPolicy(attempts=1))
    with pytest.raises(backupbridge.InvalidRequestError) as info:
        conn.vendor.company_summary()
    assert KEY not in str(info.value) and KEY not in (info.value.vendor_message or "")
    assert KEY not in str(info.value.errors)


def test_transport_errors_mentioning_the_key_are_redacted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy said: {request.headers['authorization']}")

    conn = backupbridge.connect(
        "idrive360", api_key=KEY, transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=1)
    )
    with pytest.raises(backupbridge.TransportError) as info:
        conn.vendor.company_summary()
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abc.def.ghi",
        "authorization: Basic dXNlcjpwYXNz",
        '{"access_token": "tok-123", "x": 1}',
        '{"Password": "hunter2"}',
    ],
)
def test_credential_shapes_are_redacted_even_unregistered(text: str) -> None:
    cleaned = redact(text)
    for secret in ("abc.def.ghi", "dXNlcjpwYXNz", "tok-123", "hunter2"):
        assert secret not in cleaned


def test_registered_secret_is_redacted_anywhere() -> None:
    register_secret("s3cr3t-value-xyz")
    assert redact("url?key=s3cr3t-value-xyz&x=1") == "url?key=***&x=1"
