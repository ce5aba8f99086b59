"""The generated fast path from JSON to records gives the same records and the same errors as the cattrs
path, for every vendor, over randomized payloads (the simulators' real answers, mutated)."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backupbridge
from backupbridge import BackupBridgeError, Capability, RetryPolicy, convert
from backupbridge._fastpath import constructor
from backupbridge.models import Device, Job, Plan
from backupbridge.sandbox import SimulatorOptions, SimulatorTransport, make_simulator

VENDORS = [v.name for v in backupbridge.list_vendors() if v.simulator is not None]

JUNK: list[Any] = [
    None,
    "",
    " ",
    "abc",
    "2026-11-02T08:55:00",
    "2026-11-02T08:55:00Z",
    "2026-13-45",
    "1899-01-01T00:00:00",
    "0001-01-01T00:00:00",
    0,
    -1,
    1,
    7,
    2**63,
    -(2**63),
    2**64,
    1.5,
    12.0,
    -0.0,
    1e300,
    True,
    False,
    [],
    {},
    ["x"],
    [1, 2],
    {"a": 1},
    "12",
    "12.0",
    "true",
    "false",
    "Success",
    "In Progress",
    "FAILED",
    "Windows",
]


def _mutate(value: Any, rng: random.Random, rate: float) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            draw = rng.random()
            if draw < rate / 3:
                continue  # the key left out
            if draw < rate:
                out[key] = rng.choice(JUNK)
            else:
                out[key] = _mutate(item, rng, rate)
        if rng.random() < rate:
            out[f"Unknown{rng.randrange(100)}"] = rng.choice(JUNK)
        return out
    if isinstance(value, list):
        return [_mutate(item, rng, rate) for item in value]
    return value


class Mutating(httpx.BaseTransport):
    """The simulator's answers to reads, each JSON body mutated (deterministically from ``seed``)."""

    def __init__(self, inner: httpx.BaseTransport, seed: int, rate: float) -> None:
        self.inner, self.rng, self.rate = inner, random.Random(seed), rate

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        content = response.read()
        if request.method != "GET" or not 200 <= response.status_code < 300 or not content:
            return response
        try:
            body = json.loads(content)
        except ValueError:
            return response
        mutated = json.dumps(_mutate(body, self.rng, self.rate)).encode()
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=mutated)


LISTINGS = [
    (Capability.LIST_COMPANIES, "list_companies"),
    (Capability.LIST_DEVICES, "list_devices"),
    (Capability.LIST_PLANS, "list_plans"),
    (Capability.LIST_JOBS, "list_jobs"),
]


def _shown(record: Any) -> tuple[Any, ...]:
    """Everything a record carries, eq=False fields (raw, extra) included."""
    return (type(record), repr(record), tuple(getattr(record, a.name) for a in attrs.fields(type(record))))


