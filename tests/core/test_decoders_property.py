"""Property: whatever JSON a vendor sends, an operation yields records or raises a typed error, never a
KeyError or TypeError from deep inside."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backupbridge
from backupbridge import BackupBridgeError
from backupbridge.http import RetryPolicy

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)
KEYS = st.sampled_from(
    [
        "data",
        "page_no",
        "page_size",
        "Count",
        "Computers",
        "guid",
        "name",
        "status",
        "type",
        "device_id",
        "company_id",
        "DeviceId",
        "CompanyId",
        "Name",
        "JobStatus",
        "LogId",
        "Status",
        "PlanId",
        "ComputerHID",
        "Id",
        "backupTime",
        "last_backup",
        "backup_status",
        "sub_company_list",
        "protectedEntity",
        "Apps",
        "TimeZoneId",
        "x",
    ]
) | st.text(max_size=6)
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6), max_leaves=25
)

LOGIN_ANSWERS = {
    "/Provider/Login": httpx.Response(200, json={"access_token": "prop-token-123456"}),
    "/session/login": httpx.Response(201, json={}, headers={"Set-Cookie": "JSESSIONID=prop-session-1234; Path=/"}),
}
CREDENTIALS: dict[str, dict[str, Any]] = {
    "idrive360": {"api_key": "prop-key-123456"},
    "cleverfox": {"api_key": "prop-key-123456"},
    "managedbackup": {"username": "u", "password": "prop-pass-123456"},
    "vprotect": {"login": "u", "password": "prop-pass-123456", "base_url": "https://vp.test:8181/api"},
}
OPERATIONS = ["list_companies", "list_devices", "list_plans", "list_jobs"]


def connection(vendor: str, body: Any) -> backupbridge.Connection:
    encoded = json.dumps(body).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        for suffix, answer in LOGIN_ANSWERS.items():
            if request.url.path.endswith(suffix):
                return answer
        return httpx.Response(200, content=encoded, headers={"content-type": "application/json", "X-Total-Count": "1"})

    return backupbridge.connect(
        vendor,
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=1),
        clock=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        **CREDENTIALS[vendor],
    )


@pytest.mark.parametrize("vendor", list(CREDENTIALS))
@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON)
def test_any_json_yields_records_or_a_typed_error(vendor: str, operation: str, body: Any) -> None:
    conn = connection(vendor, body)
    try:
        records = list(getattr(conn, operation)())
    except BackupBridgeError:
        return
    assert all(r.vendor == vendor and isinstance(r.id, str) for r in records)


@pytest.mark.parametrize("vendor", list(CREDENTIALS))
@settings(max_examples=25, deadline=None)
@given(body=JSON)
def test_any_error_body_yields_a_typed_error(vendor: str, body: Any) -> None:
    encoded = json.dumps(body).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        for suffix, answer in LOGIN_ANSWERS.items():
            if request.url.path.endswith(suffix):
                return answer
        return httpx.Response(400, content=encoded)

    conn = backupbridge.connect(
        vendor, transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=1), **CREDENTIALS[vendor]
    )
    with pytest.raises(backupbridge.APIError) as info:
        list(conn.list_devices())
    assert info.value.status_code == 400 and info.value.vendor == vendor
