"""``connect()`` and ``connect_async()``: one account of one vendor, behind the neutral operations."""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, TypeVar

import httpx

from . import http as _http
from .errors import ConfigurationError, ConflictError, MissingCredentialsError, ValidationError
from .http import AsyncSession, InsecureTransportWarning, ListOp, Op, RetryPolicy, Session, check_base_url, make_client
from .http import tls_verify as tls_verify  # re-exported: bridge.py and tests import it from here
from .http import trust_env as trust_env
from .models import (
    Capability,
    Company,
    Device,
    DeviceSpec,
    Job,
    JobStatus,
    Notification,
    Plan,
    PlanCreation,
    PlanSpec,
)
from .plugins import get_vendor
from .vendors import Driver, DriverContext, Vendor

__all__ = ["AsyncConnection", "Connection", "InsecureTransportWarning", "connect", "connect_async"]

T = TypeVar("T")
A = TypeVar("A")
USER_AGENT = _http.USER_AGENT  # read at connect time (a test may replace it)


class _VendorClient:
    """``conn.vendor``: every documented endpoint of the vendor, run on this connection.

    Each attribute is the vendor client's method of the same name (see the vendor's docs page); a
    method returning a listing gives an iterator, any other its result.
    """

    def __init__(self, api: Any, runner: Callable[[Any], Any]) -> None:
        self._api = api
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._api, name)
        if name.startswith("_") or isinstance(method, str | int | float | bool | type(None)):
            return method
        if not callable(method):
            # A group of endpoints (``conn.vendor.devices.list()``): run its methods the same way.
            return _VendorClient(method, self._runner)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._runner(method(*args, **kwargs))

        call.__name__ = name
        call.__doc__ = method.__doc__
        return call

    def __dir__(self) -> list[str]:
        return [n for n in dir(self._api) if not n.startswith("_")]

    def __repr__(self) -> str:
        return f"<vendor client {type(self._api).__name__}>"


def _prepare(
    vendor_name: str,
    credentials: Mapping[str, Any],
    base_url: str | None,
    account: str,
    timezone: str | dt.tzinfo,
    allow_insecure_http: bool,
    clock: Callable[[], dt.datetime] | None = None,
) -> tuple[Vendor, dict[str, Any], str, DriverContext]:
    vendor = get_vendor(vendor_name)
    known = {f.name: f for f in vendor.credentials}
    unknown = sorted(set(credentials) - set(known))
    if unknown:
        raise ValidationError(
            f"{vendor.name} takes the credentials {', '.join(sorted(known))}; unexpected: {', '.join(unknown)}",
            field=unknown[0],
            vendor=vendor.name,
        )
    values: dict[str, Any] = {}
    for name, spec in known.items():
        value = credentials.get(name)
        if value is None:
            value = os.environ.get(spec.env)
        if value is None or value == "":
            raise MissingCredentialsError(
                f"{vendor.name} needs {name!r}: pass it, or set the environment variable {spec.env}",
                looked_in=(f"argument {name}", f"environment {spec.env}"),
                vendor=vendor.name,
            )
        values[name] = value
    url = base_url or vendor.default_base_url
    if not url:
        raise ConfigurationError(f"{vendor.name} is self-hosted: base_url is required", vendor=vendor.name)
    check_base_url(url, allow_insecure_http=allow_insecure_http, vendor=vendor.name)
    if isinstance(timezone, str):
        try:
            tz: dt.tzinfo = zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigurationError(f"unknown time zone {timezone!r}", vendor=vendor.name) from exc
    else:
        tz = timezone
    context = DriverContext(vendor=vendor.name, account=account, timezone=tz, base_url=url)
    if clock is not None:
        context = DriverContext(vendor=vendor.name, account=account, timezone=tz, base_url=url, clock=clock)
    return vendor, vendor.wrap_credentials(values), url, context


def _refuse_duplicate(vendor: str, name: str, found: Company | None) -> None:
    if found is not None:
        raise ConflictError(
            f"{vendor} already has a company named {found.name!r} (id {found.id}): use it, or choose another name",
            status_code=409,
            vendor=vendor,
            operation="create_company",
            field="name",
        )


def _dry_company(vendor: str, account: str, name: str, parent_id: str | None) -> Company:
    return Company(vendor=vendor, account=account, id="", name=name, parent_id=parent_id, raw={"dry_run": True})


class _ConnectionBase:
    def __init__(self, vendor: Vendor, driver: Driver) -> None:
        self._vendor_spec = vendor
        self._driver = driver

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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} vendor={self.vendor_name!r} account={self.account!r}>"


