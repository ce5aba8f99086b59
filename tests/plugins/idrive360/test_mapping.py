"""IDrive 360 -> the neutral model, on the docs' own examples; each status table entry tested."""

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
    OSFamily,
    PlanSpec,
    Schedule,
    Weekday,
)
from backupbridge_idrive360 import ConfigurationId, mapping
from backupbridge_idrive360.records import BackupPlanRecord, CompanyRecord, DeviceRecord, converter

from .conftest import doc_example

UTC = dt.UTC


def devices(example: str = "device_summary") -> list[tuple[DeviceRecord, dict[str, Any]]]:
    raw = doc_example(example)
    return list(zip(converter.structure(raw, list[DeviceRecord]), raw, strict=True))


def test_company_tree_is_flattened_with_parent_ids() -> None:
    raw = doc_example("company_summary")
    flat = list(mapping.flatten_companies(converter.structure(raw, CompanyRecord), raw, account="acct"))
    assert [(c.id, c.name, c.parent_id) for c in flat] == [
        ("15020", "default", None),
        ("15806", "Test Company", "15020"),
        ("15816", "MSP-1", "15020"),
        ("15817", "MSP-2", "15020"),
    ]
    assert all(c.status is CompanyStatus.ACTIVE and c.vendor_status == "Active" for c in flat)
    assert "sub_company_list" not in flat[0].raw
    assert flat[1].raw["setup_link"].endswith("FAOBZ417242")


def test_configuration_id_both_forms() -> None:
    encoded = ConfigurationId.parse(doc_example("company_summary")["configuration_id"])
    assert (encoded.token, encoded.encoded, encoded.encryption_required, encoded.desktop_app_status) == (
        "ATVAWQ17242",
        True,
        False,
        False,
    )
    short = ConfigurationId.parse("ATVAWQ17242")
    assert (short.token, short.encoded, short.encryption_required) == ("ATVAWQ17242", False, None)


def test_device_from_the_docs_example() -> None:
    ((record, raw),) = devices()
    device = mapping.device(record, raw, account="acct", tz=UTC)
    assert device.id == "wvlgllxuuaomn4bk4atfljznjyvsfhfeo5g6wgyart3osefi"
    assert device.company_id == "1111"
    assert (device.os, device.status, device.last_backup_status) == (
        OSFamily.LINUX,
        DeviceStatus.OFFLINE,
        JobStatus.SUCCESS,
    )
    assert device.last_backup_at == dt.datetime(2025, 6, 11, 11, 12, 58, tzinfo=UTC)
    assert device.next_backup_at is None
    assert device.tags == ()  # the example's custom_tag is a single space
    assert device.agent_version == "1.0.21"
    assert device.raw["group_name"] == "Linux"


def test_account_timezone_applies_to_naive_times() -> None:
    ((record, raw),) = devices()
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    device = mapping.device(record, raw, account="acct", tz=berlin)
    assert device.last_backup_at == dt.datetime(2025, 6, 11, 9, 12, 58, tzinfo=UTC)


@pytest.mark.parametrize(
    ("vendor", "neutral"),
    [
        ("online", DeviceStatus.ONLINE),
        ("offline", DeviceStatus.OFFLINE),
        ("blocked", DeviceStatus.BLOCKED),
        ("archived", DeviceStatus.ARCHIVED),
        ("canceled", DeviceStatus.INACTIVE),
        ("cancelled", DeviceStatus.INACTIVE),
        ("hibernating", DeviceStatus.UNKNOWN),
    ],
)
def test_device_status_table(vendor: str, neutral: DeviceStatus) -> None:
    device = mapping.device(DeviceRecord(device_id="d", status=vendor), {}, account="a", tz=UTC)
    assert (device.status, device.vendor_status) == (neutral, vendor)


@pytest.mark.parametrize(
    ("vendor", "neutral"),
    [
        ("Success", JobStatus.SUCCESS),
        ("Failed", JobStatus.FAILED),
        ("Failure", JobStatus.FAILED),
        ("In Progress", JobStatus.RUNNING),
        ("Cancelled", JobStatus.CANCELLED),
        ("Canceled", JobStatus.CANCELLED),
        ("Partially Completed", JobStatus.UNKNOWN),
    ],
)
def test_backup_status_table(vendor: str, neutral: JobStatus) -> None:
    job = mapping.last_run(DeviceRecord(device_id="d", backup_status=vendor), {}, account="a", tz=UTC)
    assert job is not None and (job.status, job.vendor_status) == (neutral, vendor)


@pytest.mark.parametrize(
    ("vendor", "neutral"),
    [
        ("windows", OSFamily.WINDOWS),
        ("mac", OSFamily.MACOS),
        ("macos", OSFamily.MACOS),
        ("linux", OSFamily.LINUX),
        ("solaris", OSFamily.OTHER),
        (None, OSFamily.UNKNOWN),
    ],
)
def test_os_table(vendor: str | None, neutral: OSFamily) -> None:
    assert mapping.device(DeviceRecord(device_id="d", os=vendor), {}, account="a", tz=UTC).os is neutral


