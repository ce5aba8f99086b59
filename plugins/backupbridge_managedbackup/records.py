"""Managed Backup (MSP360-style) wire records and integer enums; unknown keys kept in ``extra``.

Field names follow the public clients' types (MSP360-PSModule ``Add-MBSAPIType.ps1``) and the API's help
pages; where a key does not follow PascalCase (``ID``, ``UserID``, ``ComputerHID``...) it is named explicitly.

Fields marked ``used`` (or required) are the ones the mapping or the driver reads: decoded strictly. Every
other field is lenient: a value in an unexpected shape (the PowerShell module's ``LicenseSettings`` string,
a decimal ``StorageLimit``) leaves it at its default, the value still in ``raw``, and never fails the record.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from backupbridge.plugin import (
    ALIASES,
    CHECK,
    USED,
    WIRE,
    Bool,
    Int,
    Str,
    Time,
    VendorIntEnum,
    extra_field,
    make_converter,
    pascal_case,
    used,
)

__all__ = [
    "AdministratorRecord",
    "CompanyRecord",
    "ComputerPlanRecord",
    "ComputerRecord",
    "DiskRecord",
    "LicenseManagementMode",
    "LicenseRecord",
    "LicenseSettings",
    "MonitoringRecord",
    "MonitoringStatus",
    "PackageRecord",
    "PlanType",
    "UserDestination",
    "UserRecord",
    "converter",
]

converter = make_converter(pascal_case, lenient_unused=True)


def wire(name: str, *, required: bool = False, used: bool = False, aliases: tuple[str, ...] = ()) -> Any:
    """A field whose JSON key is ``name``; ``required`` ones have no default (a record without it is refused),
    ``used`` ones are decoded strictly; ``aliases`` are other keys the value arrives under."""
    metadata: dict[str, Any] = {WIRE: name, USED: used or required}
    if aliases:
        metadata[ALIASES] = aliases
    if required:
        return attrs.field(metadata=metadata)
    return attrs.field(default=None, metadata=metadata)


def _hid(value: object) -> None:
    """A ComputerHID with something inside its braces: the only kind the API can be asked about."""
    if isinstance(value, str) and not value.strip().strip("{}").strip():
        raise ValueError(f"not a computer HID: {value!r:.30}")


class MonitoringStatus(VendorIntEnum):
    """``Status`` of a monitoring row (the last run of a plan)."""

    SUCCESS = 0
    OVERDUE = 1
    ERROR = 2
    RUNNING = 3
    UNKNOWN_STATUS = 4  # the vendor's own "Unknown" (4); an unlisted code is a member named UNKNOWN
    INTERRUPTED = 5
    UNEXPECTEDLY_CLOSED = 6
    WARNING = 7


class PlanType(VendorIntEnum):
    NA = 0
    BACKUP = 1
    RESTORE = 2
    BACKUP_FILES = 3
    RESTORE_FILES = 4
    VM_BACKUP = 5
    VM_RESTORE = 6
    SQL_BACKUP = 7
    SQL_RESTORE = 8
    EXCHANGE_BACKUP = 9
    EXCHANGE_RESTORE = 10
    BMSS_BACKUP = 11
    BMSS_RESTORE = 12
    CONSISTENCY_CHECK = 13
    EC2_BACKUP = 14
    EC2_RESTORE = 15
    HYPERV_BACKUP = 16
    HYPERV_RESTORE = 17


class LicenseSettings(VendorIntEnum):
    CUSTOM = 0
    GLOBAL_POOL = 1
    COMPANY_POOL = 2


class LicenseManagementMode(VendorIntEnum):
    MANUAL = 0
    AUTOMATIC = 1
    COMPANY_SETTINGS = 2


@attrs.frozen(kw_only=True)
class UserDestination:
    id: Str = wire("ID")
    current_volume: Int = None
    package_id: Int = wire("PackageID")
    account_id: Str = wire("AccountID")
    account_display_name: Str = None
    destination: Str = None
    destination_display_name: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class UserRecord:
    """A backup user account. ``Company`` is the company's *name*."""

    id: str = wire("ID", required=True)
    email: Str = None
    first_name: Str = None
    last_name: Str = None
    notification_emails: tuple[str, ...] | None = None
    company: Str = None
    enabled: Bool = None
    license_management_mode: LicenseManagementMode | None = wire("LicenseManagmentMode")
    destination_list: tuple[UserDestination, ...] | None = None
    space_used: Int = None
    extra: dict[str, Any] = extra_field()

    @property
    def management_mode(self) -> LicenseManagementMode | None:
        """The docs spell the key both LicenseManagmentMode and LicenseManagementMode: either is read."""
        if self.license_management_mode is not None:
            return self.license_management_mode
        value = self.extra.get("LicenseManagementMode")
        return LicenseManagementMode(value) if isinstance(value, int) and not isinstance(value, bool) else None


