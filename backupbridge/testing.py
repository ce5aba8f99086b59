"""pytest plugin for integrators: simulated vendor accounts as fixtures, no network.

Installed with backupbridge (entry point ``pytest11``). In a PSA/RMM integration's tests::

    def test_tickets_for_failed_backups(backupbridge_sandbox):
        conn = backupbridge_sandbox("cleverfox", seed=3, size=20)
        failed = [j for j in conn.list_jobs() if j.status.value == "failed"]
        assert my_integration.open_tickets(failed) == len(failed)

Knobs: ``seed`` and ``size`` (the seeded data), ``latency`` (seconds per request), ``faults``
(``backupbridge.sandbox.Faults``). ``conn.simulator`` is the simulator (its tables are the ground truth),
``conn.transport`` counts requests and injected faults. Connections are closed after the test; retries
run without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .connection import AsyncConnection, Connection
from .sandbox import Faults, connect_sandbox, connect_sandbox_async

__all__ = ["backupbridge_async_sandbox", "backupbridge_sandbox", "backupbridge_vendors"]

SandboxFactory = Callable[..., Connection]


@pytest.fixture
def backupbridge_sandbox() -> Iterator[SandboxFactory]:
    """``factory(vendor, *, seed=0, size=40, latency=0.0, faults=None, **connect_options) -> Connection``."""
    import stamina

    opened: list[Connection] = []

    def factory(
        vendor: str,
        *,
        seed: int = 0,
        size: int = 40,
        latency: float = 0.0,
        faults: Faults | None = None,
        **options: Any,
    ) -> Connection:
        conn = connect_sandbox(vendor, seed=seed, size=size, latency=latency, faults=faults, **options)
        opened.append(conn)
        return conn

    with stamina.set_testing(True, attempts=100, cap=True):
        yield factory
    for conn in opened:
        conn.close()


@pytest.fixture
def backupbridge_async_sandbox() -> Iterator[Callable[..., AsyncConnection]]:
    """The async twin: ``factory(vendor, ...) -> AsyncConnection`` (use ``async with`` to close it)."""
    import stamina

    def factory(
        vendor: str,
        *,
        seed: int = 0,
        size: int = 40,
        latency: float = 0.0,
        faults: Faults | None = None,
        **options: Any,
    ) -> AsyncConnection:
        return connect_sandbox_async(vendor, seed=seed, size=size, latency=latency, faults=faults, **options)

    with stamina.set_testing(True, attempts=100, cap=True):
        yield factory


@pytest.fixture
def backupbridge_vendors() -> list[str]:
    """Every installed vendor that ships a simulator (to parametrise an integration's tests over them)."""
    from .plugins import list_vendors

    return [v.name for v in list_vendors() if v.simulator is not None]
