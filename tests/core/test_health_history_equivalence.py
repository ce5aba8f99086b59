"""The health engine made cheaper with a history judges exactly as it did.

The oracle below is a frozen copy of the engine's judging (``assess`` and its helpers in
``backupbridge.health``) as it was before the speed work (commit 92a4a30), verbatim but for its name
(``old_assess``) and imports. Randomized scenarios (devices of every status, plans of every frequency with
grace, zones and disabled schedules, runs timed and untimed, duplicated ids, stored runs the vendor still
shows and ones it forgot, untimed stored runs, observed listing moments, stored last successes, first
sightings and daily verdicts, policies with warnings as success, offline tolerance, every rollup, accounts not
judged, account zones from UTC-11 to UTC+14) and the sandbox's own accounts must give equal assessments,
with a history and without. ``tests/store/test_history_speed_equivalence.py`` does the same over
histories a real store read.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import random
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import pytest

from backupbridge.activity import known_success_for_plan
from backupbridge.bridge import Bridge
from backupbridge.health import (
    Assessment,
    DeviceHealth,
    Health,
    HealthPolicy,
    PlanHealth,
    Rollup,
    RunHistory,
    StoredRun,
    Verdict,
    assess,
    not_judged_reason,
)
from backupbridge.models import Device, DeviceStatus, Frequency, Job, JobStatus, Plan, Schedule, Weekday

# ---- the oracle: backupbridge/health.py's judging at 92a4a30, verbatim but for assess's name ----------------

_WEEKDAY_INDEX = {day: index for index, day in enumerate(Weekday)}  # Monday = 0, as date.weekday()


def _zone(schedule: Schedule, fallback: dt.tzinfo) -> dt.tzinfo:
    if schedule.timezone:
        try:
            return zoneinfo.ZoneInfo(schedule.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return fallback
    return fallback


def _on_day(schedule: Schedule, day: dt.date) -> bool:
    if schedule.months and day.month not in schedule.months:
        return False
    if schedule.frequency is Frequency.MONTHLY and schedule.month_days:
        last = calendar.monthrange(day.year, day.month)[1]
        wanted = {last if d == -1 else d for d in schedule.month_days}
        if day.day not in wanted:
            return False
    if schedule.weekdays and schedule.frequency in (Frequency.DAILY, Frequency.WEEKLY, Frequency.MONTHLY):
        return day.weekday() in {_WEEKDAY_INDEX[w] for w in schedule.weekdays}
    return True


def expected_runs(schedule: Schedule, start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> list[dt.datetime]:
    """The moments in ``[start, end]`` the schedule says a run should start, as aware UTC datetimes.

    Local times are built in the schedule's zone (or ``tz``), so daylight-saving changes move them as the
    wall clock does; a time that does not exist on a spring-forward day is taken after the gap.
    """
    if not schedule.enabled or schedule.frequency not in (
        Frequency.HOURLY,
        Frequency.DAILY,
        Frequency.WEEKLY,
        Frequency.MONTHLY,
    ):
        return []
    zone = _zone(schedule, tz)
    at = schedule.time or dt.time(0, 0)
    runs: list[dt.datetime] = []
    day = start.astimezone(zone).date() - dt.timedelta(days=1)
    last_day = end.astimezone(zone).date()
    step = schedule.interval if schedule.frequency is Frequency.HOURLY and schedule.interval else dt.timedelta(hours=1)
    if schedule.frequency is not Frequency.HOURLY and schedule.interval and schedule.interval > dt.timedelta(days=1):
        return []  # "every N days" needs an anchor the neutral schedule does not carry
    while day <= last_day:
        if schedule.frequency is Frequency.HOURLY:
            moment = dt.datetime.combine(day, at, tzinfo=zone)
            day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
            while moment < day_end:
                runs.append(moment)
                moment = (moment.astimezone(dt.UTC) + step).astimezone(zone)
        elif _on_day(schedule, day):
            runs.append(dt.datetime.combine(day, at, tzinfo=zone))
        day += dt.timedelta(days=1)
    return sorted(r.astimezone(dt.UTC) for r in runs if start <= r <= end)


_DONE = (JobStatus.SUCCESS, JobStatus.WARNING, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.MISSED)
_STATUS_RANK = {
    JobStatus.SUCCESS: 0,
    JobStatus.WARNING: 1,
    JobStatus.MISSED: 2,
    JobStatus.CANCELLED: 3,
    JobStatus.FAILED: 4,
}


def rollup_day(runs: Sequence[Job], rule: Rollup) -> JobStatus:
    """The status of one day from its finished runs (given oldest first)."""
    statuses = [r.status for r in runs if r.status in _DONE]
    if not statuses:
        return JobStatus.UNKNOWN
    if rule is Rollup.LAST:
        return statuses[-1]
    if rule is Rollup.BEST:
        return min(statuses, key=_STATUS_RANK.__getitem__)
    worst = max(statuses, key=_STATUS_RANK.__getitem__)
    if rule is Rollup.WARNING_IF_MIXED and JobStatus.SUCCESS in statuses and worst is not JobStatus.SUCCESS:
        return JobStatus.WARNING
    return worst


def span(delta: dt.timedelta) -> str:
    """A duration for people: ``3d 4h``, ``5h``, ``45m``."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    return f"{hours}h {mins}m" if hours and mins else (f"{hours}h" if hours else f"{mins}m")


