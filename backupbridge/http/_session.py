"""Sending calls: the sync and async sessions, with retries, rate limiting and error decoding.

Both sessions share every decision (what to retry, how long to wait, which exception a reply becomes)
through ``_SessionCore``; they differ only in how they send and sleep. Every answer is streamed and read
within the attempt's wall-clock deadline and the largest body the policy accepts (``_wire``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import attrs
import httpx

from ..errors import (
    BackupBridgeError,
    DecodingError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
)
from ..redaction import SecretScope, install_log_redaction, redact
from ._calls import Batch, Call, ListOp, Op, Reply
from ._errors import ErrorDecoder, build_api_error
from ._wire import DEADLINE, LOGIN, MAX_BODY, DeadlineExceeded, aread_body, check_deadline, read_body

__all__ = ["AsyncSession", "RateLimiter", "RetryPolicy", "Session", "VendorProfile"]

T = TypeVar("T")
log = logging.getLogger("backupbridge.http")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How calls are bounded, and how idempotent ones are retried on connection errors, 429 and 5xx.

    Attributes:
        attempts: the most attempts per call, the first included (1 disables retries).
        timeout: the total deadline in seconds for all attempts of one call, waits included: no wait
            runs past it (the last error is raised instead) and no attempt outlives it.
        wait_initial, wait_max, wait_jitter: the jittered exponential backoff, in seconds. A
            ``Retry-After`` shorter than the backoff (0, negative, a past date) waits the backoff.
        max_retry_after: a vendor's Retry-After longer than this is not waited for; the
            ``RateLimitedError`` is raised instead, so a caller is never stalled for hours.
        attempt_timeout: the wall-clock limit of one attempt in seconds, reading the whole body (and
            any login) included; ``None`` takes the connection's ``timeout`` (its largest part). httpx's
            own timeouts bound each read, not the answer: a server dripping a byte a second never trips them.
        max_body_bytes: the largest response body read (after content decoding); a larger one is a
            ``DecodingError``, read no further and not retried. 64 MiB by default.
    """

    attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    timeout: float = attrs.field(default=60.0, validator=attrs.validators.gt(0))
    wait_initial: float = 0.2
    wait_max: float = 8.0
    wait_jitter: float = 0.5
    max_retry_after: float = 120.0
    attempt_timeout: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.gt(0))
    )
    max_body_bytes: int = attrs.field(default=64 * 1024 * 1024, validator=attrs.validators.ge(1))

    def backoff(self, attempt: int) -> float:
        """The jittered exponential wait after failed attempt number ``attempt`` (stamina's formula)."""
        jitter = random.uniform(0, self.wait_jitter) if self.wait_jitter else 0.0
        try:
            return min(self.wait_max, self.wait_initial * 2.0 ** (attempt - 1) + jitter)
        except OverflowError:
            return self.wait_max


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
        # What this session's logins mint (tokens, session cookies) is registered for redaction under its
        # scope while a request is sent, and forgotten when the session (its connection) is closed.
        self.secrets = SecretScope()

    def _retry_wait(self, call: Call, started: float) -> Callable[[Exception], bool | float]:
        """stamina's backoff hook: ``False`` to stop, or how long to wait before the next attempt."""
        policy = self.retry

        def hook(exc: Exception) -> bool | float:
            if not isinstance(exc, BackupBridgeError):
                return False
            # A failed login means the request itself was not sent (or, for the login after a 401, was
            # refused unapplied): even a write may be tried again, and is sent once the login works.
            if not (call.idempotent or exc.during_login):
                return False
            asked = 0.0
            if isinstance(exc, RateLimitedError):
                asked = exc.retry_after or 0.0
                if asked > policy.max_retry_after:
                    return False
            elif isinstance(exc, DecodingError):
                if not exc.garbled:
                    return False  # a body that is not JSON at all is retried: most likely cut on the way
            elif not isinstance(exc, ServerError | TransportError):
                return False
            # A Retry-After of 0, negative or in the past keeps the backoff floor.
            wait = max(asked, policy.backoff(exc.attempts))
            if time.monotonic() + wait >= started + policy.timeout:
                return False  # the wait would end past the call's deadline: stop now, with this error
            return wait

        return hook

    def _retrying(self, call: Call, started: float) -> Any:
        """stamina's retry loop, set up only once a first attempt has failed (about 32 us a call otherwise):
        the loop is then run from its first attempt, which re-raises that failure (see ``send``), so stamina
        sees every attempt, decides every retry and reports every one to its instrumentation as before."""
        import stamina

        policy = self.retry
        return stamina.retry_context(
            on=self._retry_wait(call, started),
            attempts=policy.attempts,
            timeout=policy.timeout,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        )

    def _attempt_limit(self, client: httpx.Client | httpx.AsyncClient) -> float | None:
        if self.retry.attempt_timeout is not None:
            return self.retry.attempt_timeout
        parts = [t for t in client.timeout.as_dict().values() if t is not None]
        return max(parts) if parts else None

    def _build(self, client: httpx.Client | httpx.AsyncClient, call: Call, started: float) -> httpx.Request:
        request = client.build_request(
            call.method,
            call.path,
            params=call.query() or None,
            json=call.json,
            headers=dict(call.headers) or None,
        )
        now = time.monotonic()
        deadline = started + self.retry.timeout
        limit = self._attempt_limit(client)
        if limit is not None:
            deadline = min(deadline, now + limit)
        remaining = max(deadline - now, 0.001)
        # No single connect, read or write may outlast the attempt either.
        timeouts = request.extensions.get("timeout") or {}
        request.extensions["timeout"] = {
            name: remaining if timeouts.get(name) is None else min(timeouts[name], remaining)
            for name in ("connect", "read", "write", "pool")
        }
        request.extensions[DEADLINE] = deadline
        request.extensions[MAX_BODY] = self.retry.max_body_bytes
        return request

    def _tag(self, exc: BackupBridgeError) -> BackupBridgeError:
        exc.vendor = exc.vendor or self.profile.name
        exc.account = exc.account or self.account
        return exc

    def _reply_or_raise(self, response: httpx.Response, call: Call, started: float) -> Reply:
        """``response`` (its body read) as a ``Reply``, or the typed error it means."""
        if log.isEnabledFor(logging.DEBUG):  # the URL is redacted only for a line that is written
            url = redact(str(response.request.url))
            elapsed = (time.monotonic() - started) * 1000
            log.debug("%s %s -> %s in %.0f ms", call.method, url, response.status_code, elapsed)
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
        url = redact(str(response.request.url))
        error = build_api_error(reply, method=call.method, url=url, decoder=self.profile.decode_error)
        raise self._tag(error)

    def _transport_error(self, exc: Exception, call: Call, request: httpx.Request) -> BackupBridgeError:
        url = redact(str(request.url))
        try:
            failed: httpx.Request | None = exc.request if isinstance(exc, httpx.RequestError) else None
        except RuntimeError:  # an httpx error that was never given its request
            failed = None
        during_login = failed is not None and bool(failed.extensions.get(LOGIN))
        if isinstance(exc, httpx.DecodingError):
            error: BackupBridgeError = DecodingError(
                f"the response body could not be decoded: {type(exc).__name__}",
                endpoint=call.endpoint,
                operation=call.operation,
            )
            error.during_login = during_login
            return self._tag(error)
        applied: bool | None = None
        if not call.idempotent:
            applied = False if during_login or isinstance(exc, _NOT_SENT) else None
        detail = redact(str(exc)) or type(exc).__name__
        note = ""
        if during_login:
            note = " (while logging in: the request was not sent)"
        elif applied is None and not call.idempotent:
            note = " (the vendor may have applied this write; check before repeating it)"
        elif applied is False:
            note = " (the request was not sent)"
        log.debug("%s %s failed: %s", call.method, url, detail)
        error = TransportError(
            f"no response to {call.endpoint}: {type(exc).__name__}: {detail}{note}",
            operation=call.operation,
            method=call.method,
            url=url,
            may_have_been_applied=applied,
        )
        error.during_login = during_login
        return self._tag(error)


