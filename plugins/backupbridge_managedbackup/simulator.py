"""An offline Managed Backup (MSP360-style) API.

Login with ``UserName``/``Password`` for a bearer token that expires (two weeks, on an injectable clock;
401 afterwards, and a new login works), every method of the docs' twelve groups with its happy path and
its documented errors (``{ErrorCode, Message}``, 406 for an unknown login, the 200-with-an-error-string of
user creation), path pagination of computers and history with ``Count``, stateful companies, users,
computers and plans, monitoring rows with every status, and seeded realistic data.

This module is the simulator as ``SimulatorBase`` sees it: its truth (credentials, minted tokens, device
ids), the login and the bearer check. The handlers of each group are in ``handlers/``, the seeded data in
``seeding.py``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx

from backupbridge.plugin import SimRequest, SimulatorOptions, json_response

from .handlers.billing import BillingHandlers
from .handlers.common import Fault
from .handlers.companies import CompanyHandlers
from .handlers.computers import COMPUTERS, HISTORY, ComputerHandlers
from .handlers.storage import StorageHandlers
from .handlers.users import UserHandlers

__all__ = ["COMPUTERS", "HISTORY", "SANDBOX_PASSWORD", "SANDBOX_USERNAME", "Fault", "ManagedBackupSimulator"]

SANDBOX_USERNAME = "sandbox-api-user"
SANDBOX_PASSWORD = "mbs-sandbox-pass-8d2c61"
BASE_PATH = "/api"
TOKEN_LIFETIME = dt.timedelta(days=14)


class ManagedBackupSimulator(UserHandlers, CompanyHandlers, ComputerHandlers, StorageHandlers, BillingHandlers):
    """The simulator. ``handle(request)`` answers one ``httpx.Request``."""

    base_path = BASE_PATH
    fault_type = Fault

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        super().__init__(options)
        self.credentials = {"username": SANDBOX_USERNAME, "password": SANDBOX_PASSWORD}
        self.tokens: dict[str, dt.datetime] = {}
        self.logins = 0
        self.companies: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.computers: dict[str, dict[str, Any]] = {}
        self.plans: dict[str, list[dict[str, Any]]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.packages: dict[int, dict[str, Any]] = {}
        self.licenses: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.administrators: dict[str, dict[str, Any]] = {}
        self.started: list[tuple[str, str, int]] = []
        self._routes()
        self._seed()

    # -- the declared truth ------------------------------------------------------------------

    def device_ids(self) -> set[str]:
        return set(self.computers)

    def minted_secrets(self) -> list[str]:
        return list(self.tokens)

    def _seed(self) -> None:
        from .seeding import seed

        seed(self)

    # -- routes, login and the bearer check --------------------------------------------------

    def _routes(self) -> None:
        # Groups in the docs' order; within a group, specific paths come before the ones with free segments.
        self.router.add("POST", "/Provider/Login", self._login)
        self._route_packages()
        self._route_users()
        self._route_monitoring()
        self._route_companies()
        self._route_computers()
        self._route_licenses()
        self._route_destinations()
        self._route_accounts()
        self._route_billing()
        self._route_builds()
        self._route_administrators()

    def needs_auth(self, request: SimRequest) -> bool:
        return not (request.method == "POST" and request.path.lower() == "/provider/login")

    def no_route(self, request: SimRequest, path_known: bool) -> Fault:
        return Fault(
            405 if path_known else 404, f"No HTTP resource was found that matches the request URI {request.path}."
        )

    def authenticate(self, request: SimRequest) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expires = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if expires is None or self.now() >= expires:
            raise Fault(401, "Authorization has been denied for this request.")

    def _login(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        password = body.get("Password")
        if not isinstance(password, str) or not 3 <= len(password) <= 100:
            raise Fault(400, "The Password must be between 3 and 100 characters.")
        if body.get("UserName") != self.credentials["username"] or password != self.credentials["password"]:
            raise Fault(403, "Invalid credentials.")
        token = uuid.uuid4().hex + uuid.uuid4().hex
        self.tokens[token] = self.now() + TOKEN_LIFETIME
        self.logins += 1
        return json_response(
            200, {"access_token": token, "token_type": "bearer", "expires_in": int(TOKEN_LIFETIME.total_seconds())}
        )
