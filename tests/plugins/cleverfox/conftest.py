from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from backupbridge.sandbox import SimulatorOptions
from backupbridge_cleverfox import CleverFoxSimulator

from ..conftest import Runner, load_example


def doc_example(name: str) -> Any:
    return load_example("cleverfox", name)


@pytest.fixture
def sim() -> CleverFoxSimulator:
    return CleverFoxSimulator(SimulatorOptions(seed=5, size=16))


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, sim: CleverFoxSimulator) -> Iterator[Runner]:
    yield Runner(request.param, "cleverfox", sim)
