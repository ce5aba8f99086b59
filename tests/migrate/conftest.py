"""Migration tests: two simulated tenants, every request recorded, faults injected by predicate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from backupbridge import connect
from backupbridge.connection import Connection
from backupbridge.migrate import Journal, apply_plan, build_plan
from backupbridge.migrate.planfile import check_plan_file
from backupbridge.migrate.translate import PLAN_FIELDS, PLAN_TARGETS, STRUCTURAL
from backupbridge.sandbox import SimulatorOptions, SimulatorTransport, make_simulator
from backupbridge.store import Store, open_store

VENDORS = ("idrive360", "cleverfox", "managedbackup", "vprotect")
PAIRS = [(s, t) for s in VENDORS for t in VENDORS if s != t and t in PLAN_TARGETS]
LOSSES = tuple(f for f in PLAN_FIELDS if f not in STRUCTURAL)
"""Every field whose loss can be accepted: the widest set of plans that can be recreated."""

Injector = Callable[[httpx.Request], httpx.Response | None]


class RecordingTransport(httpx.BaseTransport):
    """The simulator's transport, recording every request; ``inject`` may answer one instead."""

    def __init__(self, simulator: Any) -> None:
        self.inner = SimulatorTransport(simulator.handle)
        self.requests: list[tuple[str, str]] = []
        self.inject: Injector | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.inject is not None:
            answer = self.inject(request)
            if answer is not None:
                self.requests.append((request.method, request.url.path + " (injected)"))
                return answer
        self.requests.append((request.method, request.url.path))
        return self.inner.handle_request(request)

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET" and not r[1].endswith(("/Login", "/login"))]


@attrs.define
class Tenant:
    vendor: str
    simulator: Any
    transport: RecordingTransport
    conn: Connection


def tenant(vendor: str, seed: int, size: int = 24) -> Tenant:
    sim: Any = make_simulator(vendor, SimulatorOptions(seed=seed, size=size))
    transport = RecordingTransport(sim)
    conn = connect(vendor, transport=transport, clock=sim.now, account=f"sandbox-{vendor}", **sim.credentials)
    return Tenant(vendor, sim, transport, conn)


def company_map(source: Tenant, target: Tenant) -> dict[str, str]:
    """CleverFox devices need a company with a subscription, and vProtect creates no projects: map onto the
    target's own companies."""
    if target.vendor not in ("cleverfox", "vprotect"):
        return {}
    targets = [c.id for c in target.conn.list_companies()]
    return {c.id: targets[i % len(targets)] for i, c in enumerate(source.conn.list_companies())}


def plan_for(source: Tenant, target: Tenant, losses: tuple[str, ...] = LOSSES) -> dict[str, Any]:
    data = build_plan(
        source.conn, target.conn, company_map=company_map(source, target), accept_loss=losses, sandbox=True
    )
    return check_plan_file(data)


def enroll_all(data: dict[str, Any], target: Tenant, journal: Journal) -> int:
    """Play the agents: every source device joins its target company and backs up once."""
    entries = journal.entries()
    count = 0
    for company in data["companies"]:
        done = entries.get(f"company:{company['source_id']}")
        if done is None or done.target_id is None:
            continue
        for device in company["devices"]:
            registered = entries.get(f"device:{device['source_id']}")
            if target.vendor == "cleverfox" and registered is None:
                continue  # in no migrated plan: the migration registered no device for it
            enroll(target, done.target_id, device, registered)
            count += 1
    return count


def enroll(target: Tenant, company_id: str, device: dict[str, Any], registered: Any) -> None:
    sim = target.simulator
    now = sim.now()
    if target.vendor == "idrive360":
        if any(d["name"] == device["hostname"] and d["company_id"] == company_id for d in sim.devices.values()):
            return  # enrolled already
        device_id = f"enrolled{len(sim.devices):042d}"
        os_name = {"windows": "windows", "macos": "mac", "linux": "linux"}.get(device["os"], "windows")
        sim.devices[device_id] = {
            "name": device["hostname"],
            "status": "online",
            "device_id": device_id,
            "company_id": company_id,
            "custom_tag": " ",
            "os": os_name,
            "backup_status": "Success",
            "version": "6.8.2.11",
            "last_backup": now.replace(tzinfo=None).isoformat(timespec="milliseconds"),
            "next_backup": None,
            "group_name": "Windows",
            "backup_failure_reason": "NA",
        }
        sim.device_sets[device_id] = {}
    elif target.vendor == "cleverfox":
        assert registered is not None, "CleverFox devices are registered by apply"
        row = sim.tables["devices"][int(registered.target_id)]
        stamp = now.replace(tzinfo=None).isoformat(timespec="milliseconds")
        row["LastApiCheckAt"] = stamp
        jobs = [j for j in sim.tables["jobs"].values() if j["DeviceId"] == row["DeviceId"]]
        for job in jobs:
            sim._insert(
                "logs",
                {
                    "CompanyId": row["CompanyId"],
                    "DeviceId": row["DeviceId"],
                    "TimeZoneId": row["TimeZoneId"],
                    "SubscriptionId": row["SubscriptionId"],
                    "PlanId": sim.tables["subscriptions"][row["SubscriptionId"]]["PlanId"],
                    "JobId": job["JobId"],
                    "Name": job["Name"],
                    "Frequency": job["Frequency"],
                    "JobStartedOn": stamp,
                    "JobCompletedOn": stamp,
                    "JobStatus": "Completed",
                    "ErrorMessages": "",
                },
            )
        sim._changed()
    elif target.vendor == "vprotect":
        # The hypervisor inventory finds a new machine in the project.
        template = dict(next(iter(sim.vms.values())))
        key = f"00000000-0000-4000-8000-{len(sim.vms):012d}"
        sim.vms[key] = {
            **template,
            "guid": key,
            "uuid": key,
            "name": device["hostname"],
            "vmBackupPolicy": None,
            "project": {**(template.get("project") or {}), "guid": company_id},
        }
    else:  # pragma: no cover - only plan-creating targets are migrated to
        raise AssertionError(target.vendor)


def forbid_data_deletion(tenants: list[Tenant]) -> None:
    """No migration stage may delete anything; Managed Backup's DELETE Users/{id} deletes backup data."""
    for t in tenants:
        deletes = [r for r in t.transport.requests if r[0] == "DELETE"]
        assert deletes == [], f"{t.vendor}: migration sent {deletes}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield opened
    opened.close()


def full_apply(data: dict[str, Any], target: Tenant, journal: Journal) -> None:
    """Apply, let the devices enroll, apply again (multi-device targets create plans once devices are in)."""
    apply_plan(data, target.conn, journal)
    enroll_all(data, target, journal)
    apply_plan(data, target.conn, journal)


def plan_names(target: Tenant, company_ids: set[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    return sorted(
        (p.company_id or "", p.name, p.device_ids) for p in target.conn.list_plans() if p.company_id in company_ids
    )


NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
