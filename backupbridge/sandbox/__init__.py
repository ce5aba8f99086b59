"""Simulator machinery shared by every vendor's simulator, and sandbox connections.

``connect_sandbox("idrive360", seed=7, size=200)`` returns a ``Connection`` to that vendor's offline
simulator, seeded with realistic data; ``latency`` and ``faults`` inject delays and failures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ..connection import AsyncConnection, Connection, connect, connect_async
from ..errors import ConfigurationError
from ..http import RetryPolicy
from ..plugins import get_vendor, list_vendors
from ..vendors import Simulator
from .app import Router, SimRequest, json_response, raw_json_response
from .clock import SimClock
from .faults import FaultKind, Faults, SimulatorTransport
from .options import DEFAULT_NOW, SimulatorOptions
from .seed import Seeder

__all__ = [
    "DEFAULT_NOW",
    "AsyncSandboxConnection",
    "FaultKind",
    "Faults",
    "Router",
    "SandboxConnection",
    "Seeder",
    "SimClock",
    "SimRequest",
    "SimulatorOptions",
    "SimulatorTransport",
    "connect_sandbox",
    "connect_sandbox_async",
    "json_response",
    "make_simulator",
    "raw_json_response",
    "sandbox_tenants",
]


class SandboxConnection(Connection):
    """A ``Connection`` to an in-process simulator: ``simulator`` is the simulator (its declared truth:
    ``device_ids()``, ``secrets()``), ``transport`` counts the requests and the injected faults."""

    def __init__(self, conn: Connection, simulator: Simulator, transport: SimulatorTransport) -> None:
        super().__init__(conn._vendor_spec, conn._driver, conn._session)
        self.simulator = simulator
        self.transport = transport


class AsyncSandboxConnection(AsyncConnection):
    """The async twin of ``SandboxConnection``."""

    def __init__(self, conn: AsyncConnection, simulator: Simulator, transport: SimulatorTransport) -> None:
        super().__init__(conn._vendor_spec, conn._driver, conn._session)
        self.simulator = simulator
        self.transport = transport


def make_simulator(vendor: str, options: SimulatorOptions | None = None) -> Simulator:
    """The vendor's simulator, seeded."""
    spec = get_vendor(vendor)
    if spec.simulator is None:
        raise ConfigurationError(f"{vendor} ships no simulator", vendor=vendor)
    return spec.simulator(options or SimulatorOptions())


def _sandbox_parts(
    vendor: str,
    seed: int,
    size: int,
    now: dt.datetime | None,
    latency: float,
    faults: Faults | None,
    simulator: Simulator | None,
) -> tuple[Simulator, SimulatorTransport]:
    sim = simulator or make_simulator(vendor, SimulatorOptions(seed=seed, size=size, now=now or DEFAULT_NOW))
    return sim, SimulatorTransport(sim.handle, latency=latency, faults=faults)


def connect_sandbox(
    vendor: str,
    *,
    seed: int = 0,
    size: int = 40,
    now: dt.datetime | None = None,
    latency: float = 0.0,
    faults: Faults | None = None,
    simulator: Simulator | None = None,
    retry: RetryPolicy | None = None,
    **options: Any,
) -> SandboxConnection:
    """A ``Connection`` to the vendor's in-process simulator (no network)."""
    sim, transport = _sandbox_parts(vendor, seed, size, now, latency, faults, simulator)
    conn = connect(vendor, transport=transport, retry=retry, clock=sim.now, **{**sim.credentials, **options})
    return SandboxConnection(conn, sim, transport)


def connect_sandbox_async(
    vendor: str,
    *,
    seed: int = 0,
    size: int = 40,
    now: dt.datetime | None = None,
    latency: float = 0.0,
    faults: Faults | None = None,
    simulator: Simulator | None = None,
    retry: RetryPolicy | None = None,
    **options: Any,
) -> AsyncSandboxConnection:
    """The async twin of ``connect_sandbox``."""
    sim, transport = _sandbox_parts(vendor, seed, size, now, latency, faults, simulator)
    conn = connect_async(vendor, transport=transport, retry=retry, clock=sim.now, **{**sim.credentials, **options})
    return AsyncSandboxConnection(conn, sim, transport)


def sandbox_tenants(
    vendors: Sequence[str] | None = None, *, accounts_per_vendor: int = 1, seed: int = 0, size: int = 40
) -> list[tuple[str, str, Simulator]]:
    """``(vendor, account, simulator)`` for every vendor with a simulator (or ``vendors``), each tenant seeded
    differently but deterministically from ``seed``."""
    names = list(vendors) if vendors else [v.name for v in list_vendors() if v.simulator is not None]
    tenants = []
    for vendor in names:
        for index in range(accounts_per_vendor):
            account = f"sandbox-{vendor}" if accounts_per_vendor == 1 else f"sandbox-{vendor}-{index + 1}"
            tenants.append(
                (vendor, account, make_simulator(vendor, SimulatorOptions(seed=seed * 1000 + index, size=size)))
            )
    return tenants
