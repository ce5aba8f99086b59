"""Declarative endpoints: say what an endpoint is, get typed ``Op[T]`` / ``ListOp[T]`` factories.

A vendor describes its API once, as a ``Service`` (its name, its cattrs converter, the envelope its
replies come in) and one declaration per endpoint: the method and path template, each argument with the
check that validates it and where it goes (path, query or JSON body), the record type, and the shape of
the reply: ``one`` record, ``many`` records in one reply, records ``paged`` the vendor's way
(``Pages``, from which each listing's ``Paging`` is built), or ``none`` (no body is read)::

    API = Service("acme", converter, envelope="data")
    GET_DEVICE = API.one("GET /devices/{device_id}", DeviceRecord, "devices.get", path={"device_id": text()})
    DEVICES = API.paged("GET /devices", DeviceRecord, "devices.list", pages=PAGES, id="id",
                        query={"site": Param(text(), wire="siteId")})

    GET_DEVICE(device_id="d1")            # Op[DeviceRecord]
    GET_DEVICE.pair(device_id="d1")       # Op[tuple[DeviceRecord, Raw]]: the record and its raw JSON
    DEVICES(site="s1", page_size=50)      # ListOp[DeviceRecord], every page checked by ``paginate``
    DEVICES.pairs(site="s1")              # ListOp[tuple[DeviceRecord, Raw]]

Calling a declaration checks every argument at once, before any request: a bad one is a
``ValidationError`` naming the vendor, the operation and the field; an unknown argument name is a
``TypeError``. Path values are percent-encoded whole (a ``/`` cannot add a segment) and ``.``/``..``/empty
values are refused, so an argument never reaches another endpoint. The op holds the checked request, not
a running generator: it runs any number of times, sending the same request each time.

The reply is held to the declared shape: an object for ``one``, an array for ``many`` and ``paged`` (under
the service's envelope key when it has one), each record decoded strictly; anything else is a
``DecodingError`` naming the endpoint. Ops compose through the public combinators (``then``, ``collect``,
``find``, ``first_of``, ``with_reply``, ``mapped``) or ``yield from op`` inside another op's steps; an
exception the session throws into a composed op surfaces at the ``yield from``, so recovery is an ordinary
``try``/``except`` there, or, declared with the endpoint, a ``rescue``.

A check is a callable ``check(value, field) -> wire value`` that raises ``Refused(message)`` for a bad
value; it never sees ``None`` (a missing argument is left out of the request, or refused when
``Param(required=True)``). ``text``, ``flag``, ``choice`` and ``integer`` are the common ones.
"""

from __future__ import annotations

import re
import string
import types
import urllib.parse
from collections.abc import Callable, Generator, Hashable, Mapping, Sequence
from typing import Any, Generic, TypedDict, TypeVar

import attrs
import cattrs

from .convert import decode
from .errors import BackupBridgeError, ValidationError
from .http import Batch, Call, End, ListOp, Op, Page, Paging, Reply, by_attr, collect, paginate

__all__ = [
    "Check",
    "Endpoint",
    "Json",
    "Many",
    "NoContent",
    "One",
    "Paged",
    "Pages",
    "Param",
    "Raw",
    "Refused",
    "Request",
    "Service",
    "WholeBody",
    "choice",
    "flag",
    "integer",
    "returning",
    "text",
    "whole_body",
]

T = TypeVar("T")
V = TypeVar("V")

Raw = Mapping[str, object]
"""A record's JSON object as the vendor sent it (the mapping keeps it beside the decoded record)."""

Check = Callable[[Any, str], object]
"""``check(value, field)``: the value as it goes on the wire, or ``Refused`` (never called with ``None``)."""

_WireArgs = Mapping[str, "Param | Check"]
_DIGITS = re.compile(r"[0-9]{1,19}")


