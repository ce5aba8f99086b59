"""The shared cattrs converters: one per wire format, configured by functions.

Vendor wire records are attrs classes that mirror the vendor's JSON. A record with an ``extra`` field
keeps every key the docs did not promise there, so nothing a vendor sends is lost. Scalars are
structured strictly (a ``str`` field takes a string or a number, never a dict; a ``bool`` field never
takes the string ``"false"`` as true), numbers and dates are range-checked (an integer beyond 64 bits, a
timestamp outside 1900-9000, a duration beyond a century), and any failure becomes a ``DecodingError``
with a short excerpt of the offending record, never a ``KeyError`` or ``OverflowError`` from deep inside.

Tolerance (``make_converter(..., lenient_unused=True)``): a field marked ``used()`` (one the mapping
reads), or one without a default, is strict; any other field that cannot be read is left at its default,
its value still in the record's raw JSON, so a field the mapping never reads never fails a record.
A record class may name the fields that identify it (``__identity__``); ``decode`` refuses a listed
record without them, naming the endpoint and the record.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import _fastpath, redaction
from .errors import DecodingError

__all__ = [
    "ALIASES",
    "CHECK",
    "INT_MAX",
    "MAX_DURATION",
    "USED",
    "VendorIntEnum",
    "check_epoch_ms",
    "check_milliseconds",
    "check_minutes",
    "decode",
    "duration_or_none",
    "epoch_ms",
    "excerpt_of",
    "in_range",
    "make_converter",
    "parse_duration",
    "parse_timestamp",
    "pascal_case",
    "timedelta_of",
    "used",
    "with_timezone",
]

T = TypeVar("T")

EXTRA_FIELD = "extra"

_FAST = True
"""Whether records try the generated fast path first (``_fastpath``); the tests switch it off to compare."""


WIRE = "wire"
"""attrs field metadata key: the JSON key of a field whose name the converter's rename cannot produce."""

USED = "used"
"""attrs field metadata key: the mapping (or the driver) reads this field, so it is decoded strictly."""

ALIASES = "aliases"
"""attrs field metadata key: other JSON keys the same value arrives under in other versions of the API."""

CHECK = "check"
"""attrs field metadata key: a callable run on the decoded value; it raises ``ValueError`` when the value
is out of the range the mapping can use (a strict field then fails its record, a lenient one is dropped)."""

IDENTITY = "__identity__"
"""Class attribute of a record: alternative tuples of the fields that identify it (one must be complete)."""

INT_MAX = 2**63 - 1
"""Every vendor's integers are 64-bit (Java ``long``, .NET ``long``): anything wider is not a real value."""

EARLIEST = dt.datetime(1900, 1, 1)
LATEST = dt.datetime(9000, 1, 1)
"""Timestamps outside [EARLIEST, LATEST) are refused: far enough from datetime's limits that a time-zone
shift or adding a duration (at most ``MAX_DURATION``) can never overflow."""

MAX_DURATION = dt.timedelta(days=36525)
"""A hundred years: the longest duration, grace or interval read from a vendor."""

_DOTNET_NO_DATE = (dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999))


def used(
    *,
    wire: str | None = None,
    aliases: tuple[str, ...] = (),
    check: Any = None,
    repr: bool = True,
    default: Any = None,
) -> Any:
    """An optional record field the mapping reads: decoded strictly (tolerant of every real shape, but a
    value that cannot be read fails the record instead of being dropped).

    Args:
        wire: the JSON key, when the converter's rename cannot produce it.
        aliases: other keys the value is read from when ``wire`` is absent.
        check: a range check run on the decoded value (``check_minutes``, ``check_epoch_ms``...).
        repr: whether the field appears in the record's repr (``False`` for secrets).
        default: the value when the key is absent (an immutable one, such as ``()``).
    """
    metadata: dict[str, Any] = {USED: True}
    if wire is not None:
        metadata[WIRE] = wire
    if aliases:
        metadata[ALIASES] = aliases
    if check is not None:
        metadata[CHECK] = check
    return attrs.field(default=default, metadata=metadata, repr=repr)


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


def _normalized(name: str) -> str:
    return name.replace("_", "").replace(" ", "").lower()