def _when(job: Job) -> dt.datetime | None:
    return job.finished_at or job.started_at


def _judge(
    runs: Sequence[Job],
    *,
    expected: Sequence[dt.datetime],
    now: dt.datetime,
    policy: HealthPolicy,
    grace: dt.timedelta,
    tz: dt.tzinfo,
    known_success: dt.datetime | None,
    offline: bool,
    disabled: bool,
    when: Callable[[Job], dt.datetime | None] = _when,
) -> Verdict:
    successes = {JobStatus.SUCCESS, JobStatus.WARNING} if policy.treat_warning_as_success else {JobStatus.SUCCESS}
    timed = sorted((r for r in runs if when(r) is not None), key=lambda r: when(r))  # type: ignore[arg-type, return-value]
    last = timed[-1] if timed else (runs[-1] if runs else None)
    success_times = [t for r in runs if r.status in successes and (t := when(r)) is not None]
    if known_success is not None:
        success_times.append(known_success)
    last_success = max(success_times, default=None)
    tolerance = policy.offline_tolerance if offline else dt.timedelta(0)
    found: list[tuple[Health, str]] = []

    finished = [r for r in timed if r.status in _DONE]
    untimed_done = [r for r in runs if when(r) is None and r.status in _DONE]
    if finished or untimed_done:
        if finished:
            latest_day = when(finished[-1])
            assert latest_day is not None
            day = latest_day.astimezone(tz).date()
            same_day = [r for r in finished if (when(r) or latest_day).astimezone(tz).date() == day]
        else:
            same_day = untimed_done[-1:]
        status = rollup_day(same_day, policy.rollup)
        if status in (JobStatus.FAILED, JobStatus.CANCELLED):
            error = next((r.error for r in reversed(same_day) if r.error), None)
            found.append((Health.FAILED, f"last run {status.value}" + (f": {error}" if error else "")))
        elif status is JobStatus.MISSED:
            found.append((Health.MISSED, "the vendor reports the last run as missed"))
        elif status is JobStatus.WARNING and not policy.treat_warning_as_success:
            found.append((Health.WARNING, "last run ended with warnings"))

    due = [moment for moment in expected if moment + grace <= now]
    if due and runs:  # with no run at all, NEVER_RUN says more than MISSED
        latest = due[-1]
        window_start = latest - dt.timedelta(minutes=30)
        arrived = any((t := when(r)) is not None and t >= window_start for r in runs) or any(
            r.status in (JobStatus.RUNNING, JobStatus.QUEUED) for r in runs
        )
        if not arrived and not (
            offline and last_success is not None and now - last_success <= policy.max_age + tolerance
        ):
            found.append((Health.MISSED, f"no run since the one expected at {latest.strftime('%Y-%m-%d %H:%M')} UTC"))
    if last_success is None:
        first = min((t for r in runs if (t := when(r)) is not None), default=None)
        if first is not None and now - first > policy.max_age + tolerance:
            found.append((Health.OVERDUE, f"no successful run in {span(now - first)} of runs"))
        elif not runs and (due or not expected):
            found.append((Health.NEVER_RUN, "no run seen"))
    elif now - last_success > policy.max_age + tolerance:
        found.append(
            (Health.OVERDUE, f"no success for {span(now - last_success)} (limit {span(policy.max_age + tolerance)})")
        )
    if disabled:
        found.append((Health.WARNING, "plan disabled"))
    health, reason = max(found, key=lambda item: item[0].rank) if found else (Health.OK, "ok")
    return Verdict(
        health=health,
        reason=reason,
        last_status=last.status if last else None,
        last_run_at=_when(last) if last else None,
        last_success_at=last_success,
        expected_at=due[-1] if due else None,
    )


_GOOD = (JobStatus.SUCCESS, JobStatus.WARNING)
_FAILED = (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.MISSED)
_EARLY = dt.timedelta(minutes=30)  # a run may start this much before its scheduled moment


