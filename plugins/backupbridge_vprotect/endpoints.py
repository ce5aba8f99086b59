"""vProtect's endpoints, each declared once: method and path, every documented parameter with its check and
its wire name, the record, the shape of the reply. The controllers in client.py call these declarations.

Lists page with ``page`` (from 0) and ``size``, a bare array per page and the total in ``X-Total-Count``
(``PAGES``); a listing ends once that many records arrived, and raises ``DecodingError`` when the pages do
not add up to it. A listing given ``page`` is that one page (``Listing``). Replies whose shape the docs do
not give (statistics, timelines, transfer rates, export tasks) are declared ``API.json``: parsed JSON.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from backupbridge import DecodingError
from backupbridge.plugin import (
    Call,
    Check,
    Decoder,
    End,
    Json,
    ListOp,
    Many,
    NoContent,
    Paged,
    Pages,
    Param,
    Raw,
    Refused,
    Reply,
    Service,
    WholeBody,
    choice,
    flag,
    integer,
    mapped,
    whole_body,
)

from .auth import VENDOR
from .checks import (
    BACKUP_STATUSES,
    BACKUP_TYPES,
    PAGE_SIZE,
    POLICY_KINDS,
    PROTECTED_ENTITY_TYPES,
    TASK_STATES,
    TASK_TYPES,
    choices,
    direction,
    guid_check,
    guid_list,
    guids,
    mapping_of,
    millis_check,
    nonempty,
    ref,
    refs,
    text_value,
    texts,
)
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

T = TypeVar("T")
V = TypeVar("V")

API = Service(VENDOR, converter)
"""The vProtect API: bare JSON bodies (no envelope), lists paged with ``X-Total-Count``."""

GUID = Param(guid_check, field="guid")
COUNT = integer(minimum=0)
SIZE = integer(minimum=1)
PAGE = {"page": Param(COUNT), "size": Param(SIZE)}
ORDER = {"direction": Param(direction), "order_by": Param(nonempty, wire="orderBy")}
KIND = Param(choice(*POLICY_KINDS), field="kind")


# -- paging -------------------------------------------------------------------------------------------------

_COUNT = re.compile(r"[0-9]{1,18}")


def total_count(reply: Reply) -> int | None:
    raw = reply.headers.get("x-total-count")
    if raw is None:
        return None
    # ASCII digits only: ``str.isdigit`` accepts ``²`` (which ``int`` refuses) and ``int`` reads Arabic-Indic digits.
    if not _COUNT.fullmatch(raw.strip()):
        raise reply.decoding_error(f"X-Total-Count is not a count (ASCII digits, at most 18): {raw[:40]!r}")
    return int(raw)


PAGES = Pages(
    end=End.TOTAL,
    params=lambda index, size: {"page": index, "size": size},
    size=PAGE_SIZE,
    max_size=2**31 - 1,
    total=lambda reply, data: total_count(reply),
    total_name="X-Total-Count",
)
"""vProtect paging, as the docs give it: ``page`` from 0 and ``size``, a bare array per page, the total in
``X-Total-Count``; a page without the header, a short or empty page before the total, a repeated page or a
``guid`` seen twice raise ``DecodingError``."""


@attrs.frozen
class Listing(Generic[T]):
    """One listing declared twice over: every page (``every``), or, with ``page``, that one page (``one``:
    at most ``size`` records, no repeated guid). ``size`` is the page size either way."""

    every: Paged[T]
    one: Many[T]

    def pairs(self, /, *, page: object = None, size: object = None, **given: object) -> ListOp[tuple[T, Raw]]:
        """The listing as ``(record, raw JSON)`` pairs."""
        checked = API.argument(self.every.operation, "size", size, SIZE)
        if page is None:
            return self.every.pairs(page_size=checked, **given)
        size = checked or PAGE_SIZE
        call = self.one.call(page=page, size=size, **given)
        return _at_most(self.one.pairs(page=page, size=size, **given), size, call)

    def __call__(self, /, *, page: object = None, size: object = None, **given: object) -> ListOp[T]:
        """The listing's records."""
        return then_records(self.pairs(page=page, size=size, **given))


def _first(pair: tuple[T, Raw]) -> T:
    return pair[0]


def then_records(listing: ListOp[tuple[T, Raw]]) -> ListOp[T]:
    """The records of a listing of ``(record, raw JSON)`` pairs."""
    return mapped(listing, _first)


