"""Property: whatever JSON a vendor sends, an operation yields records or raises a typed error, never a
KeyError, TypeError, OverflowError or ValueError from deep inside; and a value in a field the mapping does
not read never changes (or fails) what the mapping builds."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backupbridge
from backupbridge import BackupBridgeError, DecodingError
from backupbridge.convert import (
    USED,
    WIRE,
    decode,
    make_converter,
    parse_duration,
    parse_timestamp,
    pascal_case,
    used,
)
from backupbridge.http import RetryPolicy

HUGE = st.sampled_from([10**18, -(10**18), 2**63, 2**64 + 1, 10**30, -(10**40), 10**99, 1e300, -1e300, 1e-300])
REAL_SHAPES = st.sampled_from(
    [
        "PT1H",
        "P1DT2H",
        "01:02:03",
        "1.02:03:04",
        "15 second(s)",
        "12",
        "12.0",
        "-3",
        12.0,
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59.9999999",
        "2025-03-19T10:26:47.703",
        "2018-05-11T14:50:57Z",
        "",
        " ",
        {"name": "SUCCESS", "description": "Success"},
        {"guid": "f8f73bf9-2445-4bce-a7dd-753be3b40a67", "name": "Entity name"},
        ["MON", "TUE"],
        "Eastern Standard Time",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | HUGE
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | REAL_SHAPES
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
        "snapshotTime",
        "LateAfter",
        "Duration",
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
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6), max_leaves=30
)


def _nest(value: Any, depth: int, as_list: bool) -> Any:
    for _ in range(depth):
        value = [value] if as_list else {"data": value}
    return value


DEEP = st.builds(_nest, JSON, st.integers(min_value=20, max_value=300), st.booleans())
ANY_JSON = JSON | DEEP

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
CLOCK = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def connect(vendor: str, handler: Callable[[httpx.Request], httpx.Response]) -> backupbridge.Connection:
    def answer(request: httpx.Request) -> httpx.Response:
        for suffix, login in LOGIN_ANSWERS.items():
            if request.url.path.endswith(suffix):
                return login
        return handler(request)

    return backupbridge.connect(
        vendor,
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(attempts=1),
        clock=lambda: CLOCK,
        **CREDENTIALS[vendor],
    )


def connection(vendor: str, body: Any) -> backupbridge.Connection:
    encoded = json.dumps(body).encode()
    return connect(
        vendor,
        lambda request: httpx.Response(
            200, content=encoded, headers={"content-type": "application/json", "X-Total-Count": "1"}
        ),
    )


def outcome(conn: backupbridge.Connection, operation: str) -> list[Any] | BackupBridgeError:
    """The records of a listing, or the typed error it raised (anything else fails the test)."""
    try:
        return list(getattr(conn, operation)())
    except BackupBridgeError as exc:
        return exc


def check_records(vendor: str, result: list[Any] | BackupBridgeError) -> None:
    if isinstance(result, BackupBridgeError):
        return
    assert all(r.vendor == vendor and isinstance(r.id, str) and r.id.strip() for r in result)
    assert all(r.id != "None" for r in result)


@pytest.mark.parametrize("vendor", list(CREDENTIALS))
@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=ANY_JSON)
def test_any_json_yields_records_or_a_typed_error(vendor: str, operation: str, body: Any) -> None:
    check_records(vendor, outcome(connection(vendor, body), operation))


@pytest.mark.parametrize("vendor", list(CREDENTIALS))
@settings(max_examples=25, deadline=None)
@given(body=ANY_JSON)
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


# -- record-shaped answers: every field of a well-formed row replaced by any JSON -------------------------

# One row per vendor that every listing endpoint of the vendor can read: the keys of each record the four
# listings decode, with valid values (a key another record does not know lands in its ``extra``).
ROWS: dict[str, dict[str, Any]] = {
    "cleverfox": {
        "CompanyId": 1,
        "DeviceId": 2,
        "JobId": 3,
        "LogId": 4,
        "Name": "Daily Backup",
        "IsInactive": False,
        "TimeZoneId": "Eastern Standard Time",
        "LastApiCheckAt": "2025-12-31T23:30:00.000",
        "ExternalId": "ext-1",
        "SendNotificationTo": "a@b.test",
        "SendNotificationOnJobFailed": True,
        "Device": {"DeviceId": 2, "CompanyId": 1, "TimeZoneId": "Eastern Standard Time", "Company": None},
        "Company": {"CompanyId": 1, "Name": "ABC", "Partner": None},
        "Subscription": {"SubscriptionId": 1, "Status": "Active"},
        "Frequency": "Weekly",
        "NextRunOn": "2026-01-02T00:00:00.000",
        "LastRanOn": "2025-12-26T00:00:00.000",
        "LateAfter": 240,
        "Every": 1,
        "OnMonday": True,
        "DayOfMonth": 1,
        "CloudKeepLast": 30,
        "LocalKeepLast": 1,
        "JobItems": [{"JobItemId": 1, "Name": "Docs", "BaseFolder": "C:\\Docs", "BackupType": {"EngineType": "File"}}],
        "JobStartedOn": "2025-12-31T00:00:00.000",
        "JobCompletedOn": "2025-12-31T00:05:00.000",
        "JobStatus": "Completed",
        "ErrorMessages": "",
        "LogItems": [{"LogItemId": 1, "BackupFileSize": 1024, "BackupListCount": 3, "BackupListSize": 10}],
        "AddedOn": "2015-01-01T00:00:00.000",
        "Token": None,
    },
    "idrive360": {
        "company_id": 15020,
        "name": "default",
        "status": 1,
        "status_description": "Active",
        "configuration_id": "ATVAWQ17242",
        "device_id": "wvlgllxuuaomn4bk4atfljznjyvsfhfeo5g6wgyart3osefi",
        "os": "linux",
        "version": "1.0.21",
        "backup_status": "Success",
        "last_backup": "2025-06-11T11:12:58.000",
        "next_backup": None,
        "custom_tag": " ",
        "group_name": "Linux",
        "backup_id": "679251",
        "is_backup_enabled": True,
        "backup_details": {"what_to_backup": "ENTIRE_MACHINE", "where_to_backup": "CLOUD"},
        "schedule_info": {"frequency_type": "DAILY", "time": "16:45:00", "email": "mark@idrive.com"},
        "devices": [{"device_id": "hflafghwiv", "company_id": "51324"}],
        "exclude_system": True,
        "cdp_enabled": False,
    },
    "managedbackup": {
        "Id": "0b9d6c57-1f7e-4a3b-9d53-5f3c2b1a0e9d",
        "Name": "Acme",
        "StorageLimit": -1,
        "LicenseSettings": 1,
        "ComputerHID": "{5d1a2b3c-4d5e-6f70-8a9b-0c1d2e3f4a5b}",
        "ComputerName": "FILESRV01",
        "CompanyName": "Acme",
        "UserID": "4cf3cfbb-2c87-402d-b034-142db02bdb28",
        "OSTypeString": "Windows",
        "LastActivity": "2025-03-19T10:26:47.703",
        "Apps": [{"ApplicationId": "backup", "Version": "7.9", "Online": True}],
        "BackupStats": {"PlansCount": 1},
        "Type": 1,
        "IsEnabled": True,
        "PlanId": "b7e1c1c4-0d7a-4a39-9a53-6f7f1b1c2d3e",
        "PlanName": "Files",
        "LastStart": "2025-03-19T10:26:47.703",
        "Status": 2,
        "ErrorMessage": "Access denied",
        "Duration": "00:01:05",
        "DataCopied": 1048576,
        "FilesCopied": 10,
        "TotalData": 4194304,
        "PlanType": 3,
    },
    "vprotect": {
        "guid": "0e5f1f4c-4a3e-4d8b-9b1e-2a6c7d8e9f01",
        "name": "vm-1",
        "present": True,
        "backupUpToDate": True,
        "hvType": {"name": "KVM", "description": "KVM"},
        "project": {"guid": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "name": "tenant"},
        "vmBackupPolicy": {"guid": "0e5f1f4c-4a3e-4d8b-9b1e-2a6c7d8e9f01", "name": "gold"},
        "active": True,
        "priority": 50,
        "rules": [],
        "backupTime": 1451677502000,
        "snapshotTime": 1451649601000,
        "status": {"name": "SUCCESS", "description": "Success"},
        "type": {"name": "FULL", "description": "Full"},
        "size": 12345,
        "protectedEntity": {"guid": "0e5f1f4c-4a3e-4d8b-9b1e-2a6c7d8e9f01", "name": "vm-1"},
        "state": {"name": "FINISHED", "description": "Finished"},
        "windowStart": 1451649601000,
        "archiveExpire": 12345,
        "taskTimeStats": {"exportTime": 12345},
        "description": "...",
    },
}


def reply(body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    # json.dumps, not httpx's json=: Python's decoder reads the Infinity that a hostile server may send.
    return httpx.Response(
        200, content=json.dumps(body).encode(), headers={"content-type": "application/json", **(headers or {})}
    )


def listing(vendor: str, rows: list[dict[str, Any]]) -> backupbridge.Connection:
    """Every listing endpoint of ``vendor`` answers ``rows`` in its own envelope, on one complete page."""

    def handler(request: httpx.Request) -> httpx.Response:
        params, path = request.url.params, request.url.path
        if vendor == "cleverfox":
            number = int(params.get("PageNo", "1"))
            size = int(params.get("PageSize", "100"))
            return reply({"data": rows if number == 1 else [], "page_no": number, "page_size": size})
        if vendor == "idrive360":
            return reply(rows[0] if path.endswith("/company") and rows else rows)
        if vendor == "managedbackup" and "/Computers/" in path and path.rstrip("/").split("/")[-2].isdigit():
            first = path.rstrip("/").split("/")[-2] == "0"
            page = rows if first else []
            return reply({"Count": len(rows), "Message": "Success", "StatusCode": 200, "Computers": page})
        first = params.get("page", "0") == "0"
        return reply(rows if first else [], {"X-Total-Count": str(len(rows))})

    return connect(vendor, handler)


@pytest.mark.parametrize("vendor", list(ROWS))
@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_well_formed_row_gives_records(vendor: str, operation: str) -> None:
    result = outcome(listing(vendor, [ROWS[vendor]]), operation)
    assert not isinstance(result, BackupBridgeError), result
    check_records(vendor, result)


@pytest.mark.parametrize("vendor", list(ROWS))
@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_value_in_any_field_yields_records_or_a_decoding_error(vendor: str, operation: str, data: Any) -> None:
    row = copy.deepcopy(ROWS[vendor])
    for key in data.draw(st.lists(st.sampled_from(sorted(row)), max_size=4, unique=True)):
        row[key] = data.draw(ANY_JSON)
    result = outcome(listing(vendor, [row]), operation)
    assert not isinstance(result, BackupBridgeError) or isinstance(result, DecodingError), result
    check_records(vendor, result)


def _lenient_keys(vendor: str) -> list[str]:
    """Keys of the row that no record of the vendor reads strictly: the mapping never uses them."""
    from backupbridge_cleverfox import records as cleverfox
    from backupbridge_idrive360 import records as idrive
    from backupbridge_managedbackup import records as managed
    from backupbridge_vprotect import records as vprotect

    module = {"cleverfox": cleverfox, "idrive360": idrive, "managedbackup": managed, "vprotect": vprotect}[vendor]
    rename = pascal_case if vendor in ("cleverfox", "managedbackup") else (lambda name: name)
    strict: set[str] = set()
    for cls in vars(module).values():
        if isinstance(cls, type) and attrs.has(cls):
            for a in attrs.fields(cls):
                if a.metadata.get(USED) or a.default is attrs.NOTHING:
                    strict.add(str(a.metadata.get(WIRE) or rename(a.name)))
    return sorted(set(ROWS[vendor]) - strict)


@pytest.mark.parametrize("vendor", list(ROWS))
def test_the_rows_have_fields_the_mappings_do_not_read(vendor: str) -> None:
    assert len(_lenient_keys(vendor)) >= 3


@pytest.mark.parametrize("vendor", list(ROWS))
@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_field_the_mapping_does_not_read_never_changes_or_fails_a_record(
    vendor: str, operation: str, data: Any
) -> None:
    baseline = outcome(listing(vendor, [ROWS[vendor]]), operation)
    row = copy.deepcopy(ROWS[vendor])
    for key in data.draw(st.lists(st.sampled_from(_lenient_keys(vendor)), min_size=1, max_size=4, unique=True)):
        row[key] = data.draw(ANY_JSON)
    assert outcome(listing(vendor, [row]), operation) == baseline


# -- the shared hooks ------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Sample:
    sample_id: str
    count: int | None = used()
    ratio: float | None = used()
    seen_at: dt.datetime | None = used()
    note: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


strict = make_converter()
lenient = make_converter(lenient_unused=True)


@settings(max_examples=200, deadline=None)
@given(value=ANY_JSON)
def test_any_value_in_a_typed_field_decodes_or_is_a_decoding_error(value: Any) -> None:
    for field in ("sample_id", "count", "ratio", "seen_at", "note"):
        for conv in (strict, lenient):
            try:
                decode(conv, list[Sample], [{"sample_id": "1", field: value}], endpoint="GET /s", vendor="v")
            except DecodingError:
                pass
    assert decode(lenient, Sample, {"sample_id": "1", "note": value}, endpoint="GET /s", vendor="v").sample_id == "1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12, 12), (12.0, 12), ("12", 12), ("12.0", 12), (" -3 ", -3), (2**63 - 1, 2**63 - 1)],
)
def test_integers_in_every_real_shape(value: object, expected: int) -> None:
    assert decode(strict, Sample, {"sample_id": "1", "count": value}, endpoint="e", vendor="v").count == expected


@pytest.mark.parametrize("value", [2**63, -(2**63), 10**18 * 10**3, 1e19, 12.5, "12.5", "1e3", float("inf"), True])
def test_integers_out_of_range_or_not_integral_are_decoding_errors(value: object) -> None:
    with pytest.raises(DecodingError, match="count"):
        decode(lenient, Sample, {"sample_id": "1", "count": value}, endpoint="GET /s", vendor="v")


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), "nan", "1e999"])
def test_floats_must_be_finite(value: object) -> None:
    with pytest.raises(DecodingError, match="ratio"):
        decode(lenient, Sample, {"sample_id": "1", "ratio": value}, endpoint="GET /s", vendor="v")


def test_ids_sent_as_decimals_keep_their_text() -> None:
    assert decode(strict, Sample, {"sample_id": 15020.0}, endpoint="e", vendor="v").sample_id == "15020"
    assert decode(strict, Sample, {"sample_id": 1.5}, endpoint="e", vendor="v").sample_id == "1.5"


@pytest.mark.parametrize("text", ["0005-01-01T00:00:00", "9500-01-01T00:00:00", "1899-12-31T23:59:59+00:00"])
def test_timestamps_out_of_range_are_decoding_errors(text: str) -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_timestamp(text)
    with pytest.raises(DecodingError, match="seen_at"):
        decode(lenient, Sample, {"sample_id": "1", "seen_at": text}, endpoint="GET /s", vendor="v")


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00", "9999-12-31T23:59:59.9999999"])
def test_dotnet_no_date_is_no_date(text: str) -> None:
    assert decode(strict, Sample, {"sample_id": "1", "seen_at": text}, endpoint="e", vendor="v").seen_at is None


def test_an_unused_field_that_cannot_be_read_stays_in_raw_only_when_lenient() -> None:
    row = {"sample_id": "1", "note": {"not": "text"}}
    assert decode(lenient, Sample, row, endpoint="e", vendor="v").note is None
    with pytest.raises(DecodingError):
        decode(strict, Sample, row, endpoint="e", vendor="v")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("15 second(s)", 15),
        ("1 hour(s) 5 minute(s)", 3900),
        ("2 minutes, 3 seconds", 123),
        ("00:00:15", 15),
        ("01:02:03.5", 3723.5),
        ("1.02:03:04", 93784),
        ("PT1H", 3600),
        ("PT1H30M", 5400),
        ("P1DT2H", 93600),
        ("PT15.5S", 15.5),
        (15, 15),
        (15.5, 15.5),
        ("15", 15),
        ("15.25", 15.25),
    ],
)
def test_durations_in_every_real_shape(value: object, seconds: float) -> None:
    parsed = parse_duration(value)
    assert parsed is not None and parsed.total_seconds() == seconds


@pytest.mark.parametrize("value", ["soon", "P", "PT", "-5", -5, 10**18, 1e300, "99999999999 second(s)", "5 parsecs"])
def test_durations_in_no_shape_or_out_of_range_raise_value_error(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


@settings(max_examples=200, deadline=None)
@given(value=ANY_JSON)
def test_any_duration_parses_or_raises_value_or_type_error(value: Any) -> None:
    try:
        parsed = parse_duration(value)
    except (ValueError, TypeError):
        return
    assert parsed is None or dt.timedelta(0) <= parsed <= dt.timedelta(days=36525)
