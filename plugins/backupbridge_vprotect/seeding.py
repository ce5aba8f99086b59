"""Seeding the simulator: the realistic data it starts with (split from simulator.py, which answers requests)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from .handlers.common import _ms, _name, enum, ref

if TYPE_CHECKING:
    from .simulator import VProtectSimulator


def seed(sim: VProtectSimulator) -> None:
    s = sim.seeder
    size = max(sim.options.size, 0)
    sim.projects = [
        {"guid": sim._guid(), "name": f"{s.company_name(i)} project"} for i in range(max(2, min(size // 10, 6)))
    ]
    manager = sim._guid()
    nodes = [sim._guid(), sim._guid()]
    for host in ("kvm-01.lan", "kvm-02.lan"):
        key = sim._guid()
        sim.hypervisors[key] = {
            "guid": key,
            "host": host,
            "type": enum("KVM"),
            "cluster": {"name": "Default"},
            "user": "root",
            "licenseCovered": True,
            "vmCount": 0,
            "hypervisorManager": manager,
        }
    sim.destinations = [{"guid": sim._guid(), "name": name} for name in ("Local NFS", "S3 offsite")]
    sim.storage_provider, sim.cloud_provider = sim._guid(), sim._guid()
    daily = _schedule(sim, "Nightly", "TIME", hour=22, days=[], backup_type="INCREMENTAL")
    weekly = _schedule(sim, "Weekly full", "TIME", hour=2, days=["SATURDAY"], backup_type="FULL")
    hourly = _schedule(sim, "Every 4 hours", "INTERVAL", hour=None, days=[], backup_type="INCREMENTAL")
    for index, project in enumerate(sim.projects):
        picks = [daily, weekly] if index % 2 == 0 else [hourly]
        _policy(sim, "vm-backup", f"{project['name']} VMs", project, picks)
    storage_policy = _policy(sim, "storage-backup", "File shares", sim.projects[0], [daily])
    cloud_policy = _policy(sim, "cloud-backup", "Microsoft 365", sim.projects[-1], [weekly])
    hypervisor_keys = list(sim.hypervisors)
    for index in range(size):
        project = sim.projects[index % len(sim.projects)]
        hyper = hypervisor_keys[index % 2]
        sim.hypervisors[hyper]["vmCount"] += 1
        policy = next((p for p in sim.policies["vm-backup"].values() if p["project"]["guid"] == project["guid"]), None)
        key = sim._guid()
        vm = {
            "guid": key,
            "name": f"{s.hostname(project['name'], index).lower()}",
            "uuid": str(uuid.UUID(int=s.random.getrandbits(128))),
            "present": index % 17 != 16,
            "restoreStatus": None,
            "lastSuccessfulFullBackupSize": None,
            "lastSuccessfulFullBackup": None,
            "backupUpToDate": True,
            "hvType": enum("KVM", bare=index % 4 == 3),
            "hvmType": None,
            "hypervisor": {"guid": hyper, "name": sim.hypervisors[hyper]["host"]},
            "vmBackupPolicy": ref(policy) if policy and index % 9 != 8 else None,
            "project": ref(project),
        }
        sim.vms[key] = vm
        sim.entities[key] = {
            "entity": vm,
            "type": "VM",
            "node": nodes[index % 2],
            "hypervisor": hyper,
            "manager": manager,
            "provider": None,
            "cloud": None,
            "policy": policy,
        }
        _seed_backups(sim, key, policy, project, healthy=s.random.random() < 0.7)
    for kind, policy, provider_field in (("STORAGE", storage_policy, "provider"), ("CLOUD", cloud_policy, "cloud")):
        key = sim._guid()
        entity = {"guid": key, "name": f"{kind.lower()}-entity"}
        sim.entities[key] = {
            "entity": entity,
            "type": kind,
            "node": nodes[0],
            "hypervisor": None,
            "manager": None,
            "provider": sim.storage_provider if provider_field == "provider" else None,
            "cloud": sim.cloud_provider if provider_field == "cloud" else None,
            "policy": policy,
        }
        _seed_backups(sim, key, policy, policy["project"], healthy=True)
    for index, vm_key in enumerate(list(sim.vms)[:3]):
        task = sim._guid()
        state = ("RUNNING", "QUEUED", "FINISHED")[index % 3]
        sim.tasks[task] = {
            "guid": task,
            "type": enum("EXPORT"),
            "state": enum(state),
            "progress": 40 if state == "RUNNING" else 0,
            "priority": 50,
            "windowStart": _ms(sim.now() - dt.timedelta(minutes=20)),
            "windowEnd": _ms(sim.now() + dt.timedelta(hours=6)),
            "protectedEntity": {**ref(sim.vms[vm_key]), "type": enum("VM")},
            "backupDestination": ref(sim.destinations[0]),
            "backupType": enum("INCREMENTAL"),
            "hypervisor": sim.vms[vm_key]["hypervisor"],
            "node": {"guid": nodes[0], "name": "node-1"},
        }


def _schedule(
    sim: VProtectSimulator, name: str, execution: str, *, hour: int | None, days: list[str], backup_type: str
) -> dict[str, Any]:
    key = sim._guid()
    sim.schedules[key] = {
        "guid": key,
        "name": name,
        "active": True,
        "hour": hour * 3600 * 1000 if hour is not None else None,
        "backupType": enum(backup_type),
        "type": enum("VM_BACKUP"),
        "executionType": enum(execution),
        "interval": {"startHour": 6 * 3600 * 1000, "endHour": 22 * 3600 * 1000, "frequency": 4 * 3600 * 1000}
        if execution == "INTERVAL"
        else None,
        "startWindowLength": 4 * 3600 * 1000,
        "daysOfWeek": [enum(d) for d in days],
        "months": [],
        "dayOfWeekOccurrences": [],
        "rules": [],
        "policies": [],
        "tenantId": None,
    }
    return sim.schedules[key]


def _policy(
    sim: VProtectSimulator, kind: str, name: str, project: dict[str, Any], schedules: list[dict[str, Any]]
) -> dict[str, Any]:
    key, rule = sim._guid(), sim._guid()
    policy = {
        "guid": key,
        "name": name,
        "active": True,
        "priority": 50,
        "backupRetryCount": 2,
        "autoAssignMode": "DISABLED",
        "rules": [{"guid": rule, "name": f"{name} rule"}],
        "ruleCount": 1,
        "backupDestinations": [ref(sim.destinations[0])],
        "vmCount" if kind == "vm-backup" else "storageCount": 0,
        "project": ref(project),
    }
    sim.policies[kind][key] = policy
    sim.rules[rule] = {
        "guid": rule,
        "name": f"{name} rule",
        "schedules": [ref(s) for s in schedules],
        "policy": ref(policy),
        "backupDestinations": [{"backupDestination": ref(sim.destinations[0]), "roleType": enum("PRIMARY")}],
    }
    for schedule in schedules:
        schedule["rules"].append({"guid": rule, "name": f"{name} rule"})
        schedule["policies"].append(ref(policy))
    return policy


def _seed_backups(
    sim: VProtectSimulator, entity_key: str, policy: dict[str, Any] | None, project: dict[str, Any], *, healthy: bool
) -> None:
    s = sim.seeder
    meta = sim.entities[entity_key]
    root = parent = None
    for back in range(6, -1, -1):
        ended = sim.now() - dt.timedelta(days=back, hours=s.random.uniform(0, 3))
        latest = back == 0
        if healthy or not latest:
            status = s.weighted({"SUCCESS": 0.8, "PARTIAL_SUCCESS": 0.08, "FAILED": 0.07, "SUCCESS_REMOVED": 0.05})
        else:
            status = s.random.choice(("FAILED", "PARTIAL_SUCCESS", "INPROGRESS", "QUEUED"))
        kind = (
            "FULL"
            if root is None or back == 6
            else s.weighted({"INCREMENTAL": 0.85, "SYNTHETIC": 0.1, "SYNCHRONIZATION": 0.05})
        )
        key = sim._guid()
        size = s.random.randint(10**8, 4 * 10**10)
        warnings = ["Snapshot consolidation took longer than expected"] if status == "PARTIAL_SUCCESS" else []
        destination = sim.destinations[back % 2]
        bare = len(sim.backups) % 5 == 4
        # A recorded backup has ended by the simulator's clock: place its end, then its start.
        when = ended - dt.timedelta(minutes=s.random.randint(5, 80))
        sim.backups[key] = {
            "guid": key,
            "backupTime": _ms(ended),
            "snapshotTime": _ms(when),
            "status": enum(status, bare=bare),
            "type": enum(kind, bare=bare),
            "size": size,
            "statusInfo": "Export failed: connection to hypervisor lost" if status == "FAILED" else None,
            "protectedEntity": {**ref(meta["entity"]), "type": enum(meta["type"])},
            "originEntity": None,
            "parentBackup": {"guid": parent, "name": None} if parent else None,
            "backupRule": policy["rules"][0] if policy else None,
            "sourceProject": ref(project),
            "warningsPresent": bool(warnings),
            "warnings": warnings,
            "warningsAcknowledged": False,
            "description": None,
            "hidden": back == 6 and len(sim.backups) % 7 == 0,
            "archiveExpire": None,
            "effectiveBackupObjectsCount": 1,
            "effectiveBackupSize": size,
            "vmExportImportMode": enum("DISK_ATTACHMENT"),
            "taskTimeStats": {
                "queuedExportTime": 1000,
                "exportTime": 60000,
                "queuedStoreTime": 500,
                "storeTime": 30000,
            },
            "backupLocations": [
                {
                    "guid": sim._guid(),
                    "backup": {"guid": key, "name": None},
                    "snapshotTime": _ms(when),
                    "backupDestination": ref(destination),
                    "roleType": "PRIMARY",
                    "backupDestinationType": "FILESYSTEM",
                    "status": "SUCCESS",
                    "type": "BACKUP",
                    "statusInfo": None,
                    "retentionHint": "STANDARD_RETENTION",
                }
            ],
        }
        sim.internal[key] = {
            **meta,  # the entity's facts first: the backup's own (its policy's guid...) win
            "root": root or key,
            "policy": policy["guid"] if policy else None,
            "destination": destination["guid"],
            "mountable": status in ("SUCCESS", "PARTIAL_SUCCESS") and kind != "SYNCHRONIZATION",
        }
        root = root or key
        parent = key
        if meta["type"] == "VM" and status in ("SUCCESS", "PARTIAL_SUCCESS") and kind == "FULL":
            sim.vms[entity_key].update(
                lastSuccessfulFullBackup={"guid": key, "name": None}, lastSuccessfulFullBackupSize=size
            )
    if meta["type"] == "VM":
        last = sim.backups[parent]  # type: ignore[index]
        sim.vms[entity_key]["backupUpToDate"] = _name(last["status"]) in ("SUCCESS", "PARTIAL_SUCCESS")
