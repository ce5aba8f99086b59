"""The contract over each transport a configured account can choose (``transport = "httpx" | "aiohttp"``).

Every vendor's simulator is served on loopback and read through ``AsyncBridge`` as accounts from a config
file are: the same records, the same typed errors, whichever transport carries them.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import backupbridge
from backupbridge import AuthenticationError, Capability, ConfigurationError, NotFoundError
from backupbridge.bridge import AsyncBridge, BridgeResult
from backupbridge.config import AccountConfig, load_accounts
from backupbridge.sandbox import SimulatorOptions, make_simulator
from backupbridge.sandbox.server import serve
from tests.contract.test_contract import LISTINGS, VENDORS

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
        assert all(isinstance(r, kind) and r.account == "contract" for r in result.records)
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
    from tests.contract.test_contract import _unknown_like

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
