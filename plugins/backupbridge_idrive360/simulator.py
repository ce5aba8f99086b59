"""An offline IDrive 360 MSP API that behaves as the docs say.

Bearer auth with the documented 401 bodies, the documented error envelope and status codes, state
that changes (created companies and plans appear; a new plan replaces a device's plan in the same
backup set and reports it under ``conflicts``; inactive devices land in ``not_applied_to``;
``dry_run=true`` changes nothing), and seeded, realistic, deterministic data of any size.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import httpx

from backupbridge.plugin import WHOLE_ARRAY, SimRequest, SimulatorBase, SimulatorFault, SimulatorOptions, json_response

from .vocabulary import BACKUP_SETS, BUILD_TYPES, NOTIFY_TYPES, email_problems, plan_problems

__all__ = ["SANDBOX_API_KEY", "IDrive360Simulator"]

SANDBOX_API_KEY = "idr-sandbox-3f9c2a7d41e8b605"
BASE_PATH = "/api/msp"
SETUP_ROOT = "https://api.idrive360.com/api/v1/download/setup"

_MESSAGES = {
    "authentication_failed": "Authentication failed.",
    "entity_not_found": (
        "The specified entity being addressed either does not exist or is invalid. The request should not "
        "be retried without modification or until the indicated entity is set up."
    ),
    "invalid_parameter": "One or more parameters of the request are invalid.",
    "invalid_request": "The request is invalid.",
    "processing_fault": "An internal processing error occurred while parsing JSON object",
    "same_state": "The entity is already in the requested state.",
}
_STATUS = {
    "authentication_failed": 401,
    "entity_not_found": 400,
    "invalid_parameter": 400,
    "invalid_request": 400,
    "processing_fault": 500,
    "same_state": 400,
}
_INACTIVE = ("blocked", "archived", "canceled")
_FAILURE_REASONS = (
    "Network connection lost during upload",
    "Access denied: C:\\Users\\Public\\Documents\\ledger.xlsx",
    "Backup quota exceeded for this account",
    "Volume Shadow Copy Service error",
    "Destination not reachable",
)


class VendorFault(SimulatorFault):
    """Raised inside a handler: answered with the documented error envelope."""

    def __init__(
        self, base_type: str, errors: Sequence[tuple[str, str | None, str]] = (), status: int | None = None
    ) -> None:
        super().__init__(base_type)
        self.base_type = base_type
        self.errors = list(errors)
        self.status = status or _STATUS[base_type]

    def response(self) -> httpx.Response:
        body: dict[str, Any] = {
            "ok": False,
            "type": self.base_type,
            "message": _MESSAGES.get(self.base_type, self.base_type),
            "code": self.status,
        }
        if self.errors:
            body["errors"] = [{"type": t, **({"field": f} if f else {}), "message": m} for t, f, m in self.errors]
        return json_response(self.status, body)


def _not_found(field: str, what: str) -> VendorFault:
    return VendorFault(
        "entity_not_found",
        [
            (
                "entity_not_found",
                field,
                f"The entity corresponding to the {what} specified cannot be found, not-active or not-configured",
            )
        ],
    )


def _invalid(field: str, message: str) -> VendorFault:
    return VendorFault("invalid_parameter", [("invalid_parameter", field, message)])


def _bool_query(request: SimRequest, name: str, default: bool) -> bool:
    value: str | None = request.query.get(name)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise _invalid(name, f"{name} must be true or false")
    return value.lower() == "true"


def _int_query(request: SimRequest, name: str) -> int | None:
    value = request.query.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise _invalid(name, f"{name} must be a number")
    return int(value)


@attrs.define
class _Company:
    company_id: int
    name: str
    parent: int | None
    token: str
    status: int = 1


def _iso(value: dt.datetime | None) -> str | None:
    # The API's timestamps carry milliseconds and no zone, e.g. 2025-06-11T11:12:58.000.
    return value.strftime("%Y-%m-%dT%H:%M:%S.000") if value else None


class IDrive360Simulator(SimulatorBase):
    """The simulator. ``handle(request)`` answers one ``httpx.Request``."""

    base_path = BASE_PATH
    fault_type = VendorFault

    def __init__(self, options: SimulatorOptions | None = None, *, api_key: str = SANDBOX_API_KEY) -> None:
        super().__init__(options)
        self.api_key = api_key
        self.credentials = {"api_key": api_key}
        self.companies: dict[int, _Company] = {}
        self.devices: dict[str, dict[str, Any]] = {}  # device_id -> wire summary
        self.device_sets: dict[str, dict[str, str]] = {}  # device_id -> backup_set -> backup_id
        self.plans: dict[str, dict[str, Any]] = {}  # backup_id -> wire plan (without devices)
        self.plan_company: dict[str, int] = {}
        self.notifications: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
        self._next_company = 15020 + self.options.seed % 1000
        self._next_plan = 406717
        self.root = self._add_company("default", None)
        for method, path, handler in (
            ("GET", "/company", self._company_summary),
            ("POST", "/company", self._create_company),
            ("GET", "/company/fetch_config_id", self._fetch_config_id),
            ("GET", "/company/name", self._company_by_name),
            ("GET", "/device/summary", self._device_summary),
            ("PUT", "/device/backup_plan/email_notification", self._update_notification),
            ("POST", "/backup_plan", self._create_plan),
            ("GET", "/backup_plan", self._fetch_plans),
        ):
            # The lists come whole, as bare arrays (the docs show no paging).
            self.router.add(
                method, path, handler, paging=WHOLE_ARRAY if method == "GET" and path != "/company" else None
            )
        self._seed()

    def device_ids(self) -> set[str]:
        return set(self.devices)

    # -- seeding (the data itself: seeding.py) ----------------------------------------------

    def _seed(self) -> None:
        from .seeding import seed

        seed(self)

    def _add_company(self, name: str, parent: int | None) -> _Company:
        company = _Company(self._next_company, name, parent, self.seeder.token(6).upper() + str(self._next_company))
        self._next_company += 1
        self.companies[company.company_id] = company
        return company

    # -- state changes -----------------------------------------------------------------------

    @staticmethod
    def _backup_set(body: Mapping[str, Any]) -> str:
        details = body["backup_details"]
        if details["what_to_backup"] == "ENTIRE_MACHINE":
            return "ENTIRE_MACHINE"
        return "LOCAL" if details["where_to_backup"] == "LOCAL" else "DEFAULT"

    def _store_plan(self, company_id: int, body: Mapping[str, Any]) -> str:
        backup_id = str(self._next_plan)
        self._next_plan += 1
        scheduler = body["scheduler"]
        details = dict(body["backup_details"])
        schedule_info: dict[str, Any] = {
            "email": ",".join(scheduler.get("email") or []),
            "start_missed_backup": bool(scheduler.get("start_missed_backup", False)),
            "frequency_type": scheduler["frequency_type"],
            "time": scheduler["time"],
            "send_email_notification": scheduler.get("send_email_notification", "NEVER"),
            "scheduler_disabled": bool(scheduler.get("disable_schedule", False)),
        }
        for key in ("days", "months", "dates", "daily_mode", "cutoff_time"):
            if scheduler.get(key) is not None:
                schedule_info[key] = scheduler[key]
        if scheduler["frequency_type"] == "DAILY" and "days" not in schedule_info:
            # The docs' example shows a DAILY plan read back with its days listed.
            mode = scheduler.get("daily_mode")
            schedule_info["days"] = ["MON", "TUE", "WED", "THU", "FRI"] if mode == "WEEKDAYS" else ["ALL"]
        self.plans[backup_id] = {
            "backup_id": backup_id,
            "name": body["name"],
            "backup_set": self._backup_set(body),
            "is_backup_enabled": True,
            "exclude_system": bool(body.get("exclude_system", False)),
            "exclude_hidden": bool(body.get("exclude_hidden", False)),
            "backup_details": details,
            "cdp_enabled": bool(body.get("enable_cdp", False)),
            "schedule_info": schedule_info,
        }
        if body.get("enable_cdp"):
            self.plans[backup_id]["cdp_frequency"] = body.get("cdp_frequency")
        if body.get("exclude_partial"):
            self.plans[backup_id]["exclude_partial"] = body["exclude_partial"]
        self.plan_company[backup_id] = company_id
        return backup_id

    def _apply(self, backup_id: str, device_ids: list[str]) -> None:
        plan = self.plans[backup_id]
        backup_set = plan["backup_set"]
        emails = tuple(e for e in plan["schedule_info"]["email"].split(",") if e)
        for device_id in device_ids:
            self.device_sets[device_id][backup_set] = backup_id
            self.notifications[(device_id, backup_set)] = (plan["schedule_info"]["send_email_notification"], emails)

    def _plan_devices(self, backup_id: str) -> list[dict[str, Any]]:
        result = []
        for device_id, sets in self.device_sets.items():
            if backup_id not in sets.values():
                continue
            entry = dict(self.devices[device_id])
            entry["next_scheduled_backupset_name"] = next(iter(sets))
            entry["user_backup_sets"] = {
                name: {"backup_id": pid, "backup_name": self.plans[pid]["name"]} for name, pid in sets.items()
            }
            result.append(entry)
        return result

    # -- request handling --------------------------------------------------------------------

    def no_route(self, request: SimRequest, path_known: bool) -> VendorFault:
        return VendorFault(
            "invalid_request",
            [("invalid_request", None, f"No endpoint {request.method} {request.path}")],
            status=405 if path_known else 404,
        )

    def authenticate(self, request: SimRequest) -> None:
        header = request.headers.get("authorization")
        if header is None:
            raise VendorFault(
                "authentication_failed",
                [("missing_authorization_header", None, "The authorization header with the API_KEY is missing")],
            )
        scheme, _, key = header.partition(" ")
        if scheme != "Bearer" or not key.strip() or " " in key.strip():
            raise VendorFault(
                "authentication_failed",
                [
                    (
                        "malformed_authorization_header",
                        None,
                        "The authorization header is malformed, the accepted format is 'Bearer <API_KEY>'",
                    )
                ],
            )
        if key.strip() != self.api_key:
            raise VendorFault("authentication_failed", [("authentication_failed", None, "The API key is not valid")])

    def _body(self, request: SimRequest) -> Any:
        try:
            return request.json()
        except ValueError:
            raise VendorFault(
                "processing_fault",
                [("processing_fault", None, "An internal processing error occurred while parsing JSON object")],
            ) from None

    def _company(self, company_id: int | None) -> _Company:
        if company_id is None:
            return self.root
        company = self.companies.get(company_id)
        if company is None:
            raise _not_found("company_id", "company id")
        return company

    def _config_id(self, company: _Company, private_encryption: bool = False, full_client: bool = False) -> str:
        payload = {"token": company.token, "encryptionRequired": private_encryption, "desktopAppStatus": full_client}
        return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")

    def _company_json(self, company: _Company, *, with_subs: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": company.name,
            "status": company.status,
            "company_id": company.company_id,
            "status_description": "Active" if company.status == 1 else "Inactive",
            "configuration_id": self._config_id(company),
            "setup_link": f"{SETUP_ROOT}/win/{company.token}",
        }
        if with_subs:
            data["sub_company_list"] = [
                self._company_json(c, with_subs=True) for c in self.companies.values() if c.parent == company.company_id
            ]
        return data

    def _company_summary(self, request: SimRequest) -> httpx.Response:
        company = self._company(_int_query(request, "company_id"))
        return json_response(200, self._company_json(company, with_subs=company is self.root))

    def _fetch_config_id(self, request: SimRequest) -> httpx.Response:
        company = self._company(_int_query(request, "company_id"))
        private = _bool_query(request, "private_encryption", False)
        full = _bool_query(request, "full_client", False)
        build = (request.query.get("build_type") or "WIN").upper()
        if build not in BUILD_TYPES:
            raise _invalid("build_type", f"build_type must be one of {', '.join(BUILD_TYPES)}")
        return json_response(
            200,
            {
                "name": company.name,
                "company_id": company.company_id,
                "configuration_id": self._config_id(company, private, full),
                "setup_link": f"{SETUP_ROOT}/{build.lower()}/{company.token}",
            },
        )

    def _create_company(self, request: SimRequest) -> httpx.Response:
        body = self._body(request)
        if not isinstance(body, dict):
            raise _invalid("name", "The request body must be a JSON object")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _invalid("name", "The name field is mandatory")
        parent_id = body.get("company_id")
        if parent_id is not None and (isinstance(parent_id, bool) or not str(parent_id).isdigit()):
            raise _invalid("company_id", "company_id must be a number")
        parent = self._company(int(parent_id) if parent_id is not None else None)
        company = self._add_company(name.strip(), parent.company_id)
        return json_response(201, self._company_json(company, with_subs=False))

    def _company_by_name(self, request: SimRequest) -> httpx.Response:
        name = request.query.get("name")
        if not name:
            raise _invalid("name", "The name parameter is required")
        case_sensitive = _bool_query(request, "case_sensitive", False)
        exact = _bool_query(request, "exact", True)
        wanted = name if case_sensitive else name.lower()

        def matches(candidate: str) -> bool:
            value = candidate if case_sensitive else candidate.lower()
            return value == wanted if exact else wanted in value

        found = [self._company_json(c, with_subs=False) for c in self.companies.values() if matches(c.name)]
        return json_response(200, found)

    def _device_summary(self, request: SimRequest) -> httpx.Response:
        company_id = _int_query(request, "company_id")
        device_id = request.query.get("device_id")
        if company_id is not None:
            self._company(company_id)
        if device_id is not None:
            device = self.devices.get(device_id)
            if device is None or (company_id is not None and device["company_id"] != str(company_id)):
                raise _not_found("device_id", "device id")
            return json_response(200, [device])
        if company_id is None:
            return json_response(200, list(self.devices.values()))
        wanted = str(company_id)
        return json_response(200, [d for d in self.devices.values() if d["company_id"] == wanted])

    def _update_notification(self, request: SimRequest) -> httpx.Response:
        body = self._body(request)
        if not isinstance(body, dict):
            raise _invalid("device_id", "The request body must be a JSON object")
        device = self.devices.get(body.get("device_id"))  # type: ignore[arg-type]
        if device is None or device["status"] in _INACTIVE:
            raise _not_found("device_id", "device id")
        backup_set = body.get("backup_set")
        if backup_set not in BACKUP_SETS:
            raise _invalid("backup_set", f"backup_set must be one of {', '.join(BACKUP_SETS)}")
        if backup_set not in self.device_sets[device["device_id"]]:
            raise _not_found("backup_set", "backup set")
        ntype = body.get("type")
        if ntype not in NOTIFY_TYPES:
            raise _invalid("status", f"type must be one of {', '.join(NOTIFY_TYPES)}")
        problems = email_problems("emails", body.get("emails"))
        if problems:
            raise _invalid(*problems[0])
        key = (device["device_id"], backup_set)
        new = (ntype, tuple(body["emails"]))
        if self.notifications.get(key) == new:
            raise VendorFault(
                "same_state",
                [("same_state", "emails", "The email notification settings are already in the requested state")],
            )
        self.notifications[key] = new
        return json_response(200, {"ok": True, "message": "Email notification settings updated successfully"})

    def _create_plan(self, request: SimRequest) -> httpx.Response:
        dry_run = _bool_query(request, "dry_run", False)
        body = self._body(request)
        problems = plan_problems(body)
        if problems:
            raise VendorFault("invalid_parameter", [("invalid_parameter", f, m) for f, m in problems])
        company = self._company(int(body["company_id"]) if body.get("company_id") is not None else None)
        device_ids = list(body.get("device_ids") or [])
        for device_id in device_ids:
            device = self.devices.get(device_id)
            if device is None or device["company_id"] != str(company.company_id):
                raise _not_found("device_id", "device id")
        backup_set = self._backup_set(body)
        applied, not_applied, conflicts = [], [], []
        for device_id in device_ids:
            device = self.devices[device_id]
            unsupported = backup_set == "ENTIRE_MACHINE" and device["os"] != "windows"
            if device["status"] in _INACTIVE or unsupported:
                not_applied.append(device_id)
                continue
            applied.append(device_id)
            previous = self.device_sets[device_id].get(backup_set)
            if previous is not None:
                conflicts.append({"device_id": device_id, "plan_name": self.plans[previous]["name"]})
        backup_id = None
        if not dry_run:
            backup_id = self._store_plan(company.company_id, body)
            self._apply(backup_id, applied)
        return json_response(
            200 if dry_run else 201,
            {
                "conflicts": conflicts,
                "backup_id": backup_id,
                "where_to_backup": body["backup_details"]["where_to_backup"],
                "applied_to": ",".join(applied),
                "not_applied_to": ",".join(not_applied),
                "status": 200 if dry_run else 201,
            },
        )

    def _plan_json(self, backup_id: str) -> dict[str, Any]:
        plan = dict(self.plans[backup_id])
        devices = self._plan_devices(backup_id)
        plan["backup_applied_on"] = ",".join(d["device_id"] for d in devices)
        plan["devices"] = devices
        return plan

    def _fetch_plans(self, request: SimRequest) -> httpx.Response:
        company = self._company(_int_query(request, "company_id"))
        backup_id = request.query.get("backup_id")
        if backup_id is not None:
            if self.plan_company.get(backup_id) != company.company_id:
                raise _not_found("backup_policy", "backup plan id")
            return json_response(200, [self._plan_json(backup_id)])
        ids = [pid for pid, cid in self.plan_company.items() if cid == company.company_id]
        return json_response(200, [self._plan_json(pid) for pid in ids])
