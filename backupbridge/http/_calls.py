"""Sans-I/O descriptions of requests, replies and operations.

A vendor writes each endpoint once, as a function that validates its arguments and returns an ``Op``:
a generator that yields ``Call`` objects, receives each ``Reply``, and returns the parsed result. A
listing is a ``ListOp`` that also yields ``Batch`` objects of finished records. The sync and async
sessions only differ in how they send a ``Call``; the logic is shared.
"""

from __future__ import annotations

import enum
import itertools
import json
import operator
import re
from collections.abc import Callable, Generator, Hashable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs
import httpx

from ..convert import excerpt_of
from ..errors import DecodingError
from ..redaction import redact

__all__ = [
    "MAX_JSON_DEPTH",
    "Batch",
    "Call",
    "End",
    "ListOp",
    "Op",
    "Page",
    "Paging",
    "Reply",
    "by_attr",
    "by_key",
    "collect",
    "exchange",
    "find",
    "first_of",
    "mapped",
    "paginate",
    "single_page",
    "then",
    "with_reply",
]

T = TypeVar("T")
U = TypeVar("U")
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

MAX_JSON_DEPTH = 512
"""Replies nested deeper than this are refused: nothing a vendor documents comes near it, and deeper data
would only exhaust the stack of whatever walks it later (decoding, redaction, export)."""

_STRUCTURE = b'[]{}"'
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in _STRUCTURE)
_STRING = re.compile(rb'"[^"]*"')
_RISE = bytes(2 if b in b"[{" else 0 for b in range(256))  # an opener counts +1, a closer -1 (minus 1 each)
_ESCAPE = re.compile(rb"\\.", re.DOTALL)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_problem(exc: ValueError) -> str:
    """What was wrong with a body, in a few words that never quote it (redacted all the same)."""
    if isinstance(exc, json.JSONDecodeError):
        text = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    elif isinstance(exc, UnicodeDecodeError):
        text = f"not {exc.encoding}: {exc.reason} at byte {exc.start}"
    else:
        text = str(exc)[:80]
    return redact(text)


def nesting_exceeds(content: bytes, limit: int) -> bool:
    """Whether JSON ``content`` nests arrays and objects deeper than ``limit``, in a few passes at C speed.

    ``content`` is JSON that parsed. Brackets inside strings do not count: every escape (a backslash and the
    character it escapes) is dropped, then everything but brackets and quotes, then the strings (only those
    holding a bracket are left by then)."""
    if content.count(b"[") + content.count(b"{") <= limit:
        return False
    if json.detect_encoding(content) != "utf-8":
        content = content.decode(json.detect_encoding(content)).encode()
    if b"\\" in content:
        # One regex pass (an escape is two bytes whatever it escapes): a third of two ``replace`` passes.
        content = _ESCAPE.sub(b"", content)
    reduced = content.translate(None, _NOT_STRUCTURE)
    reduced = reduced.replace(b'""', b"")
    if b'"' in reduced:
        reduced = _STRING.sub(b"", reduced)
    peeled = reduced
    for _ in range(8):  # the usual few levels: peel the innermost pairs off (one or more levels a pass)
        shorter = peeled.replace(b"[]", b"").replace(b"{}", b"")
        if not shorter and limit >= 16:
            return False  # at most two levels come off a pass: no deeper than 16
        if not shorter or len(shorter) == len(peeled):
            break
        peeled = shorter
    # Deeper than that: the running depth, counted once (opener +1, closer -1).
    rises = itertools.accumulate(reduced.translate(_RISE))
    return max(map(operator.sub, rises, itertools.count(1)), default=0) > limit


