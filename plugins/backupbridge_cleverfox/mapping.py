"""CleverFox <-> the neutral model. Status tables are data; ``docs/vendors/cleverfox.md`` lists them.

CleverFox's names are shifted against ours: its *Job* is a schedule (our ``Plan``), its *Log* is one run
(our ``Job``), and its *Plan* is a billing tier.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

from tzlocal.windows_tz import tz_win, win_tz

from backupbridge import (
    BackupTarget,
    Company,
    CompanyStatus,
    DecodingError,
    Destination,
    Device,
    DeviceSpec,
    DeviceStatus,
    Frequency,
    Job,
    JobStatus,
    Notification,
    NotifyWhen,
    Plan,
    PlanSpec,
    Retention,
    Schedule,
    Weekday,
)
from backupbridge.plugin import invalid_for, parse_timestamp

from .records import CompanyRecord, DeviceRecord, JobRecord, LogRecord

VENDOR = "cleverfox"

# How recently the agent must have called in (LastApiCheckAt) for a device to count as online.
ONLINE_WITHIN = dt.timedelta(hours=1)

JOB_STATUS: Mapping[str, JobStatus] = {
    "completed": JobStatus.SUCCESS,
    "failed": JobStatus.FAILED,
    "missed": JobStatus.MISSED,
}
FREQUENCY: Mapping[str, Frequency] = {
    "hourly": Frequency.HOURLY,
    "daily": Frequency.DAILY,
    "weekly": Frequency.WEEKLY,
    "monthly": Frequency.MONTHLY,
    "monthy": Frequency.MONTHLY,  # the docs' own spelling
    "one time": Frequency.ONCE,
}
FREQUENCY_OUT: Mapping[Frequency, str] = {
    Frequency.HOURLY: "Hourly",
    Frequency.DAILY: "Daily",
    Frequency.WEEKLY: "Weekly",
    Frequency.MONTHLY: "Monthly",
    Frequency.ONCE: "One Time",
}
ENGINE_TARGET: Mapping[str, BackupTarget] = {
    "file": BackupTarget.FILES,
    "folder": BackupTarget.FILES,
    "sqlserver": BackupTarget.DATABASE,
}
WEEKDAY_FLAGS: tuple[tuple[str, Weekday], ...] = (
    ("on_monday", Weekday.MONDAY),
    ("on_tuesday", Weekday.TUESDAY),
    ("on_wednesday", Weekday.WEDNESDAY),
    ("on_thursday", Weekday.THURSDAY),
    ("on_friday", Weekday.FRIDAY),
    ("on_saturday", Weekday.SATURDAY),
    ("on_sunday", Weekday.SUNDAY),
)
_SEPARATORS = re.compile(r"[:;\r\n]+")


def flag(value: bool | None) -> bool:
    """The docs: a ``null`` boolean means false."""
    return bool(value)


def emails(text: str | None) -> tuple[str, ...]:
    """Addresses separated by ``:``, ``;`` or CRLF."""
    return tuple(part.strip() for part in _SEPARATORS.split(text or "") if part.strip())


def join_emails(addresses: Sequence[str]) -> str | None:
    return ";".join(addresses) or None


@functools.lru_cache(maxsize=256)
def windows_zone(name: str | None) -> dt.tzinfo | None:
    """A Windows time-zone name (``Eastern Standard Time``) as an IANA zone, from CLDR's table."""
    if not name:
        return None
    iana = win_tz.get(name)
    if iana is None:
        try:
            return zoneinfo.ZoneInfo(name)  # some servers may already send IANA names
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return None
    return zoneinfo.ZoneInfo(iana)


def windows_name(iana: str) -> str | None:
    """The Windows name for an IANA zone (``Europe/Berlin`` -> ``W. Europe Standard Time``)."""
    if iana in ("UTC", "Etc/UTC", "GMT"):
        return "UTC"
    return tz_win.get(iana)


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A "DateTime UTC" field."""
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def local(value: dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    """A "DateTime Local" field, in the device's zone."""
    return value.replace(tzinfo=tz) if value is not None and value.tzinfo is None else value


