"""vProtect's plan writes on the policies, rules and schedules controllers: ``create_plan`` (the composite
the API needs), ``update_plan``, ``enable_plan``/``disable_plan`` and ``delete_plan``.

Every argument is checked before any request (``ValidationError``); what vProtect cannot carry (file plans,
items, retention, notifications, cut-off, days of the month, months) is refused with
``UnsupportedOperationError`` naming the operation, never dropped. ``Schedule.timezone`` is honoured: the
time is converted to vProtect's ``hour`` (milliseconds after UTC midnight) at today's offset, its weekdays
moved with it across midnight. A write that fails after an earlier one landed undoes the earlier ones in
reverse.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

from backupbridge import (
    BackupBridgeError,
    Frequency,
    NotFoundError,
    Plan,
    PlanCreation,
    PlanSpec,
    Schedule,
    UnsupportedOperationError,
    Weekday,
)
from backupbridge.plugin import Call, Op, Reply, invalid_for

from . import mapping
from .client import POLICY_KINDS, VENDOR, guid
from .records import PolicyRecord, ScheduleRecord, VirtualMachineRecord

if TYPE_CHECKING:
    from .driver import VProtectDriver

__all__ = ["OPTIONS", "check_spec", "create", "delete", "find_policy", "request_bodies", "set_active", "update"]

Steps = Generator[Call, Reply, Any]
OPTIONS = ("priority", "backup_destination")
"""The vendor options a plan spec may carry: the policy's ``priority`` (0-100) and its backup destination."""

_invalid = invalid_for(VENDOR)
VMs = list[tuple[VirtualMachineRecord, Any]]


# -- the spec, checked before any request ------------------------------------------------------------------


def _check_schedule(schedule: object, operation: str) -> Schedule:
    if not isinstance(schedule, Schedule):
        raise _invalid(operation, "schedule", "schedule must be a Schedule")
    if not isinstance(schedule.frequency, Frequency):
        raise _invalid(operation, "schedule.frequency", "frequency must be a Frequency")
    if schedule.time is not None and (not isinstance(schedule.time, dt.time) or schedule.time.tzinfo is not None):
        raise _invalid(operation, "schedule.time", "time must be a datetime.time without tzinfo (see timezone)")
    if not all(isinstance(day, Weekday) for day in schedule.weekdays):
        raise _invalid(operation, "schedule.weekdays", "weekdays must be Weekday values")
    if len(set(schedule.weekdays)) != len(schedule.weekdays):
        raise _invalid(operation, "schedule.weekdays", "a weekday is given twice")
    interval = schedule.interval
    if interval is not None and (not isinstance(interval, dt.timedelta) or interval < dt.timedelta(minutes=1)):
        raise _invalid(operation, "schedule.interval", "interval must be a timedelta of at least a minute")
    if interval is not None and schedule.frequency is Frequency.HOURLY and interval > dt.timedelta(days=1):
        raise _invalid(operation, "schedule.interval", "an hourly schedule's runs are at most a day apart")
    grace = schedule.grace
    if grace is not None and (not isinstance(grace, dt.timedelta) or grace < dt.timedelta(0)):
        raise _invalid(operation, "schedule.grace", "grace must be a timedelta of zero or more")
    if not isinstance(schedule.enabled, bool):
        raise _invalid(operation, "schedule.enabled", "enabled must be True or False")
    zone = schedule.timezone
    if zone is not None:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise _invalid(operation, "schedule.timezone", f"not an IANA time zone: {zone!r:.60}") from None
    return schedule


def check_spec(spec: object, operation: str) -> PlanSpec:
    """``spec`` as a plan spec vProtect can be asked for (``ValidationError`` naming the field otherwise)."""
    if not isinstance(spec, PlanSpec):
        raise _invalid(operation, "spec", "spec must be a PlanSpec")
    if not isinstance(spec.name, str) or not spec.name.strip():
        raise _invalid(operation, "name", "a plan needs a name")
    if not isinstance(spec.options, Mapping):
        raise _invalid(operation, "options", "options must be a mapping")
    unknown = sorted(set(spec.options) - set(OPTIONS), key=str)
    if unknown:
        raise _invalid(operation, "options", f"unknown vProtect plan options {unknown}; known: {', '.join(OPTIONS)}")
    priority = spec.options.get("priority", 50)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 100:
        raise _invalid(operation, "options.priority", "priority must be an integer from 0 to 100")
    if "backup_destination" in spec.options:
        guid(spec.options["backup_destination"], operation, "options.backup_destination")
    if spec.company_id is not None:
        guid(spec.company_id, operation, "company_id")
    for device in spec.device_ids:
        guid(device, operation, "device_ids")
    if len(set(spec.device_ids)) != len(spec.device_ids):
        raise _invalid(operation, "device_ids", "a device is given twice")
    _check_schedule(spec.schedule, operation)
    return spec


