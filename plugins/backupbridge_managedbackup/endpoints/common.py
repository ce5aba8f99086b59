"""What the endpoint groups share: the service they are declared on, the argument checks, path paging
(``Computers/{offset}/{count}``) and rows kept as raw JSON."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Literal, TypeVar, overload

from backupbridge.plugin import (
    INT_MAX,
    Decoder,
    End,
    ListOp,
    Pages,
    Param,
    Raw,
    Refused,
    Reply,
    Service,
    WholeBody,
    invalid_for,
    mapped,
    register_secret,
    whole_body,
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


def sends(*required: str, guids: tuple[str, ...] = (), secrets: tuple[str, ...] = ()) -> WholeBody:
    """The declaration of a body that is the caller's ``payload`` (see ``attributes``): splat it into
    ``API.one``/``API.none`` as ``**sends("Name")``."""
    return whole_body(Param(attributes(*required, guids=guids, secrets=secrets), required=True))


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


# -- rows kept as raw JSON ------------------------------------------------------------------------------------------


def _raw(pair: tuple[object, Raw]) -> Raw:
    return pair[1]


def raw_rows(listing: ListOp[tuple[T, Raw]]) -> ListOp[Raw]:
    """A declared listing's rows as the raw JSON objects (rows whose fields the docs do not give)."""
    return mapped(listing, _raw)


# -- path paging -------------------------------------------------------------------------------------------------


def _count(reply: Reply, data: object) -> int:
    total = data.get("Count") if isinstance(data, Mapping) else None
    if not isinstance(total, int) or isinstance(total, bool):
        raise reply.decoding_error("the page carries no integer Count")
    return total


def path_pages(list_key: str | None) -> Pages:
    """Path paging as the docs give it: ``{path}/{offset}/{count}`` from offset 0, each page an object whose
    ``Count`` is the listing's total and whose records are under ``list_key`` (``None``: the first list in
    it, as for the history, whose key the docs do not give); the listing ends once ``Count`` records
    arrived (``paginate`` holds every page to that, and to the count asked for)."""

    def items(reply: Reply, data: object) -> object:
        if not isinstance(data, Mapping):
            raise reply.decoding_error('expected a page object with "Count"')
        key = list_key if list_key in data else next((k for k, v in data.items() if isinstance(v, list)), None)
        rows = data.get(key) if key else []
        if not isinstance(rows, list):
            raise reply.decoding_error(f"expected a list under {list_key!r}")
        return rows

    return Pages(
        end=End.TOTAL,
        path=lambda index, size: (index * size, size),
        items=items,
        total=_count,
        size=COMPUTER_PAGE,
        max_size=1000,
        total_name="Count",
    )


def page_size(count: object, operation: str) -> int:
    """A listing's ``count`` argument: the page size asked for, 1 to 1000."""
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000:
        raise _invalid(operation, "count", "count must be an integer from 1 to 1000")
    return count


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
    """A path-paged listing of ``path`` declared on the spot (``path_pages``), for a path of no declared
    endpoint; with ``with_raw`` the items are ``(record, raw JSON)`` pairs, ``id_of`` names the record id."""
    size = page_size(count, operation)
    listing = API.paged(f"GET {path}", typ, operation, pages=path_pages(list_key), id=id_of)
    return listing.pairs(page_size=size) if with_raw else listing(page_size=size)
