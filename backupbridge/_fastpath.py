"""Generated fast paths for decoding wire records and building neutral ones.

``record_structurer`` writes, for one wire record class, a function that takes a decoded JSON object and
builds the record directly when every value already has its field's exact type (a ``str`` for a string
field, an in-range ``int``, a ``bool``, ``None`` for an optional one, anything for ``Any``), calling the
converter's own hook for every other field (timestamps, nested records, enums). It answers ``FALLBACK``
for anything else (a missing required key, a number sent as text, a hook that raises, a failing range
check), and the caller then takes the general cattrs path, which gives the same record, or the same error,
it always did. Equality of the two paths is property-tested over randomized payloads for every record class
of every vendor (tests/core/test_fast_path.py).

``constructor`` builds a frozen, slotted attrs class from positional values in field order, setting the
slots directly (its converters applied, no validators, no post-init hook), for classes where that is
exactly what the generated ``__init__`` does.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["FALLBACK", "constructor", "record_structurer"]

FALLBACK: Any = object()
"""What a fast structurer answers for a record it does not take: the caller uses the general path."""

_MISSING = object()
_INT_MAX = 2**63 - 1
_NONE = type(None)


def _plain(cls: type) -> bool:
    """Whether setting the slots is all the class's ``__init__`` does (converters aside)."""
    if not attrs.has(cls) or "__slots__" not in cls.__dict__:
        return False
    if any(hasattr(cls, hook) for hook in ("__attrs_post_init__", "__attrs_pre_init__", "__attrs_init_subclass__")):
        return False
    slots: set[str] = set()
    for klass in cls.__mro__:
        slots.update(getattr(klass, "__slots__", ()))
    if any("hash" in slot for slot in slots):  # cache_hash keeps a slot of its own, reset by __init__
        return False
    for a in attrs.fields(cls):
        if a.validator is not None or a.name not in slots:
            return False
        default = a.default
        if isinstance(default, attrs.Factory) and default.takes_self:  # type: ignore[arg-type]
            return False
    return True


def _setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None and hasattr(descriptor, "__set__"):
            return descriptor.__set__  # type: ignore[no-any-return]
    raise TypeError(f"{cls.__name__}.{name} is not a slot")


def _kind(typ: Any) -> str | None:
    """The exact-type check a field's value may pass untouched, or ``None`` (the hook is called)."""
    if typ is Any:
        return "any"
    for exact, name in ((str, "str"), (int, "int"), (bool, "bool")):
        if typ is exact:
            return name
        if typ == exact | None:
            return name + "?"
    return None


def _optional_record(typ: Any) -> type | None:
    """``X`` for ``X | None`` where X is an attrs class, else ``None``."""
    args: tuple[Any, ...] = tuple(getattr(typ, "__args__", ()))
    if len(args) == 2 and _NONE in args and typing.get_origin(typ) in (types.UnionType, typing.Union):
        inner = args[0] if args[1] is _NONE else args[1]
        if isinstance(inner, type) and attrs.has(inner):
            return inner
    return None


def constructor(cls: type) -> Callable[..., Any] | None:
    """``make(v0, v1, ...)`` equal to ``cls(**{field: value})`` for every field in order, or ``None`` when the
    class is not one the shortcut is exact for."""
    if not _plain(cls):
        return None
    fields = attrs.fields(cls)
    names = [f"v{i}" for i in range(len(fields))]
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    body = ["    o = new(cls)"]
    for i, a in enumerate(fields):
        namespace[f"set{i}"] = _setter(cls, a.name)
        value = names[i]
        if a.converter is not None:
            namespace[f"conv{i}"] = a.converter
            value = f"conv{i}({value})"
        body.append(f"    set{i}(o, {value})")
    body.append("    return o")
    source = f"def make({', '.join(names)}):\n" + "\n".join(body) + "\n"
    exec(compile(source, f"<fast constructor {cls.__qualname__}>", "exec"), namespace)
    return namespace["make"]  # type: ignore[no-any-return]


