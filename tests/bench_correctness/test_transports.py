"""The contract over each transport a configured account can choose (``transport = "httpx" | "aiohttp"``).

Every vendor's simulator is served on loopback. The shipped contract suite (``VendorContract``) runs over
real HTTP through each transport (the async one driven from a loop thread, so the sync suite can use it),
and ``AsyncBridge`` reads the accounts as accounts from a config file are: the same records, the same typed
errors, whichever transport carries them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina

import backupbridge
from backupbridge import AuthenticationError, Capability, ConfigurationError, NotFoundError
from backupbridge.bridge import AsyncBridge, BridgeResult
from backupbridge.config import AccountConfig, load_accounts
from backupbridge.sandbox import SimulatorOptions, make_simulator
from backupbridge.sandbox.server import serve
from backupbridge.testing import LISTINGS, VendorContract, _unknown_like

VENDORS = [v.name for v in backupbridge.list_vendors() if v.simulator is not None]

HAVE_AIOHTTP = importlib.util.find_spec("httpx_aiohttp") is not None
TRANSPORTS = [
    "httpx",
    pytest.param(
        "aiohttp",
        marks=pytest.mark.skipif(not HAVE_AIOHTTP, reason="the aiohttp extra is not installed (backupbridge[aiohttp])"),
    ),
]


class Served:
    def __init__(self, vendor: str) -> None:
        self.sim: Any = make_simulator(vendor, SimulatorOptions(seed=11, size=30))
        self.server = serve(self.sim)
        base_path = getattr(getattr(self.sim, "router", None), "base_path", "")
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}{base_path}"
        self.credentials = {k: v for k, v in self.sim.credentials.items() if k != "base_url"}
        self.vendor = vendor

    def account(self, transport: str, **credentials: Any) -> AccountConfig:
        return AccountConfig(
            name="contract",
            vendor=self.vendor,
            credentials={**self.credentials, **credentials},
            base_url=self.base_url,
            transport=transport,
        )


@pytest.fixture(params=VENDORS, scope="module")
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    found = Served(request.param)
    yield found
    found.server.shutdown()
    found.server.server_close()


def _listing(bridge: AsyncBridge, capability: Capability) -> BridgeResult[Any]:
    name = capability.value
    return asyncio.run(getattr(bridge, name)())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_listings_are_the_same_over_every_transport(
    served: Served, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    if transport == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        real = AiohttpTransport.handle_async_request

        async def counting(self: AiohttpTransport, request: Any) -> Any:
            sent.append(request.url.path)
            return await real(self, request)

        monkeypatch.setattr(AiohttpTransport, "handle_async_request", counting)
    for capability, _, kind in LISTINGS:
        if capability not in backupbridge.get_vendor(served.vendor).capabilities:
            continue
        reference = _listing(AsyncBridge(accounts=[served.account("httpx")]), capability)
        result = _listing(AsyncBridge(accounts=[served.account(transport)]), capability)
        assert reference.ok and result.ok, (reference.failures, result.failures)
        assert result.records, f"{served.vendor}: no {kind.__name__}"
        assert all(isinstance(r, kind) and getattr(r, "account", None) == "contract" for r in result.records)
        assert result.records == reference.records
    assert bool(sent) == (transport == "aiohttp")  # the configured transport carried the requests


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_refused_login_is_the_same_typed_error(served: Served, transport: str) -> None:
    secret = next(f.name for f in backupbridge.get_vendor(served.vendor).credentials if f.secret)
    wrong = served.account(transport, **{secret: "wrong-Secret-value-123"})
    result = asyncio.run(AsyncBridge(accounts=[wrong]).list_devices())
    assert not result.records and len(result.failures) == 1
    error = result.failures[0].error
    assert isinstance(error, AuthenticationError), repr(error)
    assert "wrong-Secret-value-123" not in str(error) + repr(error)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_not_found_is_the_same_typed_error(served: Served, transport: str) -> None:
    account = served.account(transport)
    bridge = AsyncBridge(accounts=[account])
    known = asyncio.run(bridge.list_devices()).records[0].id
    opener = bridge._slots[0][2]

    async def get() -> None:
        conn = opener(lambda inner: inner)
        try:
            await conn.get_device(_unknown_like(known))
        finally:
            await conn.aclose()

    if Capability.GET_DEVICE not in backupbridge.get_vendor(served.vendor).capabilities:
        pytest.skip(f"{served.vendor} has no get_device")
    with pytest.raises(NotFoundError):
        asyncio.run(get())


def test_the_transport_is_read_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[accounts.a]\nvendor = "idrive360"\ntransport = "aiohttp"\ncredentials = { api_key = "k-1234567890" }\n'
        '[accounts.b]\nvendor = "idrive360"\ncredentials = { api_key = "k-1234567890" }\n'
    )
    path.chmod(0o600)
    a, b = load_accounts(path)
    assert (a.transport, b.transport) == ("aiohttp", "httpx")
    assert "transport" not in a.connect_kwargs()
    path.write_text('[accounts.a]\nvendor = "idrive360"\ntransport = "curl"\n')
    with pytest.raises(ConfigurationError, match="transport must be one of httpx, aiohttp"):
        load_accounts(path)


def test_a_missing_aiohttp_extra_fails_the_account_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)  # as if not installed
    account = AccountConfig(
        name="a",
        vendor="idrive360",
        credentials={"api_key": "k-1234567890"},
        base_url="http://127.0.0.1:9",
        transport="aiohttp",
    )
    result = asyncio.run(AsyncBridge(accounts=[account]).list_devices())
    assert len(result.failures) == 1
    assert isinstance(result.failures[0].error, ConfigurationError)
    assert "backupbridge[aiohttp]" in str(result.failures[0].error)


class _SyncOverAsync(httpx.BaseTransport):
    """An async transport driven from a loop thread, so the sync contract suite can run over it."""

    def __init__(self, make: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.inner = make()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self.inner.handle_async_request(request)
            try:
                return response.status_code, response.headers.raw, await response.aread()
            finally:
                await response.aclose()

        status, headers, content = asyncio.run_coroutine_threadsafe(send(), self._loop).result()
        kept = [(k, v) for k, v in headers if k.lower() not in (b"content-encoding", b"transfer-encoding")]
        return httpx.Response(status, headers=kept, content=content, request=request)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.inner.aclose(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def _transport(kind: str) -> httpx.BaseTransport:
    if kind == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return _SyncOverAsync(lambda: AiohttpTransport(verify=False))
    return httpx.HTTPTransport(verify=False)  # plain http on loopback: no CA bundle to load per test


class TestContractOverTransports(VendorContract):
    """The shipped contract, every vendor, over real HTTP through each transport."""

    @pytest.fixture(params=VENDORS)
    def contract_vendor(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture(params=TRANSPORTS)
    def transport_kind(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def conn(
        self, contract_vendor: str, transport_kind: str, swappable: dict[str, tuple[Any, _Swappable]]
    ) -> Iterator[backupbridge.Connection]:
        sim: Any = make_simulator(contract_vendor, SimulatorOptions(seed=self.seed, size=self.size))
        server, front = swappable[contract_vendor]
        front.current = sim  # a fresh simulator for every check, as the in-process suite has
        base_path = getattr(getattr(sim, "router", None), "base_path", "")
        credentials = {k: v for k, v in sim.credentials.items() if k != "base_url"}
        with stamina.set_testing(True, attempts=100, cap=True):
            conn = backupbridge.connect(
                contract_vendor,
                base_url=f"http://127.0.0.1:{server.server_address[1]}{base_path}",
                transport=_transport(transport_kind),
                account=self.account,
                clock=sim.now,
                **credentials,
            )
            conn.simulator = sim  # type: ignore[attr-defined]  # as connect_sandbox sets it
            try:
                yield conn
            finally:
                conn.close()


class _Swappable:
    """One served port per vendor for the whole module, answering from the simulator of the current test
    (a server's shutdown waits up to half a second: one per test was most of the module's time)."""

    current: Any = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        return self.current.handle(request)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def swappable() -> Iterator[dict[str, tuple[Any, _Swappable]]]:
    fronts = {vendor: _Swappable() for vendor in VENDORS}
    servers = {vendor: (serve(front), front) for vendor, front in fronts.items()}  # type: ignore[arg-type]
    yield servers
    for server, _ in servers.values():
        server.shutdown()
        server.server_close()
