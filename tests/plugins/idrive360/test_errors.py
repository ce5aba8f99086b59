"""Every error type in the IDrive 360 docs' table, mapped onto the error tree with errors[] kept."""

from __future__ import annotations

import httpx
import pytest

import backupbridge
from backupbridge import (
    APIError,
    AuthenticationError,
    ConflictError,
    DecodingError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)
from backupbridge.http import RetryPolicy
from backupbridge_idrive360 import IDrive360Simulator

# (error type, base error type, status code) exactly as the docs' "Error Types" table lists them.
DOC_TABLE = [
    ("missing_authorization_header", "authentication_failed", 401, AuthenticationError),
    ("malformed_authorization_header", "authentication_failed", 401, AuthenticationError),
    ("admin_company_not_active", "invalid_state", 400, PermissionDeniedError),
    ("admin_not_active", "invalid_state", 400, PermissionDeniedError),
    ("insufficient_privileges", "authentication_failed", 401, PermissionDeniedError),
    ("access_restricted", "invalid_request", 400, PermissionDeniedError),
    ("processing_fault", "processing_fault", 500, ServerError),
    ("internal_error", "internal_error", 500, ServerError),
    ("entity_creation_failed", "internal_error", 500, ServerError),
    ("entity_not_found", "entity_not_found", 400, NotFoundError),
    ("invalid_request", "invalid_request", 400, InvalidRequestError),
    ("invalid_parameter", "invalid_parameter", 400, InvalidRequestError),
    ("same_state", "same_state", 400, ConflictError),
    ("dependency_exception", "dependency_exception", 429, RateLimitedError),
]
FIELDS = [
    "device_id",
    "company_id",
    "notification_server",
    "emails",
    "backup_set",
    "backup_policy",
    "backup_policy_schedule",
    "status",
    "name",
]


def answering(status: int, body: object) -> backupbridge.Connection:
    transport = httpx.MockTransport(lambda r: httpx.Response(status, json=body))
    return backupbridge.connect("idrive360", api_key="k-1234567890", transport=transport, retry=RetryPolicy(attempts=1))


@pytest.mark.parametrize(("error_type", "base_type", "status", "expected"), DOC_TABLE)
@pytest.mark.parametrize("field", FIELDS[:3])
def test_every_documented_error_type(
    error_type: str, base_type: str, status: int, expected: type[APIError], field: str
) -> None:
    body = {
        "ok": False,
        "type": base_type,
        "message": "top level",
        "code": status,
        "errors": [{"type": error_type, "field": field, "message": f"{error_type} happened"}],
    }
    with answering(status, body) as conn, pytest.raises(expected) as info:
        conn.vendor.company_summary()
    error = info.value
    assert (error.status_code, error.vendor_code, error.field) == (status, error_type, field)
    assert error.vendor_message == f"{error_type} happened"
    assert error.errors[0].type == error_type and error.errors[0].field == field
    assert error.vendor == "idrive360" and error.operation == "company_summary"


@pytest.mark.parametrize("field", FIELDS)
def test_every_documented_error_field_is_carried(field: str) -> None:
    body = {
        "ok": False,
        "type": "invalid_parameter",
        "errors": [{"type": "invalid_parameter", "field": field, "message": "m"}],
    }
    with answering(400, body) as conn, pytest.raises(InvalidRequestError) as info:
        list(conn.vendor.device_summary())
    assert info.value.field == field


def test_base_type_decides_when_there_are_no_inner_errors() -> None:
    with (
        answering(400, {"ok": False, "type": "same_state", "message": "already"}) as conn,
        pytest.raises(ConflictError) as info,
    ):
        conn.vendor.company_summary()
    assert info.value.vendor_code == "same_state"
    assert info.value.vendor_message == "already"
    assert info.value.errors == ()


def test_several_inner_errors_are_all_kept() -> None:
    body = {
        "ok": False,
        "type": "invalid_parameter",
        "errors": [
            {"type": "invalid_parameter", "field": "name", "message": "a"},
            {"type": "invalid_parameter", "field": "emails", "message": "b"},
        ],
    }
    with answering(400, body) as conn, pytest.raises(InvalidRequestError) as info:
        conn.vendor.company_summary()
    assert [e.field for e in info.value.errors] == ["name", "emails"]


def test_unknown_error_type_falls_back_to_the_status() -> None:
    with answering(403, {"ok": False, "type": "brand_new_type"}) as conn, pytest.raises(PermissionDeniedError) as info:
        conn.vendor.company_summary()
    assert info.value.vendor_code == "brand_new_type"


def test_html_error_page_still_typed_by_status() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(502, html="<html>Bad Gateway</html>"))
    conn = backupbridge.connect("idrive360", api_key="k-1234567890", transport=transport, retry=RetryPolicy(attempts=1))
    with pytest.raises(ServerError) as info:
        conn.vendor.company_summary()
    assert info.value.status_code == 502


def test_the_docs_error_example_decodes() -> None:
    from .conftest import doc_example

    with answering(400, doc_example("error_entity_not_found")) as conn, pytest.raises(NotFoundError) as info:
        list(conn.list_devices())
    assert info.value.field == "device_id"
    assert isinstance(info.value, LookupError)


@pytest.mark.parametrize(
    ("header", "inner"),
    [
        (None, "missing_authorization_header"),
        ("Token abc", "malformed_authorization_header"),
        ("Bearer", "malformed_authorization_header"),
        ("Bearer wrong-key-123", "authentication_failed"),
    ],
)
def test_simulator_auth_errors(header: str | None, inner: str) -> None:
    sim = IDrive360Simulator()
    headers = {"Authorization": header} if header else {}
    response = sim.handle(httpx.Request("GET", "https://api.idrive360.com/api/msp/company", headers=headers))
    body = response.json()
    assert response.status_code == 401
    assert body["type"] == "authentication_failed" and body["ok"] is False and body["code"] == 401
    assert body["errors"][0]["type"] == inner


def test_a_wrong_key_against_the_simulator_is_an_authentication_error() -> None:
    from backupbridge.sandbox import SimulatorTransport

    sim = IDrive360Simulator()
    conn = backupbridge.connect("idrive360", api_key="not-the-key", transport=SimulatorTransport(sim.handle))
    with pytest.raises(AuthenticationError) as info:
        list(conn.list_devices())
    assert "not-the-key" not in str(info.value) and "not-the-key" not in repr(info.value)


@pytest.mark.parametrize(
    "body",
    [
        b'[{"device_id": 5, "last_backup": "not a date"}]',
        b'{"unexpected": "object"}',
        b'[{"name": "no id"}]',
        b"[1, 2]",
    ],
)
def test_garbled_device_summary_is_a_decoding_error(body: bytes) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    conn = backupbridge.connect("idrive360", api_key="k-1234567890", transport=transport)
    with pytest.raises(DecodingError) as info:
        list(conn.list_devices())
    assert info.value.endpoint == "GET /device/summary"
    assert info.value.excerpt


def test_processing_fault_from_the_simulator_for_bad_json() -> None:
    sim = IDrive360Simulator()
    response = sim.handle(
        httpx.Request(
            "POST",
            "https://api.idrive360.com/api/msp/company",
            headers={"Authorization": f"Bearer {sim.api_key}"},
            content=b"{nope",
        )
    )
    assert response.status_code == 500 and response.json()["type"] == "processing_fault"
