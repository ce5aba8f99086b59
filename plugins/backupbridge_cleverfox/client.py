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

from backupbridge import ConflictError, NotFoundError
from backupbridge.plugin import (
    Call,
    End,
    ListOp,
    Op,
    Page,
    Paging,
    Reply,
    by_attr,
    decode,
    find,
    invalid_for,
    mapped,
    paginate,
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

__all__ = ["BASE_URL", "DEFAULT_PAGE_SIZE", "VENDOR", "CleverFoxAPI", "decode_error", "make_auth"]

DEFAULT_PAGE_SIZE = 100
TOKEN_LENGTH = 50

R = TypeVar("R")
Steps = Generator[Call, Reply, Any]


_invalid = invalid_for(VENDOR)


def record_id(value: object, operation: str, field: str) -> int:
    """A CleverFox id: a positive integer (ints or digit strings accepted)."""
    if isinstance(value, bool):
        raise _invalid(operation, field, f"{field} must be an integer id")
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
        return int(value)
    raise _invalid(operation, field, f"{field} must be a positive integer id; got {value!r}")


def pairs(reply: Reply, typ: Any, *, many: bool) -> Any:
    """Decode the ``data`` envelope into records, keeping each record's raw JSON beside it."""
    envelope = reply.json()
    if not isinstance(envelope, Mapping) or "data" not in envelope:
        raise reply.decoding_error('expected a {"data": ...} envelope')
    data = envelope["data"]
    if many and not isinstance(data, list):
        raise reply.decoding_error('expected a list under "data"')
    if not many and not isinstance(data, Mapping):
        raise reply.decoding_error('expected an object under "data"')
    target = list[typ] if many else typ
    records = decode(converter, target, data, endpoint=reply.endpoint, vendor=VENDOR, operation=reply.operation)
    return list(zip(records, data, strict=True)) if many else (records, data)


def page_parser(typ: Any) -> Callable[[Reply, Call], Page[tuple[Any, Any]]]:
    """One ``{"data": [...], "page_no", "page_size"}`` page: its records (each beside its raw JSON) and the
    page size the reply states (``paginate`` holds that to the size asked for)."""

    def parse(reply: Reply, call: Call) -> Page[tuple[Any, Any]]:
        items = pairs(reply, typ, many=True)
        envelope = reply.json()
        requested_no = call.params["PageNo"]
        page_no = envelope.get("page_no", requested_no)
        if page_no != requested_no:
            raise reply.decoding_error(f"asked for page {requested_no}, got page {page_no}")
        stated = envelope.get("page_size")
        if stated is not None and (not isinstance(stated, int) or isinstance(stated, bool) or stated <= 0):
            raise reply.decoding_error("page_size is not a positive integer")
        return Page(items=items, stated_page_size=stated)

    return parse


def paging(path: str, operation: str, id_attr: str, page_size: int) -> Paging[tuple[Any, Any]]:
    """CleverFox paging, as the docs give it: ``PageNo`` from 1 and ``PageSize``, no total and no next link,
    so a listing ends on a page shorter than asked (confirmed by an empty page after it); records carry
    their integer id."""

    def page_call(index: int) -> Call:
        return Call(method="GET", path=path, operation=operation, params={"PageNo": index + 1, "PageSize": page_size})

    return Paging(end=End.SHORT_PAGE, page_size=page_size, page_call=page_call, id_of=by_attr(id_attr))


def list_pairs(path: str, typ: Any, id_attr: str, operation: str, page_size: int) -> ListOp[tuple[Any, Any]]:
    if not isinstance(page_size, int) or isinstance(page_size, bool) or not 1 <= page_size <= 1000:
        raise _invalid(operation, "page_size", "page_size must be an integer from 1 to 1000")
    declared = paging(path, operation, id_attr, page_size)
    assert declared.page_call is not None
    return paginate(declared.page_call(0), page_parser(typ), declared)


def _only_records(op: ListOp[tuple[Any, Any]]) -> ListOp[Any]:
    return mapped(op, lambda pair: pair[0])


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
    """A CleverFox resource that can only be listed."""

    def __init__(self, spec: ResourceSpec, record: type[R]) -> None:
        self.spec = spec
        self.record = record
        self._id_attr = _snake(spec.id_field)

    def _op(self, verb: str) -> str:
        return f"{self.spec.name}.{verb}"

    def list_pairs(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> ListOp[tuple[R, Any]]:
        return list_pairs(self.spec.path, self.record, self._id_attr, self._op("list"), page_size)

    def list(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> ListOp[R]:
        """``GET /<resource>?PageNo=&PageSize=``: every record, page by page (newest first)."""
        return _only_records(self.list_pairs(page_size=page_size))


class Resource(Listing[R]):
    """A read-only CleverFox resource: ``list()`` and ``get(id)``."""

    def get_call(self, record_id_value: int | str) -> Call:
        key = record_id(record_id_value, self._op("get"), self.spec.id_field)
        return Call(method="GET", path=f"{self.spec.path}/{key}", operation=self._op("get"))

    def get_pair(self, record_id_value: int | str) -> Op[tuple[R, Any]]:
        call = self.get_call(record_id_value)

        def steps() -> Steps:
            reply = yield call
            return pairs(reply, self.record, many=False)

        return Op(call.operation, steps)

    def get(self, record_id_value: int | str) -> Op[R]:
        """``GET /<resource>/{id}``: one record; ``NotFoundError`` for an unknown id."""
        call = self.get_call(record_id_value)

        def steps() -> Steps:
            reply = yield call
            return pairs(reply, self.record, many=False)[0]

        return Op(call.operation, steps)

    # -- writes ------------------------------------------------------------------------------

    def _body(self, payload: Mapping[str, Any], token: str | None, method: str, verb: str) -> dict[str, Any]:
        if not isinstance(payload, Mapping):
            raise _invalid(self._op(verb), "payload", "the payload must be a mapping of CleverFox attributes")
        body = dict(payload)
        chosen = token or body.get("Token") or str(uuid.uuid4())
        if not isinstance(chosen, str) or not chosen or len(chosen) > TOKEN_LENGTH:
            raise _invalid(self._op(verb), "Token", f"Token must be a string of 1 to {TOKEN_LENGTH} characters")
        body["Token"] = chosen
        problems = payload_problems(self.spec, body, method=method)
        if problems:
            listed = "; ".join(message for _, message in problems)
            raise _invalid(self._op(verb), problems[0][0], f"invalid {self.spec.name} {verb}: {listed}")
        return body

    def _find_external(self, external_id: str) -> Generator[Call, Reply, tuple[R, Any] | None]:
        """The record with this ExternalId, by paging the listing (newest first) only as far as needed."""
        return (yield from find(self.list_pairs(), lambda pair: getattr(pair[0], "external_id", None) == external_id))

    def _write(self, call: Call, body: Mapping[str, Any], verb: str, existing: int | None) -> Op[R]:
        def steps() -> Steps:
            try:
                reply = yield call
            except ConflictError as exc:
                if exc.attempts <= 1:
                    raise _conflict(
                        exc,
                        f"CleverFox refused a duplicate: a request with Token {body['Token']!r} "
                        "was applied in the last 60 minutes",
                    ) from exc
                # The retry (same Token) was refused as a duplicate: the first attempt was applied.
                if existing is not None:
                    return (yield from self._fetch(existing))
                external = body.get("ExternalId")
                if external and self.spec.external_id:
                    found = yield from self._lookup_external(external)
                    if found is not None:
                        return found[0]
                raise _conflict(
                    exc,
                    f"the first {verb} attempt was applied (CleverFox answered 409 to the retry with the same Token), "
                    "but the new record cannot be fetched without an ExternalId",
                ) from exc
            record, _ = pairs(reply, self.record, many=False)
            if getattr(record, self._id_attr, None) is None:
                # The docs' create example answers only the writable fields: fetch the whole record.
                if existing is not None:
                    return (yield from self._fetch(existing))
                external = body.get("ExternalId")
                if external and self.spec.external_id:
                    found = yield from self._lookup_external(external)
                    if found is not None:
                        return found[0]
            return record

        return Op(call.operation, steps)

    def _fetch(self, key: int) -> Generator[Call, Reply, R]:
        reply = yield self.get_call(key)
        return pairs(reply, self.record, many=False)[0]  # type: ignore[no-any-return]

    def _lookup_external(self, external_id: str) -> Generator[Call, Reply, tuple[R, Any] | None]:
        return (yield from self._find_external(external_id))


class Updatable(Resource[R]):
    def update(self, record_id_value: int | str, changes: Mapping[str, Any], *, token: str | None = None) -> Op[R]:
        """``PUT /<resource>/{id}``: change writable attributes; returns the updated record."""
        key = record_id(record_id_value, self._op("update"), self.spec.id_field)
        body = self._body(changes, token, "PUT", "update")
        call = Call(
            method="PUT", path=f"{self.spec.path}/{key}", json=body, operation=self._op("update"), idempotent=True
        )
        return self._write(call, body, "update", key)


class Writable(Updatable[R]):
    def create(self, payload: Mapping[str, Any], *, token: str | None = None) -> Op[R]:
        """``POST /<resource>``: create a record; required attributes are checked before sending."""
        body = self._body(payload, token, "POST", "create")
        call = Call(method="POST", path=self.spec.path, json=body, operation=self._op("create"), idempotent=True)
        return self._write(call, body, "create", None)


class Devices(Writable[DeviceRecord]):
    """Devices, plus their lookup by ExternalId, jobs, logs, deletion and ``ExecuteGetNextJob``."""

    def lookup_call(self, external_id: str) -> Call:
        op = self._op("lookup")
        if not isinstance(external_id, str) or not external_id or len(external_id) > 100:
            raise _invalid(op, "ExternalId", "ExternalId must be a string of 1 to 100 characters")
        return Call(method="GET", path=f"{self.spec.path}/lookup", params={"ExternalId": external_id}, operation=op)

    def lookup(self, external_id: str) -> Op[DeviceRecord]:
        """``GET /devices/lookup?ExternalId=``: the device the partner tagged with ``external_id``."""
        call = self.lookup_call(external_id)

        def steps() -> Steps:
            reply = yield call
            return pairs(reply, DeviceRecord, many=False)[0]

        return Op(call.operation, steps)

    def _lookup_external(self, external_id: str) -> Generator[Call, Reply, tuple[DeviceRecord, Any] | None]:
        try:
            reply = yield self.lookup_call(external_id)
        except NotFoundError:
            return None
        return pairs(reply, DeviceRecord, many=False)  # type: ignore[no-any-return]

    def delete(self, device_id: int | str) -> Op[None]:
        """``DELETE /devices/{id}``. Retried like a read; a 404 on a retry means the first attempt worked."""
        key = record_id(device_id, self._op("delete"), "DeviceId")
        call = Call(method="DELETE", path=f"{self.spec.path}/{key}", operation=self._op("delete"), idempotent=True)

        def steps() -> Steps:
            try:
                yield call
            except NotFoundError as exc:
                if exc.attempts <= 1:
                    raise
            return None

        return Op(call.operation, steps)

    def jobs_pairs(self, device_id: int | str, *, page_size: int = DEFAULT_PAGE_SIZE) -> ListOp[tuple[JobRecord, Any]]:
        key = record_id(device_id, self._op("jobs"), "DeviceId")
        return list_pairs(f"{self.spec.path}/{key}/jobs", JobRecord, "job_id", self._op("jobs"), page_size)

    def jobs(self, device_id: int | str, *, page_size: int = DEFAULT_PAGE_SIZE) -> ListOp[JobRecord]:
        """``GET /devices/{id}/jobs``: the device's jobs (backup schedules), newest first."""
        return _only_records(self.jobs_pairs(device_id, page_size=page_size))

    def logs_pairs(self, device_id: int | str, *, page_size: int = DEFAULT_PAGE_SIZE) -> ListOp[tuple[LogRecord, Any]]:
        key = record_id(device_id, self._op("logs"), "DeviceId")
        return list_pairs(f"{self.spec.path}/{key}/logs", LogRecord, "log_id", self._op("logs"), page_size)

    def logs(self, device_id: int | str, *, page_size: int = DEFAULT_PAGE_SIZE) -> ListOp[LogRecord]:
        """``GET /devices/{id}/logs``: the device's run history, newest first."""
        return _only_records(self.logs_pairs(device_id, page_size=page_size))

    def execute_get_next_job(self, device_id: int | str) -> Op[None]:
        """``POST /devices/{id}/ExecuteGetNextJob``: tell the device to check for its next job now."""
        key = record_id(device_id, self._op("execute_get_next_job"), "DeviceId")
        call = Call(
            method="POST", path=f"{self.spec.path}/{key}/ExecuteGetNextJob", operation=self._op("execute_get_next_job")
        )

        def steps() -> Steps:
            yield call
            return None

        return Op(call.operation, steps)


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
