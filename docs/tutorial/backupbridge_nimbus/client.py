"""Nimbus Vault's API as records and declared endpoints: the vendor client (``conn.vendor``), sans-I/O.

The (made-up) vendor documents: single objects as bare JSON; lists paged with ``page`` (from 1) and
``per_page`` (at most 100), as ``{"data": [...], "total": N}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import attrs

from backupbridge.plugin import (
    End,
    ListOp,
    Op,
    Pages,
    Raw,
    Refused,
    Service,
    Str,
    extra_field,
    make_converter,
    used,
)

from .auth import BASE_URL as BASE_URL
from .auth import VENDOR as VENDOR
from .auth import decode_error as decode_error
from .auth import make_auth as make_auth


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


# -- endpoints: each declared once (method, path, arguments and their checks, record, shape) -------------
API = Service(VENDOR, make_converter())


def _total(reply: object, body: object) -> int | None:
    total = body.get("total") if isinstance(body, dict) else None
    return total if isinstance(total, int) else None


PAGES = Pages(
    end=End.TOTAL,
    params=lambda index, size: {"page": index + 1, "per_page": size},
    size=100,
    max_size=100,
    total=_total,
    items="data",
)


def nimbus_id(value: object, field: str) -> str:
    """An id as the API takes it: ``tn_``/``ag_`` and letters or digits."""
    if isinstance(value, str) and value.replace("_", "").isalnum():
        return value
    raise Refused(f"{field} must be a Nimbus id; got {value!r}")


TENANTS = API.paged("GET /tenants", TenantRecord, "tenants.list", pages=PAGES, id="id")
TENANT = API.one("GET /tenants/{tenant_id}", TenantRecord, "tenants.get", path={"tenant_id": nimbus_id})
AGENTS = API.paged("GET /agents", AgentRecord, "agents.list", pages=PAGES, id="id", query={"tenant": nimbus_id})
AGENT = API.one("GET /agents/{agent_id}", AgentRecord, "agents.get", path={"agent_id": nimbus_id})
RUNS = API.paged(
    "GET /agents/{agent_id}/runs", RunRecord, "agents.runs", pages=PAGES, id="id", path={"agent_id": nimbus_id}
)


class NimbusAPI:
    """Every documented endpoint, named as the vendor names it (listings with each record's raw JSON)."""

    def tenants(self) -> ListOp[tuple[TenantRecord, Raw]]:
        """``GET /tenants``."""
        return TENANTS.pairs()

    def tenant(self, tenant_id: str) -> Op[TenantRecord]:
        """``GET /tenants/{id}``."""
        return TENANT(tenant_id=tenant_id)

    def agents(self, tenant: str | None = None) -> ListOp[tuple[AgentRecord, Raw]]:
        """``GET /agents?tenant=``: a tenant that does not exist is the vendor's 404."""
        return AGENTS.pairs(tenant=tenant)

    def agent(self, agent_id: str) -> Op[AgentRecord]:
        """``GET /agents/{id}``."""
        return AGENT(agent_id=agent_id)

    def runs(self, agent_id: str) -> ListOp[tuple[RunRecord, Raw]]:
        """``GET /agents/{id}/runs``: the agent's run history, newest first."""
        return RUNS.pairs(agent_id=agent_id)
