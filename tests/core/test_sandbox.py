"""The shared sandbox knobs: latency and every fault kind, seen through a real connection."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from backupbridge import BackupBridgeError, DecodingError, RateLimitedError, ServerError, TransportError
from backupbridge.http import RetryPolicy
from backupbridge.sandbox import FaultKind, Faults, SimulatorOptions, connect_sandbox, connect_sandbox_async
from backupbridge_idrive360 import IDrive360Simulator

ONE_TRY = RetryPolicy(attempts=1)

EXPECTED: dict[FaultKind, type[BackupBridgeError]] = {
    FaultKind.SERVER_ERROR: ServerError,
    FaultKind.RATE_LIMIT: RateLimitedError,
    FaultKind.RATE_LIMIT_DATE: RateLimitedError,
    FaultKind.CONNECT_ERROR: TransportError,
    FaultKind.RESET_AFTER_APPLY: TransportError,
    FaultKind.TIMEOUT: TransportError,
    FaultKind.TRUNCATED: DecodingError,
    FaultKind.MALFORMED_JSON: DecodingError,
    FaultKind.HTML_ERROR: ServerError,
    FaultKind.EMPTY_BODY: DecodingError,
    FaultKind.ECHO_REQUEST: DecodingError,
}


DATA_FAULTS = (FaultKind.UNKNOWN_ENUM, FaultKind.EXTRA_FIELDS, FaultKind.MISSING_FIELDS, FaultKind.LARGE_PAYLOAD)


@pytest.mark.parametrize("kind", [k for k in FaultKind if k not in DATA_FAULTS])
def test_every_fault_kind_becomes_a_typed_error(kind: FaultKind) -> None:
    conn = connect_sandbox("idrive360", faults=Faults(rate=1.0, kinds=(kind,)), retry=ONE_TRY, account="acct-7")
    with pytest.raises(EXPECTED[kind]) as info:
        list(conn.list_devices())
    assert (info.value.vendor, info.value.account) == ("idrive360", "acct-7")
    assert conn.transport.faults_injected[kind] == 1


@pytest.mark.parametrize(
    "kind", [FaultKind.SERVER_ERROR, FaultKind.RATE_LIMIT, FaultKind.CONNECT_ERROR, FaultKind.TIMEOUT]
)
def test_reads_recover_from_transient_faults(kind: FaultKind) -> None:
    sim = IDrive360Simulator(SimulatorOptions(size=10))
    conn = connect_sandbox("idrive360", simulator=sim, faults=Faults(rate=0.5, kinds=(kind,), seed=2))
    for _ in range(5):
        assert len(list(conn.list_devices())) == 10


def test_reset_after_apply_really_applied_the_write() -> None:
    sim = IDrive360Simulator(SimulatorOptions(size=5))
    conn = connect_sandbox("idrive360", simulator=sim, faults=Faults(rate=1.0, kinds=(FaultKind.RESET_AFTER_APPLY,)))
    before = len(sim.companies)
    with pytest.raises(TransportError) as info:
        conn.vendor.create_company("Applied Anyway")
    assert info.value.may_have_been_applied is None
    assert len(sim.companies) == before + 1  # the server applied it; the client did not retry the write
    assert conn.transport.requests == 1


def test_fault_sequence_is_deterministic() -> None:
    def kinds(seed: int) -> list[FaultKind]:
        conn = connect_sandbox("idrive360", size=5, faults=Faults(rate=0.5, seed=seed), retry=ONE_TRY)
        seen = []
        for _ in range(20):
            try:
                conn.vendor.company_summary()
            except Exception as exc:
                seen.append(type(exc))
        return seen  # type: ignore[return-value]

    assert kinds(3) == kinds(3)


def test_latency_is_applied_sync_and_async() -> None:
    conn = connect_sandbox("idrive360", size=3, latency=0.02)
    start = time.perf_counter()
    conn.vendor.company_summary()
    assert time.perf_counter() - start >= 0.02

    async def main() -> int:
        async with connect_sandbox_async("idrive360", size=3, latency=0.02) as aconn:
            transport = aconn.transport  # type: ignore[attr-defined]
            inner, peak, now = transport.handle_async_request, [0], [0]

            async def counted(request: Any) -> Any:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
                try:
                    return await inner(request)
                finally:
                    now[0] -= 1

            transport.handle_async_request = counted
            await asyncio.gather(*(aconn.vendor.company_summary() for _ in range(5)))
            return peak[0]

    assert asyncio.run(main()) == 5  # the async latency sleeps without blocking: all five overlap


def test_same_seed_same_data() -> None:
    a = [d.name for d in connect_sandbox("idrive360", seed=5, size=20).list_devices()]
    b = [d.name for d in connect_sandbox("idrive360", seed=5, size=20).list_devices()]
    c = [d.name for d in connect_sandbox("idrive360", seed=6, size=20).list_devices()]
    assert a == b != c


@pytest.mark.parametrize("vendor", ["idrive360", "cleverfox", "managedbackup", "vprotect"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seeded_runs_never_happen_after_the_simulators_clock(vendor: str, seed: int) -> None:
    """A report at the simulator's "now" must not show a backup that ended (or started) in its future."""
    with connect_sandbox(vendor, seed=seed, size=40) as conn:
        now = conn.now()
        jobs = list(conn.list_jobs())
    assert jobs
    late = [j for j in jobs if any(t is not None and t > now for t in (j.started_at, j.finished_at))]
    assert late == []


@pytest.mark.parametrize("vendor", ["idrive360", "cleverfox", "managedbackup", "vprotect"])
@pytest.mark.parametrize("kind", DATA_FAULTS)
def test_hostile_data_loses_no_record(vendor: str, kind: FaultKind) -> None:
    """Unknown enum values, extra and missing fields, huge answers: every device still arrives, none crashes."""
    from backupbridge import DeviceStatus, JobStatus
    from backupbridge.sandbox.soak import ground_truth

    conn = connect_sandbox(vendor, size=12, faults=Faults(rate=1.0, kinds=(kind,)), retry=ONE_TRY)
    devices = list(conn.list_devices())
    assert {d.id for d in devices} == ground_truth(vendor, conn.simulator)
    jobs = list(conn.list_jobs())
    assert jobs
    if kind is FaultKind.UNKNOWN_ENUM:
        assert all(j.status is JobStatus.UNKNOWN for j in jobs if j.vendor_status == "FROM_THE_FUTURE")
        assert any(j.vendor_status in ("FROM_THE_FUTURE", "97") for j in jobs) or any(
            d.status is DeviceStatus.UNKNOWN for d in devices
        )
    if kind is FaultKind.EXTRA_FIELDS:
        assert all("x_added_later" in d.raw for d in devices)