def _json_loads(content: bytes) -> Any:
    """The body as ``json.loads`` reads it (NaN and Infinity refused), decoded by msgspec where msgspec gives
    exactly that: msgspec refuses every input on which the two differ (a byte-order mark, UTF-16 or UTF-32,
    lone surrogates, integers past 64 bits, floats that overflow, NaN), and those, like every error, take the
    ``json`` path, which gives the value or the error it always gave. Equality is property-tested
    (tests/bench_correctness/test_msgspec_path.py)."""
    decode = _MSGSPEC_DECODE[0] if _MSGSPEC_DECODE else _load_msgspec()
    if decode is not None:
        try:
            return decode(content)
        except Exception:  # any refusal: json decides, and reports it its own way
            pass
    return json.loads(content, parse_constant=_refuse_constant)


_MSGSPEC_DECODE: list[Callable[[bytes], Any] | None] = []


def _load_msgspec() -> Callable[[bytes], Any] | None:
    """msgspec's decoder, imported on the first body decoded (not at start-up); ``None`` without msgspec."""
    try:
        import msgspec.json
    except ImportError:  # pragma: no cover (a dependency; json serves alone without it)
        decode: Callable[[bytes], Any] | None = None
    else:
        decode = msgspec.json.Decoder().decode
    _MSGSPEC_DECODE[:] = [decode]
    return decode


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
        # The errors are raised outside the ``except`` blocks, chained to nothing: a ``JSONDecodeError`` keeps
        # the whole body (``.doc``), a ``UnicodeDecodeError`` too (``.object``), and their tracebacks the
        # decoder's frames; as ``__cause__`` or ``__context__`` they would keep the secrets it echoes alive.
        problem: str | None = None
        try:
            parsed = _json_loads(self.content)
        except RecursionError:
            problem = f"body is JSON nested deeper than {MAX_JSON_DEPTH} levels"
        except ValueError as exc:
            ctype = self.headers.get("content-type", "no content type")
            problem = f"body is not valid JSON ({ctype}; {_json_problem(exc)})"
        if problem is not None:
            raise self.decoding_error(problem) from None
        if nesting_exceeds(self.content, MAX_JSON_DEPTH):
            raise self.decoding_error(f"body is JSON nested deeper than {MAX_JSON_DEPTH} levels")
        self._parsed = parsed
        return parsed

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


class _Once:
    """A generator handed to ``Op``/``ListOp`` instead of its factory: it can run once, and a second use
    raises instead of silently yielding nothing (an exhausted generator returns ``None`` / no records)."""

    __slots__ = ("generator", "operation")

    def __init__(self, generator: Generator[Any, Any, Any], operation: str) -> None:
        self.generator: Generator[Any, Any, Any] | None = generator
        self.operation = operation

    def __call__(self) -> Generator[Any, Any, Any]:
        generator, self.generator = self.generator, None
        if generator is None:
            raise RuntimeError(
                f"operation {self.operation!r} was built from a generator and has already run; build it from "
                "the generator function instead (Op(name, steps), not Op(name, steps)) to run it again"
            )
        return generator


def _factory(operation: str, steps: Any) -> Callable[[], Any]:
    if isinstance(steps, Generator):
        return _Once(steps, operation)
    if not callable(steps):
        raise TypeError(f"operation {operation!r}: steps must be a generator function, not {type(steps).__name__}")
    return steps  # type: ignore[no-any-return]


@attrs.frozen(init=False)
class Op(Generic[T]):
    """An operation that yields one result: run it with ``session.run(op)``, as many times as you like.

    An op is a value: ``start`` is the generator function (no arguments) that describes the exchange, and
    each run starts it afresh, so running an op twice sends its calls twice and returns the result twice.
    """

    operation: str
    start: Callable[[], OpGenerator[T]] = attrs.field()

    def __init__(self, operation: str, start: Callable[[], OpGenerator[T]] | OpGenerator[T]) -> None:
        self.__attrs_init__(operation, _factory(operation, start))

    @property
    def steps(self) -> OpGenerator[T]:
        """A fresh run of the exchange (a new generator each time)."""
        return self.start()

    def then(self, convert: Callable[[T], U], operation: str | None = None) -> Op[U]:
        """The same exchange, its result passed through ``convert``."""
        return then(self, convert, operation)

    def __iter__(self) -> OpGenerator[T]:
        """``result = yield from op`` inside another op's steps: composes this op (a fresh run)."""
        return self.start()


