"""Wire limits: every response body is read as a stream, bounded in size and by a wall-clock deadline.

httpx's read timeout bounds each read, not the whole answer: a server sending one byte a second never
trips it. So the session puts the attempt's deadline and the largest body it accepts on each request
(``DEADLINE``, ``MAX_BODY``; a login request inherits them from the request it logs in for), and every
body, login replies and refused answers included, is read here, chunk by chunk, checking both.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Iterator
from typing import Any

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


_STEP = 64 * 1024
"""The most bytes a decoder may produce, and the raw bytes read, in one step: memory stays bounded by a few
steps per content-coding layer, however much a compressed body inflates (a gzip bomb, stacked codings)."""
MAX_CODINGS = 3
"""The most content-coding layers (``Content-Encoding: gzip, gzip, gzip``) decoded; more are refused."""
_NUMBER = re.compile(r"[0-9]+")


class _Inflate:
    """One ``gzip`` or ``deflate`` layer, decoded ``_STEP`` bytes of output at a time (``max_length``)."""

    def __init__(self, coding: str) -> None:
        self.gzip = coding == "gzip"
        self.fed = False
        self.ended = False
        self.raw_deflate = False
        self.inflater = self._inflater()

    def _inflater(self) -> Any:
        if self.gzip:
            return zlib.decompressobj(zlib.MAX_WBITS | 16)
        return zlib.decompressobj(-zlib.MAX_WBITS if self.raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while not self.ended:
            try:
                out = self.inflater.decompress(data, _STEP)
            except zlib.error:
                if self.gzip or self.fed or self.raw_deflate:
                    raise
                # ``deflate`` sent as a raw deflate stream (no zlib header), as some servers do: httpx's rule.
                self.raw_deflate = True
                self.inflater = self._inflater()
                continue
            self.fed = True
            if out:
                yield out
            if self.inflater.eof:
                data = self.inflater.unused_data
                if not (self.gzip and data):
                    self.ended = True
                    return  # what follows a deflate stream's end is ignored, as httpx does
                self.inflater = self._inflater()  # the next member of a multi-member gzip body
                continue
            data = self.inflater.unconsumed_tail
            if not data and len(out) < _STEP:
                return

    def flush(self) -> Iterator[bytes]:
        yield from self.feed(b"")


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def flush(self) -> Iterator[bytes]:
        return iter(())


_Decoder = _Inflate | _Identity


class _Limits:
    def __init__(self, response: httpx.Response) -> None:
        self.request = response.request
        self.limit: int | None = self.request.extensions.get(MAX_BODY)
        self.buffer = bytearray()
        self.raw = 0
        declared = response.headers.get("content-length", "").strip()
        if self.limit is not None and _NUMBER.fullmatch(declared) and int(declared) > self.limit:
            raise self.too_large(f"declares {int(declared)} bytes")
        self.decoders = self._decoders(response)
        check_deadline(self.request)

    def _decoders(self, response: httpx.Response) -> list[_Decoder]:
        """The layers to undo, outermost (the last applied) first."""
        codings = [
            value.strip().lower()
            for header in response.headers.get_list("content-encoding")
            for value in header.split(",")
            if value.strip() and value.strip().lower() != "identity"
        ]
        if len(codings) > MAX_CODINGS:
            raise self.refused(f"stacks {len(codings)} content codings (at most {MAX_CODINGS} are decoded)")
        for coding in codings:
            if coding not in ("gzip", "x-gzip", "deflate"):
                raise self.refused(
                    f"is encoded as {coding[:40]!r}, which cannot be decoded within the body limit "
                    "(gzip and deflate can)"
                )
        decoders: list[_Decoder] = [_Inflate("deflate" if c == "deflate" else "gzip") for c in reversed(codings)]
        return decoders or [_Identity()]

    def refused(self, what: str) -> DecodingError:
        return DecodingError(f"the response body {what}", endpoint=_endpoint(self.request))

    def too_large(self, what: str) -> DecodingError:
        return DecodingError(
            f"the response body {what}, more than the limit of {self.limit} bytes (RetryPolicy.max_body_bytes)",
            endpoint=_endpoint(self.request),
            excerpt=self.buffer[:4096].decode("utf-8", "replace"),
        )

    def add_raw(self, chunk: bytes) -> None:
        """One chunk as it came off the wire: decoded layer by layer, each step's output bounded."""
        self.raw += len(chunk)
        if self.limit is not None and self.raw > self.limit:
            raise self.too_large("is larger on the wire")
        try:
            for start in range(0, len(chunk), _STEP):  # a transport may hand over a big chunk: fed in steps
                self._through(0, chunk[start : start + _STEP], final=False)
        except zlib.error as exc:
            message = f"the response body is not valid {'/'.join(self._names())} ({str(exc)[:80]})"
            raise DecodingError(message, endpoint=_endpoint(self.request)) from None
        check_deadline(self.request)

    def _names(self) -> list[str]:
        return ["gzip" if d.gzip else "deflate" for d in self.decoders if isinstance(d, _Inflate)] or ["data"]

    def _through(self, layer: int, data: bytes, *, final: bool) -> None:
        decoder = self.decoders[layer]
        pieces = decoder.flush() if final and not data else decoder.feed(data)
        for piece in pieces:
            if layer + 1 < len(self.decoders):
                self._through(layer + 1, piece, final=False)
            else:
                self._decoded(piece)
        if final and layer + 1 < len(self.decoders):
            self._through(layer + 1, b"", final=True)

    def _decoded(self, piece: bytes) -> None:
        self.buffer += piece
        if self.limit is not None and len(self.buffer) > self.limit:
            raise self.too_large("is larger")

    def finish(self) -> None:
        try:
            self._through(0, b"", final=True)
        except zlib.error as exc:
            message = f"the response body is not valid {'/'.join(self._names())} ({str(exc)[:80]})"
            raise DecodingError(message, endpoint=_endpoint(self.request)) from None

    def done(self, response: httpx.Response) -> bytes:
        content = bytes(self.buffer)
        # What ``response.read()`` would have stored: later readers (the auth flow, httpx) see the body.
        response._content = content
        return content


