"""An offline CleverFox Backup API that behaves as the docs say.

HTTP Basic with the partner key as user name (401 without it), ``PageNo``/``PageSize`` paging with the
``{data, page_no, page_size}`` envelope (newest first), ``{data: {...}}`` for single objects, 404s,
validation errors for missing or read-only attributes and over-long strings, duplicate prevention (a
repeated ``Token`` within 60 minutes is a 409, on an injectable clock), stateful create/update/delete, and
seeded data with a history of runs (completed, failed and missed).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from backupbridge.plugin import (
    PageShape,
    SimRequest,
    SimulatorBase,
    SimulatorFault,
    SimulatorOptions,
    json_response,
)

from .mapping import windows_zone
from .schema import RESOURCES, ResourceSpec, payload_problems

__all__ = ["SANDBOX_API_KEY", "CleverFoxSimulator"]

SANDBOX_API_KEY = "cfx-sandbox-5b0e8d1c9a7f4e32"
BASE_PATH = "/api"
# Every list: {"data": [...], "page_no", "page_size"} for ?PageNo= (from 1) &PageSize=.
PAGES = PageShape(page="PageNo", size="PageSize", first=1, items="data", stated_size="page_size")
MAX_PAGE_SIZE = 100  # undocumented in the real API; the simulator caps here and echoes what it used
DUPLICATE_WINDOW = dt.timedelta(minutes=60)
ZONES = (
    "Eastern Standard Time",
    "Central Standard Time",
    "Pacific Standard Time",
    "GMT Standard Time",
    "W. Europe Standard Time",
)
ERRORS = (
    "Unable to upload C:\\Users\\Public\\Documents\\ledger.xlsx: the network path was not found.",
    "The process cannot access the file because it is being used by another process.",
    "Login failed for user 'backup'. (SQL Server)",
    "Disk quota exceeded on the upload folder.",
)


class Fault(SimulatorFault):
    def __init__(self, status: int, message: str, model_state: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.model_state = model_state

    def response(self) -> httpx.Response:
        body: dict[str, Any] = {"Message": self.message}
        if self.model_state:
            body["ModelState"] = self.model_state
        headers = {"WWW-Authenticate": 'Basic realm="CleverFox"'} if self.status == 401 else None
        return json_response(self.status, body, headers)


def _stamp(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000") if value else None


class CleverFoxSimulator(SimulatorBase):
    """The simulator. ``handle(request)`` answers one ``httpx.Request``."""

    base_path = BASE_PATH
    fault_type = Fault

    def __init__(self, options: SimulatorOptions | None = None, *, api_key: str = SANDBOX_API_KEY) -> None:
        super().__init__(options)
        self.api_key = api_key
        self.credentials = {"api_key": api_key}
        self.tables: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in RESOURCES if name != "timezones"}
        self._newest_first: dict[str, list[int]] = {}  # per table, ids newest first; dropped on every change
        # (table, parent field) -> parent id -> rows, for embedding children; dropped on every change.
        self._child_rows: dict[tuple[str, str], dict[Any, list[dict[str, Any]]]] = {}
        self.tokens: dict[str, dt.datetime] = {}
        self.get_next_job_requests: list[int] = []
        self._next_id: dict[str, int] = {name: 1 for name in RESOURCES}
        self._routes()
        self._seed()

    def device_ids(self) -> set[str]:
        return {str(key) for key in self.tables["devices"]}

    def minted_secrets(self) -> list[str]:
        return list(self.tokens)

    # -- time helpers ------------------------------------------------------------------------

    def _utc_now(self) -> str:
        return _stamp(self.now().replace(tzinfo=None)) or ""

    def _local(self, when_utc: dt.datetime | None, zone: str) -> str | None:
        if when_utc is None:
            return None
        tz = windows_zone(zone) or dt.UTC
        return _stamp(when_utc.replace(tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None))

    # -- seeding (the data itself: seeding.py) ----------------------------------------------

    def _seed(self) -> None:
        from .seeding import seed

        seed(self)

    def _insert(self, resource: str, row: dict[str, Any]) -> dict[str, Any]:
        spec = RESOURCES[resource]
        key = self._next_id[resource]
        self._next_id[resource] += 1
        stored: dict[str, Any] = {f.name: None for f in spec.fields if f.kind not in ("obj", "list")}
        stored.update(row)
        stored[spec.id_field] = key
        stored.setdefault("AddedOn", self._utc_now())
        if "Token" in stored:
            stored["Token"] = None
        self.tables[resource][key] = stored
        self._changed(resource)
        return stored

    def _changed(self, resource: str | None = None) -> None:
        """Drop what is derived from the tables (all of it, or one table's)."""
        if resource is None:
            self._newest_first.clear()
            self._child_rows.clear()
            return
        self._newest_first.pop(resource, None)
        for index in [k for k in self._child_rows if k[0] == resource]:
            del self._child_rows[index]

    def _children(self, resource: str, parent_field: str, parent_id: Any) -> list[dict[str, Any]]:
        """The rows of ``resource`` whose ``parent_field`` is ``parent_id``, in insertion order (indexed once
        per change, so rendering a page of logs does not scan every log item for each log)."""
        index = self._child_rows.get((resource, parent_field))
        if index is None:
            index = {}
            for row in self.tables[resource].values():
                index.setdefault(row[parent_field], []).append(row)
            self._child_rows[(resource, parent_field)] = index
        return index.get(parent_id, [])

    def _ordered_ids(self, resource: str) -> list[int]:
        """The table's ids newest first, kept between requests (a listing of a large table pages through it)."""
        if resource not in self._newest_first:
            self._newest_first[resource] = sorted(self.tables[resource], reverse=True)
        return self._newest_first[resource]

    # -- rendering (one level of embedding, grandchildren null, as in the docs) ------------

    def _row(self, resource: str, key: int | None) -> dict[str, Any] | None:
        row = self.tables[resource].get(key) if key is not None else None
        if row is None:
            return None
        shallow = dict(row)
        if resource == "jobitems":
            shallow["Password"] = None  # never returned on GET
        return shallow

    def render(self, resource: str, row: dict[str, Any]) -> dict[str, Any]:
        out = self._row(resource, row[RESOURCES[resource].id_field]) or dict(row)
        child = self._row
        if resource == "devices":
            out["Company"] = _null_children(child("companies", row["CompanyId"]), ("Partner", "PlanType"))
            out["Subscription"] = _null_children(child("subscriptions", row["SubscriptionId"]), ("Company", "Plan"))
        elif resource == "companies":
            out["Partner"], out["PlanType"] = None, child("plantypes", row["PlanTypeId"])
        elif resource == "subscriptions":
            out["Company"], out["Plan"] = None, child("plans", row["PlanId"])
        elif resource == "jobs":
            out["Device"] = _null_children(child("devices", row["DeviceId"]), ("Company", "Subscription"))
            out["JobItems"] = [self._item(i) for i in self._children("jobitems", "JobId", row["JobId"])]
        elif resource == "jobitems":
            out = self._item(row)
        elif resource == "logs":
            out["Company"] = _null_children(child("companies", row["CompanyId"]), ("Partner", "PlanType"))
            out["Device"] = _null_children(child("devices", row["DeviceId"]), ("Company", "Subscription"))
            out["Subscription"] = _null_children(child("subscriptions", row["SubscriptionId"]), ("Company", "Plan"))
            out["Plan"] = _null_children(child("plans", row["PlanId"]), ("PlanType",))
            job = child("jobs", row["JobId"])
            out["Job"] = dict(job, Device=None, JobItems=[]) if job else None
            out["LogItems"] = [dict(i) for i in self._children("logitems", "LogId", row["LogId"])]
        elif resource in ("partners", "plans"):
            out["PlanType"] = child("plantypes", row.get("PlanTypeId"))
        elif resource == "partnerusers":
            out["Partner"] = _null_children(child("partners", row["PartnerId"]), ("PlanType",))
        elif resource == "companyusers":
            out["Company"] = _null_children(child("companies", row["CompanyId"]), ("Partner", "PlanType"))
        return out

    def _item(self, row: dict[str, Any]) -> dict[str, Any]:
        out = dict(row, Password=None)
        out["BackupType"] = self._row("backuptypes", row["BackupTypeId"])
        return out

    # -- request handling --------------------------------------------------------------------

    def _routes(self) -> None:
        # The specific device routes first: "/devices/lookup" must not be read as a device id.
        self.router.add("GET", "/devices/lookup", self._lookup)
        self.router.add("DELETE", "/devices/{id}", self._delete_device)
        self.router.add("GET", "/devices/{id}/jobs", self._device_children("jobs"), paging=PAGES)
        self.router.add("GET", "/devices/{id}/logs", self._device_children("logs"), paging=PAGES)
        self.router.add("POST", "/devices/{id}/ExecuteGetNextJob", self._get_next_job)
        self.router.add("GET", "/devices/{id}/ExecuteGetNextJob", self._get_next_job)
        for name, spec in RESOURCES.items():
            self.router.add("GET", spec.path, self._lister(name), paging=PAGES)
            if "get" in spec.operations:
                self.router.add("GET", spec.path + "/{id}", self._getter(name))
            if "create" in spec.operations:
                self.router.add("POST", spec.path, self._creator(name))
            if "update" in spec.operations:
                self.router.add("PUT", spec.path + "/{id}", self._updater(name))

    def no_route(self, request: SimRequest, path_known: bool) -> Fault:
        return Fault(
            405 if path_known else 404, f"No HTTP resource was found that matches {request.method} {request.path}."
        )

    def authenticate(self, request: SimRequest) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        user = ""
        if scheme.lower() == "basic":
            try:
                user = base64.b64decode(encoded, validate=True).decode().partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                user = ""
        if user != self.api_key:
            raise Fault(401, "Authorization has been denied for this request.")

    def _page(self, request: SimRequest, rows: list[dict[str, Any]] | None, resource: str) -> httpx.Response:
        """One page of ``rows`` (or of the whole table, when ``rows`` is None), newest first."""
        numbers = {}
        for name, default in (("PageNo", 1), ("PageSize", 25)):
            raw = request.query.get(name)
            if raw is None:
                numbers[name] = default
            elif raw.isdigit() and int(raw) > 0:
                numbers[name] = int(raw)
            else:
                raise Fault(400, "The request is invalid.", {name: [f"{name} must be a positive whole number."]})
        size = min(numbers["PageSize"], MAX_PAGE_SIZE)
        start = (numbers["PageNo"] - 1) * size
        if rows is None:
            table = self.tables[resource]
            chosen = [table[key] for key in self._ordered_ids(resource)[start : start + size]]
        else:
            ordered = sorted(rows, key=lambda r: r[RESOURCES[resource].id_field], reverse=True)
            chosen = ordered[start : start + size]
        data = [self.render(resource, row) for row in chosen]
        return json_response(200, {"data": data, "page_no": numbers["PageNo"], "page_size": size})

    def _lister(self, resource: str) -> Callable[[SimRequest], httpx.Response]:
        def handler(request: SimRequest) -> httpx.Response:
            if resource == "timezones":
                zones = [{"TimeZoneId": zone, "Name": zone} for zone in sorted(_windows_zone_names())]
                size = min(int(request.query.get("PageSize", "25") or 25), MAX_PAGE_SIZE)
                page = int(request.query.get("PageNo", "1") or 1)
                return json_response(
                    200, {"data": zones[(page - 1) * size : page * size], "page_no": page, "page_size": size}
                )
            return self._page(request, None, resource)

        return handler

    def _find(self, resource: str, raw_key: str) -> dict[str, Any]:
        row = self.tables[resource].get(int(raw_key)) if raw_key.isdigit() else None
        if row is None:
            spec = RESOURCES[resource]
            raise Fault(
                404,
                f"No {spec.id_field.removesuffix('Id')} was found with {spec.id_field} {raw_key}.",
            )
        return row

    def _getter(self, resource: str) -> Callable[[SimRequest], httpx.Response]:
        def handler(request: SimRequest) -> httpx.Response:
            return json_response(200, {"data": self.render(resource, self._find(resource, request.path_params["id"]))})

        return handler

    def _body(self, request: SimRequest) -> dict[str, Any]:
        if "application/json" not in request.headers.get("content-type", ""):
            raise Fault(415, "The request entity's media type is not supported for this resource.")
        try:
            body = json.loads(request.body)
        except ValueError:
            raise Fault(400, "The request is invalid.", {"body": ["The body is not valid JSON."]}) from None
        if not isinstance(body, dict):
            raise Fault(400, "The request is invalid.", {"body": ["The body must be an object."]})
        return body

    def _refuse_duplicate(self, body: dict[str, Any]) -> None:
        """A Token applied in the last 60 minutes: 409, before anything else is looked at."""
        token = body.get("Token")
        seen = self.tokens.get(token) if token else None
        if seen is not None and self.now() - seen < DUPLICATE_WINDOW:
            raise Fault(409, "Duplicate request: a request with this Token was processed in the last 60 minutes.")

    def _remember(self, body: dict[str, Any]) -> None:
        """Only an applied request's Token counts: a refused one may be corrected and sent again."""
        if body.get("Token"):
            self.tokens[body["Token"]] = self.now()

    def _check(self, spec: ResourceSpec, body: dict[str, Any], method: str) -> None:
        problems = payload_problems(spec, body, method=method)
        if problems:
            state: dict[str, list[str]] = {}
            for field, message in problems:
                state.setdefault(f"{spec.name[:-1]}.{field}", []).append(message)
            raise Fault(400, "The request is invalid.", state)
        references = {
            "CompanyId": "companies",
            "SubscriptionId": "subscriptions",
            "DeviceId": "devices",
            "JobId": "jobs",
            "BackupTypeId": "backuptypes",
            "PartnerId": "partners",
            "PlanId": "plans",
            "PlanTypeId": "plantypes",
        }
        for field, table in references.items():
            if (
                field in body
                and field != spec.id_field
                and body[field] is not None
                and body[field] not in self.tables[table]
            ):
                raise Fault(
                    400,
                    "The request is invalid.",
                    {f"{spec.name[:-1]}.{field}": [f"{field} {body[field]} does not exist."]},
                )
        if spec.name == "devices" and method == "POST":
            subscription = self.tables["subscriptions"][body["SubscriptionId"]]
            if subscription["CompanyId"] != body["CompanyId"]:
                raise Fault(
                    400,
                    "The request is invalid.",
                    {"device.SubscriptionId": ["The subscription belongs to another company."]},
                )
            if windows_zone(body["TimeZoneId"]) is None:
                raise Fault(400, "The request is invalid.", {"device.TimeZoneId": ["Unknown time zone."]})
            if body.get("ExternalId") and any(
                d["ExternalId"] == body["ExternalId"] for d in self.tables["devices"].values()
            ):
                raise Fault(400, "The request is invalid.", {"device.ExternalId": ["ExternalId must be unique."]})

    def _creator(self, resource: str) -> Callable[[SimRequest], httpx.Response]:
        spec = RESOURCES[resource]

        def handler(request: SimRequest) -> httpx.Response:
            body = self._body(request)
            self._refuse_duplicate(body)
            self._check(spec, body, "POST")
            self._remember(body)
            row = {k: v for k, v in body.items() if k != "Token"}
            if resource == "devices":
                row.update(
                    ApiKey=str(uuid.uuid4()),
                    AgentDownloadUrl="https://cleverfoxbackup.com/downloads/agent/CleverFoxBackupAgent.exe",
                    LastAgentDownloadCreated=self._utc_now(),
                )
            created = self._insert(resource, row)
            return json_response(201, {"data": self.render(resource, created)})

        return handler

    def _updater(self, resource: str) -> Callable[[SimRequest], httpx.Response]:
        spec = RESOURCES[resource]

        def handler(request: SimRequest) -> httpx.Response:
            row = self._find(resource, request.path_params["id"])
            body = self._body(request)
            self._refuse_duplicate(body)
            self._check(spec, body, "PUT")
            self._remember(body)
            row.update({k: v for k, v in body.items() if k != "Token"})
            row["UpdatedOn"] = self._utc_now()
            self._changed(resource)
            return json_response(200, {"data": self.render(resource, row)})

        return handler

    def _lookup(self, request: SimRequest) -> httpx.Response:
        external = request.query.get("ExternalId")
        if not external:
            raise Fault(400, "The request is invalid.", {"ExternalId": ["ExternalId is required."]})
        for row in self.tables["devices"].values():
            if row["ExternalId"] == external:
                return json_response(200, {"data": self.render("devices", row)})
        raise Fault(404, f"No Device was found with ExternalId {external}.")

    def _delete_device(self, request: SimRequest) -> httpx.Response:
        row = self._find("devices", request.path_params["id"])
        del self.tables["devices"][row["DeviceId"]]
        for job_id in [k for k, j in self.tables["jobs"].items() if j["DeviceId"] == row["DeviceId"]]:
            del self.tables["jobs"][job_id]
        self._changed()
        return json_response(200, {"data": None})

    def _device_children(self, resource: str) -> Callable[[SimRequest], httpx.Response]:
        def handler(request: SimRequest) -> httpx.Response:
            device = self._find("devices", request.path_params["id"])
            rows = [r for r in self.tables[resource].values() if r["DeviceId"] == device["DeviceId"]]
            return self._page(request, rows, resource)

        return handler

    def _get_next_job(self, request: SimRequest) -> httpx.Response:
        device = self._find("devices", request.path_params["id"])
        self.get_next_job_requests.append(device["DeviceId"])
        return json_response(200, {"data": None})


def _null_children(row: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any] | None:
    return dict(row, **dict.fromkeys(keys)) if row is not None else None


def _windows_zone_names() -> list[str]:
    from tzlocal.windows_tz import win_tz

    return list(win_tz)
