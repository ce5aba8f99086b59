"""vProtect's neutral update_plan (``PUT`` on the policy and on its own schedule), its enable/disable_plan
(the policy sent back whole with only ``active`` changed), and what they refuse: before any request for bad
arguments and for what vProtect cannot carry, after reading for what the account's state forbids."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from backupbridge import (
    APIError,
    BackupTarget,
    Capability,
    Frequency,
    NotFoundError,
    Notification,
    PlanSpec,
    Retention,
    Schedule,
    UnsupportedOperationError,
    ValidationError,
    Weekday,
    connect,
    connect_async,
)
from backupbridge.connection import Connection
from backupbridge.migrate import Journal, apply_plan
from backupbridge.migrate.planfile import MigrationError, spec_to_json
from backupbridge.sandbox import SimulatorOptions, SimulatorTransport
from backupbridge.store import open_store
from backupbridge_vprotect import VProtectSimulator, vendor

Injector = Callable[[httpx.Request], httpx.Response | None]


@attrs.define
class Recorder:
    """The simulator behind a transport that records ``(method, path, json body)`` and may inject answers."""

    sim: VProtectSimulator
    sent: list[tuple[str, str, Any]] = attrs.field(factory=list)
    inject: Injector | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        path = request.url.path.removeprefix("/api")
        self.sent.append((request.method, path, body))
        if self.inject is not None:
            answer = self.inject(request)
            if answer is not None:
                return answer
        return self.sim.handle(request)

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.sent if m != "GET" and p != "/session/login"]


def _setup(seed: int = 5, size: int = 40) -> tuple[Connection, Recorder]:
    rec = Recorder(VProtectSimulator(SimulatorOptions(seed=seed, size=size)))
    conn = connect("vprotect", transport=SimulatorTransport(rec.handle), clock=rec.sim.now, **rec.sim.credentials)
    return conn, rec


def _free(rec: Recorder) -> list[str]:
    return [key for key, vm in rec.sim.vms.items() if not vm.get("vmBackupPolicy")]


def _weekly(devices: tuple[str, ...] = (), **changes: Any) -> PlanSpec:
    schedule = Schedule(frequency=Frequency.WEEKLY, time=dt.time(1, 30), weekdays=(Weekday.TUESDAY,))
    fields: dict[str, Any] = {"name": "Migrated VMs", "what": BackupTarget.VM, "device_ids": devices}
    fields["schedule"] = attrs.evolve(schedule, **changes.pop("schedule", {}))
    return PlanSpec(**{**fields, **changes})


def _own_plan(conn: Connection, rec: Recorder) -> tuple[str, list[str]]:
    """A plan made by create_plan (its schedule is its own), on two free machines; the third stays free."""
    free = _free(rec)
    assert len(free) >= 3
    created = conn.create_plan(_weekly((free[0], free[1])))
    assert created.plan_id is not None
    rec.sent.clear()
    return created.plan_id, free


def test_the_capabilities_are_declared_with_vm_plans_only_in_the_table() -> None:
    assert {Capability.CREATE_PLAN, Capability.UPDATE_PLAN} <= vendor.capabilities
    for name in ("create_plan", "update_plan"):
        assert vendor.capability_notes[name].startswith("VM plans only")


def test_update_changes_the_schedule_in_place_honouring_its_time_zone() -> None:
    conn, rec = _setup()
    plan_id, _ = _own_plan(conn, rec)
    before = conn.get_plan(plan_id)
    schedules = set(rec.sim.schedules)
    rec.sent.clear()
    # 00:30 on Monday in Berlin (UTC+1 in November) is 23:30 on Sunday in UTC: the same moment.
    spec = _weekly(schedule={"time": dt.time(0, 30), "weekdays": (Weekday.MONDAY,), "timezone": "Europe/Berlin"})
    updated = conn.update_plan(plan_id, spec)
    assert updated.id == plan_id and updated.schedule is not None
    assert (updated.schedule.time, updated.schedule.weekdays) == (dt.time(23, 30), (Weekday.SUNDAY,))
    assert updated.schedule.frequency is Frequency.WEEKLY and updated.device_ids == before.device_ids
    assert set(rec.sim.schedules) == schedules  # changed in place: no schedule made, none left behind
    schedule_guid = before.raw["scheduleGuids"][0]
    assert rec.writes() == [("PUT", f"/schedules/{schedule_guid}")]  # the policy itself did not change
    assert conn.get_plan(plan_id) == updated


def test_update_renames_and_reassigns_the_machines() -> None:
    conn, rec = _setup()
    plan_id, free = _own_plan(conn, rec)
    updated = conn.update_plan(plan_id, _weekly((free[1], free[2]), name="Renamed VMs"))
    assert updated.name == "Renamed VMs" and set(updated.device_ids) == {free[1], free[2]}
    assert not rec.sim.vms[free[0]]["vmBackupPolicy"]  # released
    assert rec.sim.vms[free[2]]["vmBackupPolicy"]["guid"] == plan_id
    assert rec.writes() == [("PUT", f"/policies/vm-backup/{plan_id}")]
    put = next(body for method, _, body in rec.sent if method == "PUT")
    assert put["guid"] == plan_id and put["active"] is True  # the policy as read, sent back whole


def test_empty_device_ids_keep_the_machines_and_an_update_that_changes_nothing_sends_nothing() -> None:
    conn, rec = _setup()
    plan_id, free = _own_plan(conn, rec)
    kept = conn.update_plan(plan_id, _weekly())
    assert set(kept.device_ids) == {free[0], free[1]}
    assert rec.writes() == []
    assert conn.update_plan(plan_id, _weekly((free[1], free[0]))).device_ids == kept.device_ids
    assert rec.writes() == []


def test_an_interval_update_keeps_the_end_of_its_window() -> None:
    conn, rec = _setup()
    plan_id, _ = _own_plan(conn, rec)
    hourly = {"frequency": Frequency.HOURLY, "time": dt.time(6), "weekdays": (), "interval": dt.timedelta(hours=2)}
    conn.update_plan(plan_id, _weekly(schedule=hourly))
    key = conn.get_plan(plan_id).raw["scheduleGuids"][0]
    rec.sim.schedules[key]["interval"]["endHour"] = 20 * 3600 * 1000  # set in the console
    updated = conn.update_plan(plan_id, _weekly(schedule={**hourly, "interval": dt.timedelta(hours=3)}))
    assert updated.schedule is not None and updated.schedule.interval == dt.timedelta(hours=3)
    assert rec.sim.schedules[key]["interval"]["endHour"] == 20 * 3600 * 1000


def test_a_policy_without_a_schedule_gets_one() -> None:
    """A composite cut short (the policy made, its rule not): the update gives it its schedule and rule."""
    conn, rec = _setup()
    free = _free(rec)
    bare = conn.vendor.policies.create({"name": "Half made", "vms": [{"guid": free[0]}]})
    assert conn.get_plan(bare.guid).schedule is None
    updated = conn.update_plan(bare.guid, _weekly(name="Half made"))
    assert updated.schedule is not None and updated.schedule.weekdays == (Weekday.TUESDAY,)
    assert [m for m, _ in rec.writes()][-2:] == ["POST", "POST"]  # schedule, then rule


REFUSED: list[tuple[str, dict[str, Any]]] = [
    ("retention", {"retention": Retention(keep_last=30)}),
    ("notifications", {"notification": Notification(emails=("noc@example.com",))}),
    ("items", {"items": ("/data",)}),
    ("vm-backup", {"what": BackupTarget.FILES}),
    ("cut-off", {"schedule": {"cutoff": dt.time(6)}}),
    ("days of the month", {"schedule": {"frequency": Frequency.MONTHLY, "month_days": (1,)}}),
    ("monthly", {"schedule": {"frequency": Frequency.MONTHLY, "weekdays": ()}}),
]


@pytest.mark.parametrize(("match", "changes"), REFUSED, ids=[r[0] for r in REFUSED])
def test_what_vprotect_cannot_carry_is_refused_before_any_request(match: str, changes: dict[str, Any]) -> None:
    conn, rec = _setup()
    plan_id, _ = _own_plan(conn, rec)
    with pytest.raises(UnsupportedOperationError, match=match) as info:
        conn.update_plan(plan_id, _weekly(**changes))
    assert (info.value.vendor, info.value.operation) == ("vprotect", "update_plan")
    assert "create_plan" not in str(info.value)
    assert rec.sent == []


INVALID: list[tuple[str, str, Callable[[str], tuple[str, Any]]]] = [
    ("plan_id", "empty id", lambda p: ("", _weekly())),
    ("plan_id", "a path", lambda p: ("../x", _weekly())),
    ("spec", "not a spec", lambda p: (p, {"name": "x"})),
    ("name", "blank name", lambda p: (p, _weekly(name="  "))),
    ("schedule.timezone", "unknown zone", lambda p: (p, _weekly(schedule={"timezone": "Mars/Olympus_Mons"}))),
    ("schedule.timezone", "zone path", lambda p: (p, _weekly(schedule={"timezone": "../../etc/passwd"}))),
    ("schedule.weekdays", "weekday twice", lambda p: (p, _weekly(schedule={"weekdays": (Weekday.MONDAY,) * 2}))),
    ("schedule.weekdays", "weekday text", lambda p: (p, _weekly(schedule={"weekdays": ("MONDAY",)}))),
    ("schedule.time", "time as text", lambda p: (p, _weekly(schedule={"time": "01:30"}))),
    ("schedule.interval", "zero interval", lambda p: (p, _weekly(schedule={"interval": dt.timedelta(0)}))),
    ("schedule.grace", "negative grace", lambda p: (p, _weekly(schedule={"grace": dt.timedelta(hours=-1)}))),
    ("options.priority", "priority 101", lambda p: (p, _weekly(options={"priority": 101}))),
    ("options.priority", "priority True", lambda p: (p, _weekly(options={"priority": True}))),
    ("options", "unknown option", lambda p: (p, _weekly(options={"retention_days": 3}))),
    ("device_ids", "empty device id", lambda p: (p, _weekly(("",)))),
    ("company_id", "company path", lambda p: (p, _weekly(company_id="a/b"))),
]


@pytest.mark.parametrize(("field", "case", "build"), INVALID, ids=[i[1] for i in INVALID])
def test_bad_arguments_fail_before_any_request(field: str, case: str, build: Callable[[str], Any]) -> None:
    conn, rec = _setup()
    plan_id, _ = _own_plan(conn, rec)
    target, spec = build(plan_id)
    with pytest.raises(ValidationError) as info:
        conn.update_plan(target, spec)
    assert info.value.field == field and info.value.vendor == "vprotect"
    assert rec.sent == []


def test_create_plan_refuses_an_unknown_zone_before_any_request() -> None:
    """It raised a bare ZoneInfoNotFoundError (a KeyError) from the mapping."""
    conn, rec = _setup()
    rec.sent.clear()
    with pytest.raises(ValidationError) as info:
        conn.create_plan(_weekly((_free(rec)[0],), schedule={"timezone": "Not/A_Zone"}))
    assert info.value.field == "schedule.timezone" and rec.sent == []


def _shared_schedule_plan(conn: Connection, rec: Recorder) -> str:
    for key, policy in rec.sim.policies["vm-backup"].items():
        (rule,) = [rec.sim.rules[r["guid"]] for r in policy["rules"]]
        if len(rule["schedules"]) == 1 and len(rec.sim.schedules[rule["schedules"][0]["guid"]]["rules"]) > 1:
            return key
    raise AssertionError("the seeded data has a schedule shared by two vm-backup policies")


def test_a_schedule_shared_with_other_policies_is_refused_and_nothing_is_written() -> None:
    conn, rec = _setup()
    plan_id = _shared_schedule_plan(conn, rec)
    plan = conn.get_plan(plan_id)
    assert plan.schedule is not None
    rec.sent.clear()
    with pytest.raises(UnsupportedOperationError, match="shared with"):
        conn.update_plan(plan_id, _weekly(name=plan.name))
    assert rec.writes() == []
    # The same schedule as it has (read back in UTC): only the name changes, the shared schedule is untouched.
    same = PlanSpec(name="Renamed", what=BackupTarget.VM, schedule=plan.schedule)
    assert conn.update_plan(plan_id, same).schedule == plan.schedule
    assert rec.writes() == [("PUT", f"/policies/vm-backup/{plan_id}")]


def test_a_policy_on_several_schedules_is_refused_for_a_schedule_change() -> None:
    conn, rec = _setup()
    plan_id = next(
        key
        for key, policy in rec.sim.policies["vm-backup"].items()
        if sum(len(rec.sim.rules[r["guid"]]["schedules"]) for r in policy["rules"]) > 1
    )
    rec.sent.clear()
    with pytest.raises(UnsupportedOperationError, match="runs on 2 schedules"):
        conn.update_plan(plan_id, _weekly())
    assert rec.writes() == []


def test_machines_in_another_policy_unknown_ones_and_other_kinds_are_refused() -> None:
    conn, rec = _setup()
    plan_id, free = _own_plan(conn, rec)
    taken = next(k for k, vm in rec.sim.vms.items() if vm.get("vmBackupPolicy", {}) and k not in free)
    with pytest.raises(UnsupportedOperationError, match="already in policy"):
        conn.update_plan(plan_id, _weekly((free[0], taken)))
    with pytest.raises(NotFoundError):
        conn.update_plan(plan_id, _weekly(("00000000-0000-4000-8000-000000000000",)))
    with pytest.raises(NotFoundError):
        conn.update_plan("00000000-0000-4000-8000-000000000000", _weekly())
    storage = next(iter(rec.sim.policies["storage-backup"]))
    with pytest.raises(UnsupportedOperationError, match="storage-backup"):
        conn.update_plan(storage, _weekly())
    project = rec.sim.projects[-1]["guid"]
    if project != rec.sim.policies["vm-backup"][plan_id]["project"]:
        with pytest.raises(UnsupportedOperationError, match="project"):
            conn.update_plan(plan_id, _weekly(company_id=project))
    assert rec.writes() == []


def test_a_failing_policy_write_undoes_the_schedule_change() -> None:
    conn, rec = _setup()
    plan_id, free = _own_plan(conn, rec)
    key = conn.get_plan(plan_id).raw["scheduleGuids"][0]
    schedule_before = json.loads(json.dumps(rec.sim.schedules[key]))
    policy_before = json.loads(json.dumps(rec.sim.policies["vm-backup"][plan_id]))
    rec.inject = lambda r: (
        httpx.Response(500, json={"error": {"message": "boom"}})
        if r.method == "PUT" and "/policies/" in r.url.path
        else None
    )
    with pytest.raises(APIError):
        conn.update_plan(plan_id, _weekly((free[2],), name="Other", schedule={"time": dt.time(4)}))
    after = rec.sim.schedules[key]
    assert {k: after[k] for k in schedule_before} == schedule_before
    assert not any(v for k, v in after.items() if k not in schedule_before)  # what the change added is emptied
    assert rec.sim.policies["vm-backup"][plan_id] == policy_before
    assert [m for m, _ in rec.writes()] == ["PUT", "PUT", "PUT"]  # schedule, policy (failed), schedule back


@pytest.mark.parametrize("operation", ["disable_plan", "enable_plan"])
def test_enable_and_disable_send_the_policy_back_whole_with_only_active_changed(operation: str) -> None:
    conn, rec = _setup()
    plan = next(p for p in conn.list_plans() if p.what is BackupTarget.VM)
    as_read = json.loads(json.dumps(rec.sim.policies["vm-backup"][plan.id]))
    rec.sent.clear()
    getattr(conn, operation)(plan.id)
    (put,) = [body for method, _, body in rec.sent if method == "PUT"]
    assert put == {**as_read, "active": operation == "enable_plan"}
    assert rec.writes() == [("PUT", f"/policies/vm-backup/{plan.id}")]
    assert conn.get_plan(plan.id).enabled is (operation == "enable_plan")


def test_update_plan_over_the_async_connection() -> None:
    sim = VProtectSimulator(SimulatorOptions(seed=5, size=40))
    free = [key for key, vm in sim.vms.items() if not vm.get("vmBackupPolicy")]

    async def main() -> tuple[Any, Any]:
        async with connect_async(
            "vprotect", transport=SimulatorTransport(sim.handle), clock=sim.now, **sim.credentials
        ) as aconn:
            created = await aconn.create_plan(_weekly((free[0],)))
            assert created.plan_id is not None
            updated = await aconn.update_plan(created.plan_id, _weekly(schedule={"time": dt.time(5, 15)}))
            return updated, await aconn.get_plan(created.plan_id)

    updated, read = asyncio.run(main())
    assert updated == read and updated.schedule.time == dt.time(5, 15)


def test_migrate_apply_completes_a_composite_cut_short_on_its_next_run(tmp_path: Path) -> None:
    """A run whose rule POST failed and whose undo could not land either leaves a policy without a schedule;
    the next ``migrate apply`` gives it its schedule through update_plan (it was taken as migrated before),
    and a third run changes nothing."""
    conn, rec = _setup()
    vm_key = _free(rec)[0]
    vm = rec.sim.vms[vm_key]
    project = vm["project"]
    spec = _weekly(name="Migrated nightly", schedule={"timezone": "Europe/Berlin"})
    data: dict[str, Any] = {
        "migration_id": "m-vprotect-1",
        "target": {"vendor": "vprotect", "account": conn.account},
        "companies": [
            {
                "source_id": "c1",
                "action": "match",
                "target_id": project["guid"],
                "target_name": project["name"],
                "devices": [{"source_id": "d1", "hostname": vm["name"], "os": "unknown", "timezone": "UTC"}],
            }
        ],
        "plans": [
            {
                "source_id": "p1",
                "status": "ready",
                "refused_reason": None,
                "spec": spec_to_json(spec),
                "source_company_id": "c1",
                "source_device_ids": ["d1"],
            }
        ],
    }
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    journal = Journal(store, data["migration_id"])
    rec.inject = lambda r: (
        httpx.Response(503, json={"error": {"message": "down"}})
        if (r.method == "POST" and r.url.path.endswith("/rules/vm-backup"))
        or (r.method == "DELETE" and "/policies/" in r.url.path)
        else None
    )
    with pytest.raises(MigrationError, match="step plan:p1"):
        apply_plan(data, conn, journal)
    (half,) = [p for p in conn.list_plans() if p.name == "Migrated nightly"]
    assert half.schedule is None and half.device_ids == (vm_key,)
    rec.inject = None
    result = apply_plan(data, conn, journal)
    assert result.written == ["plan:p1"]
    (done,) = [p for p in conn.list_plans() if p.name == "Migrated nightly"]
    assert done.id == half.id and done.schedule is not None
    assert (done.schedule.time, done.schedule.weekdays) == (dt.time(0, 30), (Weekday.TUESDAY,))  # 01:30 Berlin
    assert journal.entries()["plan:p1"].state == "done"
    rec.sent.clear()
    again = apply_plan(data, conn, journal)
    assert again.written == [] and "plan:p1" in again.skipped and rec.writes() == []
    store.close()


@pytest.mark.parametrize("shape", ["missing", "odd"])
def test_a_schedule_that_does_not_say_who_uses_it_is_not_changed(shape: str) -> None:
    """Without its rules/policies back-references (absent, or in a shape no doc shows) the schedule may be
    shared: the change is refused, never sent."""
    conn, rec = _setup()
    plan_id, _ = _own_plan(conn, rec)
    key = conn.get_plan(plan_id).raw["scheduleGuids"][0]
    for field in ("rules", "policies"):
        if shape == "missing":
            del rec.sim.schedules[key][field]
        else:
            rec.sim.schedules[key][field] = "all of them"
    rec.sent.clear()
    with pytest.raises(UnsupportedOperationError, match="does not say which rules use it"):
        conn.update_plan(plan_id, _weekly(schedule={"time": dt.time(3)}))
    assert rec.writes() == []
    assert conn.get_plan(plan_id).schedule is not None  # the record still reads