def _structure_vendor_int_enum(value: object, typ: type[VendorIntEnum]) -> VendorIntEnum:
    if value.__class__ is int:
        # The usual case, a known code: the member from the enum's own value table (what ``typ(value)`` looks up
        # first, without the enum machinery's call); anything else goes the general way below.
        member = typ._value2member_map_.get(value)
        if member is not None:
            return member  # type: ignore[return-value]
    if isinstance(value, bool):
        raise TypeError("expected an integer code, got a boolean")
    if isinstance(value, float | str):
        if isinstance(value, str):
            wanted = _normalized(value)
            for name, member in typ.__members__.items():
                if _normalized(name) == wanted:
                    return member  # the code sent by its name ("Success", "GlobalPool"), as XML and clients do
        value = _structure_int(value, int)
    if not isinstance(value, int):
        raise TypeError(f"expected an integer code, got {type(value).__name__}")
    return typ(_structure_int(value, int))


def pascal_case(name: str) -> str:
    """``device_id`` -> ``DeviceId``: the key style of several vendors' JSON."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _check_timestamp(value: dt.datetime) -> dt.datetime:
    if not EARLIEST.year <= value.year < LATEST.year:  # the bounds are the first instants of their years
        raise ValueError(f"timestamp out of range: {value.isoformat()}")
    return value


def _parse_iso(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO timestamp string, got {type(value).__name__}")
    if len(value) > 64:
        raise ValueError("timestamp too long")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        pass
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


def parse_timestamp(value: object) -> dt.datetime:
    """An ISO-8601 timestamp as sent by vendors: with or without a zone, with a ``Z``, any fraction.

    A naive result stays naive here; the mapping layer attaches the account's time zone.

    Raises:
        TypeError: not a string; ``ValueError``: not ISO 8601, or outside 1900-9000.
    """
    return _check_timestamp(_parse_iso(value))


def epoch_ms(value: int | None) -> dt.datetime | None:
    """An epoch-millisecond time as an aware UTC datetime (``ValueError`` outside 1900-9000)."""
    if value is None:
        return None
    check_epoch_ms(value)
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=value)


_EPOCH_MS_MIN = int((EARLIEST - dt.datetime(1970, 1, 1)).total_seconds()) * 1000
_EPOCH_MS_MAX = int((LATEST - dt.datetime(1970, 1, 1)).total_seconds()) * 1000


def check_epoch_ms(value: object) -> None:
    """A field check: an epoch-millisecond time within 1900-9000."""
    if isinstance(value, int) and not _EPOCH_MS_MIN <= value < _EPOCH_MS_MAX:
        raise ValueError(f"epoch milliseconds out of range: {value}")


_UNITS = {
    "d": "days",
    "day": "days",
    "days": "days",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "m": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "s": "seconds",
    "sec": "seconds",
    "secs": "seconds",
    "second": "seconds",
    "seconds": "seconds",
    "ms": "milliseconds",
    "millisecond": "milliseconds",
    "milliseconds": "milliseconds",
}
_NUMBER = re.compile(r"[+]?\d{1,15}(?:\.\d{1,9})?", re.ASCII)
_CLOCK = re.compile(r"(?:(\d{1,9})[.:])?(\d{1,9}):(\d{1,2}):(\d{1,2}(?:\.\d{1,9})?)", re.ASCII)
_ISO = re.compile(
    r"P(?:(\d{1,9}(?:\.\d+)?)W)?(?:(\d{1,9}(?:\.\d+)?)D)?"
    r"(?:T(?:(\d{1,9}(?:\.\d+)?)H)?(?:(\d{1,9}(?:\.\d+)?)M)?(?:(\d{1,12}(?:\.\d+)?)S)?)?",
    re.IGNORECASE | re.ASCII,
)
_WORDS = re.compile(r"(\d{1,12}(?:\.\d{1,9})?)\s*([a-z]+)(?:\(s\))?", re.IGNORECASE | re.ASCII)
_WORD_GAPS = re.compile(r"[\s,]*(?:and)?[\s,]*", re.IGNORECASE | re.ASCII)


def timedelta_of(amount: float, unit: str = "seconds") -> dt.timedelta:
    """``amount`` of ``unit`` as a timedelta (``ValueError`` when negative, not finite or beyond a century)."""
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise TypeError(f"expected a number of {unit}, got {type(amount).__name__}")
    if amount != amount or amount < 0:
        raise ValueError(f"not a duration: {amount!r:.30}")
    limit = _UNIT_LIMITS.get(unit)
    if limit is None:
        limit = MAX_DURATION / dt.timedelta(**{unit: 1})  # an unknown unit raises TypeError here, as always
        _UNIT_LIMITS[unit] = limit
    if amount > limit:
        raise ValueError(f"duration out of range: {amount!r:.30} {unit}")
    if unit == "seconds":
        return dt.timedelta(seconds=amount)
    return dt.timedelta(**{unit: amount})


_UNIT_LIMITS: dict[str, float] = {}
"""``MAX_DURATION`` in each unit ``timedelta_of`` was asked for (a division and a timedelta a call before)."""


def parse_duration(value: object, unit: str = "seconds") -> dt.timedelta | None:
    """A duration in any shape vendors send it: a number of ``unit`` (int, float or decimal string),
    ``hh:mm:ss[.fff]`` or .NET's ``d.hh:mm:ss``, ISO 8601 (``PT1H30M``), or words (``15 second(s)``,
    ``1 hour(s) 5 minute(s)``). ``None`` or blank is ``None``.

    Raises:
        ValueError: not a duration in any of those shapes, negative, or beyond ``MAX_DURATION``.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("expected a duration, got a boolean")
    if isinstance(value, int | float):
        return timedelta_of(value, unit)
    if not isinstance(value, str):
        raise TypeError(f"expected a duration, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    if len(text) > 80:
        raise ValueError("duration text too long")
    if _NUMBER.fullmatch(text):
        return timedelta_of(float(text), unit)
    clock = _CLOCK.fullmatch(text)
    if clock:
        days, hours, minutes, seconds = clock.groups()
        total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        return timedelta_of(total)
    iso = _ISO.fullmatch(text)
    if iso and text.upper() not in ("P", "PT") and any(iso.groups()):
        weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in iso.groups())
        return timedelta_of(weeks * 604800 + days * 86400 + hours * 3600 + minutes * 60 + seconds)
    total, position = 0.0, 0
    for match in _WORDS.finditer(text):
        gap = text[position : match.start()]
        name = _UNITS.get(match.group(2).lower())
        if name is None or not _WORD_GAPS.fullmatch(gap):
            break
        total += timedelta_of(float(match.group(1)), name).total_seconds()
        position = match.end()
    else:
        if position and not text[position:].strip():
            return timedelta_of(total)
    raise ValueError(f"not a duration: {text!r:.30}")


