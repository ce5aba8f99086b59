"""``httpx.Auth`` flows and client construction: the only place credentials touch a request."""

from __future__ import annotations

import abc
import base64
import ipaddress
from collections.abc import Generator
from typing import Any

import httpx

from ..errors import ConfigurationError
from ..redaction import Secret, register_secret

__all__ = ["BasicAuth", "BearerAuth", "LoginAuth", "check_base_url", "is_loopback"]


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


class LoginAuth(httpx.Auth, abc.ABC):
    """Log in on first use, cache the session for the connection, and on a 401 log in once more and retry.

    A vendor subclass says how to log in (``login_request``), what to keep from the answer
    (``accept_login``, raising ``AuthenticationError`` when refused) and how to present it
    (``authorize``). The flow is a generator, so the sync and async clients share it; a request still
    refused after the fresh login raises ``AuthenticationError`` rather than loop.
    """

    requires_response_body = True

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self.logins = 0
        self._session: Any = None

    @abc.abstractmethod
    def login_request(self) -> httpx.Request:
        """The login request (its body holds the credentials; it never reaches a log)."""

    @abc.abstractmethod
    def accept_login(self, response: httpx.Response) -> Any:
        """The session to keep from the login answer; raises ``AuthenticationError`` if refused."""

    @abc.abstractmethod
    def authorize(self, request: httpx.Request, session: Any) -> None:
        """Present the session on ``request`` (a header, a cookie)."""

    def forget(self) -> None:
        """Drop the cached session (the next request logs in again)."""
        self._session = None

    def _login(self) -> Generator[httpx.Request, httpx.Response, None]:
        self.logins += 1
        response = yield self.login_request()
        self._session = self.accept_login(response)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._session is None:
            yield from self._login()
        self.authorize(request, self._session)
        response = yield request
        if response.status_code == 401:
            yield from self._login()
            self.authorize(request, self._session)
            yield request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"


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
