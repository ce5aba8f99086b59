"""The backup-health engine: pure functions over the neutral model, no I/O.

From each plan's schedule and the runs seen, the health of each plan (on each of its devices) and of each
device over a window::

    FAILED     the latest day's runs roll up to a failure (or a cancellation)
    MISSED     a run was expected (schedule + grace) and none arrived, or the vendor says so
    OVERDUE    no success within ``max_age``
    NEVER_RUN  a plan that should have run has no run at all
    WARNING    the latest day rolls up to a warning (unless warnings count as success); a disabled plan
    UNKNOWN    nothing to judge by, or the account is not judged this pass (``incomplete``)
    OK         none of the above

When several apply, the first in that list wins. A device's health is the worst of its plans'; a device
without plans (IDrive 360 shows only each device's last run) is judged on its runs and last success alone.

A failed listing is never read as health: for an account whose device, plan or run listing failed (the
``incomplete`` argument, ``Snapshot.incomplete``), every plan and device is UNKNOWN with a reason naming the
failed listing, and ``Assessment.incomplete`` says which accounts those are.

With the store's history (``assess(..., history=RunHistory)``, read by ``store.history.health_history``) the
engine sees what a vendor showing only each device's or plan's last run has forgotten: the runs stored by
earlier collects join the vendor's (a day with two runs rolls up over both, a success older than the
vendor's last run still counts as the last success, a plan the vendor shows no run for is not "never run"),
and each verdict carries its figures over the window: the scheduled days without any result (only days the
account's run listing answered after the run was due and before the next one: a failed listing is never
"no result"), the consecutive failed runs across stored runs and since when, and the days in the current
health. Without a history the engine is exactly as before and those figures are empty.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import enum
import hashlib
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .activity import known_success_for_plan
from .models import Device, DeviceStatus, Frequency, Job, JobStatus, Plan, Schedule, Weekday

if TYPE_CHECKING:
    from .bridge import Snapshot

__all__ = [
    "Assessment",
    "DeviceHealth",
    "Health",
    "HealthPolicy",
    "PlanHealth",
    "Rollup",
    "RunHistory",
    "StoredRun",
    "Verdict",
    "assess",
    "assess_snapshot",
    "expected_runs",
    "not_judged_reason",
    "rollup_day",
]


class Health(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    MISSED = "missed"
    OVERDUE = "overdue"
    NEVER_RUN = "never_run"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """Higher is worse (the precedence of the module docstring)."""
        return _RANK[self]


_RANK = {
    Health.OK: 0,
    Health.UNKNOWN: 1,
    Health.WARNING: 2,
    Health.NEVER_RUN: 3,
    Health.OVERDUE: 4,
    Health.MISSED: 5,
    Health.FAILED: 6,
}


class Rollup(enum.StrEnum):
    """How several runs on one day combine into that day's status."""

    WORST = "worst"
    LAST = "last"
    BEST = "best"
    WARNING_IF_MIXED = "warning-if-mixed"


@attrs.frozen(kw_only=True)
class HealthPolicy:
    """The knobs of the engine.

    Attributes:
        window: how far back runs and expected runs are considered.
        grace: how late a run may start before it counts as missed (a plan's own ``Schedule.grace`` wins).
        max_age: a plan or device without a success for longer than this is OVERDUE.
        treat_warning_as_success: a run that ended with warnings counts as a success.
        offline_tolerance: a device known to be OFFLINE (a workstation switched off) is not reported MISSED
            or OVERDUE until its last success is older than ``max_age`` plus this.
        rollup: how several runs on one day combine.
    """

    window: dt.timedelta = dt.timedelta(days=7)
    grace: dt.timedelta = dt.timedelta(hours=2)
    max_age: dt.timedelta = dt.timedelta(hours=48)
    treat_warning_as_success: bool = False
    offline_tolerance: dt.timedelta = dt.timedelta(0)
    rollup: Rollup = Rollup.WORST


@attrs.frozen(kw_only=True)
class PlanHealth:
    """One plan on one device (``device_id`` None when the plan names no device).

    The last four are figures over the window, given only when the engine had the store's history
    (``assess(..., history=...)``; otherwise ``()`` / None):

    Attributes:
        missed_days: the scheduled days (in the account's zone) on which no run arrived although the account's
            run listing answered after the run was due (and before the next scheduled run), oldest first.
        consecutive_failures: failed, cancelled or missed runs counted back from the newest until a good one
            (runs still going are passed over), across the vendor's and the stored runs.
        failing_since: when the oldest of those failed.
        days_in_status: days this health has held, today included (from the daily verdicts stored; days judged
            ``unknown`` do not break it), at most the window.
    """

    vendor: str
    account: str
    company_id: str | None
    device_id: str | None
    plan_id: str | None
    plan_name: str | None
    health: Health
    reason: str
    last_run_at: dt.datetime | None = None
    last_status: JobStatus | None = None
    last_success_at: dt.datetime | None = None
    expected_at: dt.datetime | None = None
    missed_days: tuple[dt.date, ...] = ()
    consecutive_failures: int | None = None
    failing_since: dt.datetime | None = None
    days_in_status: int | None = None


