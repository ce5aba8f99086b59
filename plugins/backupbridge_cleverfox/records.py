"""CleverFox wire records: the vendor's JSON (PascalCase keys), typed; unknown keys kept in ``extra``.

Booleans stay ``bool | None`` here as sent; the mapping reads ``None`` as false, as the docs say.
Timestamps stay naive here; the mapping reads "DateTime UTC" fields as UTC and "DateTime Local" fields in
the device's time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from backupbridge.convert import make_converter, pascal_case

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

converter = make_converter(pascal_case)
Int = int | None
Str = str | None
Bool = bool | None
Time = dt.datetime | None


def _extra() -> Any:
    return attrs.field(factory=dict, eq=False)


@attrs.frozen(kw_only=True)
class PlanTypeRecord:
    plan_type_id: Int = None
    name: Str = None
    is_inactive: Bool = None
    extra: dict[str, Any] = _extra()


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
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class PartnerRecord:
    partner_id: Int = None
    plan_type_id: Int = None
    plan_type: PlanTypeRecord | None = None
    name: Str = None
    application_id: Str = None
    is_inactive: Bool = None
    added_on: Time = None
    updated_on: Time = None
    token: Str = None
    extra: dict[str, Any] = _extra()


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
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class CompanyRecord:
    company_id: Int = None
    partner_id: Int = None
    partner: PartnerRecord | None = None
    plan_type_id: Int = None
    plan_type: PlanTypeRecord | None = None
    name: Str = None
    address_line1: Str = None
    address_line2: Str = None
    city_municipality: Str = None
    state_providence: Str = None
    postal_code: Str = None
    country: Str = None
    phone: Str = None
    external_id: Str = None
    is_inactive: Bool = None
    added_on: Time = None
    updated_on: Time = None
    token: Str = None
    extra: dict[str, Any] = _extra()


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
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class SubscriptionRecord:
    subscription_id: Int = None
    company_id: Int = None
    company: CompanyRecord | None = None
    plan_id: Int = None
    plan: PlanRecord | None = None
    application_id: Str = None
    external_id: Str = None
    is_inactive: Bool = None
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
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class DeviceRecord:
    device_id: Int = None
    company_id: Int = None
    company: CompanyRecord | None = None
    subscription_id: Int = None
    subscription: SubscriptionRecord | None = None
    name: Str = None
    time_zone_id: Str = None
    application_id: Str = None
    external_id: Str = None
    is_inactive: Bool = None
    api_key: Str = attrs.field(default=None, repr=False)
    last_api_check_at: Time = None
    send_notification_to: Str = None
    send_notification_bcc: Str = None
    send_notification_cc: Str = None
    send_notification_on_job_completed: Bool = None
    send_notification_on_job_failed: Bool = None
    send_notification_on_job_missed: Bool = None
    agent_download_url: Str = None
    last_agent_download_created: Time = None
    added_on: Time = None
    updated_on: Time = None
    token: Str = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class BackupTypeRecord:
    backup_type_id: Int = None
    engine_id: Str = None
    name: Str = None
    engine_type: Str = None
    port: Int = None
    is_inactive: Bool = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class JobItemRecord:
    job_item_id: Int = None
    job_id: Int = None
    name: Str = None
    backup_type_id: Int = None
    backup_type: BackupTypeRecord | None = None
    base_folder: Str = None
    include_sub_folders: Bool = None
    search_patterns: Str = None
    exclude_folders: Str = None
    exclude_patterns: Str = None
    no_compress_extensions: Str = None
    server_name: Str = None
    database_name: Str = None
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
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class JobRecord:
    """A CleverFox *Job*: a backup schedule on one device (our ``Plan``)."""

    job_id: Int = None
    device_id: Int = None
    device: DeviceRecord | None = None
    name: Str = None
    is_inactive: Bool = None
    last_ran_on: Time = None
    frequency: Str = None
    next_run_on: Time = None
    late_after: Int = None
    every: Int = None
    on_monday: Bool = None
    on_tuesday: Bool = None
    on_wednesday: Bool = None
    on_thursday: Bool = None
    on_friday: Bool = None
    on_saturday: Bool = None
    on_sunday: Bool = None
    day_of_month: Int = None
    expire_on: Time = None
    cloud_keep_last: Int = None
    local_keep_last: Int = None
    added_on: Time = None
    updated_on: Time = None
    token: Str = None
    job_items: tuple[JobItemRecord, ...] | None = None
    extra: dict[str, Any] = _extra()


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
    backup_file_size: Int = None
    backup_list_size: Int = None
    backup_list_count: Int = None
    added_on: Time = None
    updated_on: Time = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class LogRecord:
    """A CleverFox *Log*: one run of a job (our ``Job``)."""

    log_id: Int = None
    company_id: Int = None
    company: CompanyRecord | None = None
    device_id: Int = None
    device: DeviceRecord | None = None
    time_zone_id: Str = None
    subscription_id: Int = None
    plan_id: Int = None
    job_id: Int = None
    job: JobRecord | None = None
    name: Str = None
    frequency: Str = None
    next_run_on: Time = None
    late_after: Int = None
    job_started_on: Str = None
    job_completed_on: Time = None
    job_status: Str = None
    error_messages: Str = None
    added_on: Time = None
    updated_on: Time = None
    log_items: tuple[LogItemRecord, ...] | None = None
    extra: dict[str, Any] = _extra()


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
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class TimeZoneRecord:
    """An entry of the time-zone list (Windows zone names); its fields are not documented."""

    time_zone_id: Str = None
    name: Str = None
    display_name: Str = None
    extra: dict[str, Any] = _extra()
