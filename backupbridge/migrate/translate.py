"""One source ``Plan`` -> the target's ``PlanSpec``, with a verdict for every field.

A verdict is ``exact`` (carried as it is), ``adjusted`` (carried, expressed differently: ``how`` says how)
or ``unsupported`` (the target cannot carry it: the plan is refused unless ``--accept-loss FIELD``).
The rules follow each target's ``create_plan`` (its vendor mapping); a target whose API cannot create
plans refuses every plan, naming why.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable

import attrs

from ..models import BackupTarget, Destination, Frequency, NotifyWhen, Plan, PlanSpec, Retention, Schedule, Weekday

__all__ = ["PLAN_FIELDS", "PLAN_TARGETS", "STRUCTURAL", "FieldVerdict", "Translation", "translate"]

PLAN_FIELDS = (
    "what",
    "items",
    "destination",
    "schedule.frequency",
    "schedule.time",
    "schedule.weekdays",
    "schedule.month_days",
    "schedule.months",
    "schedule.cutoff",
    "schedule.interval",
    "schedule.grace",
    "schedule.enabled",
    "retention.keep_last",
    "retention.keep_last_local",
    "notification",
)
"""The plan fields that get a verdict (``--accept-loss`` takes these names)."""

STRUCTURAL = frozenset({"what", "items", "destination", "schedule.frequency", "schedule.time", "schedule.month_days"})
"""Fields without which the target could not run the plan at all: ``--accept-loss`` cannot drop them."""


@attrs.frozen
class FieldVerdict:
    verdict: str
    how: str | None = None


@attrs.frozen(kw_only=True)
class Translation:
    """What becomes of one source plan: the target spec (None when refused), each field's verdict, and
    why it was refused (``None`` when it is ready)."""

    spec: PlanSpec | None
    fields: dict[str, FieldVerdict]
    refused: str | None = None


class _Fields:
    def __init__(self) -> None:
        self.verdicts: dict[str, FieldVerdict] = {}

    def exact(self, name: str) -> None:
        self.verdicts[name] = FieldVerdict("exact")

    def adjusted(self, name: str, how: str) -> None:
        self.verdicts[name] = FieldVerdict("adjusted", how)

    def unsupported(self, name: str, how: str) -> None:
        self.verdicts[name] = FieldVerdict("unsupported", how)


_ROTATE = list(Weekday)


def _shift_days(days: Iterable[Weekday], by: int) -> tuple[Weekday, ...]:
    return tuple(_ROTATE[(_ROTATE.index(d) + by) % 7] for d in days)


def _convert(at: dt.time, source: str, target: str, when: dt.datetime) -> tuple[dt.time, int]:
    """``at`` in ``source`` as the time of day in ``target`` on the day of ``when``, and the day shift."""
    src = zoneinfo.ZoneInfo(source)
    start = dt.datetime.combine(when.astimezone(src).date(), at, tzinfo=src)
    moved = start.astimezone(zoneinfo.ZoneInfo(target))
    return moved.time().replace(tzinfo=None), (moved.date() - start.date()).days


def _no_schedule(plan: Plan, fields: _Fields) -> Translation:
    fields.unsupported("schedule.frequency", "the source API does not expose this plan's schedule")
    return Translation(spec=None, fields=fields.verdicts, refused="schedule: the source does not report it")


def _common(plan: Plan, f: _Fields, whats: Iterable[BackupTarget], where: Iterable[Destination]) -> None:
    if plan.what in whats:
        f.exact("what")
    else:
        f.unsupported("what", f"the target backs up {', '.join(w.value for w in whats)}, not {plan.what.value}")
    if plan.destination in where:
        f.exact("destination")
    elif plan.destination is Destination.UNKNOWN:
        f.adjusted("destination", "unknown at the source: cloud")
    else:
        f.unsupported("destination", f"the target has no {plan.destination.value} destination")


def _schedule_out(sched: Schedule, **changes: object) -> Schedule:
    return attrs.evolve(sched, vendor_frequency=None, **changes)  # type: ignore[arg-type]


def _to_idrive360(plan: Plan, source_tz: str, target_tz: str, when: dt.datetime) -> Translation:
    """IDrive 360: zone-less times read in the account's zone; no retention, no grace, no intervals."""
    f = _Fields()
    sched = plan.schedule
    if sched is None:
        return _no_schedule(plan, f)
    _common(plan, f, (BackupTarget.FILES, BackupTarget.ENTIRE_MACHINE), (Destination.CLOUD, Destination.LOCAL))
    destination = plan.destination if plan.destination is not Destination.UNKNOWN else Destination.CLOUD
    if plan.destination is Destination.HYBRID:
        destination = Destination.CLOUD
        f.adjusted("destination", "cloud and local -> cloud (the local copies: see retention.keep_last_local)")
    if plan.what is BackupTarget.FILES and not plan.items:
        f.unsupported("items", "an IDrive 360 file plan needs the folders to back up; the source names none")
    else:
        f.exact("items")
    freq = sched.frequency
    weekdays = sched.weekdays
    new_freq = freq
    if freq is Frequency.DAILY and weekdays and set(weekdays) not in (set(Weekday), set(Weekday.workdays())):
        new_freq = Frequency.WEEKLY
        f.adjusted("schedule.frequency", "daily on some days -> weekly on those days")
    elif freq in (Frequency.DAILY, Frequency.WEEKLY, Frequency.MONTHLY, Frequency.HOURLY, Frequency.IMMEDIATE):
        f.exact("schedule.frequency")
    else:
        f.unsupported("schedule.frequency", f"IDrive 360 has no {freq.value} schedule")
    zone = sched.timezone or source_tz
    time, cutoff, shift = sched.time, sched.cutoff, 0
    if time is None:
        if freq is Frequency.HOURLY:
            time = dt.time(0, 0)
            f.adjusted("schedule.time", "hourly from 00:00 (IDrive 360 needs a start time)")
        else:
            f.unsupported("schedule.time", "the source plan has no time of day")
    elif zone == target_tz:
        f.exact("schedule.time")
    else:
        time, shift = _convert(time, zone, target_tz, when)
        assert sched.time is not None
        moved = f" (a day {'later' if shift > 0 else 'earlier'})" if shift else ""
        f.adjusted(
            "schedule.time",
            f"{sched.time:%H:%M} {zone} -> {time:%H:%M} {target_tz}{moved}, the account's zone"
            f" (offsets of {when:%Y-%m-%d})",
        )
    if cutoff is not None and zone != target_tz:
        cutoff, _ = _convert(cutoff, zone, target_tz, when)
        f.adjusted("schedule.cutoff", f"converted to {target_tz} like the start time")
    else:
        f.exact("schedule.cutoff")
    if shift and weekdays and set(weekdays) != set(Weekday):
        weekdays = _shift_days(weekdays, shift)
        f.adjusted(
            "schedule.weekdays", "moved with the start time across midnight, so the runs stay at the same moments"
        )
    else:
        f.exact("schedule.weekdays")
    if shift and sched.month_days:
        f.unsupported("schedule.month_days", "the start time crosses midnight in the target's zone")
    else:
        f.exact("schedule.month_days")
    f.exact("schedule.months")
    interval = sched.interval
    if interval is None or (freq is Frequency.HOURLY and interval == dt.timedelta(hours=1)):
        f.exact("schedule.interval")
    else:
        f.unsupported("schedule.interval", f"IDrive 360 schedules have no interval (source: every {interval})")
    if sched.grace is None:
        f.exact("schedule.grace")
    else:
        f.unsupported("schedule.grace", "IDrive 360 has no 'late after' (missed) window")
    f.exact("schedule.enabled")
    retention = plan.retention or Retention()
    for name, value in (("keep_last", retention.keep_last), ("keep_last_local", retention.keep_last_local)):
        if value is None:
            f.exact(f"retention.{name}")
        else:
            f.unsupported(f"retention.{name}", f"IDrive 360 plans take no retention (source keeps {value})")
    notification = plan.notification
    if notification is not None and notification.when is NotifyWhen.UNKNOWN:
        f.unsupported("notification", f"unknown notification setting {notification.vendor_value!r}")
        notification = None
    else:
        f.exact("notification")
    spec = PlanSpec(
        name=plan.name,
        schedule=_schedule_out(
            sched,
            frequency=new_freq,
            time=time,
            cutoff=cutoff,
            weekdays=weekdays,
            interval=None,
            grace=None,
            timezone=target_tz,
        ),
        what=plan.what if plan.what is not BackupTarget.UNKNOWN else BackupTarget.FILES,
        items=plan.items,
        destination=destination,
        notification=notification,
        retention=None,
    )
    return Translation(spec=spec, fields=f.verdicts)