@attrs.frozen(kw_only=True)
class DeviceHealth:
    """One device: the worst of its plans, or judged on its own runs when it has none.

    The window figures (``missed_days`` ... ``days_in_status``) are as on ``PlanHealth``; a device with plans
    has its plans' missed days together and its worst plan's failure streak."""

    vendor: str
    account: str
    company_id: str | None
    device_id: str
    device_name: str
    health: Health
    reason: str
    last_success_at: dt.datetime | None
    plans: tuple[PlanHealth, ...] = ()
    missed_days: tuple[dt.date, ...] = ()
    consecutive_failures: int | None = None
    failing_since: dt.datetime | None = None
    days_in_status: int | None = None


@attrs.frozen(kw_only=True)
class Assessment:
    """Everything the engine concluded for one pass.

    Attributes:
        incomplete: ``(vendor, account)`` -> the listings that failed for it this pass. Its plans and devices
            are UNKNOWN ("not judged"); alerts neither open nor recover for it.
    """

    plans: tuple[PlanHealth, ...]
    devices: tuple[DeviceHealth, ...]
    incomplete: Mapping[tuple[str, str], tuple[str, ...]] = attrs.field(factory=dict, hash=False)

    def judged(self, vendor: str, account: str) -> bool:
        """Whether this account's verdicts were built from complete listings."""
        return (vendor, account) not in self.incomplete


def not_judged_reason(operations: Iterable[str]) -> str:
    """The reason an unjudged plan or device carries: ``not judged: list_jobs failed``."""
    return f"not judged: {', '.join(operations)} failed"


@attrs.frozen(kw_only=True)
class StoredRun:
    """A run the store remembers, and when a collect first saw it (the time of a run the vendor gave none).

    ``key`` is the store's key of the run (``store.record.job_key``): for a last run without a time it tells
    two runs apart that say the same (the same failure before and after a success; the device's last success
    is part of it). None (a history made by hand): such runs are told apart by what they say alone."""

    job: Job
    first_seen: dt.datetime
    key: str | None = None


EntityKey = tuple[str, str, str, str]
"""``(vendor, account, kind, id)`` with kind ``"device"`` or ``"plan"``."""


@attrs.frozen(kw_only=True)
class RunHistory:
    """What a store remembers of some accounts, for ``assess`` (``store.history.health_history`` reads it).

    Attributes:
        runs: stored runs of the window (and of ``max_age`` before it) of vendors that show only each
            backup's last run; the vendor's own runs of this pass may be among them (each is counted once).
        observed: ``(vendor, account)`` -> the moments its run listing answered, oldest first (a failed
            listing is not among them: no absence is ever read from it).
        last_success: ``(vendor, account, plan_id or "", device_id or "")`` -> the newest good run stored for
            that plan on that device, of any age (``""``: a run linked to no plan or no device).
        first_seen: ``(vendor, account, kind, id)`` -> when a collect first saw the device or plan (no day
            before it is judged missed).
        verdicts: ``(vendor, account, kind, id, device_id or "")`` -> ``(day, health)`` of the days before,
            oldest first (``kind`` "device" with ``device_id`` "" for a device's own verdict).
    """

    runs: tuple[StoredRun, ...] = ()
    observed: Mapping[tuple[str, str], tuple[dt.datetime, ...]] = attrs.field(factory=dict, hash=False)
    last_success: Mapping[tuple[str, str, str, str], dt.datetime] = attrs.field(factory=dict, hash=False)
    first_seen: Mapping[EntityKey, dt.datetime] = attrs.field(factory=dict, hash=False)
    verdicts: Mapping[tuple[str, str, str, str, str], tuple[tuple[dt.date, Health], ...]] = attrs.field(
        factory=dict, hash=False
    )


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


def _moment(pair: tuple[dt.datetime, Job]) -> dt.datetime:
    return pair[0]


