"""CleverFox writes: checked before sending, duplicate-proof through Token, honest about what was applied."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import backupbridge
from backupbridge import ConflictError, NotFoundError, TransportError, ValidationError
from backupbridge.sandbox import FaultKind, Faults, SimulatorOptions, SimulatorTransport, connect_sandbox
from backupbridge_cleverfox import CleverFoxSimulator


@pytest.fixture
def offline(no_requests: httpx.MockTransport) -> backupbridge.Connection:
    return backupbridge.connect("cleverfox", api_key="k-1234567890", transport=no_requests)


def device(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"CompanyId": 1, "SubscriptionId": 1, "Name": "PC", "TimeZoneId": "UTC"}
    payload.update(changes)
    return payload


BAD: list[tuple[str, Callable[[Any], Any], str]] = [
    ("read-only DeviceId", lambda c: c.vendor.devices.create(device(DeviceId=5)), "DeviceId"),
    ("read-only ApiKey", lambda c: c.vendor.devices.create(device(ApiKey="x")), "ApiKey"),
    (
        "read-only LastApiCheckAt",
        lambda c: c.vendor.devices.update(1, {"LastApiCheckAt": "2026-01-01T00:00:00"}),
        "LastApiCheckAt",
    ),
    ("post-only CompanyId on PUT", lambda c: c.vendor.devices.update(1, {"CompanyId": 2}), "CompanyId"),
    ("missing Name", lambda c: c.vendor.devices.create(device(Name=None)), "Name"),
    (
        "missing TimeZoneId",
        lambda c: c.vendor.devices.create({"CompanyId": 1, "SubscriptionId": 1, "Name": "PC"}),
        "TimeZoneId",
    ),
    ("Name over 100", lambda c: c.vendor.devices.create(device(Name="x" * 101)), "Name"),
    ("TimeZoneId over 50", lambda c: c.vendor.devices.create(device(TimeZoneId="z" * 51)), "TimeZoneId"),
    ("ApplicationId over 25", lambda c: c.vendor.devices.create(device(ApplicationId="a" * 26)), "ApplicationId"),
    ("ExternalId over 100", lambda c: c.vendor.devices.create(device(ExternalId="e" * 101)), "ExternalId"),
    ("unknown attribute", lambda c: c.vendor.devices.create(device(Colour="red")), "Colour"),
    ("wrong type", lambda c: c.vendor.devices.create(device(IsInactive="no")), "IsInactive"),
    (
        "notify without address",
        lambda c: c.vendor.devices.create(device(SendNotificationOnJobFailed=True)),
        "SendNotificationTo",
    ),
    ("Token over 50", lambda c: c.vendor.devices.create(device(), token="t" * 51), "Token"),
    (
        "company StateProvidence over 50",
        lambda c: c.vendor.companies.create(
            {"PartnerId": 1, "PlanTypeId": 1, "Name": "A", "StateProvidence": "s" * 51}
        ),
        "StateProvidence",
    ),
    ("company missing PartnerId", lambda c: c.vendor.companies.create({"PlanTypeId": 1, "Name": "A"}), "PartnerId"),
    (
        "job Frequency",
        lambda c: c.vendor.jobs.create(
            {"DeviceId": 1, "Name": "J", "Frequency": "Yearly", "NextRunOn": "2026-01-01T00:00:00"}
        ),
        "Frequency",
    ),
    (
        "job LateAfter range",
        lambda c: c.vendor.jobs.create(
            {"DeviceId": 1, "Name": "J", "Frequency": "Daily", "NextRunOn": "2026-01-01T00:00:00", "LateAfter": 1440}
        ),
        "LateAfter",
    ),
    ("job Every range", lambda c: c.vendor.jobs.update(1, {"Every": 0}), "Every"),
    ("job keep range", lambda c: c.vendor.jobs.update(1, {"CloudKeepLast": 1000}), "CloudKeepLast"),
    ("job NextRunOn not a time", lambda c: c.vendor.jobs.update(1, {"NextRunOn": "tomorrow"}), "NextRunOn"),
    ("jobitem BaseFolder over 248", lambda c: c.vendor.job_items.update(1, {"BaseFolder": "C" * 249}), "BaseFolder"),
    ("jobitem auth mode", lambda c: c.vendor.job_items.update(1, {"AuthenticationMode": "K"}), "AuthenticationMode"),
    ("subscription read-only Status", lambda c: c.vendor.subscriptions.update(1, {"Status": "Active"}), "Status"),
    ("partner read-only PlanTypeId", lambda c: c.vendor.partners.update(1, {"PlanTypeId": 2}), "PlanTypeId"),
    ("id not a number", lambda c: c.vendor.devices.get("abc"), "DeviceId"),
    ("id zero", lambda c: c.vendor.devices.delete(0), "DeviceId"),
    ("page size", lambda c: c.vendor.devices.list(page_size=0), "page_size"),
    ("lookup empty", lambda c: c.vendor.devices.lookup(""), "ExternalId"),
    ("payload not a mapping", lambda c: c.vendor.devices.create(["Name"]), "payload"),
]


@pytest.mark.parametrize(("case", "call", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_writes_fail_before_any_request(
    offline: backupbridge.Connection, case: str, call: Callable[[Any], Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        call(offline)
    assert info.value.field == field


def test_the_docs_duplicate_prevention_example_is_refused_before_sending(offline: backupbridge.Connection) -> None:
    from .conftest import doc_example

    body = doc_example("company_create_request")
    with pytest.raises(ValidationError, match="PartnerId is required"):
        offline.vendor.companies.create(body)  # the docs' example sends PartnerId null, which POST requires


def _sim(**kwargs: Any) -> CleverFoxSimulator:
    return CleverFoxSimulator(SimulatorOptions(seed=2, size=8), **kwargs)


def _payload(sim: CleverFoxSimulator, external: str | None) -> dict[str, Any]:
    sub = next(iter(sim.tables["subscriptions"].values()))
    body = {
        "CompanyId": sub["CompanyId"],
        "SubscriptionId": sub["SubscriptionId"],
        "Name": "New PC",
        "TimeZoneId": "UTC",
    }
    if external:
        body["ExternalId"] = external
    return body


def test_simulator_refuses_a_repeated_token_for_60_minutes() -> None:
    sim = _sim()
    conn = connect_sandbox("cleverfox", simulator=sim)
    conn.vendor.devices.create(_payload(sim, "A-1"), token="same-token")
    with pytest.raises(ConflictError, match="duplicate") as info:
        conn.vendor.devices.create(_payload(sim, "A-2"), token="same-token")
    assert info.value.status_code == 409 and info.value.attempts == 1
    sim.clock.advance(dt.timedelta(minutes=61))
    conn.vendor.devices.create(_payload(sim, "A-3"), token="same-token")
    assert sum(1 for d in sim.tables["devices"].values() if d["Name"] == "New PC") == 2


@pytest.mark.parametrize("external", ["RMM-777", None])
def test_a_retried_create_never_duplicates(external: str | None) -> None:
    """The server applies the create, the connection dies, the client retries with the same Token."""
    sim = _sim()
    before = len(sim.tables["devices"])
    transport = SimulatorTransport(sim.handle, faults=Faults(rate=1.0, kinds=(FaultKind.RESET_AFTER_APPLY,)))
    faults_once = _FirstOnly(transport)
    conn = backupbridge.connect("cleverfox", transport=faults_once, clock=sim.now, **sim.credentials)
    if external:
        created = conn.vendor.devices.create(_payload(sim, external))
        assert created.external_id == external and created.device_id in sim.tables["devices"]
    else:
        with pytest.raises(ConflictError, match="first create attempt was applied"):
            conn.vendor.devices.create(_payload(sim, external))
    assert len(sim.tables["devices"]) == before + 1, "applied exactly once"
    assert faults_once.calls == (3 if external else 2)  # create, retried create (409), then the lookup


def test_a_retried_update_returns_the_applied_record() -> None:
    sim = _sim()
    device_id = next(iter(sim.tables["devices"]))
    transport = _FirstOnly(
        SimulatorTransport(sim.handle, faults=Faults(rate=1.0, kinds=(FaultKind.RESET_AFTER_APPLY,)))
    )
    conn = backupbridge.connect("cleverfox", transport=transport, **sim.credentials)
    updated = conn.vendor.devices.update(device_id, {"Name": "Renamed"})
    assert updated.name == "Renamed"


def test_a_create_that_never_arrived_is_simply_retried() -> None:
    sim = _sim()
    before = len(sim.tables["devices"])
    transport = _FirstOnly(SimulatorTransport(sim.handle, faults=Faults(rate=1.0, kinds=(FaultKind.SERVER_ERROR,))))
    conn = backupbridge.connect("cleverfox", transport=transport, **sim.credentials)
    created = conn.vendor.devices.create(_payload(sim, "RMM-888"))
    assert created.device_id is not None and len(sim.tables["devices"]) == before + 1


def test_a_retried_delete_that_worked_the_first_time_succeeds() -> None:
    sim = _sim()
    device_id = next(iter(sim.tables["devices"]))
    transport = _FirstOnly(
        SimulatorTransport(sim.handle, faults=Faults(rate=1.0, kinds=(FaultKind.RESET_AFTER_APPLY,)))
    )
    conn = backupbridge.connect("cleverfox", transport=transport, **sim.credentials)
    conn.vendor.devices.delete(device_id)
    assert device_id not in sim.tables["devices"]
    with pytest.raises(NotFoundError):
        conn.vendor.devices.delete(device_id)  # a first-attempt 404 is still an error


def test_execute_get_next_job_is_not_retried() -> None:
    sim = _sim()
    device_id = next(iter(sim.tables["devices"]))
    transport = _FirstOnly(
        SimulatorTransport(sim.handle, faults=Faults(rate=1.0, kinds=(FaultKind.RESET_AFTER_APPLY,)))
    )
    conn = backupbridge.connect("cleverfox", transport=transport, **sim.credentials)
    with pytest.raises(TransportError) as info:
        conn.vendor.devices.execute_get_next_job(device_id)
    assert info.value.may_have_been_applied is None and sim.get_next_job_requests == [device_id]


class _FirstOnly(httpx.BaseTransport):
    """Injects the wrapped transport's fault on the first request only; later ones pass clean."""

    def __init__(self, faulty: SimulatorTransport) -> None:
        self.faulty = faulty
        self.clean = SimulatorTransport(faulty._handle)
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return (self.faulty if self.calls == 1 else self.clean).handle_request(request)


