"""Login, token expiry and the one re-login; the destructive-call guard; bad input before any request."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import backupbridge
from backupbridge import AuthenticationError, ValidationError
from backupbridge.sandbox import SimulatorTransport, connect_sandbox, connect_sandbox_async
from backupbridge_managedbackup import ManagedBackupSimulator
from backupbridge_managedbackup.simulator import SANDBOX_PASSWORD


def test_logs_in_once_and_reuses_the_token(sim: ManagedBackupSimulator) -> None:
    conn = connect_sandbox("managedbackup", simulator=sim)
    list(conn.vendor.users.list())
    list(conn.vendor.companies.list())
    assert sim.logins == 1
    assert conn.transport.requests == 3  # login + two calls


def test_an_expired_token_triggers_exactly_one_relogin(sim: ManagedBackupSimulator) -> None:
    conn = connect_sandbox("managedbackup", simulator=sim)
    list(conn.vendor.users.list())
    sim.clock.advance(dt.timedelta(days=15))  # the token expires after two weeks
    assert len(list(conn.vendor.users.list())) == len(sim.users)
    assert sim.logins == 2
    assert conn.transport.requests == 5  # login, call, refused call, login, call again


def test_async_shares_the_login_flow(sim: ManagedBackupSimulator) -> None:
    async def main() -> int:
        async with connect_sandbox_async("managedbackup", simulator=sim) as conn:
            await conn.vendor.companies.get(next(iter(sim.companies)))
            sim.clock.advance(dt.timedelta(days=15))
            return len([u async for u in conn.vendor.users.list()])

    assert asyncio.run(main()) == len(sim.users)
    assert sim.logins == 2


def test_a_token_still_refused_after_relogin_is_an_authentication_error(sim: ManagedBackupSimulator) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Provider/Login"):
            return sim.handle(request)
        return httpx.Response(401, json={"Message": "Authorization has been denied for this request."})

    conn = backupbridge.connect("managedbackup", transport=httpx.MockTransport(handler), **sim.credentials)
    with pytest.raises(AuthenticationError):
        list(conn.vendor.users.list())
    assert sim.logins == 2


def test_a_wrong_password_never_shows_up(sim: ManagedBackupSimulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-password-4711"
    conn = backupbridge.connect(
        "managedbackup", username=sim.credentials["username"], password=wrong, transport=SimulatorTransport(sim.handle)
    )
    with pytest.raises(AuthenticationError) as info:
        list(conn.list_companies())
    assert info.value.status_code == 403
    for text in (str(info.value), repr(info.value), caplog.text, repr(conn), repr(conn._session.client.auth)):
        assert wrong not in text and SANDBOX_PASSWORD not in text


def test_the_token_is_redacted_from_logs(sim: ManagedBackupSimulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    conn = connect_sandbox("managedbackup", simulator=sim)
    list(conn.vendor.users.list())
    token = next(iter(sim.tokens))
    assert token not in caplog.text


def test_password_length_is_checked_before_any_request(no_requests: httpx.MockTransport) -> None:
    with pytest.raises(ValidationError) as info:
        backupbridge.connect("managedbackup", username="u", password="ab", transport=no_requests)
    assert info.value.field == "password"


@pytest.fixture
def offline(no_requests: httpx.MockTransport) -> backupbridge.Connection:
    return backupbridge.connect("managedbackup", username="u", password="secret-pw", transport=no_requests)


USER = "10ce439b-7bec-4208-a116-4e0236085f87"
BAD: list[tuple[str, Callable[[Any], Any], str]] = [
    ("delete user without consent", lambda c: c.vendor.users.delete(USER), "delete_backup_data"),
    (
        "delete user with a truthy string",
        lambda c: c.vendor.users.delete(USER, delete_backup_data="yes"),
        "delete_backup_data",
    ),
    ("delete computers without consent", lambda c: c.vendor.users.delete_computers(USER), "delete_backup_data"),
    ("user id not a GUID", lambda c: c.vendor.users.get("bob"), "user_id"),
    ("company id not a GUID", lambda c: c.vendor.companies.get("42"), "company_id"),
    ("package id", lambda c: c.vendor.packages.get("one"), "package_id"),
    ("create user without email", lambda c: c.vendor.users.create({"Password": "x"}), "Email"),
    ("create company without name", lambda c: c.vendor.companies.create({}), "Name"),
    ("payload not a mapping", lambda c: c.vendor.companies.update("Id"), "payload"),
    ("computers count", lambda c: c.vendor.computers.list(count=0), "count"),
    ("start mode", lambda c: c.vendor.computers.start_plan("h", USER, mode=-1), "mode"),
    ("stop force", lambda c: c.vendor.computers.stop_plan("h", USER, force="yes"), "force"),
    ("plan id", lambda c: c.vendor.computers.plan("h", "p1"), "plan_id"),
    ("hid", lambda c: c.vendor.computers.get("  "), "hid"),
    ("licenses flag", lambda c: c.vendor.licenses.list(is_available="true"), "is_available"),
    ("grant without user", lambda c: c.vendor.licenses.grant({"LicenseID": USER}), "UserID"),
    ("destinations email", lambda c: c.vendor.destinations.for_user("not-an-email"), "user_email"),
    ("neutral company id", lambda c: c.get_company("acme"), "company_id"),
    ("neutral plan id", lambda c: c.get_plan("42"), "plan_id"),
    ("neutral jobs since", lambda c: c.list_jobs(since=dt.datetime(2026, 1, 1)), "since"),
    ("neutral parent", lambda c: c.create_company("x", parent_id=USER), "parent_id"),
]


@pytest.mark.parametrize(("case", "call", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_calls_fail_before_any_request(
    offline: backupbridge.Connection, case: str, call: Callable[[Any], Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        call(offline)
    assert info.value.field == field


def test_the_guard_explains_the_difference(offline: backupbridge.Connection) -> None:
    with pytest.raises(ValidationError, match="delete_account"):
        offline.vendor.users.delete(USER)


def test_unsupported_operations_name_the_vendor(offline: backupbridge.Connection) -> None:
    from backupbridge import DeviceSpec, Notification, UnsupportedOperationError

    with pytest.raises(UnsupportedOperationError, match="managedbackup does not support create_plan"):
        offline.create_plan(None)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedOperationError):
        offline.create_device(DeviceSpec(name="x", company_id=USER))
    with pytest.raises(UnsupportedOperationError):
        offline.set_notifications("h", Notification())


# Whole-number arguments (package ids, the start mode): ASCII digits only, at most a 64-bit value. Was:
# ``str.isdigit`` accepted "²" and other Unicode digits, so ``int()`` raised a bare ValueError (and 5000 nines
# hit Python's digit limit the same way) instead of the typed argument error.
NOT_WHOLE_NUMBERS: list[object] = [
    "\u00b2",  # superscript two: isdigit() is True, int() fails
    "1\u00b2",
    "\u0661\u0660\u0660",  # Arabic-Indic 100: int() would read it as 100 and send non-ASCII in the path
    "\uff15",  # fullwidth 5
    "9" * 5000,  # beyond int()'s default digit limit
    str(2**63),  # wider than the API's 64-bit integers
    2**63,
    " 5",
    "+5",
    "-1",
    "",
    "1.0",
    True,
    1.0,
    None,
]
NUMBER_CALLS: list[tuple[str, Callable[[Any, object], Any], str]] = [
    ("packages.get", lambda c, v: c.vendor.packages.get(v), "package_id"),
    ("packages.delete", lambda c, v: c.vendor.packages.delete(v), "package_id"),
    ("computers.start_plan", lambda c, v: c.vendor.computers.start_plan("h", USER, mode=v), "mode"),
]


@pytest.mark.parametrize("value", NOT_WHOLE_NUMBERS, ids=lambda v: ascii(v)[:24])
@pytest.mark.parametrize(("operation", "call", "field"), NUMBER_CALLS, ids=[c[0] for c in NUMBER_CALLS])
def test_a_number_argument_that_is_not_ascii_digits_is_a_typed_error_before_any_request(
    offline: backupbridge.Connection, operation: str, call: Callable[[Any, object], Any], field: str, value: object
) -> None:
    with pytest.raises(ValidationError) as info:
        call(offline, value)
    assert (info.value.field, info.value.vendor, info.value.operation) == (field, "managedbackup", operation)


@pytest.mark.parametrize(("value", "expected"), [("7", 7), ("0042", 42), (0, 0), (str(2**63 - 1), 2**63 - 1)])
def test_whole_numbers_in_ascii_digits_are_still_accepted(value: object, expected: int) -> None:
    from backupbridge_managedbackup.client import number

    assert number(value, "packages.get", "package_id") == expected