def request_bodies(
    spec: object, operation: str, zone: dt.tzinfo, today: dt.date
) -> tuple[PlanSpec, dict[str, Any], dict[str, Any]]:
    """The checked spec and the bodies of its schedule and its vm-backup policy; what vProtect cannot carry
    is refused (``UnsupportedOperationError`` naming ``operation``)."""
    checked = check_spec(spec, operation)
    try:
        schedule = mapping.schedule_request(checked, zone, today)
        policy = mapping.policy_request(checked)
    except UnsupportedOperationError as exc:
        if operation == "create_plan":
            raise
        reason = exc.message.removeprefix(f"{VENDOR} does not support create_plan: ")
        raise UnsupportedOperationError(VENDOR, operation, reason.replace("create_plan", operation)) from None
    return checked, schedule, policy


# -- finding a policy whatever its kind --------------------------------------------------------------------


def find_policy(driver: VProtectDriver, wanted: str, operation: str) -> Generator[Call, Reply, tuple[str, Any, Any]]:
    """``(kind, record, raw JSON)`` of the policy ``wanted``, whichever of the four kinds it is."""
    for kind in POLICY_KINDS:
        try:
            record, raw = yield from driver.api.policies.get_pair(wanted, kind)
        except NotFoundError:
            continue
        return kind, record, raw
    raise NotFoundError(
        f"{VENDOR} has no policy {wanted}", status_code=404, vendor=VENDOR, operation=operation, field="guid"
    )


def _machines(vms: VMs, devices: tuple[str, ...], policy_guid: str | None, operation: str) -> None:
    """Every device is a known virtual machine, in no policy but ``policy_guid`` (a move is not undone)."""
    known = {vm.guid for vm, _ in vms}
    missing = [d for d in devices if d not in known]
    if missing:
        raise NotFoundError(
            f"{VENDOR} has no virtual machine {missing[0]}",
            status_code=404,
            vendor=VENDOR,
            operation=operation,
            field="device_ids",
        )
    for vm, _ in vms:
        held = vm.vmBackupPolicy
        if vm.guid in devices and held is not None and held.guid != policy_guid:
            raise UnsupportedOperationError(
                VENDOR,
                operation,
                f"virtual machine {vm.guid} is already in policy {held.guid}: move it in the console, or leave it out",
            )


# -- create_plan ---------------------------------------------------------------------------------------


def create(driver: VProtectDriver, spec: PlanSpec, dry_run: bool) -> Op[PlanCreation]:
    """``POST /schedules``, then ``POST /policies/vm-backup`` (its machines assigned), then
    ``POST /rules/vm-backup`` joining them; ``dry_run`` checks everything and sends no write."""
    operation = "create_plan"
    if not isinstance(dry_run, bool):
        raise _invalid(operation, "dry_run", "dry_run must be True or False")
    checked, schedule_body, policy_body = request_bodies(
        spec, operation, driver.context.timezone, driver.context.clock().date()
    )
    api = driver.api

    def steps() -> Steps:
        vms = yield from driver.vms()
        _machines(vms, checked.device_ids, None, operation)
        if dry_run:
            return PlanCreation(
                vendor=VENDOR, account=driver.account, plan_id=None, dry_run=True, applied_to=checked.device_ids
            )
        undo: list[tuple[str, Op[Any]]] = []
        try:
            created_schedule = yield from api.schedules.create(schedule_body)
            undo.append((f"schedule {created_schedule.guid}", api.schedules.delete(created_schedule.guid)))
            policy = yield from api.policies.create(policy_body)
            undo.append((f"policy {policy.guid}", api.policies.delete(policy.guid)))
            yield from api.rules.create(f"{checked.name} rule", policy.guid, [created_schedule.guid])
        except BackupBridgeError as exc:
            yield from _undo(undo, exc)
            raise
        plan = yield from driver.read_plan(policy.guid, "vm-backup")
        return PlanCreation(
            vendor=VENDOR,
            account=driver.account,
            plan_id=plan.id,
            dry_run=False,
            plan=plan,
            applied_to=plan.device_ids,
            not_applied_to=tuple(d for d in checked.device_ids if d not in plan.device_ids),
        )

    return Op(operation, steps)


