"""``conn.vendor``: a connection's vendor client, each endpoint run on the connection as it is called."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["VendorClient"]


class VendorClient:
    """``conn.vendor``: every documented endpoint of the vendor, run on this connection.

    Each attribute is the vendor client's method of the same name (see the vendor's docs page); a
    method returning a listing gives an iterator, any other its result.
    """

    def __init__(self, api: Any, runner: Callable[[Any], Any]) -> None:
        self._api = api
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._api, name)
        if name.startswith("_") or isinstance(method, str | int | float | bool | type(None)):
            return method
        if not callable(method):
            # A group of endpoints (``conn.vendor.devices.list()``): run its methods the same way.
            return VendorClient(method, self._runner)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._runner(method(*args, **kwargs))

        call.__name__ = name
        call.__doc__ = method.__doc__
        return call

    def __dir__(self) -> list[str]:
        return [n for n in dir(self._api) if not n.startswith("_")]

    def __repr__(self) -> str:
        return f"<vendor client {type(self._api).__name__}>"