def _listings(vendor: str, seed: int, rate: float, fast: bool, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setattr(convert, "_FAST", fast)
    sim: Any = make_simulator(vendor, SimulatorOptions(seed=seed % 7, size=6))
    transport = Mutating(SimulatorTransport(sim.handle), seed, rate)
    outcomes: list[Any] = []
    with backupbridge.connect(
        vendor, transport=transport, clock=sim.now, retry=RetryPolicy(attempts=1), **sim.credentials
    ) as conn:
        for capability, name in LISTINGS:
            if capability not in conn.capabilities:
                continue
            try:
                outcomes.append((name, [_shown(r) for r in getattr(conn, name)()]))
            except BackupBridgeError as exc:
                outcomes.append((name, type(exc).__name__, str(exc), getattr(exc, "excerpt", None)))
    return outcomes


@pytest.mark.parametrize("vendor", VENDORS)
@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**31), rate=st.sampled_from([0.0, 0.02, 0.1, 0.3]))
def test_the_fast_path_gives_the_same_records_and_errors(
    vendor: str, seed: int, rate: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _listings(vendor, seed, rate, True, monkeypatch)
    general = _listings(vendor, seed, rate, False, monkeypatch)
    assert fast == general


_COUNT_TAKEN = """
import sys
from backupbridge import _fastpath
real, taken = _fastpath.record_structurer, []

def counting(*args, **kwargs):
    fast = real(*args, **kwargs)
    if fast is None:
        return None
    def spy(data):
        result = fast(data)
        taken.append(result is not _fastpath.FALLBACK)
        return result
    return spy

_fastpath.record_structurer = counting
import backupbridge
from backupbridge.sandbox import connect_sandbox
with connect_sandbox(sys.argv[1], seed=1, size=20) as conn:
    for name in ("list_companies", "list_devices", "list_plans", "list_jobs"):
        try:
            list(getattr(conn, name)())
        except backupbridge.UnsupportedOperationError:
            pass
print(sum(taken), len(taken))
"""


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_simulators_answers_take_the_fast_path(vendor: str) -> None:
    """Not vacuous: the vendors' real answers are decoded by the fast path, not handed over (a fresh
    process, so every hook is built with the counting spy in place)."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _COUNT_TAKEN, vendor], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    taken, total = map(int, run.stdout.split())
    assert total > 0 and taken / total >= 0.9, (taken, total)


def test_a_record_the_fast_path_cannot_take_falls_back_with_the_same_error() -> None:
    @attrs.frozen(kw_only=True)
    class Thing:
        id: str
        count: int | None = None
        when: dt.datetime | None = None
        extra: dict[str, Any] = attrs.field(factory=dict, eq=False)

    converter = convert.make_converter(lenient_unused=True)
    hook = converter.get_structure_hook(Thing)
    assert hook({"id": "a", "count": 3, "x": 1}, Thing).extra == {"x": 1}
    for data in ({"count": 3}, {"id": {"no": 1}}, {"id": "a", "when": "not a time"}, {"id": "a", "count": 2**70}):
        errors = []
        for fast in (True, False):
            convert._FAST = fast
            try:
                errors.append(("ok", repr(hook(data, Thing))))
            except Exception as exc:
                errors.append((type(exc).__name__, str(exc)))
            finally:
                convert._FAST = True
        assert errors[0] == errors[1], data


@pytest.mark.parametrize("cls", [Device, Plan, Job])
def test_the_positional_constructor_equals_the_keyword_one(cls: type) -> None:
    make = constructor(cls)
    assert make is not None
    fields = attrs.fields(cls)
    values: dict[str, Any] = {}
    for index, a in enumerate(fields):
        if a.default is attrs.NOTHING:
            values[a.name] = f"v{index}"
        elif isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
            values[a.name] = a.default.factory()
        else:
            values[a.name] = a.default
    if "tags" in values:
        values["tags"] = ["a", "b"]  # a list: the converter makes it a tuple
    built = make(*(values[a.name] for a in fields))
    expected = cls(**values)
    assert (
        built == expected and repr(built) == repr(expected) and built.tags == ("a", "b") if "tags" in values else True
    )
    assert hash(built) == hash(expected)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.id = "x"


def test_classes_the_shortcuts_are_not_exact_for_are_refused() -> None:
    @attrs.frozen
    class Validated:
        a: int = attrs.field(validator=attrs.validators.gt(0))

    @attrs.frozen
    class PostInit:
        a: int

        def __attrs_post_init__(self) -> None:
            pass

    @attrs.define(slots=False)
    class NoSlots:
        a: int

    for cls in (Validated, PostInit, NoSlots):
        assert constructor(cls) is None


def test_status_lookups_are_cached_with_the_same_answers() -> None:
    from backupbridge_idrive360 import mapping

    def uncached(table: Any, value: str | None, default: Any) -> Any:
        if value is None:
            return default
        found = table.get(value)
        if found is None:
            found = table.get(value.strip().lower(), table.get(value.strip(), default))
        return found

    spellings = [None, "", " ", "Success", "success", " SUCCESS ", "In Progress", "in progress", "Failed", "x"]
    spellings += [key for table in (mapping.BACKUP_STATUS, mapping.DEVICE_STATUS) for key in table]
    for _ in range(2):  # the second time from the cache
        for table in (mapping.BACKUP_STATUS, mapping.DEVICE_STATUS, mapping.OS_FAMILY):
            for value in spellings:
                assert mapping._lookup(table, value, "default") == uncached(table, value, "default"), value
    for index in range(5000):
        mapping._lookup(mapping.BACKUP_STATUS, f"Weird {index}", None)
    assert len(mapping._SPELLINGS) <= 4096