def parse_local_text(text: str | None, tz: dt.tzinfo) -> dt.datetime | None:
    """``JobStartedOn`` is typed *String* in the docs; read it as a local timestamp when it is one within
    the converter's 1900-9000 range (.NET's "no date", 0001-01-01, is no start time; ``raw`` keeps it)."""
    if not text or not text.strip():
        return None
    try:
        parsed = parse_timestamp(text.strip())
    except ValueError:
        return None
    return local(parsed, tz)


def identity(value: int | None, field: str) -> str:
    """A record's id as a neutral id. Listings refuse id-less rows while decoding (naming the endpoint);
    this guards single reads, whose answers the docs sometimes show without the id."""
    if value is None:
        raise DecodingError(f"a CleverFox record without its {field}: it cannot be identified", vendor=VENDOR)
    return str(value)


def company(record: CompanyRecord, raw: Mapping[str, Any], *, account: str) -> Company:
    inactive = flag(record.is_inactive)
    return Company(
        vendor=VENDOR,
        account=account,
        id=identity(record.company_id, "CompanyId"),
        name=record.name or str(record.company_id),
        parent_id=None,
        status=CompanyStatus.INACTIVE if inactive else CompanyStatus.ACTIVE,
        vendor_status=f"IsInactive={str(inactive).lower()}",
        raw=raw,
    )


def inactive_flag(record: DeviceRecord) -> str | None:
    """Which record marks the device inactive: its own ``IsInactive``, or that of the subscription or the
    company it belongs to (both come embedded in the device record); ``None`` if none does."""
    if flag(record.is_inactive):
        return "IsInactive"
    if record.subscription is not None and flag(record.subscription.is_inactive):
        return "Subscription.IsInactive"
    if record.company is not None and flag(record.company.is_inactive):
        return "Company.IsInactive"
    return None


def device_status(record: DeviceRecord, tz: dt.tzinfo, now: dt.datetime) -> DeviceStatus:
    """INACTIVE if the device, its subscription or its company is ``IsInactive``; else ONLINE when the agent
    called in (``LastApiCheckAt``) within ONLINE_WITHIN, OFFLINE when longer ago, UNKNOWN when never."""
    if inactive_flag(record) is not None:
        return DeviceStatus.INACTIVE
    checked = local(record.last_api_check_at, tz)
    if checked is None:
        return DeviceStatus.UNKNOWN
    return DeviceStatus.ONLINE if now - checked <= ONLINE_WITHIN else DeviceStatus.OFFLINE


def device_notification(record: DeviceRecord) -> Notification:
    completed = flag(record.send_notification_on_job_completed)
    failed = flag(record.send_notification_on_job_failed)
    missed = flag(record.send_notification_on_job_missed)
    if completed and (failed or missed):
        when = NotifyWhen.ALWAYS
    elif failed or missed:
        when = NotifyWhen.ON_FAILURE
    elif not completed:
        when = NotifyWhen.NEVER
    else:
        when = NotifyWhen.UNKNOWN  # completed runs only: no neutral word for it
    names = [n for n, on in (("completed", completed), ("failed", failed), ("missed", missed)) if on]
    return Notification(
        emails=emails(record.send_notification_to),
        cc=emails(record.send_notification_cc),
        bcc=emails(record.send_notification_bcc),
        when=when,
        vendor_value=",".join(names) or "none",
    )


