"""What every handler group of the simulator shares: its tables, the vendor's error body, enums in both of
their shapes, references, paging and the lookups."""

from __future__ import annotations

import abc
import datetime as dt
import json
import re
import uuid
from typing import Any

import httpx

from backupbridge.plugin import PageShape, SimRequest, SimulatorBase, SimulatorFault, json_response

from ..checks import BACKUP_TYPES, PROTECTED_ENTITY_TYPES

# Every list: a bare array for ?page= (from 0) &size=, the total in X-Total-Count.
PAGES = PageShape(page="page", size="size", first=0)
DAY_MS = 24 * 3600 * 1000
_DIGITS = re.compile(r"[0-9]{1,18}")

STATUS_TEXT = {
    "SUCCESS": "Success",
    "SUCCESS_REMOVED": "Success (removed)",
    "PARTIAL_SUCCESS": "Partial success",
    "FAILED": "Failed",
    "INPROGRESS": "In progress",
    "QUEUED": "Queued",
}


def enum(name: str, bare: bool = False) -> Any:
    """An EnumNameAndDescription, or (for ``bare``) the bare string some documents show."""
    return name if bare else {"name": name, "description": STATUS_TEXT.get(name, name.replace("_", " ").title())}


def ref(row: dict[str, Any]) -> dict[str, Any]:
    return {"guid": row["guid"], "name": row.get("name")}


def _ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


class Fault(SimulatorFault):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def response(self) -> httpx.Response:
        return json_response(self.status, {"message": self.message})


def _name(value: Any) -> str | None:
    """An enum's name, whichever of its two shapes it has."""
    if isinstance(value, dict):
        return str(value["name"])
    return str(value) if value is not None else None


class SimState(SimulatorBase, abc.ABC):
    """The simulator's tables (its tenant data, kept across ``migrate`` stages by pickling) and what the
    handler groups share; the groups are mixins over it."""

    sessions: dict[str, dt.datetime]
    logins: int
    projects: list[dict[str, Any]]
    vms: dict[str, dict[str, Any]]
    entities: dict[str, dict[str, Any]]
    backups: dict[str, dict[str, Any]]
    internal: dict[str, dict[str, Any]]
    policies: dict[str, dict[str, dict[str, Any]]]
    rules: dict[str, dict[str, Any]]
    destinations: list[dict[str, Any]]
    storage_provider: str
    cloud_provider: str
    schedules: dict[str, dict[str, Any]]
    hypervisors: dict[str, dict[str, Any]]
    tasks: dict[str, dict[str, Any]]
    exports: list[dict[str, Any]]
    _writes: int
    _selection: tuple[Any, list[dict[str, Any]]] | None

    def _guid(self) -> str:
        return str(uuid.UUID(int=self.seeder.random.getrandbits(128)))

    def _validate(self, query: httpx.QueryParams) -> None:
        allowed = {
            "status": set(STATUS_TEXT),
            "type": set(BACKUP_TYPES),
            "protected-entity-type": set(PROTECTED_ENTITY_TYPES),
            "direction": {"asc", "desc"},
        }
        for name, values in allowed.items():
            for value in query.get_list(name):
                if value not in values:
                    raise Fault(400, f"Invalid value '{value}' for parameter '{name}'")
        for name in ("from", "to", "min-size", "page", "size"):
            # ASCII digits only: str.isdigit accepts "²", which int() refuses.
            if name in query and not _DIGITS.fullmatch(query[name]):
                raise Fault(400, f"Invalid value '{query[name]}' for parameter '{name}'")

    def _page(self, query: httpx.QueryParams, rows: list[dict[str, Any]]) -> httpx.Response:
        """One page of ``rows`` (every route answering with it declares ``paging=PAGES``)."""
        page = int(query.get("page", "0"))
        size = int(query.get("size", str(max(len(rows), 1))))
        return json_response(200, rows[page * size : (page + 1) * size], {"X-Total-Count": str(len(rows))})

    def _body(self, request: SimRequest) -> Any:
        try:
            return json.loads(request.body) if request.body else None
        except ValueError:
            raise Fault(400, "Malformed JSON") from None

    def _find(self, table: dict[str, dict[str, Any]], key: str, what: str) -> dict[str, Any]:
        if key not in table:
            raise Fault(404, f"Cannot find {what} with guid {key}")
        return table[key]
