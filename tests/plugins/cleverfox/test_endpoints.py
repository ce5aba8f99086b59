"""Every documented CleverFox resource and operation against the simulator, sync and async."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from backupbridge import NotFoundError
from backupbridge_cleverfox import CleverFoxSimulator
from backupbridge_cleverfox.records import DeviceRecord, JobRecord, LogRecord

from ..conftest import Runner

LISTS = [
    ("devices", "devices", "device_id"),
    ("companies", "companies", "company_id"),
    ("company_users", "companyusers", "company_user_id"),
    ("subscriptions", "subscriptions", "subscription_id"),
    ("jobs", "jobs", "job_id"),
    ("job_items", "jobitems", "job_item_id"),
    ("logs", "logs", "log_id"),
    ("log_items", "logitems", "log_item_id"),
    ("plans", "plans", "plan_id"),
    ("partners", "partners", "partner_id"),
    ("partner_users", "partnerusers", "partner_user_id"),
    ("events", "events", "event_id"),
    ("plan_types", "plantypes", "plan_type_id"),
    ("backup_types", "backuptypes", "backup_type_id"),
]


@pytest.mark.parametrize(("attr", "table", "id_attr"), LISTS)
def test_list_and_get_every_resource(run: Runner, sim: CleverFoxSimulator, attr: str, table: str, id_attr: str) -> None:
    records = run(lambda c: getattr(c.vendor, attr).list(page_size=7))
    ids = [getattr(r, id_attr) for r in records]
    assert sorted(ids) == sorted(sim.tables[table]), "every record, across pages of 7"
    assert ids == sorted(ids, reverse=True), "newest first, as the docs say"
    one = run(lambda c: getattr(c.vendor, attr).get(ids[-1]))
    assert getattr(one, id_attr) == ids[-1]
    with pytest.raises(NotFoundError) as info:
        run(lambda c: getattr(c.vendor, attr).get(999_999))
    # The message names the resource as its id field does ("No Company was found with CompanyId 999999.").
    id_field = "".join(part.capitalize() for part in id_attr.split("_"))
    assert info.value.vendor_message == f"No {id_field.removesuffix('Id')} was found with {id_field} 999999."


def test_time_zones_list(run: Runner) -> None:
    zones = run(lambda c: c.vendor.time_zones.list())
    names = {z.time_zone_id for z in zones}
    assert {"Eastern Standard Time", "W. Europe Standard Time", "UTC"} <= names


def test_records_embed_one_level(run: Runner) -> None:
    device = run(lambda c: c.vendor.devices.list())[0]
    assert isinstance(device, DeviceRecord)
    assert device.company is not None and device.company.partner is None  # grandchild null, as in the docs
    job = run(lambda c: c.vendor.jobs.list())[0]
    assert isinstance(job, JobRecord) and job.job_items and job.job_items[0].backup_type is not None
    assert all(item.password is None for item in job.job_items)  # never returned on GET
    log = run(lambda c: c.vendor.logs.list())[0]
    assert isinstance(log, LogRecord) and log.job is not None


def test_device_lookup_by_external_id(run: Runner, sim: CleverFoxSimulator) -> None:
    row = next(d for d in sim.tables["devices"].values() if d["ExternalId"])
    found = run(lambda c: c.vendor.devices.lookup(row["ExternalId"]))
    assert found.device_id == row["DeviceId"]
    with pytest.raises(NotFoundError):
        run(lambda c: c.vendor.devices.lookup("no-such-external-id"))


def test_device_jobs_and_logs(run: Runner, sim: CleverFoxSimulator) -> None:
    device_id = next(iter(sim.tables["devices"]))
    jobs = run(lambda c: c.vendor.devices.jobs(device_id, page_size=1))
    assert {j.job_id for j in jobs} == {k for k, j in sim.tables["jobs"].items() if j["DeviceId"] == device_id}
    logs = run(lambda c: c.vendor.devices.logs(device_id, page_size=3))
    assert {log.log_id for log in logs} == {k for k, g in sim.tables["logs"].items() if g["DeviceId"] == device_id}
    with pytest.raises(NotFoundError):
        run(lambda c: c.vendor.devices.jobs(999_999))


def test_execute_get_next_job(run: Runner, sim: CleverFoxSimulator) -> None:
    device_id = next(iter(sim.tables["devices"]))
    assert run(lambda c: c.vendor.devices.execute_get_next_job(device_id)) is None
    assert sim.get_next_job_requests == [device_id]


def _device_payload(sim: CleverFoxSimulator, **changes: object) -> dict[str, object]:
    subscription = next(iter(sim.tables["subscriptions"].values()))
    payload: dict[str, object] = {
        "CompanyId": subscription["CompanyId"],
        "SubscriptionId": subscription["SubscriptionId"],
        "Name": "Front Desk PC",
        "TimeZoneId": "Eastern Standard Time",
        "ExternalId": "RMM-NEW-1",
        "SendNotificationTo": "it@example.com",
        "SendNotificationOnJobFailed": True,
    }
    payload.update(changes)
    return payload


def test_device_create_update_delete(run: Runner, sim: CleverFoxSimulator) -> None:
    created = run(lambda c: c.vendor.devices.create(_device_payload(sim)))
    assert created.device_id in sim.tables["devices"] and created.name == "Front Desk PC"
    assert created.api_key  # assigned by the server, read-only
    updated = run(lambda c: c.vendor.devices.update(created.device_id, {"Name": "Reception PC", "IsInactive": True}))
    assert (updated.name, updated.is_inactive) == ("Reception PC", True)
    assert sim.tables["devices"][created.device_id]["Name"] == "Reception PC"
    run(lambda c: c.vendor.devices.delete(created.device_id))
    assert created.device_id not in sim.tables["devices"]
    with pytest.raises(NotFoundError):
        run(lambda c: c.vendor.devices.delete(created.device_id))


@pytest.mark.parametrize(
    ("attr", "payload_for"),
    [
        (
            "companies",
            lambda sim: {"PartnerId": 1, "PlanTypeId": 1, "Name": "Riverside Vets", "CityMunicipality": "Detroit"},
        ),
        ("company_users", lambda sim: {"CompanyId": next(iter(sim.tables["companies"])), "Email": "a@b.example"}),
        (
            "subscriptions",
            lambda sim: {"CompanyId": next(iter(sim.tables["companies"])), "PlanId": 1, "AdditionalDevice": 2},
        ),
        (
            "jobs",
            lambda sim: {
                "DeviceId": next(iter(sim.tables["devices"])),
                "Name": "Hourly",
                "Frequency": "Hourly",
                "NextRunOn": "2026-11-02T10:00:00.000",
                "Every": 2,
            },
        ),
        (
            "job_items",
            lambda sim: {
                "JobId": next(iter(sim.tables["jobs"])),
                "Name": "Desktop",
                "BackupTypeId": 2,
                "BaseFolder": "C:\\Users\\Public\\Desktop",
                "Password": "never-returned",
            },
        ),
        ("partner_users", lambda sim: {"PartnerId": 1, "Email": "ops@partner.example", "FirstName": "Ops"}),
    ],
)
def test_create_and_update_every_writable_resource(
    run: Runner, sim: CleverFoxSimulator, attr: str, payload_for: Callable[[CleverFoxSimulator], dict[str, Any]]
) -> None:
    created = run(lambda c: getattr(c.vendor, attr).create(payload_for(sim)))
    id_attr = {
        "companies": "company_id",
        "company_users": "company_user_id",
        "subscriptions": "subscription_id",
        "jobs": "job_id",
        "job_items": "job_item_id",
        "partner_users": "partner_user_id",
    }[attr]
    key = getattr(created, id_attr)
    assert key is not None
    per_resource: dict[str, dict[str, object]] = {
        "jobs": {"Every": 3},
        "job_items": {"Name": "Desk"},
        "subscriptions": {"AdditionalDevice": 5},
    }
    changes = per_resource.get(attr, {"IsInactive": True})
    updated = run(lambda c: getattr(c.vendor, attr).update(key, changes))
    for field, value in changes.items():
        snake = "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in field).lstrip("_")
        assert getattr(updated, snake) == value


def test_partner_update(run: Runner, sim: CleverFoxSimulator) -> None:
    updated = run(lambda c: c.vendor.partners.update(1, {"Name": "Renamed Partner"}))
    assert updated.name == "Renamed Partner" and sim.tables["partners"][1]["Name"] == "Renamed Partner"


def test_client_ops_are_values_run_twice_alike(sim: CleverFoxSimulator) -> None:
    """The declared endpoints' ops hold the checked request, not a generator: a second run sends it again."""
    from backupbridge.sandbox import connect_sandbox
    from backupbridge_cleverfox.client import CleverFoxAPI

    api = CleverFoxAPI()
    listing = api.devices.list(page_size=3)
    with connect_sandbox("cleverfox", simulator=sim) as conn:
        once = [d.device_id or 0 for d in conn.iterate(listing)]
        again = [d.device_id or 0 for d in conn.iterate(listing)]
        fetch = api.devices.get(once[0])
        first, second = conn.run(fetch), conn.run(fetch)
    assert sorted(once) == sorted(sim.tables["devices"]) and again == once
    assert first == second and first.device_id == once[0]


@pytest.mark.parametrize("hostile", ["../companies/1", "1/jobs", "0", "-3", True, "1.0"])
def test_a_device_id_that_is_not_a_positive_id_never_reaches_a_path(hostile: Any) -> None:
    from backupbridge import ValidationError
    from backupbridge_cleverfox.client import CleverFoxAPI

    api = CleverFoxAPI()
    builds: list[Callable[[Any], object]] = [
        api.devices.get,
        api.devices.delete,
        api.devices.jobs,
        api.devices.execute_get_next_job,
    ]
    for build in builds:
        with pytest.raises(ValidationError) as info:
            build(hostile)
        assert info.value.field == "DeviceId"
