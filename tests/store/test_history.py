"""What the store answers: the daily grid, days in status, days since, success rate, compliance, prune."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from backupbridge.errors import ValidationError
from backupbridge.health import Rollup
from backupbridge.models import JobStatus, Plan
from backupbridge.store import DayStatus, HistoryNotFoundError, Store, history, prune, record_snapshot

from .conftest import NOW
from .snapshots import ACCOUNT, VENDOR, company, device, job, server_down, snapshot

DAY = dt.timedelta(days=1)
S, W, F, N, U = "success", "warning", "failure", "no-result", "unknown"


def _collect_days(store: Store, outcomes: list[JobStatus | str | None]) -> None:
    """One collect a day, oldest first; each day's run of d1 has that status (None: no run; "down": the
    listing of runs failed that day). Jobs accumulate as a vendor with history shows them."""
    jobs = []
    start = NOW - DAY * (len(outcomes) - 1)
    for index, outcome in enumerate(outcomes):
        today = start + DAY * index
        if outcome == "down":
            record_snapshot(store, snapshot(today, failures=[("list_jobs", server_down())]), today)
            continue
        if isinstance(outcome, JobStatus):
            jobs.append(job(f"j{index}", today - dt.timedelta(hours=3), outcome))
        record_snapshot(store, snapshot(today, jobs=list(jobs)), today)


def test_the_daily_grid_and_its_figures(store: Store) -> None:
    _collect_days(
        store,
        [JobStatus.SUCCESS, JobStatus.WARNING, None, "down", JobStatus.FAILED, JobStatus.FAILED],
    )
    found = history(store, "device", "d1", days=7)
    (entity,) = found.entities
    assert [d.status.value for d in entity.days] == [U, S, W, N, U, F, F]
    assert found.end == NOW.date() and found.start == (NOW - 6 * DAY).date()
    assert (entity.status, entity.days_in_status) == (DayStatus.FAILURE, 2)
    assert (entity.days_since_result, entity.days_since_success) == (0, 5)
    assert entity.success_rate == pytest.approx(1 / 4)
    assert [d.runs for d in entity.days] == [0, 1, 1, 0, 0, 1, 1]
    assert entity.days[-1].verdict is not None and entity.days[-1].verdict.value == "failed"


def test_a_warning_may_count_as_good(store: Store) -> None:
    _collect_days(store, [JobStatus.SUCCESS, JobStatus.WARNING])
    (entity,) = history(store, "device", "d1", days=2, treat_warning_as_success=True).entities
    assert (entity.days_since_success, entity.success_rate) == (0, 1.0)


def test_several_runs_a_day_roll_up_as_the_policy_says(store: Store) -> None:
    jobs = [job("a", NOW - dt.timedelta(hours=5), JobStatus.FAILED), job("b", NOW - dt.timedelta(hours=2))]
    record_snapshot(store, snapshot(NOW, jobs=jobs), NOW)
    assert history(store, "device", "d1", days=1).entities[0].days[0].status is DayStatus.FAILURE
    last = history(store, "device", "d1", days=1, rollup=Rollup.LAST).entities[0]
    assert last.days[0].status is DayStatus.SUCCESS and last.days[0].runs == 2


def test_streaks_run_across_unknown_days_and_days_before_a_device_existed_are_unknown(store: Store) -> None:
    _collect_days(store, [JobStatus.FAILED, "down", JobStatus.FAILED])
    (entity,) = history(store, "device", "d1", days=5).entities
    assert [d.status.value for d in entity.days] == [U, U, F, U, F]
    assert entity.days_in_status == 3


def test_a_company_covers_its_devices_and_plans_with_compliance(store: Store) -> None:
    plan = Plan(vendor=VENDOR, account=ACCOUNT, id="p1", name="Nightly", company_id="c1", device_ids=("d1",))
    devices = [device("d1"), device("d2", "SRV-02"), device("d9", "OTHER", company_id="c9")]
    for offset in (1, 0):
        today = NOW - DAY * offset
        jobs = [
            job(f"ok{offset}", today - dt.timedelta(hours=2), plan_id="p1"),
            job(f"bad{offset}", today - dt.timedelta(hours=2), JobStatus.FAILED, device_id="d2"),
        ]
        snap = snapshot(
            today, devices=devices, plans=[plan], jobs=jobs, companies=[company(), company("c9", "Fabrikam")]
        )
        record_snapshot(store, snap, today)
    found = history(store, "company", "Contoso", days=2)
    assert sorted((e.kind.value, e.id) for e in found.entities) == [("device", "d1"), ("device", "d2"), ("plan", "p1")]
    (compliance,) = found.compliance
    assert (compliance.company, compliance.device_days, compliance.device_days_ok) == ("Contoso", 4, 2)
    assert (compliance.plan_days, compliance.plan_days_ok) == (2, 2)
    assert compliance.device_compliance == 0.5
    everything = history(store, "account", f"{VENDOR}/{ACCOUNT}", days=2)
    assert {c.company for c in everything.compliance} == {"Contoso", "Fabrikam"}
    assert len(everything.entities) == 4


def test_an_unknown_name_or_a_bad_window_says_so(store: Store) -> None:
    record_snapshot(store, snapshot(NOW), NOW)
    with pytest.raises(HistoryNotFoundError, match="the store knows no device 'nope'"):
        history(store, "device", "nope")
    with pytest.raises(ValidationError, match="days must be"):
        history(store, "device", "d1", days=0)
    with pytest.raises(ValidationError, match="scope must be one of"):
        history(store, "customer", "d1")


def test_prune_deletes_what_is_older_and_keeps_the_rest(store: Store, count: Callable[..., int]) -> None:
    _collect_days(store, [JobStatus.SUCCESS] * 5)
    result = prune(store, dt.timedelta(days=2), now=NOW + dt.timedelta(hours=1))
    assert result.kept_from == (NOW - 2 * DAY).date()
    assert (count("jobs"), count("runs"), count("run_accounts"), count("devices")) == (3, 3, 3, 1)
    assert [d.status.value for d in history(store, "device", "d1", days=4).entities[0].days] == [U, S, S, S]
    with pytest.raises(ValidationError):
        prune(store, dt.timedelta(hours=1))
