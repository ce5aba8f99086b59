"""A vendor that shows only each device's last run (IDrive 360): history accrues run by run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from backupbridge.bridge import Bridge
from backupbridge.models import Job, JobStatus
from backupbridge.sandbox import SimulatorOptions, connect_sandbox, make_simulator
from backupbridge.store import Store, history, job_key, record_snapshot

DAY = dt.timedelta(days=1)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000")


def test_two_sandbox_runs_a_simulated_day_apart_give_a_two_day_grid(store: Store, count: Callable[..., int]) -> None:
    sim = make_simulator("idrive360", SimulatorOptions(seed=5, size=12))
    devices = sim.devices  # type: ignore[attr-defined]
    good, bad = sorted(devices)[:2]
    for device_id in (good, bad):
        devices[device_id].update(backup_status="Success", last_backup=_iso(sim.now() - dt.timedelta(hours=2)))
    bridge = Bridge([connect_sandbox("idrive360", simulator=sim, account="idr")])

    first = record_snapshot(store, bridge.snapshot(), dt.datetime.now(dt.UTC))
    sim.clock.advance(DAY)  # type: ignore[attr-defined]
    # Overnight: one device backed up again, the other failed (IDrive gives a failed run no time at all).
    devices[good].update(last_backup=_iso(sim.now() - dt.timedelta(hours=1)))
    devices[bad].update(backup_status="Failure", backup_failure_reason="Destination not reachable")
    second = record_snapshot(store, bridge.snapshot(), dt.datetime.now(dt.UTC))

    assert first.new_jobs > 0 and second.new_jobs == 2
    assert count("jobs", device_id=good) == 2
    assert count("jobs", device_id=bad) == 2
    grid = history(store, "device", good, days=2).entities[0]
    assert [d.status.value for d in grid.days] == ["success", "success"]
    assert grid.days[-1].day == sim.now().date()
    assert (grid.days_in_status, grid.days_since_success, grid.success_rate) == (2, 0, 1.0)
    failing = history(store, "device", bad, days=2).entities[0]
    assert [d.status.value for d in failing.days] == ["success", "failure"]
    assert (failing.status.value, failing.days_in_status, failing.days_since_success) == ("failure", 1, 1)


def test_the_same_failed_last_run_seen_twice_is_one_job(store: Store, count: Callable[..., int]) -> None:
    sim = make_simulator("idrive360", SimulatorOptions(seed=5, size=6))
    devices = sim.devices  # type: ignore[attr-defined]
    device_id = sorted(devices)[0]
    devices[device_id].update(backup_status="Failure", backup_failure_reason="Volume Shadow Copy Service error")
    bridge = Bridge([connect_sandbox("idrive360", simulator=sim, account="idr")])
    record_snapshot(store, bridge.snapshot(), dt.datetime.now(dt.UTC))
    sim.clock.advance(dt.timedelta(hours=6))  # type: ignore[attr-defined]
    record_snapshot(store, bridge.snapshot(), dt.datetime.now(dt.UTC))
    assert count("jobs", device_id=device_id) == 1


def test_job_keys_of_last_run_vendors_carry_the_run_and_history_vendors_keep_their_ids() -> None:
    at = dt.datetime(2026, 11, 2, 7, 30, tzinfo=dt.UTC)
    last = Job(vendor="idrive360", account="a", id="D1:last", status=JobStatus.SUCCESS, finished_at=at)
    assert job_key(last, history=False) == "D1:last@2026-11-02T07:30:00+00:00"
    later = Job(vendor="idrive360", account="a", id="D1:last", status=JobStatus.SUCCESS, finished_at=at + DAY)
    assert job_key(later, history=False) != job_key(last, history=False)
    assert job_key(last, history=True) == "D1:last"
    failed = Job(vendor="idrive360", account="a", id="D1:last", status=JobStatus.FAILED, error="quota")
    other = Job(vendor="idrive360", account="a", id="D1:last", status=JobStatus.FAILED, error="network")
    assert job_key(failed, history=False) != job_key(other, history=False)
    assert job_key(failed, history=False).startswith("D1:last@failed:")


def test_a_plan_latest_run_seen_again_is_not_a_new_job(store: Store, count: Callable[..., int]) -> None:
    sim = make_simulator("managedbackup", SimulatorOptions(seed=2, size=8))
    bridge = Bridge([connect_sandbox("managedbackup", simulator=sim, account="mb")])
    first = record_snapshot(store, bridge.snapshot(), dt.datetime.now(dt.UTC))
    sim.clock.advance(dt.timedelta(hours=1))  # type: ignore[attr-defined]
    second = record_snapshot(store, bridge.snapshot(), dt.datetime.now(dt.UTC))
    assert first.new_jobs == first.jobs > 0
    assert second.new_jobs == 0
    assert count("jobs") == first.jobs
