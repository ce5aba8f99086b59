"""ConnectWise PSA (Manage) for backupbridge: a ``[[sinks]] type = "connectwise"`` opening a ticket per
backup problem, with its client (the endpoints it uses), an offline simulator and the sink.

Registered through the entry-point group ``backupbridge`` exactly as a third-party plugin would be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from backupbridge import hookimpl
from backupbridge.plugin import SinkType

from .client import VENDOR, ConnectWiseAPI
from .sink import ConnectWiseSink, marker, sink_type

if TYPE_CHECKING:
    from .simulator import ConnectWiseSimulator

__all__ = ["VENDOR", "ConnectWiseAPI", "ConnectWiseSimulator", "ConnectWiseSink", "marker", "sink_type"]


def __getattr__(name: str) -> Any:
    if name == "ConnectWiseSimulator":  # the simulator class, imported on first use (never for a real sink)
        from .simulator import ConnectWiseSimulator

        return ConnectWiseSimulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def register_sink_types(register: Callable[[SinkType], None]) -> None:
    register(sink_type)
