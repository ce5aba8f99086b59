"""The same failure again after a success is a new failure, never read as an old run (and the backup as MISSED).

IDrive 360 shows each device's last run only, and a failed one without a time. The store keeps "Disk full",
then a success, then "Disk full" again as three runs (the key of a run without a time includes the device's
last success). The engine used to tell stored and shown runs apart by what they say alone, so the vendor's
current failure was taken for the first one, placed before the success, and the backup judged MISSED ("no run
since ...") where the store-less engine says FAILED "Disk full": a failure read as absence, its error lost.
"""

from __future__ import annotations

import datetime as dt

import pytest

from backupbridge.bridge import Snapshot
from backupbridge.health import Health, assess
from backupbridge.models import Company, Device, DeviceStatus, Frequency, Job, JobStatus, Plan, Schedule
from backupbridge.store import Store, record_snapshot
from backupbridge.store.history import extend_snapshot, health_history

V, A = "idrive360", "acct"
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
OK_AT = T0 + dt.timedelta(days=1) - dt.timedelta(hours=5)


def _snap(day: int, job: Job, last_ok: dt.datetime) -> Snapshot:
    device = Device(
        vendor=V, account=A, id="d1", name="SRV", company_id="c1", status=DeviceStatus.ONLINE,
        last_backup_at=last_ok, last_backup_status=job.status,
    )  # fmt: skip
    plan = Plan(
        vendor=V, account=A, id="p1", name="Nightly", company_id="c1", device_ids=("d1",),
        schedule=Schedule(frequency=Frequency.DAILY, time=dt.time(4, 0)),
    )  # fmt: skip
    return Snapshot(
        companies=[Company(vendor=V, account=A, id="c1", name="C")], devices=[device], plans=[plan], jobs=[job],
        clocks={(V, A): T0 + dt.timedelta(days=day)}, timezones={(V, A): dt.UTC},
    )  # fmt: skip


def _failed() -> Job:
    return Job(vendor=V, account=A, id="d1:last", device_id="d1", company_id="c1", status=JobStatus.FAILED,
               error="Disk full")  # fmt: skip


SUCCESS = Job(
    vendor=V, account=A, id="d1:last", device_id="d1", company_id="c1", status=JobStatus.SUCCESS,
    started_at=OK_AT, finished_at=OK_AT + dt.timedelta(minutes=20),
)  # fmt: skip
SEQUENCE = [
    _snap(0, _failed(), T0 - dt.timedelta(days=3)),
    _snap(1, SUCCESS, OK_AT),
    _snap(2, _failed(), OK_AT),  # the same words as day 0, after a success: another run
    _snap(3, _failed(), OK_AT),  # day 2's run again: the same run
]


@pytest.mark.parametrize("day", [2, 3])
def test_a_failure_again_after_a_success_is_judged_as_the_store_less_engine_does(store: Store, day: int) -> None:
    for snap in SEQUENCE[:day]:
        record_snapshot(store, snap, snap.clocks[(V, A)])
    now = SEQUENCE[day]
    remembered = health_history(store, now.clocks, now=now.clocks)
    with_store = assess(now.devices, now.plans, now.jobs, now=now.clocks, timezones=now.timezones, history=remembered)
    without = assess(now.devices, now.plans, now.jobs, now=now.clocks, timezones=now.timezones)
    for judged in (with_store, without):
        assert judged.plans[0].health is Health.FAILED
        assert judged.plans[0].reason == "last run failed: Disk full"
        assert judged.devices[0].health is Health.FAILED
    # Day 2: the failure is today's run. Day 3: the vendor still shows day 2's run, so 11-05's 04:00 slot had
    # none: a missed day beside the failure (the store knows when it first saw that run), never instead of it.
    assert with_store.plans[0].missed_days == (() if day == 2 else (dt.date(2026, 11, 5),))
    # The report's rows and alerts count the streak over the stored runs too: the day-0 failure is a run of its
    # own there (kept), the current failure is not doubled by its stored sighting (day 3).
    extended = extend_snapshot(now, remembered)
    failures = [job for job in extended.jobs if job.status is JobStatus.FAILED]
    assert len(failures) == 2