class Refused(Exception):
    """A check's verdict on a bad argument; the endpoint turns it into the ``ValidationError`` that names the
    vendor, the operation and the field (``field`` overrides the argument's own, for a rule about another)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@attrs.frozen
class Param:
    """One argument of an endpoint.

    Attributes:
        check: validates a present value and returns it as the wire takes it (see ``Check``).
        wire: the name on the wire (query key, body key); the argument's own name when omitted.
        required: ``None`` (or a missing argument) is refused instead of being left out.
        field: the name errors give; the wire name when omitted.
    """

    check: Check
    wire: str | None = None
    required: bool = False
    field: str | None = None


def _param(spec: Param | Check) -> Param:
    return spec if isinstance(spec, Param) else Param(spec)


class WholeBody(TypedDict):
    """The ``args`` and ``body`` of a declaration whose JSON body is one argument sent whole (``whole_body``)."""

    args: Mapping[str, Param]
    body: Callable[[Mapping[str, Any]], object]


def whole_body(param: Param, name: str = "payload") -> WholeBody:
    """A JSON body that is one argument, ``name``, sent whole as ``param``'s check returns it (a payload the
    caller builds): splat it into a declaration,
    ``API.one("POST /plans", PlanRecord, "plans.create", **whole_body(Param(plan_check, required=True)))``."""

    def body(args: Mapping[str, Any]) -> object:
        return args[name]

    return {"args": {name: param}, "body": body}


# -- common checks ------------------------------------------------------------------------------------------


def text(*, max_length: int | None = None) -> Check:
    """A non-blank string (kept as given), of at most ``max_length`` characters when that is set."""

    def check(value: object, field: str) -> str:
        if not isinstance(value, str) or not value.strip() or (max_length is not None and len(value) > max_length):
            if max_length is None:
                raise Refused(f"{field} must be a non-empty string")
            raise Refused(f"{field} must be a string of 1 to {max_length} characters")
        return value

    return check


def flag(value: object, field: str) -> bool:
    """``True`` or ``False`` (no truthy stand-ins: ``1``, ``"yes"`` are refused)."""
    if not isinstance(value, bool):
        raise Refused(f"{field} must be True or False")
    return value


def choice(*allowed: str, upper: bool = False) -> Check:
    """One of ``allowed`` (compared upper-cased when ``upper``: ``"win"`` is ``"WIN"``)."""

    def check(value: object, field: str) -> str:
        if isinstance(value, str):
            candidate = value.upper() if upper else value
            if candidate in allowed:
                return candidate
        raise Refused(f"{field} must be one of {', '.join(allowed)}; got {value!r}")

    return check


def integer(*, minimum: int | None = None, maximum: int | None = None, digits: bool = False) -> Check:
    """An ``int`` (never a ``bool``) within the bounds; ``digits`` also takes a string of 1 to 19 ASCII digits
    (no sign, no blanks, no other digits: ``"٣"`` and ``" 5"`` are refused, and so is a number too long to be
    an id)."""

    def check(value: object, field: str) -> int:
        if digits and isinstance(value, str) and _DIGITS.fullmatch(value):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise Refused(f"{field} must be an integer; got {value!r}")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            low = "" if minimum is None else f" from {minimum}"
            high = "" if maximum is None else f" to {maximum}"
            raise Refused(f"{field} must be an integer{low}{high}; got {value!r}")
        return value

    return check


# -- paging ----------------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Pages:
    """How a vendor pages its listings, stated once; each paged endpoint's ``Paging`` is built from it.

    Attributes:
        end: the documented end condition (``End.TOTAL``, ``End.SHORT_PAGE``...).
        size: the page size asked for unless the caller passes ``page_size``.
        max_size: the largest ``page_size`` a caller may ask for (``ValidationError`` beyond it).
        params: the query parameters of the page at ``index`` (0 for the first) in pages of ``size``.
        path: path segments the page at ``index`` appends to the endpoint's path, for a vendor that pages by
            path (``lambda index, size: (index * size, size)`` for ``/Computers/{offset}/{count}``); each is
            encoded like a path argument.
        total: the listing's total as one page states it (``None`` when it does not), from the reply and
            its parsed JSON; required for ``End.TOTAL``.
        stated_size: the page size one page says it used, when it says so (checked, never trusted).
        check: more checks of one page (its stated page number...), raising ``reply.decoding_error``.
        total_name: where the total is stated (``X-Total-Count``), for error messages.
        items: the key a page holds its records under (``"data"`` for ``{"data": [...], "total": 9}``),
            ``None`` for a bare array, or a function finding the records' array in a page (the reply and
            its parsed JSON); the service's envelope when omitted.
    """

    end: End
    size: int
    max_size: int
    params: Callable[[int, int], Mapping[str, str | int]] | None = None
    path: Callable[[int, int], Sequence[str | int]] | None = None
    total: Callable[[Reply, object], int | None] | None = None
    stated_size: Callable[[Reply, object], int | None] | None = None
    check: Callable[[Reply, Call, object], None] | None = None
    total_name: str = "total"
    items: str | Callable[[Reply, object], object] | types.EllipsisType | None = ...

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.size <= self.max_size:
            raise ValueError("Pages: size must be from 1 to max_size")
        if self.end is End.TOTAL and self.total is None:
            raise ValueError("Pages: End.TOTAL paging needs total")
        if self.end not in (End.TOTAL, End.SHORT_PAGE):
            raise ValueError("Pages: a paged endpoint ends on End.TOTAL or End.SHORT_PAGE")
        if self.params is None and self.path is None:
            raise ValueError("Pages: say how a page is asked for (params, path or both)")


# -- requests and endpoints --------------------------------------------------------------------------------------


@attrs.frozen
class Request:
    """A checked request: the ``Call`` to send and the checked arguments by name (what a ``rescue`` sees)."""

    call: Call
    args: Mapping[str, Any]


_SAFE_PATH = frozenset(string.ascii_letters + string.digits + "-_.~")
_FIELDS = string.Formatter()


def _encode_segment(value: object, field: str) -> str:
    """``value`` as one path segment: a str or an int, percent-encoded whole; ``.``, ``..``, empty and
    unprintable values are refused (they would name another path, or none)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Refused(f"{field} must be a string or an integer for the path")
    piece = str(value)
    if piece in ("", ".", "..") or not piece.isprintable():
        raise Refused(f"{field} {piece!r} cannot be a path segment")
    # Everything but the unreserved characters is percent-encoded: '/', '?', '#' and '%' stay in the segment.
    return "".join(c if c in _SAFE_PATH else urllib.parse.quote(c, safe="") for c in piece)


