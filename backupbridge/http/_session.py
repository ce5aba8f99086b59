"""Sending calls: the sync and async sessions, with retries, rate limiting and error decoding.

Both sessions share every decision (what to retry, how long to wait, which exception a reply becomes)
through ``_SessionCore``; they differ only in how they send and sleep.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import attrs
import httpx
import stamina

from ..errors import (
    BackupBridgeError,
    DecodingError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
)
from ..redaction import install_log_redaction, redact
from ._calls import Batch, Call, ListOp, Op, Reply
from ._errors import ErrorDecoder, build_api_error

__all__ = ["AsyncSession", "RateLimiter", "RetryPolicy", "Session", "VendorProfile"]

T = TypeVar("T")
log = logging.getLogger("backupbridge.http")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How idempotent calls are retried on connection errors, 429 and 5xx.

    Attributes:
        attempts: the most attempts per call, the first included (1 disables retries).
        timeout: the total deadline in seconds for all attempts of one call.
        wait_initial, wait_max, wait_jitter: the jittered exponential backoff, in seconds.
        max_retry_after: a vendor's Retry-After longer than this is not waited for; the
            ``RateLimitedError`` is raised instead, so a caller is never stalled for hours.
    """

    attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    timeout: float = 60.0
    wait_initial: float = 0.2
    wait_max: float = 8.0
    wait_jitter: float = 0.5
    max_retry_after: float = 120.0


@attrs.frozen(kw_only=True)
class VendorProfile:
    """What the HTTP layer needs to know of a vendor: its name and how to read its error bodies."""

    name: str
    decode_error: ErrorDecoder | None = None


class RateLimiter:
    """At most ``per_second`` requests per second from one session (thread- and task-safe)."""

    def __init__(self, per_second: float) -> None:
        if per_second <= 0:
            raise ValidationError("rate limit must be positive", field="rate_limit")
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Claim the next slot; returns how long the caller must wait for it."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
            return slot - now


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol)


class _SessionCore:
    def __init__(
        self,
        profile: VendorProfile,
        *,
        retry: RetryPolicy | None = None,
        rate_limit: float | None = None,
        account: str | None = None,
    ) -> None:
        install_log_redaction()
        self.profile = profile
        self.retry = retry or RetryPolicy()
        self.limiter = RateLimiter(rate_limit) if rate_limit else None
        self.account = account

    def _should_retry(self, call: Call) -> Callable[[Exception], bool | float]:
        def hook(exc: Exception) -> bool | float:
            if not call.idempotent:
                return False
            if isinstance(exc, RateLimitedError):
                if exc.retry_after is None:
                    return True
                return exc.retry_after if exc.retry_after <= self.retry.max_retry_after else False
            if isinstance(exc, DecodingError) and exc.garbled:
                return True  # a body that is not JSON at all: most likely cut or mangled on the way
            return isinstance(exc, ServerError | TransportError)

        return hook

    def _retrying(self, call: Call) -> Any:
        policy = self.retry
        return stamina.retry_context(
            on=self._should_retry(call),
            attempts=policy.attempts,
            timeout=policy.timeout,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        )

    def _build(self, client: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
        return client.build_request(
            call.method,
            call.path,
            params=call.query() or None,
            json=call.json,
            headers=dict(call.headers) or None,
        )

    def _tag(self, exc: BackupBridgeError) -> BackupBridgeError:
        exc.vendor = exc.vendor or self.profile.name
        exc.account = exc.account or self.account
        return exc

    def _reply_or_raise(self, response: httpx.Response, call: Call, started: float) -> Reply:
        url = redact(str(response.request.url))
        log.debug("%s %s -> %s in %.0f ms", call.method, url, response.status_code, (time.monotonic() - started) * 1000)
        reply = Reply.from_response(response, call, self.profile.name)
        if 200 <= response.status_code < 300:
            if call.method == "GET" and response.status_code != 204:
                # Parsed here, inside the retry loop, so a garbled read is tried again (and parsed only once).
                try:
                    reply.json()
                except DecodingError as exc:
                    exc.garbled = True
                    raise self._tag(exc) from exc.__cause__
            return reply
        error = build_api_error(reply, method=call.method, url=url, decoder=self.profile.decode_error)
        raise self._tag(error)

    def _transport_error(self, exc: Exception, call: Call, request: httpx.Request) -> BackupBridgeError:
        url = redact(str(request.url))
        if isinstance(exc, httpx.DecodingError):
            return self._tag(
                DecodingError(
                    f"the response body could not be decoded: {type(exc).__name__}",
                    endpoint=call.endpoint,
                    operation=call.operation,
                )
            )
        applied: bool | None = None
        if not call.idempotent:
            applied = False if isinstance(exc, _NOT_SENT) else None
        detail = redact(str(exc)) or type(exc).__name__
        note = ""
        if applied is None and not call.idempotent:
            note = " (the vendor may have applied this write; check before repeating it)"
        elif applied is False:
            note = " (the request was not sent)"
        log.debug("%s %s failed: %s", call.method, url, detail)
        return self._tag(
            TransportError(
                f"no response to {call.endpoint}: {type(exc).__name__}: {detail}{note}",
                operation=call.operation,
                method=call.method,
                url=url,
                may_have_been_applied=applied,
            )
        )


_TRANSPORT_ERRORS = (httpx.TransportError, httpx.DecodingError, httpx.TooManyRedirects)


class Session(_SessionCore):
    """Sends calls over a sync ``httpx.Client`` and runs operations."""

    def __init__(self, client: httpx.Client, profile: VendorProfile, **kwargs: Any) -> None:
        super().__init__(profile, **kwargs)
        self.client = client

    def _send_once(self, call: Call) -> Reply:
        if self.limiter is not None:
            wait = self.limiter.reserve()
            if wait > 0:
                time.sleep(wait)
        request = self._build(self.client, call)
        started = time.monotonic()
        try:
            response = self.client.send(request)
        except _TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc, call, request) from exc
        return self._reply_or_raise(response, call, started)

    def send(self, call: Call) -> Reply:
        """Send one call, retrying it as its ``idempotent`` flag and the ``RetryPolicy`` allow."""
        for attempt in self._retrying(call):
            with attempt:
                try:
                    return self._send_once(call)
                except BackupBridgeError as exc:
                    exc.attempts = attempt.num
                    raise
        raise AssertionError("unreachable: stamina re-raises the last failure")  # pragma: no cover

    def run(self, op: Op[T]) -> T:
        """Drive an operation to its result."""
        steps = op.steps
        try:
            call = next(steps)
            while True:
                try:
                    reply = self.send(call)
                except BackupBridgeError as exc:
                    # Thrown into the op, so it may handle it (try the next company, treat "same state" as done).
                    call = steps.throw(exc)
                    continue
                call = steps.send(reply)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except BackupBridgeError as exc:
            # Errors the op raises itself (not found, a record that does not decode) name the account too.
            self._tag(exc)
            raise
        finally:
            steps.close()

    def iterate(self, op: ListOp[T]) -> Iterator[T]:
        """Drive a listing, yielding its records as each page arrives."""
        steps = op.steps
        try:
            message = next(steps)
            while True:
                if isinstance(message, Batch):
                    yield from message.items
                    message = steps.send(None)
                    continue
                try:
                    reply = self.send(message)
                except BackupBridgeError as exc:
                    message = steps.throw(exc)
                    continue
                message = steps.send(reply)
        except StopIteration:
            return
        except BackupBridgeError as exc:
            # Errors the op raises itself (not found, a record that does not decode) name the account too.
            self._tag(exc)
            raise
        finally:
            steps.close()

    def close(self) -> None:
        self.client.close()


