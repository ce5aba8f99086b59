"""vProtect wire records: enums as ``{name, description}`` objects *or* bare strings, references as
``{guid, name}``, times as epoch milliseconds; unknown keys kept in ``extra``.

Fields marked ``used()`` (or required) are the ones the mapping or the driver reads: decoded strictly, the
times and durations among them range-checked (a ``snapshotTime`` of 10**18 fails its record with
``DecodingError``). Every other field is lenient: a value in an unexpected shape (the generator's
``12345.0`` where a count was promised, an object where text was) leaves it ``None``, the value still in
``raw``, and never fails the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from backupbridge.plugin import Bool, Int, Str, check_epoch_ms, check_milliseconds, extra_field, make_converter, used
from backupbridge.plugin import epoch_ms as _epoch_ms

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

converter = make_converter(lenient_unused=True)


def epoch_ms(value: int | None) -> dt.datetime | None:
    """An epoch-millisecond time as an aware UTC datetime (decoded fields are range-checked already)."""
    return _epoch_ms(value)


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
    name: Str = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TypedRef:
    """A ``NameGuidAndType`` reference."""

    guid: str
    name: Str = None
    type: EnumValue | None = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TaskTimeStats:
    queuedExportTime: Int = None
    exportTime: Int = None
    queuedStoreTime: Int = None
    storeTime: Int = None
    extra: dict[str, Any] = extra_field()


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
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class BackupRecord:
    """A ``BackupListRecord`` (also read for ``BackupDetails`` and ``BackupExtendedDetails``)."""

    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("guid",),)

    guid: str
    backupTime: Int = used(check=check_epoch_ms)
    snapshotTime: Int = used(check=check_epoch_ms)
    status: EnumValue | None = used()
    type: EnumValue | None = used()
    size: Int = used()
    statusInfo: Str = used()
    protectedEntity: TypedRef | None = used()
    originEntity: TypedRef | None = None
    parentBackup: Ref | None = None
    backupRule: Ref | None = used()
    sourceProject: Ref | None = used()
    warningsPresent: Bool = None
    warnings: tuple[str, ...] | None = used()
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
    extra: dict[str, Any] = extra_field()

    @property
    def backup_time(self) -> dt.datetime | None:
        return epoch_ms(self.backupTime)

    @property
    def snapshot_time(self) -> dt.datetime | None:
        return epoch_ms(self.snapshotTime)


@attrs.frozen(kw_only=True)
class ScheduleInterval:
    startHour: Int = used()
    endHour: Int = None
    frequency: Int = used(check=check_milliseconds)
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ScheduleRecord:
    """A schedule: ``hour`` is milliseconds after UTC midnight; intervals and windows in milliseconds."""

    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("guid",),)

    guid: str
    name: Str = None
    active: Bool = used()
    hour: Int = used()
    backupType: EnumValue | None = None
    type: EnumValue | None = None
    executionType: EnumValue | None = used()
    interval: ScheduleInterval | None = used()
    startWindowLength: Int = used(check=check_milliseconds)
    daysOfWeek: tuple[EnumValue, ...] | None = used()
    months: tuple[EnumValue, ...] | None = used()
    dayOfWeekOccurrences: tuple[EnumValue, ...] | None = used()
    # Read by update_plan to tell whether the schedule is shared; lenient on purpose: an odd shape reads as
    # "not said", and the change is refused rather than reaching another policy.
    rules: tuple[Ref, ...] | None = None
    policies: tuple[Ref, ...] | None = None
    tenantId: Str = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class RuleRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("guid",),)

    guid: str
    name: Str = None
    schedules: tuple[Ref, ...] | None = used()
    policy: Ref | None = None
    backupDestinations: tuple[Any, ...] | None = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class PolicyRecord:
    """A backup policy (vm-backup and its siblings): our ``Plan``."""

    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("guid",),)

    guid: str
    name: Str = used()
    active: Bool = used()
    priority: Int = None
    backupRetryCount: Int = None
    autoAssignMode: EnumValue | None = None
    rules: tuple[Ref, ...] | None = used()
    ruleCount: Int = None
    backupDestinations: tuple[Ref, ...] | None = None
    vmCount: Int = None
    storageCount: Int = None
    project: Ref | None = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class VirtualMachineRecord:
    """A virtual machine (a protected entity): our ``Device``."""

    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("guid",),)

    guid: str
    name: Str = used()
    uuid: Str = None
    present: Bool = used()
    restoreStatus: EnumValue | None = None
    lastSuccessfulFullBackupSize: Int = None
    lastSuccessfulFullBackup: Ref | None = None
    backupUpToDate: Bool = used()
    hvType: EnumValue | None = used()
    hvmType: EnumValue | None = None
    hypervisor: Ref | None = None
    vmBackupPolicy: Ref | None = used()
    project: Ref | None = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class HypervisorRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("guid",),)

    guid: str
    host: Str = None
    type: EnumValue | None = None
    cluster: Any = None
    user: Str = None
    licenseCovered: Bool = None
    vmCount: Int = None
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TaskRecord:
    """A task (export, store, restore...): the live view of runs."""

    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("guid",),)

    guid: str
    type: EnumValue | None = used()
    state: EnumValue | None = used()
    progress: Int = None
    priority: Int = None
    windowStart: Int = used(check=check_epoch_ms)
    windowEnd: Int = None
    protectedEntity: TypedRef | None = used()
    backupDestination: Ref | None = None
    backupType: EnumValue | None = used()
    hypervisor: Ref | None = None
    node: Ref | None = None
    originEntity: TypedRef | None = None
    extra: dict[str, Any] = extra_field()