def _run_identity(job: Job) -> tuple[object, ...]:
    """What tells one run from another across the vendor's listing and the store: its id and start (a
    vendor showing only the last run reuses the id), or, for a run without a time, what it says."""
    when = job.started_at or job.finished_at
    if when is not None:
        return (job.vendor, job.account, job.id, when)
    return (job.vendor, job.account, job.id, None, job.status, job.error)


def _backup(job: Job) -> tuple[str, str, str | None, str | None]:
    """The backup a run belongs to: its device and plan."""
    return (job.vendor, job.account, job.device_id, job.plan_id)


def _missed_days(
    expected: Sequence[dt.datetime],
    runs: Sequence[Job],
    *,
    grace: dt.timedelta,
    now: dt.datetime,
    observed: Sequence[dt.datetime],
    since: dt.datetime | None,
    tz: dt.tzinfo,
    when: Callable[[Job], dt.datetime | None],
) -> tuple[dt.date, ...]:
    """The days of the scheduled runs in ``expected`` that are due and had no run, judged only when the run
    listing answered after the run was due and before the next scheduled one (a vendor showing only the last
    run has not overwritten it yet), and only from when the backup was first seen (``since``)."""
    if since is None or not observed or not expected:
        return ()
    times = [t for r in runs if (t := when(r)) is not None]  # runs come oldest first
    days: set[dt.date] = set()
    for index, slot in enumerate(expected):
        if slot + grace > now or slot < since:
            continue
        following = expected[index + 1] if index + 1 < len(expected) else None
        first = bisect.bisect_left(times, slot - _EARLY)
        if first < len(times) and (following is None or times[first] < following - _EARLY):
            continue  # a run arrived for it
        look = bisect.bisect_left(observed, slot + grace)
        if look < len(observed) and (following is None or observed[look] < following):
            days.add(slot.astimezone(tz).date())
    return tuple(sorted(days))


def _streak(runs: Sequence[Job], when: Callable[[Job], dt.datetime | None]) -> tuple[int, dt.datetime | None]:
    """Failed runs (given oldest first) counted back from the newest until a good one (runs still going are
    passed over)."""
    count, since = 0, None
    for job in reversed(runs):
        if when(job) is None:
            continue
        if job.status in _GOOD:
            break
        if job.status in _FAILED:
            count, since = count + 1, when(job)
    return count, since


def _days_in_status(past: Sequence[tuple[dt.date, Health]], health: Health, today: dt.date, limit: int) -> int | None:
    """Days ``health`` has held up to ``today``, counted on the stored daily verdicts (unknown days and days
    without a verdict do not break it), at most ``limit``."""
    if health is Health.UNKNOWN:
        return None
    start = today
    for day, verdict in reversed(past):
        if day >= today or verdict is Health.UNKNOWN:
            continue
        if verdict is not health:
            break
        start = day
    return min((today - start).days + 1, limit)


