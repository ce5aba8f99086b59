"""Wire limits: a wall-clock deadline per attempt that covers reading the body (a real loopback server
dripping its answer), a maximum body size read as a stream (never downloaded twice), login replies
included."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import backupbridge
from backupbridge import DecodingError, TransportError
from backupbridge.http import AsyncSession, Call, RetryPolicy, Session, VendorProfile

PROFILE = VendorProfile(name="testvendor")
MiB = 1024 * 1024


class DripServer:
    """A loopback HTTP server that sends its headers at once, then its body one byte every ``interval``.

    It gives up after ``max_seconds`` (so even a client without a deadline ends), and counts connections.
    """

    def __init__(self, interval: float = 0.2, max_seconds: float = 6.0, status: str = "200 OK") -> None:
        self.interval = interval
        self.max_seconds = max_seconds
        self.status = status
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.drip, args=(conn,), daemon=True).start()

    def drip(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            try:
                conn.recv(65536)
                head = f"HTTP/1.1 {self.status}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n["
                conn.sendall(head.encode())
                ends = time.monotonic() + self.max_seconds
                while time.monotonic() < ends and not self.stop.is_set():
                    time.sleep(self.interval)
                    conn.sendall(b" ")
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.listener.close()


@pytest.fixture
def drip() -> Iterator[DripServer]:
    server = DripServer()
    yield server
    server.close()


def get(path: str = "/things") -> Call:
    return Call(method="GET", path=path, operation="get_things")


def test_a_server_dripping_its_body_is_cut_off_at_the_attempt_deadline(drip: DripServer) -> None:
    """httpx's read timeout (0.5 s) never trips on a byte every 0.2 s; the attempt's deadline does."""
    client = httpx.Client(base_url=f"http://127.0.0.1:{drip.port}", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(TransportError, match="deadline exceeded") as info:
        Session(client, PROFILE, retry=RetryPolicy(attempts=1)).send(get())
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, f"the call ran {elapsed:.1f} s with timeout=0.5"
    assert info.value.vendor == "testvendor"


def test_the_total_deadline_bounds_every_attempt_and_retry(drip: DripServer) -> None:
    """Retries of a dripping read stop at RetryPolicy.timeout, never one more attempt past it."""
    client = httpx.Client(base_url=f"http://127.0.0.1:{drip.port}", timeout=30)
    policy = RetryPolicy(attempts=10, timeout=0.8, wait_initial=0.05, wait_jitter=0)
    started = time.monotonic()
    with pytest.raises(TransportError, match="deadline exceeded"):
        Session(client, PROFILE, retry=policy).send(get())
    assert time.monotonic() - started < 3.0


def test_the_async_session_keeps_the_same_deadline(drip: DripServer) -> None:
    async def go() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{drip.port}", timeout=0.5) as client:
            await AsyncSession(client, PROFILE, retry=RetryPolicy(attempts=1)).send(get())

    started = time.monotonic()
    with pytest.raises(TransportError, match="deadline exceeded"):
        asyncio.run(go())
    assert time.monotonic() - started < 2.5


def test_a_vendor_connection_with_timeout_is_cut_off_too(drip: DripServer) -> None:
    conn = backupbridge.connect(
        "idrive360",
        api_key="k-1234567890",
        base_url=f"http://127.0.0.1:{drip.port}/api",
        timeout=0.5,
        retry=RetryPolicy(attempts=1),
    )
    started = time.monotonic()
    with pytest.raises(TransportError, match="deadline exceeded"):
        list(conn.list_devices())
    assert time.monotonic() - started < 2.5


def test_a_login_dripping_its_answer_is_cut_off_too(drip: DripServer) -> None:
    conn = backupbridge.connect(
        "vprotect",
        login="reader",
        password="pw-123456",
        base_url=f"http://127.0.0.1:{drip.port}/api",
        timeout=0.5,
        retry=RetryPolicy(attempts=1),
    )
    started = time.monotonic()
    with pytest.raises(TransportError, match="deadline exceeded") as info:
        list(conn.list_devices())
    assert info.value.during_login and time.monotonic() - started < 2.5


class Endless:
    """A streamed body of 1 MiB chunks that never ends; counts how many chunks were pulled from it."""

    def __init__(self, chunk: bytes = b"[" + b"1," * (MiB // 2 - 1) + b"1") -> None:
        self.chunk = chunk
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        while self.pulled < 10_000:  # 10 GiB: a client without a limit would take minutes and all the memory
            self.pulled += 1
            yield self.chunk


def streaming(
    bodies: list[Endless], status: int = 200, headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        body = Endless()
        bodies.append(body)
        return httpx.Response(status, stream=_Iter(body), headers=headers)

    return handler


class _Iter(httpx.SyncByteStream):
    def __init__(self, body: Endless) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)


def session(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> Session:
    client = httpx.Client(base_url="https://api.example.test", transport=httpx.MockTransport(handler))
    return Session(client, PROFILE, **kwargs)


def test_an_oversized_body_is_read_as_a_stream_and_stops_at_the_limit() -> None:
    bodies: list[Endless] = []
    with pytest.raises(DecodingError, match="more than the limit") as info:
        session(streaming(bodies), retry=RetryPolicy(max_body_bytes=4 * MiB)).send(get())
    assert len(bodies) == 1, "an oversized body is not retried (never downloaded again)"
    assert bodies[0].pulled <= 5, "reading stopped at the limit: memory stays bounded"
    assert info.value.endpoint == "GET /things" and not info.value.garbled
    assert info.value.excerpt and len(info.value.excerpt) <= DecodingError.EXCERPT_LENGTH + 3


def test_a_declared_oversized_body_is_refused_before_reading_it() -> None:
    bodies: list[Endless] = []
    handler = streaming(bodies, headers={"Content-Length": str(400 * MiB)})
    with pytest.raises(DecodingError, match="declares 419430400 bytes"):
        session(handler, retry=RetryPolicy(max_body_bytes=4 * MiB)).send(get())
    assert len(bodies) == 1 and bodies[0].pulled == 0


def test_an_oversized_error_body_is_not_retried_either() -> None:
    bodies: list[Endless] = []
    with pytest.raises(DecodingError, match="more than the limit"):
        session(streaming(bodies, status=503), retry=RetryPolicy(max_body_bytes=2 * MiB)).send(get())
    assert len(bodies) == 1


def test_a_body_within_the_limit_is_read_whole() -> None:
    body = b'{"ok": true, "pad": "' + b"x" * (3 * MiB) + b'"}'
    s = session(lambda r: httpx.Response(200, content=body), retry=RetryPolicy(max_body_bytes=4 * MiB))
    assert s.send(get()).json()["ok"] is True


def test_the_default_limit_is_generous() -> None:
    assert RetryPolicy().max_body_bytes == 64 * MiB


def test_an_oversized_login_reply_is_a_decoding_error_read_no_further() -> None:
    bodies: list[Endless] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Provider/Login"):
            return streaming(bodies)(request)
        raise AssertionError("no call is sent before the login succeeded")

    conn = backupbridge.connect(
        "managedbackup",
        username="u",
        password="pw-123456",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_body_bytes=2 * MiB),
    )
    with pytest.raises(DecodingError, match="more than the limit") as info:
        list(conn.list_companies())
    assert info.value.during_login and len(bodies) == 1 and bodies[0].pulled <= 3


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>Welcome to the proxy</html>"),
        httpx.Response(200, content=b""),
        httpx.Response(200, content=b"\x00\xff\xfe"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"access_token": {"nested": 1}}),
    ],
    ids=["html", "empty", "binary", "list", "token-not-a-string"],
)
def test_a_hostile_login_reply_is_a_decoding_error(answer: httpx.Response) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Provider/Login"):
            return answer
        raise AssertionError("no call is sent before the login succeeded")

    conn = backupbridge.connect(
        "managedbackup",
        username="u",
        password="pw-123456",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=1),
    )
    with pytest.raises(DecodingError) as info:
        list(conn.list_companies())
    assert info.value.during_login and info.value.vendor == "managedbackup"


def test_a_vprotect_login_without_a_session_cookie_is_a_decoding_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"requester": {"name": "reader"}})

    conn = backupbridge.connect(
        "vprotect",
        login="reader",
        password="pw-123456",
        base_url="https://vp.test:8181/api",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=1),
    )
    with pytest.raises(DecodingError, match="no session cookie"):
        list(conn.list_devices())