def test_last_run_of_a_failed_device_has_no_invented_time() -> None:
    raw = doc_example("fetch_backup_plan")[0]["devices"][0]
    record = converter.structure(raw, DeviceRecord)
    job = mapping.last_run(record, raw, account="a", tz=UTC)
    assert job is not None
    assert job.status is JobStatus.FAILED and job.vendor_status == "Failure"
    assert job.finished_at is None  # last_backup is the last *successful* backup
    assert job.error is None  # "NA" means no reason given
    assert job.plan_id == "814757"  # the DEFAULT backup set's plan, next scheduled


def test_device_that_never_ran_has_no_job() -> None:
    assert mapping.last_run(DeviceRecord(device_id="d"), {}, account="a", tz=UTC) is None


def test_plan_from_the_docs_example() -> None:
    raw = doc_example("fetch_backup_plan")
    record = converter.structure(raw, list[BackupPlanRecord])[0]
    plan = mapping.plan(record, raw[0], account="a", company_id=None)
    assert (plan.id, plan.name, plan.enabled) == ("679251", "testingplan", True)
    assert plan.company_id == "51324"  # from its only device
    assert plan.device_ids == ("hflafghwiv33fwbycnzfgnpbaocbrorndnakn6uqhmbbpsbua6",)
    assert (plan.what, plan.destination) == (BackupTarget.ENTIRE_MACHINE, Destination.CLOUD)
    sched = plan.schedule
    assert sched is not None
    assert (sched.frequency, sched.time, sched.cutoff, sched.enabled) == (
        Frequency.DAILY,
        dt.time(16, 45),
        dt.time(9),
        True,
    )
    assert sched.weekdays == Weekday.workdays()
    assert plan.notification == Notification(emails=("mark@idrive.com",), when=NotifyWhen.NEVER, vendor_value="NEVER")


def test_monthly_schedule_words() -> None:
    info = converter.structure(
        {"frequency_type": "MONTHLY", "months": ["ALL"], "dates": ["1", "LAST_DAY"], "time": "01:00:00"},
        BackupPlanRecord.__attrs_attrs__.schedule_info.type.__args__[0],  # type: ignore[union-attr]
    )
    sched = mapping.schedule(info)
    assert sched.months == tuple(range(1, 13)) and sched.month_days == (1, -1)


def test_plan_spec_to_request_matches_the_docs_shape() -> None:
    spec = PlanSpec(
        name="namechange_new_1",
        company_id="14366",
        device_ids=("1l3d3bxrgf2fpwblc5qoyiezihz5behf6lbab6ljsngkomgonx",),
        items=("[All Profiles Folder]",),
        schedule=Schedule(
            frequency=Frequency.MONTHLY, time=dt.time(17, 40, 30), months=(1, 2), month_days=(23, 25), cutoff=dt.time(7)
        ),
        notification=Notification(emails=("mark@idrive.com",), when=NotifyWhen.ALWAYS),
        options={
            "exclude_hidden": True,
            "exclude_system": True,
            "enable_cdp": True,
            "cdp_frequency": "TEN_MINUTES",
            "local_dest_path": "C:\\Users\\Mark\\IDrive360LocalDest",
        },
    )
    body = mapping.plan_request(spec)
    doc = doc_example("create_backup_plan_request")
    for key in ("name", "device_ids", "group_ids", "exclude_hidden", "exclude_system", "enable_cdp", "cdp_frequency"):
        assert body[key] == doc[key], key
    assert body["backup_details"] == doc["backup_details"]
    for key in (
        "frequency_type",
        "time",
        "months",
        "dates",
        "cutoff_time",
        "email",
        "send_email_notification",
        "disable_schedule",
    ):
        assert body["scheduler"][key] == doc["scheduler"][key], key


@pytest.mark.parametrize(
    ("weekdays", "mode"), [((), "ALL_DAYS"), (tuple(Weekday), "ALL_DAYS"), (Weekday.workdays(), "WEEKDAYS")]
)
def test_daily_modes(weekdays: tuple[Weekday, ...], mode: str) -> None:
    spec = PlanSpec(
        name="n", items=("x",), schedule=Schedule(frequency=Frequency.DAILY, time=dt.time(1), weekdays=weekdays)
    )
    assert mapping.plan_request(spec)["scheduler"]["daily_mode"] == mode


def test_records_keep_unknown_fields() -> None:
    raw = dict(doc_example("device_summary")[0], brand_new_field={"x": 1})
    record = converter.structure(raw, DeviceRecord)
    assert record.extra == {"brand_new_field": {"x": 1}}