def duration_or_none(value: object, unit: str = "seconds") -> dt.timedelta | None:
    """``parse_duration``, or ``None`` for a value in no known shape (the raw JSON keeps it)."""
    try:
        return parse_duration(value, unit)
    except (TypeError, ValueError):
        return None


def in_range(low: int, high: int) -> Callable[[object], None]:
    """A field check: an integer within ``[low, high]``."""

    def check(value: object) -> None:
        if isinstance(value, int) and not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")

    return check


def _unit_check(unit: str) -> Callable[[object], None]:
    def check(value: object) -> None:
        if isinstance(value, int | float):
            timedelta_of(value, unit)

    return check


check_minutes = _unit_check("minutes")
"""A field check: a number of minutes that is a duration of at most ``MAX_DURATION``."""
check_milliseconds = _unit_check("milliseconds")
"""A field check: a number of milliseconds that is a duration of at most ``MAX_DURATION``."""


def with_timezone(value: dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    """Make a vendor timestamp aware: a naive one is read in ``tz`` (the account's zone)."""
    if value is None or value.tzinfo is not None:
        return value
    # The same value (and fold) as ``value.replace(tzinfo=tz)``, in a fraction of its time.
    return dt.datetime.combine(value, value.time(), tz)


def _structure_str(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(_structure_int(value, int))
    if isinstance(value, float):
        # A number sent where text was promised (an id as 15020.0): its text, integral ones without ".0".
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("expected a string, got a non-finite number")
        return str(int(value)) if value.is_integer() and abs(value) <= INT_MAX else repr(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


# ASCII only: Python's int()/float() also read other scripts' digits ("١٢"), full-width ones and "1_000",
# none of which a vendor sends as a number; such text is refused, never read as 12.
_INTEGRAL_TEXT = re.compile(r"\s*[+-]?\d{1,19}(?:\.0*)?\s*", re.ASCII)
_FLOAT_TEXT = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*", re.ASCII)


def _structure_int(value: object, _: type) -> int:
    """An integer, also sent as ``12.0`` or ``"12"``/``"12.0"``; 64 bits at most."""
    if isinstance(value, int) and value.__class__ is int and -INT_MAX <= value <= INT_MAX:
        return value
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not value.is_integer():  # also NaN and the infinities
            raise ValueError(f"expected an integer, got {value!r:.30}")
        if abs(value) > INT_MAX:
            raise ValueError("integer out of range")
        result = int(value)
    elif isinstance(value, str) and len(value) <= 40 and _INTEGRAL_TEXT.fullmatch(value):
        result = int(value.strip().split(".")[0])
    else:
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    if not -INT_MAX <= result <= INT_MAX:
        raise ValueError("integer out of range")
    return result


def _structure_float(value: object, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    if isinstance(value, str):
        if len(value) > 40:
            raise ValueError("number text too long")
        if not _FLOAT_TEXT.fullmatch(value):
            raise ValueError(f"expected a number, got {value!r:.30}")
    result = float(value)
    if result != result or result in (float("inf"), float("-inf")):
        raise ValueError("expected a finite number")
    return result


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


def _structure_datetime(value: object, _: type) -> dt.datetime | None:
    parsed = _parse_iso(value)
    if EARLIEST.year <= parsed.year < LATEST.year:
        return parsed
    if parsed.tzinfo is None and parsed in _DOTNET_NO_DATE:
        return None  # .NET's DateTime.MinValue / MaxValue: the vendor's way of writing "no date"
    return _check_timestamp(parsed)


def _structure_time(value: object, _: type) -> dt.time:
    if not isinstance(value, str):
        raise TypeError(f"expected a time of day string, got {type(value).__name__}")
    return dt.time.fromisoformat(value)


def _within_64_bits(value: Any) -> bool:
    return -INT_MAX <= value <= INT_MAX  # type: ignore[no-any-return]


def _optional(hook: Callable[[Any, type], Any], exact: type) -> Callable[[Any, type], Any]:
    bounded = exact is int

    def structure(value: Any, typ: type) -> Any:
        # The common cases first: absent, or already the exact type (bool is not an int here; an int
        # within 64 bits).
        if value is None:
            return None
        if value.__class__ is exact and (not bounded or _within_64_bits(value)):
            return value
        return hook(value, typ)

    if hook is _structure_datetime:
        # The fast path may parse an ISO string in range itself (``_fastpath``): what this hook returns for it.
        structure.fast_iso = (EARLIEST.year, LATEST.year)  # type: ignore[attr-defined]
    return structure


def _is_homogeneous_sequence(typ: Any) -> bool:
    origin = getattr(typ, "__origin__", None)
    args: tuple[Any, ...] = getattr(typ, "__args__", ())
    return (origin is list and len(args) == 1) or (origin is tuple and len(args) == 2 and args[1] is Ellipsis)


def _sequence_hook(conv: cattrs.Converter, typ: Any) -> Callable[[Any, Any], Any]:
    container = typ.__origin__
    item = typ.__args__[0]
    hook = conv.get_structure_hook(item)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a JSON array, got {type(value).__name__}")
        return container([hook(v, item) for v in value])

    return structure


def _has_extra(cls: type) -> bool:
    return attrs.has(cls) and any(a.name == EXTRA_FIELD for a in attrs.fields(cls))


def make_converter(rename: Callable[[str], str] | None = None, *, lenient_unused: bool = False) -> cattrs.Converter:
    """A converter for one wire format.

    Args:
        rename: maps a Python attribute name to its JSON key (``pascal_case`` for ``DeviceId``-style
            vendors); ``None`` keeps the names as they are.
        lenient_unused: optional fields not marked ``used()`` are lenient: a value that cannot be read
            leaves the field at its default (the value stays in the record's raw JSON) instead of
            failing the record.
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
        # Floats always pass through their hook, which checks they are finite; ints are range-checked.
        exact = typ if typ in (str, bool, int) else type(None)
        conv.register_structure_hook(typ | None, _optional(hook, exact))
    conv.register_structure_hook(Any, _structure_any)
    # cattrs would read a string as a tuple of its characters, an object as a tuple of its keys.
    conv.register_structure_hook_factory(_is_homogeneous_sequence, lambda t: _sequence_hook(conv, t))
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
        attrs.resolve_types(cls)
        fields = [a for a in attrs.fields(cls) if a.name != EXTRA_FIELD]
        # cattrs' generated function, made the first time the fast path hands a record over: most runs
        # never need it, and generating one per record class was most of a short command's start-up.
        generated: list[Callable[[Mapping[str, Any], Any], Any]] = []

        def base(data: Mapping[str, Any], typ: Any) -> Any:
            if not generated:
                generated.append(make_dict_structure_fn(cls, conv, **overrides(cls)))
            return generated[0](data, typ)

        keys = {a.name: key(a) for a in fields}
        aliases = {keys[a.name]: tuple(a.metadata[ALIASES]) for a in fields if a.metadata.get(ALIASES)}
        checks = [(a.name, keys[a.name], a.metadata[CHECK]) for a in fields if a.metadata.get(CHECK)]
        lenient = frozenset(
            a.name for a in fields if lenient_unused and not a.metadata.get(USED) and a.default is not attrs.NOTHING
        )
        known = frozenset(keys.values()).union(*aliases.values())
        has_extra = _has_extra(cls)
        # The generated fast path (``_fastpath``), built on first use (when every hook it calls exists, a
        # record nesting itself included); it hands anything it does not take to the path below.
        fast: list[Callable[[Any], Any] | None] = []

        def build_fast() -> Callable[[Any], Any] | None:
            if aliases:
                return None
            return _fastpath.record_structurer(
                cls,
                hook_for=conv.get_structure_hook,
                keys=keys,
                checks=checks,
                extra=EXTRA_FIELD if has_extra else None,
                known=known,
            )

        def field_by_field(data: Mapping[str, Any]) -> Any:
            """The slow path, taken only when the generated one failed: each field on its own, so a lenient
            field that cannot be read keeps its default and a strict one names itself in the error."""
            values: dict[str, Any] = {}
            for a in fields:
                wire = keys[a.name]
                if wire not in data:
                    if a.default is attrs.NOTHING:
                        raise KeyError(f"{wire} is missing")
                    continue
                try:
                    values[a.alias] = conv.structure(data[wire], a.type)
                except Exception as exc:
                    if a.name in lenient:
                        continue
                    raise ValueError(f"{wire}: {_describe(exc)}") from exc
            return cls(**values)

        def structure(data: Mapping[str, Any], typ: type) -> Any:
            if not fast:
                fast.append(build_fast())
            quick = fast[0]
            if quick is not None and _FAST:
                obj = quick(data)
                if obj is not _fastpath.FALLBACK:
                    return obj
            if not isinstance(data, Mapping):
                raise TypeError(f"expected a JSON object, got {type(data).__name__}")
            if aliases:
                missing = {wire: names for wire, names in aliases.items() if wire not in data}
                if missing:
                    data = dict(data)
                    for wire, names in missing.items():
                        found = next((n for n in names if n in data), None)
                        if found is not None:
                            data[wire] = data[found]
            try:
                obj = base(data, typ)
            except Exception:
                if not lenient:
                    raise
                obj = field_by_field(data)
            for name, wire, check in checks:
                value = getattr(obj, name)
                if value is None:
                    continue
                try:
                    check(value)
                except ValueError as exc:
                    if name not in lenient:
                        raise ValueError(f"{wire}: {exc}") from exc
                    object.__setattr__(obj, name, None)
            if has_extra:
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


def _dumps(data: Any) -> str:
    try:
        return json.dumps(data, default=str)
    except (ValueError, TypeError, RecursionError):
        return "<not printable>"


def _item_type(typ: Any) -> Any:
    """``X`` for ``list[X]``, ``tuple[X, ...]`` or ``Sequence[X]``; else ``None``."""
    origin = getattr(typ, "__origin__", None)
    args: tuple[Any, ...] = getattr(typ, "__args__", ())
    if origin in (list, tuple) or (origin is not None and getattr(origin, "__name__", "") == "Sequence"):
        if len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis):
            return args[0]
    return None


_IDENTITY_PLANS: dict[type, tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]] = {}


def _identity_plan(cls: type) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """A record class's id alternatives, and its fields that hold records of the same class."""
    plan = _IDENTITY_PLANS.get(cls)
    if plan is None:
        alternatives = tuple(getattr(cls, IDENTITY, None) or ()) if attrs.has(cls) else ()
        children = (
            tuple(a.name for a in attrs.fields(cls) if getattr(a.type, "__args__", ())[:1] == (cls,))
            if alternatives
            else ()
        )
        plan = _IDENTITY_PLANS[cls] = (alternatives, children)
    return plan


def _identity_problem(obj: Any) -> str | None:
    """Why ``obj`` (or a record of the same kind nested in it, like a sub-company) cannot be identified."""
    alternatives, children = _identity_plan(type(obj))
    if not alternatives:
        return None
    for fields in alternatives:
        for name in fields:
            value = getattr(obj, name, None)
            if value is None or (isinstance(value, str) and not value.strip()):
                break
        else:
            break  # every field of this alternative is present
    else:
        names = " or ".join("+".join(fields) for fields in alternatives)
        return f"a record without its id ({names})"
    for name in children:
        for child in getattr(obj, name) or ():
            problem = _identity_problem(child)
            if problem:
                return problem
    return None


@overload
def decode(
    converter: cattrs.Converter,
    typ: type[T],
    data: Any,
    *,
    endpoint: str,
    vendor: str,
    operation: str | None = None,
) -> T: ...


@overload
def decode(
    converter: cattrs.Converter,
    typ: Any,
    data: Any,
    *,
    endpoint: str,
    vendor: str,
    operation: str | None = None,
) -> Any: ...


def decode(
    converter: cattrs.Converter,
    typ: type[T] | Any,
    data: Any,
    *,
    endpoint: str,
    vendor: str,
    operation: str | None = None,
) -> T:
    """Structure ``data`` into ``typ``, or raise ``DecodingError`` naming the endpoint.

    A list is decoded whole; when one of its records fails, the error names that record (its position
    and a redacted excerpt of it), not the first characters of the page. A listed record that cannot
    be identified (its ``__identity__`` fields missing or blank) fails the same way.
    """

    def failure(message: str, offending: Any) -> DecodingError:
        return DecodingError(
            message, endpoint=endpoint, excerpt=excerpt_of(_dumps(offending)), vendor=vendor, operation=operation
        )

    # The error is raised outside the ``except`` blocks and chained to nothing: cattrs' exceptions (and
    # their tracebacks' frames) hold the decoded data, secrets included; only a redacted description is kept.
    item_type = _item_type(typ)
    shape: tuple[str, Any] | None = None
    try:
        result = converter.structure(data, typ)
    except Exception as exc:  # cattrs raises several unrelated types; all mean "not the promised shape"
        shape = (f"unexpected response shape ({_describe(exc)})", data)
        if item_type is not None and isinstance(data, list):
            for index, item in enumerate(data):
                try:
                    converter.structure(item, item_type)
                except Exception as item_exc:
                    shape = (f"unexpected response shape (record {index}: {_describe(item_exc)})", item)
                    break
    if shape is not None:
        raise failure(*shape) from None
    if item_type is not None and isinstance(result, list | tuple):
        # Only listed records must carry their id: a create's answer may lack it (CleverFox's docs show
        # one), and the driver handles that case itself.
        for index, record in enumerate(result):
            problem = _identity_problem(record)
            if problem:
                raise failure(f"unexpected response shape (record {index}: {problem})", data[index])
    return result  # type: ignore[no-any-return]


def b64decode_loose(text: str) -> bytes:
    """Base64 (standard or URL-safe) with or without padding."""
    padded = text + "=" * (-len(text) % 4)
    alt = padded.replace("-", "+").replace("_", "/")
    return base64.b64decode(alt, validate=True)
