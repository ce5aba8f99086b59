"""Shared pieces for the ConnectWise tests: a simulator, a sink pointed at it in-process, alert passes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import httpx
import pytest

from backupbridge.alerts import Alert, AlertState, alerts_from, reconcile
from backupbridge.health import Assessment, Health, PlanHealth
from backupbridge.sandbox.server import serve
from backupbridge.sinks import deliver_alerts
from backupbridge_connectwise import ConnectWiseSimulator, ConnectWiseSink

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def assessment(health: Health, plan: str = "p1", device: str = "d1") -> Assessment:
    return Assessment(
        plans=(
            PlanHealth(
                vendor="cleverfox", account="fox", company_id="2", device_id=device, plan_id=plan,
                plan_name="Nightly", health=health, reason="last run failed: disk full",
            ),
        ),
        devices=(),
    )  # fmt: skip


class Wire(httpx.BaseTransport):
    """The simulator in-process; ``lose`` drops the answer of the next request matching ``METHOD path``
    after the simulator applied it (a timeout on the way back)."""

    def __init__(self, sim: ConnectWiseSimulator) -> None:
        self.sim = sim
        self.lose: set[str] = set()
        self.down = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        response = self.sim.handle(request)
        name = f"{request.method} {request.url.path.split('/apis/3.0', 1)[1]}"
        if name in self.lose:
            self.lose.discard(name)
            raise httpx.ReadTimeout("timed out reading the answer", request=request)
        return response


@pytest.fixture
def sim() -> ConnectWiseSimulator:
    return ConnectWiseSimulator()


@pytest.fixture
def wire(sim: ConnectWiseSimulator) -> Wire:
    return Wire(sim)


@pytest.fixture
def make_sink(sim: ConnectWiseSimulator, wire: Wire) -> Callable[..., ConnectWiseSink]:
    def make(**overrides: Any) -> ConnectWiseSink:
        creds = sim.credentials
        options: dict[str, Any] = {
            "site": "https://api-na.myconnectwise.net",
            "company_id": creds["company_id"],
            "public_key": lambda: creds["public_key"],
            "private_key": lambda: creds["private_key"],
            "client_id": lambda: creds["client_id"],
            "board": "Backups",
            "status_reopened": "Re-opened",
            "priorities": {"critical": 1, "high": 2, "medium": 3, "low": 4},
            "companies": {"acme": "CatchAll"},
            "default_company": "CatchAll",
            "timeout": 5,
            "transport": wire,
            **overrides,
        }
        return ConnectWiseSink("psa", **options)

    return make


def named(health: Health, at: dt.datetime = NOW, **kw: Any) -> list[Alert]:
    """The alerts of ``assessment``, with the names a report pass takes from its snapshot."""
    return [
        attrs.evolve(a, device_name="SRV-01", company_name="Acme GmbH")
        for a in alerts_from(assessment(health, **kw), at)
    ]


def run_pass(state: AlertState, health: Health, sinks: list[Any], at: dt.datetime = NOW, **kw: Any) -> Any:
    opened, recovered = reconcile(state, named(health, at, **kw))
    return deliver_alerts(state, opened, recovered, [], sinks)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ConnectWiseSimulator, str]]:
    sim = ConnectWiseSimulator()
    server = serve(sim)
    for name, value in (
        ("CW_PUBLIC_KEY", sim.credentials["public_key"]),
        ("CW_PRIVATE_KEY", sim.credentials["private_key"]),
        ("CW_CLIENT_ID", sim.credentials["client_id"]),
    ):
        monkeypatch.setenv(name, value)
    try:
        yield sim, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