@attrs.frozen(kw_only=True)
class Verdict:
    """What judging one plan's (or one device's) runs found: the health and why, and the facts it rests on.

    Attributes:
        health: the worst finding (``OK`` when nothing is wrong).
        reason: a sentence for people ("last run failed: Disk full"; "ok").
        last_status: the status of the latest run, if there was one.
        last_run_at: when the latest run started or finished.
        last_success_at: the latest success (a run, or the device's own last-backup time).
        expected_at: the latest scheduled run that is due (past its grace), if any.
    """

    health: Health
    reason: str
    last_status: JobStatus | None = None
    last_run_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    expected_at: dt.datetime | None = None


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
    stamped = [(when(r), r) for r in runs]  # each run's place asked once (``when`` may be the history's)
    timed = sorted([(t, r) for t, r in stamped if t is not None], key=_moment)  # stable: ties keep run order
    last = timed[-1][1] if timed else (runs[-1] if runs else None)
    success_times = [t for t, r in stamped if t is not None and r.status in successes]
    if known_success is not None:
        success_times.append(known_success)
    last_success = max(success_times, default=None)
    tolerance = policy.offline_tolerance if offline else dt.timedelta(0)
    found: list[tuple[Health, str]] = []

    finished = [(t, r) for t, r in timed if r.status in _DONE]
    untimed_done = [r for t, r in stamped if t is None and r.status in _DONE]
    if finished or untimed_done:
        if finished:
            day = finished[-1][0].astimezone(tz).date()
            same_day = [r for t, r in finished if t.astimezone(tz).date() == day]
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
        arrived = any(t is not None and t >= window_start for t, _ in stamped) or any(
            r.status in (JobStatus.RUNNING, JobStatus.QUEUED) for r in runs
        )
        if not arrived and not (
            offline and last_success is not None and now - last_success <= policy.max_age + tolerance
        ):
            found.append((Health.MISSED, f"no run since the one expected at {latest.strftime('%Y-%m-%d %H:%M')} UTC"))
    if last_success is None:
        first = timed[0][0] if timed else None
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


def _run_identity(job: Job, key: str | None = None) -> tuple[object, ...]:
    """What tells one run from another across the vendor's listing and the store: its id and start (a
    vendor showing only the last run reuses the id), or, for a run without a time, the store's key of it
    (``untimed_run_key``: what it says and the device's last success) when known, else what it says."""
    when = job.started_at or job.finished_at
    if when is not None:
        return (job.vendor, job.account, job.id, when)
    if key is not None:
        return (job.vendor, job.account, key)
    return (job.vendor, job.account, job.id, None, job.status, job.error)


def untimed_run_key(job: Job, device: Device | None) -> str:
    """The store's key of a last run without a time (IDrive 360 gives none for a failed run): what it says
    (status, the vendor's status, error) and its device's last success, so the same failure seen on two days
    is one run, and the same failure again after a success is another."""
    last_success = device.last_backup_at.astimezone(dt.UTC).isoformat() if device and device.last_backup_at else ""
    said = "\x1f".join((job.status.value, job.vendor_status or "", job.error or "", last_success))
    return f"{job.id}@{job.status.value}:{hashlib.sha256(said.encode('utf-8')).hexdigest()[:16]}"


def run_identities(
    history: RunHistory, devices: Iterable[Device]
) -> tuple[Callable[[Job], tuple[object, ...]], Callable[[StoredRun], tuple[object, ...]]]:
    """How a run of the vendor's listing and a stored run are each identified against ``history``: by the
    store's keys when its runs carry them (what the store reads), else by what the runs say."""
    if not any(stored.key is not None for stored in history.runs):
        return _run_identity, lambda stored: _run_identity(stored.job)
    by_key = {(d.vendor, d.account, d.id): d for d in devices}

    def shown(job: Job) -> tuple[object, ...]:
        if job.started_at or job.finished_at:
            return _run_identity(job)
        device = by_key.get((job.vendor, job.account, job.device_id or ""))
        return _run_identity(job, untimed_run_key(job, device))

    return shown, lambda stored: _run_identity(stored.job, stored.key)


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
    times: list[dt.datetime] | None = None
    days: set[dt.date] = set()
    for index, slot in enumerate(expected):
        if slot + grace > now or slot < since:
            continue
        if times is None:
            times = [t for r in runs if (t := when(r)) is not None]  # runs come oldest first
        following = expected[index + 1] if index + 1 < len(expected) else None
        first = bisect.bisect_left(times, slot - _EARLY)
        if first < len(times) and (following is None or times[first] < following - _EARLY):
            continue  # a run arrived for it
        look = bisect.bisect_left(observed, slot + grace)
        if look < len(observed) and (following is None or observed[look] < following):
            days.add(slot.astimezone(tz).date())
    return tuple(sorted(days)) if days else ()


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