def old_assess(
    devices: Iterable[Device],
    plans: Iterable[Plan],
    jobs: Iterable[Job],
    *,
    now: dt.datetime | Mapping[tuple[str, str], dt.datetime],
    policy: HealthPolicy | None = None,
    timezones: Mapping[tuple[str, str], dt.tzinfo] | None = None,
    incomplete: Mapping[tuple[str, str], Iterable[str]] | None = None,
    history: RunHistory | None = None,
) -> Assessment:
    """Judge every plan (on each of its devices) and every device.

    Args:
        now: the current time, or one per ``(vendor, account)`` (simulators run on their own clocks).
        timezones: the zone of each ``(vendor, account)`` for schedules without one (default UTC).
        incomplete: ``(vendor, account)`` -> the listings that failed for it (``Snapshot.incomplete``). Those
            accounts are not judged: their plans and devices are UNKNOWN, "not judged: list_jobs failed".
        history: what the store remembers of these accounts (``store.history.health_history``): the runs the
            vendor no longer shows join its own, and each verdict gets its figures over the window (missed
            days, failure streak, days in status). ``None``: judged on the vendor's listings alone.
    """
    policy = policy or HealthPolicy()
    unjudged = {key: tuple(operations) for key, operations in (incomplete or {}).items()}
    device_list = list(devices)

    def clock(vendor: str, account: str) -> dt.datetime:
        return now if isinstance(now, dt.datetime) else now.get((vendor, account), dt.datetime.now(dt.UTC))

    def zone(vendor: str, account: str) -> dt.tzinfo:
        return (timezones or {}).get((vendor, account), dt.UTC)

    job_list = list(jobs)
    jobs_shown = tuple(job_list)  # the vendor's own runs of this pass
    when: Callable[[Job], dt.datetime | None] = _when
    if history is not None:
        # A run without a time is placed when it was seen: a stored one when first seen, and the vendor's own
        # (a last-run vendor's, IDrive's failed run) when a collect first saw it, else at the account's clock,
        # but only where stored runs join the vendor's runs of that backup and the vendor shows no timed run
        # of it: only then is its place among them needed, and only then is it the backup's newest run. Placed
        # anywhere else it would outrank the vendor's timed runs (CleverFox's week-old missed runs carry no
        # time) and a fresh store would judge the same listing differently from no store at all.
        known = {_run_identity(j) for j in job_list}
        seen_at: dict[tuple[object, ...], dt.datetime] = {}
        joined: set[tuple[str, str, str | None, str | None]] = set()
        placed: dict[int, dt.datetime] = {}
        for stored in history.runs:
            identity = _run_identity(stored.job)
            if _when(stored.job) is None:
                seen_at[identity] = min(stored.first_seen, seen_at.get(identity, stored.first_seen))
            if identity in known:
                continue
            known.add(identity)
            job_list.append(stored.job)
            joined.add(_backup(stored.job))
            if _when(stored.job) is None:
                placed[id(stored.job)] = stored.first_seen
        vendor_timed = {_backup(j) for j in jobs_shown if _when(j) is not None}
        for job in jobs_shown:
            backup = _backup(job)
            if _when(job) is None and backup in joined and backup not in vendor_timed:
                placed[id(job)] = seen_at.get(_run_identity(job), clock(job.vendor, job.account))

        def when(job: Job) -> dt.datetime | None:
            return _when(job) or placed.get(id(job))

    by_device: dict[tuple[str, str, str], list[Job]] = {}
    by_plan: dict[tuple[str, str, str], list[Job]] = {}
    for job in sorted(job_list, key=lambda j: when(j) or dt.datetime.min.replace(tzinfo=dt.UTC)):
        if job.device_id is not None:
            by_device.setdefault((job.vendor, job.account, job.device_id), []).append(job)
        if job.plan_id is not None:
            by_plan.setdefault((job.vendor, job.account, job.plan_id), []).append(job)
    devices_by_key = {(d.vendor, d.account, d.id): d for d in device_list}
    window_days = max(1, policy.window.days)
    stored_success = _StoredSuccess(history)

    observations: dict[tuple[str, str], list[dt.datetime]] = {}

    def figures(
        runs: Sequence[Job],
        key: tuple[str, str, str, str, str],
        health: Health,
        *,
        expected: Sequence[dt.datetime] = (),
        grace: dt.timedelta = dt.timedelta(0),
        since: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """The window figures of one verdict (none without a history)."""
        if history is None:
            return {}
        vendor, account = key[0], key[1]
        at, tz = clock(vendor, account), zone(vendor, account)
        observed = observations.get((vendor, account))
        if observed is None:  # the stored moments the run listing answered, and this pass
            observed = observations[(vendor, account)] = sorted((*history.observed.get((vendor, account), ()), at))
        failures, failing_since = _streak(runs, when)
        return {
            "missed_days": _missed_days(
                expected, runs, grace=grace, now=at, observed=observed, since=since, tz=tz, when=when
            ),
            "consecutive_failures": failures,
            "failing_since": failing_since,
            "days_in_status": _days_in_status(
                history.verdicts.get(key, ()), health, at.astimezone(tz).date(), window_days
            ),
        }

    def first_seen(vendor: str, account: str, *entities: tuple[str, str | None]) -> dt.datetime | None:
        """When the store first saw all of ``(kind, id)`` (None: one of them never)."""
        if history is None:
            return None
        moments = [history.first_seen.get((vendor, account, kind, entity)) for kind, entity in entities if entity]
        return None if not moments or None in moments else max(m for m in moments if m is not None)

    plan_results: list[PlanHealth] = []
    planned_devices: set[tuple[str, str, str]] = set()
    for plan in plans:
        at, tz = clock(plan.vendor, plan.account), zone(plan.vendor, plan.account)
        schedule = plan.schedule
        expected = expected_runs(schedule, at - policy.window, at, tz) if schedule is not None and plan.enabled else []
        grace = schedule.grace if schedule is not None and schedule.grace is not None else policy.grace
        for device_id in plan.device_ids or (None,):
            key = (plan.vendor, plan.account, device_id) if device_id else None
            device = devices_by_key.get(key) if key else None
            if key:
                planned_devices.add(key)
            failed = unjudged.get((plan.vendor, plan.account))
            if failed is not None:
                plan_results.append(
                    PlanHealth(
                        vendor=plan.vendor,
                        account=plan.account,
                        company_id=plan.company_id or (device.company_id if device else None),
                        device_id=device_id,
                        plan_id=plan.id,
                        plan_name=plan.name,
                        health=Health.UNKNOWN,
                        reason=not_judged_reason(failed),
                    )
                )
                continue
            plan_runs = by_plan.get((plan.vendor, plan.account, plan.id), [])
            runs = [r for r in plan_runs if device_id is None or r.device_id == device_id]
            linked = True
            if device_id is not None and not plan_runs:
                # Vendors that do not link runs to plans (a device's last run): judge by the device's runs.
                runs = [r for r in by_device.get(key, []) if r.plan_id is None]  # type: ignore[arg-type]
                linked = False
            # The device's last backup counts for this plan unless it is another plan's run (backupbridge.activity).
            known_success = known_success_for_plan(device, plan.id, by_device.get(key, []) if key else [])
            if history is not None:
                remembered = stored_success.plan(plan.vendor, plan.account, plan.id if linked else None, device_id)
                known_success = max((t for t in (known_success, remembered) if t is not None), default=None)
            verdict = _judge(
                runs,
                expected=expected,
                now=at,
                policy=policy,
                grace=grace,
                tz=tz,
                known_success=known_success,
                offline=device is not None and device.status is DeviceStatus.OFFLINE,
                disabled=not plan.enabled or (schedule is not None and not schedule.enabled),
                when=when,
            )
            plan_results.append(
                PlanHealth(
                    vendor=plan.vendor,
                    account=plan.account,
                    company_id=plan.company_id or (device.company_id if device else None),
                    device_id=device_id,
                    plan_id=plan.id,
                    plan_name=plan.name,
                    health=verdict.health,
                    reason=verdict.reason,
                    last_run_at=verdict.last_run_at,
                    last_status=verdict.last_status,
                    last_success_at=verdict.last_success_at,
                    expected_at=verdict.expected_at,
                    **figures(
                        runs,
                        (plan.vendor, plan.account, "plan", plan.id, device_id or ""),
                        verdict.health,
                        expected=expected,
                        grace=grace,
                        since=first_seen(plan.vendor, plan.account, ("plan", plan.id), ("device", device_id)),
                    ),
                )
            )

    plans_of_device: dict[tuple[str, str, str | None], list[PlanHealth]] = {}
    for result in plan_results:
        plans_of_device.setdefault((result.vendor, result.account, result.device_id), []).append(result)
    device_results: list[DeviceHealth] = []
    for device in device_list:
        key = (device.vendor, device.account, device.id)
        mine = tuple(plans_of_device.get(key, ()))
        failed = unjudged.get((device.vendor, device.account))
        extra: dict[str, Any] = {}
        if failed is not None:
            health, reason, success = Health.UNKNOWN, not_judged_reason(failed), None
        elif mine:
            # A device with plans is as healthy as its worst plan.
            worst = max(mine, key=lambda p: p.health.rank)
            successes = [p.last_success_at for p in mine if p.last_success_at is not None]
            health = worst.health
            reason = f"{worst.plan_name}: {worst.reason}" if worst.health is not Health.OK else "ok"
            success = min(successes) if successes else None
            if history is not None:
                streaky = max(mine, key=lambda p: p.consecutive_failures or 0)
                extra = {
                    "missed_days": tuple(sorted({day for p in mine for day in p.missed_days})),
                    "consecutive_failures": streaky.consecutive_failures,
                    "failing_since": streaky.failing_since,
                    "days_in_status": figures((), (device.vendor, device.account, "device", device.id, ""), health)[
                        "days_in_status"
                    ],
                }
        else:
            runs = by_device.get(key, [])
            if device.status in (DeviceStatus.ARCHIVED, DeviceStatus.INACTIVE) and not runs:
                health, reason, success = Health.UNKNOWN, f"device {device.status.value}", None
            else:
                known_success = device.last_backup_at
                if history is not None:
                    remembered = stored_success.device(device.vendor, device.account, device.id)
                    known_success = max((t for t in (known_success, remembered) if t is not None), default=None)
                verdict = _judge(
                    runs,
                    expected=[],
                    now=clock(device.vendor, device.account),
                    policy=policy,
                    grace=policy.grace,
                    tz=zone(device.vendor, device.account),
                    known_success=known_success,
                    offline=device.status is DeviceStatus.OFFLINE,
                    disabled=False,
                    when=when,
                )
                health, reason, success = verdict.health, verdict.reason, verdict.last_success_at
                no_plan = key not in planned_devices
                if health is Health.NEVER_RUN and device.last_backup_at is None and not runs and no_plan:
                    reason = "no plan and no run seen"
            extra = figures(runs, (device.vendor, device.account, "device", device.id, ""), health)
        device_results.append(
            DeviceHealth(
                vendor=device.vendor,
                account=device.account,
                company_id=device.company_id,
                device_id=device.id,
                device_name=device.name,
                health=health,
                reason=reason,
                last_success_at=success,
                plans=mine,
                **extra,
            )
        )
    return Assessment(plans=tuple(plan_results), devices=tuple(device_results), incomplete=unjudged)


class _StoredSuccess:
    """The newest good run the store remembers for a plan on a device, a plan, or a device."""

    def __init__(self, history: RunHistory | None) -> None:
        self.pairs = dict(history.last_success) if history is not None else {}
        self.plans: dict[tuple[str, str, str], dt.datetime] = {}
        self.devices: dict[tuple[str, str, str], dt.datetime] = {}
        for (vendor, account, plan_id, device_id), moment in self.pairs.items():
            for table, entity in ((self.plans, plan_id), (self.devices, device_id)):
                if entity:
                    slot = (vendor, account, entity)
                    table[slot] = max(moment, table.get(slot, moment))

    def plan(self, vendor: str, account: str, plan_id: str | None, device_id: str | None) -> dt.datetime | None:
        if plan_id is None:  # runs linked to the device only
            return self.pairs.get((vendor, account, "", device_id or ""))
        if device_id is None:
            return self.plans.get((vendor, account, plan_id))
        return self.pairs.get((vendor, account, plan_id, device_id))

    def device(self, vendor: str, account: str, device_id: str) -> dt.datetime | None:
        return self.devices.get((vendor, account, device_id))


# ---- the scenarios ----------------------------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 28, 9, 0, tzinfo=dt.UTC)  # the weekend Europe's clocks go forward
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Pacific/Kiritimati",  # UTC+14
    "Pacific/Pago_Pago",  # UTC-11
    "Asia/Kolkata",
    "America/Havana",  # its clocks change at midnight: a day may begin twice
)
STATUSES = tuple(JobStatus)
HOUR = dt.timedelta(hours=1)