@attrs.frozen(init=False)
class ListOp(Generic[T]):
    """A listing: iterate it with ``session.iterate(op)``; records arrive page by page. Like ``Op`` it is a
    value: each iteration pages the listing afresh from its first page."""

    operation: str
    start: Callable[[], ListGenerator[T]] = attrs.field()

    def __init__(self, operation: str, start: Callable[[], ListGenerator[T]] | ListGenerator[T]) -> None:
        self.__attrs_init__(operation, _factory(operation, start))

    @property
    def steps(self) -> ListGenerator[T]:
        """A fresh run of the listing from its first page (a new generator each time)."""
        return self.start()


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """What one page of a listing held, as the vendor's page parser read it.

    Attributes:
        items: the records on this page.
        next: only for listings paged without a ``Paging`` declaration: the call for the next page, or
            ``None`` when the parser says this was the last one. A declared listing ignores it: the engine
            asks for the next page itself.
        total: the number of records the vendor says the whole listing has, when it says so.
        stated_page_size: the page size the reply says it used, when it says so (checked against the size
            asked for, never trusted instead of it).
    """

    items: Sequence[T]
    next: Call | None = None
    total: int | None = None
    stated_page_size: int | None = None


class End(enum.Enum):
    """How a vendor documents the end of a listing."""

    WHOLE = "whole"
    """One reply holds the whole listing (or the one page the caller asked for)."""
    TOTAL = "total"
    """Every page states the total; the listing ends once that many records arrived. A page without the
    total, a total that changes between pages, a page short of the size asked before the total is reached and
    more records than the total all raise. When the total is reached on a full page, the page after it is
    asked for and must be empty (a total lying downward to a multiple of the page size raises, never
    truncates)."""
    SHORT_PAGE = "short_page"
    """No total: the listing ends on the first page shorter than asked (an empty one included). That is
    confirmed by asking for the page after it, which must be empty: a short or empty page before the end
    raises instead of ending the listing early."""
    NEXT = "next"
    """Undeclared: the page parser says (``Page.next``) whether another page follows."""


@attrs.frozen(kw_only=True)
class Paging(Generic[T]):
    """How one listing pages, stated once by the vendor; ``paginate`` holds every page to it.

    Attributes:
        end: the vendor's documented end condition.
        page_size: the number of records asked for per page. Every page but the last must hold exactly that
            many and none may hold more; a reply stating a bigger page size raises (a smaller stated size is
            allowed, but pages are still judged against the size asked for).
        page_call: the call for the page at ``index`` (0 for the first page); required for ``TOTAL`` and
            ``SHORT_PAGE``, where the engine, not the parser, decides that another page is needed.
        id_of: a record's id (``None`` when it has none), for duplicate and repeated-page detection; see
            ``by_attr`` and ``by_key``. Only the ids are kept, never the records.
        total_name: where the vendor states the total (``X-Total-Count``, ``Count``), for error messages.
    """

    end: End
    page_size: int | None = None
    page_call: Callable[[int], Call] | None = None
    id_of: Callable[[T], Hashable | None] | None = None
    total_name: str = "total"

    def __attrs_post_init__(self) -> None:
        if self.end in (End.TOTAL, End.SHORT_PAGE) and (self.page_call is None or not self.page_size):
            raise ValueError(f"{self.end.name} paging needs page_size and page_call")
        if self.page_size is not None and self.page_size < 1:
            raise ValueError("page_size must be at least 1")


