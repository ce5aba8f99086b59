"""The plugin SDK: everything a vendor plugin imports besides the public ``backupbridge`` API.

A plugin imports from exactly two modules, ``backupbridge`` (the neutral model, the errors, ``Vendor``,
``Driver``, ``hookimpl``) and this one; a test scans ``plugins/**`` and fails on any other core import.
What is here:

- endpoints, declared: ``Service`` (a vendor's API: name, converter, envelope) and its ``one``/``many``/
  ``paged``/``none``/``json`` declarations, which yield typed ``Op[T]``/``ListOp[T]`` factories; ``Param``, the
  checks ``text``/``flag``/``choice``/``integer`` and ``Refused``; ``Pages`` (a vendor's paging, from which
  each listing's ``Paging`` is built); ``Raw``, ``Request``, ``returning`` (see ``backupbridge.endpoints``);
- the sans-I/O HTTP layer: ``Call``, ``Reply``, ``Op``, ``ListOp``, ``Batch``, ``Page``, ``Paging``,
  ``End``, the paging engine ``paginate``/``single_page`` and the combinators that compose ops
  (``exchange``, ``then``, ``collect``, ``find``, ``first_of``, ``mapped``, ``with_reply``);
- auth: ``LoginAuth`` (one login flow for sync and async), ``BasicAuth``, ``BearerAuth``, ``VendorError``;
- decoding: ``Decoder`` (``.reply`` -> the record, ``.pair`` -> the record and its raw JSON),
  ``make_converter``, ``used()``, ``extra_field()``, the wire aliases ``Str``/``Int``/``Bool``/``Float``/
  ``Time``, the range checks and timestamp helpers;
- ``invalid()``/``invalid_for()``: the ``ValidationError`` for a bad argument, before any request;
- secrets: ``Secret``, ``register_secret`` (a minted token), ``secret_fields`` (JSON keys a vendor's
  payloads carry credentials under; declare them on ``Vendor(secret_fields=...)``);
- simulators: ``SimulatorBase`` (routing, auth, the fault loop, clock and seeding; the declared truth),
  ``SimulatorFault``, ``Router``, ``SimRequest``, ``PageShape``, ``json_response``, ``Seeder``,
  ``SimClock``, ``SimulatorOptions``, and the fault knobs ``Faults``/``FaultKind``;
- capabilities: ``Capability`` and ``capabilities()``;
- sink plugins (a PSA, a chat): ``EventSink``, ``SinkError``, ``SinkType``, ``SinkSettings`` (the
  ``register_sink_types`` hook), the outbox's ``Delivery`` and its ``Alert``, and ``Session``,
  ``VendorProfile``, ``make_client`` to run ops against a receiver outside any backup ``Connection``.

See docs/plugins.md for a whole plugin built from these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import attrs
import cattrs

from .alerts import Alert, Delivery
from .convert import (
    ALIASES,
    CHECK,
    INT_MAX,
    USED,
    WIRE,
    VendorIntEnum,
    b64decode_loose,
    check_epoch_ms,
    check_milliseconds,
    check_minutes,
    decode,
    duration_or_none,
    epoch_ms,
    in_range,
    make_converter,
    parse_timestamp,
    pascal_case,
    used,
    with_timezone,
)
from .endpoints import (
    Check,
    Endpoint,
    Json,
    Many,
    NoContent,
    One,
    Paged,
    Pages,
    Param,
    Raw,
    Refused,
    Request,
    Service,
    WholeBody,
    choice,
    flag,
    integer,
    returning,
    text,
    whole_body,
)
from .errors import ValidationError
from .http import (
    BasicAuth,
    Batch,
    BearerAuth,
    Call,
    End,
    ListOp,
    LoginAuth,
    Op,
    Page,
    Paging,
    Reply,
    Session,
    VendorError,
    VendorProfile,
    by_attr,
    by_key,
    collect,
    exchange,
    find,
    first_of,
    make_client,
    mapped,
    paginate,
    single_page,
    then,
    with_reply,
)
from .models import Capability
from .redaction import Secret, redact, register_secret, register_secret_field
from .sandbox.app import WHOLE_ARRAY, PageShape, Router, SimRequest, json_response, plain_number, raw_json_response
from .sandbox.base import SimulatorBase, SimulatorFault
from .sandbox.clock import SimClock
from .sandbox.faults import FaultKind, Faults
from .sandbox.options import SimulatorOptions
from .sandbox.seed import Seeder
from .sinks.base import EventSink, SinkError
from .sinks.registry import SinkSettings, SinkType
from .vendors import CredentialField, Driver, DriverContext, Simulator, Vendor

__all__ = [
    "ALIASES",
    "CHECK",
    "INT_MAX",
    "USED",
    "WHOLE_ARRAY",
    "WIRE",
    "Alert",
    "BasicAuth",
    "Batch",
    "BearerAuth",
    "Bool",
    "Call",
    "Capability",
    "Check",
    "CredentialField",
    "Decoder",
    "Delivery",
    "Driver",
    "DriverContext",
    "End",
    "Endpoint",
    "EventSink",
    "FaultKind",
    "Faults",
    "Float",
    "Int",
    "Json",
    "ListOp",
    "LoginAuth",
    "Many",
    "NoContent",
    "One",
    "Op",
    "Page",
    "PageShape",
    "Paged",
    "Pages",
    "Paging",
    "Param",
    "Raw",
    "Refused",
    "Reply",
    "Request",
    "Router",
    "Secret",
    "Seeder",
    "Service",
    "Session",
    "SimClock",
    "SimRequest",
    "Simulator",
    "SimulatorBase",
    "SimulatorFault",
    "SimulatorOptions",
    "SinkError",
    "SinkSettings",
    "SinkType",
    "Str",
    "Time",
    "Vendor",
    "VendorError",
    "VendorIntEnum",
    "VendorProfile",
    "WholeBody",
    "b64decode_loose",
    "by_attr",
    "by_key",
    "capabilities",
    "check_epoch_ms",
    "check_milliseconds",
    "check_minutes",
    "choice",
    "collect",
    "decode",
    "duration_or_none",
    "epoch_ms",
    "exchange",
    "extra_field",
    "find",
    "first_of",
    "flag",
    "in_range",
    "integer",
    "invalid",
    "invalid_for",
    "json_response",
    "make_client",
    "make_converter",
    "mapped",
    "paginate",
    "parse_timestamp",
    "pascal_case",
    "plain_number",
    "raw_json_response",
    "redact",
    "register_secret",
    "returning",
    "secret_fields",
    "single_page",
    "text",
    "then",
    "used",
    "whole_body",
    "with_reply",
    "with_timezone",
]

T = TypeVar("T")

# -- wire aliases: the optional scalar shapes vendor records are made of --------------------------------

Str = str | None
Int = int | None
Bool = bool | None
Float = float | None
Time = dt.datetime | None


def extra_field() -> Any:
    """The field that keeps a record's unknown JSON keys (name it ``extra``); left out of equality."""
    return attrs.field(factory=dict, eq=False)


