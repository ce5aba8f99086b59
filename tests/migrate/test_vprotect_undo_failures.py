"""vProtect's composite writes when an undo fails too: every undo is still tried, the error raised is the one that
stopped the write, and it names what is left on the controller."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from backupbridge import APIError, BackupTarget, Frequency, PlanSpec, Schedule, Weekday

from .conftest import tenant


def _spec(devices: list[str]) -> PlanSpec:
    return PlanSpec(
        name="Migrated VMs",
        what=BackupTarget.VM,
        device_ids=tuple(devices),
        schedule=Schedule(frequency=Frequency.WEEKLY, time=dt.time(0, 30), weekdays=(Weekday.FRIDAY,)),
    )


def test_a_failed_policy_undo_still_undoes_the_schedule_and_the_rule_error_is_raised() -> None:
    t = tenant("vprotect", seed=24)
    free = [guid for guid, vm in t.simulator.vms.items() if not vm.get("vmBackupPolicy")][:1]
    schedules = set(t.simulator.schedules)
    policies = set(t.simulator.policies["vm-backup"])

    def inject(request: httpx.Request) -> httpx.Response | None:
        if request.method == "POST" and request.url.path.endswith("/rules/vm-backup"):
            return httpx.Response(500, json={"error": {"message": "rule refused"}})
        if request.method == "DELETE" and "/policies/" in request.url.path:
            return httpx.Response(503, json={"error": {"message": "policy delete unavailable"}})
        return None

    t.transport.inject = inject
    with pytest.raises(APIError) as raised:
        t.conn.create_plan(_spec(free))
    # The schedule, made first, is still undone after the policy's undo failed.
    assert set(t.simulator.schedules) == schedules
    deletes = [path for method, path in t.transport.requests if method == "DELETE"]
    assert len(deletes) == 2 and "policies" in deletes[0] and "schedules" in deletes[1]
    # The error is the rule's (what stopped the write), and it says what is left on the controller.
    error = raised.value
    assert error.status_code == 500 and error.method == "POST" and "rules" in (error.url or "")
    (left,) = set(t.simulator.policies["vm-backup"]) - policies
    assert "rule refused" in str(error)
    assert f"policy {left}" in str(error) and "policy delete unavailable" in str(error)
    assert "not undone" in str(error)


def test_a_failed_schedule_undo_of_an_update_is_named_in_the_policy_error() -> None:
    t = tenant("vprotect", seed=25)
    free = [guid for guid, vm in t.simulator.vms.items() if not vm.get("vmBackupPolicy")][:1]
    created = t.conn.create_plan(_spec(free))
    assert created.plan is not None
    (schedule,) = created.plan.raw["scheduleGuids"]
    puts: list[str] = []

    def inject(request: httpx.Request) -> httpx.Response | None:
        if request.method != "PUT":
            return None
        puts.append(request.url.path)
        if "/policies/" in request.url.path:
            return httpx.Response(500, json={"error": {"message": "policy refused"}})
        if len(puts) > 1:  # the schedule's change went through; putting it back does not
            return httpx.Response(503, json={"error": {"message": "schedule unavailable"}})
        return None

    t.transport.inject = inject
    changed = PlanSpec(
        name="Renamed VMs",
        what=BackupTarget.VM,
        device_ids=tuple(free),
        schedule=Schedule(frequency=Frequency.WEEKLY, time=dt.time(4, 0), weekdays=(Weekday.FRIDAY,)),
    )
    with pytest.raises(APIError) as raised:
        t.conn.update_plan(created.plan.id, changed)
    error = raised.value
    assert error.status_code == 500 and "policies" in (error.url or "")
    assert "policy refused" in str(error)
    assert f"the change to schedule {schedule}" in str(error) and "schedule unavailable" in str(error)
