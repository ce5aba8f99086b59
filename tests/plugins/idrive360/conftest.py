from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backupbridge.sandbox import SimulatorOptions, connect_sandbox, connect_sandbox_async
from backupbridge_idrive360 import IDrive360Simulator

EXAMPLES = Path(__file__).parent / "doc_examples"


def doc_example(name: str) -> Any:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


@pytest.fixture
def sim() -> IDrive360Simulator:
    return IDrive360Simulator(SimulatorOptions(seed=3, size=24))


class Runner:
    """Runs a vendor-client call on a sync or an async connection and gives back plain results."""

    def __init__(self, mode: str, sim: IDrive360Simulator) -> None:
        self.mode = mode
        self.sim = sim

    def __call__(self, use: Callable[[Any], Any]) -> Any:
        if self.mode == "sync":
            with connect_sandbox("idrive360", simulator=self.sim) as conn:
                result = use(conn)
                return list(result) if inspect.isgenerator(result) else result

        async def main() -> Any:
            async with connect_sandbox_async("idrive360", simulator=self.sim) as conn:
                result = use(conn)
                if inspect.isasyncgen(result):
                    return [item async for item in result]
                return await result

        return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, sim: IDrive360Simulator) -> Iterator[Runner]:
    yield Runner(request.param, sim)
