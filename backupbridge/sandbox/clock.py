"""An injectable clock for simulators: starts at a fixed instant, moves only when told."""

from __future__ import annotations

import datetime as dt
import threading

__all__ = ["SimClock"]


class SimClock:
    """The simulator's time. ``now()`` is aware (UTC); ``advance()`` moves it forward."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulator clock needs an aware start time")
        self._now = start.astimezone(dt.UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        with self._lock:
            self._now += delta
            return self._now