def by_attr(name: str) -> Callable[[Any], Hashable | None]:
    """Ids from a record attribute; for ``(record, raw)`` pairs, the record's."""

    def id_of(item: Any) -> Hashable | None:
        record = item[0] if type(item) is tuple else item
        return getattr(record, name, None)

    return id_of


def by_key(*keys: str) -> Callable[[Any], Hashable | None]:
    """Ids from one key (or several, as a tuple) of a mapping; for ``(record, raw)`` pairs, of the raw JSON."""

    def id_of(item: Any) -> Hashable | None:
        row = item[1] if type(item) is tuple else item
        if not isinstance(row, Mapping):
            return None
        values = tuple(row.get(key) for key in keys)
        if all(v is None for v in values):
            return None
        value = values[0] if len(values) == 1 else values
        return value if isinstance(value, Hashable) else repr(value)

    return id_of


_UNDECLARED: Paging[Any] = Paging(end=End.NEXT)


def paginate(
    first: Call,
    parse_page: Callable[[Reply, Call], Page[T]],
    paging: Paging[T] | None = None,
    *,
    max_pages: int = 1_000_000,
) -> ListOp[T]:
    """The one place listings are paged: a listing either yields every record or raises ``DecodingError``.

    ``parse_page`` reads one reply (records, and the total or page size when the reply states them);
    ``paging`` is the vendor's declaration: the page size asked for, the documented end condition and the
    record id. Every page is checked against it: a short or empty page before the end, a page that repeats
    the previous one (a server ignoring the paging parameters shows it on the second page), a duplicate id,
    a page holding more records than asked, a reply stating another page size, more records or pages than
    the reported total allows, or a total that changes while paging. Only the ids of the records are kept.
    """
    declared = paging or _UNDECLARED

    def steps() -> ListGenerator[T]:
        check = _PageChecks(declared, first)
        call = first
        index = 0
        while True:
            if index >= max_pages:
                raise check.error(f"listing exceeded {max_pages} pages", call)
            if declared.end is End.NEXT:
                check.advancing(call)
            reply = yield call
            assert reply is not None
            page = parse_page(reply, call)
            del reply
            finished = check.page(page, index, call)
            following, items = page.next, page.items
            del page
            if items:
                yield Batch(items)
            del items  # the records are the consumer's now: none is held while the next page is fetched
            if finished:
                return
            if declared.end is End.NEXT:
                if following is None:
                    check.complete()
                    return
                call = following
            else:
                assert declared.page_call is not None
                call = declared.page_call(index + 1)
            index += 1

    return ListOp(first.operation, steps)


class _SeenIds:
    """The ids a listing has yielded. Small non-negative integers (CleverFox's ids) are kept as bits, so a
    million of them take about 125 KB; any other id (GUIDs, strings) is kept in a set."""

    __slots__ = ("_bits", "_others")
    BIT_LIMIT = 1 << 27  # the bitmap never grows past 16 MiB

    def __init__(self) -> None:
        self._bits = bytearray()
        self._others: set[Hashable] = set()

    def add(self, key: Hashable) -> bool:
        """Remember ``key``; False when it was seen before."""
        if type(key) is int and 0 <= key < self.BIT_LIMIT:
            index, bit = key >> 3, 1 << (key & 7)
            bits = self._bits
            if index >= len(bits):
                bits.extend(bytes(max(index + 1 - len(bits), len(bits))))
            if bits[index] & bit:
                return False
            bits[index] |= bit
            return True
        if key in self._others:
            return False
        self._others.add(key)
        return True


