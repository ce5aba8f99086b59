"""The health engine with the store's history: what a vendor showing only the last run forgot is judged
over the whole window (missed days, failure streaks, the last good run, days in status), and a failed
listing is never read as "no result". Without a history the engine is exactly as before."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from backupbridge.bridge import Bridge, Snapshot
from backupbridge.health import Assessment, Health, HealthPolicy, RunHistory, assess
from backupbridge.models import Frequency, Job, JobStatus, Plan, Schedule, Weekday
from backupbridge.sandbox import SimulatorOptions, connect_sandbox, make_simulator
from backupbridge.store import Store, history, record_snapshot
from backupbridge.store.history import extend_snapshot, health_history

from .conftest import NOW
from .snapshots import ACCOUNT, VENDOR, device, job, server_down, snapshot

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def _judge(snap: Snapshot, history: RunHistory | None = None, **policy: Any) -> Assessment:
    return assess(
        snap.devices,
        snap.plans,
        snap.jobs,
        now=snap.clocks,
        policy=HealthPolicy(**policy),
        timezones=snap.timezones,
        incomplete=snap.incomplete,
        history=history,
    )


def _with_history(store: Store, snap: Snapshot, **policy: Any) -> Assessment:
    found = health_history(store, snap.clocks, now=snap.clocks, policy=HealthPolicy(**policy))
    return _judge(snap, found, **policy)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000")


def _nightly(device_id: str = "d1", at: dt.time = dt.time(22, 0)) -> Plan:
    return Plan(
        vendor=VENDOR,
        account=ACCOUNT,
        id="p1",
        name="Nightly",
        company_id="c1",
        device_ids=(device_id,),
        schedule=Schedule(frequency=Frequency.DAILY, time=at),
    )


def _last_run(at: dt.datetime, status: JobStatus = JobStatus.SUCCESS, **kw: Any) -> Job:
    """The one run a last-run vendor shows, linked to the device only (this test vendor keys runs by id, as a
    vendor with a history does: each run gets its own, as the store's key of a last run carries its time)."""
    return job(f"d1:last@{at:%m%dT%H%M}", at, status, **kw)


# -- the sandbox: IDrive 360 shows each device's last run only ----------------------------------------------


def test_three_sandbox_days_the_vendor_hides_a_missed_night_the_history_shows_it(store: Store) -> None:
    sim = make_simulator("idrive360", SimulatorOptions(seed=5, size=12))
    bridge = Bridge([connect_sandbox("idrive360", simulator=sim, account="idr")])
    plan = next(
        p
        for p in bridge.snapshot().plans
        if p.schedule
        and p.schedule.frequency is Frequency.DAILY
        and p.device_ids
        and p.schedule.time
        and {Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY} <= set(p.schedule.weekdays or Weekday)
    )
    assert plan.schedule is not None and plan.schedule.time is not None
    device_id = plan.device_ids[0]
    devices = sim.devices  # type: ignore[attr-defined]
    start = sim.now()  # Monday 09:00
    assert start.weekday() == 0

    def night(day: dt.datetime) -> dt.datetime:
        """The plan's run time that day, a few minutes late (the sandbox account's zone is UTC)."""
        assert plan.schedule is not None and plan.schedule.time is not None
        return dt.datetime.combine(day.date(), plan.schedule.time, tzinfo=dt.UTC) + dt.timedelta(minutes=5)

    def collect() -> Snapshot:
        snap = bridge.snapshot()
        record_snapshot(store, snap, dt.datetime.now(dt.UTC))
        return snap

    # Monday night's run succeeded; Tuesday morning's collect sees it.
    devices[device_id].update(backup_status="Success", last_backup=_iso(night(start)))
    sim.clock.advance(DAY)  # type: ignore[attr-defined]
    collect()
    # Tuesday night: no run. Wednesday morning the vendor still shows Monday's (the engine sees it is missed).
    sim.clock.advance(DAY)  # type: ignore[attr-defined]
    wednesday = collect()
    plain = _judge(wednesday)
    (missing,) = [p for p in plain.plans if (p.plan_id, p.device_id) == (plan.id, device_id)]
    assert missing.health is Health.MISSED
    # Wednesday night's run succeeded: Thursday the vendor shows only that one, and all looks well.
    devices[device_id].update(backup_status="Success", last_backup=_iso(night(start + 2 * DAY)))
    sim.clock.advance(DAY)  # type: ignore[attr-defined]
    thursday = bridge.snapshot()

    (alone,) = [p for p in _judge(thursday).plans if (p.plan_id, p.device_id) == (plan.id, device_id)]
    assert (alone.health, alone.missed_days, alone.consecutive_failures) == (Health.OK, (), None)

    judged = _with_history(store, thursday)
    (seen,) = [p for p in judged.plans if (p.plan_id, p.device_id) == (plan.id, device_id)]
    tuesday = (start + DAY).date()
    assert seen.missed_days == (tuesday,)
    assert seen.health is Health.OK  # the latest night ran: the miss is history, not today's state
    assert seen.consecutive_failures == 0
    (dev,) = [d for d in judged.devices if d.device_id == device_id]
    assert tuesday in dev.missed_days
    # The store's grid agrees: Tuesday's collect listed runs and there was none that day.
    grid = history(store, "device", device_id, days=3, end=(start + 2 * DAY).date()).entities[0]
    assert [d.status.value for d in grid.days] == ["success", "no-result", "no-result"]  # Wednesday's: Thursday


def test_a_sandbox_device_failing_night_after_night_counts_its_streak_across_stored_runs(store: Store) -> None:
    sim = make_simulator("idrive360", SimulatorOptions(seed=5, size=6))
    bridge = Bridge([connect_sandbox("idrive360", simulator=sim, account="idr")])
    devices = sim.devices  # type: ignore[attr-defined]
    device_id = sorted(devices)[0]
    devices[device_id].update(backup_status="Success", last_backup=_iso(sim.now() - 10 * HOUR))
    record_snapshot(store, bridge.snapshot(), dt.datetime.now(dt.UTC))
    # IDrive gives a failed run no time at all: each night's failure (a new reason) is a new stored run.
    for reason in ("Destination not reachable", "Volume Shadow Copy Service error", "Quota exceeded"):
        sim.clock.advance(DAY)  # type: ignore[attr-defined]
        devices[device_id].update(backup_status="Failure", backup_failure_reason=reason)
        last = bridge.snapshot()
        record_snapshot(store, last, dt.datetime.now(dt.UTC))

    def streak(found: Assessment) -> tuple[int | None, dt.datetime | None]:
        (dev,) = [d for d in found.devices if d.device_id == device_id]
        return dev.consecutive_failures, dev.failing_since

    assert streak(_judge(last)) == (None, None)
    failures, since = streak(_with_history(store, last))
    assert failures == 3
    assert since is not None and since.date() == (sim.now() - 2 * DAY).date()  # first seen the first failed day


# -- hand-made days: every rule alone ------------------------------------------------------------------------


def _collect(store: Store, days: list[tuple[dt.datetime, list[Job] | str]], plan: Plan | None = None) -> None:
    """One collect per ``(moment, runs the vendor shows)``; ``"down"``: that collect's run listing failed."""
    for moment, runs in days:
        if runs == "down":
            snap = snapshot(moment, failures=[("list_jobs", server_down())], plans=[plan] if plan else None)
        else:
            assert not isinstance(runs, str)
            snap = snapshot(moment, jobs=runs, plans=[plan] if plan else None)
        record_snapshot(store, snap, moment)


def test_a_night_whose_run_listing_failed_is_never_a_missed_day(store: Store) -> None:
    plan = _nightly()
    monday = NOW - 3 * DAY  # collects at 09:00, runs at 22:00
    _collect(
        store,
        [
            (monday, [_last_run(monday - 11 * HOUR)]),
            (monday + DAY, "down"),  # Monday night's run: nobody could see whether it happened
            (monday + 2 * DAY, [_last_run(monday + DAY + 13 * HOUR)]),  # Tuesday night's run
        ],
        plan,
    )
    today = snapshot(NOW, jobs=[_last_run(NOW - 11 * HOUR)], plans=[plan])
    (seen,) = _with_history(store, today).plans
    assert seen.missed_days == ()


def test_the_same_nights_with_the_listing_answering_show_the_missed_night(store: Store) -> None:
    plan = _nightly()
    monday = NOW - 3 * DAY
    _collect(
        store,
        [
            (monday, [_last_run(monday - 11 * HOUR)]),
            (monday + DAY, [_last_run(monday - 11 * HOUR)]),  # the listing answered: Monday night had no run
            (monday + 2 * DAY, [_last_run(monday + DAY + 13 * HOUR)]),
        ],
        plan,
    )
    today = snapshot(NOW, jobs=[_last_run(NOW - 11 * HOUR)], plans=[plan])
    (seen,) = _with_history(store, today).plans
    assert seen.missed_days == ((monday + 13 * HOUR).date(),)
    (alone,) = _judge(today).plans
    assert alone.missed_days == () and alone.health is seen.health is Health.OK


def test_days_before_a_backup_was_first_seen_are_not_missed(store: Store) -> None:
    plan = _nightly()
    _collect(store, [(NOW - DAY, [_last_run(NOW - DAY - 11 * HOUR)])], plan)
    # A week of schedule lies in the window, but the store saw the plan only yesterday.
    today = snapshot(NOW, jobs=[_last_run(NOW - 11 * HOUR)], plans=[plan])
    (seen,) = _with_history(store, today).plans
    assert seen.missed_days == ()


def test_the_vendor_shows_no_run_at_all_the_history_says_missed_not_never_run(store: Store) -> None:
    plan = _nightly()
    _collect(store, [(NOW - 2 * DAY, [_last_run(NOW - 2 * DAY - 11 * HOUR)])], plan)
    today = snapshot(NOW, jobs=[], plans=[plan])  # the vendor's view lost the plan's runs
    (alone,) = _judge(today).plans
    assert alone.health is Health.NEVER_RUN
    (seen,) = _with_history(store, today).plans
    assert seen.health is Health.MISSED
    assert seen.last_success_at == NOW - 2 * DAY - 11 * HOUR + dt.timedelta(minutes=20)


def test_the_last_good_run_comes_from_the_store_when_the_vendor_forgot_it(store: Store) -> None:
    """A plan whose latest run (all the vendor shows) ended with warnings, night after night: without the
    store there is no success anywhere; with it, the last success is days old: OVERDUE."""
    _collect(store, [(NOW - 6 * DAY, [job("ok", NOW - 6 * DAY - HOUR)])])
    for back in range(5, 0, -1):
        _collect(store, [(NOW - back * DAY, [job(f"w{back}", NOW - back * DAY - HOUR, JobStatus.WARNING)])])
    today = snapshot(NOW, jobs=[job("w0", NOW - HOUR, JobStatus.WARNING)])
    (alone,) = _judge(today).devices
    assert (alone.health, alone.last_success_at) == (Health.WARNING, None)
    (seen,) = _with_history(store, today, window=dt.timedelta(days=2)).devices  # older than the window too
    assert seen.health is Health.OVERDUE
    assert seen.last_success_at == NOW - 6 * DAY - HOUR + dt.timedelta(minutes=20)
    assert seen.reason.startswith("no success for 6d")


def test_two_runs_on_one_day_roll_up_over_the_one_the_vendor_forgot(store: Store) -> None:
    morning = job("d1:last", NOW - 8 * HOUR, JobStatus.FAILED, error="Disk full")
    _collect(store, [(NOW - 7 * HOUR, [morning])])
    today = snapshot(NOW, jobs=[job("d1:last", NOW - 2 * HOUR)])  # the vendor now shows only the later run
    (alone,) = _judge(today).devices
    assert alone.health is Health.OK
    (seen,) = _with_history(store, today).devices  # worst of the day, as the policy says
    assert seen.health is Health.FAILED and "Disk full" in seen.reason


def test_days_in_status_come_from_the_stored_daily_verdicts(store: Store) -> None:
    for back in (3, 2, 1):
        _collect(store, [(NOW - back * DAY, [job(f"f{back}", NOW - back * DAY - HOUR, JobStatus.FAILED)])])
    today = snapshot(
        NOW, jobs=[job(f"f{b}", NOW - b * DAY - HOUR, JobStatus.FAILED) for b in (3, 2, 1, 0)]
    )  # a vendor with a history of runs shows them all
    (seen,) = _with_history(store, today).devices
    assert (seen.health, seen.days_in_status, seen.consecutive_failures) == (Health.FAILED, 4, 4)
    assert seen.failing_since == NOW - 3 * DAY - HOUR + dt.timedelta(minutes=20)


def test_record_snapshot_judges_with_the_stored_history(store: Store) -> None:
    """``collect`` records the verdict the history gives (here: OVERDUE, which the vendor alone misses)."""
    _collect(store, [(NOW - 3 * DAY, [job("ok", NOW - 3 * DAY - HOUR)])])
    for back in (2, 1, 0):
        _collect(store, [(NOW - back * DAY, [job(f"w{back}", NOW - back * DAY - HOUR, JobStatus.WARNING)])])
    (entity,) = history(store, "device", "d1", days=1).entities
    assert entity.days[-1].verdict is Health.OVERDUE


def test_without_a_store_nothing_changes(store: Store) -> None:
    """An empty store's history judges as no history at all (the same verdicts; the figures empty but for
    a streak of zero and a first day in status)."""
    plan = _nightly()
    today = snapshot(NOW, jobs=[_last_run(NOW - 11 * HOUR)], plans=[plan], devices=[device(), device("d2", "B")])
    alone = _judge(today)
    empty = _with_history(store, today)
    assert [(p.health, p.reason, p.last_success_at) for p in alone.plans] == [
        (p.health, p.reason, p.last_success_at) for p in empty.plans
    ]
    assert [(d.health, d.reason, d.last_success_at) for d in alone.devices] == [
        (d.health, d.reason, d.last_success_at) for d in empty.devices
    ]
    assert all(p.missed_days == () and p.days_in_status is None for p in alone.plans)


def test_problem_rows_and_alerts_count_a_streak_across_stored_runs_from_the_extended_snapshot(store: Store) -> None:
    from backupbridge.alerts import ProblemContext

    for back in (3, 2, 1):  # a vendor showing the last run only: each night's failure replaces the one before
        _collect(store, [(NOW - back * DAY, [_last_run(NOW - back * DAY - 2 * HOUR, JobStatus.FAILED)])])
    today = snapshot(NOW, jobs=[_last_run(NOW - 2 * HOUR, JobStatus.FAILED)])
    assert ProblemContext(today).streak(VENDOR, ACCOUNT, "d1", None)[0] == 1
    extended = extend_snapshot(today, health_history(store, today.clocks, now=NOW))
    failures, since, _ = ProblemContext(extended).streak(VENDOR, ACCOUNT, "d1", None)
    assert (failures, since) == (4, NOW - 3 * DAY - 2 * HOUR + dt.timedelta(minutes=20))
    (seen,) = _with_history(store, today).devices
    assert (seen.consecutive_failures, seen.failing_since) == (failures, since)


@pytest.mark.parametrize("status", [JobStatus.SUCCESS, JobStatus.FAILED])
def test_a_stored_run_the_vendor_still_shows_is_counted_once(store: Store, status: JobStatus) -> None:
    run = job("j1", NOW - 3 * HOUR, status)
    _collect(store, [(NOW - 2 * HOUR, [run])])
    today = snapshot(NOW, jobs=[run])
    (seen,) = _with_history(store, today).devices
    assert seen.consecutive_failures == (1 if status is JobStatus.FAILED else 0)
    extended = extend_snapshot(today, health_history(store, today.clocks, now=NOW))
    assert len(extended.jobs) == 1


def test_the_store_page_health_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/store.md's "Health from the history" example: judged with the history, recorded, rendered."""
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "store.md"
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", doc.read_text("utf-8"), re.DOTALL) if "assess(" in b]
    exec(compile(block, str(doc), "exec"), {})  # our own documentation
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[-1] == "True 8"
    assert all(re.search(r" \(datetime\.date\(2026, 11, \d+\)", line) for line in lines[:3])  # nights missed


def test_the_grid_of_a_whole_account_reads_the_same_through_its_range_as_through_id_lists(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many ids are read as one range over the account (long IN lists made PostgreSQL scan the table)."""
    import sys

    from backupbridge.store.history import report_history

    module = sys.modules["backupbridge.store.history"]  # the package's ``history`` is the function

    devices = [device(f"d{i}", f"SRV-{i}") for i in range(6)]
    for back in (2, 1, 0):
        at = NOW - back * DAY
        runs = [
            job(f"j{i}-{back}", at - HOUR, JobStatus.FAILED if i == back else JobStatus.SUCCESS, f"d{i}")
            for i in range(5)
        ]
        _collect_many(store, at, devices, runs)
    narrow = history(store, "account", ACCOUNT, days=4)
    strips = report_history(store, [(VENDOR, ACCOUNT)], days=4)
    monkeypatch.setattr(module, "_WIDE", 0)
    assert history(store, "account", ACCOUNT, days=4) == narrow
    assert report_history(store, [(VENDOR, ACCOUNT)], days=4) == strips
    by_id = {e.id: e for e in narrow.entities}
    assert [d.status.value for d in by_id["d1"].days] == ["unknown", "success", "failure", "success"]
    assert [d.status.value for d in by_id["d5"].days] == ["unknown", "no-result", "no-result", "no-result"]


def _collect_many(store: Store, at: dt.datetime, devices: list[Any], runs: list[Job]) -> None:
    record_snapshot(store, snapshot(at, jobs=runs, devices=devices), at)