def _to_cleverfox(plan: Plan, source_tz: str, target_tz: str, when: dt.datetime) -> Translation:
    """CleverFox: one job per device, its times in the device's zone (the device is created in the source's
    zone, so times carry over exactly); notifications belong to the device."""
    f = _Fields()
    sched = plan.schedule
    if sched is None:
        return _no_schedule(plan, f)
    _common(plan, f, (BackupTarget.FILES,), (Destination.CLOUD, Destination.LOCAL, Destination.HYBRID))
    if not plan.items:
        f.unsupported("items", "a CleverFox job needs the folders to back up; the source names none")
    else:
        f.exact("items")
    freq, weekdays = sched.frequency, sched.weekdays
    new_freq = freq
    if freq is Frequency.DAILY and weekdays and set(weekdays) != set(Weekday):
        new_freq = Frequency.WEEKLY
        f.adjusted("schedule.frequency", "daily on some days -> weekly on those days")
    elif freq in (Frequency.HOURLY, Frequency.DAILY, Frequency.WEEKLY, Frequency.MONTHLY, Frequency.ONCE):
        f.exact("schedule.frequency")
    else:
        f.unsupported("schedule.frequency", f"CleverFox has no {freq.value} schedule")
    if freq is Frequency.DAILY and set(weekdays) == set(Weekday):
        weekdays = ()
    f.exact("schedule.time")
    f.exact("schedule.weekdays")
    if freq is Frequency.MONTHLY and len(sched.month_days) != 1:
        f.unsupported("schedule.month_days", "CleverFox monthly jobs run on exactly one day of the month")
    elif -1 in sched.month_days:
        f.unsupported("schedule.month_days", "CleverFox has no 'last day of the month'")
    else:
        f.exact("schedule.month_days")
    if sched.months and set(sched.months) != set(range(1, 13)):
        f.unsupported("schedule.months", "CleverFox jobs run in every month")
    else:
        f.exact("schedule.months")
    if sched.cutoff is None:
        f.exact("schedule.cutoff")
    else:
        f.unsupported("schedule.cutoff", "CleverFox jobs have no cut-off time")
    interval = sched.interval
    unit = {
        Frequency.HOURLY: dt.timedelta(hours=1),
        Frequency.DAILY: dt.timedelta(days=1),
        Frequency.WEEKLY: dt.timedelta(weeks=1),
    }.get(freq)
    if interval is None or (unit is not None and not interval % unit and new_freq is freq):
        f.exact("schedule.interval")
    else:
        f.unsupported("schedule.interval", f"CleverFox cannot express every {interval} here")
    f.exact("schedule.grace")
    f.exact("schedule.enabled")
    retention = plan.retention or Retention()
    keep, keep_local = retention.keep_last, retention.keep_last_local
    destination = plan.destination if plan.destination is not Destination.UNKNOWN else Destination.CLOUD
    if keep is None:
        keep = 30 if destination in (Destination.CLOUD, Destination.HYBRID) else 0
        f.adjusted("retention.keep_last", f"none at the source: CleverFox needs one, {keep} cloud versions")
    else:
        f.exact("retention.keep_last")
    if keep_local is None:
        keep_local = 1 if destination in (Destination.LOCAL, Destination.HYBRID) else 0
        f.adjusted("retention.keep_last_local", f"none at the source: {keep_local} local versions")
    else:
        f.exact("retention.keep_last_local")
    if plan.notification is None:
        f.exact("notification")
    else:
        f.adjusted("notification", "set on the device (CleverFox notifications belong to the device)")
    spec = PlanSpec(
        name=plan.name,
        schedule=_schedule_out(
            sched, frequency=new_freq, weekdays=weekdays, timezone=sched.timezone or source_tz, cutoff=None
        ),
        what=BackupTarget.FILES,
        items=plan.items,
        destination=destination,
        notification=None,
        retention=Retention(keep_last=keep, keep_last_local=keep_local),
    )
    return Translation(spec=spec, fields=f.verdicts)


