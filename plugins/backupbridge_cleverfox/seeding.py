"""Seeding the simulator: the realistic data it starts with (split from simulator.py, which answers requests)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from .simulator import ERRORS, ZONES

if TYPE_CHECKING:
    from .simulator import CleverFoxSimulator


def seed(sim: CleverFoxSimulator) -> None:
    s = sim.seeder
    sim._insert("plantypes", {"Name": "CleverFox Backup", "IsInactive": False})
    for name, devices, storage in (("Small Plan", 1, 25), ("Medium Plan", 5, 250), ("Large Plan", 25, 1000)):
        sim._insert(
            "plans",
            {
                "PlanTypeId": 1,
                "Name": name,
                "Details": f"{devices} Device\r\n{storage} GB Storage",
                "IsInactive": False,
                "DeviceLimit": devices,
                "StorageLimit": storage,
                "DownloadLimit": False,
            },
        )
    sim._insert(
        "partners",
        {"PlanTypeId": 1, "Name": "Forward Thinking Software, LLC", "ApplicationId": None, "IsInactive": False},
    )
    sim._insert(
        "partnerusers",
        {
            "PartnerId": 1,
            "FirstName": "Frank",
            "LastName": "Perez",
            "Email": "support@example.com",
            "IsAccountOwner": True,
            "IsInactive": False,
        },
    )
    for engine, name in (("FILE", "File"), ("FOLDER", "Folder"), ("SQLSERVER", "SqlServer")):
        sim._insert(
            "backuptypes",
            {
                "EngineId": engine,
                "Name": name,
                "EngineType": name,
                "Port": 1433 if engine == "SQLSERVER" else None,
                "IsInactive": False,
            },
        )
    size = max(sim.options.size, 0)
    companies = []
    for index in range(max(2, size // 8)):
        name = s.company_name(index)
        company = sim._insert(
            "companies",
            {
                "PartnerId": 1,
                "PlanTypeId": 1,
                "Name": name,
                "CityMunicipality": "Springfield",
                "StateProvidence": "MI",
                "PostalCode": f"4{index:04d}",
                "Country": "US",
                "IsInactive": index % 11 == 10,
            },
        )
        domain = name.split()[0].lower() + ".example"
        sim._insert(
            "companyusers",
            {
                "CompanyId": company["CompanyId"],
                "FirstName": "Office",
                "LastName": "Manager",
                "Email": f"office@{domain}",
                "IsInactive": False,
            },
        )
        subscription = sim._insert(
            "subscriptions",
            {
                "CompanyId": company["CompanyId"],
                "PlanId": 3,
                "IsInactive": False,
                "BillingId": 10_000_000 + index,
                "Status": "Active",
                "PeriodStart": sim._utc_now(),
                "SendNotificationTo": f"billing@{domain}",
                "SendNotificationOnStorageLimit": True,
            },
        )
        companies.append((company, subscription, domain))
    for index in range(size):
        company, subscription, domain = companies[index % len(companies)]
        zone = s.random.choice(ZONES)
        state = s.weighted({"online": 0.7, "offline": 0.22, "inactive": 0.08})
        checked = s.past(0.3) if state == "online" else s.past(24 * 6, 2)
        device = sim._insert(
            "devices",
            {
                "CompanyId": company["CompanyId"],
                "SubscriptionId": subscription["SubscriptionId"],
                "Name": s.hostname(company["Name"], index),
                "TimeZoneId": zone,
                "ApplicationId": None,
                "ExternalId": f"RMM-{10000 + index}" if s.random.random() < 0.5 else None,
                "IsInactive": state == "inactive",
                "ApiKey": str(uuid.UUID(int=s.random.getrandbits(128))),
                "LastApiCheckAt": sim._local(checked, zone),
                "SendNotificationTo": f"it@{domain}",
                "SendNotificationOnJobCompleted": False,
                "SendNotificationOnJobFailed": True,
                "SendNotificationOnJobMissed": s.random.random() < 0.8,
                "AgentDownloadUrl": "https://cleverfoxbackup.com/downloads/agent/CleverFoxBackupAgent.exe",
                "LastAgentDownloadCreated": sim._utc_now(),
            },
        )
        _seed_jobs(sim, device, zone, healthy=s.random.random() < 0.7)
        sim._insert(
            "events",
            {
                "EventTypeId": 32,
                "EventType": "Device Modified",
                "CompanyId": company["CompanyId"],
                "DeviceId": device["DeviceId"],
            },
        )


def _seed_jobs(sim: CleverFoxSimulator, device: dict[str, Any], zone: str, *, healthy: bool) -> None:
    s = sim.seeder
    now = sim.seeder.now
    hour = s.random.choice((19, 20, 21, 22, 23))
    plans = [("Daily Documents", "Daily", 1, 2)]
    if s.random.random() < 0.35:
        plans.append(("Weekly SQL", "Weekly", 7, 3))
    for name, frequency, period_days, engine in plans:
        last_run = (now - dt.timedelta(days=1)).replace(hour=hour, minute=0, second=0)
        job = sim._insert(
            "jobs",
            {
                "DeviceId": device["DeviceId"],
                "Name": name,
                "IsInactive": False,
                "LastRanOn": sim._local(last_run, zone),
                "Frequency": frequency,
                "NextRunOn": sim._local(last_run + dt.timedelta(days=period_days), zone),
                "LateAfter": 240,
                "Every": 1,
                "OnMonday": False,
                "OnTuesday": False,
                "OnWednesday": False,
                "OnThursday": False,
                "OnFriday": False,
                "OnSaturday": False,
                "OnSunday": frequency == "Weekly",
                "DayOfMonth": 1,
                "ExpireOn": None,
                "CloudKeepLast": 30,
                "LocalKeepLast": 1,
            },
        )
        item = sim._insert(
            "jobitems",
            {
                "JobId": job["JobId"],
                "Name": "Documents" if engine != 3 else "Accounting DB",
                "BackupTypeId": engine,
                "BaseFolder": "C:\\Users\\Public\\Documents" if engine != 3 else None,
                "IncludeSubFolders": engine != 3,
                "SearchPatterns": "*.*" if engine != 3 else None,
                "ServerName": "localhost" if engine == 3 else None,
                "DatabaseName": "Accounting" if engine == 3 else None,
                "AuthenticationMode": "W",
                "OptionCompress": True,
                "OptionCopyOnly": engine == 3,
                "OptionLogOnly": False,
            },
        )
        runs = 10 if frequency == "Daily" else 2
        for back in range(runs, 0, -1):
            start = last_run - dt.timedelta(days=period_days * (back - 1))
            latest = back == 1
            if healthy or not latest:
                status = s.weighted({"Completed": 0.9, "Failed": 0.06, "Missed": 0.04})
            else:
                status = s.random.choice(("Failed", "Missed"))
            _seed_log(sim, device, job, item, zone, start, status)


def _seed_log(
    sim: CleverFoxSimulator,
    device: dict[str, Any],
    job: dict[str, Any],
    item: dict[str, Any],
    zone: str,
    start: dt.datetime,
    status: str,
) -> None:
    s = sim.seeder
    took = dt.timedelta(minutes=s.random.randint(2, 95))
    log = sim._insert(
        "logs",
        {
            "CompanyId": device["CompanyId"],
            "DeviceId": device["DeviceId"],
            "TimeZoneId": zone,
            "SubscriptionId": device["SubscriptionId"],
            "PlanId": 3,
            "JobId": job["JobId"],
            "Name": job["Name"],
            "ArchiveFolder": "C:\\ProgramData\\Forward Thinking Software\\CleverFox Backup Agent\\Archive",
            "UploadFolder": "C:\\ProgramData\\Forward Thinking Software\\CleverFox Backup Agent\\Upload",
            "Frequency": job["Frequency"],
            "NextRunOn": job["NextRunOn"],
            "LateAfter": job["LateAfter"],
            "LocalKeepLast": 1,
            "JobStartedOn": None if status == "Missed" else sim._local(start, zone),
            "JobCompletedOn": None if status == "Missed" else sim._local(start + took, zone),
            "JobStatus": status,
            "ErrorMessages": s.random.choice(ERRORS)
            if status == "Failed"
            else ("The job did not start within 240 minutes." if status == "Missed" else ""),
        },
    )
    if status != "Missed":
        sim._insert(
            "logitems",
            {
                "LogId": log["LogId"],
                "JobItemId": item["JobItemId"],
                "Name": item["Name"],
                "EngineId": "SQLSERVER" if item["BackupTypeId"] == 3 else "FOLDER",
                "EngineType": "SqlServer" if item["BackupTypeId"] == 3 else "Folder",
                "BaseFolder": item["BaseFolder"],
                "BackupFileSize": s.random.randint(5_000_000, 4_000_000_000),
                "BackupListSize": s.random.randint(1_000, 90_000),
                "BackupListCount": s.random.randint(10, 25_000),
            },
        )
