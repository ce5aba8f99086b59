"""The vProtect-style REST client: every endpoint of the backups controller with every documented query
parameter, plus the controllers the neutral model needs (session, policies, rules, schedules, virtual
machines, hypervisors, tasks).

Each endpoint is declared once in endpoints.py (method, path, arguments and their checks, the record); the
controllers here call those declarations, one line a method. Every method checks its arguments when called
(``ValidationError`` before any request) and returns a sans-I/O ``Op``/``ListOp``, a value that runs any
number of times. The login and the error bodies are in auth.py.

Self-hosted: ``base_url`` (``https://<host>:8181/api``) is required. Lists page with ``page`` (from 0) and
``size``, ordered by ``orderBy``/``direction``, with the total in the ``X-Total-Count`` header; a listing
ends once that many records arrived, and raises ``DecodingError`` when the pages do not add up to it.
"""

from __future__ import annotations

import builtins
import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, Unpack

import attrs

from backupbridge.plugin import ListOp, Op, Raw, exchange, invalid_for

from . import endpoints as e
from .auth import VENDOR as VENDOR
from .auth import VProtectLogin as VProtectLogin
from .auth import decode_error as decode_error
from .auth import make_auth as make_auth
from .checks import BACKUP_STATUSES as BACKUP_STATUSES
from .checks import BACKUP_TYPES as BACKUP_TYPES
from .checks import PAGE_SIZE as PAGE_SIZE
from .checks import POLICY_KINDS as POLICY_KINDS
from .checks import PROTECTED_ENTITY_TYPES as PROTECTED_ENTITY_TYPES
from .checks import TASK_STATES as TASK_STATES
from .checks import TASK_TYPES as TASK_TYPES
from .checks import guid as guid
from .checks import millis as millis
from .endpoints import paged as paged
from .endpoints import total_count as total_count
from .records import (
    BackupRecord,
    HypervisorRecord,
    PolicyRecord,
    RuleRecord,
    ScheduleRecord,
    TaskRecord,
    VirtualMachineRecord,
)

__all__ = [
    "BACKUP_STATUSES",
    "BACKUP_TYPES",
    "PROTECTED_ENTITY_TYPES",
    "VENDOR",
    "BackupFilters",
    "VProtectAPI",
    "VProtectLogin",
    "decode_error",
    "make_auth",
]

_invalid = invalid_for(VENDOR)


@attrs.frozen(kw_only=True)
class BackupFilters:
    """The query parameters shared by the backup listings and statistics (all optional).

    ``status`` and ``backup_policy`` take several values (the parameter is repeated); ``since``/``until``
    (``from``/``to``) and ``min_size`` are epoch milliseconds or aware datetimes; ``page`` (from 0) and
    ``size`` select one page (without ``page`` a listing reads every page).
    """

    backup_destination: str | None = None
    backup_policy: tuple[str, ...] = ()
    backup_rule: str | None = None
    cloud_service_provider: str | None = None
    direction: str | None = None
    fail_on_non_successful: bool | None = None
    filter: str | None = None
    since: Any = None
    hypervisor: str | None = None
    hypervisor_manager: str | None = None
    min_size: int | None = None
    name_like: str | None = None
    node: str | None = None
    only_mountable: bool | None = None
    order_by: str | None = None
    page: int | None = None
    parent_backup: str | None = None
    project_uuid: str | None = None
    protected_entity: str | None = None
    protected_entity_type: str | None = None
    root_backup: str | None = None
    size: int | None = None
    status: Any = ()
    storage_provider: str | None = None
    until: Any = None
    type: str | None = None
    without_hidden: bool | None = None

    def params(self, operation: str) -> dict[str, Any]:
        """The query, validated (``ValidationError`` naming ``operation`` before any request)."""
        declared = attrs.evolve(e.BACKUP_STATISTICS["aggregated"], operation=operation)
        query = declared.call(**attrs.asdict(self)).params
        return {k: v for k, v in query.items() if v is not None and v != []}


_FILTER_NAMES = frozenset(a.name for a in attrs.fields(BackupFilters))

Millis = dt.datetime | int
"""A time as vProtect's queries take it: an aware datetime, or epoch milliseconds."""
Json = Any
"""A reply the docs give no shape for, as parsed JSON."""


class BackupFilterArgs(TypedDict, total=False):
    """``BackupFilters`` as keyword arguments (each optional; checked before any request)."""

    backup_destination: str
    backup_policy: str | Sequence[str]
    backup_rule: str
    cloud_service_provider: str
    direction: str
    fail_on_non_successful: bool
    filter: str
    since: Millis
    hypervisor: str
    hypervisor_manager: str
    min_size: int
    name_like: str
    node: str
    only_mountable: bool
    order_by: str
    page: int
    parent_backup: str
    project_uuid: str
    protected_entity: str
    protected_entity_type: str
    root_backup: str
    size: int
    status: str | Sequence[str]
    storage_provider: str
    until: Millis
    type: str
    without_hidden: bool