class AsyncSession(_SessionCore):
    """Sends calls over an ``httpx.AsyncClient`` and runs operations."""

    def __init__(self, client: httpx.AsyncClient, profile: VendorProfile, **kwargs: Any) -> None:
        super().__init__(profile, **kwargs)
        self.client = client

    async def _send_once(self, call: Call) -> Reply:
        if self.limiter is not None:
            wait = self.limiter.reserve()
            if wait > 0:
                await asyncio.sleep(wait)
        request = self._build(self.client, call)
        started = time.monotonic()
        try:
            response = await self.client.send(request)
        except _TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc, call, request) from exc
        return self._reply_or_raise(response, call, started)

    async def send(self, call: Call) -> Reply:
        async for attempt in self._retrying(call):
            with attempt:
                try:
                    return await self._send_once(call)
                except BackupBridgeError as exc:
                    exc.attempts = attempt.num
                    raise
        raise AssertionError("unreachable: stamina re-raises the last failure")  # pragma: no cover

    async def run(self, op: Op[T]) -> T:
        steps = op.steps
        try:
            call = next(steps)
            while True:
                try:
                    reply = await self.send(call)
                except BackupBridgeError as exc:
                    call = steps.throw(exc)
                    continue
                call = steps.send(reply)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except BackupBridgeError as exc:
            # Errors the op raises itself (not found, a record that does not decode) name the account too.
            self._tag(exc)
            raise
        finally:
            steps.close()

    async def iterate(self, op: ListOp[T]) -> AsyncIterator[T]:
        steps = op.steps
        try:
            message = next(steps)
            while True:
                if isinstance(message, Batch):
                    for item in message.items:
                        yield item
                    message = steps.send(None)
                    continue
                try:
                    reply = await self.send(message)
                except BackupBridgeError as exc:
                    message = steps.throw(exc)
                    continue
                message = steps.send(reply)
        except StopIteration:
            return
        except BackupBridgeError as exc:
            # Errors the op raises itself (not found, a record that does not decode) name the account too.
            self._tag(exc)
            raise
        finally:
            steps.close()

    async def aclose(self) -> None:
        await self.client.aclose()