def _to_vprotect(plan: Plan, source_tz: str, target_tz: str, when: dt.datetime) -> Translation:
    """vProtect: vm-backup policies (schedule, policy, rule); times kept as a UTC hour; no retention on the
    policy (it belongs to the backup destination)."""
    f = _Fields()
    sched = plan.schedule
    if sched is None:
        return _no_schedule(plan, f)
    if plan.what is BackupTarget.VM:
        f.exact("what")
    else:
        f.unsupported("what", f"vProtect policies made here back up virtual machines, not {plan.what.value}")
    if plan.items:
        f.unsupported("items", "a vm-backup policy backs up whole machines, not folders")
    else:
        f.exact("items")
    f.adjusted("destination", "the policy's backup destination is chosen on the vProtect server")
    freq, weekdays = sched.frequency, sched.weekdays
    new_freq = freq
    if freq is Frequency.DAILY and weekdays and set(weekdays) != set(Weekday):
        new_freq = Frequency.WEEKLY
        f.adjusted("schedule.frequency", "daily on some days -> weekly on those days")
    elif freq in (Frequency.DAILY, Frequency.WEEKLY, Frequency.HOURLY):
        f.exact("schedule.frequency")
    else:
        f.unsupported("schedule.frequency", f"no {freq.value} vProtect schedule is built")
    zone = sched.timezone or source_tz
    if sched.time is None and freq is not Frequency.HOURLY:
        f.unsupported("schedule.time", "the source plan has no time of day")
    elif sched.time is not None and zone not in ("UTC", "Etc/UTC"):
        at, shift = _convert(sched.time, zone, "UTC", when)
        f.adjusted("schedule.time", f"kept as {at:%H:%M} UTC, vProtect's schedule hour (offsets of {when:%Y-%m-%d})")
        if shift and weekdays:
            f.adjusted("schedule.weekdays", "moved with the start time across midnight in UTC")
    else:
        f.exact("schedule.time")
    f.verdicts.setdefault("schedule.weekdays", FieldVerdict("exact"))
    for name, present, why in (
        ("schedule.month_days", bool(sched.month_days), "days of the month"),
        ("schedule.months", bool(sched.months), "months"),
        ("schedule.cutoff", sched.cutoff is not None, "a cut-off time"),
    ):
        if present:
            f.unsupported(name, f"vProtect schedules made here have no {why}")
        else:
            f.exact(name)
    if sched.interval is None or freq is Frequency.HOURLY:
        f.exact("schedule.interval")
    else:
        f.unsupported("schedule.interval", "only hourly vProtect schedules take an interval")
    f.exact("schedule.grace")
    f.exact("schedule.enabled")
    retention = plan.retention or Retention()
    for name, value in (("keep_last", retention.keep_last), ("keep_last_local", retention.keep_last_local)):
        if value is None:
            f.exact(f"retention.{name}")
        else:
            f.unsupported(f"retention.{name}", "vProtect keeps retention on the backup destination, not the policy")
    if plan.notification is None:
        f.exact("notification")
    else:
        f.unsupported("notification", "vProtect notifications are configured on the server")
    spec = PlanSpec(
        name=plan.name,
        what=BackupTarget.VM,
        schedule=_schedule_out(
            sched,
            frequency=new_freq,
            weekdays=() if new_freq is Frequency.DAILY else weekdays,
            timezone=zone,
            interval=sched.interval if freq is Frequency.HOURLY else None,
            cutoff=None,
            month_days=(),
            months=(),
        ),
    )
    return Translation(spec=spec, fields=f.verdicts)


