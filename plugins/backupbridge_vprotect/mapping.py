"""vProtect <-> the neutral model. Status tables are data; ``docs/vendors/vprotect.md`` lists them."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from typing import Any

from backupbridge import (
    BackupTarget,
    Company,
    CompanyStatus,
    Device,
    DeviceStatus,
    Frequency,
    Job,
    JobKind,
    JobStatus,
    OSFamily,
    Plan,
    PlanSpec,
    Schedule,
    UnsupportedOperationError,
    Weekday,
)

from .records import (
    BackupRecord,
    EnumValue,
    PolicyRecord,
    Ref,
    ScheduleRecord,
    TaskRecord,
    VirtualMachineRecord,
    epoch_ms,
)

VENDOR = "vprotect"

BACKUP_STATUS: Mapping[str, JobStatus] = {
    "SUCCESS": JobStatus.SUCCESS,
    "SUCCESS_REMOVED": JobStatus.SUCCESS,  # succeeded; its data was removed later by retention
    "PARTIAL_SUCCESS": JobStatus.WARNING,
    "FAILED": JobStatus.FAILED,
    "INPROGRESS": JobStatus.RUNNING,
    "QUEUED": JobStatus.QUEUED,
}
BACKUP_KIND: Mapping[str, JobKind] = {
    "FULL": JobKind.FULL,
    "INCREMENTAL": JobKind.INCREMENTAL,
    "SYNTHETIC": JobKind.SYNTHETIC,
    "SYNCHRONIZATION": JobKind.OTHER,
}
TASK_STATUS: Mapping[str, JobStatus] = {
    "QUEUED": JobStatus.QUEUED,
    "RUNNING": JobStatus.RUNNING,
    "FINISHED": JobStatus.SUCCESS,
    "FAILED": JobStatus.FAILED,
    "CANCELLED": JobStatus.CANCELLED,
}
POLICY_TARGET: Mapping[str, BackupTarget] = {
    "vm-backup": BackupTarget.VM,
    "storage-backup": BackupTarget.FILES,
    "cloud-backup": BackupTarget.APPLICATION,
    "app-backup": BackupTarget.APPLICATION,
}
DAY: Mapping[str, Weekday] = {
    "MONDAY": Weekday.MONDAY,
    "TUESDAY": Weekday.TUESDAY,
    "WEDNESDAY": Weekday.WEDNESDAY,
    "THURSDAY": Weekday.THURSDAY,
    "FRIDAY": Weekday.FRIDAY,
    "SATURDAY": Weekday.SATURDAY,
    "SUNDAY": Weekday.SUNDAY,
}
MONTH: Mapping[str, int] = {
    name: number
    for number, name in enumerate(
        (
            "JANUARY",
            "FEBRUARY",
            "MARCH",
            "APRIL",
            "MAY",
            "JUNE",
            "JULY",
            "AUGUST",
            "SEPTEMBER",
            "OCTOBER",
            "NOVEMBER",
            "DECEMBER",
        ),
        1,
    )
}
DAY_MS = 24 * 3600 * 1000


def _name(value: EnumValue | None) -> str | None:
    return value.name if value is not None else None


def company(project: Ref, *, account: str) -> Company:
    """A project (the tenant scope of ``project-uuid``)."""
    return Company(
        vendor=VENDOR,
        account=account,
        id=project.guid,
        name=project.name or project.guid,
        status=CompanyStatus.ACTIVE,
        raw={"guid": project.guid, "name": project.name},
    )


def device(record: VirtualMachineRecord, raw: Mapping[str, Any], *, account: str) -> Device:
    present = record.present
    status = DeviceStatus.UNKNOWN if present is None else (DeviceStatus.ONLINE if present else DeviceStatus.ARCHIVED)
    return Device(
        vendor=VENDOR,
        account=account,
        id=record.guid,
        name=record.name or record.guid,
        company_id=record.project.guid if record.project else None,
        os=OSFamily.UNKNOWN,
        vendor_os=_name(record.hvType),
        status=status,
        vendor_status=None if present is None else ("present" if present else "not present"),
        last_backup_status=JobStatus.UNKNOWN
        if record.backupUpToDate is None
        else (JobStatus.SUCCESS if record.backupUpToDate else JobStatus.MISSED),
        vendor_backup_status=None
        if record.backupUpToDate is None
        else f"backupUpToDate={str(record.backupUpToDate).lower()}",
        raw=raw,
    )


def _time(ms: int | None) -> dt.time | None:
    if ms is None:
        return None
    seconds = (ms % DAY_MS) // 1000
    return dt.time(seconds // 3600, (seconds % 3600) // 60, seconds % 60)


def schedule(record: ScheduleRecord) -> Schedule:
    """``hour`` is milliseconds after *UTC* midnight, so ``Schedule.time`` is a UTC time of day here."""
    execution = _name(record.executionType)
    days = tuple(DAY[d.name] for d in record.daysOfWeek or () if d.name in DAY)
    months = tuple(MONTH[m.name] for m in record.months or () if m.name in MONTH)
    occurrences = [o.name for o in record.dayOfWeekOccurrences or ()]
    if execution == "INTERVAL":
        frequency = Frequency.HOURLY
        every = record.interval.frequency if record.interval else None
        interval = dt.timedelta(milliseconds=every) if every else None
        start = _time(record.interval.startHour) if record.interval else None
    else:
        if occurrences or (months and len(months) < 12):
            frequency = Frequency.MONTHLY
        elif days and len(days) < 7:
            frequency = Frequency.WEEKLY
        elif execution == "TIME":
            frequency = Frequency.DAILY
        else:
            frequency = Frequency.UNKNOWN
        interval, start = None, _time(record.hour)
    return Schedule(
        frequency=frequency,
        time=start,
        weekdays=days if frequency in (Frequency.WEEKLY, Frequency.MONTHLY) else (),
        months=months if frequency is Frequency.MONTHLY else (),
        interval=interval,
        grace=dt.timedelta(milliseconds=record.startWindowLength) if record.startWindowLength else None,
        enabled=record.active is not False,
        timezone="UTC",
        vendor_frequency=execution,
    )


def plan(
    record: PolicyRecord,
    raw: Mapping[str, Any],
    *,
    account: str,
    kind: str,
    device_ids: tuple[str, ...],
    schedules: list[ScheduleRecord],
) -> Plan:
    """A policy; its first rule's first schedule is ``Plan.schedule`` (every schedule guid stays in ``raw``)."""
    return Plan(
        vendor=VENDOR,
        account=account,
        id=record.guid,
        name=record.name or record.guid,
        company_id=record.project.guid if record.project else None,
        device_ids=device_ids,
        enabled=record.active is not False,
        what=POLICY_TARGET.get(kind, BackupTarget.OTHER),
        vendor_what=kind,
        schedule=schedule(schedules[0]) if schedules else None,
        raw={**raw, "scheduleGuids": [s.guid for s in schedules]},
    )


