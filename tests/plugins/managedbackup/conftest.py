from __future__ import annotations

from collections.abc import Iterator

import pytest

from backupbridge.sandbox import SimulatorOptions
from backupbridge_managedbackup import ManagedBackupSimulator

from ..conftest import Runner


@pytest.fixture
def sim() -> ManagedBackupSimulator:
    return ManagedBackupSimulator(SimulatorOptions(seed=4, size=14))


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, sim: ManagedBackupSimulator) -> Iterator[Runner]:
    yield Runner(request.param, "managedbackup", sim)
