"""What the endpoint groups share: the service they are declared on, the argument checks, path paging, and the
two reply readings the declarations do not cover (an answer of no documented shape, rows kept as raw JSON)."""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Literal, TypedDict, TypeVar, overload

from backupbridge.plugin import (
    INT_MAX,
    Call,
    Decoder,
    End,
    ListOp,
    NoContent,
    Op,
    Page,
    Paging,
    Param,
    Raw,
    Refused,
    Reply,
    Service,
    exchange,
    invalid_for,
    mapped,
    paginate,
    register_secret,
)

from ..auth import VENDOR
from ..records import converter

T = TypeVar("T")
_invalid = invalid_for(VENDOR)
decode_reply = Decoder(converter, VENDOR).reply  # a reply (or its parsed JSON) as a record type
API = Service(VENDOR, converter)
"""The Managed Backup API: replies carry their payload bare (no envelope); lists are bare JSON arrays."""

COMPUTER_PAGE = 100
_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: at most INT_MAX's 19 digits


# -- argument checks (``check(value, field) -> wire value``, ``Refused`` for a bad one) ------------------------


def is_guid(value: object, field: str) -> str:
    """A GUID, braces and surrounding blanks dropped."""
    if isinstance(value, str) and _GUID.match(value.strip()):
        return value.strip().strip("{}")
    raise Refused(f"{field} must be a GUID; got {value!r}")


def is_hid(value: object, field: str) -> str:
    """A computer HID; public clients strip the braces some listings put around it."""
    if isinstance(value, str) and value.strip().strip("{}"):
        return value.strip().strip("{}")
    raise Refused(f"{field} must be a computer HID; got {value!r}")


def is_whole(value: object, field: str) -> int:
    """A whole number from 0 to the API's 64-bit maximum: an ``int``, or a string of ASCII digits (never
    ``str.isdigit``, which accepts "²" and other Unicode digits that ``int()`` refuses or reads)."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT_MAX:
        return value
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
    raise Refused(f"{field} must be a whole number from 0 to {INT_MAX}; got {shown}")


def is_email(value: object, field: str) -> str:
    if isinstance(value, str) and "@" in value:
        return value
    raise Refused(f"{field} must be an email address")


def is_filled(value: object, field: str) -> str:
    """A non-empty string (blanks count: a password may be all spaces)."""
    if isinstance(value, str) and value:
        return value
    raise Refused("login and password are required")


def is_secret(value: object, field: str) -> str:
    """``is_filled``, and registered for redaction before it is sent."""
    register_secret(is_filled(value, field))
    return str(value)


def consent(message: str) -> Callable[[object, str], bool]:
    """``True`` exactly (no truthy stand-in): the caller means the destructive call."""

    def check(value: object, field: str) -> bool:
        if value is not True:
            raise Refused(message)
        return True

    return check


def attributes(
    *required: str, guids: tuple[str, ...] = (), secrets: tuple[str, ...] = ()
) -> Callable[[object, str], dict[str, object]]:
    """A payload of the API's attributes, sent as given: a mapping holding every ``required`` key (neither
    ``None`` nor empty), the ``guids`` keys GUIDs; the ``secrets`` keys are registered for redaction."""

    def check(value: object, field: str) -> dict[str, object]:
        if not isinstance(value, Mapping):
            raise Refused("the payload must be a mapping of the API's attributes")
        missing = [key for key in required if value.get(key) in (None, "")]
        if missing:
            raise Refused(f"{', '.join(missing)} required", field=missing[0])
        for key in guids:
            if key in value:
                try:
                    is_guid(value[key], key)
                except Refused as refused:
                    raise Refused(refused.message, field=key) from None
        for key in secrets:
            if isinstance(value.get(key), str):
                register_secret(value[key])
        return dict(value)

    return check


class Sends(TypedDict):
    """The ``args`` and ``body`` of a declaration whose JSON body is the caller's ``payload``."""

    args: Mapping[str, Param]
    body: Callable[[Mapping[str, object]], object]


def sends(*required: str, guids: tuple[str, ...] = (), secrets: tuple[str, ...] = ()) -> Sends:
    """The declaration of a body that is the caller's ``payload`` (see ``attributes``): splat it into
    ``API.one``/``API.none`` as ``**sends("Name")``."""
    check = attributes(*required, guids=guids, secrets=secrets)
    return {"args": {"payload": Param(check, required=True)}, "body": _payload}


