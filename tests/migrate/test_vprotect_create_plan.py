"""vProtect's neutral create_plan: schedule, then policy, then rule; undone in reverse when a step fails."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from backupbridge import (
    APIError,
    BackupTarget,
    Frequency,
    PlanSpec,
    Retention,
    Schedule,
    UnsupportedOperationError,
    Weekday,
)
from backupbridge.migrate.sandbox_state import state_fingerprint

from .conftest import Tenant, tenant


def _free_vms(t: Tenant) -> list[str]:
    return [guid for guid, vm in t.simulator.vms.items() if not vm.get("vmBackupPolicy")]


def _spec(devices: list[str], **schedule: object) -> PlanSpec:
    return PlanSpec(
        name="Migrated VMs",
        what=BackupTarget.VM,
        device_ids=tuple(devices),
        schedule=Schedule(**{"frequency": Frequency.WEEKLY, "time": dt.time(0, 30), **schedule}),  # type: ignore[arg-type]
    )


def test_the_composite_lands_with_the_time_in_utc_and_the_machines_assigned() -> None:
    t = tenant("vprotect", seed=21)
    free = _free_vms(t)[:2]
    assert free
    spec = _spec(free, weekdays=(Weekday.MONDAY,), timezone="Europe/Berlin")
    created = t.conn.create_plan(spec)
    plan = created.plan
    assert plan is not None and set(plan.device_ids) == set(free)
    assert plan.schedule is not None
    # 00:30 on Monday in Berlin (UTC+1 in November) is 23:30 on Sunday in UTC: the same moment.
    assert plan.schedule.time == dt.time(23, 30) and plan.schedule.weekdays == (Weekday.SUNDAY,)
    assert t.conn.get_plan(plan.id) == plan
    posts = [path for method, path in t.transport.requests if method == "POST" and "login" not in path]
    assert posts == ["/api/schedules", "/api/policies/vm-backup", "/api/rules/vm-backup"] or [
        p.removeprefix("/api") for p in posts
    ] == ["/schedules", "/policies/vm-backup", "/rules/vm-backup"]


@pytest.mark.parametrize("failing", ["/policies/vm-backup", "/rules/vm-backup"])
def test_a_failing_step_undoes_the_earlier_ones_in_reverse(failing: str) -> None:
    t = tenant("vprotect", seed=22)
    free = _free_vms(t)[:1]
    schedules, policies = set(t.simulator.schedules), {k: set(v) for k, v in t.simulator.policies.items()}
    t.transport.inject = lambda r: (
        httpx.Response(500, json={"error": {"message": "boom"}})
        if r.method == "POST" and r.url.path.endswith(failing)
        else None
    )
    with pytest.raises(APIError):
        t.conn.create_plan(_spec(free, weekdays=(Weekday.FRIDAY,)))
    assert set(t.simulator.schedules) == schedules
    assert {k: set(v) for k, v in t.simulator.policies.items()} == policies
    assert not t.simulator.vms[free[0]].get("vmBackupPolicy")
    deletes = [p for m, p in t.transport.requests if m == "DELETE"]
    assert len(deletes) == (1 if failing == "/policies/vm-backup" else 2)
    assert "schedules" in deletes[-1]  # the schedule, made first, is undone last


def test_what_vprotect_cannot_carry_is_refused_and_dry_run_writes_nothing() -> None:
    t = tenant("vprotect", seed=23)
    free = _free_vms(t)[:1]
    taken = next(g for g, vm in t.simulator.vms.items() if vm.get("vmBackupPolicy"))
    with pytest.raises(UnsupportedOperationError, match="retention"):
        t.conn.create_plan(_with_retention(free))
    with pytest.raises(UnsupportedOperationError, match="already in policy"):
        t.conn.create_plan(_spec([taken], weekdays=(Weekday.MONDAY,)))
    with pytest.raises(UnsupportedOperationError, match="days of the month"):
        t.conn.create_plan(_spec(free, frequency=Frequency.MONTHLY, month_days=(1,)))
    before = state_fingerprint(t.simulator)
    result = t.conn.create_plan(_spec(free, weekdays=(Weekday.MONDAY,)), dry_run=True)
    assert result.dry_run and result.plan_id is None
    assert state_fingerprint(t.simulator) == before


def _with_retention(devices: list[str]) -> PlanSpec:
    base = _spec(devices, weekdays=(Weekday.MONDAY,))
    return PlanSpec(
        name=base.name,
        what=base.what,
        device_ids=base.device_ids,
        schedule=base.schedule,
        retention=Retention(keep_last=3),
    )