def job(record: BackupRecord, raw: Mapping[str, Any], *, account: str, plan_of_rule: Mapping[str, str]) -> Job:
    status = _name(record.status)
    job_status = BACKUP_STATUS.get(status or "", JobStatus.UNKNOWN)
    warnings = [w for w in record.warnings or () if w]
    error = (record.statusInfo or "").strip() or None
    if error is None and job_status is JobStatus.WARNING and warnings:
        error = "; ".join(warnings)
    if job_status is JobStatus.SUCCESS:
        error = None
    entity = record.protectedEntity
    return Job(
        vendor=VENDOR,
        account=account,
        id=record.guid,
        device_id=entity.guid if entity else None,
        plan_id=plan_of_rule.get(record.backupRule.guid) if record.backupRule else None,
        company_id=record.sourceProject.guid if record.sourceProject else None,
        status=job_status,
        vendor_status=status,
        kind=BACKUP_KIND.get(_name(record.type) or "", JobKind.UNKNOWN),
        started_at=epoch_ms(record.snapshotTime),
        finished_at=epoch_ms(record.backupTime) if job_status not in (JobStatus.RUNNING, JobStatus.QUEUED) else None,
        size_bytes=record.size,
        error=error,
        raw=raw,
    )


def task_job(record: TaskRecord, raw: Mapping[str, Any], *, account: str) -> Job:
    """A live task (queued or running export/store) as a run that has not produced a backup yet."""
    state = _name(record.state)
    entity = record.protectedEntity
    return Job(
        vendor=VENDOR,
        account=account,
        id=f"task:{record.guid}",
        device_id=entity.guid if entity else None,
        status=TASK_STATUS.get(state or "", JobStatus.UNKNOWN),
        vendor_status=f"task {state}" if state else None,
        kind=BACKUP_KIND.get(_name(record.backupType) or "", JobKind.UNKNOWN),
        started_at=epoch_ms(record.windowStart),
        raw=raw,
    )


