"""CleverFox -> the neutral model on the docs' examples; each table entry tested."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest

from backupbridge import (
    BackupTarget,
    CompanyStatus,
    Destination,
    DeviceStatus,
    Frequency,
    JobStatus,
    Notification,
    NotifyWhen,
    PlanSpec,
    Schedule,
    ValidationError,
    Weekday,
)
from backupbridge_cleverfox import mapping
from backupbridge_cleverfox.records import CompanyRecord, DeviceRecord, JobRecord, LogRecord, PlanRecord, converter

from .conftest import doc_example

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOW = dt.datetime(2015, 1, 1, 5, 30, tzinfo=dt.UTC)  # half an hour after the example's LastApiCheckAt (local)


def data(name: str) -> Any:
    return doc_example(name)["data"]


def test_device_from_the_docs_example() -> None:
    raw = data("device_get")
    record = converter.structure(raw, DeviceRecord)
    device = mapping.device(record, raw, account="a", fallback_tz=dt.UTC, now=NOW)
    assert (device.id, device.name, device.company_id) == ("1", "Application Server", "1")
    assert device.status is DeviceStatus.ONLINE  # checked in 00:00 New York = 05:00 UTC, 30 minutes before NOW
    assert record.company is not None and record.company.partner is None
    assert "00000000-0000-0000-0000-000000000000" not in repr(record)  # the agent's ApiKey stays out of reprs


@pytest.mark.parametrize(
    ("inactive", "checked_minutes_ago", "status"),
    [
        (True, 5, DeviceStatus.INACTIVE),
        (None, 5, DeviceStatus.ONLINE),
        (False, 59, DeviceStatus.ONLINE),
        (False, 61, DeviceStatus.OFFLINE),
        (None, None, DeviceStatus.UNKNOWN),
    ],
)
def test_device_status_rule(inactive: bool | None, checked_minutes_ago: int | None, status: DeviceStatus) -> None:
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    checked = None
    if checked_minutes_ago is not None:
        checked = (now - dt.timedelta(minutes=checked_minutes_ago)).astimezone(NEW_YORK).replace(tzinfo=None)
    record = DeviceRecord(
        device_id=1, is_inactive=inactive, last_api_check_at=checked, time_zone_id="Eastern Standard Time"
    )
    assert mapping.device(record, {}, account="a", fallback_tz=dt.UTC, now=now).status is status


def test_local_times_use_the_device_zone_across_dst() -> None:
    record = DeviceRecord(
        device_id=1, time_zone_id="Eastern Standard Time", last_api_check_at=dt.datetime(2026, 3, 8, 3, 30)
    )  # just after the spring-forward gap
    now = dt.datetime(2026, 3, 8, 7, 45, tzinfo=dt.UTC)
    device = mapping.device(record, {}, account="a", fallback_tz=dt.UTC, now=now)
    assert device.status is DeviceStatus.ONLINE  # 03:30 EDT = 07:30 UTC


def test_null_booleans_mean_false() -> None:
    record = converter.structure({"DeviceId": 3, "IsInactive": None, "SendNotificationOnJobFailed": None}, DeviceRecord)
    assert mapping.flag(record.is_inactive) is False
    assert mapping.device_notification(record).when is NotifyWhen.NEVER


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a@x.com:b@x.com", ("a@x.com", "b@x.com")),
        ("a@x.com; b@x.com", ("a@x.com", "b@x.com")),
        ("a@x.com\r\nb@x.com", ("a@x.com", "b@x.com")),
        ("", ()),
        (None, ()),
    ],
)
def test_email_separators(text: str | None, expected: tuple[str, ...]) -> None:
    assert mapping.emails(text) == expected


@pytest.mark.parametrize(
    ("completed", "failed", "missed", "when"),
    [
        (True, True, True, NotifyWhen.ALWAYS),
        (False, True, True, NotifyWhen.ON_FAILURE),
        (False, True, False, NotifyWhen.ON_FAILURE),
        (False, False, True, NotifyWhen.ON_FAILURE),
        (False, False, False, NotifyWhen.NEVER),
        (True, False, False, NotifyWhen.UNKNOWN),
    ],
)
def test_notification_flags_both_ways(completed: bool, failed: bool, missed: bool, when: NotifyWhen) -> None:
    record = DeviceRecord(
        device_id=1,
        send_notification_to="a@x.com;b@x.com",
        send_notification_cc="c@x.com",
        send_notification_on_job_completed=completed,
        send_notification_on_job_failed=failed,
        send_notification_on_job_missed=missed,
    )
    note = mapping.device_notification(record)
    assert (note.when, note.emails, note.cc) == (when, ("a@x.com", "b@x.com"), ("c@x.com",))
    if when is not NotifyWhen.UNKNOWN:
        payload = mapping.notification_payload(Notification(emails=note.emails, cc=note.cc, when=when))
        back = mapping.device_notification(converter.structure({"DeviceId": 1, **payload}, DeviceRecord))
        assert back.when is when and back.emails == note.emails


def test_plan_from_the_docs_job_example() -> None:
    raw = data("device_jobs")[0]
    record = converter.structure(raw, JobRecord)
    plan = mapping.plan(record, raw, account="a", fallback_tz=dt.UTC)
    assert (plan.id, plan.name, plan.device_ids, plan.company_id) == ("1", "Daily Backup", ("1",), "1")
    assert plan.schedule is not None
    assert (plan.schedule.frequency, plan.schedule.grace, plan.schedule.time) == (
        Frequency.DAILY,
        dt.timedelta(minutes=240),
        dt.time(0, 0),
    )
    assert plan.next_run_at == dt.datetime(2015, 1, 2, tzinfo=NEW_YORK)
    assert plan.retention is not None and (plan.retention.keep_last, plan.retention.keep_last_local) == (30, 1)
    assert plan.destination is Destination.HYBRID
    assert (plan.what, plan.items) == (BackupTarget.FILES, ("C:\\Program Files\\My Application",))
    assert plan.notification is not None and plan.notification.when is NotifyWhen.ALWAYS


@pytest.mark.parametrize(
    ("vendor", "frequency"),
    [
        ("Hourly", Frequency.HOURLY),
        ("Daily", Frequency.DAILY),
        ("Weekly", Frequency.WEEKLY),
        ("Monthly", Frequency.MONTHLY),
        ("Monthy", Frequency.MONTHLY),
        ("One Time", Frequency.ONCE),
        ("Fortnightly", Frequency.UNKNOWN),
    ],
)
def test_frequency_table(vendor: str, frequency: Frequency) -> None:
    sched = mapping.schedule(JobRecord(job_id=1, frequency=vendor, every=2, on_friday=True, day_of_month=15), dt.UTC)
    assert (sched.frequency, sched.vendor_frequency) == (frequency, vendor)
    if frequency is Frequency.WEEKLY:
        assert sched.weekdays == (Weekday.FRIDAY,) and sched.interval == dt.timedelta(weeks=2)
    if frequency is Frequency.MONTHLY:
        assert sched.month_days == (15,)
    if frequency is Frequency.HOURLY:
        assert sched.interval == dt.timedelta(hours=2)


def test_job_from_the_docs_log_example() -> None:
    raw = data("device_logs")[0]
    record = converter.structure(raw, LogRecord)
    job = mapping.job(record, raw, account="a", fallback_tz=dt.UTC)
    assert (job.id, job.device_id, job.plan_id, job.company_id) == ("1", "1", "1", "1")
    assert (job.status, job.vendor_status) == (JobStatus.SUCCESS, "Completed")
    assert job.started_at == dt.datetime(2015, 1, 1, 0, 0, tzinfo=NEW_YORK)
    assert job.finished_at == dt.datetime(2015, 1, 1, 0, 5, tzinfo=NEW_YORK)
    assert (job.size_bytes, job.files, job.error) == (1073741824, 256, None)
    assert record.device is not None and record.device.extra == {  # the docs' "OnLog" spelling is kept, not lost
        "SendNotificationOnLogCompleted": True,
        "SendNotificationOnLogFailed": True,
        "SendNotificationOnLogMissed": True,
    }


@pytest.mark.parametrize(
    ("vendor", "status"),
    [
        ("Completed", JobStatus.SUCCESS),
        ("Failed", JobStatus.FAILED),
        ("Missed", JobStatus.MISSED),
        ("completed", JobStatus.SUCCESS),
        ("Running", JobStatus.UNKNOWN),
        (None, JobStatus.UNKNOWN),
    ],
)
def test_log_status_table(vendor: str | None, status: JobStatus) -> None:
    job = mapping.job(
        LogRecord(log_id=1, job_status=vendor, job_started_on="not a date"), {}, account="a", fallback_tz=dt.UTC
    )
    assert (job.status, job.vendor_status, job.started_at) == (status, vendor, None)


def test_company_and_billing_plan_examples() -> None:
    raw = data("devices_list")[0]["Company"]
    company = mapping.company(converter.structure(raw, CompanyRecord), raw, account="a")
    assert (company.id, company.name, company.status) == ("1", "ABC Company, Inc.", CompanyStatus.ACTIVE)
    plan = converter.structure(data("plan_get"), PlanRecord)  # the docs' example omits PlanId: still decodes
    assert (plan.plan_id, plan.name, plan.storage_limit) == (None, "Small Plan", 25)


@pytest.mark.parametrize(
    ("windows", "iana"),
    [("Eastern Standard Time", "America/New_York"), ("W. Europe Standard Time", "Europe/Berlin"), ("UTC", "Etc/UTC")],
)
def test_windows_zone_names(windows: str, iana: str) -> None:
    assert str(mapping.windows_zone(windows)) == iana
    assert mapping.windows_zone("Nowhere Standard Time") is None


def test_job_payload_from_a_neutral_spec() -> None:
    spec = PlanSpec(
        name="Nightly",
        items=("D:\\Data",),
        schedule=Schedule(
            frequency=Frequency.WEEKLY,
            time=dt.time(22, 30),
            weekdays=(Weekday.MONDAY, Weekday.THURSDAY),
            grace=dt.timedelta(hours=2),
        ),
    )
    now = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
    body = mapping.job_payload(spec, 7, NEW_YORK, now)
    assert body["Frequency"] == "Weekly" and body["OnMonday"] and body["OnThursday"] and not body["OnSunday"]
    assert body["NextRunOn"] == "2026-11-02T22:30:00.000"  # later the same Monday, New York time
    assert (body["LateAfter"], body["Every"], body["CloudKeepLast"], body["LocalKeepLast"]) == (120, 1, 30, 0)


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        (Schedule(frequency=Frequency.CONTINUOUS), "schedule.frequency"),
        (Schedule(frequency=Frequency.WEEKLY), "schedule.weekdays"),
        (Schedule(frequency=Frequency.MONTHLY, month_days=(1, 15)), "schedule.month_days"),
        (Schedule(frequency=Frequency.DAILY, interval=dt.timedelta(hours=36)), "schedule.interval"),
    ],
)
def test_unmappable_schedules_are_refused(schedule: Schedule, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        mapping.job_payload(PlanSpec(name="x", items=("C:\\",), schedule=schedule), 1, dt.UTC, NOW)
    assert info.value.field == field
