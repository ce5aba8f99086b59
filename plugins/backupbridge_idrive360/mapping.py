"""IDrive 360 <-> the neutral model. Status tables are data; ``docs/vendors/idrive360.md`` lists them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from backupbridge import (
    BackupTarget,
    Company,
    CompanyStatus,
    Destination,
    Device,
    DeviceStatus,
    Frequency,
    Job,
    JobStatus,
    Notification,
    NotifyWhen,
    OSFamily,
    Plan,
    PlanSpec,
    Schedule,
    ValidationError,
    Weekday,
)
from backupbridge.plugin import with_timezone

from .records import BackupPlanRecord, CompanyRecord, DeviceRecord, ScheduleInfo
from .vocabulary import MONTHS

VENDOR = "idrive360"

DEVICE_STATUS: Mapping[str, DeviceStatus] = {
    "online": DeviceStatus.ONLINE,
    "offline": DeviceStatus.OFFLINE,
    "blocked": DeviceStatus.BLOCKED,
    "archived": DeviceStatus.ARCHIVED,
    "canceled": DeviceStatus.INACTIVE,
    "cancelled": DeviceStatus.INACTIVE,
}
# backup_status: the docs' table says Success/Failed/In Progress/Cancelled, their example says "Failure".
BACKUP_STATUS: Mapping[str, JobStatus] = {
    "success": JobStatus.SUCCESS,
    "failed": JobStatus.FAILED,
    "failure": JobStatus.FAILED,
    "in progress": JobStatus.RUNNING,
    "cancelled": JobStatus.CANCELLED,
    "canceled": JobStatus.CANCELLED,
}
OS_FAMILY: Mapping[str, OSFamily] = {
    "windows": OSFamily.WINDOWS,
    "win": OSFamily.WINDOWS,
    "mac": OSFamily.MACOS,
    "macos": OSFamily.MACOS,
    "linux": OSFamily.LINUX,
}
COMPANY_STATUS: Mapping[str, CompanyStatus] = {
    "active": CompanyStatus.ACTIVE,
    "inactive": CompanyStatus.INACTIVE,
}
FREQUENCY: Mapping[str, Frequency] = {
    "MONTHLY": Frequency.MONTHLY,
    "WEEKLY": Frequency.WEEKLY,
    "DAILY": Frequency.DAILY,
    "HOURLY": Frequency.HOURLY,
    "IMMEDIATE": Frequency.IMMEDIATE,
}
WHAT: Mapping[str, BackupTarget] = {"FILE_FOLDER": BackupTarget.FILES, "ENTIRE_MACHINE": BackupTarget.ENTIRE_MACHINE}
WHERE: Mapping[str, Destination] = {"CLOUD": Destination.CLOUD, "LOCAL": Destination.LOCAL}
NOTIFY: Mapping[str, NotifyWhen] = {
    "ALWAYS": NotifyWhen.ALWAYS,
    "ON_FAILURE": NotifyWhen.ON_FAILURE,
    "NEVER": NotifyWhen.NEVER,
}
WEEKDAY: Mapping[str, Weekday] = {
    "SUN": Weekday.SUNDAY,
    "MON": Weekday.MONDAY,
    "TUE": Weekday.TUESDAY,
    "WED": Weekday.WEDNESDAY,
    "THU": Weekday.THURSDAY,
    "FRI": Weekday.FRIDAY,
    "SAT": Weekday.SATURDAY,
}
MONTH_NUMBER: Mapping[str, int] = {name: index for index, name in enumerate(MONTHS, start=1)}

# Options a neutral PlanSpec may carry for IDrive 360, passed through to the request body.
PLAN_OPTIONS = (
    "exclude_hidden",
    "exclude_system",
    "enable_cdp",
    "cdp_frequency",
    "exclude_partial",
    "group_ids",
    "start_missed_backup",
    "local_dest_path",
)


_MISS = object()
_SPELLINGS: dict[tuple[int, str], Any] = {}
"""(table, the vendor's spelling) -> what the table says for it (or ``_MISS``): the vendor writes "Success"
and "In Progress" where the tables are lower-case, so every device missed the exact lookup; bounded."""


def _lookup(table: Mapping[str, Any], value: str | None, default: Any) -> Any:
    if value is None:
        return default
    found = table.get(value)
    if found is not None:
        return found
    key = (id(table), value)
    found = _SPELLINGS.get(key)
    if found is None:
        found = table.get(value.strip().lower(), table.get(value.strip(), _MISS))
        if len(_SPELLINGS) >= 4096:
            _SPELLINGS.clear()
        _SPELLINGS[key] = found
    return default if found is _MISS else found


def company_status(record: CompanyRecord) -> tuple[CompanyStatus, str | None]:
    if record.status_description:
        status = _lookup(COMPANY_STATUS, record.status_description, CompanyStatus.UNKNOWN)
    elif record.status == 1:
        status = CompanyStatus.ACTIVE
    else:
        status = CompanyStatus.UNKNOWN
    vendor_value = record.status_description or (str(record.status) if record.status is not None else None)
    return status, vendor_value


def company(record: CompanyRecord, raw: Mapping[str, Any], *, account: str, parent_id: str | None) -> Company:
    status, vendor_status = company_status(record)
    return Company(
        vendor=VENDOR,
        account=account,
        id=record.company_id,
        name=record.name,
        parent_id=parent_id,
        status=status,
        vendor_status=vendor_status,
        raw=raw,
    )


def flatten_companies(
    record: CompanyRecord, raw: Mapping[str, Any], *, account: str, parent_id: str | None = None
) -> Iterator[Company]:
    """The company tree as a flat list, each sub-company with ``parent_id`` set."""
    top_raw = {k: v for k, v in raw.items() if k != "sub_company_list"}
    yield company(record, top_raw, account=account, parent_id=parent_id)
    raw_children = raw.get("sub_company_list") or []
    for child, child_raw in zip(record.sub_company_list, raw_children, strict=False):
        yield from flatten_companies(child, child_raw, account=account, parent_id=record.company_id)


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def device(record: DeviceRecord, raw: Mapping[str, Any], *, account: str, tz: dt.tzinfo) -> Device:
    tag = _blank_to_none(record.custom_tag)
    return Device(
        vendor=VENDOR,
        account=account,
        id=record.device_id,
        name=record.name or record.device_id,
        company_id=record.company_id,
        os=_lookup(OS_FAMILY, record.os, OSFamily.UNKNOWN if record.os is None else OSFamily.OTHER),
        vendor_os=record.os,
        status=_lookup(DEVICE_STATUS, record.status, DeviceStatus.UNKNOWN),
        vendor_status=record.status,
        agent_version=record.version,
        last_backup_at=with_timezone(record.last_backup, tz),
        last_backup_status=_lookup(BACKUP_STATUS, record.backup_status, JobStatus.UNKNOWN),
        vendor_backup_status=record.backup_status,
        next_backup_at=with_timezone(record.next_backup, tz),
        tags=(tag,) if tag else (),
        raw=raw,
    )


def last_run(record: DeviceRecord, raw: Mapping[str, Any], *, account: str, tz: dt.tzinfo) -> Job | None:
    """The one run IDrive 360 shows per device: its last backup (``None`` if it never ran).

    ``last_backup`` is documented as the time of the last *successful* backup, so it is the run's
    ``finished_at`` only when that run succeeded; a failed last run has no known time.
    """
    if record.backup_status is None and record.last_backup is None:
        return None
    status = _lookup(BACKUP_STATUS, record.backup_status, JobStatus.UNKNOWN)
    reason = _blank_to_none(record.backup_failure_reason)
    if reason and reason.upper() == "NA":
        reason = None
    plan_id = None
    if record.user_backup_sets and record.next_scheduled_backupset_name in record.user_backup_sets:
        plan_id = record.user_backup_sets[record.next_scheduled_backupset_name].backup_id
    return Job(
        vendor=VENDOR,
        account=account,
        id=f"{record.device_id}:last",
        device_id=record.device_id,
        plan_id=plan_id,
        company_id=record.company_id,
        status=status,
        vendor_status=record.backup_status,
        finished_at=with_timezone(record.last_backup, tz) if status is JobStatus.SUCCESS else None,
        error=reason if status is not JobStatus.SUCCESS else None,
        raw=raw,
    )


def _time_of_day(value: str | None) -> dt.time | None:
    if not value:
        return None
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        return None


def _weekdays(info: ScheduleInfo) -> tuple[Weekday, ...]:
    if info.days:
        if "ALL" in info.days:
            return tuple(Weekday)
        return tuple(WEEKDAY[d] for d in info.days if d in WEEKDAY)
    if info.frequency_type == "DAILY" and info.daily_mode == "WEEKDAYS":
        return Weekday.workdays()
    return ()


def _month_days(info: ScheduleInfo) -> tuple[int, ...]:
    days: list[int] = []
    for value in info.dates or ():
        if value == "ALL_DAYS":
            return tuple(range(1, 32))
        if value == "LAST_DAY":
            days.append(-1)
        elif value.isdigit():
            days.append(int(value))
    return tuple(days)


def _months(info: ScheduleInfo) -> tuple[int, ...]:
    if info.months and "ALL" in info.months:
        return tuple(range(1, 13))
    return tuple(MONTH_NUMBER[m] for m in info.months or () if m in MONTH_NUMBER)


def schedule(info: ScheduleInfo) -> Schedule:
    return Schedule(
        frequency=FREQUENCY.get(info.frequency_type or "", Frequency.UNKNOWN),
        time=_time_of_day(info.time),
        weekdays=_weekdays(info),
        month_days=_month_days(info),
        months=_months(info),
        cutoff=_time_of_day(info.cutoff_time),
        enabled=not info.disabled,
        vendor_frequency=info.frequency_type,
    )


def plan(record: BackupPlanRecord, raw: Mapping[str, Any], *, account: str, company_id: str | None) -> Plan:
    details = record.backup_details
    what = details.what_to_backup if details else None
    where = details.where_to_backup if details else None
    info = record.schedule_info
    notification = None
    if info is not None and (info.emails or info.send_email_notification):
        notification = Notification(
            emails=info.emails,
            when=NOTIFY.get(info.send_email_notification or "", NotifyWhen.UNKNOWN),
            vendor_value=info.send_email_notification,
        )
    device_companies = {d.company_id for d in record.devices if d.company_id}
    return Plan(
        vendor=VENDOR,
        account=account,
        id=record.backup_id,
        name=record.name or record.backup_id,
        company_id=company_id or (device_companies.pop() if len(device_companies) == 1 else None),
        device_ids=record.device_ids,
        enabled=record.is_backup_enabled if record.is_backup_enabled is not None else True,
        what=WHAT.get(what or "", BackupTarget.UNKNOWN),
        vendor_what=what,
        items=tuple(details.items_to_backup or ()) if details else (),
        destination=WHERE.get(where or "", Destination.UNKNOWN),
        vendor_destination=where,
        schedule=schedule(info) if info is not None else None,
        notification=notification,
        raw=raw,
    )


# -- neutral -> IDrive 360 ------------------------------------------------------------------------

_WHAT_OUT = {v: k for k, v in WHAT.items()}
_WHERE_OUT = {v: k for k, v in WHERE.items()}
_NOTIFY_OUT = {v: k for k, v in NOTIFY.items()}
_WEEKDAY_OUT = {v: k for k, v in WEEKDAY.items()}


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError(message, field=field, vendor=VENDOR, operation="create_plan")


def notification_request(notification: Notification) -> tuple[list[str], str]:
    """A neutral notification as IDrive's ``(emails, type)``."""
    if notification.when not in _NOTIFY_OUT:
        raise ValidationError(
            "notification.when must be ALWAYS, ON_FAILURE or NEVER for IDrive 360",
            field="when",
            vendor=VENDOR,
            operation="set_notifications",
        )
    return list(notification.emails), _NOTIFY_OUT[notification.when]


def _scheduler(spec: PlanSpec) -> dict[str, Any]:
    sched = spec.schedule
    if sched.time is None:
        raise _invalid("schedule.time", "IDrive 360 needs the time of day a plan runs (schedule.time)")
    out: dict[str, Any] = {"time": sched.time.replace(microsecond=0).isoformat(), "disable_schedule": not sched.enabled}
    freq = sched.frequency
    if freq is Frequency.DAILY:
        days = set(sched.weekdays)
        if not days or days == set(Weekday):
            out["daily_mode"] = "ALL_DAYS"
        elif days == set(Weekday.workdays()):
            out["daily_mode"] = "WEEKDAYS"
        else:
            raise _invalid(
                "schedule.weekdays",
                "IDrive 360 daily schedules run every day or on weekdays only; use a WEEKLY schedule for other days",
            )
    elif freq is Frequency.WEEKLY:
        if not sched.weekdays:
            raise _invalid("schedule.weekdays", "a WEEKLY schedule needs weekdays")
        out["days"] = [_WEEKDAY_OUT[d] for d in sched.weekdays]
    elif freq is Frequency.MONTHLY:
        if not sched.month_days:
            raise _invalid("schedule.month_days", "a MONTHLY schedule needs month_days")
        bad = [d for d in sched.month_days if not (d == -1 or 1 <= d <= 31)]
        if bad:
            raise _invalid("schedule.month_days", f"month_days must be 1-31 or -1 (last day); got {bad}")
        bad_months = [m for m in sched.months if not 1 <= m <= 12]
        if bad_months:
            raise _invalid("schedule.months", f"months must be 1-12; got {bad_months}")
        out["months"] = [MONTHS[m - 1] for m in sched.months] if sched.months else ["ALL"]
        out["dates"] = ["LAST_DAY" if d == -1 else str(d) for d in sched.month_days]
    elif freq not in (Frequency.HOURLY, Frequency.IMMEDIATE):
        raise _invalid(
            "schedule.frequency",
            f"IDrive 360 has no {freq.value} schedule (continuous protection is options['enable_cdp'])",
        )
    out["frequency_type"] = freq.value.upper()
    if sched.cutoff is not None:
        out["cutoff_time"] = sched.cutoff.replace(microsecond=0).isoformat()
    if spec.notification is not None:
        emails, when = notification_request(spec.notification)
        out["email"] = emails
        out["send_email_notification"] = when
    return out


def plan_request(spec: PlanSpec) -> dict[str, Any]:
    """A neutral ``PlanSpec`` as the body of ``POST /backup_plan`` (checked again by the client)."""
    unknown = sorted(set(spec.options) - set(PLAN_OPTIONS))
    if unknown:
        raise _invalid("options", f"unknown IDrive 360 plan options {unknown}; known: {', '.join(PLAN_OPTIONS)}")
    if spec.what not in _WHAT_OUT:
        raise _invalid("what", f"IDrive 360 plans back up files or the entire machine, not {spec.what.value}")
    if spec.destination not in _WHERE_OUT:
        raise _invalid("destination", f"IDrive 360 plans back up to CLOUD or LOCAL, not {spec.destination.value}")
    details: dict[str, Any] = {"what_to_backup": _WHAT_OUT[spec.what], "where_to_backup": _WHERE_OUT[spec.destination]}
    if spec.items:
        details["items_to_backup"] = list(spec.items)
    if "local_dest_path" in spec.options:
        details["local_dest_path"] = spec.options["local_dest_path"]
    scheduler = _scheduler(spec)
    if "start_missed_backup" in spec.options:
        scheduler["start_missed_backup"] = spec.options["start_missed_backup"]
    body: dict[str, Any] = {
        "name": spec.name,
        "device_ids": list(spec.device_ids),
        "group_ids": list(spec.options.get("group_ids", [])),
        "backup_details": details,
        "scheduler": scheduler,
    }
    if spec.company_id is not None:
        body["company_id"] = spec.company_id
    for key in ("exclude_hidden", "exclude_system", "enable_cdp", "cdp_frequency", "exclude_partial"):
        if key in spec.options:
            body[key] = spec.options[key]
    return body