def device(
    record: DeviceRecord, raw: Mapping[str, Any], *, account: str, fallback_tz: dt.tzinfo, now: dt.datetime
) -> Device:
    tz = windows_zone(record.time_zone_id) or fallback_tz
    inactive = inactive_flag(record)
    checked = local(record.last_api_check_at, tz)
    return Device(
        vendor=VENDOR,
        account=account,
        id=identity(record.device_id, "DeviceId"),
        name=record.name or str(record.device_id),
        company_id=str(record.company_id) if record.company_id is not None else None,
        status=device_status(record, tz, now),
        vendor_status=inactive or (f"LastApiCheckAt {checked.isoformat()}" if checked else None),
        # The agent's last call to the API: the vendor's only record of contact with the device.
        last_seen_at=checked,
        tags=(record.external_id,) if record.external_id else (),
        raw=raw,
    )


def _items(record: JobRecord) -> tuple[str, ...]:
    result = []
    for item in record.job_items or ():
        target = item.base_folder or item.database_name or item.name
        if target:
            result.append(target)
    return tuple(result)


def _what(record: JobRecord) -> tuple[BackupTarget, str | None]:
    engines = {
        (item.backup_type.engine_type or item.backup_type.engine_id or "").lower()
        for item in record.job_items or ()
        if item.backup_type is not None
    }
    targets = {ENGINE_TARGET.get(e, BackupTarget.OTHER) for e in engines}
    vendor_value = ",".join(sorted(engines)) or None
    if not targets:
        return BackupTarget.UNKNOWN, vendor_value
    return (targets.pop() if len(targets) == 1 else BackupTarget.OTHER), vendor_value


def schedule(record: JobRecord, tz: dt.tzinfo) -> Schedule:
    zone = getattr(tz, "key", None)
    freq = FREQUENCY.get((record.frequency or "").strip().lower(), Frequency.UNKNOWN)
    every = record.every if record.every and record.every > 0 else 1
    interval = None
    if freq is Frequency.HOURLY:
        interval = dt.timedelta(hours=every)
    elif freq is Frequency.DAILY and every > 1:
        interval = dt.timedelta(days=every)
    elif freq is Frequency.WEEKLY and every > 1:
        interval = dt.timedelta(weeks=every)
    next_run = local(record.next_run_on, tz)
    return Schedule(
        frequency=freq,
        time=next_run.timetz().replace(tzinfo=None) if next_run and freq is not Frequency.HOURLY else None,
        weekdays=tuple(day for attr, day in WEEKDAY_FLAGS if flag(getattr(record, attr)))
        if freq is Frequency.WEEKLY
        else (),
        month_days=(record.day_of_month,) if freq is Frequency.MONTHLY and record.day_of_month else (),
        interval=interval,
        grace=dt.timedelta(minutes=record.late_after) if record.late_after is not None else None,
        enabled=not flag(record.is_inactive),
        timezone=zone,
        vendor_frequency=record.frequency,
    )


def plan(record: JobRecord, raw: Mapping[str, Any], *, account: str, fallback_tz: dt.tzinfo) -> Plan:
    device_rec = record.device
    tz = windows_zone(device_rec.time_zone_id if device_rec else None) or fallback_tz
    cloud, local_copies = record.cloud_keep_last or 0, record.local_keep_last or 0
    destination = (
        Destination.HYBRID
        if cloud and local_copies
        else Destination.CLOUD
        if cloud
        else Destination.LOCAL
        if local_copies
        else Destination.UNKNOWN
    )
    what, vendor_what = _what(record)
    return Plan(
        vendor=VENDOR,
        account=account,
        id=identity(record.job_id, "JobId"),
        name=record.name or str(record.job_id),
        company_id=str(device_rec.company_id) if device_rec and device_rec.company_id is not None else None,
        device_ids=(str(record.device_id),) if record.device_id is not None else (),
        enabled=not flag(record.is_inactive),
        what=what,
        vendor_what=vendor_what,
        items=_items(record),
        destination=destination,
        schedule=schedule(record, tz),
        notification=device_notification(device_rec) if device_rec else None,
        retention=Retention(keep_last=record.cloud_keep_last, keep_last_local=record.local_keep_last),
        next_run_at=local(record.next_run_on, tz),
        last_run_at=local(record.last_ran_on, tz),
        raw=raw,
    )


