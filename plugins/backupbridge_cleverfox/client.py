"""The CleverFox Backup API client: every resource of the docs, with every documented operation.

Resources hang off the client as groups: ``conn.vendor.devices.list()``, ``conn.vendor.devices.lookup(
external_id)``, ``conn.vendor.companies.create({...})``. Lists page with ``PageNo``/``PageSize`` until a short
page, confirmed by an empty page after it (a short or repeated page before the end, a duplicate id or a
stated page size bigger than asked raise ``DecodingError``); single objects come in a ``{"data": {...}}``
envelope. Every POST and PUT carries a duplicate-prevention ``Token`` (the caller's, or a generated GUID), so
a write may be retried after a connection error or a 5xx, always with the same Token; a 409 on such a retry
means the first attempt was applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Mapping
from typing import Any, Generic, TypeVar

from backupbridge import BackupBridgeError, ConflictError, NotFoundError
from backupbridge.plugin import (
    Call,
    Check,
    End,
    ListOp,
    Op,
    Pages,
    Param,
    Raw,
    Refused,
    Reply,
    Request,
    Service,
    find,
    returning,
    text,
)

from .auth import BASE_URL as BASE_URL
from .auth import VENDOR as VENDOR
from .auth import decode_error as decode_error
from .auth import make_auth as make_auth
from .records import (
    BackupTypeRecord,
    CompanyRecord,
    CompanyUserRecord,
    DeviceRecord,
    EventRecord,
    JobItemRecord,
    JobRecord,
    LogItemRecord,
    LogRecord,
    PartnerRecord,
    PartnerUserRecord,
    PlanRecord,
    PlanTypeRecord,
    SubscriptionRecord,
    TimeZoneRecord,
    converter,
)
from .schema import RESOURCES, ResourceSpec, payload_problems

__all__ = ["API", "BASE_URL", "DEFAULT_PAGE_SIZE", "PAGES", "VENDOR", "CleverFoxAPI", "decode_error", "make_auth"]

DEFAULT_PAGE_SIZE = 100
TOKEN_LENGTH = 50

R = TypeVar("R")

API = Service(VENDOR, converter, envelope="data")
"""The CleverFox API: every reply's payload sits in a ``{"data": ...}`` envelope."""


def record_id(value: object, field: str) -> int:
    """A CleverFox id: a positive integer (ints or digit strings accepted)."""
    if isinstance(value, bool):
        raise Refused(f"{field} must be an integer id")
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
        return int(value)
    raise Refused(f"{field} must be a positive integer id; got {value!r}")


def _page_number(reply: Reply, call: Call, envelope: object) -> None:
    requested = call.params["PageNo"]
    stated = envelope.get("page_no", requested) if isinstance(envelope, Mapping) else requested
    if stated != requested:
        raise reply.decoding_error(f"asked for page {requested}, got page {stated}")


def _stated_size(reply: Reply, envelope: object) -> int | None:
    stated = envelope.get("page_size") if isinstance(envelope, Mapping) else None
    if stated is not None and (not isinstance(stated, int) or isinstance(stated, bool) or stated <= 0):
        raise reply.decoding_error("page_size is not a positive integer")
    return stated


PAGES = Pages(
    end=End.SHORT_PAGE,
    params=lambda index, size: {"PageNo": index + 1, "PageSize": size},
    size=DEFAULT_PAGE_SIZE,
    max_size=1000,
    stated_size=_stated_size,
    check=_page_number,
)
"""CleverFox paging, as the docs give it: ``PageNo`` from 1 and ``PageSize`` (at most 1000), no total and no
next link, so a listing ends on a page shorter than asked (confirmed by an empty page after it); each page
states its ``page_no`` and ``page_size``, which must be the ones asked for."""


def _id(field: str) -> dict[str, Param]:
    return {"id": Param(record_id, field=field)}