def _moment(rng: random.Random, now: dt.datetime, days: int = 12) -> dt.datetime:
    return now - dt.timedelta(minutes=rng.randrange(-60, days * 24 * 60))


def _schedule(rng: random.Random) -> Schedule | None:
    if rng.random() < 0.1:
        return None
    frequency = rng.choice(
        [Frequency.DAILY] * 4 + [Frequency.HOURLY, Frequency.WEEKLY, Frequency.MONTHLY, Frequency.MANUAL]
    )
    return Schedule(
        frequency=frequency,
        time=dt.time(rng.randrange(24), rng.choice((0, 5, 30, 59))) if rng.random() < 0.9 else None,
        weekdays=tuple(rng.sample(list(Weekday), rng.randrange(1, 8))) if rng.random() < 0.4 else (),
        month_days=(rng.choice((1, 15, 28, -1)),) if frequency is Frequency.MONTHLY else (),
        interval=rng.choice((None, 4 * HOUR, 2 * dt.timedelta(days=1))) if rng.random() < 0.2 else None,
        grace=rng.choice((None, dt.timedelta(0), 30 * dt.timedelta(minutes=1), 6 * HOUR)),
        enabled=rng.random() < 0.9,
        timezone=rng.choice((None, None, None, "Europe/Berlin", "Asia/Kolkata", "Not/AZone")),
    )


