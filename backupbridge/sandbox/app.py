"""A tiny request router for the vendor simulators (sans-I/O: ``httpx.Request`` in, ``httpx.Response`` out)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import attrs
import httpx

__all__ = ["Router", "SimRequest", "json_response"]


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


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return raw_json_response(status, body, headers)


def raw_json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    all_headers = {"content-type": "application/json; charset=utf-8", "content-length": str(len(body))}
    all_headers.update(headers or {})
    return httpx.Response(status, headers=all_headers, content=body)


Handler = Callable[[SimRequest], httpx.Response]


class Router:
    """Routes ``(method, path pattern)`` to handlers; ``{name}`` in a pattern captures a path segment."""

    def __init__(self, base_path: str) -> None:
        self.base_path = base_path.rstrip("/")
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/")) + "/?$")

        def decorate(handler: Handler) -> Handler:
            self._routes.append((method.upper(), regex, handler))
            return handler

        return decorate

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self.route(method, pattern)(handler)

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
                    return handler, attrs.evolve(sim, path_params=found.groupdict()), True
        return None, sim, path_known
