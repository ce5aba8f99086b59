"""Stage 3, ``migrate status``: per source device, is it on the target yet, and backing up there?

A device is ``ready`` only when all three hold: it is enrolled on the target (recognised by hostname and
OS in its target company), a plan the migration applied covers it there, and the target has seen a first
successful backup of it. A listing that fails raises: it is never read as "not enrolled".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..connection import Connection
from ..models import Device, JobStatus
from .apply import PER_DEVICE_PLANS, company_step, device_step, plan_steps
from .enrollment import recognise
from .journal import Journal

__all__ = ["DeviceStatus", "migration_status"]


@attrs.frozen(kw_only=True)
class DeviceStatus:
    """One source device's migration state.

    Attributes:
        target_device_id: the target device it was recognised as (None: not enrolled yet).
        target_plan_ids: the migrated plans that cover it on the target.
        source_plan_ids: the source plans it is in (what ``cutover`` disables).
        reason: what is missing, for people.
    """

    source_id: str
    hostname: str
    company: str
    enrolled: bool
    plan_applied: bool
    backed_up: bool
    target_device_id: str | None = None
    target_plan_ids: tuple[str, ...] = ()
    source_plan_ids: tuple[str, ...] = ()
    reason: str = ""

    @property
    def ready(self) -> bool:
        return self.enrolled and self.plan_applied and self.backed_up


def _backed_up(target: Connection, device: Device) -> bool:
    if device.last_backup_status is JobStatus.SUCCESS or device.last_backup_at is not None:
        return True
    return any(job.status is JobStatus.SUCCESS for job in target.list_jobs(device_id=device.id))


def migration_status(data: Mapping[str, Any], target: Connection, journal: Journal) -> list[DeviceStatus]:
    """Every source device of the plan file, with its three checks on the target."""
    entries = journal.entries()
    per_device = target.vendor_name in PER_DEVICE_PLANS
    out: list[DeviceStatus] = []
    plans_by_device: dict[str, list[Mapping[str, Any]]] = {}
    for plan in data["plans"]:
        for device_id in plan["source_device_ids"]:
            plans_by_device.setdefault(device_id, []).append(plan)
    for company in data["companies"]:
        entry = entries.get(company_step(company["source_id"]))
        target_company = entry.target_id if entry is not None and entry.state == "done" else None
        devices = list(target.list_devices(target_company)) if target_company else []
        migrated_plans = {}
        if target_company:
            migrated_plans = {p.id: p for p in target.list_plans(target_company)}
        for device in company["devices"]:
            source_plans = plans_by_device.get(device["source_id"], [])
            found: Device | None = None
            if per_device:
                registered = entries.get(device_step(device["source_id"]))
                if registered is not None and registered.state == "done":
                    candidates = [d for d in devices if d.id == registered.target_id]
                    found = candidates[0] if candidates else None
                    # Registered is not enrolled: the agent must have checked in (an online or backed-up device).
                    if found is not None and found.status.value not in ("online", "offline"):
                        found = None
            else:
                found = recognise(device["hostname"], device["os"], devices)
            plan_ids: list[str] = []
            if found is not None:
                for plan in source_plans:
                    if plan["status"] != "ready":
                        continue
                    for step, _ in plan_steps(plan, per_device):
                        done = entries.get(step)
                        if done is None or done.state != "done" or done.target_id is None:
                            continue
                        target_plan = migrated_plans.get(done.target_id)
                        if target_plan is not None and found.id in target_plan.device_ids:
                            plan_ids.append(target_plan.id)
            backed_up = found is not None and _backed_up(target, found)
            missing = []
            if target_company is None:
                missing.append("its company is not on the target yet (run 'migrate apply')")
            elif found is None:
                missing.append("not enrolled on the target yet")
            else:
                if not plan_ids:
                    missing.append("no migrated plan covers it on the target")
                if not backed_up:
                    missing.append("no successful backup on the target yet")
            out.append(
                DeviceStatus(
                    source_id=device["source_id"],
                    hostname=device["hostname"],
                    company=company["target_name"],
                    enrolled=found is not None,
                    plan_applied=bool(plan_ids),
                    backed_up=backed_up,
                    target_device_id=found.id if found is not None else None,
                    target_plan_ids=tuple(sorted(set(plan_ids))),
                    source_plan_ids=tuple(
                        pid for p in source_plans for pid in [p["source_id"], *p.get("merged_source_ids", [])]
                    ),
                    reason="; ".join(missing) or "ready",
                )
            )
    return out
