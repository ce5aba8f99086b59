"""Login retried like a read (5xx, 429, transport errors), only a rejection is AuthenticationError; a
write whose login failed is sent once the login works; Retry-After never below the backoff floor and no
wait past the deadline; a loopback http:// login never goes through a proxy, https proxies still work."""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stamina

import backupbridge
from backupbridge import AuthenticationError, RateLimitedError, ServerError, TransportError
from backupbridge.http import Call, RetryPolicy, Session, VendorProfile

LOGIN_PATHS = {"managedbackup": "/Provider/Login", "vprotect": "/session/login"}
CREDENTIALS: dict[str, dict[str, Any]] = {
    "managedbackup": {"username": "u", "password": "pw-login-retry-1"},
    "vprotect": {"login": "u", "password": "pw-login-retry-2", "base_url": "https://vp.test:8181/api"},
}


LISTING = {"managedbackup": "list_companies", "vprotect": "list_devices"}


def listing(conn: backupbridge.Connection) -> list[Any]:
    return list(getattr(conn, LISTING[conn.vendor_name])())


def logged_in(vendor: str) -> httpx.Response:
    if vendor == "managedbackup":
        return httpx.Response(200, json={"access_token": "tok-login-retry-0123456789"})
    return httpx.Response(201, json={}, headers={"Set-Cookie": "JSESSIONID=SESSION-login-retry-01; Path=/api"})


class Vendor:
    """Answers the login with ``login_answers`` in turn (then a success), and every other call with ``[]``."""

    def __init__(self, vendor: str, login_answers: list[httpx.Response | Exception]) -> None:
        self.vendor = vendor
        self.login_answers = list(login_answers)
        self.logins = 0
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(LOGIN_PATHS[self.vendor]):
            self.logins += 1
            if self.login_answers:
                answer = self.login_answers.pop(0)
                if isinstance(answer, Exception):
                    raise answer
                return answer
            return logged_in(self.vendor)
        self.calls.append(request)
        if request.method == "POST":
            return httpx.Response(200, json=1)
        return httpx.Response(200, json=[], headers={"X-Total-Count": "0"})

    def connect(self, **kwargs: Any) -> backupbridge.Connection:
        return backupbridge.connect(
            self.vendor, transport=httpx.MockTransport(self), **CREDENTIALS[self.vendor], **kwargs
        )


ONCE: dict[str, httpx.Response | Exception] = {
    "503": httpx.Response(503, text="Service Unavailable"),
    "502-html": httpx.Response(502, text="<html>Bad gateway</html>"),
    "429": httpx.Response(429, headers={"Retry-After": "0"}),
    "connect-error": httpx.ConnectError("refused"),
    "read-timeout": httpx.ReadTimeout("slow"),
}


@pytest.mark.parametrize("failure", list(ONCE))
@pytest.mark.parametrize("vendor", list(LOGIN_PATHS))
def test_a_login_that_fails_once_is_retried_like_a_read(vendor: str, failure: str) -> None:
    server = Vendor(vendor, [ONCE[failure]])
    assert listing(server.connect()) == []
    assert server.logins == 2


@pytest.mark.parametrize("vendor", list(LOGIN_PATHS))
def test_a_login_that_keeps_failing_is_a_server_error_not_wrong_credentials(vendor: str) -> None:
    server = Vendor(vendor, [httpx.Response(503)] * 10)
    with pytest.raises(ServerError) as info:
        listing(server.connect(retry=RetryPolicy(attempts=3)))
    assert not isinstance(info.value, AuthenticationError)
    assert info.value.during_login and info.value.attempts == 3 and server.logins == 3


@pytest.mark.parametrize("vendor", list(LOGIN_PATHS))
def test_a_login_rate_limited_past_max_retry_after_is_rate_limited(vendor: str) -> None:
    server = Vendor(vendor, [httpx.Response(429, headers={"Retry-After": "7200"})])
    with pytest.raises(RateLimitedError) as info:
        listing(server.connect())
    assert info.value.retry_after == 7200 and server.logins == 1