def _placeholders(template: str) -> list[str]:
    names = []
    for _, name, spec, conversion in _FIELDS.parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"path template {template!r}: {{{name}}} must be a plain name")
        names.append(name)
    return names


@attrs.frozen(eq=False)
class Endpoint(Generic[T]):
    """What every endpoint shape shares: the declaration and the argument checks (built by ``Service``)."""

    service: Service
    method: str
    template: str
    operation: str
    record: type[T] | None
    path: Mapping[str, Param] = attrs.field(factory=dict)
    query: Mapping[str, Param] = attrs.field(factory=dict)
    body: Mapping[str, Param] | Callable[[Mapping[str, Any]], object] | None = None
    args: Mapping[str, Param] = attrs.field(factory=dict)
    validate: Callable[[Mapping[str, Any]], None] | None = None
    idempotent: bool | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    rescue: Callable[[BackupBridgeError, Request], Op[Any] | None] | None = None

    def __attrs_post_init__(self) -> None:
        named = _placeholders(self.template)
        if sorted(named) != sorted(self.path):
            raise ValueError(f"{self.operation}: the path template names {named}, the path arguments {list(self.path)}")
        fields = dict(self.body) if isinstance(self.body, Mapping) else {}
        groups = (self.path, self.query, fields, self.args)
        seen: set[str] = set()
        for group in groups:
            for name in group:
                if name in seen:
                    raise ValueError(f"{self.operation}: argument {name!r} is declared twice")
                seen.add(name)

    @property
    def endpoint(self) -> str:
        """``GET /devices/{device_id}``: the method and the path template, as docs and errors show them."""
        return f"{self.method} {self.template}"

    def _argument_names(self) -> set[str]:
        names = {*self.path, *self.query, *self.args}
        if isinstance(self.body, Mapping):
            names.update(self.body)
        return names

    def _refused(self, message: str, field: str) -> ValidationError:
        return ValidationError(message, field=field, vendor=self.service.vendor, operation=self.operation)

    def _checked(self, name: str, param: Param, value: object, *, required: bool = False) -> object:
        field = param.field or param.wire or name
        if value is None:
            if required or param.required:
                raise self._refused(f"{field} is required", field)
            return None
        try:
            return param.check(value, field)
        except Refused as refused:
            raise self._refused(refused.message, refused.field or field) from None

    def _segment(self, name: str, value: object) -> str:
        field = self.path[name].field or self.path[name].wire or name
        try:
            return _encode_segment(value, field)
        except Refused as refused:
            raise self._refused(refused.message, field) from None

    def request(self, /, **given: object) -> Request:
        """Check ``given`` (keyword arguments by declared name) and describe the request; nothing is sent."""
        unknown = set(given) - self._argument_names()
        if unknown:
            raise TypeError(f"{self.operation}() got unexpected arguments: {', '.join(sorted(unknown))}")
        checked: dict[str, Any] = {}
        segments: dict[str, str] = {}
        for name, p in self.path.items():
            checked[name] = value = self._checked(name, p, given.get(name), required=True)
            segments[name] = self._segment(name, value)
        params: dict[str, Any] = {}
        for name, p in self.query.items():
            checked[name] = value = self._checked(name, p, given.get(name))
            params[p.wire or name] = value
        body: object = None
        if isinstance(self.body, Mapping):
            fields: dict[str, object] = {}
            for name, p in self.body.items():
                checked[name] = value = self._checked(name, p, given.get(name))
                if value is not None:
                    fields[p.wire or name] = value
            body = fields
        for name, p in self.args.items():
            checked[name] = self._checked(name, p, given.get(name))
        try:
            if self.validate is not None:
                self.validate(checked)
            if callable(self.body):
                body = self.body(checked)
        except Refused as refused:
            raise self._refused(refused.message, refused.field or "body") from None
        path = self.template.format(**segments)
        call = Call(
            method=self.method,
            path=path,
            operation=self.operation,
            params=params,
            json=body,
            headers=self.headers,
            **({} if self.idempotent is None else {"idempotent": self.idempotent}),
        )
        return Request(call, checked)

    def call(self, /, **given: object) -> Call:
        """The checked request's ``Call`` (for an op composed by hand; prefer the endpoint's own ops)."""
        return self.request(**given).call

    # -- reading replies -------------------------------------------------------------------------------

    def _envelope(self) -> str | None:
        return self.service.envelope

    def _unwrap(self, reply: Reply, data: object, *, many: bool) -> object:
        key = self._envelope()
        where = "" if key is None else f' under "{key}"'
        if key is not None:
            if not isinstance(data, Mapping) or key not in data:
                raise reply.decoding_error(f'expected a {{"{key}": ...}} envelope')
            data = data[key]
        if many and not isinstance(data, list):
            raise reply.decoding_error(f"expected a list{where}" if key else "expected a JSON array")
        if not many and not isinstance(data, Mapping):
            raise reply.decoding_error(f"expected an object{where}" if key else "expected a JSON object")
        return data

    def _decode(self, reply: Reply, typ: Any, data: object) -> Any:
        return decode(
            self.service.converter,
            typ,
            data,
            endpoint=reply.endpoint,
            vendor=self.service.vendor,
            operation=reply.operation,
        )

    def _record(self, reply: Reply) -> tuple[T, Raw]:
        raw = self._unwrap(reply, reply.json(), many=False)
        assert isinstance(raw, Mapping)
        return self._decode(reply, self.record, raw), raw

    def _listed(self, reply: Reply, data: object) -> object:
        return self._unwrap(reply, data, many=True)

    def _records(self, reply: Reply, data: object) -> list[tuple[T, Raw]]:
        rows = self._listed(reply, data)
        if not isinstance(rows, list):
            raise reply.decoding_error("expected a list of records")
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise reply.decoding_error(f"record {index} is not a JSON object")
        return list(zip(self._decode(reply, types.GenericAlias(list, (self.record,)), rows), rows, strict=True))

    def _exchange(self, request: Request, finish: Callable[[Reply], V]) -> Op[V]:
        rescue, call = self.rescue, request.call

        def steps() -> Generator[Call, Reply, V]:
            try:
                reply = yield call
            except BackupBridgeError as exc:
                instead = rescue(exc, request) if rescue is not None else None
                if instead is None:
                    raise
                return (yield from instead)  # type: ignore[no-any-return]
            return finish(reply)

        return Op(call.operation, steps)