# -- errors for bad arguments ------------------------------------------------------------------------------


def invalid(vendor: str, operation: str, field: str, message: str) -> ValidationError:
    """The error for a bad argument, raised before any request: it names the vendor, operation and field."""
    return ValidationError(message, field=field, vendor=vendor, operation=operation)


def invalid_for(vendor: str) -> Callable[[str, str, str], ValidationError]:
    """``invalid`` with the vendor bound: ``_invalid = invalid_for(VENDOR)``; ``_invalid(op, field, msg)``."""

    def bound(operation: str, field: str, message: str) -> ValidationError:
        return invalid(vendor, operation, field, message)

    return bound


# -- decoding replies ----------------------------------------------------------------------------------------


@attrs.frozen
class Decoder:
    """One vendor's way of decoding replies: its converter and name, bound once.

    ``reply(typ, reply)`` is the record (``DecodingError`` naming the endpoint when it does not decode);
    ``pair(typ, reply)`` is the record and the raw JSON it came from (the mapping keeps both).
    """

    converter: cattrs.Converter
    vendor: str

    def reply(self, typ: Any, reply: Reply, data: Any = None) -> Any:
        """``reply``'s JSON (or ``data``, already parsed from it) as ``typ``."""
        return decode(
            self.converter,
            typ,
            reply.json() if data is None else data,
            endpoint=reply.endpoint,
            vendor=self.vendor,
            operation=reply.operation,
        )

    def one(self, call: Call, typ: Any) -> Op[Any]:
        """The op of one request whose reply is one ``typ`` record."""
        return exchange(call, lambda reply: self.reply(typ, reply))

    def pair(self, typ: Any, reply: Reply) -> tuple[Any, Any]:
        """The record and its raw JSON."""
        data = reply.json()
        return self.reply(typ, reply, data), data


# -- secrets and capabilities ---------------------------------------------------------------------------------


def secret_fields(*names: str) -> tuple[str, ...]:
    """Register JSON keys whose values are credentials in this vendor's payloads (CleverFox's per-device
    agent ``ApiKey``): they are scrubbed from cassettes and exported JSON like the generic ones. ``Vendor``
    calls it for its ``secret_fields``; returns the names."""
    for name in names:
        register_secret_field(name)
    return names


def capabilities(*members: Capability | str | Iterable[Capability]) -> frozenset[Capability]:
    """A vendor's capability set from members, their names (``"list_devices"``) or other sets."""
    found: set[Capability] = set()
    for member in members:
        if isinstance(member, Capability):
            found.add(member)
        elif isinstance(member, str):
            found.add(Capability[member.upper()])
        else:
            found.update(member)
    return frozenset(found)