def _at_most(listing: ListOp[V], size: int, call: Call) -> ListOp[V]:
    """``listing`` (the one page ``call`` asks for), refused when it holds more than ``size`` records."""

    def steps() -> Any:
        count = itertools.count(1)

        def within(item: V) -> V:
            if next(count) > size:
                raise DecodingError(
                    f"page 1 holds more records than the {size} asked for",
                    endpoint=call.endpoint,
                    vendor=VENDOR,
                    operation=call.operation,
                )
            return item

        yield from mapped(listing, within).steps

    return ListOp(listing.operation, steps)


def listing(
    route: str,
    record: type[T],
    operation: str,
    *,
    path: Mapping[str, Param] | None = None,
    query: Mapping[str, Any] | None = None,
    validate: Callable[[Mapping[str, Any]], None] | None = None,
) -> Listing[T]:
    """A paged vProtect listing of ``record`` (ids: ``guid``)."""
    every = API.paged(route, record, operation, pages=PAGES, id="guid", path=path, query=query, validate=validate)
    one = API.many(route, record, operation, id="guid", path=path, query={**(query or {}), **PAGE}, validate=validate)
    return Listing(every, one)


def paged(path: str, params: Mapping[str, Any], typ: Any, operation: str, *, with_raw: bool = False) -> ListOp[Any]:
    """A listing of ``path`` declared on the spot, its query ``params`` already in wire form (``page`` asks
    for that one page, ``size`` sets the page size): for paths the controllers do not declare."""
    rest = {name: value for name, value in params.items() if name not in PAGE}
    declared = listing(f"GET {path}", typ, operation, query={name: Param(_as_is, wire=name) for name in rest})
    page, size = params.get("page"), params.get("size")
    return declared.pairs(page=page, size=size, **rest) if with_raw else declared(page=page, size=size, **rest)


def _as_is(value: object, field: str) -> object:
    return value


# -- replies with or without a body ---------------------------------------------------------------------

_DECODER = Decoder(converter, VENDOR)


def maybe_backup(reply: Reply) -> BackupRecord | None:
    """The docs show 204 No Content *with* a body for the updates: the record when there is a body."""
    return _DECODER.reply(BackupRecord, reply) if reply.content.strip() else None


def maybe_backups(reply: Reply) -> list[BackupRecord]:
    """The batch update's records, when its reply has a body."""
    return _DECODER.reply(list[BackupRecord], reply) if reply.content.strip() else []


def _window(args: Mapping[str, Any]) -> None:
    since, until = args.get("since"), args.get("until")
    if since is not None and until is not None and since > until:
        raise Refused("from is after to", field="from")


def _sends(message: str, field: str, *required: str) -> WholeBody:
    """A JSON body that is the caller's ``payload`` mapping, holding every ``required`` key."""
    return whole_body(Param(mapping_of(message, field=field, required=required), required=True, field=field))


# -- the declarations -----------------------------------------------------------------------------------------

TEXT = Param(nonempty)
SINCE, UNTIL = Param(millis_check, wire="from"), Param(millis_check, wire="to")
BACKUP_QUERY: dict[str, Param] = {
    "backup_destination": Param(nonempty, wire="backup-destination"),
    "backup_policy": Param(guids, wire="backup-policy"),
    "backup_rule": Param(nonempty, wire="backup-rule"),
    "cloud_service_provider": Param(nonempty, wire="cloud-service-provider"),
    "direction": Param(direction),
    "fail_on_non_successful": Param(flag, wire="fail-on-non-successful"),
    "filter": TEXT,
    "since": SINCE,
    "hypervisor": TEXT,
    "hypervisor_manager": Param(nonempty, wire="hypervisor-manager"),
    "min_size": Param(COUNT, wire="min-size"),
    "name_like": Param(nonempty, wire="nameLike"),
    "node": TEXT,
    "only_mountable": Param(flag, wire="only-mountable"),
    "order_by": Param(nonempty, wire="orderBy"),
    "parent_backup": Param(nonempty, wire="parent-backup"),
    "project_uuid": Param(nonempty, wire="project-uuid"),
    "protected_entity": Param(nonempty, wire="protected-entity"),
    "protected_entity_type": Param(choice(*PROTECTED_ENTITY_TYPES, upper=True), wire="protected-entity-type"),
    "root_backup": Param(nonempty, wire="root-backup"),
    "status": Param(choices(*BACKUP_STATUSES)),
    "storage_provider": Param(nonempty, wire="storage-provider"),
    "until": UNTIL,
    "type": Param(choice(*BACKUP_TYPES, upper=True)),
    "without_hidden": Param(flag, wire="without-hidden"),
}
"""The query parameters the backup listings and statistics share (``BackupFilters`` names them)."""