def _mapping(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Refused("the payload must be a mapping of CleverFox attributes")
    return value


def _token(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > TOKEN_LENGTH:
        raise Refused(f"Token must be a string of 1 to {TOKEN_LENGTH} characters", field="Token")
    return value


def _as_given(value: object, field: str) -> object:
    return value


WRITE_ARGS: dict[str, Param | Check] = {"payload": Param(_mapping, required=True), "token": _as_given}
"""A write's arguments: the attributes, and the Token (checked with the payload's own in ``_body``)."""


def _conflict(exc: ConflictError, message: str) -> ConflictError:
    error = ConflictError(
        message,
        status_code=exc.status_code,
        method=exc.method,
        url=exc.url,
        vendor=VENDOR,
        operation=exc.operation,
        vendor_code=exc.vendor_code,
        vendor_message=exc.vendor_message,
        errors=exc.errors,
    )
    error.attempts = exc.attempts
    return error


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


class Listing(Generic[R]):
    """A CleverFox resource that can only be listed: ``GET /<resource>``, paged."""

    def __init__(self, spec: ResourceSpec, record: type[R]) -> None:
        self.spec = spec
        self.record = record
        self._id_attr = _snake(spec.id_field)
        self._list = API.paged(f"GET {spec.path}", record, self._op("list"), pages=PAGES, id=self._id_attr)

    def _op(self, verb: str) -> str:
        return f"{self.spec.name}.{verb}"

    def list_pairs(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> ListOp[tuple[R, Raw]]:
        """``list``, each record beside its raw JSON."""
        return self._list.pairs(page_size=page_size)

    def list(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> ListOp[R]:
        """``GET /<resource>?PageNo=&PageSize=``: every record, page by page (newest first)."""
        return self._list(page_size=page_size)


class Resource(Listing[R]):
    """A read-only CleverFox resource: ``list()`` and ``get(id)``."""

    def __init__(self, spec: ResourceSpec, record: type[R]) -> None:
        super().__init__(spec, record)
        self._get = API.one(f"GET {spec.path}/{{id}}", record, self._op("get"), path=_id(spec.id_field))
        self._create = API.one(
            f"POST {spec.path}",
            record,
            self._op("create"),
            args=WRITE_ARGS,
            body=lambda args: self._body(args, "POST", "create"),
            idempotent=True,
            rescue=self._rescue("create"),
        )
        self._update = API.one(
            f"PUT {spec.path}/{{id}}",
            record,
            self._op("update"),
            path=_id(spec.id_field),
            args=WRITE_ARGS,
            body=lambda args: self._body(args, "PUT", "update"),
            idempotent=True,
            rescue=self._rescue("update"),
        )

    def get_call(self, record_id_value: int | str) -> Call:
        """The request ``get`` sends."""
        return self._get.call(id=record_id_value)

    def get_pair(self, record_id_value: int | str) -> Op[tuple[R, Raw]]:
        """``get``, the record beside its raw JSON."""
        return self._get.pair(id=record_id_value)

    def get(self, record_id_value: int | str) -> Op[R]:
        """``GET /<resource>/{id}``: one record; ``NotFoundError`` for an unknown id."""
        return self._get(id=record_id_value)

    # -- writes ------------------------------------------------------------------------------

    def _body(self, args: Mapping[str, Any], method: str, verb: str) -> dict[str, Any]:
        """The payload with its duplicate-prevention Token (the caller's, the payload's or a new GUID: one per
        op, so each retry and each run of the op carries the same one), held to the attribute table."""
        body = dict(args["payload"])
        body["Token"] = _token(args["token"] or body.get("Token") or str(uuid.uuid4()), "Token")
        problems = payload_problems(self.spec, body, method=method)
        if problems:
            listed = "; ".join(message for _, message in problems)
            raise Refused(f"invalid {self.spec.name} {verb}: {listed}", field=problems[0][0])
        return body

    def _lookup_external(self, external_id: str) -> Generator[Call, Reply, tuple[R, Raw] | None]:
        """The record with this ExternalId, by paging the listing (newest first) only as far as needed."""
        return (yield from find(self.list_pairs(), lambda pair: getattr(pair[0], "external_id", None) == external_id))

    def _settle(self, existing: int | None, body: Mapping[str, Any]) -> Generator[Call, Reply, R | None]:
        """The record a write changed (by its id) or made (by the ExternalId it was given), read back."""
        if existing is not None:
            return (yield from self._get(id=existing))
        external = body.get("ExternalId")
        if external and self.spec.external_id:
            found = yield from self._lookup_external(external)
            if found is not None:
                return found[0]
        return None

    def _rescue(self, verb: str) -> Callable[[BackupBridgeError, Request], Op[R] | None]:
        def rescue(exc: BackupBridgeError, request: Request) -> Op[R] | None:
            if not isinstance(exc, ConflictError):
                return None
            body = request.call.json
            if exc.attempts <= 1:
                raise _conflict(
                    exc,
                    f"CleverFox refused a duplicate: a request with Token {body['Token']!r} "
                    "was applied in the last 60 minutes",
                ) from exc

            # The retry (same Token) was refused as a duplicate: the first attempt was applied.
            def steps() -> Generator[Call, Reply, R]:
                found = yield from self._settle(request.args.get("id"), body)
                if found is None:
                    raise _conflict(
                        exc,
                        f"the first {verb} attempt was applied (CleverFox answered 409 to the retry with the same "
                        "Token), but the new record cannot be fetched without an ExternalId",
                    ) from exc
                return found

            return Op(request.call.operation, steps)

        return rescue

    def _write(self, request: Request, write: Op[R]) -> Op[R]:
        def steps() -> Generator[Call, Reply, R]:
            record = yield from write
            if getattr(record, self._id_attr, None) is None:
                # The docs' create example answers only the writable fields: fetch the whole record.
                found = yield from self._settle(request.args.get("id"), request.call.json)
                if found is not None:
                    return found
            return record

        return Op(write.operation, steps)


class Updatable(Resource[R]):
    def update(self, record_id_value: int | str, changes: Mapping[str, object], *, token: str | None = None) -> Op[R]:
        """``PUT /<resource>/{id}``: change writable attributes; returns the updated record."""
        request = self._update.request(id=record_id_value, payload=changes, token=token)
        return self._write(request, self._update.of(request))


class Writable(Updatable[R]):
    def create(self, payload: Mapping[str, object], *, token: str | None = None) -> Op[R]:
        """``POST /<resource>``: create a record; required attributes are checked before sending."""
        request = self._create.request(payload=payload, token=token)
        return self._write(request, self._create.of(request))


def _gone_on_retry(exc: BackupBridgeError, request: Request) -> Op[None] | None:
    """A 404 to a retried DELETE: the first attempt deleted it."""
    return returning(None) if isinstance(exc, NotFoundError) and exc.attempts > 1 else None


DEVICE_ID = _id("DeviceId")
LOOKUP = API.one(
    "GET /devices/lookup",
    DeviceRecord,
    "devices.lookup",
    query={"external_id": Param(text(max_length=100), wire="ExternalId", required=True)},
)
DELETE = API.none("DELETE /devices/{id}", "devices.delete", path=DEVICE_ID, idempotent=True, rescue=_gone_on_retry)
DEVICE_JOBS = API.paged("GET /devices/{id}/jobs", JobRecord, "devices.jobs", pages=PAGES, id="job_id", path=DEVICE_ID)
DEVICE_LOGS = API.paged("GET /devices/{id}/logs", LogRecord, "devices.logs", pages=PAGES, id="log_id", path=DEVICE_ID)
EXECUTE_GET_NEXT_JOB = API.none("POST /devices/{id}/ExecuteGetNextJob", "devices.execute_get_next_job", path=DEVICE_ID)


class Devices(Writable[DeviceRecord]):
    """Devices, plus their lookup by ExternalId, jobs, logs, deletion and ``ExecuteGetNextJob``."""

    def lookup_call(self, external_id: str) -> Call:
        """The request ``lookup`` sends."""
        return LOOKUP.call(external_id=external_id)

    def lookup(self, external_id: str) -> Op[DeviceRecord]:
        """``GET /devices/lookup?ExternalId=``: the device the partner tagged with ``external_id``."""
        return LOOKUP(external_id=external_id)

    def _lookup_external(self, external_id: str) -> Generator[Call, Reply, tuple[DeviceRecord, Raw] | None]:
        try:
            return (yield from LOOKUP.pair(external_id=external_id))
        except NotFoundError:
            return None

    def delete(self, device_id: int | str) -> Op[None]:
        """``DELETE /devices/{id}``. Retried like a read; a 404 on a retry means the first attempt worked."""
        return DELETE(id=device_id)

    def jobs_pairs(self, device_id: int | str, *, page_size: int = DEFAULT_PAGE_SIZE) -> ListOp[tuple[JobRecord, Raw]]:
        """``jobs``, each record beside its raw JSON."""
        return DEVICE_JOBS.pairs(id=device_id, page_size=page_size)

    def jobs(self, device_id: int | str, *, page_size: int = DEFAULT_PAGE_SIZE) -> ListOp[JobRecord]:
        """``GET /devices/{id}/jobs``: the device's jobs (backup schedules), newest first."""
        return DEVICE_JOBS(id=device_id, page_size=page_size)

    def logs_pairs(self, device_id: int | str, *, page_size: int = DEFAULT_PAGE_SIZE) -> ListOp[tuple[LogRecord, Raw]]:
        """``logs``, each record beside its raw JSON."""
        return DEVICE_LOGS.pairs(id=device_id, page_size=page_size)

    def logs(self, device_id: int | str, *, page_size: int = DEFAULT_PAGE_SIZE) -> ListOp[LogRecord]:
        """``GET /devices/{id}/logs``: the device's run history, newest first."""
        return DEVICE_LOGS(id=device_id, page_size=page_size)

    def execute_get_next_job(self, device_id: int | str) -> Op[None]:
        """``POST /devices/{id}/ExecuteGetNextJob``: tell the device to check for its next job now."""
        return EXECUTE_GET_NEXT_JOB(id=device_id)


class CleverFoxAPI:
    """Every CleverFox resource, as the docs name them."""

    vendor = VENDOR

    def __init__(self) -> None:
        self.devices = Devices(RESOURCES["devices"], DeviceRecord)
        self.companies: Writable[CompanyRecord] = Writable(RESOURCES["companies"], CompanyRecord)
        self.company_users: Writable[CompanyUserRecord] = Writable(RESOURCES["companyusers"], CompanyUserRecord)
        self.subscriptions: Writable[SubscriptionRecord] = Writable(RESOURCES["subscriptions"], SubscriptionRecord)
        self.jobs: Writable[JobRecord] = Writable(RESOURCES["jobs"], JobRecord)
        self.job_items: Writable[JobItemRecord] = Writable(RESOURCES["jobitems"], JobItemRecord)
        self.logs: Resource[LogRecord] = Resource(RESOURCES["logs"], LogRecord)
        self.log_items: Resource[LogItemRecord] = Resource(RESOURCES["logitems"], LogItemRecord)
        self.plans: Resource[PlanRecord] = Resource(RESOURCES["plans"], PlanRecord)
        self.partners: Updatable[PartnerRecord] = Updatable(RESOURCES["partners"], PartnerRecord)
        self.partner_users: Writable[PartnerUserRecord] = Writable(RESOURCES["partnerusers"], PartnerUserRecord)
        self.events: Resource[EventRecord] = Resource(RESOURCES["events"], EventRecord)
        self.plan_types: Resource[PlanTypeRecord] = Resource(RESOURCES["plantypes"], PlanTypeRecord)
        self.backup_types: Resource[BackupTypeRecord] = Resource(RESOURCES["backuptypes"], BackupTypeRecord)
        self.time_zones: Listing[TimeZoneRecord] = Listing(RESOURCES["timezones"], TimeZoneRecord)