class PolicyListArgs(TypedDict, total=False):
    """The parameters of ``GET /policies/{kind}`` beside the kind."""

    direction: str
    extended: bool
    filter: str
    name_like: str
    order_by: str
    page: int
    project: str
    project_uuid: str
    size: int
    virtual_machine: str


class TaskFilterArgs(TypedDict, total=False):
    """The filters of ``GET /tasks``."""

    protected_entity: str
    backup: str
    schedule: str
    state: str
    type: str
    tenant_id: str
    page: int
    size: int


def _filters(given: Mapping[str, object], operation: str) -> Mapping[str, object]:
    """``given`` when every name is a backup filter; an unknown one is a ``ValidationError`` naming it."""
    unknown = sorted(set(given) - _FILTER_NAMES)
    if unknown:
        known = ", ".join(sorted(_FILTER_NAMES))
        raise _invalid(operation, unknown[0], f"unknown backup filter {unknown[0]!r}; known: {known}")
    return given


class Backups:
    """The backups controller."""

    def list_pairs(self, **filters: Unpack[BackupFilterArgs]) -> ListOp[tuple[BackupRecord, Raw]]:
        return e.BACKUPS.pairs(**_filters(filters, "backups.list"))

    def list(self, **filters: Unpack[BackupFilterArgs]) -> ListOp[BackupRecord]:
        """``GET /backups``: backups matching the filters (``BackupFilters`` lists them)."""
        return e.BACKUPS(**_filters(filters, "backups.list"))

    def detailed(self, **filters: Unpack[BackupFilterArgs]) -> ListOp[BackupRecord]:
        """``GET /backups/detailed``: the same filters, ``BackupDetails`` records."""
        return e.BACKUPS_DETAILED(**_filters(filters, "backups.detailed"))

    def grouped(self, **filters: Unpack[BackupFilterArgs]) -> ListOp[BackupRecord]:
        """``GET /backups/grouped``: the last backup of each group, with counted attempts."""
        return e.BACKUPS_GROUPED(**_filters(filters, "backups.grouped"))

    def _stats(self, which: str, filters: Mapping[str, object]) -> Op[Json]:
        declared = e.BACKUP_STATISTICS[which]
        return declared(**_filters(filters, declared.operation))

    def aggregated_statistics(self, **filters: Unpack[BackupFilterArgs]) -> Op[Json]:
        """``GET /backups/aggregated-statistics`` (its shape is not documented: parsed JSON)."""
        return self._stats("aggregated", filters)

    def size_statistics(self, **filters: Unpack[BackupFilterArgs]) -> Op[Json]:
        """``GET /backups/size-statistics`` (parsed JSON)."""
        return self._stats("size", filters)

    def time_statistics(self, **filters: Unpack[BackupFilterArgs]) -> Op[Json]:
        """``GET /backups/time-statistics``: ``TimeBackupStatisticsResponseDto`` rows (parsed JSON)."""
        return self._stats("time", filters)

    def grouped_aggregated_statistics(self, **filters: Unpack[BackupFilterArgs]) -> Op[Json]:
        """``GET /backups/grouped/aggregated-statistics``: deprecated by the vendor."""
        warnings.warn("vProtect deprecated /backups/grouped/aggregated-statistics", DeprecationWarning, stacklevel=2)
        return self._stats("grouped_aggregated", filters)

    def get(self, backup_guid: str) -> Op[BackupRecord]:
        """``GET /backups/{guid}``: the backup's extended details."""
        return e.GET_BACKUP(guid=backup_guid)

    def for_restore(self, backup_guid: str) -> Op[BackupRecord]:
        """``GET /backups/for-restore/{guid}``: extended details without RBAC filtering."""
        return e.BACKUP_FOR_RESTORE(guid=backup_guid)

    def set_description(self, backup_guid: str, description: str) -> Op[BackupRecord | None]:
        """``PUT /backups/{guid}/description`` with ``{"value": description}``."""
        return exchange(e.SET_DESCRIPTION.call(guid=backup_guid, description=description), e.maybe_backup)

    def set_warnings(self, backup_guid: str, texts: Sequence[str]) -> Op[BackupRecord | None]:
        """``PUT /backups/{guid}/warnings`` with ``[{"value": text}, ...]`` (StringDTO)."""
        return exchange(e.SET_WARNINGS.call(guid=backup_guid, texts=texts), e.maybe_backup)

    def acknowledge_warnings(self, backup_guid: str, acknowledged: bool = True) -> Op[BackupRecord | None]:
        """``PUT /backups/{guid}/warnings-acknowledged`` with ``{"value": acknowledged}`` (BooleanDTO)."""
        call = e.ACKNOWLEDGE_WARNINGS.call(guid=backup_guid, acknowledged=acknowledged)
        return exchange(call, e.maybe_backup)

    def acknowledge_warnings_batch(
        self, backup_guids: Sequence[str], acknowledged: bool = True
    ) -> Op[builtins.list[BackupRecord]]:
        """``PUT /backups/warnings-acknowledged`` for a batch (WarningAcknowledgementRequest)."""
        call = e.ACKNOWLEDGE_WARNINGS_BATCH.call(backup_guids=backup_guids, acknowledged=acknowledged)
        return exchange(call, e.maybe_backups)

    def transfer_rate(
        self,
        task_type: str,
        *,
        since: Millis | None = None,
        until: Millis | None = None,
        protected_entity: str | None = None,
    ) -> Op[Json]:
        """``POST /backups/transfer-rate/{task-type}`` with TransferRateQueryParameters (a read)."""
        return e.TRANSFER_RATE(task_type=task_type, since=since, until=until, protected_entity=protected_entity)

    def timeline_size_stats(
        self, entity_type: str, entity_guid: str, *, since: Millis | None = None, until: Millis | None = None
    ) -> Op[Json]:
        """``GET /backups/timeline/size-stats/{type}/{guid}?from=&to=`` (BackupTimelineDto)."""
        return e.TIMELINE_SIZE_STATS(kind=entity_type, guid=entity_guid, since=since, until=until)

    def timeline_time_stats(
        self, entity_type: str, entity_guid: str, *, since: Millis | None = None, until: Millis | None = None
    ) -> Op[Json]:
        """``GET /backups/timeline/time-stats/{type}/{guid}?from=&to=`` (BackupTimeStatsTimelineDto)."""
        return e.TIMELINE_TIME_STATS(kind=entity_type, guid=entity_guid, since=since, until=until)