def _id_of(id: str | Callable[[Any], Hashable | None] | None) -> Callable[[Any], Hashable | None] | None:
    return by_attr(id) if isinstance(id, str) else id


@attrs.frozen(eq=False)
class One(Endpoint[T]):
    """An endpoint whose reply is one record: ``endpoint(**args)`` is an ``Op[T]``."""

    def __call__(self, /, **given: object) -> Op[T]:
        """The op that sends the checked request and decodes the one record of its reply."""
        return self.of(self.request(**given))

    def pair(self, /, **given: object) -> Op[tuple[T, Raw]]:
        """The op that returns the record and the raw JSON object it came from."""
        return self.pair_of(self.request(**given))

    def of(self, request: Request) -> Op[T]:
        """The op of a request already checked (``request(...)``): for a caller that reads its arguments too."""
        return self._exchange(request, lambda reply: self._record(reply)[0])

    def pair_of(self, request: Request) -> Op[tuple[T, Raw]]:
        """``pair`` for a request already checked."""
        return self._exchange(request, self._record)


@attrs.frozen(eq=False)
class NoContent(Endpoint[None]):
    """An endpoint whose reply body is not read (``DELETE``, an action): ``endpoint(**args)`` is an ``Op[None]``."""

    def __call__(self, /, **given: object) -> Op[None]:
        """The op that sends the checked request; its result is ``None`` once the vendor accepted it."""
        return self._exchange(self.request(**given), lambda reply: None)


