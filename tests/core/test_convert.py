"""The shared converter: strict scalars, unknown keys kept, failures as DecodingError."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

from backupbridge import DecodingError
from backupbridge.convert import decode, make_converter, parse_timestamp, pascal_case, with_timezone


@attrs.frozen(kw_only=True)
class Thing:
    thing_id: str
    count: int | None = None
    active: bool | None = None
    seen_at: dt.datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


conv = make_converter()


def test_ids_that_arrive_as_numbers_become_strings() -> None:
    assert conv.structure({"thing_id": 15020}, Thing).thing_id == "15020"
    assert conv.structure({"thing_id": "15020"}, Thing).thing_id == "15020"


def test_unknown_keys_are_kept_in_extra_and_written_back() -> None:
    thing = conv.structure({"thing_id": "1", "surprise": {"x": 1}}, Thing)
    assert thing.extra == {"surprise": {"x": 1}}
    assert conv.unstructure(thing)["surprise"] == {"x": 1}


@pytest.mark.parametrize(
    "payload",
    [
        {"thing_id": {"nested": 1}},
        {"thing_id": "1", "count": "many"},
        {"thing_id": "1", "active": "yes"},
        {"thing_id": "1", "count": True},
        {"thing_id": "1", "seen_at": "yesterday"},
        {},
        [],
        "text",
    ],
)
def test_wrong_shapes_raise_decoding_error(payload: object) -> None:
    with pytest.raises(DecodingError) as info:
        decode(conv, Thing, payload, endpoint="GET /things", vendor="v")
    assert info.value.endpoint == "GET /things"
    assert info.value.vendor == "v"


def test_booleans_are_strict() -> None:
    assert conv.structure({"thing_id": "1", "active": "false"}, Thing).active is False
    assert conv.structure({"thing_id": "1", "active": False}, Thing).active is False


def test_timestamps_with_and_without_zone() -> None:
    naive = parse_timestamp("2025-06-11T11:12:58.000")
    assert naive.tzinfo is None
    assert parse_timestamp("2025-06-11T11:12:58Z").tzinfo == dt.UTC
    berlin = with_timezone(naive, dt.timezone(dt.timedelta(hours=2)))
    assert berlin is not None and berlin.utcoffset() == dt.timedelta(hours=2)


def test_pascal_case_renames() -> None:
    @attrs.frozen(kw_only=True)
    class Device:
        device_id: int
        extra: dict[str, Any] = attrs.field(factory=dict)

    pconv = make_converter(pascal_case)
    device = pconv.structure({"DeviceId": 3, "IsInactive": None}, Device)
    assert device.device_id == 3
    assert device.extra == {"IsInactive": None}