def _job(
    rng: random.Random, vendor: str, account: str, now: dt.datetime, devices: Sequence[str], plans: Sequence[str]
) -> Job:
    started = _moment(rng, now) if rng.random() < 0.8 else None
    finished = started + dt.timedelta(minutes=rng.randrange(90)) if started and rng.random() < 0.8 else None
    if started is None and rng.random() < 0.3:
        finished = _moment(rng, now)
    return Job(
        vendor=vendor,
        account=account,
        id=f"j{rng.randrange(40)}",
        device_id=rng.choice([*devices, None]) if devices else None,
        plan_id=rng.choice([*plans, None, None]) if plans else None,
        status=rng.choice(STATUSES),
        started_at=started,
        finished_at=finished,
        error=rng.choice((None, None, "Disk full", "Timeout")),
    )


@attrs.frozen
class Scenario:
    devices: tuple[Device, ...]
    plans: tuple[Plan, ...]
    jobs: tuple[Job, ...]
    clocks: Mapping[tuple[str, str], dt.datetime]
    timezones: Mapping[tuple[str, str], dt.tzinfo]
    incomplete: Mapping[tuple[str, str], tuple[str, ...]]
    policy: HealthPolicy
    history: RunHistory


def _scenario(seed: int) -> Scenario:
    rng = random.Random(seed)
    accounts = [("v", "a1"), ("v", "a2"), ("w", "a1")][: rng.randrange(1, 4)]
    devices: list[Device] = []
    plans: list[Plan] = []
    jobs: list[Job] = []
    clocks = {key: NOW + dt.timedelta(minutes=rng.randrange(-600, 600)) for key in accounts}
    timezones: dict[tuple[str, str], dt.tzinfo] = {
        key: zoneinfo.ZoneInfo(rng.choice(ZONES)) for key in accounts if rng.random() < 0.8
    }
    runs: list[StoredRun] = []
    observed: dict[tuple[str, str], tuple[dt.datetime, ...]] = {}
    last_success: dict[tuple[str, str, str, str], dt.datetime] = {}
    first_seen: dict[tuple[str, str, str, str], dt.datetime] = {}
    verdicts: dict[tuple[str, str, str, str, str], tuple[tuple[dt.date, Health], ...]] = {}
    for vendor, account in accounts:
        now = clocks[(vendor, account)]
        device_ids = [f"d{i}" for i in range(rng.randrange(0, 6))]
        plan_ids = [f"p{i}" for i in range(rng.randrange(0, 5))]
        for device_id in device_ids:
            devices.append(
                Device(
                    vendor=vendor,
                    account=account,
                    id=device_id,
                    name=device_id.upper(),
                    company_id=rng.choice((None, "c1", "c2")),
                    status=rng.choice(list(DeviceStatus)),
                    last_backup_at=_moment(rng, now) if rng.random() < 0.5 else None,
                    last_backup_status=rng.choice(STATUSES),
                )
            )
        for plan_id in plan_ids:
            linked = rng.sample([*device_ids, "gone"], rng.randrange(0, len(device_ids) + 2))
            plans.append(
                Plan(
                    vendor=vendor,
                    account=account,
                    id=plan_id,
                    name=f"Plan {plan_id}",
                    company_id=rng.choice((None, "c1")),
                    device_ids=tuple(linked),
                    enabled=rng.random() < 0.9,
                    schedule=_schedule(rng),
                )
            )
        shown = [_job(rng, vendor, account, now, [*device_ids, "gone"], plan_ids) for _ in range(rng.randrange(0, 25))]
        jobs += shown
        # The store: some of the vendor's own runs again (first seen earlier), runs it forgot, untimed ones.
        for old in shown:
            if rng.random() < 0.4:
                runs.append(StoredRun(job=old, first_seen=_moment(rng, now)))
        for _ in range(rng.randrange(0, 15)):
            stored = _job(rng, vendor, account, now, [*device_ids, "gone"], plan_ids)
            runs.append(StoredRun(job=stored, first_seen=_moment(rng, now)))
            if rng.random() < 0.2:  # seen again later: the same run twice in the store's answer
                runs.append(StoredRun(job=stored, first_seen=_moment(rng, now)))
        if rng.random() < 0.85:
            observed[(vendor, account)] = tuple(sorted(_moment(rng, now) for _ in range(rng.randrange(0, 12))))
        for entity in [("device", d) for d in device_ids] + [("plan", p) for p in plan_ids]:
            if rng.random() < 0.8:
                first_seen[(vendor, account, *entity)] = _moment(rng, now, days=20)
        for _ in range(rng.randrange(0, 8)):
            slot = (vendor, account, rng.choice([*plan_ids, ""]), rng.choice([*device_ids, ""]))
            last_success[slot] = _moment(rng, now, days=30)
        keys = [(vendor, account, "device", d, "") for d in device_ids] + [
            (vendor, account, "plan", p, d) for p in plan_ids for d in [*device_ids, ""]
        ]
        for key in keys:
            if rng.random() < 0.6:
                today = now.date()
                days = sorted(rng.sample(range(-1, 12), rng.randrange(1, 8)))
                verdicts[key] = tuple(
                    (today - dt.timedelta(days=back), rng.choice(list(Health))) for back in reversed(days)
                )
    incomplete = {accounts[0]: ("list_jobs",)} if rng.random() < 0.15 else {}
    policy = HealthPolicy(
        window=dt.timedelta(days=rng.choice((1, 3, 7, 10))),
        grace=rng.choice((HOUR, 2 * HOUR)),
        max_age=rng.choice((24 * HOUR, 48 * HOUR, 200 * HOUR)),
        treat_warning_as_success=rng.random() < 0.3,
        offline_tolerance=rng.choice((dt.timedelta(0), 72 * HOUR)),
        rollup=rng.choice(list(Rollup)),
    )
    rng.shuffle(runs)
    history = RunHistory(
        runs=tuple(runs), observed=observed, last_success=last_success, first_seen=first_seen, verdicts=verdicts
    )
    return Scenario(
        devices=tuple(devices),
        plans=tuple(plans),
        jobs=tuple(rng.sample(jobs, len(jobs))),
        clocks=clocks,
        timezones=timezones,
        incomplete=incomplete,
        policy=policy,
        history=history,
    )


