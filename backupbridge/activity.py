"""What a device's runs say about it: its last backup, from the job listing, where its own record is silent.

Some vendors' device records carry the last backup (IDrive 360's ``last_backup`` and ``backup_status``);
others keep it only with the runs (CleverFox's logs, Managed Backup's monitoring rows, vProtect's backups).
``with_activity`` fills a device's empty fields from the newest of its runs, by these rules:

- A device's own field always wins: only a field the device leaves empty is filled.
- ``last_backup_at`` (empty: ``None``) is the latest moment a *successful* run (``JobStatus.SUCCESS``; a
  run with warnings is not counted) finished, or, without a finish, started: the same moment health reads.
- ``last_backup_status`` and ``vendor_backup_status`` (empty: ``UNKNOWN`` with no vendor value) are those of
  the newest run that is not merely queued (a queued run has not run yet). A vendor value the mapping does
  not know stays as it came: ``UNKNOWN`` with the original text.
- ``company_id`` (empty: ``None``) is the newest run's company.
- "Newest" orders runs by when they started (or finished, without a start). Runs without any time are used
  only for a device none of whose runs has one, the first one listed.

Every value comes from a run the vendor listed: nothing is guessed. ``Connection.list_devices`` and the
``Bridge`` use this; see docs/devices.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

import attrs

from .models import Device, Job, JobStatus

__all__ = [
    "DeviceActivity",
    "DeviceKey",
    "apply_activity",
    "known_success_for_plan",
    "summarize",
    "summarize_async",
    "with_activity",
]

DeviceKey = tuple[str, str, str]
"""``(vendor, account, device_id)``."""


def _started(job: Job) -> dt.datetime | None:
    return job.started_at or job.finished_at


def _finished(job: Job) -> dt.datetime | None:
    return job.finished_at or job.started_at


@attrs.frozen(kw_only=True)
class DeviceActivity:
    """What one device's runs say about it (the values only: no run, and none of its raw payload, is kept).

    Attributes:
        last_run_at: when the newest run that is not merely queued started (or finished, without a start);
            ``None`` with ``last_status`` set when that run has no time at all.
        last_status: that run's status (``None``: no such run listed).
        last_vendor_status: the vendor's own word for it.
        company_id: that run's company.
        last_backup_at: the latest moment a successful run finished (or started, without a finish);
            ``None``: no successful run with a time is listed.
    """

    last_run_at: dt.datetime | None = None
    last_status: JobStatus | None = None
    last_vendor_status: str | None = None
    company_id: str | None = None
    last_backup_at: dt.datetime | None = None


class _Tally:
    """The newest run and the latest success of each device, one run at a time."""

    def __init__(self) -> None:
        self.found: dict[DeviceKey, DeviceActivity] = {}

    def add(self, job: Job) -> None:
        if job.device_id is None:
            return
        key = (job.vendor, job.account, job.device_id)
        current = self.found.get(key)
        seen = current or DeviceActivity()
        changes: dict[str, Any] = {}
        if job.status is not JobStatus.QUEUED:
            when = _started(job)
            # Newer: the first run seen, or a timed one after the current (a timeless one never is); a tie keeps
            # the one listed first.
            if seen.last_status is None or (when is not None and (seen.last_run_at is None or when > seen.last_run_at)):
                changes.update(
                    last_run_at=when,
                    last_status=job.status,
                    last_vendor_status=job.vendor_status,
                    company_id=job.company_id,
                )
        if job.status is JobStatus.SUCCESS:
            done = _finished(job)
            if done is not None and (seen.last_backup_at is None or done > seen.last_backup_at):
                changes["last_backup_at"] = done
        if changes:
            self.found[key] = attrs.evolve(seen, **changes)

    def result(self) -> dict[DeviceKey, DeviceActivity]:
        return self.found


def summarize(jobs: Iterable[Job]) -> dict[DeviceKey, DeviceActivity]:
    """``(vendor, account, device_id)`` -> what its runs say; runs without a device are left out.

    One pass, holding a few values per device (never the listing, nor any run's payload)."""
    tally = _Tally()
    for job in jobs:
        tally.add(job)
    return tally.result()


async def summarize_async(jobs: AsyncIterable[Job]) -> dict[DeviceKey, DeviceActivity]:
    """``summarize`` over an async listing."""
    tally = _Tally()
    async for job in jobs:
        tally.add(job)
    return tally.result()


def apply_activity(device: Device, activity: DeviceActivity | None) -> Device:
    """``device`` with the fields it leaves empty filled from ``activity`` (the same object if none is)."""
    if activity is None:
        return device
    changes: dict[str, Any] = {}
    if device.last_backup_at is None and activity.last_backup_at is not None:
        changes["last_backup_at"] = activity.last_backup_at
    if activity.last_status is not None:
        if device.last_backup_status is JobStatus.UNKNOWN and device.vendor_backup_status is None:
            if activity.last_status is not JobStatus.UNKNOWN or activity.last_vendor_status is not None:
                changes["last_backup_status"] = activity.last_status
                changes["vendor_backup_status"] = activity.last_vendor_status
        if device.company_id is None and activity.company_id is not None:
            changes["company_id"] = activity.company_id
    return attrs.evolve(device, **changes) if changes else device


def with_activity(devices: Iterable[Device], jobs: Iterable[Job] | Mapping[DeviceKey, DeviceActivity]) -> list[Device]:
    """Every device, its empty fields filled from its runs (``jobs``, or what ``summarize`` made of them)."""
    found = jobs if isinstance(jobs, Mapping) else summarize(jobs)
    return [apply_activity(d, found.get((d.vendor, d.account, d.id))) for d in devices]


def known_success_for_plan(device: Device | None, plan_id: str, device_runs: Iterable[Job]) -> dt.datetime | None:
    """The device's last success as evidence for one of its plans: ``device.last_backup_at``, unless that
    moment is a successful run of *another* plan of the device (listed in ``device_runs``). A device-wide
    last backup filled from plan A's run says nothing about plan B, which may never have run."""
    if device is None or device.last_backup_at is None:
        return None
    moment = device.last_backup_at
    for run in device_runs:
        if run.plan_id is not None and run.plan_id != plan_id and run.status is JobStatus.SUCCESS:
            if (run.finished_at or run.started_at) == moment:
                return None
    return moment
