"""IDrive 360 wire records: the vendor's JSON, typed, every unknown key kept in ``extra``.

Fields marked ``used()`` (or without a default) are the ones the mapping or the driver reads: decoded
strictly. Every other field is lenient: a value in an unexpected shape leaves it at its default, the value
still in ``raw``, and never fails the record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from backupbridge.plugin import CHECK, USED, b64decode_loose, extra_field, make_converter, used

__all__ = [
    "BackupDetails",
    "BackupPlanRecord",
    "CompanyRecord",
    "ConfigIdRecord",
    "ConfigurationId",
    "CreatePlanResult",
    "DeviceRecord",
    "NotificationUpdateResult",
    "PlanConflict",
    "ScheduleInfo",
    "UserBackupSet",
    "converter",
    "id_list",
]

converter = make_converter(lenient_unused=True)


def _company_number(value: object) -> None:
    """Company ids are numbers in the API's parameters: a company whose id is not one cannot be asked about."""
    if isinstance(value, str) and not value.strip().isdigit():
        raise ValueError(f"a company id must be a number, got {value!r:.30}")


def id_list(value: object) -> tuple[str, ...]:
    """Device ids as the API sends them: a comma-separated string, a list, or nothing."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return (str(value),)


@attrs.frozen(kw_only=True)
class ConfigurationId:
    """A company's ``configuration_id``, in either of its two public forms.

    The older API answered a short code (``"ATVAWQ17242"``); the newer one answers base64-encoded JSON
    ``{"token": ..., "encryptionRequired": ..., "desktopAppStatus": ...}`` next to a ``setup_link``.
    ``token`` is the short code in both cases.
    """

    raw: str
    token: str
    encoded: bool
    encryption_required: bool | None = None
    desktop_app_status: bool | None = None
    payload: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @classmethod
    def parse(cls, raw: str) -> ConfigurationId:
        try:
            decoded = json.loads(b64decode_loose(raw))
        except ValueError:  # binascii.Error and JSONDecodeError are both ValueErrors
            decoded = None
        if isinstance(decoded, dict) and isinstance(decoded.get("token"), str):
            enc = decoded.get("encryptionRequired")
            desk = decoded.get("desktopAppStatus")
            return cls(
                raw=raw,
                token=decoded["token"],
                encoded=True,
                encryption_required=enc if isinstance(enc, bool) else None,
                desktop_app_status=desk if isinstance(desk, bool) else None,
                payload=decoded,
            )
        return cls(raw=raw, token=raw, encoded=False)


@attrs.frozen(kw_only=True)
class CompanyRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("company_id",),)

    name: str
    company_id: str = attrs.field(metadata={USED: True, CHECK: _company_number})
    status: int | None = used()
    status_description: str | None = used()
    configuration_id: str | None = None
    setup_link: str | None = None
    sub_company_list: tuple[CompanyRecord, ...] = used(default=())
    extra: dict[str, Any] = extra_field()

    @property
    def configuration(self) -> ConfigurationId | None:
        return ConfigurationId.parse(self.configuration_id) if self.configuration_id else None


@attrs.frozen(kw_only=True)
class ConfigIdRecord:
    """The answer of ``GET /company/fetch_config_id``."""

    company_id: str
    configuration_id: str
    name: str | None = None
    setup_link: str | None = None
    extra: dict[str, Any] = extra_field()

    @property
    def configuration(self) -> ConfigurationId:
        return ConfigurationId.parse(self.configuration_id)


@attrs.frozen(kw_only=True)
class UserBackupSet:
    backup_id: str | None = used()
    backup_name: str | None = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class DeviceRecord:
    """A device, as ``GET /device/summary`` lists it (and as ``GET /backup_plan`` embeds it)."""

    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("device_id",),)

    device_id: str
    name: str | None = used()
    status: str | None = used()
    company_id: str | None = used()
    custom_tag: str | None = used()
    os: str | None = used()
    backup_status: str | None = used()
    version: str | None = used()
    last_backup: dt.datetime | None = used()
    next_backup: dt.datetime | None = used()
    group_name: str | None = None
    backup_failure_reason: str | None = used()
    next_scheduled_backupset_name: str | None = used()
    user_backup_sets: dict[str, UserBackupSet] | None = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class NotificationUpdateResult:
    ok: bool
    message: str | None = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class PlanConflict:
    """A device whose existing plan (``plan_name``) the new plan replaced."""

    device_id: str
    plan_name: str | None = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class CreatePlanResult:
    """The answer of ``POST /backup_plan``."""

    backup_id: str | None = used()
    conflicts: tuple[PlanConflict, ...] = used(default=())
    where_to_backup: str | None = None
    applied_to: Any = used()
    not_applied_to: Any = used()
    status: int | None = None
    extra: dict[str, Any] = extra_field()

    @property
    def applied_device_ids(self) -> tuple[str, ...]:
        return id_list(self.applied_to)

    @property
    def not_applied_device_ids(self) -> tuple[str, ...]:
        return id_list(self.not_applied_to)


@attrs.frozen(kw_only=True)
class BackupDetails:
    what_to_backup: str | None = used()
    where_to_backup: str | None = used()
    items_to_backup: tuple[str, ...] | None = used()
    local_dest_path: str | None = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ScheduleInfo:
    """A plan's schedule as ``GET /backup_plan`` returns it (``schedule_info``)."""

    frequency_type: str | None = used()
    time: str | None = used()
    days: tuple[str, ...] | None = used()
    months: tuple[str, ...] | None = used()
    dates: tuple[str, ...] | None = used()
    daily_mode: str | None = used()
    cutoff_time: str | None = used()
    email: Any = used()
    send_email_notification: str | None = used()
    start_missed_backup: bool | None = None
    scheduler_disabled: bool | None = used()
    disable_schedule: bool | None = used()
    extra: dict[str, Any] = extra_field()

    @property
    def emails(self) -> tuple[str, ...]:
        """``email`` arrives as one address, a comma-separated string, or a list."""
        return id_list(self.email)

    @property
    def disabled(self) -> bool:
        return bool(self.scheduler_disabled or self.disable_schedule)


@attrs.frozen(kw_only=True)
class BackupPlanRecord:
    """A backup plan, as ``GET /backup_plan`` returns it."""

    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("backup_id",),)

    backup_id: str
    name: str | None = used()
    backup_set: str | None = None
    is_backup_enabled: bool | None = used()
    backup_applied_on: Any = used()
    backup_pending_on: Any = used()
    backup_failed_on: Any = used()
    exclude_system: bool | None = None
    exclude_hidden: bool | None = None
    exclude_partial: str | None = None
    backup_details: BackupDetails | None = used()
    cdp_enabled: bool | None = None
    cdp_frequency: str | None = None
    schedule_info: ScheduleInfo | None = used()
    devices: tuple[DeviceRecord, ...] = used(default=())
    groups: tuple[Any, ...] = ()
    extra: dict[str, Any] = extra_field()

    @property
    def device_ids(self) -> tuple[str, ...]:
        """Every device the plan is on: applied, pending or failed, and those embedded in ``devices``."""
        seen: dict[str, None] = {}
        for value in (self.backup_applied_on, self.backup_pending_on, self.backup_failed_on):
            seen.update(dict.fromkeys(id_list(value)))
        seen.update(dict.fromkeys(d.device_id for d in self.devices))
        return tuple(seen)
