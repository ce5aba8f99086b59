"""An offline vProtect-style backups server.

Session login with a cookie (201, ``JSESSIONID``), 401 once the session has been idle too long (on an
injectable clock) or without one, every backups-controller endpoint with every filter applied to seeded
data (so a filter test proves the filter, not just the query string), ``page``/``size`` paging with
``X-Total-Count``, enums in both shapes (objects, and bare strings on some records), warning
acknowledgement state, and the policies, rules, schedules, virtual machines, hypervisors and tasks the
neutral mapping reads.

This module is the simulator as ``SimulatorBase`` sees it: its truth (credentials, minted session ids,
device ids), the login and the session check. The handlers of each group are in ``handlers/``, the seeded
data in ``seeding.py``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx

from backupbridge.plugin import SimRequest, SimulatorOptions, json_response

from .handlers.backups import FILTERS as FILTERS
from .handlers.backups import BackupHandlers
from .handlers.common import DAY_MS as DAY_MS
from .handlers.common import PAGES as PAGES
from .handlers.common import STATUS_TEXT as STATUS_TEXT
from .handlers.common import Fault as Fault
from .handlers.common import _ms as _ms
from .handlers.common import _name as _name
from .handlers.common import enum as enum
from .handlers.common import ref as ref
from .handlers.inventory import InventoryHandlers
from .handlers.policies import PolicyHandlers

__all__ = ["SANDBOX_LOGIN", "SANDBOX_PASSWORD", "VProtectSimulator"]

SANDBOX_LOGIN = "admin"
SANDBOX_PASSWORD = "vprotect-sandbox-7f3e1a"
SANDBOX_BASE_URL = "https://vprotect.sandbox.local:8181/api"
BASE_PATH = "/api"
SESSION_IDLE = dt.timedelta(minutes=30)


class VProtectSimulator(BackupHandlers, PolicyHandlers, InventoryHandlers):
    """The simulator. ``handle(request)`` answers one ``httpx.Request``."""

    base_url = SANDBOX_BASE_URL

    base_path = BASE_PATH
    fault_type = Fault

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        super().__init__(options)
        self.credentials = {"login": SANDBOX_LOGIN, "password": SANDBOX_PASSWORD, "base_url": SANDBOX_BASE_URL}
        self.sessions: dict[str, dt.datetime] = {}
        self.logins = 0
        self.projects: list[dict[str, Any]] = []
        self.vms: dict[str, dict[str, Any]] = {}
        self.entities: dict[str, dict[str, Any]] = {}  # every protected entity (VMs and others)
        self.backups: dict[str, dict[str, Any]] = {}
        # Paging through N backups must not filter and sort all of them again for every page: the last
        # selection is kept, keyed by the query (without page/size) and a count of the writes served.
        self._writes = 0
        self._selection: tuple[Any, list[dict[str, Any]]] | None = None
        self.internal: dict[str, dict[str, Any]] = {}  # per backup: the fields filters read but the API does not show
        self.policies: dict[str, dict[str, dict[str, Any]]] = {
            "vm-backup": {},
            "storage-backup": {},
            "cloud-backup": {},
            "app-backup": {},
        }
        self.rules: dict[str, dict[str, Any]] = {}
        # Set by seeding.seed: the backup destinations and the storage/cloud providers the seeded data names.
        self.destinations: list[dict[str, Any]] = []
        self.storage_provider = ""
        self.cloud_provider = ""
        self.schedules: dict[str, dict[str, Any]] = {}
        self.hypervisors: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.exports: list[dict[str, Any]] = []
        self._routes()
        self._seed()

    def device_ids(self) -> set[str]:
        return set(self.vms)

    def minted_secrets(self) -> list[str]:
        return list(self.sessions)

    # -- seeding (the data itself: seeding.py) ----------------------------------------------

    def _seed(self) -> None:
        from .seeding import seed

        seed(self)

    # -- routes, login and the session check --------------------------------------------------

    def _routes(self) -> None:
        self.router.add("POST", "/session/login", self._login)
        self.router.add("GET", "/session", lambda q: httpx.Response(204))
        self._route_backups()
        self._route_policies()
        self._route_inventory()

    def needs_auth(self, request: SimRequest) -> bool:
        return not (request.method == "POST" and request.path == "/session/login")

    def no_route(self, request: SimRequest, path_known: bool) -> Fault:
        return Fault(405 if path_known else 404, f"No resource for {request.method} {request.path}")

    def before(self, request: SimRequest) -> None:
        self._validate(request.query)
        if request.method != "GET":
            self._writes += 1  # whatever it changes, earlier selections are stale

    def authenticate(self, request: SimRequest) -> None:
        cookies = dict(
            part.strip().split("=", 1) for part in request.headers.get("cookie", "").split(";") if "=" in part
        )
        session = cookies.get("JSESSIONID")
        last = self.sessions.get(session or "")
        if last is None or self.now() - last > SESSION_IDLE:
            raise Fault(401, "Unauthorized")
        self.sessions[session] = self.now()  # type: ignore[index]

    def _login(self, request: SimRequest) -> httpx.Response:
        body = self._body(request)
        if not isinstance(body, dict) or body.get("login") != SANDBOX_LOGIN or body.get("password") != SANDBOX_PASSWORD:
            raise Fault(401, "Invalid login or password")
        session = uuid.uuid4().hex.upper()
        self.sessions[session] = self.now()
        self.logins += 1
        info = {
            "requester": {"guid": self._guid(), "name": SANDBOX_LOGIN},
            "infoTourEnabled": False,
            "language": "EN",
            "privileges": ["BACKUP_READ"],
            "uiTimeZone": "UTC",
            "lastSuccessfulLogin": _ms(self.now()),
        }
        return json_response(201, info, {"Set-Cookie": f"JSESSIONID={session}; Path=/api; Secure; HttpOnly"})
