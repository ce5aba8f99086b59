"""The neutral writes migration needs, and what the issue found broken (each case fails without its fix).

Found by hand (CleverFox sandbox -> IDrive 360 sandbox): 22:00 Europe/Berlin became 22:00 with no zone,
``Retention(keep_last=30)`` was dropped, duplicate company names were accepted, nothing could be disabled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from backupbridge import (
    Capability,
    ConflictError,
    Frequency,
    PlanSpec,
    Retention,
    Schedule,
    UnsupportedOperationError,
)
from backupbridge.migrate.sandbox_state import state_fingerprint
from backupbridge.sandbox import connect_sandbox

VENDORS = ("idrive360", "cleverfox", "managedbackup", "vprotect")


def _idrive_spec(**schedule: object) -> PlanSpec:
    conn = connect_sandbox("idrive360")
    company = next(c for c in conn.list_companies() if c.parent_id is not None)
    return PlanSpec(
        name="Nightly",
        company_id=company.id,
        items=("C:\\Data",),
        schedule=Schedule(frequency=Frequency.DAILY, time=dt.time(22), **schedule),  # type: ignore[arg-type]
    )


def test_idrive360_refuses_a_time_zone_it_cannot_carry() -> None:
    conn = connect_sandbox("idrive360")
    plans_before = len(list(conn.list_plans()))
    spec = _idrive_spec(timezone="Europe/Berlin")
    with pytest.raises(UnsupportedOperationError, match="Europe/Berlin"):
        conn.create_plan(spec)
    assert len(list(conn.list_plans())) == plans_before
    # The account's own zone is what IDrive 360 reads the time in: that one is carried.
    created = conn.create_plan(_idrive_spec(timezone="UTC"))
    assert created.plan is not None and created.plan.schedule is not None
    assert created.plan.schedule.time == dt.time(22)


def test_idrive360_refuses_retention_grace_and_intervals_instead_of_dropping_them() -> None:
    conn = connect_sandbox("idrive360")
    base = _idrive_spec()
    with pytest.raises(UnsupportedOperationError, match="retention"):
        conn.create_plan(PlanSpec(**{**_fields(base), "retention": Retention(keep_last=30)}))
    with pytest.raises(UnsupportedOperationError, match="grace"):
        conn.create_plan(_idrive_spec(grace=dt.timedelta(hours=4)))
    with pytest.raises(UnsupportedOperationError, match="interval"):
        conn.create_plan(_idrive_spec(interval=dt.timedelta(days=2)))


def _fields(spec: PlanSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "schedule": spec.schedule,
        "company_id": spec.company_id,
        "device_ids": spec.device_ids,
        "what": spec.what,
        "items": spec.items,
        "destination": spec.destination,
    }


def test_cleverfox_carries_retention_and_refuses_a_zone_other_than_the_devices() -> None:
    conn = connect_sandbox("cleverfox")
    device = next(iter(conn.list_devices()))
    zone = next(p.schedule.timezone for p in conn.list_plans() if device.id in p.device_ids and p.schedule)
    spec = PlanSpec(
        name="Migrated",
        device_ids=(device.id,),
        items=("C:\\Data",),
        retention=Retention(keep_last=14, keep_last_local=2),
        schedule=Schedule(frequency=Frequency.DAILY, time=dt.time(22), timezone=zone),
    )
    created = conn.create_plan(spec)
    assert created.plan is not None and created.plan.retention == Retention(keep_last=14, keep_last_local=2)
    assert created.plan.schedule is not None and created.plan.schedule.time == dt.time(22)
    other = "Asia/Tokyo" if zone != "Asia/Tokyo" else "Europe/Berlin"
    with pytest.raises(UnsupportedOperationError, match=other):
        conn.create_plan(
            PlanSpec(
                **{**_fields(spec), "schedule": Schedule(frequency=Frequency.DAILY, time=dt.time(22), timezone=other)}
            )
        )


@pytest.mark.parametrize("vendor", ["idrive360", "cleverfox", "managedbackup"])
def test_duplicate_company_names_are_refused_and_dry_run_creates_nothing(vendor: str) -> None:
    conn = connect_sandbox(vendor)
    existing = next(iter(conn.list_companies()))
    before = state_fingerprint(conn.simulator)
    with pytest.raises(ConflictError, match="already"):
        conn.create_company(existing.name.upper())
    preview = conn.create_company("Brand New Co", dry_run=True)
    assert preview.name == "Brand New Co" and preview.raw.get("dry_run") is True
    assert state_fingerprint(conn.simulator) == before
    created = conn.create_company("Brand New Co")
    assert conn.find_company("brand new co") == created
    with pytest.raises(ConflictError):
        conn.create_company("Brand New Co")


@pytest.mark.parametrize("vendor", VENDORS)
def test_find_company_finds_by_name_and_answers_none_for_none(vendor: str) -> None:
    conn = connect_sandbox(vendor)
    company = next(iter(conn.list_companies()))
    assert Capability.FIND_COMPANY in conn.capabilities
    assert conn.find_company(company.name) == company
    assert conn.find_company("  " + company.name.lower() + " ") == company
    assert conn.find_company("No Such Company 4711") is None


@pytest.mark.parametrize("vendor", ["cleverfox", "vprotect"])
def test_disable_and_enable_a_plan_without_deleting_it(vendor: str) -> None:
    conn = connect_sandbox(vendor)
    plan = next(p for p in conn.list_plans() if p.enabled)
    count = len(list(conn.list_plans()))
    assert {Capability.DISABLE_PLAN, Capability.ENABLE_PLAN} <= conn.capabilities
    conn.disable_plan(plan.id)
    disabled = conn.get_plan(plan.id)
    assert disabled.enabled is False and disabled.device_ids == plan.device_ids
    assert len(list(conn.list_plans())) == count
    conn.enable_plan(plan.id)
    assert conn.get_plan(plan.id).enabled is True


@pytest.mark.parametrize("vendor", VENDORS)
def test_plan_writes_outside_the_capability_table_are_unsupported(vendor: str) -> None:
    conn = connect_sandbox(vendor)
    plan = next(iter(conn.list_plans()))
    checks: tuple[tuple[Capability, Callable[[], object]], ...] = (
        (Capability.DISABLE_PLAN, lambda: conn.disable_plan(plan.id)),
        (Capability.ENABLE_PLAN, lambda: conn.enable_plan(plan.id)),
        (Capability.DELETE_PLAN, lambda: conn.delete_plan(plan.id)),
    )
    for capability, call in checks:
        if capability not in conn.capabilities:
            with pytest.raises(UnsupportedOperationError):
                call()


def test_cleverfox_update_plan_changes_schedule_and_retention_in_place() -> None:
    conn = connect_sandbox("cleverfox")
    plan = next(p for p in conn.list_plans() if p.items and p.schedule and p.schedule.frequency is Frequency.DAILY)
    assert plan.schedule is not None
    count = len(list(conn.list_plans()))
    spec = PlanSpec(
        name="Renamed nightly",
        items=plan.items,
        retention=Retention(keep_last=9, keep_last_local=0),
        schedule=Schedule(frequency=Frequency.DAILY, time=dt.time(1, 15), timezone=plan.schedule.timezone),
    )
    updated = conn.update_plan(plan.id, spec)
    assert updated.id == plan.id and updated.name == "Renamed nightly"
    assert updated.retention == Retention(keep_last=9, keep_last_local=0)
    assert updated.schedule is not None and updated.schedule.time == dt.time(1, 15)
    assert updated.items == plan.items and updated.device_ids == plan.device_ids
    assert len(list(conn.list_plans())) == count
    with pytest.raises(UnsupportedOperationError, match="folders"):
        conn.update_plan(plan.id, PlanSpec(name="x", items=("D:\\Other",), schedule=spec.schedule))


def test_vprotect_delete_plan_removes_the_policy_and_keeps_its_backups() -> None:
    conn = connect_sandbox("vprotect")
    plan = next(iter(conn.list_plans()))
    backups = len(conn.simulator.backups)  # type: ignore[attr-defined]
    conn.delete_plan(plan.id)
    assert plan.id not in {p.id for p in conn.list_plans()}
    assert len(conn.simulator.backups) == backups  # type: ignore[attr-defined]
