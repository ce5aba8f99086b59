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


def _newer(candidate: Job, current: Job | None) -> bool:
    """Whether ``candidate`` is newer than ``current``; on a tie the one listed first stays."""
    if current is None:
        return True
    mine, theirs = _started(candidate), _started(current)
    if mine is None:
        return False
    return theirs is None or mine > theirs


@attrs.frozen(kw_only=True)
class DeviceActivity:
    """The runs of one device that say something about it.

    Attributes:
        last_run: the newest run that is not merely queued (``None``: no such run listed).
        last_success: the successful run that finished last (or started last, without a finish); ``None``:
            no successful run with a time is listed.
    """

    last_run: Job | None = None
    last_success: Job | None = None

    @property
    def last_backup_at(self) -> dt.datetime | None:
        """When the newest successful run finished (or started, without a finish)."""
        return _finished(self.last_success) if self.last_success is not None else None


class _Tally:
    """The newest run and the newest success of each device, one run at a time."""

    def __init__(self) -> None:
        self.runs: dict[DeviceKey, Job] = {}
        self.successes: dict[DeviceKey, Job] = {}

    def add(self, job: Job) -> None:
        if job.device_id is None:
            return
        key = (job.vendor, job.account, job.device_id)
        if job.status is not JobStatus.QUEUED and _newer(job, self.runs.get(key)):
            self.runs[key] = job
        if job.status is JobStatus.SUCCESS and _finished(job) is not None:
            current = self.successes.get(key)
            if current is None or _finished(job) > _finished(current):  # type: ignore[operator]
                self.successes[key] = job

    def result(self) -> dict[DeviceKey, DeviceActivity]:
        return {
            key: DeviceActivity(last_run=self.runs.get(key), last_success=self.successes.get(key))
            for key in self.runs.keys() | self.successes.keys()
        }


def summarize(jobs: Iterable[Job]) -> dict[DeviceKey, DeviceActivity]:
    """``(vendor, account, device_id)`` -> what its runs say; runs without a device are left out.

    One pass, holding one run or two per device (never the whole listing)."""
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
    last = activity.last_run
    if last is not None:
        if device.last_backup_status is JobStatus.UNKNOWN and device.vendor_backup_status is None:
            if last.status is not JobStatus.UNKNOWN or last.vendor_status is not None:
                changes["last_backup_status"] = last.status
                changes["vendor_backup_status"] = last.vendor_status
        if device.company_id is None and last.company_id is not None:
            changes["company_id"] = last.company_id
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
