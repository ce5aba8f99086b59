"""The shared cattrs converters: one per wire format, configured by functions.

Vendor wire records are attrs classes that mirror the vendor's JSON. A record with an ``extra`` field
keeps every key the docs did not promise there, so nothing a vendor sends is lost. Scalars are
structured strictly (a ``str`` field takes a string or an integer id, never a dict; a ``bool`` field
never takes the string ``"false"`` as true), and any failure becomes a ``DecodingError`` with a short
excerpt of the body, never a ``KeyError`` from deep inside.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import redaction
from .errors import DecodingError

__all__ = [
    "VendorIntEnum",
    "decode",
    "excerpt_of",
    "make_converter",
    "parse_timestamp",
    "pascal_case",
    "with_timezone",
]

T = TypeVar("T")

EXTRA_FIELD = "extra"


WIRE = "wire"
"""attrs field metadata key: the JSON key of a field whose name the converter's rename cannot produce."""


class VendorIntEnum(enum.IntEnum):
    """An integer enum from a vendor: an integer it does not know yet becomes a member named UNKNOWN that
    keeps the integer (``Status(9).name == "UNKNOWN"``, ``int(Status(9)) == 9``), never a crash."""

    @classmethod
    def _missing_(cls, value: object) -> VendorIntEnum | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        member = int.__new__(cls, value)
        member._name_ = "UNKNOWN"
        member._value_ = value
        return member

    @property
    def known(self) -> bool:
        return self._name_ != "UNKNOWN"


def _structure_vendor_int_enum(value: object, typ: type[VendorIntEnum]) -> VendorIntEnum:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return typ(int(value))
        if isinstance(value, str) and value in typ.__members__:
            return typ[value]
        raise TypeError(f"expected an integer code, got {value!r:.20}")
    return typ(value)