_TRANSPORT_ERRORS = (httpx.TransportError, httpx.DecodingError, httpx.TooManyRedirects, DeadlineExceeded)


class Session(_SessionCore):
    """Sends calls over a sync ``httpx.Client`` and runs operations."""

    def __init__(self, client: httpx.Client, profile: VendorProfile, **kwargs: Any) -> None:
        super().__init__(profile, **kwargs)
        self.client = client

    def _send_once(self, call: Call, call_started: float) -> Reply:
        if self.limiter is not None:
            wait = self.limiter.reserve()
            if wait > 0:
                time.sleep(wait)
        request = self._build(self.client, call, call_started)
        started = time.monotonic()
        scoped = self.secrets.enter()
        try:
            response = self.client.send(request, stream=True)
            try:
                check_deadline(request)
                read_body(response)
            finally:
                response.close()
        except _TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc, call, request) from exc
        except BackupBridgeError as exc:
            raise self._tag(exc) from exc.__cause__
        finally:
            self.secrets.exit(scoped)
        return self._reply_or_raise(response, call, started)

    def send(self, call: Call) -> Reply:
        """Send one call, retrying it as its ``idempotent`` flag and the ``RetryPolicy`` allow."""
        started = time.monotonic()
        try:
            return self._send_once(call, started)
        except BackupBridgeError as exc:
            exc.attempts = 1
            first = exc
        return self._send_again(call, started, first)

    def _send_again(self, call: Call, started: float, first: BackupBridgeError) -> Reply:
        """After a failed first attempt: stamina's loop, whose first attempt is that failure (``_retrying``)."""
        failed: BackupBridgeError | None = first
        for attempt in self._retrying(call, started):
            with attempt:
                if failed is not None:
                    error, failed = failed, None
                    raise error
                try:
                    return self._send_once(call, started)
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
        try:
            self.client.close()
        finally:
            self.secrets.release()