def _both(scenario: Scenario, history: RunHistory | None) -> tuple[Assessment, Assessment]:
    args: dict[str, Any] = dict(
        now=scenario.clocks,
        policy=scenario.policy,
        timezones=scenario.timezones,
        incomplete=scenario.incomplete,
        history=history,
    )
    new = assess(scenario.devices, scenario.plans, scenario.jobs, **args)
    old = old_assess(scenario.devices, scenario.plans, scenario.jobs, **args)
    return new, old


@pytest.mark.parametrize("block", range(8))
def test_randomized_scenarios_judge_as_the_frozen_engine(block: int) -> None:
    for seed in range(block * 60, (block + 1) * 60):
        scenario = _scenario(seed)
        for history in (scenario.history, None, RunHistory()):
            new, old = _both(scenario, history)
            assert new == old, f"seed {seed}"


def test_the_scenarios_reach_what_the_history_changes() -> None:
    """The randomized scenarios are no toys: they reach the history's figures and its placed runs."""
    seen: set[str] = set()
    for seed in range(480):
        scenario = _scenario(seed)
        new, _ = _both(scenario, scenario.history)
        judged: list[PlanHealth | DeviceHealth] = [*new.plans, *new.devices]
        for found in judged:
            if found.missed_days:
                seen.add("missed days")
            if found.consecutive_failures:
                seen.add("failure streak")
            if found.days_in_status and found.days_in_status > 1:
                seen.add("days in status")
        plain, _ = _both(scenario, None)
        if plain != new:
            seen.add("history changes a verdict")
        shown = {id(j) for j in scenario.jobs}
        if any(
            s.job.finished_at is None and s.job.started_at is None and id(s.job) not in shown
            for s in scenario.history.runs
        ):
            seen.add("untimed stored run")
    assert seen == {
        "missed days",
        "failure streak",
        "days in status",
        "history changes a verdict",
        "untimed stored run",
    }


