"""Managed Backup -> the neutral model: integer enums, status table, device and job mapping."""

from __future__ import annotations

import datetime as dt

import pytest

from backupbridge import BackupTarget, DeviceStatus, JobStatus, OSFamily
from backupbridge_managedbackup import mapping
from backupbridge_managedbackup.records import (
    CompanyRecord,
    ComputerRecord,
    LicenseManagementMode,
    LicenseSettings,
    MonitoringRecord,
    MonitoringStatus,
    PlanType,
    UserRecord,
    converter,
)

from ..conftest import Runner

# From the Computers help page (get-apicomputers-hid), the computer object's documented fields.
COMPUTER = {
    "ComputerHID": "{3d25f3b5-0b36-4f67-9d33-9e8e2b6f0a11}",
    "OSTypeString": "Windows",
    "BuildTypeString": "8",
    "RemoteManagementAvailable": True,
    "ComputerName": "DESKTOP-01",
    "ComputerDisplayName": "Front desk",
    "CompanyName": "Contoso",
    "UserEmail": "a@contoso.example",
    "ProfileName": "a@contoso.example",
    "UserID": "4cf3cfbb-2c87-402d-b034-142db02bdb28",
    "BackupBuildVersion": {"_Major": 7, "_Minor": 9, "_Build": 4, "_Revision": 83},
    "License": {"Granted": True, "IsTrial": False, "DisplayExpiresDate": "Never"},
    "BackupStats": {
        "PlansCount": 2,
        "TotalOverdueCount": 0,
        "TotalFailedCount": 1,
        "TotalSuccessCount": 1,
        "TotalWarningCount": 0,
        "TotalNotRunCount": 0,
        "TotalRunningCount": 0,
        "TotalInterruptedCount": 0,
    },
    "LastActivity": "2025-03-19T10:26:47.703",
    "InstanceType": 0,
    "HasBackupApp": True,
    "LostAuth": False,
    "LostAuthChangeDate": None,
    "Apps": [
        {
            "ApplicationId": "backup",
            "Version": "7.9.4.83",
            "VersionStatus": "Latest",
            "BuildTypeLong": 8,
            "ApplicationState": "Enabled",
            "Online": True,
            "ErrorCode": 0,
            "ErrorMessage": None,
        },
        {"ApplicationId": "ra", "Version": "3.1", "Online": False},
    ],
}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (0, JobStatus.SUCCESS),
        (1, JobStatus.MISSED),
        (2, JobStatus.FAILED),
        (3, JobStatus.RUNNING),
        (4, JobStatus.UNKNOWN),
        (5, JobStatus.FAILED),
        (6, JobStatus.FAILED),
        (7, JobStatus.WARNING),
        (42, JobStatus.UNKNOWN),
    ],
)
def test_monitoring_status_table(code: int, status: JobStatus) -> None:
    record = converter.structure({"PlanId": "p", "Status": code, "PlanType": 99}, MonitoringRecord)
    assert record.status is not None and int(record.status) == code
    job = mapping.job(record, {}, account="a", tz=dt.UTC, device_ids={}, company_ids={})
    assert job.status is status
    if code == 42:
        assert record.status.name == "UNKNOWN" and not record.status.known and job.vendor_status == "42"
        assert record.plan_type is not None and int(record.plan_type) == 99 and not record.plan_type.known


def test_integer_enums_are_named() -> None:
    assert PlanType(8).name == "SQL_RESTORE" and MonitoringStatus(6).name == "UNEXPECTEDLY_CLOSED"
    company = converter.structure({"Id": "c", "LicenseSettings": 2, "StorageLimit": -1}, CompanyRecord)
    assert company.license_settings is LicenseSettings.COMPANY_POOL and company.unlimited_storage
    user = converter.structure({"ID": "u", "LicenseManagmentMode": 1, "Company": "Contoso"}, UserRecord)
    assert user.management_mode is LicenseManagementMode.AUTOMATIC
    user2 = converter.structure({"ID": "u", "LicenseManagementMode": 2}, UserRecord)  # the other spelling
    assert user2.management_mode is LicenseManagementMode.COMPANY_SETTINGS