class _PageChecks:
    """What ``paginate`` remembers between pages: counts, the total, the previous page's ids, every id seen."""

    def __init__(self, paging: Paging[Any], first: Call) -> None:
        self.paging = paging
        self.first = first
        self.received = 0
        self.total: int | None = None
        self.seen = _SeenIds()
        self.previous: list[Any] | None = None  # the previous non-empty page's ids (or records, without ids)
        # The page number, record count and stated page size of a page shorter than asked.
        self.short: tuple[int, int, int | None] | None = None
        self.last_request: tuple[str, tuple[tuple[str, Any], ...]] | None = None
        # The page on which the stated total was reached with a full page: the next one must be empty.
        self.confirming: int | None = None

    def error(self, message: str, call: Call) -> DecodingError:
        return DecodingError(message, endpoint=call.endpoint, operation=self.first.operation)

    def advancing(self, call: Call) -> None:
        request_key = (call.path, tuple(call.query()))
        if request_key == self.last_request:
            raise self.error("the vendor's paging did not advance", call)
        self.last_request = request_key

    def page(self, page: Page[Any], index: int, call: Call) -> bool:
        """Check one page; True when the listing is complete with it."""
        paging, number, count = self.paging, index + 1, len(page.items)
        if self.confirming is not None:
            if count:
                raise self.error(
                    f"page {number} holds {count} records past the {self.total} the vendor reported "
                    f"({paging.total_name}, reached on the full page {self.confirming}): the stated total is "
                    "wrong and the listing would be cut short",
                    call,
                )
            return True
        size = paging.page_size
        stated = page.stated_page_size
        if stated is not None and size is not None and stated > size:
            raise self.error(
                f"page {number} states page_size {stated}, more than the {size} asked for "
                "(the page size asked for is the only one trusted)",
                call,
            )
        if size is not None and count > size:
            raise self.error(f"page {number} holds {count} records, more than the {size} asked for", call)
        self._ids(page.items, number, call)
        if paging.end is End.SHORT_PAGE:
            if self.short is not None:
                if count:
                    short_number, short_count, short_stated = self.short
                    what = "was empty" if short_count == 0 else f"held {short_count} of the {size} records asked for"
                    hint = ""
                    if short_stated is not None and short_count == short_stated:
                        hint = f" (the server caps pages at {short_stated} records: ask for at most that many)"
                    raise self.error(
                        f"page {short_number} {what}, yet page {number} is not empty: "
                        f"a short page before the end of the listing{hint}",
                        call,
                    )
                return True
            assert size is not None
            if count < size:
                self.short = (number, count, stated)
            self.received += count
            return False
        self.received += count
        if page.total is not None or paging.end is End.TOTAL:
            self._total(page.total, number, call)
        if paging.end is End.TOTAL:
            assert self.total is not None and size is not None
            if self.received == self.total:
                if count == size:
                    # A total that lies downward to a multiple of the page size would end the listing here:
                    # one more page is asked for, and must be empty.
                    self.confirming = number
                    return False
                return True
            if count < size:
                what = "is empty" if count == 0 else f"holds {count} of the {size} records asked for"
                raise self.error(
                    f"listing incomplete: page {number} {what} before the end "
                    f"({self.received} of the {self.total} records the vendor reported have arrived)",
                    call,
                )
            return False
        if paging.end is End.WHOLE:
            self.complete()
            return True
        return False

    def _total(self, total: int | None, number: int, call: Call) -> None:
        if total is None:
            raise self.error(f"page {number} does not state the listing's total ({self.paging.total_name})", call)
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise self.error(f"page {number} states an impossible total: {total!r}", call)
        if self.total is not None and total != self.total:
            raise self.error(
                f"the total changed from {self.total} to {total} while paging "
                "(records were added or removed; listing again may succeed)",
                call,
            )
        self.total = total
        if self.received > total:
            raise self.error(
                f"page {number} brings the listing to {self.received} records, more than the {total} "
                "the vendor reported",
                call,
            )
        size = self.paging.page_size
        if size is not None and number > max(1, -(-total // size)):
            raise self.error(f"page {number} is more pages than {total} records in pages of {size} allow", call)

    def _ids(self, items: Sequence[Any], number: int, call: Call) -> None:
        if not items:
            return
        id_of = self.paging.id_of
        current: list[Any] = [id_of(item) for item in items] if id_of is not None else list(items)
        if self.previous is not None and current == self.previous:
            if number == 2:
                message = "page 2 holds the same records as page 1: the server ignores the paging parameters"
            else:
                message = f"page {number} repeats page {number - 1}"
            raise self.error(message, call)
        self.previous = current
        if id_of is None:
            return
        add = self.seen.add
        for key in current:
            if key is not None and not add(key):
                raise self.error(f"record id {key!r} arrives twice (again on page {number})", call)

    def complete(self) -> None:
        if self.total is not None and self.received != self.total:
            raise self.error(
                f"listing incomplete: received {self.received} records, the vendor reported {self.total}",
                self.first,
            )


def single_page(
    call: Call, parse: Callable[[Reply], Iterable[T]], *, id_of: Callable[[T], Hashable | None] | None = None
) -> ListOp[T]:
    """A listing the vendor returns whole in one response; ``id_of`` names its records' ids (an id that
    arrives twice raises ``DecodingError``)."""
    return paginate(call, lambda reply, _: Page(items=list(parse(reply))), Paging(end=End.WHOLE, id_of=id_of))


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


def find(listing: ListOp[T], wanted: Callable[[T], bool]) -> Generator[Call, Reply, T | None]:
    """The first item of a listing that ``wanted`` accepts (``None`` if none), from inside another op; the
    listing is paged (and checked) only as far as needed."""
    steps = listing.steps
    message = next(steps)
    while True:
        received: Reply | None = None
        if isinstance(message, Batch):
            for item in message.items:
                if wanted(item):
                    steps.close()
                    return item
        else:
            received = yield message
        try:
            message = steps.send(received)
        except StopIteration:
            return None


def first_of(listing: ListOp[T]) -> Generator[Call, Reply, T | None]:
    """The first item of a listing (``None`` when it is empty), from inside another op; only the first page
    is fetched."""
    return (yield from find(listing, lambda _: True))


def mapped(listing: ListOp[Any], convert: Callable[[Any], T | None], operation: str | None = None) -> ListOp[T]:
    """A listing whose items pass through ``convert`` page by page (``None`` results are dropped)."""

    def steps() -> ListGenerator[T]:
        inner = listing.steps
        message = next(inner)
        while True:
            if isinstance(message, Batch):
                converted = [item for item in map(convert, message.items) if item is not None]
                del message  # neither the page nor its conversion is held while the next page is fetched
                received = yield Batch(converted)
                del converted
            else:
                received = yield message
            try:
                message = inner.send(received)
            except StopIteration:
                return

    return ListOp(operation or listing.operation, steps)


def exchange(call: Call, finish: Callable[[Reply], T]) -> Op[T]:
    """The op of one request: ``call`` sent, its reply read by ``finish`` (an endpoint in one line)."""

    def steps() -> OpGenerator[T]:
        return finish((yield call))

    return Op(call.operation, steps)


def then(op: Op[T], convert: Callable[[T], U], operation: str | None = None) -> Op[U]:
    """An op whose result is ``convert(result of op)``: the same calls, composed without touching its steps."""

    def steps() -> OpGenerator[U]:
        return convert((yield from op.steps))

    return Op(operation or op.operation, steps)


def with_reply(op: Op[T]) -> Generator[Call, Reply, tuple[T, Reply]]:
    """Run ``op`` inside another op and return its result with the last reply it read (its raw JSON is
    ``reply.json()``, parsed once): ``record, reply = yield from with_reply(api.things.get(key))``."""
    steps = op.steps
    last: Reply | None = None
    try:
        call = next(steps)
        while True:
            try:
                last = yield call
            except Exception as exc:
                call = steps.throw(exc)
                continue
            call = steps.send(last)
    except StopIteration as stop:
        if last is None:
            raise RuntimeError(f"operation {op.operation!r} returned without reading a reply") from None
        return stop.value, last
    finally:
        steps.close()