@attrs.frozen(eq=False)
class Json(Endpoint[object]):
    """An endpoint whose reply has no documented shape (a new id as a bare string, a usage report):
    ``endpoint(**args)`` is an ``Op[object]``, the parsed JSON (``None`` for an empty body)."""

    def __call__(self, /, **given: object) -> Op[object]:
        """The op that sends the checked request and returns its reply's JSON as parsed."""
        return self._exchange(self.request(**given), lambda reply: reply.json() if reply.content.strip() else None)


@attrs.frozen(eq=False)
class Many(Endpoint[T]):
    """An endpoint whose one reply is the whole listing (a JSON array): ``endpoint(**args)`` is a
    ``ListOp[T]``; an id arriving twice raises ``DecodingError``."""

    id: Callable[[Any], Hashable | None] | None = None
    null_is_empty: bool = False
    listing_rescue: Callable[[BackupBridgeError, Request], None] | None = None

    def _listed(self, reply: Reply, data: object) -> object:
        if data is None and self.null_is_empty and self.service.envelope is None:
            return []
        return self._unwrap(reply, data, many=True)

    def pairs(self, /, **given: object) -> ListOp[tuple[T, Raw]]:
        """The listing as ``(record, raw JSON)`` pairs."""
        request = self.request(**given)
        listing = paginate(request.call, lambda reply, _: Page(items=self._records(reply, reply.json())),
                           Paging(end=End.WHOLE, id_of=self.id))  # fmt: skip
        return _guarded(listing, request, self.listing_rescue)

    def __call__(self, /, **given: object) -> ListOp[T]:
        """The listing's records."""
        return _records_of(self.pairs(**given))

    def whole(self, /, **given: object) -> Op[list[tuple[T, Raw]]]:
        """The listing as one op (its one reply, checked as a listing), for ``with_reply``: the records
        beside the reply they came in."""
        listing = self.pairs(**given)
        return Op(listing.operation, lambda: collect(listing))