class AsyncSession(_SessionCore):
    """Sends calls over an ``httpx.AsyncClient`` and runs operations."""

    def __init__(self, client: httpx.AsyncClient, profile: VendorProfile, **kwargs: Any) -> None:
        super().__init__(profile, **kwargs)
        self.client = client

    async def _send_once(self, call: Call, call_started: float) -> Reply:
        if self.limiter is not None:
            wait = self.limiter.reserve()
            if wait > 0:
                await asyncio.sleep(wait)
        request = self._build(self.client, call, call_started)
        started = time.monotonic()
        scoped = self.secrets.enter()
        try:
            response = await self.client.send(request, stream=True)
            try:
                check_deadline(request)
                await aread_body(response)
            finally:
                await response.aclose()
        except _TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc, call, request) from exc
        except BackupBridgeError as exc:
            raise self._tag(exc) from exc.__cause__
        finally:
            self.secrets.exit(scoped)
        return self._reply_or_raise(response, call, started)

    async def send(self, call: Call) -> Reply:
        started = time.monotonic()
        try:
            return await self._send_once(call, started)
        except BackupBridgeError as exc:
            exc.attempts = 1
            first = exc
        return await self._send_again(call, started, first)

    async def _send_again(self, call: Call, started: float, first: BackupBridgeError) -> Reply:
        failed: BackupBridgeError | None = first
        async for attempt in self._retrying(call, started):
            with attempt:
                if failed is not None:
                    error, failed = failed, None
                    raise error
                try:
                    return await self._send_once(call, started)
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
        try:
            await self.client.aclose()
        finally:
            self.secrets.release()