def record_structurer(
    cls: type,
    *,
    hook_for: Callable[[Any], Callable[[Any, Any], Any]],
    keys: Mapping[str, str],
    checks: list[tuple[str, str, Callable[[Any], None]]],
    extra: str | None,
    known: frozenset[str],
) -> Callable[[Any], Any] | None:
    """The fast structurer of wire record ``cls`` (see the module docstring), or ``None`` when ``cls`` is not
    one it is exact for (aliases, validators, a post-init hook: the general path alone is used).

    Args:
        hook_for: the converter's structure hook of a field type.
        keys: field name -> JSON key, for every field but ``extra``.
        checks: ``(field, key, check)`` run on decoded values, as the general path runs them.
        extra: the name of the field keeping unknown keys, if the class has one.
        known: every JSON key the record reads.
    """
    if not _plain(cls):
        return None
    fields = attrs.fields(cls)
    namespace: dict[str, Any] = {
        "FALLBACK": FALLBACK,
        "MISSING": _MISSING,
        "INT_MAX": _INT_MAX,
        "new": object.__new__,
        "cls": cls,
        "known": known,
        "dict": dict,
        "str": str,
        "int": int,
        "bool": bool,
    }
    lines = [
        "def fast(o):",
        "    if o.__class__ is not dict:",
        "        return FALLBACK",
        "    get = o.get",
        "    try:",
    ]
    sets: list[tuple[int, str | None]] = []
    for i, a in enumerate(fields):
        namespace[f"set{i}"] = _setter(cls, a.name)
        if a.name == extra:
            factory = a.default.factory if isinstance(a.default, attrs.Factory) else None  # type: ignore[arg-type]
            if factory is None:
                return None
            namespace[f"extra_factory{i}"] = factory
            sets.append((i, None))
            continue
        namespace[f"k{i}"] = keys[a.name]
        default = a.default
        kind = _kind(a.type)
        hook = hook_for(a.type) if kind is None else None
        iso = getattr(hook, "fast_iso", None)
        none_is_none = kind == "any" or (kind or "").endswith("?") or iso is not None
        if kind is None and iso is None and _optional_record(a.type) is not None:
            none_is_none = True
        if default is None and none_is_none:
            # An absent key and an explicit null give the same ``None``: no sentinel needed.
            lines.append(f"        v{i} = get(k{i})")
            missing = ""
        elif default is attrs.NOTHING:
            lines.append(f"        v{i} = get(k{i}, MISSING)")
            lines.append(f"        if v{i} is MISSING:\n            return FALLBACK")
            missing = None
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            lines.append(f"        v{i} = get(k{i}, MISSING)")
            namespace[f"factory{i}"] = default.factory
            missing = f"factory{i}()"
        else:
            lines.append(f"        v{i} = get(k{i}, MISSING)")
            namespace[f"default{i}"] = default
            missing = f"default{i}"
        if iso is not None:
            # An optional timestamp: an ISO string whose year is in range is what the hook would return.
            namespace.update({f"hook{i}": hook, f"type{i}": a.type, "fromiso": dt.datetime.fromisoformat})
            namespace.update({"first_year": iso[0], "end_year": iso[1]})
            check = (
                f"if v{i} is not None:\n"
                f"                p = None\n"
                f"                if v{i}.__class__ is str and len(v{i}) <= 64:\n"
                f"                    try:\n"
                f"                        p = fromiso(v{i})\n"
                f"                    except ValueError:\n"
                f"                        pass\n"
                f"                if p is not None and first_year <= p.year < end_year:\n"
                f"                    v{i} = p\n"
                f"                else:\n"
                f"                    v{i} = hook{i}(v{i}, type{i})"
            )
        elif kind is None and _optional_record(a.type) is not None:
            # ``X | None`` of a record: what cattrs' optional handler does (``None``, or X's own hook).
            inner = _optional_record(a.type)
            namespace[f"hook{i}"] = hook_for(inner)
            namespace[f"type{i}"] = inner
            check = f"if v{i} is not None:\n                v{i} = hook{i}(v{i}, type{i})"
        elif kind is None:
            namespace[f"hook{i}"] = hook
            namespace[f"type{i}"] = a.type
            check = f"v{i} = hook{i}(v{i}, type{i})"
        elif kind == "any":
            check = "pass"
        else:
            base = kind.rstrip("?")
            test = f"v{i}.__class__ is not {base}"
            if base == "int":
                test = f"({test} or not -INT_MAX <= v{i} <= INT_MAX)"
            if kind.endswith("?"):
                test = f"{test} and v{i} is not None"  # the usual value (not None) decided by one test
            check = f"if {test}:\n                return FALLBACK"
        if missing is None or missing == "":
            lines.append(f"        {check.replace(chr(10) + '    ', chr(10))}")
        else:
            lines.append(
                f"        if v{i} is MISSING:\n            v{i} = {missing}\n        else:\n            {check}"
            )
        if a.converter is not None:
            namespace[f"conv{i}"] = a.converter
            lines.append(f"        v{i} = conv{i}(v{i})")
        sets.append((i, f"v{i}"))
    lines.append("    except Exception:\n        return FALLBACK")
    if extra is not None:
        # Unknown keys are rare: a subset test allocates nothing, the difference is taken only when one is there.
        lines.append("    if known_superset(o):")
        lines.append(f"        kept = extra_factory{next(i for i, a in enumerate(fields) if a.name == extra)}()")
        lines.append("    else:")
        lines.append("        kept = {k: o[k] for k in o.keys() - known}")
        namespace["known_superset"] = known.issuperset
    lines.append("    r = new(cls)")
    for i, value in sets:
        lines.append(f"    set{i}(r, {value if value is not None else 'kept'})")
    for j, (name, _, check_fn) in enumerate(checks):
        namespace[f"check{j}"] = check_fn
        index = next(i for i, a in enumerate(fields) if a.name == name)
        lines.append(f"    if v{index} is not None:")
        lines.append(
            f"        try:\n            check{j}(v{index})\n        except Exception:\n            return FALLBACK"
        )
    lines.append("    return r")
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<fast structure {cls.__qualname__}>", "exec"), namespace)
    return namespace["fast"]  # type: ignore[no-any-return]


def aware(value: dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    """A naive timestamp read in ``tz`` (an aware one as it is): ``combine`` builds it in a fraction of
    ``replace(tzinfo=)``'s time, with the same value and fold."""
    if value is None or value.tzinfo is not None:
        return value
    return dt.datetime.combine(value, value.time(), tz)