@attrs.frozen(eq=False)
class Paged(Endpoint[T]):
    """A listing the vendor pages (``Pages``): ``endpoint(**args, page_size=n)`` is a ``ListOp[T]`` that
    asks page after page and holds each one to the declared ``Paging`` (everything, or ``DecodingError``)."""

    pages: Pages = attrs.field(kw_only=True)
    id: Callable[[Any], Hashable | None] | None = attrs.field(default=None, kw_only=True)
    listing_rescue: Callable[[BackupBridgeError, Request], None] | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if "page_size" in self._argument_names():
            raise ValueError(f"{self.operation}: page_size is the paged endpoint's own argument")

    def _envelope(self) -> str | None:
        items = self.pages.items
        if isinstance(items, types.EllipsisType):
            return self.service.envelope
        return items if isinstance(items, str) or items is None else None

    def _listed(self, reply: Reply, data: object) -> object:
        items = self.pages.items
        if callable(items):
            return items(reply, data)
        return self._unwrap(reply, data, many=True)

    def _page_size(self, size: object) -> int:
        if size is None:
            return self.pages.size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= self.pages.max_size:
            raise self._refused(f"page_size must be an integer from 1 to {self.pages.max_size}", "page_size")
        return size

    def pairs(self, /, *, page_size: int | None = None, **given: object) -> ListOp[tuple[T, Raw]]:
        """Every page of the listing as ``(record, raw JSON)`` pairs; ``page_size`` defaults to the vendor's."""
        request = self.request(**given)
        base = request.call
        size = self._page_size(page_size)
        pages = self.pages

        def page_call(index: int) -> Call:
            path = base.path
            if pages.path is not None:
                path += "".join("/" + _encode_segment(piece, "page") for piece in pages.path(index, size))
            params = base.params if pages.params is None else {**base.params, **pages.params(index, size)}
            return attrs.evolve(base, path=path, params=params)

        def parse(reply: Reply, call: Call) -> Page[tuple[T, Raw]]:
            data = reply.json()
            items = self._records(reply, data)
            if pages.check is not None:
                pages.check(reply, call, data)
            return Page(
                items=items,
                total=pages.total(reply, data) if pages.total is not None else None,
                stated_page_size=pages.stated_size(reply, data) if pages.stated_size is not None else None,
            )

        paging = Paging(end=pages.end, page_size=size, page_call=page_call, id_of=self.id, total_name=pages.total_name)
        return _guarded(paginate(page_call(0), parse, paging), request, self.listing_rescue)

    def __call__(self, /, *, page_size: int | None = None, **given: object) -> ListOp[T]:
        """Every record of the listing, page by page."""
        return _records_of(self.pairs(page_size=page_size, **given))


def _guarded(
    listing: ListOp[V], request: Request, rescue: Callable[[BackupBridgeError, Request], None] | None
) -> ListOp[V]:
    """``listing`` whose failed requests pass through ``rescue`` first (it may raise another error; a listing
    is never stood in for: it returns everything or raises)."""
    if rescue is None:
        return listing

    def steps() -> Generator[Call | Batch[V], Reply | None, None]:
        inner = listing.steps
        try:
            message = next(inner)
            while True:
                if isinstance(message, Batch):
                    received = yield message
                else:
                    try:
                        received = yield message
                    except BackupBridgeError as exc:
                        rescue(exc, request)
                        raise
                message = inner.send(received)
        except StopIteration:
            return
        finally:
            inner.close()

    return ListOp(listing.operation, steps)


def _first(pair: tuple[T, Raw]) -> T:
    return pair[0]