def job(record: LogRecord, raw: Mapping[str, Any], *, account: str, fallback_tz: dt.tzinfo) -> Job:
    tz = (
        windows_zone(record.time_zone_id)
        or windows_zone(record.device.time_zone_id if record.device else None)
        or fallback_tz
    )
    items = record.log_items or ()
    sizes = [i.backup_file_size for i in items if i.backup_file_size is not None]
    counts = [i.backup_list_count for i in items if i.backup_list_count is not None]
    error = (record.error_messages or "").strip() or None
    return Job(
        vendor=VENDOR,
        account=account,
        id=identity(record.log_id, "LogId"),
        device_id=str(record.device_id) if record.device_id is not None else None,
        plan_id=str(record.job_id) if record.job_id is not None else None,
        company_id=str(record.company_id) if record.company_id is not None else None,
        status=JOB_STATUS.get((record.job_status or "").strip().lower(), JobStatus.UNKNOWN),
        vendor_status=record.job_status,
        started_at=parse_local_text(record.job_started_on, tz),
        finished_at=local(record.job_completed_on, tz),
        size_bytes=sum(sizes) if sizes else None,
        files=sum(counts) if counts else None,
        error=error,
        raw=raw,
    )


# -- neutral -> CleverFox ------------------------------------------------------------------------


_invalid = invalid_for(VENDOR)


def notification_payload(notification: Notification, operation: str = "set_notifications") -> dict[str, Any]:
    """A neutral notification as the device's ``SendNotification*`` attributes."""
    flags = {
        NotifyWhen.ALWAYS: (True, True, True),
        NotifyWhen.ON_FAILURE: (False, True, True),
        NotifyWhen.NEVER: (False, False, False),
    }.get(notification.when)
    if flags is None:
        raise _invalid(operation, "when", "notification.when must be ALWAYS, ON_FAILURE or NEVER")
    if any(flags) and not notification.emails:
        raise _invalid(operation, "emails", "CleverFox needs at least one address to notify")
    for address in (*notification.emails, *notification.cc, *notification.bcc):
        if "@" not in address or _SEPARATORS.search(address):
            raise _invalid(operation, "emails", f"not an email address: {address!r}")
    return {
        "SendNotificationTo": join_emails(notification.emails),
        "SendNotificationCc": join_emails(notification.cc),
        "SendNotificationBcc": join_emails(notification.bcc),
        "SendNotificationOnJobCompleted": flags[0],
        "SendNotificationOnJobFailed": flags[1],
        "SendNotificationOnJobMissed": flags[2],
    }


DEVICE_OPTIONS = ("subscription_id", "application_id")


def device_payload(spec: DeviceSpec, subscription_id: int, external_id: str) -> dict[str, Any]:
    zone = windows_name(spec.timezone)
    if zone is None:
        raise _invalid("create_device", "timezone", f"no Windows time zone for {spec.timezone!r} (use an IANA name)")
    payload: dict[str, Any] = {
        "CompanyId": int(spec.company_id),
        "SubscriptionId": subscription_id,
        "Name": spec.name,
        "TimeZoneId": zone,
        "ExternalId": external_id,
    }
    if "application_id" in spec.options:
        payload["ApplicationId"] = spec.options["application_id"]
    if spec.notification is not None:
        payload.update(notification_payload(spec.notification, "create_device"))
    return payload


PLAN_OPTIONS = ("backup_type_id", "expire_on", "include_sub_folders")