def assess_snapshot(
    snapshot: Snapshot, *, policy: HealthPolicy | None = None, history: RunHistory | None = None
) -> Assessment:
    """``assess`` of one pass (``Bridge.snapshot()``): its records at its accounts' clocks and zones, the
    accounts a listing failed for left unjudged (never "no result"), with the store's ``history`` if any (MISSED
    and OVERDUE over the whole window, even when the vendor forgot)."""
    return assess(
        snapshot.devices,
        snapshot.plans,
        snapshot.jobs,
        now=snapshot.clocks,
        policy=policy,
        timezones=snapshot.timezones,
        incomplete=snapshot.incomplete,
        history=history,
    )


def assess(
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
        # A run's identity begins with its vendor: only the vendor's runs of the stored runs' vendors can match.
        stored_vendors = {stored.job.vendor for stored in history.runs}
        shown_identity, stored_identity = run_identities(history, device_list)
        known = {shown_identity(j) for j in job_list if j.vendor in stored_vendors}
        seen_at: dict[tuple[object, ...], dt.datetime] = {}
        joined: set[tuple[str, str, str | None, str | None]] = set()
        placed: dict[int, dt.datetime] = {}
        for stored in history.runs:
            identity = stored_identity(stored)
            if _when(stored.job) is None:
                seen_at[identity] = min(stored.first_seen, seen_at.get(identity, stored.first_seen))
            if identity in known:
                continue
            known.add(identity)
            job_list.append(stored.job)
            joined.add(_backup(stored.job))
            if _when(stored.job) is None:
                placed[id(stored.job)] = stored.first_seen
        if joined:  # only a vendor's runs of a backup stored runs joined can need a place
            joined_vendors = {backup[0] for backup in joined}
            theirs = [job for job in jobs_shown if job.vendor in joined_vendors]
            vendor_timed = {_backup(j) for j in theirs if _when(j) is not None}
            for job in theirs:
                backup = _backup(job)
                if _when(job) is None and backup in joined and backup not in vendor_timed:
                    placed[id(job)] = seen_at.get(shown_identity(job), clock(job.vendor, job.account))
        if placed:  # else every run's place is its own time: ``_when`` itself, the engine's hottest call
            placed_at = placed.get

            def when(job: Job) -> dt.datetime | None:
                return job.finished_at or job.started_at or placed_at(id(job))

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

    # Per account, once: its clock, zone and day, and the moments its run listing answered (stored, and this pass).
    accounts: dict[tuple[str, str], tuple[dt.datetime, dt.tzinfo, dt.date, list[dt.datetime]]] = {}

    def account_facts(vendor: str, account: str) -> tuple[dt.datetime, dt.tzinfo, dt.date, list[dt.datetime]]:
        facts = accounts.get((vendor, account))
        if facts is None:
            assert history is not None
            at, tz = clock(vendor, account), zone(vendor, account)
            observed = sorted((*history.observed.get((vendor, account), ()), at))
            facts = accounts[(vendor, account)] = (at, tz, at.astimezone(tz).date(), observed)
        return facts

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
        at, tz, today, observed = account_facts(key[0], key[1])
        failures, failing_since = _streak(runs, when)
        return {
            "missed_days": _missed_days(
                expected, runs, grace=grace, now=at, observed=observed, since=since, tz=tz, when=when
            ),
            "consecutive_failures": failures,
            "failing_since": failing_since,
            "days_in_status": _days_in_status(history.verdicts.get(key, ()), health, today, window_days),
        }

    seen_first = history.first_seen if history is not None else {}

    def first_seen(vendor: str, account: str, plan_id: str, device_id: str | None) -> dt.datetime | None:
        """When the store first saw the plan and its device (None: one of them never)."""
        if history is None:
            return None
        plan_seen = seen_first.get((vendor, account, "plan", plan_id)) if plan_id else None
        if not device_id:
            return plan_seen if plan_id else None
        device_seen = seen_first.get((vendor, account, "device", device_id))
        if device_seen is None or (plan_id and plan_seen is None):
            return None
        return device_seen if plan_seen is None or device_seen > plan_seen else plan_seen  # the later of the two

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
                if remembered is not None and (known_success is None or remembered > known_success):
                    known_success = remembered
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
                        since=first_seen(plan.vendor, plan.account, plan.id, device_id),
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
                    if remembered is not None and (known_success is None or remembered > known_success):
                        known_success = remembered
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
