"""What ``Connection`` and ``AsyncConnection`` share: the account's identity, clock, zone and capabilities,
and the checks around ``create_company`` and ``list_devices`` that need no I/O."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, TypeVar

from ._vendor_proxy import VendorClient
from .errors import ConflictError
from .http import AsyncSession, ListOp, Session
from .models import Capability, Company
from .vendors import Driver, Vendor

__all__ = ["ConnectionBase", "dry_company", "refuse_duplicate"]

A = TypeVar("A")
S = TypeVar("S", Session, AsyncSession)


def refuse_duplicate(vendor: str, name: str, found: Company | None) -> None:
    if found is not None:
        raise ConflictError(
            f"{vendor} already has a company named {found.name!r} (id {found.id}): use it, or choose another name",
            status_code=409,
            vendor=vendor,
            operation="create_company",
            field="name",
        )


def dry_company(vendor: str, account: str, name: str, parent_id: str | None) -> Company:
    return Company(vendor=vendor, account=account, id="", name=name, parent_id=parent_id, raw={"dry_run": True})


class ConnectionBase(Generic[S]):
    """One account's connection over a session ``S``: the blocking ``Session`` or the ``AsyncSession``."""

    _session: S

    def __init__(self, vendor: Vendor, driver: Driver, session: S) -> None:
        self._vendor_spec = vendor
        self._driver = driver
        self._session = session
        self.vendor = VendorClient(driver.api, self._run_any)

    def _run_any(self, op: Any) -> Any:
        """``conn.vendor``'s runner: a listing iterated on the session, any other op run (or awaited)."""
        if isinstance(op, ListOp):
            return self._session.iterate(op)
        return self._session.run(op)

    @property
    def vendor_name(self) -> str:
        return self._vendor_spec.name

    @property
    def account(self) -> str:
        return self._driver.account

    def now(self) -> dt.datetime:
        """The connection's clock (the real one, or a simulator's)."""
        return self._driver.context.clock()

    @property
    def timezone(self) -> dt.tzinfo:
        """Where the vendor's zone-less times are read (the account's ``timezone``)."""
        return self._driver.context.timezone

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What this vendor supports through the neutral API (see the vendor's capability table)."""
        return self._vendor_spec.capabilities

    @property
    def api(self) -> Any:
        """The vendor client's sans-I/O ops, for typed use with ``run`` (``conn.run(conn.api.x())``)."""
        return self._driver.api

    def api_as(self, kind: type[A]) -> A:
        """``api``, typed as the vendor client class ``kind`` (``conn.api_as(CleverFoxAPI).devices.get(5)`` is an
        ``Op[DeviceRecord]``); ``TypeError`` when this connection's vendor client is not one. Each plugin offers
        the same as ``api(conn)`` (``backupbridge_cleverfox.api(conn)``)."""
        api = self._driver.api
        if not isinstance(api, kind):
            raise TypeError(f"{self.vendor_name}'s vendor client is {type(api).__name__}, not {kind.__name__}")
        return api

    def _needs_jobs(self, activity: bool) -> bool:
        """Whether ``list_devices`` reads the job listing: asked for, and the vendor's device records lack
        what its runs carry (``Vendor.device_fields_from_jobs``), and it lists runs at all."""
        return (
            activity
            and bool(self._vendor_spec.device_fields_from_jobs)
            and Capability.LIST_JOBS in self._vendor_spec.capabilities
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} vendor={self.vendor_name!r} account={self.account!r}>"