@pytest.mark.parametrize("status", [400, 401, 403])
@pytest.mark.parametrize("vendor", list(LOGIN_PATHS))
def test_only_a_rejection_is_an_authentication_error_and_it_is_not_retried(vendor: str, status: int) -> None:
    server = Vendor(vendor, [httpx.Response(status, json={"Message": "Invalid credentials."})] * 5)
    with pytest.raises(AuthenticationError) as info:
        listing(server.connect())
    assert info.value.status_code == status and server.logins == 1
    assert CREDENTIALS[vendor]["password"] not in str(info.value) + repr(info.value)


def test_a_write_whose_login_failed_is_sent_once_the_login_works() -> None:
    """The login failing means the write never left: it is sent once, after the retried login."""
    login_faults: list[httpx.Response | Exception] = [
        httpx.Response(503),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("reset after the login was applied"),
    ]
    server = Vendor("managedbackup", login_faults)
    conn = server.connect()
    assert conn.vendor.packages.create({"Name": "Gold"}) == 1
    assert server.logins == 4
    assert [r.method for r in server.calls] == ["POST"], "the write went out exactly once"


def test_a_write_refused_401_whose_relogin_fails_is_sent_again_once_logged_in() -> None:
    """A 401 leaves the write unapplied; a fresh login failing 503 is retried, then the write goes out once."""
    logins: list[int] = []
    writes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Provider/Login"):
            logins.append(1)
            if len(logins) == 2:
                return httpx.Response(503)
            return httpx.Response(200, json={"access_token": f"tok-relogin-{len(logins)}-0123456789"})
        writes.append(request.headers["authorization"])
        return httpx.Response(401) if len(writes) == 1 else httpx.Response(200, json=7)

    conn = backupbridge.connect("managedbackup", transport=httpx.MockTransport(handler), **CREDENTIALS["managedbackup"])
    assert conn.vendor.packages.create({"Name": "Gold"}) == 7
    assert len(logins) == 3 and writes == ["Bearer tok-relogin-1-0123456789", "Bearer tok-relogin-3-0123456789"]


def test_a_write_that_failed_itself_is_still_not_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Provider/Login"):
            return logged_in("managedbackup")
        sent.append(request)
        return httpx.Response(503) if len(sent) == 1 else httpx.Response(200, json=1)

    sent: list[httpx.Request] = []
    conn = backupbridge.connect("managedbackup", transport=httpx.MockTransport(handler), **CREDENTIALS["managedbackup"])
    with pytest.raises(ServerError):
        conn.vendor.packages.create({"Name": "Gold"})
    assert len(sent) == 1


# --- Retry-After and the deadline -------------------------------------------------------------------

PROFILE = VendorProfile(name="testvendor")


def session(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> Session:
    client = httpx.Client(base_url="https://api.example.test", transport=httpx.MockTransport(handler))
    return Session(client, PROFILE, **kwargs)


def past_date() -> str:
    return email.utils.format_datetime(dt.datetime.now(dt.UTC) - dt.timedelta(hours=3), usegmt=True)


def rate_limited(retry_after: str) -> RateLimitedError:
    from backupbridge.http import parse_retry_after

    exc = RateLimitedError("slow down", status_code=429, retry_after=parse_retry_after(retry_after))
    exc.attempts = 1
    return exc


@pytest.mark.parametrize("retry_after", ["0", "-5", "past-date"])
def test_a_retry_after_of_zero_negative_or_past_keeps_the_backoff_floor(retry_after: str) -> None:
    policy = RetryPolicy(wait_initial=0.3, wait_jitter=0)
    s = session(lambda r: httpx.Response(200, json={}), retry=policy)
    hook = s._retry_wait(Call(method="GET", path="/x", operation="x"), time.monotonic())
    wait = hook(rate_limited(past_date() if retry_after == "past-date" else retry_after))
    assert isinstance(wait, float) and not isinstance(wait, bool) and wait >= 0.3


@pytest.fixture
def real_sleeps() -> Iterator[None]:
    stamina.set_testing(False)
    yield
    stamina.set_testing(True, attempts=100, cap=True)


@pytest.mark.parametrize("retry_after", ["0", "-1", "past-date"])
def test_retries_after_retry_after_zero_really_wait(real_sleeps: None, retry_after: str) -> None:
    stamps: list[float] = []
    value = past_date() if retry_after == "past-date" else retry_after

    def handler(request: httpx.Request) -> httpx.Response:
        stamps.append(time.monotonic())
        if len(stamps) < 3:
            return httpx.Response(429, headers={"Retry-After": value})
        return httpx.Response(200, json={"ok": True})

    policy = RetryPolicy(attempts=3, wait_initial=0.05, wait_jitter=0, timeout=5)
    assert session(handler, retry=policy).send(Call(method="GET", path="/x", operation="x")).json() == {"ok": True}
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(gaps) == 2 and min(gaps) >= 0.045, gaps


def test_a_retry_after_beyond_the_deadline_stops_instead_of_waiting() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, headers={"Retry-After": "30"})

    with pytest.raises(RateLimitedError) as info:
        session(handler, retry=RetryPolicy(timeout=2)).send(Call(method="GET", path="/x", operation="x"))
    assert len(seen) == 1 and info.value.retry_after == 30


