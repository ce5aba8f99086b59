"""Health on devices filled from their runs: a device-wide last backup is evidence for the plan it came
from, never for another plan of the same device (one that never ran must not read OK)."""

from __future__ import annotations

import datetime as dt

from backupbridge import Device, DeviceStatus, Frequency, Job, JobStatus, Plan, Schedule
from backupbridge.activity import known_success_for_plan, with_activity
from backupbridge.health import Health, assess

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def run(hours_ago: float, plan_id: str) -> Job:
    when = NOW - dt.timedelta(hours=hours_ago)
    return Job(
        vendor="v",
        account="a",
        id=f"{plan_id}{hours_ago}",
        device_id="d1",
        plan_id=plan_id,
        status=JobStatus.SUCCESS,
        started_at=when - dt.timedelta(minutes=30),
        finished_at=when,
    )


def test_one_plans_success_is_no_evidence_for_another_plan_of_the_device() -> None:
    """Hostile: the device's last backup (filled from plan A's run) must not make plan B, which never ran,
    look healthy."""
    daily = Schedule(frequency=Frequency.DAILY, time=dt.time(22, 0))
    plans = [
        Plan(vendor="v", account="a", id="A", name="Files", device_ids=("d1",), schedule=daily),
        Plan(vendor="v", account="a", id="B", name="SQL", device_ids=("d1",), schedule=daily),
    ]
    jobs = [run(h, "A") for h in (14, 38, 62)]
    devices = with_activity([Device(vendor="v", account="a", id="d1", name="PC-1", status=DeviceStatus.ONLINE)], jobs)
    assert devices[0].last_backup_at == NOW - dt.timedelta(hours=14)
    assert known_success_for_plan(devices[0], "B", jobs) is None
    assert known_success_for_plan(devices[0], "A", jobs) == NOW - dt.timedelta(hours=14)
    result = assess(devices, plans, jobs, now=NOW)
    verdict = {p.plan_id: p.health for p in result.plans}
    assert verdict["A"] is Health.OK
    assert verdict["B"] is Health.NEVER_RUN
