"""Session login and re-login, TLS options, self-hosted base URL, and bad input before any request."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import backupbridge
from backupbridge import AuthenticationError, ConfigurationError, ValidationError
from backupbridge.connection import InsecureTransportWarning
from backupbridge.sandbox import SimulatorTransport, connect_sandbox
from backupbridge_vprotect import VProtectSimulator
from backupbridge_vprotect.simulator import SANDBOX_PASSWORD


def test_logs_in_once_then_uses_the_cookie(sim: VProtectSimulator) -> None:
    conn = connect_sandbox("vprotect", simulator=sim)
    list(conn.vendor.hypervisors.list())
    list(conn.vendor.virtual_machines.list())
    assert sim.logins == 1 and conn.transport.requests == 3


def test_an_expired_session_logs_in_once_more(sim: VProtectSimulator) -> None:
    conn = connect_sandbox("vprotect", simulator=sim)
    list(conn.vendor.hypervisors.list())
    sim.clock.advance(dt.timedelta(hours=1))  # idle past the session lifetime
    assert len(list(conn.vendor.hypervisors.list())) == 2
    assert sim.logins == 2


def test_a_refused_login_is_an_authentication_error(sim: VProtectSimulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    conn = backupbridge.connect(
        "vprotect",
        base_url=sim.base_url,
        login="admin",
        password="wrong-password-99",
        transport=SimulatorTransport(sim.handle),
    )
    with pytest.raises(AuthenticationError) as info:
        list(conn.list_devices())
    for text in (str(info.value), repr(info.value), caplog.text):
        assert "wrong-password-99" not in text and SANDBOX_PASSWORD not in text


def test_the_session_cookie_never_reaches_a_log(sim: VProtectSimulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    conn = connect_sandbox("vprotect", simulator=sim)
    list(conn.vendor.hypervisors.list())
    cookie = next(iter(sim.sessions))
    assert cookie not in caplog.text


def test_base_url_is_required_for_a_self_hosted_product(no_requests: httpx.MockTransport) -> None:
    with pytest.raises(ConfigurationError, match="base_url is required"):
        backupbridge.connect("vprotect", login="a", password="b-123456", transport=no_requests)


def test_plain_http_to_a_remote_server_is_refused(no_requests: httpx.MockTransport) -> None:
    with pytest.raises(ConfigurationError, match="plain http"):
        backupbridge.connect(
            "vprotect",
            base_url="http://backup.example.com:8080/api",
            login="a",
            password="b-123456",
            transport=no_requests,
        )


def test_turning_tls_verification_off_is_loud(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.warns(InsecureTransportWarning, match="verification is OFF"):
        backupbridge.connect(
            "vprotect", base_url="https://vprotect.lan:8181/api", login="a", password="b-123456", verify=False
        )
    assert "verification is OFF" in caplog.text


def test_a_ca_bundle_path_must_exist(tmp_path: Any) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        backupbridge.connect(
            "vprotect",
            base_url="https://vprotect.lan:8181/api",
            login="a",
            password="b-123456",
            verify=str(tmp_path / "missing.pem"),
        )


def test_a_ca_bundle_path_is_used(tmp_path: Any) -> None:
    import certifi

    conn = backupbridge.connect(
        "vprotect", base_url="https://vprotect.lan:8181/api", login="a", password="b-123456", verify=certifi.where()
    )
    assert conn.vendor_name == "vprotect"


@pytest.fixture
def offline(no_requests: httpx.MockTransport) -> backupbridge.Connection:
    return backupbridge.connect(
        "vprotect", base_url="https://vprotect.lan:8181/api", login="a", password="b-123456", transport=no_requests
    )


BAD: list[tuple[str, Callable[[Any], Any], str]] = [
    ("status", lambda c: c.vendor.backups.list(status="DONE"), "status"),
    ("status in a list", lambda c: c.vendor.backups.list(status=["SUCCESS", "OK"]), "status"),
    ("type", lambda c: c.vendor.backups.list(type="DIFFERENTIAL"), "type"),
    ("entity type", lambda c: c.vendor.backups.detailed(protected_entity_type="CONTAINER"), "protected-entity-type"),
    ("direction", lambda c: c.vendor.backups.grouped(direction="up"), "direction"),
    ("boolean", lambda c: c.vendor.backups.list(only_mountable="yes"), "only-mountable"),
    ("naive since", lambda c: c.vendor.backups.list(since=dt.datetime(2026, 1, 1)), "from"),
    ("from after to", lambda c: c.vendor.backups.list(since=2000, until=1000), "from"),
    ("negative page", lambda c: c.vendor.backups.list(page=-1), "page"),
    ("zero size", lambda c: c.vendor.backups.list(size=0), "size"),
    ("unknown filter", lambda c: c.vendor.backups.list(colour="red"), "colour"),
    ("stats filter", lambda c: c.vendor.backups.aggregated_statistics(status="NOPE"), "status"),
    ("empty guid", lambda c: c.vendor.backups.get(""), "guid"),
    ("guid with a slash", lambda c: c.vendor.backups.get("a/b"), "guid"),
    ("description type", lambda c: c.vendor.backups.set_description("g", 5), "description"),
    ("warnings as a string", lambda c: c.vendor.backups.set_warnings("g", "oops"), "warnings"),
    ("acknowledge flag", lambda c: c.vendor.backups.acknowledge_warnings("g", "yes"), "acknowledged"),
    ("empty batch", lambda c: c.vendor.backups.acknowledge_warnings_batch([]), "backup_guids"),
    ("task type", lambda c: c.vendor.backups.transfer_rate("BACKUP"), "task-type"),
    ("timeline type", lambda c: c.vendor.backups.timeline_size_stats("DISK", "g"), "type"),
    ("policy kind", lambda c: c.vendor.policies.list("db-backup"), "kind"),
    ("policy without name", lambda c: c.vendor.policies.create({}), "name"),
    ("schedule without execution", lambda c: c.vendor.schedules.create({"name": "x"}), "name"),
    ("task state", lambda c: c.vendor.tasks.list(state="DONE"), "state"),
    ("export without entities", lambda c: c.vendor.tasks.export([], "d"), "protected_entities"),
    ("neutral since", lambda c: c.list_jobs(since=dt.datetime(2026, 1, 1)), "since"),
]


@pytest.mark.parametrize(("case", "call", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_fails_before_any_request(
    offline: backupbridge.Connection, case: str, call: Callable[[Any], Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        call(offline)
    assert info.value.field == field


def test_a_listing_that_does_not_reach_its_total_raises(sim: VProtectSimulator) -> None:
    from backupbridge import DecodingError
    from backupbridge.sandbox import json_response

    def short(request: httpx.Request) -> httpx.Response:
        response = sim.handle(request)
        if request.url.path.endswith("/backups") and request.method == "GET":
            total = int(response.headers["X-Total-Count"]) + 3  # the server claims three it never sends
            return json_response(200, response.json(), {"X-Total-Count": str(total)})
        return response

    conn = backupbridge.connect("vprotect", transport=SimulatorTransport(short), **sim.credentials)
    with pytest.raises(DecodingError, match="incomplete"):
        list(conn.vendor.backups.list(size=10))
