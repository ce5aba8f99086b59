"""The shortcuts in ``convert`` give exactly what the general code gave: a vendor integer code looked up in the
enum's value table (the same member, UNKNOWN for a new code, the same errors), and ``timedelta_of`` with its
limits kept per unit (the same durations and the same errors)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backupbridge import convert
from backupbridge.convert import MAX_DURATION, VendorIntEnum, make_converter, timedelta_of


class Code(VendorIntEnum):
    SUCCESS = 0
    FAILED = 1
    RUNNING = 7
    GLOBAL_POOL = 12


def reference_enum(value: object, typ: type[VendorIntEnum]) -> VendorIntEnum:
    """The hook as it was before the value-table lookup."""
    if isinstance(value, bool):
        raise TypeError("expected an integer code, got a boolean")
    if isinstance(value, float | str):
        if isinstance(value, str):
            wanted = convert._normalized(value)
            for name, member in typ.__members__.items():
                if convert._normalized(name) == wanted:
                    return member
        value = convert._structure_int(value, int)
    if not isinstance(value, int):
        raise TypeError(f"expected an integer code, got {type(value).__name__}")
    return typ(convert._structure_int(value, int))


def reference_timedelta(amount: float, unit: str = "seconds") -> dt.timedelta:
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise TypeError(f"expected a number of {unit}, got {type(amount).__name__}")
    if amount != amount or amount < 0:
        raise ValueError(f"not a duration: {amount!r:.30}")
    limit = MAX_DURATION / dt.timedelta(**{unit: 1})
    if amount > limit:
        raise ValueError(f"duration out of range: {amount!r:.30} {unit}")
    return dt.timedelta(**{unit: amount})


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        result = fn(*args)
    except Exception as exc:
        return ("error", (type(exc), str(exc)))
    if isinstance(result, VendorIntEnum):
        return ("member", (type(result), result.name, int(result), result.known))
    return ("value", result)


CODES = (
    st.integers(min_value=-20, max_value=20)
    | st.sampled_from([2**63 - 1, 2**63, -(2**63), 2**80])
    | st.booleans()
    | st.floats(allow_nan=True)
    | st.sampled_from(["Success", "global_pool", "GLOBALPOOL", "7", "7.0", " 1 ", "x", "", "1e3"])
    | st.none()
    | st.sampled_from([Code.FAILED, [1], {"a": 1}])
)


@settings(max_examples=600, deadline=None)
@given(CODES)
def test_vendor_codes_as_before(value: Any) -> None:
    assert outcome(convert._structure_vendor_int_enum, value, Code) == outcome(reference_enum, value, Code)


def test_the_converter_uses_the_hook_for_codes() -> None:
    conv = make_converter()
    assert conv.structure(7, Code) is Code.RUNNING
    unknown = conv.structure(9, Code)
    assert (unknown.name, int(unknown), unknown.known) == ("UNKNOWN", 9, False)
    with pytest.raises(TypeError):
        conv.structure(True, Code)


UNITS = st.sampled_from(["seconds", "minutes", "milliseconds", "hours", "days", "weeks", "microseconds", "fortnights"])
AMOUNTS = (
    st.integers(min_value=-5, max_value=10**13)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, 0.0, -0.0, 3155760000, 3155760000.0001, 52596000, 52596000.5, 36525, 36526, 5218])
    | st.booleans()
    | st.sampled_from(["5", None])
)


@settings(max_examples=600, deadline=None)
@given(AMOUNTS, UNITS)
def test_durations_as_before(amount: Any, unit: str) -> None:
    assert outcome(timedelta_of, amount, unit) == outcome(reference_timedelta, amount, unit)
