"""Seeding the simulator: the realistic data it starts with (simulator.py and handlers/ answer requests)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .handlers.common import ERRORS, PLAN_NAMES
from .handlers.common import iso as _iso

if TYPE_CHECKING:
    from .simulator import ManagedBackupSimulator


def seed(sim: ManagedBackupSimulator) -> None:
    s = sim.seeder
    for pid, (name, limit) in enumerate((("Basic 250 GB", 250), ("Pro 1 TB", 1024), ("Unlimited", -1)), start=1):
        sim.packages[pid] = {
            "ID": pid,
            "Name": name,
            "Description": f"{name} storage",
            "StorageLimit": limit,
            "IsGlobal": True,
            "Cost": float(pid * 5),
        }
    account = sim._guid()
    sim.accounts[account] = {
        "AccountID": account,
        "DisplayName": "Wasabi EU",
        "Type": "Wasabi",
        "Destinations": [{"Destination": "mbs-eu-1", "DestinationDisplayName": "EU bucket"}],
    }
    admin = sim._guid()
    sim.administrators[admin] = {
        "AdminID": admin,
        "Email": "owner@msp.example",
        "FirstName": "Olive",
        "LastName": "Owner",
        "Enabled": True,
        "PermissionsModels": None,
        "LastLogin": _iso(s.past(12)),
        "DateCreated": _iso(s.past(24 * 300)),
        "Companies": [],
        "AccessToCompaniesMode": 0,
        "AccountType": 0,
    }
    size = max(sim.options.size, 0)
    companies = []
    for index in range(max(2, size // 8)):
        cid = sim._guid()
        name = s.company_name(index)
        sim.companies[cid] = {
            "Id": cid,
            "Name": name,
            "StorageLimit": -1 if index % 3 == 0 else 500,
            "LicenseSettings": index % 3,
            "Destinations": [],
            "DefaultLicense": 0,
            "AllowedLicenses": [0, 1],
        }
        companies.append(sim.companies[cid])
    statuses = list(range(8))  # every monitoring status appears at least once when size allows
    plan_index = 0
    for index in range(size):
        company = companies[index % len(companies)]
        domain = company["Name"].split()[0].lower() + ".example"
        user_id = sim._guid()
        email = f"user{index}@{domain}"
        sim.users[user_id] = {
            "ID": user_id,
            "Email": email,
            "FirstName": "User",
            "LastName": str(index),
            "NotificationEmails": [f"alerts@{domain}"],
            "Company": company["Name"],
            "Enabled": True,
            "LicenseManagmentMode": index % 3,
            "SpaceUsed": s.random.randint(1, 900) * 2**30,
            "DestinationList": [
                {
                    "ID": sim._guid(),
                    "CurrentVolume": 0,
                    "PackageID": 1,
                    "AccountID": account,
                    "AccountDisplayName": "Wasabi EU",
                    "Destination": "mbs-eu-1",
                    "DestinationDisplayName": "EU bucket",
                }
            ],
        }
        license_id = sim._guid()
        sim.licenses[license_id] = {
            "ID": license_id,
            "Number": 1000 + index,
            "ComputerName": None,
            "OperatingSystem": None,
            "IsTrial": False,
            "IsTaken": True,
            "LicenseType": "Server",
            "DateExpired": None,
            "Transaction": None,
            "User": email,
            "UserID": user_id,
        }
        hid = sim._guid()
        os_name = s.weighted({"Windows Server 2022": 0.4, "Windows 11": 0.35, "Ubuntu 22.04": 0.15, "macOS 14": 0.1})
        online = s.random.random() < 0.75
        name = s.hostname(company["Name"], index)
        sim.computers[hid] = {
            "ComputerHID": hid,
            "OSTypeString": os_name,
            "BuildTypeString": "8",
            "RemoteManagementAvailable": True,
            "ComputerName": name,
            "ComputerDisplayName": name,
            "CompanyName": company["Name"],
            "UserEmail": email,
            "ProfileName": email,
            "UserID": user_id,
            "BackupBuildVersion": {
                "_Major": 7,
                "_Minor": s.random.randint(0, 9),
                "_Build": s.random.randint(0, 400),
                "_Revision": 0,
            },
            "License": {"Granted": True, "IsTrial": False, "DisplayExpiresDate": "Never"},
            "BackupStats": {},
            "LastActivity": _iso(s.past(0.2 if online else 200)),
            "InstanceType": 0,
            "HasBackupApp": True,
            "LostAuth": index % 29 == 28,
            "LostAuthChangeDate": None,
            "Apps": [
                {
                    "ApplicationId": "backup",
                    "Version": f"7.{s.random.randint(0, 9)}.0.{s.random.randint(1, 400)}",
                    "VersionStatus": s.random.choice(("Latest", "Outdated")),
                    "BuildTypeLong": 8,
                    "ApplicationState": "Enabled",
                    "Online": online,
                    "ErrorCode": 0,
                    "ErrorMessage": None,
                }
            ],
        }
        sim.license_computer(license_id, name, os_name)
        sim.plans[hid] = []
        for plan_name, plan_type in PLAN_NAMES[: 1 + (index % 2) + (index % 5 == 0)]:
            status = statuses.pop(0) if statuses else s.random.choices(range(8), weights=(70, 5, 8, 3, 1, 3, 2, 8))[0]
            _seed_plan(sim, hid, plan_name, plan_type, status, plan_index)
            plan_index += 1
        sim._refresh_stats(hid)


def _seed_plan(sim: ManagedBackupSimulator, hid: str, name: str, plan_type: int, status: int, index: int) -> None:
    s = sim.seeder
    pid = sim._guid()
    last = s.past(20 if status != 1 else 80, 1)
    plan = {
        "Id": pid,
        "Name": name,
        "Type": plan_type,
        "Status": status,
        "LastStart": _iso(last),
        "NextStart": _iso(s.future(24)),
        "StorageType": "Wasabi",
        "IsEnabled": True,
        "ErrorMessage": s.random.choice(ERRORS) if status in (2, 5, 6) else None,
        "FilesCopied": s.random.randint(0, 5000),
        "FilesFailed": s.random.randint(1, 9) if status in (2, 7) else 0,
        "DataCopied": s.random.randint(10**6, 10**11),
        "Duration": f"00:{s.random.randint(1, 59):02d}:{s.random.randint(0, 59):02d}",
    }
    sim.plans[hid].append(plan)
    sim.history[pid] = [
        {
            "PlanId": pid,
            "Status": 0 if back > 1 else status,
            "StartTime": _iso(last - dt.timedelta(days=back - 1)),
            "Duration": plan["Duration"],
        }
        for back in range(7, 0, -1)
    ]
