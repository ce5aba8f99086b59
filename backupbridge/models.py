"""The vendor-neutral model: what every vendor's data is mapped onto.

Every record is a frozen, keyword-only attrs value with ``vendor``, ``account``, ``id`` (always ``str``)
and ``raw`` (the untouched vendor payload, excluded from equality and repr). Every normalized status keeps
the vendor's own value beside it (``vendor_status``), and every enum has ``UNKNOWN``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "BackupTarget",
    "Capability",
    "Company",
    "CompanyStatus",
    "Destination",
    "Device",
    "DeviceSpec",
    "DeviceStatus",
    "Frequency",
    "Job",
    "JobKind",
    "JobStatus",
    "Notification",
    "NotifyWhen",
    "OSFamily",
    "Plan",
    "PlanCreation",
    "PlanSpec",
    "Retention",
    "Schedule",
    "Weekday",
]


class _Enum(enum.StrEnum):
    """A string enum whose str() is its value, so CSV/JSON output stays plain."""


class CompanyStatus(_Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    UNKNOWN = "unknown"


class DeviceStatus(_Enum):
    ONLINE = "online"
    OFFLINE = "offline"
    BLOCKED = "blocked"
    ARCHIVED = "archived"
    INACTIVE = "inactive"
    UNKNOWN = "unknown"


class OSFamily(_Enum):
    WINDOWS = "windows"
    MACOS = "macos"
    LINUX = "linux"
    HYPERVISOR = "hypervisor"
    OTHER = "other"
    UNKNOWN = "unknown"


class JobStatus(_Enum):
    SUCCESS = "success"
    WARNING = "warning"
    FAILED = "failed"
    RUNNING = "running"
    QUEUED = "queued"
    MISSED = "missed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


class JobKind(_Enum):
    FULL = "full"
    INCREMENTAL = "incremental"
    DIFFERENTIAL = "differential"
    SYNTHETIC = "synthetic"
    OTHER = "other"
    UNKNOWN = "unknown"


class Frequency(_Enum):
    CONTINUOUS = "continuous"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    ONCE = "once"
    IMMEDIATE = "immediate"
    MANUAL = "manual"
    UNKNOWN = "unknown"


class Weekday(_Enum):
    MONDAY = "mon"
    TUESDAY = "tue"
    WEDNESDAY = "wed"
    THURSDAY = "thu"
    FRIDAY = "fri"
    SATURDAY = "sat"
    SUNDAY = "sun"

    @classmethod
    def workdays(cls) -> tuple[Weekday, ...]:
        return (cls.MONDAY, cls.TUESDAY, cls.WEDNESDAY, cls.THURSDAY, cls.FRIDAY)


class BackupTarget(_Enum):
    """What a plan backs up."""

    FILES = "files"
    ENTIRE_MACHINE = "entire_machine"
    VM = "vm"
    DATABASE = "database"
    APPLICATION = "application"
    OTHER = "other"
    UNKNOWN = "unknown"


class Destination(_Enum):
    CLOUD = "cloud"
    LOCAL = "local"
    HYBRID = "hybrid"
    OTHER = "other"
    UNKNOWN = "unknown"


class NotifyWhen(_Enum):
    ALWAYS = "always"
    ON_FAILURE = "on_failure"
    NEVER = "never"
    UNKNOWN = "unknown"


class Capability(_Enum):
    """What a vendor connection can do; ``conn.capabilities`` is a frozenset of these."""

    LIST_COMPANIES = "list_companies"
    GET_COMPANY = "get_company"
    CREATE_COMPANY = "create_company"
    LIST_DEVICES = "list_devices"
    GET_DEVICE = "get_device"
    CREATE_DEVICE = "create_device"
    LIST_PLANS = "list_plans"
    GET_PLAN = "get_plan"
    CREATE_PLAN = "create_plan"
    LIST_JOBS = "list_jobs"
    JOB_HISTORY = "job_history"
    """``list_jobs`` yields a history of runs, not only each device's last one."""
    SET_NOTIFICATIONS = "set_notifications"
    FIND_COMPANY = "find_company"
    """``find_company(name)``: a company by name (case and surrounding space ignored), or None."""
    CREATE_COMPANY_DRY_RUN = "create_company_dry_run"
    """``create_company(..., dry_run=True)`` asks the vendor itself (otherwise it is checked locally)."""
    UPDATE_PLAN = "update_plan"
    ENABLE_PLAN = "enable_plan"
    DISABLE_PLAN = "disable_plan"
    """``disable_plan``: the plan stops running and is kept, with its backups."""
    DELETE_PLAN = "delete_plan"


def _raw_field() -> Any:
    return attrs.field(factory=dict, eq=False, repr=False, hash=False)


def _tuple_field() -> Any:
    return attrs.field(factory=tuple, converter=tuple)


@attrs.frozen(kw_only=True)
class Notification:
    """Who is told about a plan's runs, and when."""

    emails: tuple[str, ...] = _tuple_field()
    when: NotifyWhen = NotifyWhen.ALWAYS
    cc: tuple[str, ...] = _tuple_field()
    bcc: tuple[str, ...] = _tuple_field()
    vendor_value: str | None = None


