"""vProtect wire records: enums as ``{name, description}`` objects *or* bare strings, references as
``{guid, name}``, times as epoch milliseconds; unknown keys kept in ``extra``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from backupbridge.convert import make_converter

__all__ = [
    "BackupRecord",
    "EnumValue",
    "HypervisorRecord",
    "PolicyRecord",
    "Ref",
    "RuleRecord",
    "ScheduleRecord",
    "TaskRecord",
    "TypedRef",
    "VirtualMachineRecord",
    "converter",
    "epoch_ms",
]

converter = make_converter()
Str = str | None
Int = int | None
Bool = bool | None


def epoch_ms(value: int | None) -> dt.datetime | None:
    """An epoch-millisecond time as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC) if value is not None else None


def _extra() -> Any:
    return attrs.field(factory=dict, eq=False)


@attrs.frozen
class EnumValue:
    """An ``EnumNameAndDescription``: ``{"name": "SUCCESS", "description": "Success"}``, or just ``"SUCCESS"``."""

    name: str
    description: str | None = None


def _structure_enum(value: object, _: type) -> EnumValue:
    if isinstance(value, str):
        return EnumValue(value)
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        description = value.get("description")
        return EnumValue(value["name"], description if isinstance(description, str) else None)
    raise TypeError(f"expected an enum name or {{name, description}}, got {value!r:.40}")


converter.register_structure_hook(EnumValue, _structure_enum)
converter.register_unstructure_hook(EnumValue, lambda v: {"name": v.name, "description": v.description})


@attrs.frozen(kw_only=True)
class Ref:
    """A ``NameAndGuid`` reference."""

    guid: str
    name: Str = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class TypedRef:
    """A ``NameGuidAndType`` reference."""

    guid: str
    name: Str = None
    type: EnumValue | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class TaskTimeStats:
    queuedExportTime: Int = None
    exportTime: Int = None
    queuedStoreTime: Int = None
    storeTime: Int = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class BackupLocation:
    guid: Str = None
    backup: Ref | None = None
    snapshotTime: Int = None
    backupDestination: Ref | None = None
    roleType: EnumValue | None = None
    backupDestinationType: EnumValue | None = None
    status: EnumValue | None = None
    type: EnumValue | None = None
    statusInfo: Str = None
    retentionHint: EnumValue | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class BackupRecord:
    """A ``BackupListRecord`` (also read for ``BackupDetails`` and ``BackupExtendedDetails``)."""

    guid: str
    backupTime: Int = None
    snapshotTime: Int = None
    status: EnumValue | None = None
    type: EnumValue | None = None
    size: Int = None
    statusInfo: Str = None
    protectedEntity: TypedRef | None = None
    originEntity: TypedRef | None = None
    parentBackup: Ref | None = None
    backupRule: Ref | None = None
    sourceProject: Ref | None = None
    warningsPresent: Bool = None
    warnings: tuple[str, ...] | None = None
    warningsAcknowledged: Bool = None
    description: Str = None
    hidden: Bool = None
    archiveExpire: Int = None
    effectiveBackupObjectsCount: Int = None
    effectiveBackupSize: Int = None
    vmExportImportMode: EnumValue | None = None
    taskTimeStats: TaskTimeStats | None = None
    taskDurationTime: Int = None
    backupLocations: tuple[BackupLocation, ...] | None = None
    extra: dict[str, Any] = _extra()

    @property
    def backup_time(self) -> dt.datetime | None:
        return epoch_ms(self.backupTime)

    @property
    def snapshot_time(self) -> dt.datetime | None:
        return epoch_ms(self.snapshotTime)


@attrs.frozen(kw_only=True)
class ScheduleInterval:
    startHour: Int = None
    endHour: Int = None
    frequency: Int = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class ScheduleRecord:
    """A schedule: ``hour`` is milliseconds after UTC midnight; intervals and windows in milliseconds."""

    guid: str
    name: Str = None
    active: Bool = None
    hour: Int = None
    backupType: EnumValue | None = None
    type: EnumValue | None = None
    executionType: EnumValue | None = None
    interval: ScheduleInterval | None = None
    startWindowLength: Int = None
    daysOfWeek: tuple[EnumValue, ...] | None = None
    months: tuple[EnumValue, ...] | None = None
    dayOfWeekOccurrences: tuple[EnumValue, ...] | None = None
    rules: tuple[Ref, ...] | None = None
    policies: tuple[Ref, ...] | None = None
    tenantId: Str = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class RuleRecord:
    guid: str
    name: Str = None
    schedules: tuple[Ref, ...] | None = None
    policy: Ref | None = None
    backupDestinations: tuple[Any, ...] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class PolicyRecord:
    """A backup policy (vm-backup and its siblings): our ``Plan``."""

    guid: str
    name: Str = None
    active: Bool = None
    priority: Int = None
    backupRetryCount: Int = None
    autoAssignMode: EnumValue | None = None
    rules: tuple[Ref, ...] | None = None
    ruleCount: Int = None
    backupDestinations: tuple[Ref, ...] | None = None
    vmCount: Int = None
    storageCount: Int = None
    project: Ref | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class VirtualMachineRecord:
    """A virtual machine (a protected entity): our ``Device``."""

    guid: str
    name: Str = None
    uuid: Str = None
    present: Bool = None
    restoreStatus: EnumValue | None = None
    lastSuccessfulFullBackupSize: Int = None
    lastSuccessfulFullBackup: Ref | None = None
    backupUpToDate: Bool = None
    hvType: EnumValue | None = None
    hvmType: EnumValue | None = None
    hypervisor: Ref | None = None
    vmBackupPolicy: Ref | None = None
    project: Ref | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class HypervisorRecord:
    guid: str
    host: Str = None
    type: EnumValue | None = None
    cluster: Any = None
    user: Str = None
    licenseCovered: Bool = None
    vmCount: Int = None
    extra: dict[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class TaskRecord:
    """A task (export, store, restore...): the live view of runs."""

    guid: str
    type: EnumValue | None = None
    state: EnumValue | None = None
    progress: Int = None
    priority: Int = None
    windowStart: Int = None
    windowEnd: Int = None
    protectedEntity: TypedRef | None = None
    backupDestination: Ref | None = None
    backupType: EnumValue | None = None
    hypervisor: Ref | None = None
    node: Ref | None = None
    originEntity: TypedRef | None = None
    extra: dict[str, Any] = _extra()