class Connection(_ConnectionBase):
    """One account of one vendor. Use as a context manager, or call ``close()``."""

    def __init__(self, vendor: Vendor, driver: Driver, session: Session) -> None:
        super().__init__(vendor, driver)
        self._session = session
        self.vendor = _VendorClient(driver.api, self._run_any)

    def _run_any(self, op: Any) -> Any:
        if isinstance(op, ListOp):
            return self._session.iterate(op)
        return self._session.run(op)

    def run(self, op: Op[T]) -> T:
        """Run one vendor-client op (``conn.run(conn.api.company_summary())``)."""
        return self._session.run(op)

    def iterate(self, op: ListOp[T]) -> Iterator[T]:
        return self._session.iterate(op)

    def list_companies(self) -> Iterator[Company]:
        """Every company the account can see, sub-companies included (``parent_id`` set)."""
        return self._session.iterate(self._driver.list_companies())

    def get_company(self, company_id: str) -> Company:
        """Raises ``NotFoundError`` for an unknown id."""
        return self._session.run(self._driver.get_company(company_id))

    def create_company(self, name: str, parent_id: str | None = None, *, dry_run: bool = False) -> Company:
        """Create a company; a name the account already has (case ignored) is a ``ConflictError``.

        With ``dry_run`` nothing is written: the arguments and the name are checked, and the company that
        would be made is returned with ``id`` empty and ``raw={"dry_run": True}``.
        """
        op = self._driver.create_company(name, parent_id)  # validates before any request
        _refuse_duplicate(self.vendor_name, name, self._session.run(self._driver.find_company(name)))
        if dry_run:
            return _dry_company(self.vendor_name, self.account, name, parent_id)
        return self._session.run(op)

    def find_company(self, name: str) -> Company | None:
        """The company named ``name`` (case and surrounding space ignored), or None."""
        return self._session.run(self._driver.find_company(name))

    def list_devices(self, company_id: str | None = None) -> Iterator[Device]:
        """Devices, lazily; all the account can see, or one company's."""
        return self._session.iterate(self._driver.list_devices(company_id))

    def get_device(self, device_id: str) -> Device:
        return self._session.run(self._driver.get_device(device_id))

    def create_device(self, spec: DeviceSpec) -> Device:
        """Create a device (where the vendor lets a partner pre-register one)."""
        return self._session.run(self._driver.create_device(spec))

    def list_plans(self, company_id: str | None = None) -> Iterator[Plan]:
        return self._session.iterate(self._driver.list_plans(company_id))

    def get_plan(self, plan_id: str) -> Plan:
        return self._session.run(self._driver.get_plan(plan_id))

    def create_plan(self, spec: PlanSpec, dry_run: bool = False) -> PlanCreation:
        """Create a backup plan from a neutral spec; with ``dry_run`` nothing changes at the vendor."""
        return self._session.run(self._driver.create_plan(spec, dry_run))

    def list_jobs(
        self, device_id: str | None = None, since: dt.datetime | None = None, status: JobStatus | None = None
    ) -> Iterator[Job]:
        """Runs (see the capability table: some vendors show only each device's last run)."""
        return self._session.iterate(self._driver.list_jobs(device_id, since, status))

    def set_notifications(self, device_id: str, notification: Notification) -> None:
        self._session.run(self._driver.set_notifications(device_id, notification))

    def update_plan(self, plan_id: str, spec: PlanSpec) -> Plan:
        """Change a plan to ``spec`` (see the capability table)."""
        return self._session.run(self._driver.update_plan(plan_id, spec))

    def enable_plan(self, plan_id: str) -> None:
        self._session.run(self._driver.enable_plan(plan_id))

    def disable_plan(self, plan_id: str) -> None:
        """Stop a plan from running; it is kept, and so are its backups."""
        self._session.run(self._driver.disable_plan(plan_id))

    def delete_plan(self, plan_id: str) -> None:
        """Delete a plan (see the vendor's page for what happens to its backups)."""
        self._session.run(self._driver.delete_plan(plan_id))

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncConnection(_ConnectionBase):
    """The async twin of ``Connection``: the same operations, awaited (listings are async iterators)."""

    def __init__(self, vendor: Vendor, driver: Driver, session: AsyncSession) -> None:
        super().__init__(vendor, driver)
        self._session = session
        self.vendor = _VendorClient(driver.api, self._run_any)

    def _run_any(self, op: Any) -> Any:
        if isinstance(op, ListOp):
            return self._session.iterate(op)
        return self._session.run(op)

    async def run(self, op: Op[T]) -> T:
        return await self._session.run(op)

    def iterate(self, op: ListOp[T]) -> AsyncIterator[T]:
        return self._session.iterate(op)

    def list_companies(self) -> AsyncIterator[Company]:
        return self._session.iterate(self._driver.list_companies())

    async def get_company(self, company_id: str) -> Company:
        return await self._session.run(self._driver.get_company(company_id))

    async def create_company(self, name: str, parent_id: str | None = None, *, dry_run: bool = False) -> Company:
        op = self._driver.create_company(name, parent_id)
        _refuse_duplicate(self.vendor_name, name, await self._session.run(self._driver.find_company(name)))
        if dry_run:
            return _dry_company(self.vendor_name, self.account, name, parent_id)
        return await self._session.run(op)

    async def find_company(self, name: str) -> Company | None:
        return await self._session.run(self._driver.find_company(name))

    def list_devices(self, company_id: str | None = None) -> AsyncIterator[Device]:
        return self._session.iterate(self._driver.list_devices(company_id))

    async def get_device(self, device_id: str) -> Device:
        return await self._session.run(self._driver.get_device(device_id))

    async def create_device(self, spec: DeviceSpec) -> Device:
        return await self._session.run(self._driver.create_device(spec))

    def list_plans(self, company_id: str | None = None) -> AsyncIterator[Plan]:
        return self._session.iterate(self._driver.list_plans(company_id))

    async def get_plan(self, plan_id: str) -> Plan:
        return await self._session.run(self._driver.get_plan(plan_id))

    async def create_plan(self, spec: PlanSpec, dry_run: bool = False) -> PlanCreation:
        return await self._session.run(self._driver.create_plan(spec, dry_run))

    def list_jobs(
        self, device_id: str | None = None, since: dt.datetime | None = None, status: JobStatus | None = None
    ) -> AsyncIterator[Job]:
        return self._session.iterate(self._driver.list_jobs(device_id, since, status))

    async def set_notifications(self, device_id: str, notification: Notification) -> None:
        await self._session.run(self._driver.set_notifications(device_id, notification))

    async def update_plan(self, plan_id: str, spec: PlanSpec) -> Plan:
        return await self._session.run(self._driver.update_plan(plan_id, spec))

    async def enable_plan(self, plan_id: str) -> None:
        await self._session.run(self._driver.enable_plan(plan_id))

    async def disable_plan(self, plan_id: str) -> None:
        await self._session.run(self._driver.disable_plan(plan_id))

    async def delete_plan(self, plan_id: str) -> None:
        await self._session.run(self._driver.delete_plan(plan_id))

    async def aclose(self) -> None:
        await self._session.aclose()

    async def __aenter__(self) -> AsyncConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def connect(
    vendor: str,
    *,
    base_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
    client: httpx.Client | None = None,
    account: str = "default",
    timezone: str | dt.tzinfo = "UTC",
    timeout: float | httpx.Timeout = 30.0,
    retry: RetryPolicy | None = None,
    rate_limit: float | None = None,
    verify: bool | str = True,
    allow_insecure_http: bool = False,
    clock: Callable[[], dt.datetime] | None = None,
    **credentials: Any,
) -> Connection:
    """Connect to one account of a vendor.

    Args:
        vendor: a registered vendor name (``backupbridge vendors`` lists them).
        base_url: the API root; defaults to the vendor's public one.
        transport: an httpx transport (a simulator, a test double).
        client: a ready ``httpx.Client`` to use instead of building one (its auth is replaced).
        account: the name this account's records carry.
        timezone: where the vendor's zone-less timestamps are read (IANA name), default UTC.
        retry: how idempotent reads are retried (``RetryPolicy(attempts=1)`` disables it), and the limits of
            every call: its total deadline, each attempt's wall-clock limit (body included; by default
            ``timeout``), and the largest body read (``max_body_bytes``, 64 MiB).
        rate_limit: at most this many requests per second.
        verify: TLS verification: True, the path of a CA bundle (to trust a self-signed server), or
            False, which warns loudly (``InsecureTransportWarning`` and a log line) every time.
        allow_insecure_http: permit ``http://`` to a non-loopback host. A loopback base URL never goes
            through a proxy from the environment.
        clock: the current time (aware), for vendors whose statuses depend on recency; the real one by default.
        **credentials: the vendor's credentials (``api_key=...``), or they are read from its
            environment variables.

    Raises:
        UnknownVendorError, MissingCredentialsError, ValidationError, ConfigurationError: before any I/O.
    """
    spec, creds, url, context = _prepare(vendor, credentials, base_url, account, timezone, allow_insecure_http, clock)
    auth = spec.make_auth(creds, url)
    if client is None:
        client = make_client(
            url,
            vendor=spec.name,
            auth=auth,
            transport=transport,
            verify=verify,
            timeout=timeout,
            user_agent=USER_AGENT,
        )
    else:
        client.auth = auth
        client.base_url = httpx.URL(url)
    session = Session(client, spec.profile, retry=retry, rate_limit=rate_limit, account=account)
    return Connection(spec, spec.make_driver(context), session)


def connect_async(
    vendor: str,
    *,
    base_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    client: httpx.AsyncClient | None = None,
    account: str = "default",
    timezone: str | dt.tzinfo = "UTC",
    timeout: float | httpx.Timeout = 30.0,
    retry: RetryPolicy | None = None,
    rate_limit: float | None = None,
    verify: bool | str = True,
    allow_insecure_http: bool = False,
    clock: Callable[[], dt.datetime] | None = None,
    **credentials: Any,
) -> AsyncConnection:
    """The async twin of ``connect``: ``async with connect_async(...) as conn``."""
    spec, creds, url, context = _prepare(vendor, credentials, base_url, account, timezone, allow_insecure_http, clock)
    auth = spec.make_auth(creds, url)
    if client is None:
        client = make_client(
            url,
            asynchronous=True,
            vendor=spec.name,
            auth=auth,
            transport=transport,
            verify=verify,
            timeout=timeout,
            user_agent=USER_AGENT,
        )
    else:
        client.auth = auth
        client.base_url = httpx.URL(url)
    session = AsyncSession(client, spec.profile, retry=retry, rate_limit=rate_limit, account=account)
    return AsyncConnection(spec, spec.make_driver(context), session)
