"""Sans-I/O descriptions of requests, replies and operations.

A vendor writes each endpoint once, as a function that validates its arguments and returns an ``Op``:
a generator that yields ``Call`` objects, receives each ``Reply``, and returns the parsed result. A
listing is a ``ListOp`` that also yields ``Batch`` objects of finished records. The sync and async
sessions only differ in how they send a ``Call``; the logic is shared.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs
import httpx

from ..convert import excerpt_of
from ..errors import DecodingError

__all__ = ["Batch", "Call", "ListOp", "Op", "Page", "Reply", "collect", "mapped", "paginate"]

T = TypeVar("T")
ParamValue = str | int | float | bool | None | Sequence[str | int]


def _wire_param(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@attrs.frozen(kw_only=True)
class Call:
    """One HTTP request, described, not sent.

    Attributes:
        operation: the vendor operation's name, for errors and logs.
        idempotent: a failed attempt may be repeated (reads, and writes carrying a duplicate-prevention
            token). Other writes are never retried automatically.
        params: query parameters; ``None`` values are left out, booleans become ``true``/``false`` and
            sequences repeat the parameter.
    """

    method: str
    path: str
    operation: str
    params: Mapping[str, ParamValue] = attrs.field(factory=dict)
    json: Any = None
    idempotent: bool = attrs.field()
    headers: Mapping[str, str] = attrs.field(factory=dict)

    @idempotent.default
    def _default_idempotent(self) -> bool:
        return self.method.upper() in ("GET", "HEAD", "OPTIONS")

    def query(self) -> list[tuple[str, str | int | float | bool | None]]:
        pairs: list[tuple[str, str | int | float | bool | None]] = []
        for key, value in self.params.items():
            if value is None:
                continue
            if isinstance(value, list | tuple):
                pairs.extend((key, _wire_param(v)) for v in value)
            else:
                pairs.append((key, _wire_param(value)))  # type: ignore[arg-type]
        return pairs

    @property
    def endpoint(self) -> str:
        return f"{self.method.upper()} {self.path}"


_UNPARSED: Any = object()


@attrs.define
class Reply:
    """A response as the vendor logic sees it: status, headers, body, and a safe ``json()`` (parsed once)."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    endpoint: str
    vendor: str
    operation: str
    _parsed: Any = attrs.field(default=_UNPARSED, repr=False, eq=False, alias="_parsed")

    @classmethod
    def from_response(cls, response: httpx.Response, call: Call, vendor: str) -> Reply:
        return cls(response.status_code, response.headers, response.content, call.endpoint, vendor, call.operation)

    def json(self) -> Any:
        """The body as JSON, or ``DecodingError`` with a short excerpt (HTML error pages, truncation...)."""
        if self._parsed is not _UNPARSED:
            return self._parsed
        if not self.content.strip():
            raise self.decoding_error("empty body where JSON was expected")
        try:
            self._parsed = json.loads(self.content)
        except ValueError as exc:
            ctype = self.headers.get("content-type", "no content type")
            raise self.decoding_error(f"body is not valid JSON ({ctype})") from exc
        return self._parsed

    def decoding_error(self, message: str) -> DecodingError:
        return DecodingError(
            message,
            endpoint=self.endpoint,
            excerpt=excerpt_of(self.content),
            vendor=self.vendor,
            operation=self.operation,
        )


@attrs.frozen
class Batch(Generic[T]):
    """Records a listing has finished decoding; ``items`` may map them lazily (it is iterated once), so a
    consumer that does not keep the records never holds a whole page of them."""

    items: Iterable[T]


OpGenerator = Generator[Call, Reply, T]
ListGenerator = Generator["Call | Batch[T]", "Reply | None", None]


@attrs.frozen
class Op(Generic[T]):
    """An operation that yields one result: run it with ``session.run(op)``."""

    operation: str
    steps: OpGenerator[T]


@attrs.frozen
class ListOp(Generic[T]):
    """A listing: iterate it with ``session.iterate(op)``; records arrive page by page."""

    operation: str
    steps: ListGenerator[T]


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """What one page of a listing held.

    Attributes:
        items: the records on this page.
        next: the call for the next page, or ``None`` when this was the last one.
        total: the number of records the vendor says the whole listing has, when it says so.
    """

    items: Sequence[T]
    next: Call | None
    total: int | None = None


def paginate(
    first: Call,
    parse_page: Callable[[Reply, Call], Page[T]],
    *,
    max_pages: int = 1_000_000,
) -> ListOp[T]:
    """The one place listings are paged.

    A listing either yields every record or raises: when the vendor states a total and the pages did
    not add up to it, ``DecodingError`` is raised after the last page; a page that repeats the
    previous request (a vendor ignoring its paging parameters) raises instead of looping forever.
    """

    def steps() -> ListGenerator[T]:
        call: Call | None = first
        seen = 0
        pages = 0
        total: int | None = None
        last_request: tuple[str, tuple[tuple[str, Any], ...]] | None = None
        while call is not None:
            request_key = (call.path, tuple(call.query()))
            if request_key == last_request:
                raise DecodingError(
                    "the vendor's paging did not advance", endpoint=call.endpoint, operation=first.operation
                )
            last_request = request_key
            pages += 1
            if pages > max_pages:
                raise DecodingError(
                    f"listing exceeded {max_pages} pages", endpoint=call.endpoint, operation=first.operation
                )
            reply = yield call
            assert reply is not None
            page = parse_page(reply, call)
            if page.total is not None:
                total = page.total
            seen += len(page.items)
            if page.items:
                yield Batch(page.items)
            call = page.next
        if total is not None and seen != total:
            raise DecodingError(
                f"listing incomplete: received {seen} records, the vendor reported {total}",
                endpoint=first.endpoint,
                operation=first.operation,
            )

    return ListOp(first.operation, steps())


def single_page(call: Call, parse: Callable[[Reply], Iterable[T]]) -> ListOp[T]:
    """A listing the vendor returns whole in one response."""
    return paginate(call, lambda reply, _: Page(items=list(parse(reply)), next=None))


def collect(listing: ListOp[T]) -> Generator[Call, Reply, list[T]]:
    """Every item of a listing, from inside another op: ``items = yield from collect(api.things.list())``."""
    steps = listing.steps
    items: list[T] = []
    message = next(steps)
    while True:
        if isinstance(message, Batch):
            items.extend(message.items)
            received = None
        else:
            received = yield message
        try:
            message = steps.send(received)
        except StopIteration:
            return items


def mapped(listing: ListOp[Any], convert: Callable[[Any], T | None], operation: str | None = None) -> ListOp[T]:
    """A listing whose items pass through ``convert`` page by page (``None`` results are dropped)."""

    def steps() -> ListGenerator[T]:
        inner = listing.steps
        message = next(inner)
        while True:
            if isinstance(message, Batch):
                converted = [convert(item) for item in message.items]
                received = yield Batch([item for item in converted if item is not None])
            else:
                received = yield message
            try:
                message = inner.send(received)
            except StopIteration:
                return

    return ListOp(operation or listing.operation, steps())
