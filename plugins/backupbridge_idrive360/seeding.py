"""Seeding the simulator: the realistic data it starts with (split from simulator.py, which answers requests)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .simulator import _FAILURE_REASONS, _iso
from .vocabulary import NOTIFY_TYPES

if TYPE_CHECKING:
    from .simulator import IDrive360Simulator


def seed(sim: IDrive360Simulator) -> None:
    s = sim.seeder
    size = max(sim.options.size, 0)
    subs = [sim._add_company(s.company_name(i), sim.root.company_id) for i in range(max(2, min(size // 12, 400)))]
    owners = [sim.root, *subs]
    for index in range(size):
        owner = owners[index % len(owners)]
        os_name = s.weighted({"windows": 0.62, "mac": 0.18, "linux": 0.2})
        status = s.weighted({"online": 0.58, "offline": 0.3, "blocked": 0.04, "archived": 0.04, "canceled": 0.04})
        backup_status = s.weighted({"Success": 0.7, "Failure": 0.14, "In Progress": 0.05, "Cancelled": 0.04, "": 0.07})
        device_id = s.token(50)
        last_backup = (
            s.past(30)
            if backup_status in ("Success", "In Progress")
            else (s.past(24 * 9, 20) if backup_status else None)
        )
        sim.devices[device_id] = {
            "name": s.hostname(owner.name, index),
            "status": status,
            "device_id": device_id,
            "company_id": str(owner.company_id),
            "custom_tag": s.random.choice((" ", "Finance", "Front desk", "Server room", "Remote")),
            "os": os_name,
            "backup_status": backup_status or None,
            "version": {"windows": s.version(6, 8), "mac": s.version(2, 4), "linux": s.version(1, 2)}[os_name],
            "last_backup": _iso(last_backup),
            "next_backup": _iso(s.future(24)) if status == "online" else None,
            "group_name": {"windows": "Windows", "mac": "Mac", "linux": "Linux"}[os_name],
            "backup_failure_reason": s.random.choice(_FAILURE_REASONS) if backup_status == "Failure" else "NA",
        }
        sim.device_sets[device_id] = {}
    for owner in owners:
        members = [d for d in sim.devices.values() if d["company_id"] == str(owner.company_id)]
        if not members:
            continue
        daily = sim._store_plan(owner.company_id, _seed_plan_body(sim, "Daily files", "FILE_FOLDER", "DAILY"))
        sim._apply(daily, [d["device_id"] for d in members])
        windows = [d["device_id"] for d in members if d["os"] == "windows"]
        if windows and s.random.random() < 0.6:
            image = sim._store_plan(owner.company_id, _seed_plan_body(sim, "Weekly image", "ENTIRE_MACHINE", "WEEKLY"))
            sim._apply(image, windows)


def _seed_plan_body(sim: IDrive360Simulator, name: str, what: str, frequency: str) -> dict[str, Any]:
    s = sim.seeder
    scheduler: dict[str, Any] = {
        "frequency_type": frequency,
        "time": f"{s.random.choice((18, 19, 20, 21, 22, 23)):02d}:{s.random.choice((0, 15, 30, 45)):02d}:00",
        "cutoff_time": "07:00:00",
        "email": [s.email("example.com")],
        "send_email_notification": s.random.choice(NOTIFY_TYPES),
    }
    if frequency == "DAILY":
        scheduler["daily_mode"] = s.random.choice(("ALL_DAYS", "WEEKDAYS"))
    else:
        scheduler["days"] = [s.random.choice(("SAT", "SUN"))]
    details: dict[str, Any] = {"what_to_backup": what, "where_to_backup": "CLOUD"}
    if what == "FILE_FOLDER":
        details["items_to_backup"] = ["[All Profiles Folder]"]
    return {
        "name": name,
        "backup_details": details,
        "scheduler": scheduler,
        "exclude_hidden": True,
        "exclude_system": True,
    }