def _records_of(listing: ListOp[tuple[T, Raw]]) -> ListOp[T]:
    """The records of a listing of pairs; an error the session throws in is passed on to the listing (whose
    ``rescue`` may read it), as ``yield from`` would."""

    def steps() -> Generator[Call | Batch[T], Reply | None, None]:
        inner = listing.steps
        try:
            message = next(inner)
            while True:
                if isinstance(message, Batch):
                    received = yield Batch(list(map(_first, message.items)))
                    message = inner.send(received)
                    continue
                try:
                    received = yield message
                except Exception as exc:
                    message = inner.throw(exc)
                    continue
                message = inner.send(received)
        except StopIteration:
            return
        finally:
            inner.close()

    return ListOp(listing.operation, steps)


def returning(value: T, operation: str = "returning") -> Op[T]:
    """An op that sends nothing and returns ``value`` (a ``rescue`` that settles for a known result)."""

    def steps() -> Generator[Call, Reply, T]:
        return value
        yield  # pragma: no cover - makes this a generator function

    return Op(operation, steps)


# -- the service --------------------------------------------------------------------------------------------------


def _route(route: str) -> tuple[str, str]:
    method, _, template = route.partition(" ")
    if not method.isalpha() or not template.startswith("/"):
        raise ValueError(f"route {route!r} must read 'METHOD /path'")
    return method.upper(), template


def _params(group: _WireArgs | None) -> dict[str, Param]:
    return {name: _param(spec) for name, spec in (group or {}).items()}