# -- neutral -> vProtect (create_plan: a schedule, a vm-backup policy, a rule joining them) -----------

_DAY_OUT = {v: k for k, v in DAY.items()}
_WEEK = list(Weekday)


def _refuse(reason: str) -> UnsupportedOperationError:
    return UnsupportedOperationError(VENDOR, "create_plan", reason)


def schedule_request(spec: PlanSpec, zone: dt.tzinfo, today: dt.date) -> dict[str, Any]:
    """The body of ``POST /schedules`` for a spec; what vProtect cannot carry is refused, never dropped.

    ``hour`` is milliseconds after UTC midnight: the spec's time (in ``spec.schedule.timezone``, else the
    account's zone ``zone``) is converted at ``today``'s offset, its weekdays moved with it across midnight.
    """
    sched = spec.schedule
    if spec.what is not BackupTarget.VM:
        raise _refuse(f"the neutral create_plan makes vm-backup policies, not {spec.what.value} ones")
    if spec.items:
        raise _refuse("a vm-backup policy backs up whole machines: items have no place in it")
    if spec.retention is not None:
        raise _refuse("retention belongs to the backup destination in vProtect, not to the policy")
    if spec.notification is not None:
        raise _refuse("notifications are configured on the vProtect server")
    if sched.cutoff is not None or sched.month_days or sched.months:
        raise _refuse("vProtect schedules have no cut-off time, days of the month or months here")
    if sched.frequency not in (Frequency.DAILY, Frequency.WEEKLY, Frequency.HOURLY):
        raise _refuse(f"no {sched.frequency.value} schedule is built for vProtect (daily, weekly, hourly)")
    if sched.frequency is Frequency.WEEKLY and not sched.weekdays:
        raise _refuse("a weekly schedule needs weekdays")
    if sched.interval is not None and sched.frequency is not Frequency.HOURLY:
        raise _refuse("only hourly vProtect schedules take an interval")
    start = sched.time or dt.time(0, 0)
    if sched.timezone is not None:
        zone = zoneinfo.ZoneInfo(sched.timezone)
    local = dt.datetime.combine(today, start, tzinfo=zone)
    utc = local.astimezone(dt.UTC)
    shift = (utc.date() - local.date()).days
    ms = ((utc.hour * 60 + utc.minute) * 60 + utc.second) * 1000
    days = [_WEEK[(_WEEK.index(d) + shift) % 7] for d in sched.weekdays]
    body: dict[str, Any] = {
        "name": f"{spec.name} schedule",
        "active": sched.enabled,
        "backupType": {"name": "INCREMENTAL"},
        "type": {"name": "VM_BACKUP"},
        "daysOfWeek": [{"name": _DAY_OUT[d]} for d in days] if sched.frequency is not Frequency.DAILY or days else [],
    }
    if sched.frequency is Frequency.HOURLY:
        every = sched.interval or dt.timedelta(hours=1)
        body["executionType"] = {"name": "INTERVAL"}
        body["interval"] = {"startHour": ms, "endHour": DAY_MS, "frequency": int(every.total_seconds() * 1000)}
    else:
        body["executionType"] = {"name": "TIME"}
        body["hour"] = ms
    if sched.grace is not None:
        body["startWindowLength"] = int(sched.grace.total_seconds() * 1000)
    return body


def policy_request(spec: PlanSpec) -> dict[str, Any]:
    """The body of ``POST /policies/vm-backup``: the machines assigned, auto-assignment off."""
    body: dict[str, Any] = {
        "name": spec.name,
        "active": True,
        "priority": int(spec.options.get("priority", 50)),
        "autoAssignMode": "DISABLED",
        "vms": [{"guid": d} for d in spec.device_ids],
    }
    if spec.company_id is not None:
        body["project"] = {"guid": spec.company_id}
    if "backup_destination" in spec.options:
        body["backupDestinations"] = [{"guid": str(spec.options["backup_destination"])}]
    return body