def test_a_backoff_beyond_the_deadline_stops_instead_of_waiting() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503)

    policy = RetryPolicy(attempts=5, timeout=1, wait_initial=0.6, wait_jitter=0)
    with pytest.raises(ServerError):
        session(handler, retry=policy).send(Call(method="GET", path="/x", operation="x"))
    assert len(seen) == 2  # waits 0.6, then a 1.2 s wait would end past the 1 s deadline


# --- Proxies ----------------------------------------------------------------------------------------


class Recorder:
    """A loopback socket server that records the first line of each request and answers ``reply``."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.lines: list[str] = []
        self.raw: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(65536)
                    self.raw.append(data)
                    self.lines.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
                    conn.sendall(self.reply)
                except OSError:
                    pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.listener.close()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    recorder = Recorder(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{recorder.port}")
    yield recorder
    recorder.close()


@pytest.fixture
def server() -> Iterator[Recorder]:
    recorder = Recorder(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    yield recorder
    recorder.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_loopback_http_login_never_goes_through_a_proxy(proxy: Recorder, server: Recorder, host: str) -> None:
    conn = backupbridge.connect(
        "vprotect",
        login="reader",
        password="pw-never-to-a-proxy-42",
        base_url=f"http://{host}:{server.port}/api",
        retry=RetryPolicy(attempts=1),
        timeout=2,
    )
    with pytest.raises((ServerError, TransportError)):
        list(conn.list_devices())
    assert proxy.lines == [], "the proxy was contacted"
    assert server.lines == ["POST /api/session/login HTTP/1.1"]


def test_an_https_proxy_from_the_environment_keeps_working(proxy: Recorder) -> None:
    conn = backupbridge.connect("idrive360", api_key="k-via-the-proxy-1234", retry=RetryPolicy(attempts=1), timeout=2)
    with pytest.raises(TransportError):
        list(conn.list_devices())
    assert proxy.lines == ["CONNECT api.idrive360.com:443 HTTP/1.1"]
    assert b"k-via-the-proxy-1234" not in b"".join(proxy.raw), "the tunnel request carries no credentials"


@pytest.mark.parametrize("vendor", list(LOGIN_PATHS))
def test_the_async_login_is_retried_too(vendor: str) -> None:
    import asyncio

    server = Vendor(vendor, [httpx.Response(503), httpx.Response(429, headers={"Retry-After": "0"})])

    async def go() -> list[Any]:
        async with backupbridge.connect_async(
            vendor, transport=httpx.MockTransport(server), **CREDENTIALS[vendor]
        ) as conn:
            return [r async for r in getattr(conn, LISTING[vendor])()]

    assert asyncio.run(go()) == [] and server.logins == 3


@pytest.mark.parametrize("vendor", list(LOGIN_PATHS))
def test_an_async_rejected_login_is_an_authentication_error(vendor: str) -> None:
    import asyncio

    server = Vendor(vendor, [httpx.Response(401)] * 5)

    async def go() -> None:
        async with backupbridge.connect_async(
            vendor, transport=httpx.MockTransport(server), **CREDENTIALS[vendor]
        ) as conn:
            [r async for r in getattr(conn, LISTING[vendor])()]

    with pytest.raises(AuthenticationError):
        asyncio.run(go())
    assert server.logins == 1
