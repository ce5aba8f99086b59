"""ConnectWise PSA (Manage) REST API v4_6_release: the endpoints the ticket sink uses, as records and ops.

Written from ConnectWise's public API reference (developer.connectwise.com, "Manage REST API") and the
public clients of it: ``Authorization: Basic base64(company+publicKey:privateKey)`` and a ``clientId``
header on every request; lists take ``conditions`` (``name="Backups" and closedFlag=false``), ``orderBy``,
``page`` (from 1) and ``pageSize`` (at most 1000), and announce the next page in a ``Link`` header (a page
shorter than asked is the last); errors are ``{"code", "message", "errors": [{"code", "message",
"resource", "field"}]}``; a ticket is patched with JSON-Patch operations (``[{"op": "replace", "path":
"status", "value": {"id": 5}}]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
import httpx

from backupbridge import ConflictError, ErrorDetail, InvalidRequestError, NotFoundError, RetryPolicy, Secret
from backupbridge.plugin import (
    BasicAuth,
    Call,
    Decoder,
    End,
    ListOp,
    Op,
    Page,
    Paging,
    Reply,
    Session,
    Str,
    VendorError,
    VendorProfile,
    by_attr,
    extra_field,
    invalid_for,
    make_client,
    make_converter,
    paginate,
    used,
)

__all__ = [
    "API_PATH",
    "PAGE_SIZE",
    "SUMMARY_MAX",
    "VENDOR",
    "BoardRecord",
    "CompanyRecord",
    "ConnectWiseAPI",
    "NoteRecord",
    "Reference",
    "StatusRecord",
    "TicketRecord",
    "condition_value",
    "connect",
    "decode_error",
    "make_auth",
]

VENDOR = "connectwise"
API_PATH = "/v4_6_release/apis/3.0"
PAGE_SIZE = 100
SUMMARY_MAX = 100
"""ConnectWise limits a ticket's ``summary`` to 100 characters."""

_invalid = invalid_for(VENDOR)
_NEXT = re.compile(r'<[^>]*>\s*;\s*rel="?next"?', re.IGNORECASE)


# -- records: ConnectWise's JSON, named as ConnectWise names it (unknown keys kept in ``extra``) ----------
@attrs.frozen(kw_only=True)
class Reference:
    """A ``{"id", "name", "_info"}`` reference to another record (board, status, company, priority)."""

    id: int = used()
    name: Str = used()
    identifier: Str = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class BoardRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("id",),)
    id: int = used()
    name: str = used()
    inactiveFlag: bool | None = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class StatusRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("id",),)
    id: int = used()
    name: str = used()
    closedStatus: bool | None = used()
    inactive: bool | None = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class CompanyRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("id",),)
    id: int = used()
    identifier: str = used()
    name: Str = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TicketRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("id",),)
    id: int = used()
    summary: str = used()
    closedFlag: bool | None = used()
    board: Reference | None = used()
    status: Reference | None = used()
    company: Reference | None = used()
    priority: Reference | None = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class NoteRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("id",),)
    id: int = used()
    ticketId: int | None = used()
    text: Str = used()
    resolutionFlag: bool | None = used()
    extra: dict[str, Any] = extra_field()


DECODER = Decoder(make_converter(), VENDOR)


# -- auth and errors --------------------------------------------------------------------------------------
def make_auth(company: str, public_key: Secret, private_key: Secret) -> BasicAuth:
    """Basic auth as ConnectWise documents it: user ``company+publicKey``, password ``privateKey``."""
    return BasicAuth(Secret(f"{company}+{public_key.reveal()}"), private_key)


def connect(
    site: str,
    *,
    company_id: str,
    public_key: Secret,
    private_key: Secret,
    client_id: Secret,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
    label: str | None = None,
) -> Session:
    """A session to a ConnectWise site (``https://api-na.myconnectwise.net``): Basic auth, the ``clientId``
    header, ConnectWise's error bodies; one attempt per call (the sink's outbox retries on a later run)."""
    auth = make_auth(company_id, public_key, private_key)
    client = make_client(site.rstrip("/") + API_PATH, vendor=VENDOR, auth=auth, transport=transport, timeout=timeout)
    client.headers["clientId"] = client_id.reveal()
    profile = VendorProfile(name=VENDOR, decode_error=decode_error)
    return Session(client, profile, retry=RetryPolicy(attempts=1, timeout=timeout), account=label)


def decode_error(reply: Reply) -> VendorError | None:
    """ConnectWise's error body: ``code``, ``message`` and ``errors`` (each ``code``, ``message``,
    ``resource``, ``field``)."""
    body = reply.json()
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return None
    details = tuple(
        ErrorDetail(
            type=str(item.get("code")) if item.get("code") is not None else None,
            field=str(item.get("field")) if item.get("field") is not None else None,
            message=str(item.get("message")) if item.get("message") is not None else None,
        )
        for item in body.get("errors") or ()
        if isinstance(item, dict)
    )
    code = body["code"]
    cls = {
        "NotFound": NotFoundError,
        "InvalidObject": InvalidRequestError,
        "InvalidCondition": InvalidRequestError,
        "Conflict": ConflictError,
    }.get(code)
    message = body.get("message")
    return VendorError(
        vendor_code=code, message=str(message) if message is not None else None, errors=details, error_class=cls
    )