Translator = Callable[[Plan, str, str, dt.datetime], Translation]
PLAN_TARGETS: dict[str, Translator] = {
    "idrive360": _to_idrive360,
    "cleverfox": _to_cleverfox,
    "vprotect": _to_vprotect,
}
"""Targets whose API can create plans, and how a plan is carried to each."""


def translate(
    plan: Plan,
    *,
    target_vendor: str,
    source_tz: str,
    target_tz: str,
    when: dt.datetime,
    accept_loss: Iterable[str] = (),
) -> Translation:
    """Translate one source plan for ``target_vendor``.

    Args:
        source_tz: the zone the source's zone-less times are read in (its account's).
        target_tz: the target account's zone.
        when: the reference day for zone offsets (DST differs across the year).
        accept_loss: fields whose ``unsupported`` verdict does not refuse the plan.
    """
    translator = PLAN_TARGETS.get(target_vendor)
    if translator is None:
        return Translation(
            spec=None,
            fields={},
            refused=f"{target_vendor}: its API cannot create backup plans (see its capability table)",
        )
    result = translator(plan, source_tz, target_tz, when)
    if result.refused is not None:
        return result
    accepted = set(accept_loss) - STRUCTURAL
    lost = [name for name, v in result.fields.items() if v.verdict == "unsupported" and name not in accepted]
    if any(name in STRUCTURAL for name in lost):
        reasons = "; ".join(f"{name}: {result.fields[name].how}" for name in lost if name in STRUCTURAL)
        return attrs.evolve(result, spec=None, refused=f"{reasons} (the target cannot run this plan)")
    if lost:
        reasons = "; ".join(f"{name}: {result.fields[name].how}" for name in lost)
        return attrs.evolve(result, spec=None, refused=f"{reasons} (--accept-loss {' --accept-loss '.join(lost)})")
    return result
