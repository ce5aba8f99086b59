"""The vProtect-style REST client: every endpoint of the backups controller with every documented query
parameter, plus the controllers the neutral model needs (session, policies, rules, schedules, virtual
machines, hypervisors, tasks).

Self-hosted: ``base_url`` (``https://<host>:8181/api``) is required. Lists page with ``page`` (from 0) and
``size``, ordered by ``orderBy``/``direction``, with the total in the ``X-Total-Count`` header; a listing
ends once that many records arrived, and raises ``DecodingError`` when the pages do not add up to it.
"""

from __future__ import annotations

import builtins
import datetime as dt
import re
import warnings
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import Any

import attrs

from backupbridge.plugin import (
    Call,
    Decoder,
    End,
    ListOp,
    Op,
    Page,
    Paging,
    Reply,
    by_attr,
    exchange,
    invalid_for,
    paginate,
)

from .auth import VENDOR as VENDOR
from .auth import VProtectLogin as VProtectLogin
from .auth import decode_error as decode_error
from .auth import make_auth as make_auth
from .records import (
    BackupRecord,
    HypervisorRecord,
    PolicyRecord,
    RuleRecord,
    ScheduleRecord,
    TaskRecord,
    VirtualMachineRecord,
    converter,
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
DIRECTIONS = ("asc", "desc")
Steps = Generator[Call, Reply, Any]
_GUID = by_attr("guid")


_invalid = invalid_for(VENDOR)


def guid(value: object, operation: str, field: str = "guid") -> str:
    if isinstance(value, str) and value.strip() and "/" not in value:
        return value.strip()
    raise _invalid(operation, field, f"{field} must be a non-empty guid; got {value!r}")


def millis(value: object, operation: str, field: str) -> int | None:
    """An epoch-millisecond query value: an aware datetime or an integer."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise _invalid(operation, field, f"{field} must be timezone-aware")
        return int(value.timestamp() * 1000)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _invalid(operation, field, f"{field} must be an aware datetime or epoch milliseconds")


def _choice(value: object, allowed: Sequence[str], operation: str, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.upper() in allowed:
        return value.upper()
    raise _invalid(operation, field, f"{field} must be one of {', '.join(allowed)}; got {value!r}")


def _choices(value: object, allowed: Sequence[str], operation: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value) if isinstance(value, Iterable) else [value]
    return tuple(_choice(v, allowed, operation, field) or "" for v in items)


def _flag(value: object, operation: str, field: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise _invalid(operation, field, f"{field} must be True or False")
    return value


def _count(value: object, operation: str, field: str, minimum: int = 0) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return value
    raise _invalid(operation, field, f"{field} must be an integer >= {minimum}")


def _text(value: object, operation: str, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value:
        return value
    raise _invalid(operation, field, f"{field} must be a non-empty string")


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
        """The query, validated (``ValidationError`` before any request)."""
        texts = {
            "backup-destination": self.backup_destination,
            "backup-rule": self.backup_rule,
            "cloud-service-provider": self.cloud_service_provider,
            "filter": self.filter,
            "hypervisor": self.hypervisor,
            "hypervisor-manager": self.hypervisor_manager,
            "nameLike": self.name_like,
            "node": self.node,
            "orderBy": self.order_by,
            "parent-backup": self.parent_backup,
            "project-uuid": self.project_uuid,
            "protected-entity": self.protected_entity,
            "root-backup": self.root_backup,
            "storage-provider": self.storage_provider,
        }
        params: dict[str, Any] = {key: _text(value, operation, key) for key, value in texts.items()}
        policies = [self.backup_policy] if isinstance(self.backup_policy, str) else list(self.backup_policy)
        params["backup-policy"] = [guid(p, operation, "backup-policy") for p in policies] or None
        params["direction"] = (
            None
            if self.direction is None
            else (_choice(self.direction, ("ASC", "DESC"), operation, "direction") or "").lower()
        )
        params["fail-on-non-successful"] = _flag(self.fail_on_non_successful, operation, "fail-on-non-successful")
        params["only-mountable"] = _flag(self.only_mountable, operation, "only-mountable")
        params["without-hidden"] = _flag(self.without_hidden, operation, "without-hidden")
        params["from"] = millis(self.since, operation, "from")
        params["to"] = millis(self.until, operation, "to")
        params["min-size"] = _count(self.min_size, operation, "min-size")
        params["page"] = _count(self.page, operation, "page")
        params["size"] = _count(self.size, operation, "size", minimum=1)
        params["protected-entity-type"] = _choice(
            self.protected_entity_type, PROTECTED_ENTITY_TYPES, operation, "protected-entity-type"
        )
        params["status"] = list(_choices(self.status, BACKUP_STATUSES, operation, "status")) or None
        params["type"] = _choice(self.type, BACKUP_TYPES, operation, "type")
        if params["from"] is not None and params["to"] is not None and params["from"] > params["to"]:
            raise _invalid(operation, "from", "from is after to")
        return {k: v for k, v in params.items() if v is not None}


def _filters(kwargs: Mapping[str, Any], operation: str) -> dict[str, Any]:
    known = {a.name for a in attrs.fields(BackupFilters)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise _invalid(
            operation, unknown[0], f"unknown backup filter {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )
    return BackupFilters(**kwargs).params(operation)


_DECODER = Decoder(converter, VENDOR)
decode_reply = _DECODER.reply


_COUNT = re.compile(r"[0-9]{1,18}")


def total_count(reply: Reply) -> int | None:
    raw = reply.headers.get("x-total-count")
    if raw is None:
        return None
    # ASCII digits only: ``str.isdigit`` accepts ``²`` (which ``int`` refuses) and ``int`` reads Arabic-Indic digits.
    if not _COUNT.fullmatch(raw.strip()):
        raise reply.decoding_error(f"X-Total-Count is not a count (ASCII digits, at most 18): {raw[:40]!r}")
    return int(raw)


def paged(path: str, params: Mapping[str, Any], typ: Any, operation: str, *, with_raw: bool = False) -> ListOp[Any]:
    """Every page of a listing (or just the one ``page`` asked for), as the docs give vProtect paging:
    ``page`` from 0 and ``size``, a bare array per page and the total in ``X-Total-Count``. The listing ends
    once that many records arrived; a page without the header, a short or empty page before then, a repeated
    page or a ``guid`` seen twice raise ``DecodingError``."""
    one_page = "page" in params
    size = int(params.get("size", PAGE_SIZE))
    start = int(params.get("page", 0))

    def call_at(index: int) -> Call:
        return Call(
            method="GET", path=path, operation=operation, params={**params, "page": start + index, "size": size}
        )

    def parse(reply: Reply, call: Call) -> Page[Any]:
        data = reply.json()
        if not isinstance(data, list):
            raise reply.decoding_error("expected a JSON array")
        records = decode_reply(list[typ], reply, data)
        items = list(zip(records, data, strict=True)) if with_raw else records
        # One page asked for: its own length (at most ``size``) is all that can be checked.
        return Page(items=items, total=None if one_page else total_count(reply))

    end = End.WHOLE if one_page else End.TOTAL
    paging: Paging[Any] = Paging(end=end, page_size=size, page_call=call_at, id_of=_GUID, total_name="X-Total-Count")
    return paginate(call_at(0), parse, paging)


_op = exchange
one = _DECODER.one


def one_pair(call: Call, typ: Any) -> Op[tuple[Any, Any]]:
    """The op of one request whose reply is one ``typ`` record, with the raw JSON it came from."""
    return exchange(call, lambda reply: _DECODER.pair(typ, reply))


def as_json(call: Call) -> Op[Any]:
    return _op(call, lambda reply: reply.json() if reply.content.strip() else None)


def _maybe_record(reply: Reply) -> Any:
    """The docs show 204 No Content *with* a body for the updates: read the body when there is one."""
    return decode_reply(BackupRecord, reply) if reply.content.strip() else None


class Backups:
    """The backups controller."""

    def list_pairs(self, **filters: Any) -> ListOp[tuple[BackupRecord, Any]]:
        return paged("/backups", _filters(filters, "backups.list"), BackupRecord, "backups.list", with_raw=True)

    def list(self, **filters: Any) -> ListOp[BackupRecord]:
        """``GET /backups``: backups matching the filters (``BackupFilters`` lists them)."""
        return paged("/backups", _filters(filters, "backups.list"), BackupRecord, "backups.list")

    def detailed(self, **filters: Any) -> ListOp[BackupRecord]:
        """``GET /backups/detailed``: the same filters, ``BackupDetails`` records."""
        return paged("/backups/detailed", _filters(filters, "backups.detailed"), BackupRecord, "backups.detailed")

    def grouped(self, **filters: Any) -> ListOp[BackupRecord]:
        """``GET /backups/grouped``: the last backup of each group, with counted attempts."""
        return paged("/backups/grouped", _filters(filters, "backups.grouped"), BackupRecord, "backups.grouped")

    def _stats(self, path: str, operation: str, filters: Mapping[str, Any]) -> Op[Any]:
        return as_json(Call(method="GET", path=path, params=_filters(filters, operation), operation=operation))

    def aggregated_statistics(self, **filters: Any) -> Op[Any]:
        """``GET /backups/aggregated-statistics`` (its shape is not documented: parsed JSON)."""
        return self._stats("/backups/aggregated-statistics", "backups.aggregated_statistics", filters)

    def size_statistics(self, **filters: Any) -> Op[Any]:
        """``GET /backups/size-statistics`` (parsed JSON)."""
        return self._stats("/backups/size-statistics", "backups.size_statistics", filters)

    def time_statistics(self, **filters: Any) -> Op[Any]:
        """``GET /backups/time-statistics``: ``TimeBackupStatisticsResponseDto`` rows (parsed JSON)."""
        return self._stats("/backups/time-statistics", "backups.time_statistics", filters)

    def grouped_aggregated_statistics(self, **filters: Any) -> Op[Any]:
        """``GET /backups/grouped/aggregated-statistics``: deprecated by the vendor."""
        warnings.warn("vProtect deprecated /backups/grouped/aggregated-statistics", DeprecationWarning, stacklevel=2)
        return self._stats("/backups/grouped/aggregated-statistics", "backups.grouped_aggregated_statistics", filters)

    def get(self, backup_guid: str) -> Op[BackupRecord]:
        """``GET /backups/{guid}``: the backup's extended details."""
        key = guid(backup_guid, "backups.get")
        return one(Call(method="GET", path=f"/backups/{key}", operation="backups.get"), BackupRecord)

    def for_restore(self, backup_guid: str) -> Op[BackupRecord]:
        """``GET /backups/for-restore/{guid}``: extended details without RBAC filtering."""
        key = guid(backup_guid, "backups.for_restore")
        return one(
            Call(method="GET", path=f"/backups/for-restore/{key}", operation="backups.for_restore"), BackupRecord
        )

    def set_description(self, backup_guid: str, description: str) -> Op[BackupRecord | None]:
        """``PUT /backups/{guid}/description`` with ``{"value": description}``."""
        key = guid(backup_guid, "backups.set_description")
        if not isinstance(description, str):
            raise _invalid("backups.set_description", "description", "description must be a string")
        call = Call(
            method="PUT",
            path=f"/backups/{key}/description",
            json={"value": description},
            operation="backups.set_description",
            idempotent=True,
        )
        return _op(call, _maybe_record)

    def set_warnings(self, backup_guid: str, texts: Sequence[str]) -> Op[BackupRecord | None]:
        """``PUT /backups/{guid}/warnings`` with ``[{"value": text}, ...]`` (StringDTO)."""
        key = guid(backup_guid, "backups.set_warnings")
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise _invalid("backups.set_warnings", "warnings", "warnings must be a list of strings")
        call = Call(
            method="PUT",
            path=f"/backups/{key}/warnings",
            json=[{"value": t} for t in texts],
            operation="backups.set_warnings",
            idempotent=True,
        )
        return _op(call, _maybe_record)

    def acknowledge_warnings(self, backup_guid: str, acknowledged: bool = True) -> Op[BackupRecord | None]:
        """``PUT /backups/{guid}/warnings-acknowledged`` with ``{"value": acknowledged}`` (BooleanDTO)."""
        key = guid(backup_guid, "backups.acknowledge_warnings")
        flag = _flag(acknowledged, "backups.acknowledge_warnings", "acknowledged")
        call = Call(
            method="PUT",
            path=f"/backups/{key}/warnings-acknowledged",
            json={"value": flag},
            operation="backups.acknowledge_warnings",
            idempotent=True,
        )
        return _op(call, _maybe_record)

    def acknowledge_warnings_batch(
        self, backup_guids: Sequence[str], acknowledged: bool = True
    ) -> Op[builtins.list[BackupRecord]]:
        """``PUT /backups/warnings-acknowledged`` for a batch (WarningAcknowledgementRequest)."""
        op = "backups.acknowledge_warnings_batch"
        if isinstance(backup_guids, str) or not backup_guids:
            raise _invalid(op, "backup_guids", "give a non-empty list of backup guids")
        body = {
            "backups": [{"guid": guid(g, op)} for g in backup_guids],
            "value": _flag(acknowledged, op, "acknowledged"),
        }
        call = Call(method="PUT", path="/backups/warnings-acknowledged", json=body, operation=op, idempotent=True)
        return _op(call, lambda reply: decode_reply(list[BackupRecord], reply) if reply.content.strip() else [])

    def transfer_rate(
        self, task_type: str, *, since: Any = None, until: Any = None, protected_entity: str | None = None
    ) -> Op[Any]:
        """``POST /backups/transfer-rate/{task-type}`` with TransferRateQueryParameters (a read)."""
        op = "backups.transfer_rate"
        kind = _choice(task_type, TASK_TYPES, op, "task-type")
        body = {
            k: v
            for k, v in {
                "from": millis(since, op, "from"),
                "to": millis(until, op, "to"),
                "protectedEntity": {"guid": guid(protected_entity, op, "protected_entity")}
                if protected_entity
                else None,
            }.items()
            if v is not None
        }
        return as_json(
            Call(method="POST", path=f"/backups/transfer-rate/{kind}", json=body, operation=op, idempotent=True)
        )

    def _timeline(self, stat: str, entity_type: str, entity_guid: str, since: Any, until: Any) -> Op[Any]:
        op = f"backups.timeline_{stat}"
        kind = _choice(entity_type, PROTECTED_ENTITY_TYPES, op, "type")
        key = guid(entity_guid, op)
        params = {"from": millis(since, op, "from"), "to": millis(until, op, "to")}
        return as_json(
            Call(
                method="GET",
                path=f"/backups/timeline/{stat.replace('_', '-')}/{kind}/{key}",
                params=params,
                operation=op,
            )
        )

    def timeline_size_stats(
        self, entity_type: str, entity_guid: str, *, since: Any = None, until: Any = None
    ) -> Op[Any]:
        """``GET /backups/timeline/size-stats/{type}/{guid}?from=&to=`` (BackupTimelineDto)."""
        return self._timeline("size_stats", entity_type, entity_guid, since, until)

    def timeline_time_stats(
        self, entity_type: str, entity_guid: str, *, since: Any = None, until: Any = None
    ) -> Op[Any]:
        """``GET /backups/timeline/time-stats/{type}/{guid}?from=&to=`` (BackupTimeStatsTimelineDto)."""
        return self._timeline("time_stats", entity_type, entity_guid, since, until)


def _paging(
    operation: str, direction: str | None, order_by: str | None, page: int | None, size: int | None
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "direction": None
        if direction is None
        else (_choice(direction, ("ASC", "DESC"), operation, "direction") or "").lower(),
        "orderBy": _text(order_by, operation, "orderBy"),
        "page": _count(page, operation, "page"),
        "size": _count(size, operation, "size", minimum=1),
    }
    return {k: v for k, v in params.items() if v is not None}


class Policies:
    """Backup policies: ``/policies/vm-backup`` and its siblings (storage-, cloud-, app-backup)."""

    def _kind(self, kind: str, operation: str) -> str:
        if kind not in POLICY_KINDS:
            raise _invalid(operation, "kind", f"kind must be one of {', '.join(POLICY_KINDS)}")
        return kind

    def list_pairs(self, kind: str = "vm-backup", **params: Any) -> ListOp[tuple[PolicyRecord, Any]]:
        return self._list(kind, params, with_raw=True)

    def list(
        self,
        kind: str = "vm-backup",
        *,
        direction: str | None = None,
        extended: bool | None = None,
        filter: str | None = None,
        name_like: str | None = None,
        order_by: str | None = None,
        page: int | None = None,
        project: str | None = None,
        project_uuid: str | None = None,
        size: int | None = None,
        virtual_machine: str | None = None,
    ) -> ListOp[PolicyRecord]:
        """``GET /policies/{kind}`` with its documented parameters."""
        return self._list(
            kind,
            dict(
                direction=direction,
                extended=extended,
                filter=filter,
                name_like=name_like,
                order_by=order_by,
                page=page,
                project=project,
                project_uuid=project_uuid,
                size=size,
                virtual_machine=virtual_machine,
            ),
        )

    def _list(self, kind: str, params: Mapping[str, Any], *, with_raw: bool = False) -> ListOp[Any]:
        op = "policies.list"
        self._kind(kind, op)
        query = _paging(op, params.get("direction"), params.get("order_by"), params.get("page"), params.get("size"))
        query.update(
            {
                k: v
                for k, v in {
                    "extended": _flag(params.get("extended"), op, "extended"),
                    "filter": _text(params.get("filter"), op, "filter"),
                    "nameLike": _text(params.get("name_like"), op, "nameLike"),
                    "project": _text(params.get("project"), op, "project"),
                    "project-uuid": _text(params.get("project_uuid"), op, "project-uuid"),
                    "virtual-machine": _text(params.get("virtual_machine"), op, "virtual-machine"),
                }.items()
                if v is not None
            }
        )
        return paged(f"/policies/{kind}", query, PolicyRecord, op, with_raw=with_raw)

    def get(self, policy_guid: str, kind: str = "vm-backup") -> Op[PolicyRecord]:
        """``GET /policies/{kind}/{guid}``."""
        key = guid(policy_guid, "policies.get")
        return one(
            Call(method="GET", path=f"/policies/{self._kind(kind, 'policies.get')}/{key}", operation="policies.get"),
            PolicyRecord,
        )

    def get_pair(self, policy_guid: str, kind: str = "vm-backup") -> Op[tuple[PolicyRecord, Any]]:
        """``GET /policies/{kind}/{guid}``: the record and its raw JSON (a ``PUT`` sends it back whole)."""
        key = guid(policy_guid, "policies.get")
        return one_pair(
            Call(method="GET", path=f"/policies/{self._kind(kind, 'policies.get')}/{key}", operation="policies.get"),
            PolicyRecord,
        )

    def create(self, payload: Mapping[str, Any], kind: str = "vm-backup") -> Op[PolicyRecord]:
        """``POST /policies/{kind}`` (name required)."""
        if not isinstance(payload, Mapping) or not payload.get("name"):
            raise _invalid("policies.create", "name", "a policy needs a name")
        call = Call(
            method="POST",
            path=f"/policies/{self._kind(kind, 'policies.create')}",
            json=dict(payload),
            operation="policies.create",
        )
        return one(call, PolicyRecord)

    def update(self, policy_guid: str, payload: Mapping[str, Any], kind: str = "vm-backup") -> Op[PolicyRecord]:
        """``PUT /policies/{kind}/{guid}``."""
        key = guid(policy_guid, "policies.update")
        if not isinstance(payload, Mapping):
            raise _invalid("policies.update", "payload", "the payload must be a mapping")
        call = Call(
            method="PUT",
            path=f"/policies/{self._kind(kind, 'policies.update')}/{key}",
            json=dict(payload),
            operation="policies.update",
        )
        return one(call, PolicyRecord)

    def delete(self, policy_guid: str, kind: str = "vm-backup") -> Op[None]:
        """``DELETE /policies/{kind}/{guid}``."""
        key = guid(policy_guid, "policies.delete")
        return _op(
            Call(
                method="DELETE",
                path=f"/policies/{self._kind(kind, 'policies.delete')}/{key}",
                operation="policies.delete",
            ),
            lambda reply: None,
        )

    def auto_assignment_preview(self, payload: Mapping[str, Any]) -> Op[Any]:
        """``POST /policies/vm-backup/auto-assignment-preview``."""
        if not isinstance(payload, Mapping):
            raise _invalid("policies.auto_assignment_preview", "payload", "the payload must be a mapping")
        return as_json(
            Call(
                method="POST",
                path="/policies/vm-backup/auto-assignment-preview",
                json=dict(payload),
                operation="policies.auto_assignment_preview",
                idempotent=True,
            )
        )


class Rules:
    def get(self, rule_guid: str, *, only_active_destinations: bool | None = None) -> Op[RuleRecord]:
        """``GET /rules/vm-backup/{guid}?only-active-destinations=``."""
        key = guid(rule_guid, "rules.get")
        params = {"only-active-destinations": _flag(only_active_destinations, "rules.get", "only-active-destinations")}
        return one(Call(method="GET", path=f"/rules/vm-backup/{key}", params=params, operation="rules.get"), RuleRecord)

    def create(self, name: str, policy_guid: str, schedule_guids: Sequence[str]) -> Op[RuleRecord]:
        """``POST /rules/vm-backup`` with ``{name, schedules: [{guid}], policy: {guid}}``."""
        op = "rules.create"
        body = {
            "name": _text(name, op, "name"),
            "policy": {"guid": guid(policy_guid, op, "policy")},
            "schedules": [{"guid": guid(s, op, "schedules")} for s in schedule_guids],
        }
        return one(Call(method="POST", path="/rules/vm-backup", json=body, operation=op), RuleRecord)


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
        return paged(
            "/schedules", _paging("schedules.list", direction, order_by, page, size), ScheduleRecord, "schedules.list"
        )

    def get(self, schedule_guid: str) -> Op[ScheduleRecord]:
        """``GET /schedules/{guid}``."""
        key = guid(schedule_guid, "schedules.get")
        return one(Call(method="GET", path=f"/schedules/{key}", operation="schedules.get"), ScheduleRecord)

    def get_pair(self, schedule_guid: str) -> Op[tuple[ScheduleRecord, Any]]:
        """``GET /schedules/{guid}``: the record and its raw JSON (a ``PUT`` sends it back whole)."""
        key = guid(schedule_guid, "schedules.get")
        return one_pair(Call(method="GET", path=f"/schedules/{key}", operation="schedules.get"), ScheduleRecord)

    def create(self, payload: Mapping[str, Any]) -> Op[ScheduleRecord]:
        """``POST /schedules`` (name and executionType required)."""
        if not isinstance(payload, Mapping) or not payload.get("name") or not payload.get("executionType"):
            raise _invalid("schedules.create", "name", "a schedule needs a name and an executionType")
        return one(
            Call(method="POST", path="/schedules", json=dict(payload), operation="schedules.create"), ScheduleRecord
        )

    def update(self, schedule_guid: str, payload: Mapping[str, Any]) -> Op[ScheduleRecord]:
        """``PUT /schedules/{guid}``."""
        key = guid(schedule_guid, "schedules.update")
        if not isinstance(payload, Mapping):
            raise _invalid("schedules.update", "payload", "the payload must be a mapping")
        return one(
            Call(method="PUT", path=f"/schedules/{key}", json=dict(payload), operation="schedules.update"),
            ScheduleRecord,
        )

    def delete(self, schedule_guid: str) -> Op[None]:
        """``DELETE /schedules/{guid}``."""
        key = guid(schedule_guid, "schedules.delete")
        return _op(Call(method="DELETE", path=f"/schedules/{key}", operation="schedules.delete"), lambda reply: None)


class VirtualMachines:
    def list_pairs(self) -> ListOp[tuple[VirtualMachineRecord, Any]]:
        return paged("/virtual-machines", {}, VirtualMachineRecord, "virtual_machines.list", with_raw=True)

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
        params = _paging("virtual_machines.list", direction, order_by, page, size)
        if tenant_id is not None:
            params["tenantid"] = _text(tenant_id, "virtual_machines.list", "tenantid")
        return paged("/virtual-machines", params, VirtualMachineRecord, "virtual_machines.list")

    def detailed(self, *, filter: str | None = None) -> ListOp[VirtualMachineRecord]:
        """``GET /virtual-machines/detailed?filter=``."""
        params = {"filter": _text(filter, "virtual_machines.detailed", "filter")} if filter is not None else {}
        return paged("/virtual-machines/detailed", params, VirtualMachineRecord, "virtual_machines.detailed")

    def get(self, vm_guid: str) -> Op[VirtualMachineRecord]:
        """``GET /virtual-machines/{guid}``."""
        key = guid(vm_guid, "virtual_machines.get")
        return one(
            Call(method="GET", path=f"/virtual-machines/{key}", operation="virtual_machines.get"), VirtualMachineRecord
        )

    def get_pair(self, vm_guid: str) -> Op[tuple[VirtualMachineRecord, Any]]:
        """``GET /virtual-machines/{guid}``: the record and its raw JSON."""
        key = guid(vm_guid, "virtual_machines.get")
        return one_pair(
            Call(method="GET", path=f"/virtual-machines/{key}", operation="virtual_machines.get"), VirtualMachineRecord
        )


class Hypervisors:
    def list(self) -> ListOp[HypervisorRecord]:
        """``GET /hypervisors``."""
        return paged("/hypervisors", {}, HypervisorRecord, "hypervisors.list")


class Tasks:
    def list_pairs(self, **filters: Any) -> ListOp[tuple[TaskRecord, Any]]:
        return paged("/tasks", self._params(**filters), TaskRecord, "tasks.list", with_raw=True)

    def _params(
        self,
        *,
        protected_entity: str | None = None,
        backup: str | None = None,
        schedule: str | None = None,
        state: str | None = None,
        type: str | None = None,
        tenant_id: str | None = None,
    ) -> dict[str, Any]:
        op = "tasks.list"
        params = {
            "protectedEntity": _text(protected_entity, op, "protectedEntity"),
            "backup": _text(backup, op, "backup"),
            "schedule": _text(schedule, op, "schedule"),
            "state": _choice(state, TASK_STATES, op, "state"),
            "type": _choice(type, TASK_TYPES, op, "type"),
            "tenantId": _text(tenant_id, op, "tenantId"),
        }
        return {k: v for k, v in params.items() if v is not None}

    def list(self, **filters: Any) -> ListOp[TaskRecord]:
        """``GET /tasks`` filtered by protected_entity, backup, schedule, state, type, tenant_id."""
        return paged("/tasks", self._params(**filters), TaskRecord, "tasks.list")

    def get(self, task_guid: str) -> Op[TaskRecord]:
        """``GET /tasks/{guid}``."""
        key = guid(task_guid, "tasks.get")
        return one(Call(method="GET", path=f"/tasks/{key}", operation="tasks.get"), TaskRecord)

    def export(
        self,
        protected_entities: Sequence[str],
        backup_destination: str,
        *,
        backup_type: str = "INCREMENTAL",
        priority: int = 50,
        window_start: Any = None,
        window_end: Any = None,
    ) -> Op[Any]:
        """``POST /tasks/export``: start backups (one export task per entity). Never retried."""
        op = "tasks.export"
        if isinstance(protected_entities, str) or not protected_entities:
            raise _invalid(op, "protected_entities", "give a non-empty list of protected entity guids")
        body = {
            "protectedEntities": [{"guid": guid(g, op, "protected_entities")} for g in protected_entities],
            "backupDestination": {"guid": guid(backup_destination, op, "backup_destination")},
            "backupType": _choice(backup_type, ("FULL", "INCREMENTAL"), op, "backupType"),
            "priority": _count(priority, op, "priority"),
            "windowStart": millis(window_start, op, "windowStart"),
            "windowEnd": millis(window_end, op, "windowEnd"),
        }
        return as_json(
            Call(
                method="POST", path="/tasks/export", json={k: v for k, v in body.items() if v is not None}, operation=op
            )
        )


class Session:
    def check(self) -> Op[bool]:
        """``GET /session``: True when the session is valid (204)."""
        return _op(
            Call(method="GET", path="/session", operation="session.check"), lambda reply: reply.status_code == 204
        )


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