def condition_value(value: str, operation: str, field: str) -> str:
    """A string for a ``conditions`` expression, double-quoted. Quotes and backslashes are refused before
    any request rather than escaped: no board, status or company identifier we look up needs them."""
    if not isinstance(value, str) or not value or any(c in value for c in '"\\') or not value.isprintable():
        raise _invalid(operation, field, f"{field} must be printable text without quotes or backslashes; got {value!r}")
    return f'"{value}"'


def _id(value: object, operation: str, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid(operation, field, f"{field} must be a positive ConnectWise id; got {value!r}")
    return value


# -- endpoints ----------------------------------------------------------------------------------------------
def _listing(path: str, typ: Any, operation: str, **params: str | None) -> ListOp[Any]:
    """Every page of a list: the next page while the reply's ``Link`` header names one, or (without the
    header) while a page is full; a short page is the last."""

    def page_call(index: int) -> Call:
        return Call(
            method="GET",
            path=path,
            operation=operation,
            params={**params, "page": index + 1, "pageSize": PAGE_SIZE},
        )

    def parse(reply: Reply, call: Call) -> Page[Any]:
        body = reply.json()
        if not isinstance(body, list):
            raise reply.decoding_error("expected a JSON array")
        records = DECODER.reply(list[typ], reply, body)
        page = int(call.params.get("page", 1) or 1)  # type: ignore[arg-type]
        link = reply.headers.get("link")
        more = bool(_NEXT.search(link)) if link is not None else len(records) == PAGE_SIZE
        return Page(items=records, next=page_call(page) if more and records else None)

    return paginate(page_call(0), parse, Paging(end=End.NEXT, page_size=PAGE_SIZE, id_of=by_attr("id")))


class ConnectWiseAPI:
    """The endpoints the ticket sink uses, named as ConnectWise names them."""

    def boards(self, name: str) -> ListOp[BoardRecord]:
        """``GET service/boards?conditions=name="..."``."""
        where = f"name={condition_value(name, 'service.boards', 'board')}"
        return _listing("/service/boards", BoardRecord, "service.boards", conditions=where)

    def board_statuses(self, board_id: int) -> ListOp[StatusRecord]:
        """``GET service/boards/{id}/statuses``."""
        path = f"/service/boards/{_id(board_id, 'service.boards.statuses', 'board_id')}/statuses"
        return _listing(path, StatusRecord, "service.boards.statuses")

    def companies(self, identifier: str) -> ListOp[CompanyRecord]:
        """``GET company/companies?conditions=identifier="..."``."""
        where = f"identifier={condition_value(identifier, 'company.companies', 'company')}"
        return _listing("/company/companies", CompanyRecord, "company.companies", conditions=where)

    def tickets(self, conditions: str, order_by: str | None = None) -> ListOp[TicketRecord]:
        """``GET service/tickets?conditions=...&orderBy=...``."""
        return _listing("/service/tickets", TicketRecord, "service.tickets", conditions=conditions, orderBy=order_by)

    def create_ticket(self, ticket: Mapping[str, Any]) -> Op[TicketRecord]:
        """``POST service/tickets``; never retried by the HTTP layer (a lost answer is looked up instead)."""
        summary = ticket.get("summary")
        if not isinstance(summary, str) or not summary or len(summary) > SUMMARY_MAX:
            raise _invalid("service.tickets.create", "summary", f"summary must be 1 to {SUMMARY_MAX} characters")
        call = Call(method="POST", path="/service/tickets", operation="service.tickets.create", json=dict(ticket))
        return DECODER.one(call, TicketRecord)

    def patch_ticket(self, ticket_id: int, operations: Sequence[Mapping[str, Any]]) -> Op[TicketRecord]:
        """``PATCH service/tickets/{id}`` with JSON-Patch operations (``op``, ``path``, ``value``)."""
        path = f"/service/tickets/{_id(ticket_id, 'service.tickets.patch', 'ticket_id')}"
        if not operations or any(op.get("op") not in ("replace", "add", "remove") for op in operations):
            raise _invalid("service.tickets.patch", "operations", "JSON-Patch operations: replace, add or remove")
        call = Call(method="PATCH", path=path, operation="service.tickets.patch", json=[dict(op) for op in operations])
        return DECODER.one(call, TicketRecord)

    def ticket_notes(self, ticket_id: int) -> ListOp[NoteRecord]:
        """``GET service/tickets/{id}/notes``."""
        path = f"/service/tickets/{_id(ticket_id, 'service.tickets.notes', 'ticket_id')}/notes"
        return _listing(path, NoteRecord, "service.tickets.notes", orderBy="id asc")

    def add_note(self, ticket_id: int, text: str, *, resolution: bool = False, internal: bool = True) -> Op[NoteRecord]:
        """``POST service/tickets/{id}/notes``: a discussion note, or the resolution when ``resolution``."""
        path = f"/service/tickets/{_id(ticket_id, 'service.tickets.notes.create', 'ticket_id')}/notes"
        if not isinstance(text, str) or not text.strip():
            raise _invalid("service.tickets.notes.create", "text", "a note needs text")
        body = {
            "text": text,
            "detailDescriptionFlag": not resolution,
            "internalAnalysisFlag": internal and not resolution,
            "resolutionFlag": resolution,
        }
        call = Call(method="POST", path=path, operation="service.tickets.notes.create", json=body)
        return DECODER.one(call, NoteRecord)
