"""How a simulator is seeded (its own module, so the simulator machinery can import it)."""

from __future__ import annotations

import datetime as dt

import attrs

__all__ = ["DEFAULT_NOW", "SimulatorOptions"]

# A fixed instant, so seeded data (and tests) do not depend on the day they run.
DEFAULT_NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@attrs.frozen(kw_only=True)
class SimulatorOptions:
    """How to seed a simulator.

    Attributes:
        seed: the same seed gives the same data.
        size: roughly how many devices to create (companies, plans and runs scale with it).
        now: the simulator's clock at start; seeded times are relative to it.
    """

    seed: int = 0
    size: int = 40
    now: dt.datetime = DEFAULT_NOW
