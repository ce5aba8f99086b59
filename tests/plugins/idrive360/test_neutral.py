"""The neutral operations for IDrive 360 against the simulator, sync and async."""

from __future__ import annotations

import datetime as dt

import pytest

from backupbridge import (
    Frequency,
    JobStatus,
    NotFoundError,
    Notification,
    NotifyWhen,
    PlanSpec,
    Schedule,
    Weekday,
)
from backupbridge_idrive360 import IDrive360Simulator

from .conftest import Runner


def test_list_companies_flattens_the_tree(run: Runner, sim: IDrive360Simulator) -> None:
    companies = run(lambda c: c.list_companies())
    assert {c.id for c in companies} == {str(i) for i in sim.companies}
    assert all(c.parent_id == str(sim.root.company_id) for c in companies if c.id != str(sim.root.company_id))


def test_get_company(run: Runner, sim: IDrive360Simulator) -> None:
    sub = next(c for c in sim.companies.values() if c.parent)
    company = run(lambda c: c.get_company(str(sub.company_id)))
    assert (company.name, company.parent_id) == (sub.name, str(sim.root.company_id))
    with pytest.raises(NotFoundError):
        run(lambda c: c.get_company("987654"))


def test_create_company_names_its_parent(run: Runner, sim: IDrive360Simulator) -> None:
    company = run(lambda c: c.create_company("Lakeside Dental"))
    assert company.parent_id == str(sim.root.company_id)
    assert company.id in {c.id for c in run(lambda c: c.list_companies())}


def test_list_and_get_devices(run: Runner, sim: IDrive360Simulator) -> None:
    every = run(lambda c: c.list_devices())
    assert len(every) == len(sim.devices) and len({d.id for d in every}) == len(every)
    device = run(lambda c: c.get_device(every[3].id))
    assert device == every[3]
    with pytest.raises(NotFoundError):
        run(lambda c: c.get_device("missing-device"))


def test_list_jobs_is_the_last_run_per_device(run: Runner, sim: IDrive360Simulator) -> None:
    jobs = run(lambda c: c.list_jobs())
    ran = [d for d in sim.devices.values() if d["backup_status"] or d["last_backup"]]
    assert len(jobs) == len(ran)
    failed = run(lambda c: c.list_jobs(status=JobStatus.FAILED))
    assert failed and all(j.status is JobStatus.FAILED for j in failed)
    assert {j.device_id for j in failed} == {d["device_id"] for d in ran if d["backup_status"] == "Failure"}


def test_list_jobs_since_keeps_runs_of_unknown_time(run: Runner, sim: IDrive360Simulator) -> None:
    since = sim.options.now - dt.timedelta(hours=12)
    jobs = run(lambda c: c.list_jobs(since=since))
    assert all(j.finished_at is None or j.finished_at >= since for j in jobs)
    assert any(j.status is JobStatus.FAILED for j in jobs)  # failures are never dropped for want of a time
    assert len(jobs) < len(run(lambda c: c.list_jobs()))


def test_list_plans_walks_every_company(run: Runner, sim: IDrive360Simulator) -> None:
    plans = run(lambda c: c.list_plans())
    assert {p.id for p in plans} == set(sim.plans)
    assert all(p.company_id == str(sim.plan_company[p.id]) for p in plans)
    one_company = run(lambda c: c.list_plans(company_id=str(sim.root.company_id)))
    assert {p.id for p in one_company} == {pid for pid, cid in sim.plan_company.items() if cid == sim.root.company_id}


def test_get_plan_finds_it_in_a_sub_company(run: Runner, sim: IDrive360Simulator) -> None:
    pid = next(pid for pid, cid in sim.plan_company.items() if cid != sim.root.company_id)
    assert run(lambda c: c.get_plan(pid)).id == pid
    with pytest.raises(NotFoundError):
        run(lambda c: c.get_plan("000000"))


def test_create_plan_from_a_neutral_spec(run: Runner, sim: IDrive360Simulator) -> None:
    root = str(sim.root.company_id)
    targets = [d for d, v in sim.devices.items() if v["company_id"] == root][:3]
    spec = PlanSpec(
        name="Weekly documents",
        company_id=root,
        device_ids=tuple(targets),
        items=("C:\\Users\\*\\Documents\\",),
        schedule=Schedule(frequency=Frequency.WEEKLY, time=dt.time(20, 30), weekdays=(Weekday.SATURDAY,)),
        notification=Notification(emails=("alerts@example.com",), when=NotifyWhen.ON_FAILURE),
    )
    dry = run(lambda c: c.create_plan(spec, dry_run=True))
    assert dry.dry_run and dry.plan is None and dry.plan_id is None
    before = set(sim.plans)
    assert before == set(sim.plans)
    created = run(lambda c: c.create_plan(spec))
    assert created.plan is not None and created.plan.name == "Weekly documents"
    assert created.plan.schedule is not None and created.plan.schedule.weekdays == (Weekday.SATURDAY,)
    assert created.plan.notification == Notification(
        emails=("alerts@example.com",), when=NotifyWhen.ON_FAILURE, vendor_value="ON_FAILURE"
    )
    assert set(created.applied_to) | set(created.not_applied_to) == set(targets)
    assert set(created.replaced) <= set(created.applied_to)


def test_set_notifications_is_idempotent(run: Runner, sim: IDrive360Simulator) -> None:
    device = next(
        d for d, sets in sim.device_sets.items() if "DEFAULT" in sets and sim.devices[d]["status"] == "online"
    )
    note = Notification(emails=("desk@example.com",), when=NotifyWhen.ALWAYS)
    run(lambda c: c.set_notifications(device, note))
    run(lambda c: c.set_notifications(device, note))  # "same_state" from the vendor is success here
    assert sim.notifications[(device, "DEFAULT")] == ("ALWAYS", ("desk@example.com",))
