"""Sandbox tenants that keep their state between ``migrate`` commands.

Each CLI invocation is a new process, and a fresh simulator would forget the companies and plans the
previous stage created. So with ``--sandbox`` every stage loads the tenant's simulator state from a file
(``sandbox-migrate/<account>.pickle`` in the data directory, or ``--sandbox-state DIR``) and saves it back
when the stage ends. ``migrate plan`` starts from freshly seeded tenants unless ``--keep-sandbox``.
The files are the user's own (mode 0600) and hold only simulated data.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import platformdirs

from ..connection import Connection
from ..sandbox import SimulatorOptions, connect_sandbox, make_simulator

__all__ = ["VOLATILE", "default_state_dir", "open_tenant", "save_tenant", "state_fingerprint"]

_UNPICKLABLE = ("router", "clock")
VOLATILE = frozenset(
    {*_UNPICKLABLE, "seeder", "tokens", "logins", "sessions", "_writes", "_selection", "_newest_first", "_child_rows"}
)
"""Simulator attributes that are not the tenant's data (login sessions, the random source, read caches)."""


def default_state_dir() -> Path:
    return Path(platformdirs.user_data_dir("backupbridge")) / "sandbox-migrate"


def _path(state_dir: Path, account: str) -> Path:
    return state_dir / f"{account}.pickle"


def open_tenant(
    vendor: str, account: str, state_dir: Path, *, seed: int = 0, size: int = 40, fresh: bool = False
) -> Connection:
    """A sandbox connection to ``account``, its simulator restored from ``state_dir`` unless ``fresh``."""
    sim: Any = make_simulator(vendor, SimulatorOptions(seed=seed, size=size))
    path = _path(state_dir, account)
    if not fresh and path.exists():
        with path.open("rb") as handle:
            saved = pickle.load(handle)  # our own file of simulated data, mode 0600
        now = saved.pop("__now__", None)
        sim.__dict__.update(saved)
        if now is not None:
            sim.clock._now = now
    return connect_sandbox(vendor, simulator=sim, account=account)


def save_tenant(conn: Connection, state_dir: Path) -> None:
    """Keep the sandbox tenant's simulator state for the next stage."""
    sim: Any = conn.simulator  # type: ignore[attr-defined]
    state = {k: v for k, v in vars(sim).items() if k not in _UNPICKLABLE}
    state["__now__"] = sim.clock.now()
    state_dir.mkdir(parents=True, exist_ok=True)
    path = _path(state_dir, conn.account)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        pickle.dump(state, handle)
    tmp.replace(path)


def state_fingerprint(simulator: Any) -> bytes:
    """The simulator's tenant data as bytes: equal before and after means nothing was changed."""
    return pickle.dumps({k: v for k, v in sorted(vars(simulator).items()) if k not in VOLATILE})