def _payload(args: Mapping[str, object]) -> object:
    return args["payload"]


# -- the same checks outside a declaration (the driver's arguments; compatibility) ----------------------------


def guid(value: object, operation: str, field: str) -> str:
    return str(API.argument(operation, field, value, is_guid, required=True))


def hid(value: object, operation: str) -> str:
    return str(API.argument(operation, "hid", value, is_hid, required=True))


def number(value: object, operation: str, field: str) -> int:
    return int(API.argument(operation, field, value, is_whole, required=True))


def body_of(payload: object, operation: str, required: tuple[str, ...] = ()) -> dict[str, object]:
    checked: dict[str, object] = API.argument(operation, "payload", payload, attributes(*required), required=True)
    return checked


# -- replies the declarations do not read --------------------------------------------------------------------------


def _parsed(reply: Reply) -> object:
    return reply.json() if reply.content.strip() else None


def answer(endpoint: NoContent, /, **given: object) -> Op[object]:
    """The op of a declared endpoint whose reply the docs give no shape for (a new id, a result code, usage
    figures): its parsed JSON, ``None`` for an empty body. Arguments are checked by the declaration."""
    return exchange(endpoint.call(**given), _parsed)


def _raw(pair: tuple[object, Raw]) -> Raw:
    return pair[1]


def raw_rows(listing: ListOp[tuple[T, Raw]]) -> ListOp[Raw]:
    """A declared listing's rows as the raw JSON objects (rows whose fields the docs do not give)."""
    return mapped(listing, _raw)


# -- path paging -------------------------------------------------------------------------------------------------


IdOf = Callable[[Any], Hashable | None]


@overload
def by_path(
    path: str,
    operation: str,
    list_key: str | None,
    typ: type[T],
    count: int,
    *,
    with_raw: Literal[False] = False,
    id_of: IdOf | None = None,
) -> ListOp[T]: ...


@overload
def by_path(
    path: str,
    operation: str,
    list_key: str | None,
    typ: type[T],
    count: int,
    *,
    with_raw: Literal[True],
    id_of: IdOf | None = None,
) -> ListOp[tuple[T, Raw]]: ...


def by_path(
    path: str,
    operation: str,
    list_key: str | None,
    typ: type[T],
    count: int,
    *,
    with_raw: bool = False,
    id_of: IdOf | None = None,
) -> ListOp[T] | ListOp[tuple[T, Raw]]:
    """Path paging as the docs give it: ``{path}/{offset}/{count}`` from offset 0, in an envelope whose
    ``Count`` is the listing's total; the listing ends once ``Count`` records arrived (``paginate`` holds every
    page to that, and to the ``count`` asked for). No other vendor pages by path, so this is built on
    ``paginate`` rather than declared.

    With ``with_raw`` the items are ``(record, raw JSON)`` pairs; ``id_of`` names the record id.
    """
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000:
        raise _invalid(operation, "count", "count must be an integer from 1 to 1000")

    def call_at(index: int) -> Call:
        return Call(method="GET", path=f"{path}/{index * count}/{count}", operation=operation)

    def parse(reply: Reply, call: Call) -> Page[Any]:
        data = reply.json()
        if not isinstance(data, Mapping):
            raise reply.decoding_error('expected a page object with "Count"')
        total = data.get("Count")
        key = list_key if list_key in data else next((k for k, v in data.items() if isinstance(v, list)), None)
        items = data.get(key) if key else []
        if not isinstance(total, int) or isinstance(total, bool):
            raise reply.decoding_error("the page carries no integer Count")
        if not isinstance(items, list):
            raise reply.decoding_error(f"expected a list under {list_key!r}")
        records = decode_reply(types.GenericAlias(list, (typ,)), reply, items)
        return Page(items=list(zip(records, items, strict=True)) if with_raw else records, total=total)

    paging: Paging[Any] = Paging(end=End.TOTAL, page_size=count, page_call=call_at, id_of=id_of, total_name="Count")
    return paginate(call_at(0), parse, paging)
