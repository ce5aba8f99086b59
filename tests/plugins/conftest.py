from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backupbridge.cassettes import vcr_config as cassette_config
from backupbridge.sandbox import connect_sandbox, connect_sandbox_async
from backupbridge.vendors import Simulator

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"


def load_example(vendor: str, name: str) -> Any:
    """A documented example (repaired only where the docs' JSON was invalid)."""
    return json.loads((Path(__file__).parent / vendor / "doc_examples" / f"{name}.json").read_text())


class Runner:
    """Runs a call on a sync or an async sandbox connection and gives back plain results."""

    def __init__(self, mode: str, vendor: str, sim: Simulator) -> None:
        self.mode = mode
        self.vendor = vendor
        self.sim = sim

    def __call__(self, use: Callable[[Any], Any]) -> Any:
        if self.mode == "sync":
            with connect_sandbox(self.vendor, simulator=self.sim) as conn:
                result = use(conn)
                return list(result) if inspect.isgenerator(result) else result

        async def main() -> Any:
            async with connect_sandbox_async(self.vendor, simulator=self.sim) as conn:
                result = use(conn)
                if inspect.isasyncgen(result):
                    return [item async for item in result]
                return await result

        return asyncio.run(main())


# Cassette replay (pytest-recording): a test module names its vendor and auth scheme, e.g.
# CASSETTE_VENDOR = "cleverfox"; CASSETTE_SCHEME = "Basic". Cassettes are named after the test, minus "test_".


@pytest.fixture(scope="module")
def vcr_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    return cassette_config(getattr(request.module, "CASSETTE_SCHEME", "Bearer"))


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    # pytest-recording asks for this in every test; only cassette tests name a vendor.
    return str(CASSETTES / getattr(request.module, "CASSETTE_VENDOR", "unused"))


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    return str(request.node.name).removeprefix("test_")
