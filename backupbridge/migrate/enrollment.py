"""What a device needs to join the target, per vendor, and how it is recognised once it has.

IDrive 360 agents enroll with the company's configuration id and the setup link of their build;
CleverFox devices are pre-registered by the migration (each gets its own agent download); Managed Backup
and vProtect enroll through their consoles (an agent build, a hypervisor inventory), which their APIs do not
drive. Recognition is by hostname (case-insensitive) and OS family.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..connection import Connection
from ..models import Device, OSFamily

__all__ = ["BUILD_TYPES_BY_OS", "PER_DEVICE_PLANS", "company_enrollment", "normalise_hostname", "recognise"]

BUILD_TYPES_BY_OS = {
    OSFamily.WINDOWS: ("WIN", "MSI"),
    OSFamily.MACOS: ("MAC", "PKG"),
    OSFamily.LINUX: ("DEB", "RPM"),
}
"""IDrive 360 builds per OS family (an unknown OS gets the Windows ones, the vendor's default)."""

PER_DEVICE_PLANS = frozenset({"cleverfox"})
"""Targets whose plans belong to exactly one device (and whose devices the migration registers)."""

BY_HAND = {
    "managedbackup": "install the Managed Backup agent (a build from API/Builds) on each device and sign it in "
    "with the user the console creates for it; the API cannot register a device",
    "vprotect": "add the hypervisor or VM to the vProtect inventory (its console); the API cannot enroll one",
    "cleverfox": "install the CleverFox agent from the download link of the device the migration registered",
}


def normalise_hostname(name: str) -> str:
    """Case and a domain suffix do not make another machine: ``PC-01.corp.local`` is ``pc-01``."""
    return re.sub(r"\s+", "", name.split(".", 1)[0]).casefold()


def recognise(hostname: str, os: str, candidates: Iterable[Device]) -> Device | None:
    """The target device that is this source device: same hostname, and the same OS family where both
    sides report one."""
    wanted = normalise_hostname(hostname)
    for device in candidates:
        if normalise_hostname(device.name) != wanted:
            continue
        known = {OSFamily.UNKNOWN.value, OSFamily.OTHER.value}
        if os in known or device.os.value in known or device.os.value == os:
            return device
    return None


def company_enrollment(target: Connection, company_id: str | None, oses: Iterable[str]) -> dict[str, Any]:
    """What devices of one target company need to enroll (``company_id`` None: the company is still to be
    created, so only the method is known)."""
    vendor = target.vendor_name
    if vendor == "idrive360":
        builds = sorted(
            {b for os in oses for b in BUILD_TYPES_BY_OS.get(OSFamily(os), BUILD_TYPES_BY_OS[OSFamily.WINDOWS])}
        )
        out: dict[str, Any] = {
            "method": "install the IDrive 360 agent with the company's configuration id (setup link per build)",
            "builds": {},
        }
        if company_id is None:
            out["builds"] = {b: None for b in builds}
            out["note"] = "the company is created by 'migrate apply'; 'migrate status' shows its setup links"
            return out
        for build in builds or ["WIN"]:
            record = target.vendor.fetch_config_id(company_id, build_type=build)
            out["builds"][build] = {
                "configuration_id": str(getattr(record, "configuration_id", "") or ""),
                "setup_link": getattr(record, "setup_link", None),
            }
        return out
    return {"method": BY_HAND.get(vendor, f"enroll the devices through the {vendor} console"), "builds": {}}
