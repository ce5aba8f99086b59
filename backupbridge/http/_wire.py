"""Wire limits: every response body is read as a stream, bounded in size and by a wall-clock deadline.

httpx's read timeout bounds each read, not the whole answer: a server sending one byte a second never
trips it. So the session puts the attempt's deadline and the largest body it accepts on each request
(``DEADLINE``, ``MAX_BODY``; a login request inherits them from the request it logs in for), and every
body, login replies and refused answers included, is read here, chunk by chunk, checking both.
"""

from __future__ import annotations

import time

import httpx

from ..errors import DecodingError

__all__ = ["DEADLINE", "LOGIN", "MAX_BODY", "DeadlineExceeded", "aread_body", "check_deadline", "read_body"]

DEADLINE = "backupbridge.deadline"
"""Request extension: the ``time.monotonic()`` value the attempt must be over by."""
MAX_BODY = "backupbridge.max_body_bytes"
"""Request extension: the largest body, in bytes (after content decoding), read for this request."""
LOGIN = "backupbridge.login"
"""Request extension set on login requests: a failure there means the request logged in for was not sent."""


class DeadlineExceeded(httpx.TimeoutException):
    """The attempt ran past its wall-clock deadline (a server dripping its answer, or a very slow link)."""


def _endpoint(request: httpx.Request) -> str:
    return f"{request.method} {request.url.path}"


def check_deadline(request: httpx.Request) -> None:
    """Raise ``DeadlineExceeded`` when the attempt of ``request`` is past its deadline."""
    deadline = request.extensions.get(DEADLINE)
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded(
            f"deadline exceeded: the attempt took longer than its wall-clock limit ({_endpoint(request)})",
            request=request,
        )


class _Limits:
    def __init__(self, response: httpx.Response) -> None:
        self.request = response.request
        self.limit: int | None = self.request.extensions.get(MAX_BODY)
        self.buffer = bytearray()
        declared = response.headers.get("content-length", "")
        if self.limit is not None and declared.isdigit() and int(declared) > self.limit:
            raise self.too_large(f"declares {int(declared)} bytes")
        check_deadline(self.request)

    def too_large(self, what: str) -> DecodingError:
        return DecodingError(
            f"the response body {what}, more than the limit of {self.limit} bytes (RetryPolicy.max_body_bytes)",
            endpoint=_endpoint(self.request),
            excerpt=self.buffer[:4096].decode("utf-8", "replace"),
        )

    def add(self, chunk: bytes) -> None:
        self.buffer += chunk
        if self.limit is not None and len(self.buffer) > self.limit:
            raise self.too_large("is larger")
        check_deadline(self.request)

    def done(self, response: httpx.Response) -> bytes:
        content = bytes(self.buffer)
        # What ``response.read()`` would have stored: later readers (the auth flow, httpx) see the body.
        response._content = content
        return content


def read_body(response: httpx.Response) -> bytes:
    """The whole (decoded) body of a streamed ``response``, within its request's size and time limits.

    Raises:
        DecodingError: the body is larger than the limit (it is not read further).
        DeadlineExceeded: the attempt's deadline passed while reading.
    """
    limits = _Limits(response)
    for chunk in response.iter_bytes():
        limits.add(chunk)
    return limits.done(response)


async def aread_body(response: httpx.Response) -> bytes:
    """The async twin of ``read_body``."""
    limits = _Limits(response)
    async for chunk in response.aiter_bytes():
        limits.add(chunk)
    return limits.done(response)
