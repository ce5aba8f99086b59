"""Every health rule and policy knob, including daylight-saving changes."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from backupbridge import Device, DeviceStatus, Frequency, Job, JobStatus, Plan, Schedule, Weekday
from backupbridge.health import Health, HealthPolicy, Rollup, assess, expected_runs, rollup_day

UTC = dt.UTC
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAILY_22 = Schedule(frequency=Frequency.DAILY, time=dt.time(22, 0))


def plan(schedule: Schedule | None = DAILY_22, **kw: object) -> Plan:
    values: dict[str, object] = dict(
        vendor="v", account="a", id="p1", name="Nightly", device_ids=("d1",), schedule=schedule
    )
    values.update(kw)
    return Plan(**values)  # type: ignore[arg-type]


def device(**kw: object) -> Device:
    values: dict[str, object] = dict(vendor="v", account="a", id="d1", name="PC-1", status=DeviceStatus.ONLINE)
    values.update(kw)
    return Device(**values)  # type: ignore[arg-type]


def run(hours_ago: float, status: JobStatus = JobStatus.SUCCESS, plan_id: str | None = "p1", **kw: object) -> Job:
    when = NOW - dt.timedelta(hours=hours_ago)
    values: dict[str, object] = dict(
        vendor="v",
        account="a",
        id=f"j{hours_ago}{status}",
        device_id="d1",
        plan_id=plan_id,
        status=status,
        started_at=when - dt.timedelta(minutes=30),
        finished_at=when,
    )
    values.update(kw)
    return Job(**values)  # type: ignore[arg-type]


def health(
    jobs: list[Job],
    *,
    plans: list[Plan] | None = None,
    devices: list[Device] | None = None,
    policy: HealthPolicy | None = None,
    now: dt.datetime = NOW,
) -> Health:
    result = assess(
        devices if devices is not None else [device()],
        plans if plans is not None else [plan()],
        jobs,
        now=now,
        policy=policy,
    )
    return result.plans[0].health if result.plans else result.devices[0].health


def test_ok_after_last_night_success() -> None:
    assert health([run(13.5)]) is Health.OK  # 22:30 yesterday, expected at 22:00


def test_failed_when_the_last_run_failed() -> None:
    result = assess([device()], [plan()], [run(37), run(13.5, JobStatus.FAILED, error="disk full")], now=NOW)
    assert result.plans[0].health is Health.FAILED and "disk full" in result.plans[0].reason
    assert result.devices[0].health is Health.FAILED


def test_cancelled_counts_as_failed() -> None:
    assert health([run(37), run(13.5, JobStatus.CANCELLED)]) is Health.FAILED


def test_warning_and_the_knob_that_accepts_it() -> None:
    jobs = [run(13.5, JobStatus.WARNING)]
    assert health(jobs) is Health.WARNING
    assert health(jobs, policy=HealthPolicy(treat_warning_as_success=True)) is Health.OK


def test_missed_when_last_night_s_run_never_came() -> None:
    result = assess([device()], [plan()], [run(37)], now=NOW)  # the night before last only
    assert result.plans[0].health is Health.MISSED
    assert result.plans[0].expected_at == dt.datetime(2026, 3, 9, 22, 0, tzinfo=UTC)


def test_grace_delays_missed() -> None:
    early = dt.datetime(2026, 3, 9, 23, 0, tzinfo=UTC)  # one hour after the 22:00 run was due
    jobs = [
        run(37, now_shift=None)
        if False
        else Job(
            vendor="v",
            account="a",
            id="old",
            device_id="d1",
            plan_id="p1",
            status=JobStatus.SUCCESS,
            finished_at=early - dt.timedelta(hours=25),
        )
    ]
    assert health(jobs, now=early) is Health.OK  # within the default 2 h grace
    assert health(jobs, now=early, policy=HealthPolicy(grace=dt.timedelta(minutes=30))) is Health.MISSED
    with_own_grace = plan(Schedule(frequency=Frequency.DAILY, time=dt.time(22), grace=dt.timedelta(minutes=15)))
    assert health(jobs, plans=[with_own_grace], now=early) is Health.MISSED  # the plan's grace wins


def test_vendor_reported_missed_run() -> None:
    assert health([run(37), run(13.5, JobStatus.MISSED)]) is Health.MISSED


def test_overdue_after_max_age() -> None:
    hourly = plan(Schedule(frequency=Frequency.ONCE))  # nothing expected: only the age can speak
    assert health([run(50)], plans=[hourly]) is Health.OVERDUE
    assert health([run(50)], plans=[hourly], policy=HealthPolicy(max_age=dt.timedelta(hours=72))) is Health.OK


def test_failed_outranks_overdue_and_missed() -> None:
    assert health([run(80, JobStatus.FAILED)]) is Health.FAILED


def test_never_run() -> None:
    assert health([]) is Health.NEVER_RUN


def test_only_failures_ever_is_failed_not_never_run() -> None:
    assert health([run(13.5, JobStatus.FAILED)]) is Health.FAILED


def test_disabled_plan_is_a_warning_not_missed() -> None:
    assert health([run(13.5)], plans=[plan(enabled=False)]) is Health.WARNING


def test_offline_tolerance_for_a_switched_off_workstation() -> None:
    laptop = device(status=DeviceStatus.OFFLINE)
    jobs = [run(60)]  # last success 2.5 days ago, missed two nights since
    assert health(jobs, devices=[laptop]) is Health.MISSED
    tolerant = HealthPolicy(offline_tolerance=dt.timedelta(days=3))
    assert health(jobs, devices=[laptop], policy=tolerant) is Health.OK
    assert health(jobs, devices=[device()], policy=tolerant) is Health.MISSED  # an online device gets no tolerance


@pytest.mark.parametrize(
    ("rule", "statuses", "expected"),
    [
        (Rollup.WORST, [JobStatus.FAILED, JobStatus.SUCCESS], JobStatus.FAILED),
        (Rollup.LAST, [JobStatus.FAILED, JobStatus.SUCCESS], JobStatus.SUCCESS),
        (Rollup.BEST, [JobStatus.FAILED, JobStatus.WARNING], JobStatus.WARNING),
        (Rollup.WARNING_IF_MIXED, [JobStatus.FAILED, JobStatus.SUCCESS], JobStatus.WARNING),
        (Rollup.WARNING_IF_MIXED, [JobStatus.FAILED, JobStatus.FAILED], JobStatus.FAILED),
        (Rollup.WORST, [JobStatus.RUNNING], JobStatus.UNKNOWN),
    ],
)
def test_rollup_rules(rule: Rollup, statuses: list[JobStatus], expected: JobStatus) -> None:
    jobs = [run(14 - i, s) for i, s in enumerate(statuses)]
    assert rollup_day(jobs, rule) is expected


def test_rollup_rule_changes_the_day_s_health() -> None:
    jobs = [run(15, JobStatus.FAILED), run(13.5, JobStatus.SUCCESS)]  # a retry that worked, same evening
    assert health(jobs) is Health.FAILED
    assert health(jobs, policy=HealthPolicy(rollup=Rollup.LAST)) is Health.OK
    assert health(jobs, policy=HealthPolicy(rollup=Rollup.WARNING_IF_MIXED)) is Health.WARNING


def test_weekly_and_monthly_expectations() -> None:
    weekly = Schedule(frequency=Frequency.WEEKLY, time=dt.time(3), weekdays=(Weekday.SATURDAY,))
    runs = expected_runs(weekly, NOW - dt.timedelta(days=14), NOW, UTC)
    assert [r.date() for r in runs] == [dt.date(2026, 2, 28), dt.date(2026, 3, 7)]
    monthly = Schedule(frequency=Frequency.MONTHLY, time=dt.time(1), month_days=(-1,))
    ends = expected_runs(monthly, dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 4, 1, tzinfo=UTC), UTC)
    assert [r.day for r in ends] == [31, 28, 31]  # the last day of each month


def test_hourly_interval_expectations() -> None:
    every4 = Schedule(frequency=Frequency.HOURLY, time=dt.time(6), interval=dt.timedelta(hours=4))
    runs = expected_runs(
        every4, dt.datetime(2026, 3, 10, 0, tzinfo=UTC), dt.datetime(2026, 3, 10, 23, 59, tzinfo=UTC), UTC
    )
    assert [r.hour for r in runs] == [6, 10, 14, 18, 22]


def test_workdays_only_daily_schedule() -> None:
    weekdays = Schedule(frequency=Frequency.DAILY, time=dt.time(20), weekdays=Weekday.workdays())
    monday_noon = dt.datetime(2026, 3, 9, 12, tzinfo=UTC)
    friday_run = Job(
        vendor="v",
        account="a",
        id="f",
        device_id="d1",
        plan_id="p1",
        status=JobStatus.SUCCESS,
        finished_at=dt.datetime(2026, 3, 6, 20, 30, tzinfo=UTC),
    )
    policy = HealthPolicy(max_age=dt.timedelta(days=4))
    assert (
        health([friday_run], plans=[plan(weekdays)], now=monday_noon, policy=policy) is Health.OK
    )  # no weekend runs expected


def test_spring_forward_in_the_schedule_s_zone() -> None:
    # 29 March 2026: Berlin skips 02:00-03:00. A 02:30 run is due after the gap, at 03:30 CEST = 01:30 UTC.
    at_0230 = Schedule(frequency=Frequency.DAILY, time=dt.time(2, 30), timezone="Europe/Berlin")
    runs = expected_runs(at_0230, dt.datetime(2026, 3, 28, tzinfo=UTC), dt.datetime(2026, 3, 30, 12, tzinfo=UTC), UTC)
    assert [r.strftime("%m-%d %H:%M") for r in runs] == ["03-28 01:30", "03-29 01:30", "03-30 00:30"]


def test_fall_back_keeps_one_run_a_day() -> None:
    at_0230 = Schedule(frequency=Frequency.DAILY, time=dt.time(2, 30), timezone="Europe/Berlin")
    runs = expected_runs(at_0230, dt.datetime(2026, 10, 24, tzinfo=UTC), dt.datetime(2026, 10, 26, 12, tzinfo=UTC), UTC)
    assert [r.strftime("%m-%d %H:%M") for r in runs] == ["10-24 00:30", "10-25 00:30", "10-26 01:30"]


def test_a_run_on_the_dst_morning_satisfies_the_schedule() -> None:
    at_0230 = plan(Schedule(frequency=Frequency.DAILY, time=dt.time(2, 30), timezone="Europe/Berlin"))
    morning = dt.datetime(2026, 3, 29, 4, 0, tzinfo=UTC)
    done = Job(
        vendor="v",
        account="a",
        id="x",
        device_id="d1",
        plan_id="p1",
        status=JobStatus.SUCCESS,
        finished_at=dt.datetime(2026, 3, 29, 1, 45, tzinfo=UTC),
    )
    assert health([done], plans=[at_0230], now=morning) is Health.OK


def test_account_zone_applies_when_the_schedule_has_none() -> None:
    nightly = plan(Schedule(frequency=Frequency.DAILY, time=dt.time(22)))
    now = dt.datetime(2026, 3, 10, 21, 45, tzinfo=UTC)  # 22:45 in Berlin, 21:45 in UTC
    jobs = [
        Job(
            vendor="v",
            account="a",
            id="y",
            device_id="d1",
            plan_id="p1",
            status=JobStatus.SUCCESS,
            finished_at=dt.datetime(2026, 3, 9, 21, 30, tzinfo=UTC),
        )
    ]
    no_grace = HealthPolicy(grace=dt.timedelta(0))
    berlin = (
        assess([device()], [nightly], jobs, now=now, policy=no_grace, timezones={("v", "a"): BERLIN}).plans[0].health
    )
    utc = assess([device()], [nightly], jobs, now=now, policy=no_grace).plans[0].health
    assert (berlin, utc) == (Health.MISSED, Health.OK)  # Berlin's 22:00 has passed; UTC's has not


def test_no_success_for_longer_than_max_age_is_overdue() -> None:
    failures_for_days = [run(h, JobStatus.WARNING) for h in (85, 61, 37, 13.5)]
    assert health(failures_for_days) is Health.OVERDUE
    assert health(failures_for_days, policy=HealthPolicy(treat_warning_as_success=True)) is Health.OK


def test_device_without_plans_uses_its_last_success() -> None:
    idrive_style = device(last_backup_at=NOW - dt.timedelta(hours=5), last_backup_status=JobStatus.FAILED)
    last_failed = Job(vendor="v", account="a", id="d1:last", device_id="d1", status=JobStatus.FAILED)  # no time known
    result = assess([idrive_style], [], [last_failed], now=NOW)
    assert result.devices[0].health is Health.FAILED
    assert result.devices[0].last_success_at == NOW - dt.timedelta(hours=5)
    stale = device(last_backup_at=NOW - dt.timedelta(days=5), last_backup_status=JobStatus.SUCCESS)
    assert assess([stale], [], [], now=NOW).devices[0].health is Health.OVERDUE


def test_archived_device_without_runs_is_unknown() -> None:
    assert assess([device(status=DeviceStatus.ARCHIVED)], [], [], now=NOW).devices[0].health is Health.UNKNOWN


def test_device_health_is_its_worst_plan() -> None:
    second = plan(Schedule(frequency=Frequency.DAILY, time=dt.time(22)), id="p2", name="Second")
    jobs = [run(13.5), run(13.5, JobStatus.FAILED, plan_id="p2")]
    result = assess([device()], [plan(), second], jobs, now=NOW)
    assert [p.health for p in result.plans] == [Health.OK, Health.FAILED]
    assert result.devices[0].health is Health.FAILED and result.devices[0].reason.startswith("Second:")


def test_per_account_clocks() -> None:
    jobs = [run(13.5)]
    later = {("v", "a"): NOW + dt.timedelta(days=3)}
    assert assess([device()], [plan()], jobs, now=later).plans[0].health is Health.MISSED