BACKUPS = listing("GET /backups", BackupRecord, "backups.list", query=BACKUP_QUERY, validate=_window)
BACKUPS_DETAILED = listing(
    "GET /backups/detailed", BackupRecord, "backups.detailed", query=BACKUP_QUERY, validate=_window
)
BACKUPS_GROUPED = listing("GET /backups/grouped", BackupRecord, "backups.grouped", query=BACKUP_QUERY, validate=_window)


def _statistics(route: str, operation: str) -> Json:
    return API.json(route, operation, query={**BACKUP_QUERY, **PAGE}, validate=_window)


BACKUP_STATISTICS = {
    "aggregated": _statistics("GET /backups/aggregated-statistics", "backups.aggregated_statistics"),
    "size": _statistics("GET /backups/size-statistics", "backups.size_statistics"),
    "time": _statistics("GET /backups/time-statistics", "backups.time_statistics"),
    "grouped_aggregated": _statistics(
        "GET /backups/grouped/aggregated-statistics", "backups.grouped_aggregated_statistics"
    ),
}
"""The statistics endpoints (their reply shapes are not documented: read as parsed JSON)."""

GET_BACKUP = API.one("GET /backups/{guid}", BackupRecord, "backups.get", path={"guid": GUID})
BACKUP_FOR_RESTORE = API.one(
    "GET /backups/for-restore/{guid}", BackupRecord, "backups.for_restore", path={"guid": GUID}
)


def _set_value(route: str, operation: str, name: str, check: Check) -> NoContent:
    """A PUT on one backup whose body is one value wrapped as ``{"value": ...}`` (the docs' DTOs of one
    field), the argument ``name`` required and checked by ``check``; idempotent (it sets, never adds)."""
    body = {name: Param(check, wire="value", required=True, field=name)}
    return API.none(route, operation, path={"guid": GUID}, body=body, idempotent=True)


SET_DESCRIPTION = _set_value("PUT /backups/{guid}/description", "backups.set_description", "description", text_value)
SET_WARNINGS = API.none(
    "PUT /backups/{guid}/warnings",
    "backups.set_warnings",
    path={"guid": GUID},
    args={"texts": Param(texts, required=True, field="warnings")},
    body=lambda args: [{"value": t} for t in args["texts"]],
    idempotent=True,
)
ACKNOWLEDGE_WARNINGS = _set_value(
    "PUT /backups/{guid}/warnings-acknowledged", "backups.acknowledge_warnings", "acknowledged", flag
)
ACKNOWLEDGE_WARNINGS_BATCH = API.none(
    "PUT /backups/warnings-acknowledged",
    "backups.acknowledge_warnings_batch",
    args={
        "backup_guids": Param(guid_list, required=True, field="backup_guids"),
        "acknowledged": Param(flag, required=True, field="acknowledged"),
    },
    body=lambda args: {"backups": [{"guid": g} for g in args["backup_guids"]], "value": args["acknowledged"]},
    idempotent=True,
)
TRANSFER_RATE = API.json(
    "POST /backups/transfer-rate/{task_type}",
    "backups.transfer_rate",
    path={"task_type": Param(choice(*TASK_TYPES, upper=True), field="task-type")},
    body={
        "since": SINCE,
        "until": UNTIL,
        "protected_entity": Param(ref, wire="protectedEntity", field="protected_entity"),
    },
    idempotent=True,  # a read, though a POST
)
ENTITY_TYPE = Param(choice(*PROTECTED_ENTITY_TYPES, upper=True), field="type")
TIMELINE_SIZE_STATS = API.json(
    "GET /backups/timeline/size-stats/{kind}/{guid}",
    "backups.timeline_size_stats",
    path={"kind": ENTITY_TYPE, "guid": GUID},
    query={"since": SINCE, "until": UNTIL},
)
TIMELINE_TIME_STATS = API.json(
    "GET /backups/timeline/time-stats/{kind}/{guid}",
    "backups.timeline_time_stats",
    path={"kind": ENTITY_TYPE, "guid": GUID},
    query={"since": SINCE, "until": UNTIL},
)