def _undo(undo: list[tuple[str, Op[Any]]], error: BackupBridgeError) -> Steps:
    """Undo the writes that landed before ``error``, the newest first, each one tried even when an earlier undo
    failed. What could not be undone is added to ``error``'s message (the caller raises it: the error that
    stopped the write, with the vendor's status and message), so whoever reads it knows what is left on the
    controller and can remove it (``migrate apply`` also completes a policy left without its schedule)."""
    left = []
    for what, step in reversed(undo):
        try:
            yield from step
        except BackupBridgeError as failed:
            left.append(f"{what} ({failed.message})")
    if left:
        error.message = f"{error.message}; not undone, left on the controller: {'; '.join(left)}"
        error.args = (error.message, *error.args[1:])


# -- update_plan ---------------------------------------------------------------------------------------


def _names(values: tuple[Any, ...] | None) -> list[str]:
    return sorted(v.name for v in values or ())


def _schedule_change(current: ScheduleRecord, wanted: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fields of ``current`` to change so it runs as ``wanted`` (a ``POST /schedules`` body) says, or
    ``None`` when it already does. Its name, backup type and kind stay; so does the end of an interval's
    window (the neutral schedule has none); a ``startWindowLength`` the spec does not give stays too."""
    execution = wanted["executionType"]["name"]
    change: dict[str, Any] = {
        "executionType": wanted["executionType"],
        "daysOfWeek": wanted["daysOfWeek"],
        "months": [],
        "dayOfWeekOccurrences": [],
        "active": wanted["active"],
    }
    same = (
        (current.executionType.name if current.executionType else None) == execution
        and _names(current.daysOfWeek) == sorted(d["name"] for d in wanted["daysOfWeek"])
        and not current.months
        and not current.dayOfWeekOccurrences
        and (current.active is not False) == wanted["active"]
    )
    if execution == "INTERVAL":
        window = current.interval
        end = window.endHour if window is not None and window.endHour is not None else wanted["interval"]["endHour"]
        change["interval"] = {**wanted["interval"], "endHour": end}
        same = (
            same
            and window is not None
            and (window.startHour, window.frequency)
            == (
                wanted["interval"]["startHour"],
                wanted["interval"]["frequency"],
            )
        )
    else:
        change["hour"] = wanted["hour"]
        change["interval"] = None
        same = same and current.hour == wanted["hour"]
    if "startWindowLength" in wanted:
        change["startWindowLength"] = wanted["startWindowLength"]
        same = same and current.startWindowLength == wanted["startWindowLength"]
    return None if same else change


def _shared(schedule: ScheduleRecord, policy: PolicyRecord) -> str | None:
    """Why changing ``schedule`` would change other policies too (``None``: it is this policy's alone)."""
    if schedule.rules is None and schedule.policies is None:
        return f"schedule {schedule.guid} does not say which rules use it"
    own_rules = {r.guid for r in policy.rules or ()}
    others = sorted({r.guid for r in schedule.rules or ()} - own_rules)
    others += sorted({p.guid for p in schedule.policies or ()} - {policy.guid})
    if others:
        return f"schedule {schedule.name or schedule.guid} ({schedule.guid}) is shared with {', '.join(others)}"
    return None


def update(driver: VProtectDriver, plan_id: str, spec: PlanSpec) -> Op[Plan]:
    """``PUT /policies/vm-backup/{guid}`` (name, machines, priority, destination: the policy sent back whole
    with those changed) and ``PUT /schedules/{guid}`` for its schedule, when they differ from the spec.

    The policy keeps its project (another ``company_id`` is refused) and, when ``device_ids`` is empty, its
    machines; machines in another policy are refused (a move would not be undone). A schedule change needs
    the policy's own schedule: one shared with other rules or policies, or a policy running on several, is
    refused (a change would reach them too); a policy with no schedule yet gets one (``POST /schedules``,
    then a rule). A failing write undoes the earlier one; an update that changes nothing sends nothing.
    """
    operation = "update_plan"
    wanted = guid(plan_id, operation, "plan_id")
    checked, schedule_body, policy_body = request_bodies(
        spec, operation, driver.context.timezone, driver.context.clock().date()
    )
    api = driver.api

    def steps() -> Steps:
        kind, policy, raw = yield from find_policy(driver, wanted, operation)
        if kind != "vm-backup":
            raise UnsupportedOperationError(
                VENDOR, operation, f"policy {wanted} is a {kind} policy: update_plan changes vm-backup policies"
            )
        project = policy.project.guid if policy.project is not None else None
        if checked.company_id is not None and checked.company_id != project:
            raise UnsupportedOperationError(
                VENDOR, operation, f"policy {wanted} belongs to project {project}: it cannot move to another"
            )
        vms = yield from driver.vms()
        current = tuple(vm.guid for vm, _ in vms if vm.vmBackupPolicy is not None and vm.vmBackupPolicy.guid == wanted)
        devices = checked.device_ids or current
        _machines(vms, devices, wanted, operation)
        schedules: list[tuple[ScheduleRecord, Any]] = []
        for rule_ref in policy.rules or ():
            rule = yield from api.rules.get(rule_ref.guid)
            for schedule_ref in rule.schedules or ():
                schedules.append((yield from api.schedules.get_pair(schedule_ref.guid)))
        change: dict[str, Any] | None = None
        if schedules:
            changes = [_schedule_change(record, schedule_body) for record, _ in schedules]
            if len(schedules) > 1 and any(c is not None for c in changes):
                names = ", ".join(r.name or r.guid for r, _ in schedules)
                raise UnsupportedOperationError(
                    VENDOR,
                    operation,
                    f"policy {wanted} runs on {len(schedules)} schedules ({names}): change them in the console",
                )
            change = changes[0]
            if change is not None:
                reason = _shared(schedules[0][0], policy)
                if reason is not None:
                    raise UnsupportedOperationError(
                        VENDOR, operation, f"{reason}: changing it would change them too; change it in the console"
                    )
        body = {**raw, "name": checked.name, "vms": [{"guid": d} for d in devices]}
        if "priority" in checked.options:
            body["priority"] = policy_body["priority"]
        if "backupDestinations" in policy_body:
            body["backupDestinations"] = policy_body["backupDestinations"]
        same_policy = (
            policy.name == checked.name
            and set(devices) == set(current)
            and all(body.get(k) == raw.get(k) for k in ("priority", "backupDestinations"))
        )
        undo: list[tuple[str, Op[Any]]] = []
        try:
            if not schedules:  # a policy without a schedule (a composite cut short): give it one
                made = yield from api.schedules.create(schedule_body)
                undo.append((f"schedule {made.guid}", api.schedules.delete(made.guid)))
                yield from api.rules.create(f"{checked.name} rule", wanted, [made.guid])
            elif change is not None:
                record, before = schedules[0]
                yield from api.schedules.update(record.guid, {**before, **change})
                # Back as it was: the fields the change added (absent before) emptied again.
                undo.append(
                    (
                        f"the change to schedule {record.guid}",
                        api.schedules.update(record.guid, {**dict.fromkeys(change), **before}),
                    )
                )
            if not same_policy:
                yield from api.policies.update(wanted, body)
        except BackupBridgeError as exc:
            yield from _undo(undo, exc)
            raise
        return (yield from driver.read_plan(wanted, kind))

    return Op(operation, steps)


# -- enable, disable, delete ---------------------------------------------------------------------------


def set_active(driver: VProtectDriver, plan_id: str, active: bool, operation: str) -> Op[None]:
    """``PUT /policies/{kind}/{guid}`` with the policy as read and only ``active`` changed."""
    wanted = guid(plan_id, operation, "plan_id")

    def steps() -> Steps:
        kind, _, raw = yield from find_policy(driver, wanted, operation)
        yield from driver.api.policies.update(wanted, {**raw, "active": active}, kind)
        return None

    return Op(operation, steps)


def delete(driver: VProtectDriver, plan_id: str) -> Op[None]:
    """``DELETE /policies/{kind}/{guid}``: the policy goes; backups made under it stay until their retention."""
    operation = "delete_plan"
    wanted = guid(plan_id, operation, "plan_id")

    def steps() -> Steps:
        kind, _, _ = yield from find_policy(driver, wanted, operation)
        yield from driver.api.policies.delete(wanted, kind)
        return None

    return Op(operation, steps)
