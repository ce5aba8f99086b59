"""``httpx.Auth`` flows and client construction: the only place credentials touch a request."""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Generator
from typing import Any

import httpx

from ..errors import ConfigurationError
from ..redaction import Secret, register_secret

__all__ = ["BasicAuth", "BearerAuth", "check_base_url", "is_loopback"]


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <key>`` for a static API key."""

    def __init__(self, key: Secret) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


class BasicAuth(httpx.Auth):
    """HTTP Basic, built per request from secrets (so the header value lives in no attribute)."""

    def __init__(self, username: Secret, password: Secret | None = None) -> None:
        self._username = username
        self._password = password

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        password = self._password.reveal() if self._password is not None else ""
        token = base64.b64encode(f"{self._username.reveal()}:{password}".encode()).decode()
        register_secret(token)
        request.headers["Authorization"] = f"Basic {token}"
        yield request

    def __repr__(self) -> str:
        return "BasicAuth(***)"


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, allow_insecure_http: bool = False, vendor: str | None = None) -> httpx.URL:
    """Refuse anything but ``https://`` (plain ``http://`` only to loopback, or when explicitly allowed)."""
    try:
        url = httpx.URL(base_url)
    except Exception as exc:
        raise ConfigurationError(f"invalid base_url {base_url!r}", vendor=vendor) from exc
    if url.scheme == "https":
        return url
    if url.scheme == "http" and (allow_insecure_http or is_loopback(url.host)):
        return url
    if url.scheme == "http":
        raise ConfigurationError(
            f"refusing plain http:// to {url.host}: credentials would cross the network unencrypted "
            "(use https://, or pass allow_insecure_http=True if you really mean it)",
            vendor=vendor,
        )
    raise ConfigurationError(f"base_url must be an https:// URL, got {base_url!r}", vendor=vendor)


def client_kwargs(timeout: float | httpx.Timeout, user_agent: str) -> dict[str, Any]:
    return {
        "timeout": timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
        "headers": {"User-Agent": user_agent, "Accept": "application/json"},
        "follow_redirects": False,
    }
