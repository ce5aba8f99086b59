"""A tiny request router for the vendor simulators (sans-I/O: ``httpx.Request`` in, ``httpx.Response`` out)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import attrs
import httpx

from .faults import FAULT_APPLIED_KEY, PAGING_FAULT_KEY, PagingFault

__all__ = ["WHOLE_ARRAY", "PageShape", "Router", "SimRequest", "json_response"]


@attrs.frozen
class SimRequest:
    """An incoming request as a simulator handler sees it (path relative to the API root)."""

    method: str
    path: str
    query: httpx.QueryParams
    headers: httpx.Headers
    body: bytes
    path_params: dict[str, str] = attrs.field(factory=dict)

    def json(self) -> Any:
        """The JSON body; raises ``ValueError`` if it is not JSON."""
        return json.loads(self.body) if self.body else None


def plain_number(text: str) -> bool:
    """Whether ``text`` is a whole number as a client sends one: 1 to 19 ASCII digits (``str.isdigit`` also
    takes "\u00b2", which ``int()`` refuses, and other scripts' digits, which no client sends)."""
    return text.isascii() and text.isdigit() and len(text) <= 19


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return raw_json_response(status, body, headers)


def raw_json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    all_headers = {"content-type": "application/json; charset=utf-8", "content-length": str(len(body))}
    all_headers.update(headers or {})
    return httpx.Response(status, headers=all_headers, content=body)


Handler = Callable[[SimRequest], httpx.Response]


@attrs.frozen(kw_only=True)
class PageShape:
    """How one listing route pages, declared beside the route so paging faults can be injected on any
    vendor's simulator without vendor code in the fault machinery.

    Attributes:
        page, size: the query parameters naming the page and the page size (``PageNo``/``PageSize``).
        first: the number of the first page (1 for ``PageNo``, 0 for ``page``).
        offset, count: the path parameters of offset paging (``.../{offset}/{count}``), instead.
        items: the body key holding the records; ``None`` when the body is the array itself.
        stated_size: the body key in which the reply states its page size, when it does.

    A shape naming no page is a listing the route returns whole.
    """

    page: str | None = None
    size: str | None = None
    first: int = 0
    offset: str | None = None
    count: str | None = None
    items: str | None = None
    stated_size: str | None = None

    def position(self, request: SimRequest) -> tuple[int, int] | None:
        """``(page index from 0, page size)`` of a request; ``None`` for a whole listing (or unreadable)."""
        if self.offset and self.count:
            offset, count = request.path_params.get(self.offset, ""), request.path_params.get(self.count, "")
            if plain_number(offset) and plain_number(count) and int(count) > 0:
                return int(offset) // int(count), int(count)
            return None
        if self.page and self.size:
            page, size = request.query.get(self.page, str(self.first)), request.query.get(self.size, "")
            if plain_number(page) and int(page) >= self.first and plain_number(size) and int(size) > 0:
                return int(page) - self.first, int(size)
        return None

    def at(self, request: SimRequest, index: int) -> SimRequest:
        """The same request for the page at ``index``."""
        if self.offset and self.count:
            size = int(request.path_params[self.count])
            return attrs.evolve(request, path_params={**request.path_params, self.offset: str(index * size)})
        assert self.page is not None
        return attrs.evolve(request, query=request.query.set(self.page, str(index + self.first)))

    def records(self, body: Any) -> list[Any] | None:
        found = body if self.items is None else body.get(self.items) if isinstance(body, dict) else None
        return found if isinstance(found, list) else None

    def with_records(self, body: Any, records: list[Any]) -> Any:
        return records if self.items is None else {**body, self.items: records}


WHOLE_ARRAY = PageShape()
"""A listing answered whole, as a bare JSON array."""


def _body(response: httpx.Response) -> Any:
    if not 200 <= response.status_code < 300:
        return None
    try:
        return json.loads(response.read())
    except ValueError:
        return None


def _applied(response: httpx.Response) -> httpx.Response:
    response.extensions = {**response.extensions, FAULT_APPLIED_KEY: True}
    return response


def inject_paging_fault(fault: PagingFault, shape: PageShape, handler: Handler, request: SimRequest) -> httpx.Response:
    """``handler``'s answer to ``request`` with ``fault`` in it, where the fault applies (see ``PagingFault``);
    other pages are read by calling ``handler`` again."""
    response = handler(request)
    body = _body(response)
    records = shape.records(body)
    if records is None:
        return response
    position = shape.position(request)
    index, size = position if position is not None else (0, 0)

    def records_at(other: int) -> list[Any]:
        return shape.records(_body(handler(shape.at(request, other)))) or []

    changed: list[Any] | None = None
    if position is None:
        if fault is PagingFault.DUPLICATE_ID and len(records) >= 2:
            changed = [records[0], records[0], *records[2:]]
    elif fault is PagingFault.SHORT_PAGE:
        if records and len(records) == size and records_at(index + 1):
            changed = records[:-1]
    elif fault is PagingFault.EMPTY_PAGE:
        # Only the page before the last: the page after it is answered as it is, showing the listing goes on.
        if records and records_at(index + 1) and not records_at(index + 2):
            changed = []
    elif fault is PagingFault.REPEATED_PAGE:
        if index > 0:
            return _applied(handler(shape.at(request, index - 1)))
    elif fault is PagingFault.IGNORED_PAGING:
        if index > 0:
            return _applied(handler(shape.at(request, 0)))
    elif fault is PagingFault.OVERSIZED_PAGE_SIZE:
        if shape.stated_size and isinstance(body, dict) and shape.stated_size in body:
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            return _applied(json_response(response.status_code, {**body, shape.stated_size: size * 2}, headers))
    elif fault is PagingFault.DUPLICATE_ID and records:
        previous = records_at(index - 1) if index > 0 else []
        if previous:
            changed = [previous[-1], *records[1:]]
        elif len(records) >= 2:
            changed = [records[0], records[0], *records[2:]]
    if changed is None:
        return response
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return _applied(json_response(response.status_code, shape.with_records(body, changed), headers))


class Router:
    """Routes ``(method, path pattern)`` to handlers; ``{name}`` in a pattern captures a path segment."""

    def __init__(self, base_path: str) -> None:
        self.base_path = base_path.rstrip("/")
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._paging: dict[tuple[str, str], PageShape] = {}  # (method, route regex) -> how it pages

    def route(self, method: str, pattern: str, *, paging: PageShape | None = None) -> Callable[[Handler], Handler]:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/")) + "/?$")

        def decorate(handler: Handler) -> Handler:
            self._routes.append((method.upper(), regex, handler))
            if paging is not None:
                self._paging[(method.upper(), regex.pattern)] = paging
            return handler

        return decorate

    def add(self, method: str, pattern: str, handler: Handler, *, paging: PageShape | None = None) -> None:
        """Route ``method pattern`` to ``handler``; ``paging`` declares a listing route's paging (paging faults
        are injected only on such routes)."""
        self.route(method, pattern, paging=paging)(handler)

    def match(self, request: httpx.Request) -> tuple[Handler | None, SimRequest, bool]:
        """The handler for ``request`` (None if none), the parsed request, and whether the path exists."""
        path = request.url.path
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path) :] or "/"
        sim = SimRequest(request.method.upper(), path, request.url.params, request.headers, request.read())
        path_known = False
        for method, regex, handler in self._routes:
            found = regex.match(path.rstrip("/") or "/")
            if found:
                path_known = True
                if method == sim.method:
                    fault = request.extensions.get(PAGING_FAULT_KEY)
                    shape = self._paging.get((method, regex.pattern))
                    if isinstance(fault, PagingFault) and shape is not None:
                        handler = functools.partial(inject_paging_fault, fault, shape, handler)
                    return handler, attrs.evolve(sim, path_params=found.groupdict()), True
        return None, sim, path_known
