"""``connect()`` and ``connect_async()``: one account of one vendor, behind the neutral operations.

The parts live in focused modules, all re-exported here under their old names: ``_setup`` (the vendor,
credentials, base URL and time zone, checked before any I/O), ``_vendor_proxy`` (``conn.vendor``),
``_connection_base`` (what both connections share), ``_sync_connection`` (``Connection``) and
``_async_connection`` (``AsyncConnection``); the TLS context cache is ``http.tls_verify``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx

from . import http as _http
from ._async_connection import AsyncConnection
from ._setup import prepare as _prepare
from ._sync_connection import Connection
from .http import AsyncSession, InsecureTransportWarning, RetryPolicy, Session, make_client
from .http import tls_verify as tls_verify  # re-exported: bridge.py and tests import it from here
from .http import trust_env as trust_env

__all__ = ["AsyncConnection", "Connection", "InsecureTransportWarning", "connect", "connect_async"]

USER_AGENT = _http.USER_AGENT  # read at connect time (a test may replace it)


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