class Policies:
    """Backup policies: ``/policies/vm-backup`` and its siblings (storage-, cloud-, app-backup)."""

    def list_pairs(self, kind: str = "vm-backup", **params: Unpack[PolicyListArgs]) -> ListOp[tuple[PolicyRecord, Raw]]:
        return e.POLICIES.pairs(kind=kind, **params)

    def list(self, kind: str = "vm-backup", **params: Unpack[PolicyListArgs]) -> ListOp[PolicyRecord]:
        """``GET /policies/{kind}`` with its documented parameters (``PolicyListArgs``)."""
        return e.POLICIES(kind=kind, **params)

    def get(self, policy_guid: str, kind: str = "vm-backup") -> Op[PolicyRecord]:
        """``GET /policies/{kind}/{guid}``."""
        return e.GET_POLICY(kind=kind, guid=policy_guid)

    def get_pair(self, policy_guid: str, kind: str = "vm-backup") -> Op[tuple[PolicyRecord, Raw]]:
        """``GET /policies/{kind}/{guid}``: the record and its raw JSON (a ``PUT`` sends it back whole)."""
        return e.GET_POLICY.pair(kind=kind, guid=policy_guid)

    def create(self, payload: Mapping[str, Any], kind: str = "vm-backup") -> Op[PolicyRecord]:
        """``POST /policies/{kind}`` (name required)."""
        return e.CREATE_POLICY(kind=kind, payload=payload)

    def update(self, policy_guid: str, payload: Mapping[str, Any], kind: str = "vm-backup") -> Op[PolicyRecord]:
        """``PUT /policies/{kind}/{guid}``."""
        return e.UPDATE_POLICY(kind=kind, guid=policy_guid, payload=payload)

    def delete(self, policy_guid: str, kind: str = "vm-backup") -> Op[None]:
        """``DELETE /policies/{kind}/{guid}``."""
        return e.DELETE_POLICY(kind=kind, guid=policy_guid)

    def auto_assignment_preview(self, payload: Mapping[str, Any]) -> Op[Json]:
        """``POST /policies/vm-backup/auto-assignment-preview``."""
        return e.AUTO_ASSIGNMENT_PREVIEW(payload=payload)


class Rules:
    def get(self, rule_guid: str, *, only_active_destinations: bool | None = None) -> Op[RuleRecord]:
        """``GET /rules/vm-backup/{guid}?only-active-destinations=``."""
        return e.GET_RULE(guid=rule_guid, only_active_destinations=only_active_destinations)

    def create(self, name: str, policy_guid: str, schedule_guids: Sequence[str]) -> Op[RuleRecord]:
        """``POST /rules/vm-backup`` with ``{name, schedules: [{guid}], policy: {guid}}``."""
        return e.CREATE_RULE(name=name, policy=policy_guid, schedules=schedule_guids)