def _already_read(response: httpx.Response) -> bytes | None:
    """The body httpx already holds (a response built from bytes, e.g. by a mock transport), checked."""
    if not hasattr(response, "_content"):
        return None
    limit = response.request.extensions.get(MAX_BODY)
    if limit is not None and len(response.content) > limit:
        raise DecodingError(
            f"the response body is larger, more than the limit of {limit} bytes (RetryPolicy.max_body_bytes)",
            endpoint=_endpoint(response.request),
            excerpt=response.content[:4096].decode("utf-8", "replace"),
        )
    return response.content


def read_body(response: httpx.Response) -> bytes:
    """The whole (decoded) body of a streamed ``response``, within its request's size and time limits.

    The raw stream is read in small chunks and its content codings undone here, a bounded step at a time, so
    the limit bounds the decoded size with bounded memory whatever the body inflates to.

    Raises:
        DecodingError: the body is larger than the limit (it is not read further), its coding is broken,
            unsupported or stacked deeper than ``MAX_CODINGS``.
        DeadlineExceeded: the attempt's deadline passed while reading.
    """
    held = _already_read(response)
    if held is not None:
        return held
    limits = _Limits(response)
    for chunk in response.iter_raw():
        limits.add_raw(chunk)
    limits.finish()
    return limits.done(response)


async def aread_body(response: httpx.Response) -> bytes:
    """The async twin of ``read_body``."""
    held = _already_read(response)
    if held is not None:
        return held
    limits = _Limits(response)
    async for chunk in response.aiter_raw():
        limits.add_raw(chunk)
    limits.finish()
    return limits.done(response)
