"""Fan-out across accounts and vendors: every record, failures isolated and reported, bounds respected."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

import backupbridge
from backupbridge import AuthenticationError
from backupbridge.bridge import AsyncBridge, Bridge, LimitedTransport
from backupbridge.config import AccountConfig
from backupbridge.sandbox import connect_sandbox, sandbox_tenants

VENDORS = ["idrive360", "cleverfox", "managedbackup", "vprotect"]


def test_bridge_lists_every_account_of_every_vendor() -> None:
    tenants = sandbox_tenants(accounts_per_vendor=2, size=12)
    expected = sum(len(list(connect_sandbox(v, simulator=sim).list_devices())) for v, _, sim in tenants)
    with Bridge.sandbox(accounts_per_vendor=2, size=12) as bridge:
        result = bridge.list_devices()
    assert result.ok and len(result.records) == expected
    assert {(d.vendor, d.account) for d in result.records} == {(v, a) for v, a, _ in tenants}
    assert len({(d.vendor, d.account, d.id) for d in result.records}) == expected


def test_one_failing_account_does_not_stop_the_others() -> None:
    good = connect_sandbox("cleverfox", size=8, account="good")
    from backupbridge.sandbox import SimulatorTransport
    from backupbridge_cleverfox import CleverFoxSimulator

    bad = backupbridge.connect(
        "cleverfox", api_key="revoked-key-000", account="bad", transport=SimulatorTransport(CleverFoxSimulator().handle)
    )
    unconfigured = AccountConfig(name="nokey", vendor="idrive360", credentials={})
    seen: list[tuple[int, int, str]] = []
    with Bridge(
        [good, bad], accounts=[unconfigured], progress=lambda done, total, account: seen.append((done, total, account))
    ) as bridge:
        result = bridge.list_devices()
    assert {d.account for d in result.records} == {"good"} and len(result.records) == 8
    failures = {f.account: f for f in result.failures}
    assert set(failures) == {"bad", "nokey"}
    assert isinstance(failures["bad"].error, AuthenticationError)
    assert (failures["bad"].vendor, failures["bad"].operation) == ("cleverfox", "list_devices")
    assert "IDRIVE360_API_KEY" in failures["nokey"].message
    assert sorted(done for done, _, _ in seen) == [1, 2, 3] and {total for _, total, _ in seen} == {3}
    # A result's repr counts its records rather than printing them, and still names the failures.
    text = repr(result)
    assert text.startswith("BridgeResult(records=<8 records>, failures=[") and "nokey" in text
    assert all(d.name not in text for d in result.records) and len(text) < 2000


def test_bridge_reprs_name_the_accounts_and_never_a_key() -> None:
    key = "repr-secret-key-314159"
    bridge = Bridge(
        [backupbridge.connect("cleverfox", api_key=key, account="office")],
        accounts=[AccountConfig(name="home", vendor="idrive360", credentials={"api_key": backupbridge.Secret(key)})],
        max_workers=3,
    )
    assert repr(bridge) == "Bridge(accounts=['cleverfox/office', 'idrive360/home'], max_workers=3)"
    abridge = AsyncBridge(
        accounts=[AccountConfig(name="home", vendor="idrive360", credentials={"api_key": key})], per_account=2
    )
    assert repr(abridge) == "AsyncBridge(accounts=['idrive360/home'], concurrency=32, per_account=2)"
    assert key not in repr(bridge) + repr(abridge)


def test_snapshot_repr_counts_instead_of_dumping() -> None:
    with Bridge.sandbox(["cleverfox"], size=6) as bridge:
        snap = bridge.snapshot()
    assert repr(snap) == (
        f"Snapshot(companies=<{len(snap.companies)}>, devices=<{len(snap.devices)}>, plans=<{len(snap.plans)}>, "
        f"jobs=<{len(snap.jobs)}>, failures=[])"
    )
    assert len(snap.devices) == 6


def test_snapshot_carries_clocks_and_zones() -> None:
    with Bridge.sandbox(VENDORS, size=6) as bridge:
        snap = bridge.snapshot()
    assert snap.failures == []
    assert set(snap.clocks) == {(v, f"sandbox-{v}") for v in VENDORS}
    assert {j.vendor for j in snap.jobs} == set(VENDORS) and snap.plans and snap.companies


def test_async_bridge_matches_the_sync_one() -> None:
    sync = Bridge.sandbox(size=10, seed=3).snapshot()
    asynchronous = asyncio.run(AsyncBridge.sandbox(size=10, seed=3).snapshot())
    key = lambda r: (r.vendor, r.account, r.id)  # noqa: E731
    assert sorted(map(key, sync.devices)) == sorted(map(key, asynchronous.devices))
    assert sorted(map(key, sync.jobs)) == sorted(map(key, asynchronous.jobs))


def test_async_failure_isolation() -> None:
    bridge = AsyncBridge(
        accounts=[AccountConfig(name="nokey", vendor="cleverfox", credentials={})],
        openers=AsyncBridge.sandbox(["idrive360"], size=5)._slots,
    )
    result = asyncio.run(bridge.list_devices())
    assert len(result.records) == 5 and [f.account for f in result.failures] == ["nokey"]


class Counting(httpx.AsyncBaseTransport):
    """Counts requests in flight (the peak) and answers after a short sleep."""

    def __init__(self, inner: httpx.AsyncBaseTransport, tally: dict[str, int]) -> None:
        self.inner, self.tally = inner, tally

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.tally["now"] += 1
        self.tally["peak"] = max(self.tally["peak"], self.tally["now"])
        try:
            await asyncio.sleep(0.005)
            return await self.inner.handle_async_request(request)
        finally:
            self.tally["now"] -= 1


@pytest.mark.parametrize(("concurrency", "per_account"), [(3, 8), (16, 1)])
def test_async_bounds_overall_and_per_account(concurrency: int, per_account: int) -> None:
    tally = {"now": 0, "peak": 0}
    accounts: dict[str, dict[str, int]] = {}
    base = AsyncBridge.sandbox(["cleverfox", "vprotect"], accounts_per_vendor=3, size=30)
    openers = []
    for vendor, account, opener in base._slots:
        accounts[account] = {"now": 0, "peak": 0}

        def open_with(wrap: Any, opener: Any = opener, account: str = account) -> Any:
            # Both tallies sit inside the limiter, where requests are actually in flight.
            return opener(lambda inner: wrap(Counting(Counting(inner, accounts[account]), tally)))

        openers.append((vendor, account, open_with))
    bridge = AsyncBridge(openers=openers, concurrency=concurrency, per_account=per_account)
    result = asyncio.run(bridge.snapshot())
    assert not result.failures
    assert 1 < tally["peak"] <= concurrency
    assert max(a["peak"] for a in accounts.values()) <= per_account


def test_limited_transport_serialises_an_account() -> None:
    async def main() -> int:
        overall, one = asyncio.Semaphore(10), asyncio.Semaphore(1)
        tally = {"now": 0, "peak": 0}
        inner = Counting(httpx.MockTransport(lambda r: httpx.Response(200)), tally)
        transport = LimitedTransport(inner, overall, one)
        await asyncio.gather(
            *(transport.handle_async_request(httpx.Request("GET", "https://x.test/")) for _ in range(6))
        )
        return tally["peak"]

    assert asyncio.run(main()) == 1


def test_sync_bridge_runs_accounts_in_parallel() -> None:
    active = {"now": 0, "peak": 0}
    lock = threading.Lock()

    class Slow(httpx.BaseTransport):
        def __init__(self, inner: httpx.BaseTransport) -> None:
            self.inner = inner

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            import time

            with lock:
                active["now"] += 1
                active["peak"] = max(active["peak"], active["now"])
            time.sleep(0.02)
            with lock:
                active["now"] -= 1
            return self.inner.handle_request(request)

    conns = []
    for index in range(6):
        conn = connect_sandbox("idrive360", size=3, account=f"t{index}")
        conn._session.client._transport = Slow(conn._session.client._transport)
        conns.append(conn)
    Bridge(conns, max_workers=3).list_devices()
    assert 2 <= active["peak"] <= 3  # accounts overlap, never more than max_workers at once
