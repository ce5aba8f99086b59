"""The migration plan file: a versioned JSON document a person reviews, then ``migrate apply`` reads.

Every value read back is checked, and a file edited into nonsense is a ``PlanFileError`` naming the field
(``plans[3].spec.schedule.time``), raised before any request.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..errors import BackupBridgeError
from ..models import (
    BackupTarget,
    Destination,
    Frequency,
    Notification,
    NotifyWhen,
    PlanSpec,
    Retention,
    Schedule,
    Weekday,
)

__all__ = [
    "FORMAT",
    "VERSION",
    "MigrationError",
    "PlanFileError",
    "check_plan_file",
    "read_plan_file",
    "spec_from_json",
    "spec_to_json",
    "write_plan_file",
]

FORMAT = "backupbridge-migration"
VERSION = 1
VERDICTS = ("exact", "adjusted", "unsupported")
T = TypeVar("T")


class MigrationError(BackupBridgeError):
    """A migration stage could not go on. ``step`` names the journal step (or the file field) it stopped at."""

    def __init__(self, message: str, *, step: str | None = None, vendor: str | None = None) -> None:
        super().__init__(message, vendor=vendor)
        self.step = step


class PlanFileError(MigrationError):
    """The plan file is not one this code wrote (or was edited into something it cannot read)."""


# -- neutral spec <-> JSON ------------------------------------------------------------------------


def _time(value: dt.time | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat()


def _seconds(value: dt.timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    return {
        "frequency": schedule.frequency.value,
        "time": _time(schedule.time),
        "weekdays": [d.value for d in schedule.weekdays],
        "month_days": list(schedule.month_days),
        "months": list(schedule.months),
        "cutoff": _time(schedule.cutoff),
        "interval_seconds": _seconds(schedule.interval),
        "grace_seconds": _seconds(schedule.grace),
        "enabled": schedule.enabled,
        "timezone": schedule.timezone,
    }


def spec_to_json(spec: PlanSpec) -> dict[str, Any]:
    """A ``PlanSpec`` as plain JSON (what the plan file stores)."""
    out: dict[str, Any] = {
        "name": spec.name,
        "company_id": spec.company_id,
        "device_ids": list(spec.device_ids),
        "what": spec.what.value,
        "items": list(spec.items),
        "destination": spec.destination.value,
        "schedule": schedule_to_json(spec.schedule),
        "notification": None,
        "retention": None,
        "options": dict(spec.options),
    }
    if spec.notification is not None:
        out["notification"] = {"emails": list(spec.notification.emails), "when": spec.notification.when.value}
    if spec.retention is not None:
        out["retention"] = {"keep_last": spec.retention.keep_last, "keep_last_local": spec.retention.keep_last_local}
    return out


class _Reader:
    """Reads one JSON value at ``path``; every mismatch is a ``PlanFileError`` naming the path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> PlanFileError:
        return PlanFileError(f"{self.source}: {path}: {message}", step=path)

    def obj(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, got {_kind(value)}")
        return value

    def field(self, obj: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in obj:
            raise self.fail(f"{path}.{key}" if path else key, "is missing")
        return obj[key]

    def text(self, value: Any, path: str, *, optional: bool = False) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, str) or (not optional and not value.strip()):
            raise self.fail(path, f"expected a non-empty string, got {_kind(value)}")
        return value

    def integer(self, value: Any, path: str, *, optional: bool = False, low: int | None = None) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
            raise self.fail(path, f"expected a whole number{f' >= {low}' if low is not None else ''}, got {value!r}")
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {_kind(value)}")
        return value

    def array(self, value: Any, path: str) -> Sequence[Any]:
        if not isinstance(value, list):
            raise self.fail(path, f"expected an array, got {_kind(value)}")
        return value

    def enum(self, value: Any, path: str, kind: Callable[[str], T], choices: Sequence[str]) -> T:
        if value not in choices:
            raise self.fail(path, f"expected one of {', '.join(choices)}, got {value!r}")
        return kind(value)

    def time(self, value: Any, path: str) -> dt.time | None:
        if value is None:
            return None
        try:
            return dt.time.fromisoformat(self.text(value, path))
        except ValueError:
            raise self.fail(path, f"expected a time of day HH:MM[:SS], got {value!r}") from None

    def seconds(self, value: Any, path: str) -> dt.timedelta | None:
        number = self.integer(value, path, optional=True, low=1)
        return None if number is None else dt.timedelta(seconds=number)


def _kind(value: Any) -> str:
    text = json.dumps(value)[:40] if not isinstance(value, str) else repr(value[:40])
    return f"{type(value).__name__} {text}"


def _values(kind: Any) -> list[str]:
    return [member.value for member in kind]


def schedule_from_json(r: _Reader, value: Any, path: str) -> Schedule:
    o = r.obj(value, path)
    weekdays = tuple(
        r.enum(d, f"{path}.weekdays[{i}]", Weekday, _values(Weekday))
        for i, d in enumerate(r.array(r.field(o, "weekdays", path), f"{path}.weekdays"))
    )
    month_days = tuple(
        r.integer(d, f"{path}.month_days[{i}]", low=-1)
        for i, d in enumerate(r.array(r.field(o, "month_days", path), f"{path}.month_days"))
    )
    if any(d == 0 or d > 31 for d in month_days):
        raise r.fail(f"{path}.month_days", f"days must be 1-31 or -1 (the last day), got {list(month_days)}")
    months = tuple(
        r.integer(m, f"{path}.months[{i}]", low=1)
        for i, m in enumerate(r.array(r.field(o, "months", path), f"{path}.months"))
    )
    if any(m > 12 for m in months):
        raise r.fail(f"{path}.months", f"months must be 1-12, got {list(months)}")
    zone = r.text(r.field(o, "timezone", path), f"{path}.timezone", optional=True)
    if zone is not None:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise r.fail(f"{path}.timezone", f"unknown time zone {zone!r}") from None
    return Schedule(
        frequency=r.enum(r.field(o, "frequency", path), f"{path}.frequency", Frequency, _values(Frequency)),
        time=r.time(r.field(o, "time", path), f"{path}.time"),
        weekdays=weekdays,
        month_days=month_days,
        months=months,
        cutoff=r.time(r.field(o, "cutoff", path), f"{path}.cutoff"),
        interval=r.seconds(r.field(o, "interval_seconds", path), f"{path}.interval_seconds"),
        grace=r.seconds(o.get("grace_seconds"), f"{path}.grace_seconds"),
        enabled=r.boolean(r.field(o, "enabled", path), f"{path}.enabled"),
        timezone=zone,
    )


def spec_from_json(value: Any, path: str = "spec", source: str = "plan file") -> PlanSpec:
    """A ``PlanSpec`` back from ``spec_to_json``'s JSON, checked field by field."""
    r = _Reader(source)
    o = r.obj(value, path)
    notification = None
    raw_notification = r.field(o, "notification", path)
    if raw_notification is not None:
        n = r.obj(raw_notification, f"{path}.notification")
        emails = r.array(r.field(n, "emails", f"{path}.notification"), f"{path}.notification.emails")
        notification = Notification(
            emails=tuple(r.text(e, f"{path}.notification.emails[{i}]") for i, e in enumerate(emails)),
            when=r.enum(
                r.field(n, "when", f"{path}.notification"), f"{path}.notification.when", NotifyWhen, _values(NotifyWhen)
            ),
        )
    retention = None
    raw_retention = r.field(o, "retention", path)
    if raw_retention is not None:
        k = r.obj(raw_retention, f"{path}.retention")
        retention = Retention(
            keep_last=r.integer(k.get("keep_last"), f"{path}.retention.keep_last", optional=True, low=0),
            keep_last_local=r.integer(
                k.get("keep_last_local"), f"{path}.retention.keep_last_local", optional=True, low=0
            ),
        )
    items = r.array(r.field(o, "items", path), f"{path}.items")
    devices = r.array(r.field(o, "device_ids", path), f"{path}.device_ids")
    return PlanSpec(
        name=r.text(r.field(o, "name", path), f"{path}.name"),
        company_id=r.text(r.field(o, "company_id", path), f"{path}.company_id", optional=True),
        device_ids=tuple(r.text(d, f"{path}.device_ids[{i}]") for i, d in enumerate(devices)),
        what=r.enum(r.field(o, "what", path), f"{path}.what", BackupTarget, _values(BackupTarget)),
        items=tuple(r.text(x, f"{path}.items[{i}]") for i, x in enumerate(items)),
        destination=r.enum(r.field(o, "destination", path), f"{path}.destination", Destination, _values(Destination)),
        schedule=schedule_from_json(r, r.field(o, "schedule", path), f"{path}.schedule"),
        notification=notification,
        retention=retention,
        options=dict(r.obj(o.get("options", {}), f"{path}.options")),
    )


# -- the whole file -------------------------------------------------------------------------------


def check_plan_file(data: Any, source: str = "plan file") -> dict[str, Any]:
    """Check a parsed plan file: its format, version and every field ``apply`` reads.

    Raises:
        PlanFileError: naming the first field that is wrong.
    """
    r = _Reader(source)
    o = r.obj(data, "(top level)")
    if o.get("format") != FORMAT:
        raise r.fail("format", f"expected {FORMAT!r}: this is not a backupbridge migration plan")
    version = o.get("version")
    if version != VERSION:
        raise r.fail("version", f"this backupbridge reads version {VERSION}, the file is version {version!r}")
    r.text(r.field(o, "migration_id", ""), "migration_id")
    for side in ("source", "target"):
        s = r.obj(r.field(o, side, ""), side)
        r.text(r.field(s, "vendor", side), f"{side}.vendor")
        r.text(r.field(s, "account", side), f"{side}.account")
        r.boolean(r.field(s, "sandbox", side), f"{side}.sandbox")
    target = o["target"]
    r.text(r.field(target, "timezone", "target"), "target.timezone")
    accepted = r.array(r.field(o, "accepted_losses", ""), "accepted_losses")
    for i, name in enumerate(accepted):
        r.text(name, f"accepted_losses[{i}]")
    company_ids: set[str] = set()
    for i, company in enumerate(r.array(r.field(o, "companies", ""), "companies")):
        path = f"companies[{i}]"
        c = r.obj(company, path)
        sid = r.text(r.field(c, "source_id", path), f"{path}.source_id")
        if sid in company_ids:
            raise r.fail(f"{path}.source_id", f"company {sid!r} appears twice")
        company_ids.add(sid)
        r.text(r.field(c, "source_name", path), f"{path}.source_name")
        r.text(r.field(c, "target_name", path), f"{path}.target_name")
        action = r.enum(r.field(c, "action", path), f"{path}.action", str, ["match", "create"])
        tid = r.text(r.field(c, "target_id", path), f"{path}.target_id", optional=True)
        if action == "match" and tid is None:
            raise r.fail(f"{path}.target_id", "a matched company needs the target company's id")
        if action == "create" and tid is not None:
            raise r.fail(f"{path}.target_id", "a company to create has no target id yet (set action to match)")
        for j, device in enumerate(r.array(r.field(c, "devices", path), f"{path}.devices")):
            dpath = f"{path}.devices[{j}]"
            d = r.obj(device, dpath)
            r.text(r.field(d, "source_id", dpath), f"{dpath}.source_id")
            r.text(r.field(d, "hostname", dpath), f"{dpath}.hostname")
            r.text(r.field(d, "os", dpath), f"{dpath}.os")
            r.text(r.field(d, "timezone", dpath), f"{dpath}.timezone")
    plan_ids: set[str] = set()
    for i, plan in enumerate(r.array(r.field(o, "plans", ""), "plans")):
        path = f"plans[{i}]"
        p = r.obj(plan, path)
        pid = r.text(r.field(p, "source_id", path), f"{path}.source_id")
        if pid in plan_ids:
            raise r.fail(f"{path}.source_id", f"plan {pid!r} appears twice")
        plan_ids.add(pid)
        r.text(r.field(p, "source_name", path), f"{path}.source_name")
        company = r.text(r.field(p, "source_company_id", path), f"{path}.source_company_id")
        if company not in company_ids:
            raise r.fail(f"{path}.source_company_id", f"names no company of this file ({company!r})")
        r.enum(r.field(p, "status", path), f"{path}.status", str, ["ready", "refused"])
        for j, device in enumerate(r.array(r.field(p, "source_device_ids", path), f"{path}.source_device_ids")):
            r.text(device, f"{path}.source_device_ids[{j}]")
        for j, merged in enumerate(r.array(p.get("merged_source_ids", []), f"{path}.merged_source_ids")):
            r.text(merged, f"{path}.merged_source_ids[{j}]")
        fields = r.obj(r.field(p, "fields", path), f"{path}.fields")
        for name, verdict in fields.items():
            v = r.obj(verdict, f"{path}.fields.{name}")
            r.enum(r.field(v, "verdict", f"{path}.fields.{name}"), f"{path}.fields.{name}.verdict", str, VERDICTS)
            r.text(v.get("how"), f"{path}.fields.{name}.how", optional=True)
        if p["status"] == "ready":
            spec_from_json(r.field(p, "spec", path), f"{path}.spec", source)
    return dict(o)


def write_plan_file(path: Path, data: Mapping[str, Any]) -> None:
    """Write the plan (checked first, so a file this code cannot read again is never written)."""
    check_plan_file(json.loads(json.dumps(data)), str(path))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_plan_file(path: Path) -> dict[str, Any]:
    """Read and check a plan file.

    Raises:
        PlanFileError: the file is missing, not JSON, or a field is wrong (named in the message).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanFileError(f"cannot read the plan file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PlanFileError(f"{path}: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return check_plan_file(data, str(path))