@attrs.frozen(kw_only=True)
class Schedule:
    """When a plan runs.

    ``time`` is the local time of day the run starts; ``weekdays``, ``month_days`` (1-31, -1 for the last
    day) and ``months`` (1-12) narrow it; ``cutoff`` is when a run still going is stopped; ``interval``
    is the spacing of hourly or continuous runs (or of days, for "every N days"); ``grace`` is how late a
    run may start before it counts as missed.
    """

    frequency: Frequency
    time: dt.time | None = None
    weekdays: tuple[Weekday, ...] = _tuple_field()
    month_days: tuple[int, ...] = _tuple_field()
    months: tuple[int, ...] = _tuple_field()
    cutoff: dt.time | None = None
    interval: dt.timedelta | None = None
    grace: dt.timedelta | None = None
    enabled: bool = True
    timezone: str | None = None
    """The IANA zone ``time`` is read in; ``None`` means the account's zone."""
    vendor_frequency: str | None = None


@attrs.frozen(kw_only=True)
class Retention:
    """How many backup versions a plan keeps (``keep_last``), and of local copies (``keep_last_local``)."""

    keep_last: int | None = None
    keep_last_local: int | None = None


@attrs.frozen(kw_only=True)
class Company:
    vendor: str
    account: str
    id: str
    name: str
    parent_id: str | None = None
    status: CompanyStatus = CompanyStatus.UNKNOWN
    vendor_status: str | None = None
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class Device:
    """A machine (or VM) being backed up. ``last_backup_at`` is its last *successful* backup, where the
    vendor reports one; ``last_backup_status`` the status of its last run."""

    vendor: str
    account: str
    id: str
    name: str
    company_id: str | None = None
    os: OSFamily = OSFamily.UNKNOWN
    vendor_os: str | None = None
    status: DeviceStatus = DeviceStatus.UNKNOWN
    vendor_status: str | None = None
    agent_version: str | None = None
    last_seen_at: dt.datetime | None = None
    last_backup_at: dt.datetime | None = None
    last_backup_status: JobStatus = JobStatus.UNKNOWN
    vendor_backup_status: str | None = None
    next_backup_at: dt.datetime | None = None
    tags: tuple[str, ...] = _tuple_field()
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class Plan:
    vendor: str
    account: str
    id: str
    name: str
    company_id: str | None = None
    device_ids: tuple[str, ...] = _tuple_field()
    enabled: bool = True
    what: BackupTarget = BackupTarget.UNKNOWN
    vendor_what: str | None = None
    items: tuple[str, ...] = _tuple_field()
    destination: Destination = Destination.UNKNOWN
    vendor_destination: str | None = None
    schedule: Schedule | None = None
    notification: Notification | None = None
    retention: Retention | None = None
    next_run_at: dt.datetime | None = None
    last_run_at: dt.datetime | None = None
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class Job:
    """One run of a plan on a device."""

    vendor: str
    account: str
    id: str
    device_id: str | None = None
    plan_id: str | None = None
    company_id: str | None = None
    status: JobStatus = JobStatus.UNKNOWN
    vendor_status: str | None = None
    kind: JobKind = JobKind.UNKNOWN
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    size_bytes: int | None = None
    files: int | None = None
    error: str | None = None
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class PlanSpec:
    """What to create with ``create_plan``: the neutral description of a new backup plan.

    ``options`` carries vendor-specific settings that have no neutral meaning (for IDrive 360:
    ``exclude_hidden``, ``enable_cdp``...); each vendor's docs page lists the ones it reads.
    """

    name: str
    schedule: Schedule
    company_id: str | None = None
    device_ids: tuple[str, ...] = _tuple_field()
    what: BackupTarget = BackupTarget.FILES
    items: tuple[str, ...] = _tuple_field()
    destination: Destination = Destination.CLOUD
    notification: Notification | None = None
    retention: Retention | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.frozen(kw_only=True)
class DeviceSpec:
    """What to create with ``create_device``: a device the vendor will hand an agent to.

    ``timezone`` is an IANA zone name; ``external_id`` is the caller's own id for it, where the vendor
    keeps one. ``options`` carries vendor-specific settings, listed on each vendor's page.
    """

    name: str
    company_id: str
    timezone: str = "UTC"
    external_id: str | None = None
    notification: Notification | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict, eq=False)


@attrs.frozen(kw_only=True)
class PlanCreation:
    """What ``create_plan`` did (or, with ``dry_run``, would do).

    Attributes:
        plan_id: the new plan's id (None on a dry run when the vendor assigns none).
        plan: the plan as the vendor now reports it (None on a dry run).
        applied_to: devices the plan now applies to.
        not_applied_to: devices it could not be applied to (inactive devices, for example).
        replaced: device id -> name of the plan this one replaced there.
    """

    vendor: str
    account: str
    plan_id: str | None
    dry_run: bool
    plan: Plan | None = None
    applied_to: tuple[str, ...] = _tuple_field()
    not_applied_to: tuple[str, ...] = _tuple_field()
    replaced: Mapping[str, str] = attrs.field(factory=dict)
    raw: Mapping[str, Any] = _raw_field()
