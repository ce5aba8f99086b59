"""CleverFox wire records: the vendor's JSON (PascalCase keys), typed; unknown keys kept in ``extra``.

Booleans stay ``bool | None`` here as sent; the mapping reads ``None`` as false, as the docs say.
Timestamps stay naive here; the mapping reads "DateTime UTC" fields as UTC and "DateTime Local" fields in
the device's time zone.

Fields marked ``used()`` are the ones the mapping or the driver reads: decoded strictly. Every other
field is lenient: a value in a shape no public source shows (a number where text was promised, an object
where a date was) leaves it ``None``, the value still in ``raw``, and never fails the record. Records
listed by an endpoint name their id (``__identity__``): a row without it fails with ``DecodingError``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from backupbridge.plugin import (
    INT_MAX,
    Bool,
    Int,
    Str,
    Time,
    check_minutes,
    extra_field,
    in_range,
    make_converter,
    pascal_case,
    used,
)

__all__ = [
    "BackupTypeRecord",
    "CompanyRecord",
    "CompanyUserRecord",
    "DeviceRecord",
    "EventRecord",
    "JobItemRecord",
    "JobRecord",
    "LogItemRecord",
    "LogRecord",
    "PartnerRecord",
    "PartnerUserRecord",
    "PlanRecord",
    "PlanTypeRecord",
    "SubscriptionRecord",
    "TimeZoneRecord",
    "converter",
]

converter = make_converter(pascal_case, lenient_unused=True)
ID = in_range(1, INT_MAX)
"""CleverFox ids are positive integers: the client refuses any other in a path, so a record with one is refused."""


@attrs.frozen(kw_only=True)
class PlanTypeRecord:
    plan_type_id: Int = None
    name: Str = None
    is_inactive: Bool = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class PlanRecord:
    """A billing tier (CleverFox's "Plan"), not a backup schedule."""

    plan_id: Int = None
    plan_type_id: Int = None
    plan_type: PlanTypeRecord | None = None
    name: Str = None
    details: Str = None
    is_inactive: Bool = None
    device_limit: Int = None
    storage_limit: Int = None
    download_limit: Bool = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class PartnerRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("partner_id",),)

    partner_id: Int = used(check=ID)
    plan_type_id: Int = used()
    plan_type: PlanTypeRecord | None = None
    name: Str = None
    application_id: Str = None
    is_inactive: Bool = None
    added_on: Time = None
    updated_on: Time = None
    token: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class PartnerUserRecord:
    partner_user_id: Int = None
    partner_id: Int = None
    partner: PartnerRecord | None = None
    first_name: Str = None
    last_name: Str = None
    email: Str = None
    home_phone: Str = None
    mobile_phone: Str = None
    work_phone: Str = None
    is_account_owner: Bool = None
    is_inactive: Bool = None
    added_on: Time = None
    updated_on: Time = None
    token: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class CompanyRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("company_id",),)

    company_id: Int = used(check=ID)
    partner_id: Int = None
    partner: PartnerRecord | None = None
    plan_type_id: Int = None
    plan_type: PlanTypeRecord | None = None
    name: Str = used()
    address_line1: Str = None
    address_line2: Str = None
    city_municipality: Str = None
    state_providence: Str = None
    postal_code: Str = None
    country: Str = None
    phone: Str = None
    external_id: Str = None
    is_inactive: Bool = used()
    added_on: Time = None
    updated_on: Time = None
    token: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class CompanyUserRecord:
    company_user_id: Int = None
    company_id: Int = None
    company: CompanyRecord | None = None
    first_name: Str = None
    last_name: Str = None
    email: Str = None
    home_phone: Str = None
    mobile_phone: Str = None
    work_phone: Str = None
    is_inactive: Bool = None
    added_on: Time = None
    updated_on: Time = None
    token: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class SubscriptionRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("subscription_id",),)

    subscription_id: Int = used(check=ID)
    company_id: Int = used()
    company: CompanyRecord | None = None
    plan_id: Int = None
    plan: PlanRecord | None = None
    application_id: Str = None
    external_id: Str = None
    is_inactive: Bool = used()
    billing_id: Int = None
    status: Str = None
    period_start: Time = None
    period_end: Time = None
    additional_device: Int = None
    download_limit_expire_on: Time = None
    send_notification_to: Str = None
    send_notification_bcc: Str = None
    send_notification_cc: Str = None
    send_notification_on_storage_limit: Bool = None
    added_on: Time = None
    updated_on: Time = None
    token: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class DeviceRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("device_id",),)

    device_id: Int = used(check=ID)
    company_id: Int = used()
    company: CompanyRecord | None = None
    subscription_id: Int = None
    subscription: SubscriptionRecord | None = None
    name: Str = used()
    time_zone_id: Str = used()
    application_id: Str = None
    external_id: Str = used()
    is_inactive: Bool = used()
    api_key: Str = attrs.field(default=None, repr=False)
    last_api_check_at: Time = used()
    send_notification_to: Str = used()
    send_notification_bcc: Str = used()
    send_notification_cc: Str = used()
    send_notification_on_job_completed: Bool = used()
    send_notification_on_job_failed: Bool = used()
    send_notification_on_job_missed: Bool = used()
    agent_download_url: Str = None
    last_agent_download_created: Time = None
    added_on: Time = None
    updated_on: Time = None
    token: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class BackupTypeRecord:
    backup_type_id: Int = used()
    engine_id: Str = used()
    name: Str = None
    engine_type: Str = used()
    port: Int = None
    is_inactive: Bool = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class JobItemRecord:
    job_item_id: Int = None
    job_id: Int = None
    name: Str = used()
    backup_type_id: Int = None
    backup_type: BackupTypeRecord | None = used()
    base_folder: Str = used()
    include_sub_folders: Bool = None
    search_patterns: Str = None
    exclude_folders: Str = None
    exclude_patterns: Str = None
    no_compress_extensions: Str = None
    server_name: Str = None
    database_name: Str = used()
    port: Int = None
    authentication_mode: Str = None
    username: Str = None
    password: Str = attrs.field(default=None, repr=False)
    option_compress: Bool = None
    option_copy_only: Bool = None
    option_log_only: Bool = None
    added_on: Time = None
    updated_on: Time = None
    token: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class JobRecord:
    """A CleverFox *Job*: a backup schedule on one device (our ``Plan``)."""

    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("job_id",),)

    job_id: Int = used(check=ID)
    device_id: Int = used()
    device: DeviceRecord | None = used()
    name: Str = used()
    is_inactive: Bool = used()
    last_ran_on: Time = used()
    frequency: Str = used()
    next_run_on: Time = used()
    late_after: Int = used(check=check_minutes)
    every: Int = used(check=in_range(0, 5000))
    on_monday: Bool = used()
    on_tuesday: Bool = used()
    on_wednesday: Bool = used()
    on_thursday: Bool = used()
    on_friday: Bool = used()
    on_saturday: Bool = used()
    on_sunday: Bool = used()
    day_of_month: Int = used(check=in_range(-1, 31))
    expire_on: Time = None
    cloud_keep_last: Int = used()
    local_keep_last: Int = used()
    added_on: Time = None
    updated_on: Time = None
    token: Str = None
    job_items: tuple[JobItemRecord, ...] | None = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class LogItemRecord:
    log_item_id: Int = None
    log_id: Int = None
    job_item_id: Int = None
    name: Str = None
    engine_id: Str = None
    engine_type: Str = None
    base_folder: Str = None
    database_name: Str = None
    backup_file_name: Str = None
    backup_file_size: Int = used()
    backup_list_size: Int = None
    backup_list_count: Int = used()
    added_on: Time = None
    updated_on: Time = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class LogRecord:
    """A CleverFox *Log*: one run of a job (our ``Job``)."""

    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("log_id",),)

    log_id: Int = used(check=ID)
    company_id: Int = used()
    company: CompanyRecord | None = None
    device_id: Int = used()
    device: DeviceRecord | None = used()
    time_zone_id: Str = used()
    subscription_id: Int = None
    plan_id: Int = None
    job_id: Int = used()
    job: JobRecord | None = None
    name: Str = None
    frequency: Str = None
    next_run_on: Time = None
    late_after: Int = None
    job_started_on: Str = used()
    job_completed_on: Time = used()
    job_status: Str = used()
    error_messages: Str = used()
    added_on: Time = None
    updated_on: Time = None
    log_items: tuple[LogItemRecord, ...] | None = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class EventRecord:
    event_id: Int = None
    event_type_id: Int = None
    event_type: Str = None
    company_id: Int = None
    device_id: Int = None
    job_id: Int = None
    log_id: Int = None
    added_on: Time = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TimeZoneRecord:
    """An entry of the time-zone list (Windows zone names); its fields are not documented."""

    time_zone_id: Str = None
    name: Str = None
    display_name: Str = None
    extra: dict[str, Any] = extra_field()