POLICIES = listing(
    "GET /policies/{kind}",
    PolicyRecord,
    "policies.list",
    path={"kind": KIND},
    query={
        **ORDER,
        "extended": Param(flag),
        "filter": TEXT,
        "name_like": Param(nonempty, wire="nameLike"),
        "project": TEXT,
        "project_uuid": Param(nonempty, wire="project-uuid"),
        "virtual_machine": Param(nonempty, wire="virtual-machine"),
    },
)
GET_POLICY = API.one("GET /policies/{kind}/{guid}", PolicyRecord, "policies.get", path={"kind": KIND, "guid": GUID})
CREATE_POLICY = API.one(
    "POST /policies/{kind}",
    PolicyRecord,
    "policies.create",
    path={"kind": KIND},
    **_sends("a policy needs a name", "name", "name"),
)
UPDATE_POLICY = API.one(
    "PUT /policies/{kind}/{guid}",
    PolicyRecord,
    "policies.update",
    path={"kind": KIND, "guid": GUID},
    **_sends("the payload must be a mapping", "payload"),
)
DELETE_POLICY = API.none("DELETE /policies/{kind}/{guid}", "policies.delete", path={"kind": KIND, "guid": GUID})
AUTO_ASSIGNMENT_PREVIEW = API.json(
    "POST /policies/vm-backup/auto-assignment-preview",
    "policies.auto_assignment_preview",
    **_sends("the payload must be a mapping", "payload"),
    idempotent=True,  # a preview: nothing changes
)

GET_RULE = API.one(
    "GET /rules/vm-backup/{guid}",
    RuleRecord,
    "rules.get",
    path={"guid": GUID},
    query={"only_active_destinations": Param(flag, wire="only-active-destinations")},
)
CREATE_RULE = API.one(
    "POST /rules/vm-backup",
    RuleRecord,
    "rules.create",
    body={
        "name": Param(nonempty, required=True),
        "policy": Param(ref, required=True),
        "schedules": Param(refs("schedule guids"), required=True),
    },
)

SCHEDULES = listing("GET /schedules", ScheduleRecord, "schedules.list", query=ORDER)
GET_SCHEDULE = API.one("GET /schedules/{guid}", ScheduleRecord, "schedules.get", path={"guid": GUID})
CREATE_SCHEDULE = API.one(
    "POST /schedules",
    ScheduleRecord,
    "schedules.create",
    **_sends("a schedule needs a name and an executionType", "name", "name", "executionType"),
)
UPDATE_SCHEDULE = API.one(
    "PUT /schedules/{guid}",
    ScheduleRecord,
    "schedules.update",
    path={"guid": GUID},
    **_sends("the payload must be a mapping", "payload"),
)
DELETE_SCHEDULE = API.none("DELETE /schedules/{guid}", "schedules.delete", path={"guid": GUID})

VIRTUAL_MACHINES = listing(
    "GET /virtual-machines",
    VirtualMachineRecord,
    "virtual_machines.list",
    query={**ORDER, "tenant_id": Param(nonempty, wire="tenantid")},
)
VIRTUAL_MACHINES_DETAILED = listing(
    "GET /virtual-machines/detailed", VirtualMachineRecord, "virtual_machines.detailed", query={"filter": TEXT}
)
GET_VIRTUAL_MACHINE = API.one(
    "GET /virtual-machines/{guid}", VirtualMachineRecord, "virtual_machines.get", path={"guid": GUID}
)

HYPERVISORS = listing("GET /hypervisors", HypervisorRecord, "hypervisors.list")

TASKS = listing(
    "GET /tasks",
    TaskRecord,
    "tasks.list",
    query={
        "protected_entity": Param(nonempty, wire="protectedEntity"),
        "backup": TEXT,
        "schedule": TEXT,
        "state": Param(choice(*TASK_STATES, upper=True)),
        "type": Param(choice(*TASK_TYPES, upper=True)),
        "tenant_id": Param(nonempty, wire="tenantId"),
    },
)
GET_TASK = API.one("GET /tasks/{guid}", TaskRecord, "tasks.get", path={"guid": GUID})
EXPORT = API.json(
    "POST /tasks/export",
    "tasks.export",
    body={
        "protected_entities": Param(
            refs("protected entity guids", nonempty_list=True),
            wire="protectedEntities",
            required=True,
            field="protected_entities",
        ),
        "backup_destination": Param(ref, wire="backupDestination", required=True, field="backup_destination"),
        "backup_type": Param(choice("FULL", "INCREMENTAL", upper=True), wire="backupType"),
        "priority": Param(COUNT),
        "window_start": Param(millis_check, wire="windowStart"),
        "window_end": Param(millis_check, wire="windowEnd"),
    },
)  # never retried: each export starts backups

SESSION = API.none("GET /session", "session.check")