class Schedules:
    def list(
        self,
        *,
        direction: str | None = None,
        order_by: str | None = None,
        page: int | None = None,
        size: int | None = None,
    ) -> ListOp[ScheduleRecord]:
        """``GET /schedules``."""
        return e.SCHEDULES(direction=direction, order_by=order_by, page=page, size=size)

    def get(self, schedule_guid: str) -> Op[ScheduleRecord]:
        """``GET /schedules/{guid}``."""
        return e.GET_SCHEDULE(guid=schedule_guid)

    def get_pair(self, schedule_guid: str) -> Op[tuple[ScheduleRecord, Raw]]:
        """``GET /schedules/{guid}``: the record and its raw JSON (a ``PUT`` sends it back whole)."""
        return e.GET_SCHEDULE.pair(guid=schedule_guid)

    def create(self, payload: Mapping[str, Any]) -> Op[ScheduleRecord]:
        """``POST /schedules`` (name and executionType required)."""
        return e.CREATE_SCHEDULE(payload=payload)

    def update(self, schedule_guid: str, payload: Mapping[str, Any]) -> Op[ScheduleRecord]:
        """``PUT /schedules/{guid}``."""
        return e.UPDATE_SCHEDULE(guid=schedule_guid, payload=payload)

    def delete(self, schedule_guid: str) -> Op[None]:
        """``DELETE /schedules/{guid}``."""
        return e.DELETE_SCHEDULE(guid=schedule_guid)


class VirtualMachines:
    def list_pairs(self) -> ListOp[tuple[VirtualMachineRecord, Raw]]:
        return e.VIRTUAL_MACHINES.pairs()

    def list(
        self,
        *,
        tenant_id: str | None = None,
        direction: str | None = None,
        order_by: str | None = None,
        page: int | None = None,
        size: int | None = None,
    ) -> ListOp[VirtualMachineRecord]:
        """``GET /virtual-machines`` (``tenantid`` for OpenStack)."""
        return e.VIRTUAL_MACHINES(tenant_id=tenant_id, direction=direction, order_by=order_by, page=page, size=size)

    def detailed(self, *, filter: str | None = None) -> ListOp[VirtualMachineRecord]:
        """``GET /virtual-machines/detailed?filter=``."""
        return e.VIRTUAL_MACHINES_DETAILED(filter=filter)

    def get(self, vm_guid: str) -> Op[VirtualMachineRecord]:
        """``GET /virtual-machines/{guid}``."""
        return e.GET_VIRTUAL_MACHINE(guid=vm_guid)

    def get_pair(self, vm_guid: str) -> Op[tuple[VirtualMachineRecord, Raw]]:
        """``GET /virtual-machines/{guid}``: the record and its raw JSON."""
        return e.GET_VIRTUAL_MACHINE.pair(guid=vm_guid)


class Hypervisors:
    def list(self) -> ListOp[HypervisorRecord]:
        """``GET /hypervisors``."""
        return e.HYPERVISORS()


class Tasks:
    def list_pairs(self, **filters: Unpack[TaskFilterArgs]) -> ListOp[tuple[TaskRecord, Raw]]:
        return e.TASKS.pairs(**filters)

    def list(
        self,
        *,
        protected_entity: str | None = None,
        backup: str | None = None,
        schedule: str | None = None,
        state: str | None = None,
        type: str | None = None,
        tenant_id: str | None = None,
    ) -> ListOp[TaskRecord]:
        """``GET /tasks`` filtered by protected_entity, backup, schedule, state, type, tenant_id."""
        return e.TASKS(
            protected_entity=protected_entity,
            backup=backup,
            schedule=schedule,
            state=state,
            type=type,
            tenant_id=tenant_id,
        )

    def get(self, task_guid: str) -> Op[TaskRecord]:
        """``GET /tasks/{guid}``."""
        return e.GET_TASK(guid=task_guid)

    def export(
        self,
        protected_entities: Sequence[str],
        backup_destination: str,
        *,
        backup_type: str = "INCREMENTAL",
        priority: int = 50,
        window_start: Millis | None = None,
        window_end: Millis | None = None,
    ) -> Op[Json]:
        """``POST /tasks/export``: start backups (one export task per entity). Never retried."""
        return e.EXPORT(
            protected_entities=protected_entities,
            backup_destination=backup_destination,
            backup_type=backup_type,
            priority=priority,
            window_start=window_start,
            window_end=window_end,
        )


class Session:
    def check(self) -> Op[bool]:
        """``GET /session``: True when the session is valid (204)."""
        return exchange(e.SESSION.call(), lambda reply: reply.status_code == 204)


class VProtectAPI:
    """The backups controller and the controllers the neutral model reads."""

    vendor = VENDOR

    def __init__(self) -> None:
        self.backups = Backups()
        self.policies = Policies()
        self.rules = Rules()
        self.schedules = Schedules()
        self.virtual_machines = VirtualMachines()
        self.hypervisors = Hypervisors()
        self.tasks = Tasks()
        self.session = Session()
