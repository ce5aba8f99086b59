"""Managed Backup <-> the neutral model. Status tables are data; ``docs/vendors/managedbackup.md`` lists them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from backupbridge import (
    BackupTarget,
    Company,
    CompanyStatus,
    Device,
    DeviceStatus,
    Job,
    JobKind,
    JobStatus,
    OSFamily,
    Plan,
)
from backupbridge.plugin import duration_or_none, with_timezone

from .records import CompanyRecord, ComputerPlanRecord, ComputerRecord, MonitoringRecord, MonitoringStatus, PlanType

VENDOR = "managedbackup"

MONITORING_STATUS: Mapping[MonitoringStatus, JobStatus] = {
    MonitoringStatus.SUCCESS: JobStatus.SUCCESS,
    MonitoringStatus.OVERDUE: JobStatus.MISSED,
    MonitoringStatus.ERROR: JobStatus.FAILED,
    MonitoringStatus.RUNNING: JobStatus.RUNNING,
    MonitoringStatus.UNKNOWN_STATUS: JobStatus.UNKNOWN,
    MonitoringStatus.INTERRUPTED: JobStatus.FAILED,
    MonitoringStatus.UNEXPECTEDLY_CLOSED: JobStatus.FAILED,
    MonitoringStatus.WARNING: JobStatus.WARNING,
}
PLAN_TARGET: Mapping[PlanType, BackupTarget] = {
    PlanType.BACKUP: BackupTarget.FILES,
    PlanType.BACKUP_FILES: BackupTarget.FILES,
    PlanType.VM_BACKUP: BackupTarget.VM,
    PlanType.HYPERV_BACKUP: BackupTarget.VM,
    PlanType.EC2_BACKUP: BackupTarget.VM,
    PlanType.SQL_BACKUP: BackupTarget.DATABASE,
    PlanType.EXCHANGE_BACKUP: BackupTarget.APPLICATION,
    PlanType.BMSS_BACKUP: BackupTarget.ENTIRE_MACHINE,
}
OS_FAMILY: Mapping[str, OSFamily] = {
    "windows": OSFamily.WINDOWS,
    "linux": OSFamily.LINUX,
    "mac": OSFamily.MACOS,
    "macos": OSFamily.MACOS,
    "osx": OSFamily.MACOS,
}


def company(record: CompanyRecord, raw: Mapping[str, Any], *, account: str) -> Company:
    return Company(
        vendor=VENDOR,
        account=account,
        id=record.id,
        name=record.name or record.id,
        status=CompanyStatus.UNKNOWN,
        raw=raw,
    )


def os_family(text: str | None) -> OSFamily:
    if not text:
        return OSFamily.UNKNOWN
    lowered = text.lower()
    return next((family for key, family in OS_FAMILY.items() if key in lowered), OSFamily.OTHER)


APP_STATE: Mapping[str, DeviceStatus | None] = {
    "enabled": None,  # the agent's Online flag says the rest
    "disabled": DeviceStatus.INACTIVE,
}


def device_status(record: ComputerRecord) -> tuple[DeviceStatus, str | None]:
    """From every field that carries it, the first that decides:

    ``LostAuth`` true: INACTIVE (the computer's authorization was lost); ``HasBackupApp`` false: UNKNOWN
    (no backup agent to be online); the backup app's ``ApplicationState``: ``Disabled`` INACTIVE, an
    unlisted value UNKNOWN (``vendor_status`` keeps it), ``Enabled`` goes on to its ``Online`` flag: ONLINE
    or OFFLINE (UNKNOWN when absent)."""
    app = record.backup_app
    if record.lost_auth:
        return DeviceStatus.INACTIVE, "LostAuth"
    if record.has_backup_app is False and app is None:
        return DeviceStatus.UNKNOWN, "HasBackupApp=false"
    state = (app.application_state or "").strip() if app is not None else ""
    if state:
        decided = APP_STATE.get(state.lower(), DeviceStatus.UNKNOWN)
        if decided is not None:
            return decided, f"ApplicationState={state}"
    if app is None or app.online is None:
        return DeviceStatus.UNKNOWN, None
    return (DeviceStatus.ONLINE, "Online") if app.online else (DeviceStatus.OFFLINE, "Offline")


def device(
    record: ComputerRecord, raw: Mapping[str, Any], *, account: str, tz: dt.tzinfo, company_ids: Mapping[str, str]
) -> Device:
    status, vendor_status = device_status(record)
    app = record.backup_app
    version = (
        app.version
        if app and app.version
        else (str(record.backup_build_version) if record.backup_build_version else None)
    )
    return Device(
        vendor=VENDOR,
        account=account,
        id=record.computer_hid.strip("{}"),
        name=record.computer_display_name or record.computer_name or record.computer_hid,
        company_id=company_ids.get(record.company_name or ""),
        os=os_family(record.os_type_string),
        vendor_os=record.os_type_string,
        status=status,
        vendor_status=vendor_status,
        agent_version=version or None,
        last_seen_at=with_timezone(record.last_activity, tz),
        tags=tuple(t for t in (record.profile_name,) if t),
        raw=raw,
    )


def plan(
    record: ComputerPlanRecord,
    raw: Mapping[str, Any],
    *,
    account: str,
    tz: dt.tzinfo,
    computer: str,
    company_id: str | None,
) -> Plan:
    kind = record.type
    return Plan(
        vendor=VENDOR,
        account=account,
        id=record.id,
        name=record.name or record.id,
        company_id=company_id,
        device_ids=(computer,),
        enabled=record.is_enabled if record.is_enabled is not None else True,
        what=PLAN_TARGET.get(kind, BackupTarget.OTHER) if kind is not None and kind.known else BackupTarget.UNKNOWN,
        vendor_what=kind.name if kind is not None and kind.known else (str(int(kind)) if kind is not None else None),
        next_run_at=with_timezone(record.next_start, tz),
        last_run_at=with_timezone(record.last_start, tz),
        raw=raw,
    )


def job_status(status: MonitoringStatus | None) -> JobStatus:
    if status is None or not status.known:
        return JobStatus.UNKNOWN
    return MONITORING_STATUS[status]


def run_key(record: MonitoringRecord) -> str:
    """What identifies a monitoring row's plan: its ``PlanId``, or, in rows from older API versions that
    carry none, its user, computer and plan name (each percent-encoded, so no two rows can share a key)."""
    if record.plan_id:
        return record.plan_id
    parts = (record.user_id or "", record.computer_name or "", record.plan_name or "")
    return "/".join(quote(part, safe="") for part in parts)


def job(
    record: MonitoringRecord,
    raw: Mapping[str, Any],
    *,
    account: str,
    tz: dt.tzinfo,
    device_ids: Mapping[tuple[str, str], str],
    company_ids: Mapping[str, str],
) -> Job:
    """The latest run of one plan. Its device is found by (user id, computer name)."""
    status = job_status(record.status)
    started = with_timezone(record.last_start, tz)
    # Duration: "hh:mm:ss" (the PowerShell module), "15 second(s)" (older docs), ISO 8601 or seconds; a
    # shape none of those leaves the finish unknown (the converter bounds times and durations, so the sum
    # cannot overflow).
    took = duration_or_none(record.duration)
    finished = started + took if started is not None and took is not None and status is not JobStatus.RUNNING else None
    device_id = device_ids.get(((record.user_id or "").lower(), (record.computer_name or "").lower()))
    return Job(
        vendor=VENDOR,
        account=account,
        id=f"{run_key(record)}:{started.isoformat() if started else 'never'}",
        device_id=device_id,
        plan_id=record.plan_id,
        company_id=company_ids.get(record.company_name or ""),
        status=status,
        vendor_status=record.status.name
        if record.status is not None and record.status.known
        else (str(int(record.status)) if record.status is not None else None),
        kind=JobKind.UNKNOWN,
        started_at=started,
        finished_at=finished,
        size_bytes=record.data_copied,
        files=record.files_copied,
        error=(record.error_message or "").strip() or None,
        raw=raw,
    )
