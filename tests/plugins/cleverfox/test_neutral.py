"""The neutral operations for CleverFox against the simulator, sync and async."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from backupbridge import (
    DecodingError,
    DeviceSpec,
    DeviceStatus,
    Frequency,
    InvalidRequestError,
    JobStatus,
    Notification,
    NotifyWhen,
    PlanSpec,
    Retention,
    Schedule,
    ValidationError,
    Weekday,
)
from backupbridge.sandbox import SimulatorTransport, connect_sandbox
from backupbridge_cleverfox import CleverFoxSimulator

from ..conftest import Runner


def test_companies_devices_and_statuses(run: Runner, sim: CleverFoxSimulator) -> None:
    companies = run(lambda c: c.list_companies())
    assert {c.id for c in companies} == {str(k) for k in sim.tables["companies"]}
    devices = run(lambda c: c.list_devices())
    statuses = {d.status for d in devices}
    assert {DeviceStatus.ONLINE, DeviceStatus.OFFLINE} <= statuses
    company = companies[0].id
    mine = run(lambda c: c.list_devices(company_id=company))
    assert mine and {d.company_id for d in mine} == {company}


def test_plans_with_and_without_a_company(run: Runner, sim: CleverFoxSimulator) -> None:
    plans = run(lambda c: c.list_plans())
    assert {p.id for p in plans} == {str(k) for k in sim.tables["jobs"]}
    company = next(iter(sim.tables["companies"]))
    devices = {k for k, d in sim.tables["devices"].items() if d["CompanyId"] == company}
    expected = {str(k) for k, j in sim.tables["jobs"].items() if j["DeviceId"] in devices}
    assert {p.id for p in run(lambda c: c.list_plans(company_id=str(company)))} == expected


def test_jobs_history_and_filters(run: Runner, sim: CleverFoxSimulator) -> None:
    jobs = run(lambda c: c.list_jobs())
    assert len(jobs) == len(sim.tables["logs"])
    assert {JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.MISSED} <= {j.status for j in jobs}
    failed = run(lambda c: c.list_jobs(status=JobStatus.FAILED))
    assert failed and all(j.status is JobStatus.FAILED and j.error for j in failed)
    since = sim.now() - dt.timedelta(days=2)
    recent = run(lambda c: c.list_jobs(since=since))
    assert recent and len(recent) < len(jobs)
    assert all((j.finished_at or j.started_at) is None or (j.finished_at or j.started_at) >= since for j in recent)
    device = next(iter(sim.tables["devices"]))
    assert {j.device_id for j in run(lambda c: c.list_jobs(device_id=str(device)))} == {str(device)}


def test_create_company_and_device(run: Runner, sim: CleverFoxSimulator) -> None:
    company = run(lambda c: c.create_company("Harbor Clinic"))
    assert sim.tables["companies"][int(company.id)]["Name"] == "Harbor Clinic"
    sub = next(s for s in sim.tables["subscriptions"].values() if s["CompanyId"] != int(company.id))
    spec = DeviceSpec(
        name="HARB-WS01",
        company_id=str(sub["CompanyId"]),
        timezone="America/Chicago",
        external_id="RMM-55",
        notification=Notification(emails=("it@harbor.example",), when=NotifyWhen.ON_FAILURE),
    )
    device = run(lambda c: c.create_device(spec))
    row = sim.tables["devices"][int(device.id)]
    assert (row["TimeZoneId"], row["ExternalId"], row["SubscriptionId"]) == (
        "Central Standard Time",
        "RMM-55",
        sub["SubscriptionId"],
    )
    assert (row["SendNotificationOnJobFailed"], row["SendNotificationOnJobCompleted"]) == (True, False)
    with pytest.raises(ValidationError, match="no active subscription"):
        run(lambda c: c.create_device(DeviceSpec(name="X", company_id=company.id)))


def test_create_plan_creates_the_job_and_its_items(run: Runner, sim: CleverFoxSimulator) -> None:
    device = next(k for k, d in sim.tables["devices"].items() if d["TimeZoneId"] == "Eastern Standard Time")
    spec = PlanSpec(
        name="Design files",
        device_ids=(str(device),),
        items=("D:\\Projects", "D:\\Templates"),
        schedule=Schedule(frequency=Frequency.WEEKLY, time=dt.time(21), weekdays=(Weekday.FRIDAY,)),
        retention=Retention(keep_last=14, keep_last_local=2),
    )
    dry = run(lambda c: c.create_plan(spec, dry_run=True))
    assert dry.dry_run and dry.plan_id is None
    created = run(lambda c: c.create_plan(spec))
    assert created.plan is not None
    assert created.plan.items == ("D:\\Projects", "D:\\Templates")
    assert created.plan.schedule is not None and created.plan.schedule.weekdays == (Weekday.FRIDAY,)
    assert created.plan.retention == Retention(keep_last=14, keep_last_local=2)
    assert created.plan.next_run_at is not None and created.plan.next_run_at.weekday() == 4
    assert created.plan.next_run_at.hour == 21 and str(created.plan.next_run_at.tzinfo) == "America/New_York"


def test_create_plan_needs_one_device(run: Runner) -> None:
    spec = PlanSpec(name="x", items=("C:\\",), schedule=Schedule(frequency=Frequency.DAILY, time=dt.time(1)))
    with pytest.raises(ValidationError, match="exactly one device"):
        run(lambda c: c.create_plan(spec))


def test_set_notifications_both_ways(run: Runner, sim: CleverFoxSimulator) -> None:
    device = next(iter(sim.tables["devices"]))
    note = Notification(emails=("a@x.example", "b@x.example"), cc=("c@x.example",), when=NotifyWhen.ALWAYS)
    run(lambda c: c.set_notifications(str(device), note))
    row = sim.tables["devices"][device]
    assert row["SendNotificationTo"] == "a@x.example;b@x.example" and row["SendNotificationOnJobCompleted"] is True
    plan = next(p for p in run(lambda c: c.list_plans()) if p.device_ids == (str(device),))
    assert plan.notification == Notification(
        emails=note.emails, cc=note.cc, when=NotifyWhen.ALWAYS, vendor_value="completed,failed,missed"
    )


def test_a_record_inserted_between_pages_fails_the_listing_instead_of_being_dropped() -> None:
    """Newest first: an insert while paging pushes a seen record onto the next page. Dropping the repeat (as
    this test once required) also hides a record lost to a duplicate id, so the listing raises (issue 12)."""
    sim = CleverFoxSimulator()
    pages = {"seen": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/devices") and request.method == "GET":
            pages["seen"] += 1
            if pages["seen"] == 2:
                sim._insert(
                    "devices", dict(next(iter(sim.tables["devices"].values())), ExternalId=None, Name="Late arrival")
                )
        return sim.handle(request)

    conn = connect_sandbox("cleverfox", simulator=sim)
    conn._session.client._transport = SimulatorTransport(handler)
    with pytest.raises(DecodingError, match="arrives twice") as info:
        list(conn.vendor.devices.list(page_size=5))
    assert info.value.endpoint == "GET /devices"


def test_a_refused_token_may_be_used_again_once_corrected() -> None:
    sim = CleverFoxSimulator()
    conn = connect_sandbox("cleverfox", simulator=sim)
    sub = next(iter(sim.tables["subscriptions"].values()))
    with pytest.raises(InvalidRequestError, match="Unknown time zone"):
        conn.vendor.devices.create(
            {
                "CompanyId": sub["CompanyId"],
                "SubscriptionId": sub["SubscriptionId"],
                "Name": "X",
                "TimeZoneId": "Mars Standard Time",
            },
            token="tok-1",
        )
    created = conn.vendor.devices.create(
        {"CompanyId": sub["CompanyId"], "SubscriptionId": sub["SubscriptionId"], "Name": "X", "TimeZoneId": "UTC"},
        token="tok-1",
    )
    assert created.device_id in sim.tables["devices"]
