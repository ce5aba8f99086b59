"""ConnectWise PSA (Manage) for backupbridge: a ``[[sinks]] type = "connectwise"`` opening a ticket per
backup problem, with its client (the endpoints it uses), an offline simulator and the sink.

Registered through the entry-point group ``backupbridge`` exactly as a third-party plugin would be.
"""

from __future__ import annotations

from collections.abc import Callable

from backupbridge import hookimpl
from backupbridge.plugin import SinkType

from .client import VENDOR, ConnectWiseAPI
from .simulator import ConnectWiseSimulator
from .sink import ConnectWiseSink, marker, sink_type

__all__ = ["VENDOR", "ConnectWiseAPI", "ConnectWiseSimulator", "ConnectWiseSink", "marker", "sink_type"]


@hookimpl
def register_sink_types(register: Callable[[SinkType], None]) -> None:
    register(sink_type)