@attrs.frozen(kw_only=True)
class CompanyDestination:
    destination_id: Str = None
    plan_id: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class CompanyRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("id",),)

    id: str = wire("Id", required=True, aliases=("ID",))  # "ID" in the PowerShell module's older type
    name: Str = used()
    storage_limit: Int = None
    license_settings: LicenseSettings | None = None
    destinations: tuple[CompanyDestination, ...] | None = None
    default_license: Int = None
    allowed_licenses: tuple[int, ...] | None = None
    extra: dict[str, Any] = extra_field()

    @property
    def unlimited_storage(self) -> bool:
        return self.storage_limit is not None and self.storage_limit < 0


@attrs.frozen(kw_only=True)
class BuildVersion:
    major: Int = wire("_Major", used=True)
    minor: Int = wire("_Minor", used=True)
    build: Int = wire("_Build", used=True)
    revision: Int = wire("_Revision", used=True)
    extra: dict[str, Any] = extra_field()

    def __str__(self) -> str:
        parts = [p for p in (self.major, self.minor, self.build, self.revision) if p is not None and p >= 0]
        return ".".join(str(p) for p in parts)


@attrs.frozen(kw_only=True)
class ComputerLicense:
    granted: Bool = None
    is_trial: Bool = None
    display_expires_date: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class BackupStats:
    plans_count: Int = None
    total_overdue_count: Int = None
    total_failed_count: Int = None
    total_success_count: Int = None
    total_warning_count: Int = None
    total_not_run_count: Int = None
    total_running_count: Int = None
    total_interrupted_count: Int = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ComputerApp:
    application_id: Str = used()
    version: Str = used()
    version_status: Str = None
    build_type_long: Int = None
    application_state: Str = None
    online: Bool = used()
    error_code: Int = None
    error_message: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ComputerRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("computer_hid",),)

    computer_hid: str = attrs.field(metadata={WIRE: "ComputerHID", USED: True, CHECK: _hid})
    os_type_string: Str = wire("OSTypeString", used=True)
    build_type_string: Str = None
    remote_management_available: Bool = None
    computer_name: Str = used()
    computer_display_name: Str = used()
    company_name: Str = used()
    user_email: Str = None
    profile_name: Str = used()
    user_id: Str = wire("UserID", used=True)
    backup_build_version: BuildVersion | None = used()
    license: ComputerLicense | None = None
    backup_stats: BackupStats | None = None
    last_activity: Time = used()
    instance_type: Int = None
    has_backup_app: Bool = None
    lost_auth: Bool = used()
    lost_auth_change_date: Time = None
    apps: tuple[ComputerApp, ...] | None = used()
    extra: dict[str, Any] = extra_field()

    @property
    def backup_app(self) -> ComputerApp | None:
        return next((a for a in self.apps or () if (a.application_id or "").lower() == "backup"), None)


@attrs.frozen(kw_only=True)
class DiskRecord:
    name: Str = None
    label: Str = None
    file_system: Str = None
    size: Int = None
    free_space: Int = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ComputerPlanRecord:
    """A backup or restore plan on a computer (``/Computers/{hid}/Plans``); its shape is not public."""

    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("id",),)

    id: str = wire("Id", required=True)
    name: Str = used()
    type: PlanType | None = used()
    status: MonitoringStatus | None = None
    last_start: Time = used()
    next_start: Time = used()
    storage_type: Str = None
    is_enabled: Bool = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class MonitoringRecord:
    """One row of ``/Monitoring``: the latest run of one plan on one computer.

    Older docs show rows without ``PlanId`` (and ``PlanType``): such a row is identified by its user,
    computer and plan name instead; a row with neither cannot be carried.
    """

    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("plan_id",), ("user_id", "computer_name", "plan_name"))

    plan_id: Str = used()
    plan_name: Str = used()
    company_name: Str = used()
    user_name: Str = None
    user_id: Str = wire("UserID", used=True)
    computer_name: Str = used()
    build_version: Str = None
    storage_type: Str = None
    last_start: Time = used()
    next_start: Time = None
    status: MonitoringStatus | None = used()
    error_message: Str = used()
    files_copied: Int = used()
    files_failed: Int = None
    data_copied: Int = used()
    duration: Str = used()
    data_to_backup: Int = None
    total_data: Int = None
    files_scanned: Int = None
    files_to_backup: Int = None
    plan_type: PlanType | None = None
    detailed_report_link: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class LicenseRecord:
    id: Str = wire("ID")
    number: Int = None
    computer_name: Str = None
    operating_system: Str = None
    is_trial: Bool = None
    is_taken: Bool = None
    license_type: Str = None
    date_expired: Time = None
    transaction: Str = None
    user: Str = None
    user_id: Str = wire("UserID")
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class AdministratorRecord:
    admin_id: Str = wire("AdminID")
    email: Str = None
    first_name: Str = None
    last_name: Str = None
    enabled: Bool = None
    permissions_models: Any = None
    last_login: Time = None
    date_created: Time = None
    companies: tuple[str, ...] | None = None
    access_to_companies_mode: Int = None
    account_type: Int = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class PackageRecord:
    id: Int = wire("ID")
    name: Str = None
    description: Str = None
    storage_limit: float | None = None  # Decimal in the PowerShell module's StoragePackage
    is_global: Bool = None
    cost: float | None = None
    extra: dict[str, Any] = extra_field()
