"""vProtect's vocabulary and the checks its endpoints' arguments pass (each ``check(value, field)`` returns
the wire value or raises ``Refused``), shared by the endpoint declarations and the driver."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from backupbridge.plugin import Refused, choice, invalid_for

from .auth import VENDOR

_invalid = invalid_for(VENDOR)

PAGE_SIZE = 100
BACKUP_STATUSES = ("FAILED", "INPROGRESS", "PARTIAL_SUCCESS", "QUEUED", "SUCCESS", "SUCCESS_REMOVED")
BACKUP_TYPES = ("FULL", "INCREMENTAL", "SYNCHRONIZATION", "SYNTHETIC")
PROTECTED_ENTITY_TYPES = (
    "APP",
    "CLOUD",
    "CLOUD_GROUP",
    "CLOUD_SITE",
    "CLOUD_TEAMS",
    "CLOUD_USER",
    "OS",
    "OS_AGENT",
    "STORAGE",
    "VM",
)
TASK_TYPES = (
    "INDEX",
    "EXPORT",
    "STORE",
    "RESTORE",
    "OLD_BACKUPS_REMOVAL",
    "OLD_SNAPSHOTS_REMOVAL",
    "IMPORT",
    "MOUNT",
    "UNMOUNT",
    "DELETE",
    "SNAPSHOT",
    "SNAPSHOT_REVERSION",
)
TASK_STATES = ("QUEUED", "RUNNING", "FINISHED", "FAILED", "CANCELLED")
POLICY_KINDS = ("vm-backup", "storage-backup", "cloud-backup", "app-backup")


# -- checks -------------------------------------------------------------------------------------------------


def guid_check(value: object, field: str) -> str:
    """A guid: a non-empty string without ``/`` (surrounding space dropped)."""
    if isinstance(value, str) and value.strip() and "/" not in value:
        return value.strip()
    raise Refused(f"{field} must be a non-empty guid; got {value!r}")


def millis_check(value: object, field: str) -> int:
    """An epoch-millisecond value: an aware datetime or a non-negative integer."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise Refused(f"{field} must be timezone-aware")
        return int(value.timestamp() * 1000)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise Refused(f"{field} must be an aware datetime or epoch milliseconds")


def guid(value: object, operation: str, field: str = "guid") -> str:
    """``guid_check`` outside an endpoint (a driver's own argument): ``ValidationError`` before any request."""
    try:
        return guid_check(value, field)
    except Refused as refused:
        raise _invalid(operation, refused.field or field, refused.message) from None


def millis(value: object, operation: str, field: str) -> int | None:
    """``millis_check`` outside an endpoint; ``None`` stays ``None``."""
    if value is None:
        return None
    try:
        return millis_check(value, field)
    except Refused as refused:
        raise _invalid(operation, refused.field or field, refused.message) from None


def nonempty(value: object, field: str) -> str:
    if isinstance(value, str) and value:
        return value
    raise Refused(f"{field} must be a non-empty string")


def direction(value: object, field: str) -> str:
    """``asc`` or ``desc`` (any case), sent lower-case."""
    if isinstance(value, str) and value.lower() in ("asc", "desc"):
        return value.lower()
    raise Refused(f"{field} must be one of ASC, DESC; got {value!r}")


def choices(*allowed: str) -> Callable[[object, str], list[str]]:
    """One value or several (the parameter is repeated), each one of ``allowed`` (any case)."""
    one = choice(*allowed, upper=True)

    def check(value: object, field: str) -> list[str]:
        if isinstance(value, str):
            items: list[object] = [value]
        elif isinstance(value, Iterable) and not isinstance(value, Mapping):
            items = list(value)
        else:
            items = [value]
        return [str(one(item, field)) for item in items]

    return check


def guids(value: object, field: str) -> list[str]:
    """One guid or several (the parameter is repeated)."""
    items = [value] if isinstance(value, str) else list(value) if isinstance(value, Sequence) else [value]
    return [guid_check(item, field) for item in items]


def mapping_of(message: str, field: str | None = None, required: Sequence[str] = ()) -> Callable[[object, str], Any]:
    """A payload: a mapping (with ``required`` keys set), or ``Refused(message)``."""

    def check(value: object, name: str) -> dict[str, Any]:
        if not isinstance(value, Mapping) or not all(value.get(key) for key in required):
            raise Refused(message, field=field)
        return dict(value)

    return check


# -- request bodies -----------------------------------------------------------------------------------------


def text_value(value: object, field: str) -> str:
    if isinstance(value, str):
        return value
    raise Refused(f"{field} must be a string")


def texts(value: object, field: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable) or not all(isinstance(t, str) for t in value):
        raise Refused(f"{field} must be a list of strings")
    return list(value)


def ref(value: object, field: str) -> dict[str, str]:
    """A ``NameAndGuid`` reference as requests send it: ``{"guid": ...}``."""
    return {"guid": guid_check(value, field)}


def refs(what: str, *, nonempty_list: bool = False) -> Callable[[object, str], list[dict[str, str]]]:
    """A list of references (``nonempty_list``: at least one)."""

    def check(value: object, field: str) -> list[dict[str, str]]:
        if isinstance(value, str) or not isinstance(value, Iterable) or (nonempty_list and not value):
            raise Refused(f"give a non-empty list of {what}" if nonempty_list else f"{field} must be a list of {what}")
        return [ref(item, field) for item in value]

    return check


def guid_list(value: object, field: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable) or not value:
        raise Refused("give a non-empty list of backup guids")
    return [guid_check(item, "guid") for item in value]
