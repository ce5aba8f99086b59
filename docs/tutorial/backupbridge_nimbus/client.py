"""Nimbus Vault's API as records and ops: the vendor client (``conn.vendor``), written once, sans-I/O.

The (made-up) vendor documents: ``Authorization: Bearer <key>``; lists page with ``page`` (from 1) and
``per_page`` and state the ``total``; errors are ``{"error": {"code", "message", "field"}}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import httpx

from backupbridge import ErrorDetail, NotFoundError, ValidationError
from backupbridge.plugin import (
    BearerAuth,
    Call,
    Decoder,
    End,
    ListOp,
    Op,
    Page,
    Paging,
    Reply,
    Str,
    VendorError,
    by_attr,
    extra_field,
    invalid_for,
    make_converter,
    paginate,
    used,
)

VENDOR = "nimbus"
BASE_URL = "https://api.nimbusvault.example/v2"
PER_PAGE = 100
_invalid = invalid_for(VENDOR)


# -- records: the vendor's JSON, typed (unknown keys kept in ``extra``) -----------------------------------
@attrs.frozen(kw_only=True)
class TenantRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("id",),)
    id: str = used()
    name: str = used(default="")
    state: Str = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class LastBackup:
    at: dt.datetime | None = used()
    result: Str = used()


@attrs.frozen(kw_only=True)
class AgentRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("id",),)
    id: str = used()
    tenant_id: Str = used()
    hostname: str = used(default="")
    platform: Str = used()
    online: bool | None = used()
    last_backup: LastBackup | None = used()
    extra: dict[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class RunRecord:
    __identity__: ClassVar[tuple[tuple[str, ...], ...]] = (("id",),)
    id: str = used()
    started: dt.datetime | None = used()
    ended: dt.datetime | None = used()
    result: Str = used()
    bytes: int | None = used()
    message: Str = used()
    extra: dict[str, Any] = extra_field()


DECODER = Decoder(make_converter(), VENDOR)


# -- auth and errors --------------------------------------------------------------------------------------
def make_auth(credentials: Mapping[str, Any], base_url: str) -> httpx.Auth:
    return BearerAuth(credentials["api_key"])


def decode_error(reply: Reply) -> VendorError | None:
    body = reply.json().get("error") if isinstance(reply.json(), dict) else None
    if not isinstance(body, dict):
        return None
    code, field = body.get("code"), body.get("field")
    detail = ErrorDetail(type=code, field=field, message=body.get("message"))
    cls = {"not_found": NotFoundError, "invalid": ValidationError}.get(str(code))
    return VendorError(vendor_code=code, message=body.get("message"), errors=(detail,), error_class=cls)


def key(value: object, operation: str, field: str) -> str:
    """An id as the API takes it in a path: ``tn_``/``ag_`` and letters or digits."""
    if isinstance(value, str) and value.replace("_", "").isalnum():
        return value
    raise _invalid(operation, field, f"{field} must be a Nimbus id; got {value!r}")


# -- endpoints ----------------------------------------------------------------------------------------------
def _listing(path: str, typ: Any, operation: str, **params: str) -> ListOp[tuple[Any, Any]]:
    """Every page of a list, as ``(record, raw)`` pairs, held to the documented total."""

    def page_call(index: int) -> Call:
        return Call(
            method="GET", path=path, operation=operation, params={**params, "page": index + 1, "per_page": PER_PAGE}
        )

    def parse(reply: Reply, call: Call) -> Page[tuple[Any, Any]]:
        body = reply.json()
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise reply.decoding_error('expected {"data": [...], "total": N}')
        records = DECODER.reply(list[typ], reply, body["data"])
        total = body.get("total")
        return Page(
            items=list(zip(records, body["data"], strict=True)), total=total if isinstance(total, int) else None
        )

    paging = Paging(end=End.TOTAL, page_size=PER_PAGE, page_call=page_call, id_of=by_attr("id"))
    return paginate(page_call(0), parse, paging)


class NimbusAPI:
    """Every documented endpoint, named as the vendor names it."""

    def tenants(self) -> ListOp[tuple[TenantRecord, Any]]:
        """``GET /tenants``."""
        return _listing("/tenants", TenantRecord, "tenants.list")

    def tenant(self, tenant_id: str) -> Op[TenantRecord]:
        """``GET /tenants/{id}``."""
        path = f"/tenants/{key(tenant_id, 'tenants.get', 'tenant_id')}"
        return DECODER.one(Call(method="GET", path=path, operation="tenants.get"), TenantRecord)

    def agents(self, tenant: str | None = None) -> ListOp[tuple[AgentRecord, Any]]:
        """``GET /agents?tenant=``: a tenant that does not exist is the vendor's 404."""
        scope = {} if tenant is None else {"tenant": key(tenant, "agents.list", "tenant")}
        return _listing("/agents", AgentRecord, "agents.list", **scope)

    def agent(self, agent_id: str) -> Op[AgentRecord]:
        """``GET /agents/{id}``."""
        path = f"/agents/{key(agent_id, 'agents.get', 'agent_id')}"
        return DECODER.one(Call(method="GET", path=path, operation="agents.get"), AgentRecord)

    def runs(self, agent_id: str) -> ListOp[tuple[RunRecord, Any]]:
        """``GET /agents/{id}/runs``: the agent's run history, newest first."""
        return _listing(f"/agents/{key(agent_id, 'agents.runs', 'agent_id')}/runs", RunRecord, "agents.runs")