def pascal_case(name: str) -> str:
    """``device_id`` -> ``DeviceId``: the key style of several vendors' JSON."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def parse_timestamp(value: object) -> dt.datetime:
    """An ISO-8601 timestamp as sent by vendors: with or without a zone, with a ``Z``, any fraction.

    A naive result stays naive here; the mapping layer attaches the account's time zone.
    """
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO timestamp string, got {type(value).__name__}")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        pass
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


def with_timezone(value: dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    """Make a vendor timestamp aware: a naive one is read in ``tz`` (the account's zone)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=tz)


def _structure_str(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_int(value: object, _: type) -> int:
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _structure_float(value: object, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _structure_bool(value: object, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError(f"expected a boolean, got {value!r:.20}")


def _structure_any(value: object, _: type) -> Any:
    return value


def _structure_datetime(value: object, _: type) -> dt.datetime:
    return parse_timestamp(value)


def _structure_time(value: object, _: type) -> dt.time:
    if not isinstance(value, str):
        raise TypeError(f"expected a time of day string, got {type(value).__name__}")
    return dt.time.fromisoformat(value)


def _optional(hook: Callable[[Any, type], Any], exact: type) -> Callable[[Any, type], Any]:
    def structure(value: Any, typ: type) -> Any:
        # The common cases first: absent, or already the exact type (bool is not an int here).
        if value is None:
            return None
        if value.__class__ is exact:
            return value
        return hook(value, typ)

    return structure


def _has_extra(cls: type) -> bool:
    return attrs.has(cls) and any(a.name == EXTRA_FIELD for a in attrs.fields(cls))


def make_converter(rename: Callable[[str], str] | None = None) -> cattrs.Converter:
    """A converter for one wire format.

    Args:
        rename: maps a Python attribute name to its JSON key (``pascal_case`` for ``DeviceId``-style
            vendors); ``None`` keeps the names as they are.
    """
    # Without detailed validation the generated code is markedly faster; ``decode`` still reports the
    # failing value's problem in the DecodingError, which is all a caller can act on.
    conv = cattrs.Converter(forbid_extra_keys=False, prefer_attrib_converters=False, detailed_validation=False)
    for typ, hook in (
        (str, _structure_str),
        (int, _structure_int),
        (float, _structure_float),
        (bool, _structure_bool),
        (dt.datetime, _structure_datetime),
        (dt.time, _structure_time),
    ):
        conv.register_structure_hook(typ, hook)
        # Optional scalars are most of every record: a direct hook skips cattrs' generic union dispatch.
        exact = typ if typ in (str, int, float, bool) else type(None)
        conv.register_structure_hook(typ | None, _optional(hook, exact))
    conv.register_structure_hook(Any, _structure_any)
    # Registered by class (not by predicate) so it wins over the ``int`` hook for these int subclasses.
    conv.register_structure_hook(VendorIntEnum, _structure_vendor_int_enum)
    conv.register_unstructure_hook(VendorIntEnum, int)
    conv.register_unstructure_hook(dt.datetime, lambda v: v.isoformat())
    conv.register_unstructure_hook(dt.time, lambda v: v.isoformat())

    def key(a: attrs.Attribute[Any]) -> str:
        return str(a.metadata.get(WIRE) or (rename(a.name) if rename else a.name))

    def overrides(cls: type) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for a in attrs.fields(cls):
            if a.name == EXTRA_FIELD:
                result[a.name] = override(omit=True)
            elif a.metadata.get(WIRE) or rename is not None:
                result[a.name] = override(rename=key(a))
        return result

    def structure_factory(cls: type) -> Callable[[Mapping[str, Any], type], Any]:
        base: Callable[[Mapping[str, Any], Any], Any] = make_dict_structure_fn(cls, conv, **overrides(cls))
        if not _has_extra(cls):
            return base
        known = frozenset(key(a) for a in attrs.fields(cls) if a.name != EXTRA_FIELD)

        def structure(data: Mapping[str, Any], typ: type) -> Any:
            if not isinstance(data, Mapping):
                raise TypeError(f"expected a JSON object, got {type(data).__name__}")
            obj = base(data, typ)
            unknown = data.keys() - known
            if unknown:
                object.__setattr__(obj, EXTRA_FIELD, {k: data[k] for k in unknown})
            return obj

        return structure

    def unstructure_factory(cls: type) -> Callable[[Any], dict[str, Any]]:
        base: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(cls, conv, **overrides(cls))
        if not _has_extra(cls):
            return base

        def unstructure(obj: Any) -> dict[str, Any]:
            data = base(obj)
            data.update(getattr(obj, EXTRA_FIELD) or {})
            return data

        return unstructure

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


def excerpt_of(body: bytes | str, limit: int = DecodingError.EXCERPT_LENGTH) -> str:
    """The first ``limit`` characters of a body, for error messages: redacted first, then cut."""
    return redaction.excerpt(body, limit)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, cattrs.ClassValidationError | cattrs.IterableValidationError):
        notes = cattrs.transform_error(exc)
        return "; ".join(notes[:3])
    return f"{type(exc).__name__}: {exc}"


def decode(
    converter: cattrs.Converter,
    typ: type[T] | Any,
    data: Any,
    *,
    endpoint: str,
    vendor: str,
    operation: str | None = None,
) -> T:
    """Structure ``data`` into ``typ``, or raise ``DecodingError`` naming the endpoint."""
    try:
        return converter.structure(data, typ)  # type: ignore[no-any-return]
    except Exception as exc:  # cattrs raises several unrelated types; all mean "not the promised shape"
        excerpt = excerpt_of(json.dumps(data, default=str))
        raise DecodingError(
            f"unexpected response shape ({_describe(exc)})",
            endpoint=endpoint,
            excerpt=excerpt,
            vendor=vendor,
            operation=operation,
        ) from exc


def b64decode_loose(text: str) -> bytes:
    """Base64 (standard or URL-safe) with or without padding."""
    padded = text + "=" * (-len(text) % 4)
    alt = padded.replace("-", "+").replace("_", "/")
    return base64.b64decode(alt, validate=True)
