"""``httpx.Auth`` flows and client construction: the only place credentials touch a request."""

from __future__ import annotations

import abc
import base64
import ipaddress
import re
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx

from ..errors import APIError, AuthenticationError, BackupBridgeError, ConfigurationError, DecodingError
from ..redaction import Secret, excerpt, register_secret
from ._calls import Reply
from ._errors import build_api_error
from ._wire import DEADLINE, LOGIN, MAX_BODY, aread_body, read_body

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

    A vendor subclass says how to log in (``login_request``), what to keep from a 2xx login answer
    (``accept_login``) and how to present it (``authorize``). The flow is a generator, so the sync and
    async clients share it; a request still refused after the fresh login raises ``AuthenticationError``
    rather than loop.

    The login answer is classified here, once for every vendor: 400, 401 and 403 are a rejection
    (``AuthenticationError``, never retried); 429 and 5xx are ``RateLimitedError`` and ``ServerError``,
    which the session retries like a failed read; any other status is the error its status names. Every
    error raised while logging in has ``during_login`` set: the request logged in for was not sent, so
    the session may retry even a write. Login replies are read within the attempt's size and time limits.
    """

    # The flow reads the bodies it needs itself, bounded (httpx's own reading is not).
    requires_response_body = False
    rejection_statuses: frozenset[int] = frozenset({400, 401, 403})
    rejection_hint = "check the credentials"
    login_operation = "login"

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self.logins = 0
        self._session: Any = None

    @abc.abstractmethod
    def login_request(self) -> httpx.Request:
        """The login request (its body holds the credentials; it never reaches a log)."""

    @abc.abstractmethod
    def accept_login(self, response: httpx.Response) -> Any:
        """The session to keep from a 2xx login answer (its body is read).

        Register what it mints (``register_secret``: tokens, session ids, cookie values). Raise
        ``self.rejected(response)`` for the vendor's own "bad credentials" answer, and
        ``self.unexpected(response, why)`` for an answer that is not what its docs promise.
        """

    @abc.abstractmethod
    def authorize(self, request: httpx.Request, session: Any) -> None:
        """Present the session on ``request`` (a header, a cookie)."""

    def forget(self) -> None:
        """Drop the cached session (the next request logs in again)."""
        self._session = None

    def _reply(self, response: httpx.Response) -> Reply:
        """The login answer (its body read) as a ``Reply``, for the shared JSON and error handling."""
        endpoint = f"{response.request.method} {response.request.url.path}"
        status, headers, content = response.status_code, response.headers, response.content
        return Reply(status, headers, content, endpoint, self.vendor, self.login_operation)

    def login_json(self, response: httpx.Response) -> Any:
        """The login answer as JSON, or a ``DecodingError`` (retried like a garbled read) with a redacted excerpt."""
        try:
            return self._reply(response).json()
        except DecodingError as exc:
            exc.garbled = True
            raise

    def rejected(self, response: httpx.Response, vendor_message: str | None = None) -> AuthenticationError:
        """The error for a refused login: says what to check, never echoes the credentials."""
        message = vendor_message
        if message is None and response.content:
            message = excerpt(response.content, DecodingError.EXCERPT_LENGTH)
        return AuthenticationError(
            f"{self.vendor} refused the login ({response.status_code}): {self.rejection_hint}",
            status_code=response.status_code,
            method=response.request.method,
            url=str(response.request.url),
            vendor=self.vendor,
            operation=self.login_operation,
            vendor_message=message or None,
        )

    def unexpected(self, response: httpx.Response, why: str) -> DecodingError:
        """The error for a 2xx login answer that is not what the vendor documents."""
        return self._reply(response).decoding_error(f"unexpected login answer: {why}")

    def _accept(self, response: httpx.Response) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            return self.accept_login(response)
        if status in self.rejection_statuses:
            raise self.rejected(response)
        error: APIError = build_api_error(
            self._reply(response), method=response.request.method, url=str(response.request.url), decoder=None
        )
        raise error

    def _login(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.logins += 1
        login = self.login_request()
        # The attempt's limits bind its login too; the mark tells the session a failure here left the
        # request itself unsent.
        for key in ("timeout", DEADLINE, MAX_BODY):
            if key in request.extensions:
                login.extensions[key] = request.extensions[key]
        login.extensions[LOGIN] = True
        response = yield login
        try:
            self._session = self._accept(response)
        except BackupBridgeError as exc:
            exc.during_login = True
            raise

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._session is None:
            yield from self._login(request)
        self.authorize(request, self._session)
        response = yield request
        if response.status_code == 401:
            self.forget()  # refused: should the fresh login fail, the retry logs in before sending again
            yield from self._login(request)
            self.authorize(request, self._session)
            yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        flow = self.auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            read = bool(outgoing.extensions.get(LOGIN))
            if read:
                try:
                    read_body(response)
                except BackupBridgeError as exc:
                    exc.during_login = True
                    raise
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return
            if not read:
                read_body(response)  # a refused answer: httpx keeps it in the history, fully read

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self.auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            read = bool(outgoing.extensions.get(LOGIN))
            if read:
                try:
                    await aread_body(response)
                except BackupBridgeError as exc:
                    exc.during_login = True
                    raise
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return
            if not read:
                await aread_body(response)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"


def is_loopback(host: str) -> bool:
    """Only ``localhost`` itself and loopback IP literals (127.0.0.0/8, ``::1``): a name such as
    ``evil.localhost`` is resolved by whatever DNS the machine uses, so it may well not be this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_USERINFO = re.compile(r"(?<=//)[^/?#@]*@")


def _shown(base_url: str) -> str:
    """``base_url`` as an error may show it: without any ``user:password@``."""
    return _USERINFO.sub("***@", base_url)


def _userinfo_refused(base_url: str, vendor: str | None, where: str = "") -> ConfigurationError:
    return ConfigurationError(
        f"{where}base_url {_shown(base_url)!r} carries a user name or password: pass the credentials as "
        "credentials (or their environment variables), never in the URL",
        vendor=vendor,
    )


def refuse_userinfo(base_url: str, *, vendor: str | None = None, where: str = "") -> None:
    """Raise ``ConfigurationError`` (not echoing them) when ``base_url`` holds ``user:password@``."""
    if _USERINFO.search(base_url):
        raise _userinfo_refused(base_url, vendor, where)


def check_base_url(base_url: str, *, allow_insecure_http: bool = False, vendor: str | None = None) -> httpx.URL:
    """Refuse anything but ``https://`` (plain ``http://`` only to loopback, or when explicitly allowed),
    and any ``user:password@`` in the URL (credentials are passed as credentials, never in a URL)."""
    refuse_userinfo(base_url, vendor=vendor)  # before parsing: not even an unparsable URL is echoed with it
    try:
        url = httpx.URL(base_url)
    except Exception as exc:
        raise ConfigurationError(f"invalid base_url {base_url!r}", vendor=vendor) from exc
    if url.userinfo:
        raise _userinfo_refused(base_url, vendor)
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
    raise ConfigurationError(f"base_url must be an https:// URL, got {_shown(base_url)!r}", vendor=vendor)


def client_kwargs(timeout: float | httpx.Timeout, user_agent: str) -> dict[str, Any]:
    return {
        "timeout": timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
        # Only the codings the bounded decoder (_wire) undoes: httpx would also offer br and zstd whenever
        # brotli or zstandard happen to be installed, and those answers would then be refused.
        "headers": {"User-Agent": user_agent, "Accept": "application/json", "Accept-Encoding": "gzip, deflate"},
        "follow_redirects": False,
    }