def test_missing_basic_auth_is_401() -> None:
    sim = _sim()
    response = sim.handle(httpx.Request("GET", "https://cleverfoxbackup.com/api/devices"))
    assert response.status_code == 401 and "denied" in response.json()["Message"]
    conn = backupbridge.connect("cleverfox", api_key="wrong-key-123", transport=SimulatorTransport(sim.handle))
    with pytest.raises(backupbridge.AuthenticationError) as info:
        list(conn.list_devices())
    assert "wrong-key-123" not in str(info.value)


def test_form_bodies_are_refused_by_the_simulator() -> None:
    sim = _sim()
    import base64

    auth = "Basic " + base64.b64encode(f"{sim.api_key}:".encode()).decode()
    response = sim.handle(
        httpx.Request(
            "POST", "https://cleverfoxbackup.com/api/devices", headers={"Authorization": auth}, data={"Name": "x"}
        )
    )
    assert response.status_code == 415


def test_server_side_validation_names_the_fields() -> None:
    sim = _sim()
    import base64

    auth = "Basic " + base64.b64encode(f"{sim.api_key}:".encode()).decode()
    response = sim.handle(
        httpx.Request(
            "POST",
            "https://cleverfoxbackup.com/api/devices",
            headers={"Authorization": auth},
            json={"Name": "x" * 120, "DeviceId": 3},
        )
    )
    body = response.json()
    assert response.status_code == 400
    assert {"device.Name", "device.DeviceId", "device.CompanyId", "device.TimeZoneId"} <= set(body["ModelState"])
    conn = connect_sandbox("cleverfox", simulator=sim)
    error = backupbridge.InvalidRequestError
    with pytest.raises(error) as info:  # a write the client cannot pre-check: a company that does not exist
        conn.vendor.devices.create({"CompanyId": 999, "SubscriptionId": 1, "Name": "PC", "TimeZoneId": "UTC"})
    assert info.value.field == "CompanyId"
