"""Latency and fault injection for every simulator, shared through one transport."""

from __future__ import annotations

import asyncio
import email.utils
import enum
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs
import httpx

__all__ = ["PAGING_FAULTS", "FaultKind", "Faults", "PagingFault", "SimulatorTransport"]


class FaultKind(enum.Enum):
    """A kind of failure the transport can inject."""

    SERVER_ERROR = "server_error"  # 503 with a plain-text body
    RATE_LIMIT = "rate_limit"  # 429, Retry-After in seconds
    RATE_LIMIT_DATE = "rate_limit_date"  # 429, Retry-After as an HTTP date
    CONNECT_ERROR = "connect_error"  # refused before the server saw the request
    RESET_AFTER_APPLY = "reset_after_apply"  # the server applied the request, then the connection died
    TIMEOUT = "timeout"  # read timeout; the server did not apply the request
    TRUNCATED = "truncated"  # 200 with the body cut short
    MALFORMED_JSON = "malformed_json"  # 200 with a body that is not JSON
    HTML_ERROR = "html_error"  # 502 HTML page from a proxy
    EMPTY_BODY = "empty_body"  # 200 with no body
    UNKNOWN_ENUM = "unknown_enum"  # status/type-like values the client has never seen
    EXTRA_FIELDS = "extra_fields"  # keys the docs never mention, in every object
    MISSING_FIELDS = "missing_fields"  # optional (null) keys left out
    LARGE_PAYLOAD = "large_payload"  # a multi-megabyte field added to the answer
    ECHO_REQUEST = "echo_request"  # 200 HTML from a proxy/WAF echoing the request: headers, cookies, query, body


class PagingFault(enum.Enum):
    """A listing page a misbehaving server might send: injected by the simulators' routers on the routes
    that declare their paging (``PageShape``), and only where a careful client can tell, so each one applied
    must make the listing raise ``DecodingError``. A fault drawn for a request it does not apply to (not a
    listing, or no page after this one) leaves the answer alone and is not counted."""

    SHORT_PAGE = "short_page"  # a full page one record short, while a later page still has records
    EMPTY_PAGE = "empty_page"  # the page before the last answered empty (the last one then shows more follow)
    REPEATED_PAGE = "repeated_page"  # page n answered with page n-1
    OVERSIZED_PAGE_SIZE = "oversized_page_size"  # the reply states a page size bigger than asked
    IGNORED_PAGING = "ignored_paging"  # every page answered with the first page
    DUPLICATE_ID = "duplicate_id"  # a record of the previous page (or of this one) replaces one of this page


PAGING_FAULTS: tuple[PagingFault, ...] = tuple(PagingFault)

# How the transport tells a simulator's router which paging fault to inject, and the router answers that it did.
PAGING_FAULT_KEY = "backupbridge.paging_fault"
FAULT_APPLIED_KEY = "backupbridge.fault_applied"


@attrs.frozen(kw_only=True)
class Faults:
    """Which faults to inject, how often, from which seed.

    Attributes:
        rate: the probability (0-1) that a request meets a fault.
        kinds: the kinds to draw from (every ``FaultKind`` by default; add ``PagingFault`` kinds, e.g.
            ``(*FaultKind, *PAGING_FAULTS)``, to inject paging faults too).
        seed: makes the sequence of faults repeatable.
        retry_after: the delay announced by injected 429s, in seconds.
    """

    rate: float = attrs.field(default=0.0, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)])
    kinds: tuple[FaultKind | PagingFault, ...] = tuple(FaultKind)
    seed: int = 0
    retry_after: float = 0.0


class SimulatorTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport (sync and async) that answers from a simulator, with latency and faults.

    ``requests`` counts every request that reached it, ``faults_injected`` counts faults by kind (a paging
    fault only where a router applied it).
    """

    def __init__(
        self,
        handle: Callable[[httpx.Request], httpx.Response],
        *,
        latency: float = 0.0,
        faults: Faults | None = None,
    ) -> None:
        self._handle = handle
        self.latency = latency
        self.faults = faults or Faults()
        self._random = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self.requests = 0
        self.faults_injected: Counter[FaultKind | PagingFault] = Counter()
        self._paging_rest = False  # the previous request met a paging fault: this one does not

    def _draw(self) -> FaultKind | PagingFault | None:
        with self._lock:
            self.requests += 1
            if self.faults.rate and self.faults.kinds and self._random.random() < self.faults.rate:
                kind = self._random.choice(self.faults.kinds)
                if isinstance(kind, FaultKind):  # a paging fault is counted once the router applied it
                    self.faults_injected[kind] += 1
                return kind
        return None

    def _answer(self, request: httpx.Request, fault: FaultKind | PagingFault | None) -> httpx.Response:
        with self._lock:
            # One glitch at a time: right after a paging fault the next request is answered as it is, so a
            # fault is never hidden by another (two lies in a row can pass for the end of a listing).
            resting, self._paging_rest = self._paging_rest, False
        if isinstance(fault, PagingFault):
            if not resting:
                request.extensions = {**request.extensions, PAGING_FAULT_KEY: fault}
                response = self._handle(request)
                if response.extensions.get(FAULT_APPLIED_KEY):
                    with self._lock:
                        self.faults_injected[fault] += 1
                        self._paging_rest = True
                return response
            fault = None
        if PAGING_FAULT_KEY in request.extensions:
            request.extensions = {k: v for k, v in request.extensions.items() if k != PAGING_FAULT_KEY}
        return self._answer_fault(request, fault)

    def _answer_fault(self, request: httpx.Request, fault: FaultKind | None) -> httpx.Response:
        if fault is FaultKind.CONNECT_ERROR:
            raise httpx.ConnectError("injected: connection refused", request=request)
        if fault is FaultKind.TIMEOUT:
            raise httpx.ReadTimeout("injected: read timed out", request=request)
        if fault is FaultKind.SERVER_ERROR:
            return httpx.Response(503, headers={"content-type": "text/plain"}, content=b"Service Unavailable")
        if fault is FaultKind.RATE_LIMIT:
            return httpx.Response(429, headers={"retry-after": f"{self.faults.retry_after:g}"}, content=b"")
        if fault is FaultKind.RATE_LIMIT_DATE:
            when = email.utils.formatdate(time.time() + self.faults.retry_after, usegmt=True)
            return httpx.Response(429, headers={"retry-after": when}, content=b"")
        if fault is FaultKind.ECHO_REQUEST:
            return httpx.Response(200, headers={"content-type": "text/html"}, content=_echo_page(request))
        if fault is FaultKind.HTML_ERROR:
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
            return httpx.Response(502, headers={"content-type": "text/html"}, content=page)
        response = self._handle(request)
        if fault is FaultKind.RESET_AFTER_APPLY:
            raise httpx.RemoteProtocolError("injected: connection reset after the request was applied", request=request)
        if fault is FaultKind.TRUNCATED:
            body = response.read()
            return httpx.Response(
                response.status_code, headers={"content-type": "application/json"}, content=body[: len(body) // 2]
            )
        if fault is FaultKind.MALFORMED_JSON:
            return httpx.Response(200, headers={"content-type": "application/json"}, content=b'{"ok": tru')
        if fault is FaultKind.EMPTY_BODY:
            return httpx.Response(200, headers={"content-type": "application/json"}, content=b"")
        if fault in _MUTATIONS and 200 <= response.status_code < 300:
            return _mutated(response, _MUTATIONS[fault])
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._draw()
        if self.latency:
            time.sleep(self.latency)
        return self._answer(request, fault)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._draw()
        if self.latency:
            await asyncio.sleep(self.latency)
        await request.aread()
        return self._answer(request, fault)


def _echo_page(request: httpx.Request) -> bytes:
    """What a misconfigured proxy or WAF sends back: the request, secrets and all, in raw, URL-encoded and
    HTML-escaped forms, so the client must redact every path an excerpt of it can take."""
    import html
    import urllib.parse

    # The credentials first, so they fall inside any excerpt an error message keeps.
    headers = sorted(request.headers.items(), key=lambda item: item[0] not in ("authorization", "cookie"))
    body = request.content.decode("utf-8", "replace")
    page = "\n".join([body, *(f"{name}: {value}" for name, value in headers), f"{request.method} {request.url}"])
    return (
        "<pre>"
        + html.escape(page)
        + "</pre><!-- "
        + page
        + " --><a href='/report?q="
        + urllib.parse.quote_plus(page)
        + "'>report</a></body></html>"
    ).encode()


# Keys that carry enum-like values in the vendors' answers; an unknown value must map to UNKNOWN, not crash.
_ENUM_KEYS = frozenset(
    {
        "status",
        "Status",
        "JobStatus",
        "backup_status",
        "state",
        "type",
        "PlanType",
        "frequency_type",
        "Frequency",
        "executionType",
        "os",
        "OSTypeString",
    }
)


def _walk(value: Any, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    if isinstance(value, dict):
        return change({k: _walk(v, change) for k, v in value.items()})
    if isinstance(value, list):
        return [_walk(v, change) for v in value]
    return value


def _unknown_enums(obj: dict[str, Any]) -> dict[str, Any]:
    for key in _ENUM_KEYS & obj.keys():
        value = obj[key]
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            obj[key] = 97
        elif isinstance(value, str):
            obj[key] = "FROM_THE_FUTURE"
        elif isinstance(value, dict) and "name" in value:
            obj[key] = {"name": "FROM_THE_FUTURE", "description": "A value added after this client was written"}
    return obj


def _extra_fields(obj: dict[str, Any]) -> dict[str, Any]:
    obj["x_added_later"] = {"nested": [1, "two", None], "flag": True}
    return obj


def _missing_fields(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}


def _large(body: Any) -> Any:
    padding = "x" * (3 * 2**20)
    if isinstance(body, dict):
        body["x_large_blob"] = padding
    elif isinstance(body, list) and body and isinstance(body[0], dict):
        body[0]["x_large_blob"] = padding
    return body


_MUTATIONS: dict[FaultKind, Callable[[Any], Any]] = {
    FaultKind.UNKNOWN_ENUM: lambda body: _walk(body, _unknown_enums),
    FaultKind.EXTRA_FIELDS: lambda body: _walk(body, _extra_fields),
    FaultKind.MISSING_FIELDS: lambda body: _walk(body, _missing_fields),
    FaultKind.LARGE_PAYLOAD: _large,
}


def _mutated(response: httpx.Response, mutate: Callable[[Any], Any]) -> httpx.Response:
    """The same answer with its JSON changed (left as it is when it is not JSON)."""
    try:
        body = json.loads(response.read())
    except ValueError:
        return response
    content = json.dumps(mutate(body)).encode()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return httpx.Response(response.status_code, headers=headers, content=content)