def next_run(schedule_: Schedule, tz: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """The first moment after ``now`` (in the device's zone) that the schedule fires."""
    at = schedule_.time or dt.time(0, 0)
    current = now.astimezone(tz)
    day = current.date()
    weekdays = {list(Weekday).index(w) for w in schedule_.weekdays}
    for _ in range(800):
        candidate = dt.datetime.combine(day, at, tzinfo=tz)
        fits = True
        if schedule_.frequency is Frequency.WEEKLY and weekdays:
            fits = day.weekday() in weekdays
        elif schedule_.frequency is Frequency.MONTHLY and schedule_.month_days:
            fits = day.day in schedule_.month_days
        if fits and candidate > current:
            return candidate
        day += dt.timedelta(days=1)
    raise _invalid("create_plan", "schedule", "the schedule never fires")


def job_payload(spec: PlanSpec, device_id: int, tz: dt.tzinfo, now: dt.datetime) -> dict[str, Any]:
    """A neutral ``PlanSpec`` as the body of ``POST /jobs`` (a CleverFox job on one device)."""
    op = "create_plan"
    unknown = sorted(set(spec.options) - set(PLAN_OPTIONS))
    if unknown:
        raise _invalid(op, "options", f"unknown CleverFox plan options {unknown}; known: {', '.join(PLAN_OPTIONS)}")
    sched = spec.schedule
    frequency = FREQUENCY_OUT.get(sched.frequency)
    if frequency is None:
        raise _invalid(op, "schedule.frequency", f"CleverFox has no {sched.frequency.value} schedule")
    if sched.frequency is Frequency.WEEKLY and not sched.weekdays:
        raise _invalid(op, "schedule.weekdays", "a WEEKLY schedule needs weekdays")
    if sched.frequency is Frequency.MONTHLY and len(sched.month_days) != 1:
        raise _invalid(op, "schedule.month_days", "CleverFox monthly jobs run on exactly one day of the month")
    if sched.frequency is Frequency.MONTHLY and not 1 <= sched.month_days[0] <= 31:
        raise _invalid(op, "schedule.month_days", "the day of the month must be 1-31")
    if spec.what not in (BackupTarget.FILES, BackupTarget.UNKNOWN):
        raise _invalid(op, "what", "backupbridge creates CleverFox file and folder jobs only")
    if not spec.items:
        raise _invalid(op, "items", "a CleverFox job needs at least one folder to back up (items)")
    if spec.notification is not None:
        raise _invalid(op, "notification", "CleverFox notifications belong to the device: use set_notifications")
    every = 1
    if sched.interval is not None:
        unit = {
            Frequency.HOURLY: dt.timedelta(hours=1),
            Frequency.DAILY: dt.timedelta(days=1),
            Frequency.WEEKLY: dt.timedelta(weeks=1),
        }.get(sched.frequency)
        if unit is None or sched.interval % unit:
            raise _invalid(op, "schedule.interval", "the interval must be a whole number of hours, days or weeks")
        every = int(sched.interval / unit)
    retention = spec.retention or Retention()
    keep_cloud = (
        retention.keep_last
        if retention.keep_last is not None
        else (30 if spec.destination in (Destination.CLOUD, Destination.HYBRID) else 0)
    )
    keep_local = (
        retention.keep_last_local
        if retention.keep_last_local is not None
        else (1 if spec.destination in (Destination.LOCAL, Destination.HYBRID) else 0)
    )
    body: dict[str, Any] = {
        "DeviceId": device_id,
        "Name": spec.name,
        "IsInactive": not sched.enabled,
        "Frequency": frequency,
        "NextRunOn": next_run(sched, tz, now).replace(tzinfo=None).isoformat(timespec="milliseconds"),
        "Every": every,
        "CloudKeepLast": keep_cloud,
        "LocalKeepLast": keep_local,
    }
    if sched.grace is not None:
        body["LateAfter"] = int(sched.grace.total_seconds() // 60)
    if sched.frequency is Frequency.WEEKLY:
        chosen = set(sched.weekdays)
        body.update({f"On{day.name.title()}": day in chosen for _, day in WEEKDAY_FLAGS})
    if sched.frequency is Frequency.MONTHLY:
        body["DayOfMonth"] = sched.month_days[0]
    if "expire_on" in spec.options:
        body["ExpireOn"] = spec.options["expire_on"]
    return body
