from __future__ import annotations

from collections.abc import Iterator

import pytest

from backupbridge.sandbox import SimulatorOptions
from backupbridge_vprotect import VProtectSimulator

from ..conftest import Runner


@pytest.fixture
def sim() -> VProtectSimulator:
    return VProtectSimulator(SimulatorOptions(seed=6, size=24))


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, sim: VProtectSimulator) -> Iterator[Runner]:
    yield Runner(request.param, "vprotect", sim)
