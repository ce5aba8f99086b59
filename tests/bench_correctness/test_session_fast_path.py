"""No retry machinery before a first failure, with stamina's semantics kept exactly; redaction work only
when its output is used; a connection's minted tokens released when it closes."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stamina
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backupbridge import BackupBridgeError, redaction
from backupbridge.http import AsyncSession, Call, RetryPolicy, Session, VendorProfile
from backupbridge.http import _session as session_module

PROFILE = VendorProfile(name="testvendor")


class ReferenceSession(Session):
    """``send`` as it was: stamina's loop set up before the first attempt."""

    def send(self, call: Call) -> Any:
        started = time.monotonic()
        for attempt in self._retrying(call, started):
            with attempt:
                try:
                    return self._send_once(call, started)
                except BackupBridgeError as exc:
                    exc.attempts = attempt.num
                    raise
        raise AssertionError("unreachable")


class ReferenceAsyncSession(AsyncSession):
    async def send(self, call: Call) -> Any:
        started = time.monotonic()
        async for attempt in self._retrying(call, started):
            with attempt:
                try:
                    return await self._send_once(call, started)
                except BackupBridgeError as exc:
                    exc.attempts = attempt.num
                    raise
        raise AssertionError("unreachable")


OUTCOMES: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "ok": lambda r: httpx.Response(200, json={"ok": True}),
    "503": lambda r: httpx.Response(503, text="busy"),
    "429": lambda r: httpx.Response(429, headers={"retry-after": "0"}),
    "429-long": lambda r: httpx.Response(429, headers={"retry-after": "100000"}),
    "400": lambda r: httpx.Response(400, json={"message": "bad"}),
    "garbled": lambda r: httpx.Response(200, content=b'{"ok": tr', headers={"content-type": "application/json"}),
    "connect": lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)),
    "reset": lambda r: (_ for _ in ()).throw(httpx.RemoteProtocolError("reset", request=r)),
}


def _handler(script: list[str], seen: list[str]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        outcome = script[min(len(seen) - 1, len(script) - 1)]
        return OUTCOMES[outcome](request)

    return handler


def _outcome(send: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        reply = send()
    except BackupBridgeError as exc:
        return ("error", type(exc).__name__, str(exc), exc.attempts, exc.during_login)
    return ("reply", reply.status_code, reply.content)


@pytest.fixture
def retries_seen() -> Iterator[list[tuple[int, str]]]:
    """What stamina's instrumentation reports for each scheduled retry."""
    from stamina.instrumentation import get_on_retry_hooks, set_on_retry_hooks

    seen: list[tuple[int, str]] = []
    before = get_on_retry_hooks()
    set_on_retry_hooks([lambda details: seen.append((details.retry_num, type(details.caused_by).__name__))])
    yield seen
    set_on_retry_hooks(before)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    script=st.lists(st.sampled_from(sorted(OUTCOMES)), min_size=1, max_size=6),
    attempts=st.integers(min_value=1, max_value=5),
    method=st.sampled_from(["GET", "POST"]),
    use_async=st.booleans(),
)
def test_retries_behave_as_with_stamina_from_the_start(
    script: list[str], attempts: int, method: str, use_async: bool, retries_seen: list[tuple[int, str]]
) -> None:
    """Same requests, same reply or error (type, message, attempts), same retries reported to stamina."""
    results = []
    for factory in (AsyncSession, ReferenceAsyncSession) if use_async else (Session, ReferenceSession):
        seen: list[str] = []
        retries_seen.clear()
        random.seed(7)
        call = Call(method=method, path="/x", operation="x", idempotent=method == "GET")
        policy = RetryPolicy(attempts=attempts)
        if use_async:
            client: Any = httpx.AsyncClient(
                base_url="https://api.example.test", transport=httpx.MockTransport(_handler(script, seen))
            )
            async_session = factory(client, PROFILE, retry=policy)
            outcome = _outcome(lambda s=async_session, c=call: asyncio.run(s.send(c)))  # type: ignore[misc]
        else:
            client = httpx.Client(
                base_url="https://api.example.test", transport=httpx.MockTransport(_handler(script, seen))
            )
            sync_session = factory(client, PROFILE, retry=policy)
            outcome = _outcome(lambda s=sync_session, c=call: s.send(c))  # type: ignore[misc]
        results.append((outcome, len(seen), list(retries_seen)))
    assert results[0] == results[1]


def test_a_call_that_works_sets_up_no_retry_machinery(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    real = stamina.retry_context

    def counting(*args: Any, **kwargs: Any) -> Any:
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(stamina, "retry_context", counting)
    script = ["ok"]
    client = httpx.Client(base_url="https://api.example.test", transport=httpx.MockTransport(_handler(script, [])))
    session = Session(client, PROFILE)
    for _ in range(3):
        session.send(Call(method="GET", path="/x", operation="x"))
    assert made == []
    script[0] = "503"
    script.append("ok")
    seen: list[str] = []
    client = httpx.Client(base_url="https://api.example.test", transport=httpx.MockTransport(_handler(script, seen)))
    assert Session(client, PROFILE).send(Call(method="GET", path="/x", operation="x")).status_code == 200
    assert made == [1] and len(seen) == 2


def test_the_url_is_redacted_only_for_a_line_that_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = redaction.redact

    def counting(text: str) -> str:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(session_module, "redact", counting)
    logging.getLogger("backupbridge.http").setLevel(logging.INFO)
    client = httpx.Client(base_url="https://api.example.test", transport=httpx.MockTransport(_handler(["ok"], [])))
    Session(client, PROFILE).send(Call(method="GET", path="/x", operation="x"))
    assert calls == []
    logging.getLogger("backupbridge.http").setLevel(logging.DEBUG)
    try:
        Session(client, PROFILE).send(Call(method="GET", path="/x", operation="x"))
    finally:
        logging.getLogger("backupbridge.http").setLevel(logging.NOTSET)
    assert calls == ["https://api.example.test/x"]


@pytest.mark.parametrize("use_async", [False, True])
def test_closing_a_connection_forgets_the_tokens_it_minted(use_async: bool) -> None:
    from backupbridge.sandbox import connect_sandbox, connect_sandbox_async

    before = set(redaction._secrets)
    if use_async:

        async def listing() -> set[str]:
            conn = connect_sandbox_async("managedbackup", size=3)
            try:
                assert [d async for d in conn.list_devices()]
                return set(redaction._secrets)
            finally:
                await conn.aclose()

        during = asyncio.run(listing())
    else:
        with connect_sandbox("managedbackup", size=3) as conn:
            assert list(conn.list_devices())
            during = set(redaction._secrets)
    minted = during - before - redaction._permanent  # the credentials are kept for the process
    assert minted  # the login's access token
    assert not minted & redaction._secrets
