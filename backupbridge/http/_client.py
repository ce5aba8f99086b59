"""The one place httpx clients are built, sync and async alike: TLS context, user agent, limits, timeouts,
and the loopback-no-proxy rule."""

from __future__ import annotations

import functools
import logging
import os
import ssl
import warnings
from typing import Any, Literal, overload

import httpx

from ..errors import ConfigurationError
from ._auth import client_kwargs, is_loopback

__all__ = ["USER_AGENT", "InsecureTransportWarning", "make_client", "tls_verify", "trust_env"]

USER_AGENT = "backupbridge/0.1"
log = logging.getLogger("backupbridge")


class InsecureTransportWarning(UserWarning):
    """TLS certificate verification was turned off for a connection."""


@functools.cache
def _trusted_context(cafile: str | None = None) -> ssl.SSLContext:
    """One TLS context per trust store, shared by every connection of the process.

    Building one loads a whole CA bundle (about 70 ms here): per account, a fan-out over a hundred accounts
    spent seven seconds of CPU on it before sending a request. ``None`` is httpx's default store
    (certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` as set when it is first built).
    """
    if cafile is None:
        return httpx.create_ssl_context()
    return ssl.create_default_context(cafile=cafile)


def tls_verify(verify: bool | str, vendor: str, url: str, *, stacklevel: int = 3) -> ssl.SSLContext | bool:
    """A (shared) TLS context for ``True`` (the default) or a CA bundle path (for self-signed servers), or an
    explicit, loud ``False`` (its warning points ``stacklevel`` frames up: at the caller's caller)."""
    if verify is True:
        return _trusted_context()
    if verify is False:
        message = (
            f"TLS certificate verification is OFF for {vendor} at {httpx.URL(url).host}: anyone on the network "
            "path can read and change this traffic, credentials included. Pass the server's CA bundle as "
            "verify='/path/ca.pem' instead."
        )
        warnings.warn(message, InsecureTransportWarning, stacklevel=stacklevel)
        log.warning(message)
        return False
    if isinstance(verify, str):
        if not os.path.isfile(verify):
            raise ConfigurationError(f"CA bundle {verify!r} does not exist", vendor=vendor)
        try:
            return _trusted_context(os.path.abspath(verify))
        except (ssl.SSLError, OSError) as exc:
            raise ConfigurationError(f"CA bundle {verify!r} could not be loaded: {exc}", vendor=vendor) from exc
    raise ConfigurationError("verify must be True, False or the path of a CA bundle", vendor=vendor)


def trust_env(url: str) -> bool:
    """Whether the client may take proxies (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``) from the environment.

    Never for a loopback base URL: a local server is reached directly, or a plain ``http://`` login to
    it would hand the password, in clear, to whatever proxy the environment names.
    """
    return not is_loopback(httpx.URL(url).host)


@overload
def make_client(
    url: str,
    *,
    asynchronous: Literal[False] = False,
    vendor: str,
    auth: httpx.Auth | None,
    transport: httpx.BaseTransport | None = None,
    verify: bool | str = True,
    timeout: float | httpx.Timeout = 30.0,
    user_agent: str = USER_AGENT,
) -> httpx.Client: ...


@overload
def make_client(
    url: str,
    *,
    asynchronous: Literal[True],
    vendor: str,
    auth: httpx.Auth | None,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: bool | str = True,
    timeout: float | httpx.Timeout = 30.0,
    user_agent: str = USER_AGENT,
) -> httpx.AsyncClient: ...


def make_client(
    url: str,
    *,
    asynchronous: bool = False,
    vendor: str,
    auth: httpx.Auth | None,
    transport: Any = None,
    verify: bool | str = True,
    timeout: float | httpx.Timeout = 30.0,
    user_agent: str = USER_AGENT,
) -> httpx.Client | httpx.AsyncClient:
    """The client for one account at ``url``: the shared TLS context (or a loud ``verify=False``), our user
    agent and JSON ``Accept``, the timeout, no redirects followed, and proxies from the environment only
    for a non-loopback URL. ``asynchronous`` picks ``httpx.AsyncClient``; everything else is the same."""
    options: dict[str, Any] = {
        "base_url": url,
        "transport": transport,
        "auth": auth,
        "verify": tls_verify(verify, vendor, url, stacklevel=5),  # -> make_client -> connect -> its caller
        "trust_env": trust_env(url),
        **client_kwargs(timeout, user_agent),
    }
    return httpx.AsyncClient(**options) if asynchronous else httpx.Client(**options)
