"""What every handler group of the simulator shares: its tables, the vendor's error body and the lookups."""

from __future__ import annotations

import abc
import datetime as dt
import json
import re
import uuid
from typing import Any

import httpx

from backupbridge.plugin import INT_MAX, SimRequest, SimulatorBase, SimulatorFault, json_response

PLAN_NAMES = (("Files to Cloud", 3), ("Image Based", 11), ("SQL Server", 7), ("Hyper-V VMs", 16), ("Exchange", 9))
ERRORS = (
    "Access to the path is denied",
    "The network name cannot be found",
    "VSS snapshot failed",
    "Connection to storage was lost",
    "The device is not ready",
)
_WHOLE = re.compile(r"[0-9]{1,19}")  # ASCII digits only (str.isdigit accepts "²", which int() refuses)
OK_RESULT = {"ResultCode": 0, "ErrorMessage": ""}


class Fault(SimulatorFault):
    """A vendor error: ``{"Message"}``, or ``{"ErrorCode", "Message"}`` when the API gives a code."""

    def __init__(self, status: int, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code

    def response(self) -> httpx.Response:
        body: dict[str, Any] = {"Message": self.message}
        if self.code is not None:
            body = {"ErrorCode": self.code, "Message": self.message}
        return json_response(self.status, body)


def iso(value: dt.datetime | None) -> str | None:
    """The API's timestamps: ISO with milliseconds and no zone."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] if value else None


def not_found(key: str) -> Fault:
    return Fault(404, f'Object "{key}" not found', code=-6)


def invalid_request() -> Fault:
    return Fault(400, "The request is invalid.", code=-1)


def whole(text: str) -> int | None:
    """A path segment as a whole number (ASCII digits, 64-bit), or None."""
    if _WHOLE.fullmatch(text) and int(text) <= INT_MAX:
        return int(text)
    return None


def ok(payload: object, status: int = 200) -> httpx.Response:
    return json_response(status, payload)


class SimState(SimulatorBase, abc.ABC):
    """The simulator's tables (its tenant data, kept across ``migrate`` stages by pickling) and the lookups
    the handler groups share; the groups are mixins over it."""

    tokens: dict[str, dt.datetime]
    logins: int
    companies: dict[str, dict[str, Any]]
    users: dict[str, dict[str, Any]]
    computers: dict[str, dict[str, Any]]
    plans: dict[str, list[dict[str, Any]]]
    history: dict[str, list[dict[str, Any]]]
    packages: dict[int, dict[str, Any]]
    licenses: dict[str, dict[str, Any]]
    accounts: dict[str, dict[str, Any]]
    administrators: dict[str, dict[str, Any]]
    started: list[tuple[str, str, int]]

    def _guid(self) -> str:
        """A GUID from the seeded random source (seeded data and the ids of created companies and users)."""
        return str(uuid.UUID(int=self.seeder.random.getrandbits(128)))

    def _new_key(self) -> str:
        """A fresh random GUID, outside the seeded sequence (plans, destinations, accounts, admins)."""
        return str(uuid.uuid4())

    def _json(self, request: SimRequest) -> Any:
        try:
            return json.loads(request.body) if request.body else None
        except ValueError:
            raise Fault(400, "The request is invalid.") from None

    def _obj(self, request: SimRequest) -> dict[str, Any]:
        body = self._json(request)
        if not isinstance(body, dict):
            raise Fault(400, "The request is invalid.")
        return body

    def _get(self, table: dict[Any, dict[str, Any]], key: Any) -> dict[str, Any]:
        if key not in table:
            raise not_found(str(key))
        return table[key]

    def _update(self, table: dict[Any, dict[str, Any]], key_field: str, body: dict[str, Any]) -> dict[str, Any]:
        row = self._get(table, body.get(key_field))
        row.update(body)
        return row

    def _delete(self, table: dict[Any, dict[str, Any]], key: Any) -> Any:
        """Remove a row; the API answers deletes with an empty (null) body."""
        self._get(table, key)
        del table[key]
        return None

    def _known_user(self, user_id: str) -> str:
        if user_id not in self.users:
            raise not_found(user_id)
        return user_id

    def _computer(self, key: str) -> dict[str, Any]:
        computer = self.computers.get(key.strip("{}"))
        if computer is None:
            raise not_found(key)
        return computer

    def _page(self, request: SimRequest, items: list[Any], key: str | None) -> httpx.Response:
        """``.../{offset}/{count}`` paging in the ``{"Count", <list>}`` envelope."""
        offset, count = whole(request.path_params["offset"]), whole(request.path_params["count"])
        if offset is None or count is None or count == 0:
            raise invalid_request()
        page = items[offset : offset + count]
        body: dict[str, Any] = {"Count": len(items), "Message": "Success", "StatusCode": 200}
        body[key or "Items"] = page
        return json_response(200, body)

    def _refresh_stats(self, hid: str) -> None:
        plans = self.plans[hid]

        def count(*codes: int) -> int:
            return sum(1 for p in plans if p["Status"] in codes)

        self.computers[hid]["BackupStats"] = {
            "PlansCount": len(plans),
            "TotalOverdueCount": count(1),
            "TotalFailedCount": count(2, 6),
            "TotalSuccessCount": count(0),
            "TotalWarningCount": count(7),
            "TotalNotRunCount": count(4),
            "TotalRunningCount": count(3),
            "TotalInterruptedCount": count(5),
        }