def test_the_sandbox_accounts_judge_as_the_frozen_engine() -> None:
    """Every sandbox vendor's accounts, with a history made of their own runs shifted back a day and two."""
    bridge = Bridge.sandbox(accounts_per_vendor=2, size=12)
    snap = bridge.snapshot()
    rng = random.Random(14)
    runs = []
    for back in (1, 2):
        for job in snap.jobs:
            if rng.random() < 0.5:
                moved = attrs.evolve(
                    job,
                    started_at=job.started_at and job.started_at - back * dt.timedelta(days=1),
                    finished_at=job.finished_at and job.finished_at - back * dt.timedelta(days=1),
                    status=rng.choice(STATUSES),
                )
                runs.append(
                    StoredRun(
                        job=moved, first_seen=snap.clocks[(job.vendor, job.account)] - back * dt.timedelta(days=1)
                    )
                )
    observed = {key: (now - dt.timedelta(days=2), now - dt.timedelta(days=1)) for key, now in snap.clocks.items()}
    first_seen = {
        (d.vendor, d.account, "device", d.id): snap.clocks[(d.vendor, d.account)] - dt.timedelta(days=3)
        for d in snap.devices
    }
    first_seen.update(
        {
            (p.vendor, p.account, "plan", p.id): snap.clocks[(p.vendor, p.account)] - dt.timedelta(days=3)
            for p in snap.plans
        }
    )
    history = RunHistory(runs=tuple(runs), observed=observed, first_seen=first_seen)
    for policy in (HealthPolicy(), HealthPolicy(treat_warning_as_success=True, rollup=Rollup.LAST)):
        for given in (history, None, RunHistory()):
            args: dict[str, Any] = dict(
                now=snap.clocks, policy=policy, timezones=snap.timezones, incomplete=snap.incomplete, history=given
            )
            assert assess(snap.devices, snap.plans, snap.jobs, **args) == old_assess(
                snap.devices, snap.plans, snap.jobs, **args
            )