@attrs.frozen
class Service:
    """One vendor's HTTP API as endpoints are declared against it.

    Attributes:
        vendor: the vendor name errors carry.
        converter: the cattrs converter records are decoded with (``make_converter()``).
        envelope: the key replies hold their payload under (``"data"`` for ``{"data": {...}}``); ``None``
            when the payload is the whole body.
    """

    vendor: str
    converter: cattrs.Converter
    envelope: str | None = None

    def _common(
        self,
        route: str,
        operation: str,
        path: _WireArgs | None,
        query: _WireArgs | None,
        body: _WireArgs | Callable[[Mapping[str, Any]], object] | None,
        args: _WireArgs | None,
    ) -> dict[str, Any]:
        method, template = _route(route)
        return {
            "service": self,
            "method": method,
            "template": template,
            "operation": operation,
            "path": _params(path),
            "query": _params(query),
            "body": _params(body) if isinstance(body, Mapping) else body,
            "args": _params(args),
        }

    def one(
        self,
        route: str,
        record: type[T],
        operation: str,
        *,
        path: _WireArgs | None = None,
        query: _WireArgs | None = None,
        body: _WireArgs | Callable[[Mapping[str, Any]], object] | None = None,
        args: _WireArgs | None = None,
        validate: Callable[[Mapping[str, Any]], None] | None = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        rescue: Callable[[BackupBridgeError, Request], Op[Any] | None] | None = None,
    ) -> One[T]:
        """An endpoint answering one ``record``.

        Args:
            route: ``"METHOD /path/{name}"``; every ``{name}`` is a ``path`` argument.
            record: the attrs record class the reply's object decodes into.
            operation: the operation's name in errors and logs (``"devices.get"``).
            path: the path arguments and their checks (always required).
            query: the query arguments (``None`` ones are left out).
            body: the JSON body's fields (``None`` ones are left out), or a function building the body
                from all checked arguments (it may raise ``Refused``).
            args: arguments that are neither (a ``body`` function or ``validate`` reads them).
            validate: a rule over all checked arguments together, raising ``Refused``.
            idempotent: overrides the method's default (a write carrying a duplicate-prevention token).
            headers: constant request headers.
            rescue: called with an error the request failed with and the checked request; an op whose
                result stands in for the reply's, or ``None`` to let the error through.
        """
        return One(
            **self._common(route, operation, path, query, body, args),
            record=record,
            validate=validate,
            idempotent=idempotent,
            headers=headers or {},
            rescue=rescue,
        )

    def many(
        self,
        route: str,
        record: type[T],
        operation: str,
        *,
        id: str | Callable[[Any], Hashable | None] | None = None,
        path: _WireArgs | None = None,
        query: _WireArgs | None = None,
        validate: Callable[[Mapping[str, Any]], None] | None = None,
        headers: Mapping[str, str] | None = None,
        rescue: Callable[[BackupBridgeError, Request], None] | None = None,
        null_is_empty: bool = False,
    ) -> Many[T]:
        """A listing answered whole in one reply (a JSON array of ``record``); ``id`` is the record attribute
        (or an ``id_of`` function of a ``(record, raw)`` pair) that may not repeat.

        ``rescue(exc, request)`` sees an error the request failed with and may raise another one instead (a
        listing is never stood in for). ``null_is_empty`` reads a ``null`` body as no records, for a vendor
        that documents it so (never with an envelope)."""
        return Many(
            **self._common(route, operation, path, query, None, None),
            record=record,
            validate=validate,
            headers=headers or {},
            id=_id_of(id),
            null_is_empty=null_is_empty,
            listing_rescue=rescue,
        )

    def paged(
        self,
        route: str,
        record: type[T],
        operation: str,
        *,
        pages: Pages,
        id: str | Callable[[Any], Hashable | None] | None = None,
        path: _WireArgs | None = None,
        query: _WireArgs | None = None,
        validate: Callable[[Mapping[str, Any]], None] | None = None,
        headers: Mapping[str, str] | None = None,
        rescue: Callable[[BackupBridgeError, Request], None] | None = None,
    ) -> Paged[T]:
        """A listing the vendor pages as ``pages`` says; ``id`` and ``rescue`` as for ``many``."""
        return Paged(
            **self._common(route, operation, path, query, None, None),
            record=record,
            validate=validate,
            headers=headers or {},
            pages=pages,
            id=_id_of(id),
            listing_rescue=rescue,
        )

    def json(
        self,
        route: str,
        operation: str,
        *,
        path: _WireArgs | None = None,
        query: _WireArgs | None = None,
        body: _WireArgs | Callable[[Mapping[str, Any]], object] | None = None,
        args: _WireArgs | None = None,
        validate: Callable[[Mapping[str, Any]], None] | None = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        rescue: Callable[[BackupBridgeError, Request], Op[Any] | None] | None = None,
    ) -> Json:
        """An endpoint whose reply is JSON of no documented shape, returned as parsed (arguments as for
        ``one``); prefer ``one`` wherever the docs give the reply a shape."""
        return Json(
            **self._common(route, operation, path, query, body, args),
            record=None,
            validate=validate,
            idempotent=idempotent,
            headers=headers or {},
            rescue=rescue,
        )

    def none(
        self,
        route: str,
        operation: str,
        *,
        path: _WireArgs | None = None,
        query: _WireArgs | None = None,
        body: _WireArgs | Callable[[Mapping[str, Any]], object] | None = None,
        args: _WireArgs | None = None,
        validate: Callable[[Mapping[str, Any]], None] | None = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        rescue: Callable[[BackupBridgeError, Request], Op[Any] | None] | None = None,
    ) -> NoContent:
        """An endpoint whose reply body is not read (arguments as for ``one``)."""
        return NoContent(
            **self._common(route, operation, path, query, body, args),
            record=None,
            validate=validate,
            idempotent=idempotent,
            headers=headers or {},
            rescue=rescue,
        )

    def argument(self, operation: str, field: str, value: object, check: Check, *, required: bool = False) -> Any:
        """Check one argument outside an endpoint (a driver's own operation): the checked value, or the
        ``ValidationError`` an endpoint would raise; ``None`` passes unless ``required``."""
        if value is None:
            if required:
                raise ValidationError(f"{field} is required", field=field, vendor=self.vendor, operation=operation)
            return None
        try:
            return check(value, field)
        except Refused as refused:
            name = refused.field or field
            raise ValidationError(refused.message, field=name, vendor=self.vendor, operation=operation) from None