def test_device_from_the_documented_computer() -> None:
    record = converter.structure(COMPUTER, ComputerRecord)
    device = mapping.device(record, COMPUTER, account="a", tz=dt.UTC, company_ids={"Contoso": "c-1"})
    assert device.id == "3d25f3b5-0b36-4f67-9d33-9e8e2b6f0a11"  # braces stripped
    assert (device.name, device.company_id, device.os, device.status) == (
        "Front desk",
        "c-1",
        OSFamily.WINDOWS,
        DeviceStatus.ONLINE,
    )
    assert device.agent_version == "7.9.4.83" and str(record.backup_build_version) == "7.9.4.83"
    assert device.last_seen_at == dt.datetime(2025, 3, 19, 10, 26, 47, 703000, tzinfo=dt.UTC)
    assert device.raw["BackupStats"]["TotalFailedCount"] == 1  # backup statistics kept


@pytest.mark.parametrize(
    ("online", "lost", "status"),
    [
        (True, False, DeviceStatus.ONLINE),
        (False, False, DeviceStatus.OFFLINE),
        (True, True, DeviceStatus.INACTIVE),
        (None, False, DeviceStatus.UNKNOWN),
    ],
)
def test_device_status(online: bool | None, lost: bool, status: DeviceStatus) -> None:
    data = dict(COMPUTER, LostAuth=lost, Apps=[{"ApplicationId": "backup", "Online": online}])
    assert mapping.device_status(converter.structure(data, ComputerRecord))[0] is status


def test_job_links_to_its_device_by_user_and_computer_name() -> None:
    row = {
        "PlanId": "p-1",
        "PlanName": "Files",
        "CompanyName": "Contoso",
        "UserID": "U-1",
        "ComputerName": "Desktop-01",
        "LastStart": "2025-03-19T01:00:00",
        "Duration": "01:02:03",
        "Status": 2,
        "ErrorMessage": "VSS failed",
        "DataCopied": 1024,
        "FilesCopied": 3,
        "PlanType": 3,
    }
    record = converter.structure(row, MonitoringRecord)
    job = mapping.job(
        record, row, account="a", tz=dt.UTC, device_ids={("u-1", "desktop-01"): "hid-1"}, company_ids={"Contoso": "c-1"}
    )
    assert (job.device_id, job.company_id, job.plan_id, job.error) == ("hid-1", "c-1", "p-1", "VSS failed")
    assert job.finished_at is not None and job.started_at is not None
    assert job.finished_at - job.started_at == dt.timedelta(hours=1, minutes=2, seconds=3)


@pytest.mark.parametrize(
    ("code", "target"),
    [
        (3, BackupTarget.FILES),
        (11, BackupTarget.ENTIRE_MACHINE),
        (7, BackupTarget.DATABASE),
        (16, BackupTarget.VM),
        (9, BackupTarget.APPLICATION),
        (2, BackupTarget.OTHER),
    ],
)
def test_plan_types_to_targets(code: int, target: BackupTarget) -> None:
    from backupbridge_managedbackup.records import ComputerPlanRecord

    plan = mapping.plan(
        ComputerPlanRecord(id="p", type=PlanType(code)), {}, account="a", tz=dt.UTC, computer="h", company_id=None
    )
    assert plan.what is target


def test_neutral_operations(run: Runner, sim) -> None:  # type: ignore[no-untyped-def]
    companies = run(lambda c: c.list_companies())
    assert {c.id for c in companies} == set(sim.companies)
    devices = run(lambda c: c.list_devices(company_id=companies[0].id))
    expected = {h for h, c in sim.computers.items() if c["CompanyName"] == companies[0].name}
    assert {d.id for d in devices} == expected
    jobs = run(lambda c: c.list_jobs())
    assert len(jobs) == sum(len(p) for p in sim.plans.values()) and all(j.device_id for j in jobs)
    failed = run(lambda c: c.list_jobs(status=JobStatus.FAILED))
    assert failed and all(j.status is JobStatus.FAILED for j in failed)
    device = next(iter(expected))
    assert {j.device_id for j in run(lambda c: c.list_jobs(device_id=device))} == {device}
    created = run(lambda c: c.create_company("Neutral Co"))
    assert created.name == "Neutral Co" and created.id in sim.companies
