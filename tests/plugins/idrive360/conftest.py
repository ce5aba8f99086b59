from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from backupbridge.sandbox import SimulatorOptions
from backupbridge_idrive360 import IDrive360Simulator

from ..conftest import Runner as Runner
from ..conftest import load_example


def doc_example(name: str) -> Any:
    return load_example("idrive360", name)


@pytest.fixture
def sim() -> IDrive360Simulator:
    return IDrive360Simulator(SimulatorOptions(seed=3, size=24))


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, sim: IDrive360Simulator) -> Iterator[Runner]:
    yield Runner(request.param, "idrive360", sim)
