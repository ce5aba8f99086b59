"""``SimulatorBase``: what every vendor's simulator shares, written once.

A simulator subclasses it, declares its base path and its fault type (the exception its handlers raise to
answer with the vendor's own error body), adds its routes and seeds its data. The base holds the options,
the clock, the seeded random source and the router, and answers each request: route, authenticate, hand
to the handler, turn a fault into the vendor's error response.

It also declares the simulator's *truth*, so the soak and the fault tools need no vendor names: the ids
of the devices it holds (``device_ids``) and every secret it knows (``secrets``: its credentials and the
tokens or session ids it minted).
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import httpx

from .app import Router, SimRequest
from .clock import SimClock
from .options import SimulatorOptions
from .seed import Seeder

__all__ = ["SimulatorBase", "SimulatorFault"]


class SimulatorFault(Exception):
    """A vendor error a handler raises; ``response()`` is the vendor's own error reply for it."""

    def response(self) -> httpx.Response:  # pragma: no cover - each vendor's fault type answers
        raise TypeError(f"{type(self).__name__} must define response()")


class SimulatorBase(abc.ABC):
    """The shared part of a vendor simulator (see the module docstring).

    Class attributes a simulator sets:
        base_path: the path the vendor's API lives under (``/api``).
        fault_type: the exception type its handlers raise for a vendor error (it has ``response()``).
        secret_credentials: which of ``credentials`` are secrets (reported by ``secrets``).
    """

    base_path: ClassVar[str] = ""
    fault_type: ClassVar[type[Exception]] = SimulatorFault
    secret_credentials: ClassVar[tuple[str, ...]] = ("api_key", "password")

    credentials: Mapping[str, Any]

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        self.options = options or SimulatorOptions()
        self.clock = SimClock(self.options.now)
        self.seeder = Seeder(self.options.seed, self.options.now.astimezone(dt.UTC).replace(tzinfo=None))
        self.router = Router(self.base_path)

    def now(self) -> dt.datetime:
        """The simulator's clock (aware)."""
        return self.clock.now()

    # -- answering a request -------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as the vendor would."""
        handler, sim, known = self.router.match(request)
        try:
            if self.needs_auth(sim):
                self.authenticate(sim)
            if handler is None:
                raise self.no_route(sim, known)
            self.before(sim)
            return handler(sim)
        except self.fault_type as fault:
            return fault.response()  # type: ignore[attr-defined,no-any-return]

    def needs_auth(self, request: SimRequest) -> bool:
        """Whether ``request`` must carry credentials (a login endpoint does not)."""
        return True

    @abc.abstractmethod
    def authenticate(self, request: SimRequest) -> None:
        """Raise the vendor's fault when ``request`` carries no valid credentials."""

    @abc.abstractmethod
    def no_route(self, request: SimRequest, path_known: bool) -> Exception:
        """The vendor's fault for a request no route answers (405 when ``path_known``, else 404)."""

    def before(self, request: SimRequest) -> None:
        """Checks every routed request passes before its handler (the vendor's own query validation)."""
        return None

    # -- the declared truth -----------------------------------------------------------------------

    @abc.abstractmethod
    def device_ids(self) -> set[str]:
        """The ids of every device (computer, VM...) the simulator holds, as the neutral model names them."""

    def minted_secrets(self) -> Iterable[str]:
        """Tokens, session ids and cookies the simulator has handed out (none by default)."""
        return ()

    def secrets(self) -> set[str]:
        """Every secret the simulator knows: its secret credentials and what it minted."""
        found: set[Any] = {v for k, v in self.credentials.items() if k in self.secret_credentials}
        found |= set(self.minted_secrets())
        return {s for s in found if isinstance(s, str)}
