"""An offline vProtect-style backups server.

Session login with a cookie (201, ``JSESSIONID``), 401 once the session has been idle too long (on an
injectable clock) or without one, every backups-controller endpoint with every filter applied to seeded
data (so a filter test proves the filter, not just the query string), ``page``/``size`` paging with
``X-Total-Count``, enums in both shapes (objects, and bare strings on some records), warning
acknowledgement state, and the policies, rules, schedules, virtual machines, hypervisors and tasks the
neutral mapping reads.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from backupbridge.plugin import PageShape, SimRequest, SimulatorBase, SimulatorFault, SimulatorOptions, json_response

__all__ = ["SANDBOX_LOGIN", "SANDBOX_PASSWORD", "VProtectSimulator"]

SANDBOX_LOGIN = "admin"
SANDBOX_PASSWORD = "vprotect-sandbox-7f3e1a"
SANDBOX_BASE_URL = "https://vprotect.sandbox.local:8181/api"
BASE_PATH = "/api"
# Every list: a bare array for ?page= (from 0) &size=, the total in X-Total-Count.
PAGES = PageShape(page="page", size="size", first=0)
SESSION_IDLE = dt.timedelta(minutes=30)
DAY_MS = 24 * 3600 * 1000
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


Check = Callable[[dict[str, Any], dict[str, Any], str], bool]


def _ref_is(row: dict[str, Any], field: str, value: str) -> bool:
    return row[field] is not None and row[field]["guid"] == value


# Each single-valued filter of the backups endpoints: (backup, its hidden facts, the query value) -> kept?
FILTERS: dict[str, Check] = {
    "backup-destination": lambda row, meta, v: meta["destination"] == v,
    "backup-rule": lambda row, meta, v: _ref_is(row, "backupRule", v),
    "cloud-service-provider": lambda row, meta, v: meta["cloud"] == v,
    "storage-provider": lambda row, meta, v: meta["provider"] == v,
    "hypervisor": lambda row, meta, v: meta["hypervisor"] == v,
    "hypervisor-manager": lambda row, meta, v: meta["manager"] == v,
    "node": lambda row, meta, v: meta["node"] == v,
    "parent-backup": lambda row, meta, v: _ref_is(row, "parentBackup", v),
    "root-backup": lambda row, meta, v: meta["root"] == v,
    "project-uuid": lambda row, meta, v: _ref_is(row, "sourceProject", v),
    "protected-entity": lambda row, meta, v: _ref_is(row, "protectedEntity", v),
    "protected-entity-type": lambda row, meta, v: _name(row["protectedEntity"]["type"]) == v,
    "type": lambda row, meta, v: _name(row["type"]) == v,
    "nameLike": lambda row, meta, v: v.lower().strip("%") in (row["protectedEntity"]["name"] or "").lower(),
    "filter": lambda row, meta, v: v.lower() in json.dumps(row).lower(),
    "min-size": lambda row, meta, v: row["size"] >= int(v),
    "from": lambda row, meta, v: row["backupTime"] >= int(v),
    "to": lambda row, meta, v: row["backupTime"] <= int(v),
    "only-mountable": lambda row, meta, v: v != "true" or meta["mountable"],
    "without-hidden": lambda row, meta, v: v != "true" or not row["hidden"],
    "fail-on-non-successful": lambda row, meta, v: v != "true" or _name(row["status"]) in ("FAILED", "PARTIAL_SUCCESS"),
}


class VProtectSimulator(SimulatorBase):
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

    def _guid(self) -> str:
        return str(uuid.UUID(int=self.seeder.random.getrandbits(128)))

    # -- seeding (the data itself: seeding.py) ----------------------------------------------

    def _seed(self) -> None:
        from .seeding import seed

        seed(self)

    # -- filters -----------------------------------------------------------------------------

    def filtered(self, query: httpx.QueryParams) -> list[dict[str, Any]]:
        """The backups the query selects (every documented filter applies), in the order it asks for."""
        key = (self._writes, tuple(sorted((k, v) for k, v in query.multi_items() if k not in ("page", "size"))))
        if self._selection is None or self._selection[0] != key:
            self._selection = (key, self._select(query))
        return self._selection[1]

    def _select(self, query: httpx.QueryParams) -> list[dict[str, Any]]:
        rows = []
        statuses = query.get_list("status")
        policies = query.get_list("backup-policy")
        # The query's filters, looked up once per request rather than once per backup.
        active = [(test, query[name]) for name, test in FILTERS.items() if name in query]
        for key, row in self.backups.items():
            meta = self.internal[key]
            if statuses and _name(row["status"]) not in statuses:
                continue
            if policies and meta["policy"] not in policies:
                continue
            if all(test(row, meta, value) for test, value in active):
                rows.append(row)
        order = query.get("orderBy", "backupTime")
        reverse = query.get("direction", "desc") == "desc"
        return sorted(
            rows,
            key=lambda r: (
                r.get(order) is None,
                str(r.get(order)) if not isinstance(r.get(order), int) else r.get(order),
            ),
            reverse=reverse,
        )

    def _validate(self, query: httpx.QueryParams) -> None:
        allowed = {
            "status": set(STATUS_TEXT),
            "type": {"FULL", "INCREMENTAL", "SYNCHRONIZATION", "SYNTHETIC"},
            "protected-entity-type": {
                "APP",
                "CLOUD",
                "CLOUD_GROUP",
                "CLOUD_SITE",
                "CLOUD_TEAMS",
                "CLOUD_USER",
                "OS",
                "OS_AGENT",
                "STORAGE",
                "VM",
            },
            "direction": {"asc", "desc"},
        }
        for name, values in allowed.items():
            for value in query.get_list(name):
                if value not in values:
                    raise Fault(400, f"Invalid value '{value}' for parameter '{name}'")
        for name in ("from", "to", "min-size", "page", "size"):
            if name in query and not query[name].isdigit():
                raise Fault(400, f"Invalid value '{query[name]}' for parameter '{name}'")

    def _page(self, query: httpx.QueryParams, rows: list[dict[str, Any]]) -> httpx.Response:
        """One page of ``rows`` (every route answering with it declares ``paging=PAGES``)."""
        page = int(query.get("page", "0"))
        size = int(query.get("size", str(max(len(rows), 1))))
        return json_response(200, rows[page * size : (page + 1) * size], {"X-Total-Count": str(len(rows))})

    # -- request handling --------------------------------------------------------------------

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

    def _body(self, request: SimRequest) -> Any:
        try:
            return json.loads(request.body) if request.body else None
        except ValueError:
            raise Fault(400, "Malformed JSON") from None

    def _routes(self) -> None:
        r = self.router.add

        def ok(payload: Any, status: int = 200) -> httpx.Response:
            return json_response(status, payload)

        r("POST", "/session/login", self._login)
        r("GET", "/session", lambda q: httpx.Response(204))
        r("GET", "/backups", lambda q: self._page(q.query, self.filtered(q.query)), paging=PAGES)
        r("GET", "/backups/detailed", lambda q: self._page(q.query, self.filtered(q.query)), paging=PAGES)
        r("GET", "/backups/grouped", lambda q: self._page(q.query, self._grouped(q.query)), paging=PAGES)
        r("GET", "/backups/aggregated-statistics", lambda q: ok(self._by_status(self.filtered(q.query))))
        r("GET", "/backups/grouped/aggregated-statistics", lambda q: ok(self._by_status(self._grouped(q.query))))
        r("GET", "/backups/size-statistics", lambda q: ok(self._sizes(self.filtered(q.query))))
        r("GET", "/backups/time-statistics", lambda q: ok(self._times(self.filtered(q.query))))
        r("PUT", "/backups/warnings-acknowledged", self._acknowledge_batch)
        r("POST", "/backups/transfer-rate/{kind}", self._transfer_rate)
        r("GET", "/backups/timeline/size-stats/{kind}/{guid}", lambda q: ok(self._timeline(q, "size")))
        r("GET", "/backups/timeline/time-stats/{kind}/{guid}", lambda q: ok(self._timeline(q, "duration")))
        r("GET", "/backups/for-restore/{guid}", lambda q: ok(self._backup(q.path_params["guid"])))
        r("PUT", "/backups/{guid}/description", self._describe)
        r("PUT", "/backups/{guid}/warnings", self._set_warnings)
        r("PUT", "/backups/{guid}/warnings-acknowledged", self._acknowledge)
        r("GET", "/backups/{guid}", lambda q: ok(self._backup(q.path_params["guid"])))
        r("POST", "/policies/vm-backup/auto-assignment-preview", lambda q: ok({"toAssign": [], "toRemove": []}))
        for kind in self.policies:
            r("GET", f"/policies/{kind}", self._policy_lister(kind), paging=PAGES)
            r("POST", f"/policies/{kind}", self._policy_creator(kind))
            r(
                "GET",
                f"/policies/{kind}/{{guid}}",
                self._policy_getter(kind),
            )
            r("PUT", f"/policies/{kind}/{{guid}}", self._policy_updater(kind))
            r("DELETE", f"/policies/{kind}/{{guid}}", self._policy_deleter(kind))
        r("POST", "/rules/vm-backup", self._create_rule)
        r("GET", "/rules/vm-backup/{guid}", lambda q: ok(self._find(self.rules, q.path_params["guid"], "rule")))
        r("GET", "/schedules", lambda q: self._page(q.query, list(self.schedules.values())), paging=PAGES)
        r("POST", "/schedules", self._create_schedule)
        r("GET", "/schedules/{guid}", lambda q: ok(self._find(self.schedules, q.path_params["guid"], "schedule")))
        r("PUT", "/schedules/{guid}", self._update_schedule)
        r("DELETE", "/schedules/{guid}", self._delete_schedule)
        r("GET", "/virtual-machines", lambda q: self._page(q.query, list(self.vms.values())), paging=PAGES)
        r("GET", "/virtual-machines/detailed", self._vms_detailed, paging=PAGES)
        r(
            "GET",
            "/virtual-machines/{guid}",
            lambda q: ok(self._find(self.vms, q.path_params["guid"], "virtual machine")),
        )
        r("GET", "/hypervisors", lambda q: self._page(q.query, list(self.hypervisors.values())), paging=PAGES)
        r("POST", "/tasks/export", self._export)
        r("GET", "/tasks", self._tasks, paging=PAGES)
        r("GET", "/tasks/{guid}", lambda q: ok(self._find(self.tasks, q.path_params["guid"], "task")))

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

    def _find(self, table: dict[str, dict[str, Any]], key: str, what: str) -> dict[str, Any]:
        if key not in table:
            raise Fault(404, f"Cannot find {what} with guid {key}")
        return table[key]

    def _backup(self, key: str) -> dict[str, Any]:
        return self._find(self.backups, key, "backup")

    def _grouped(self, query: httpx.QueryParams) -> list[dict[str, Any]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in self.filtered(query):
            groups.setdefault(row["protectedEntity"]["guid"], []).append(row)
        result = []
        for rows in groups.values():
            last = max(rows, key=lambda r: r["backupTime"])
            result.append(dict(last, attempts=len(rows)))
        return result

    def _by_status(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        counts = Counter(_name(r["status"]) or "UNKNOWN" for r in rows)
        return [{"status": enum(name), "count": count} for name, count in sorted(counts.items())]

    def _sizes(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        totals: dict[str, int] = {}
        for row in rows:
            totals[row["protectedEntity"]["guid"]] = totals.get(row["protectedEntity"]["guid"], 0) + row["size"]
        return [
            {"protectedEntity": {"guid": key, "name": self.entities[key]["entity"]["name"]}, "size": size}
            for key, size in totals.items()
        ]

    def _times(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        days: dict[int, list[int]] = {}
        for row in rows:
            days.setdefault(row["backupTime"] // DAY_MS * DAY_MS, []).append(row["backupTime"] - row["snapshotTime"])
        return [
            {"time": day, "count": len(spans), "averageDuration": sum(spans) // len(spans)}
            for day, spans in sorted(days.items())
        ]

    def _timeline(self, request: SimRequest, field: str) -> dict[str, Any]:
        key = request.path_params["guid"]
        if key not in self.entities:
            raise Fault(404, f"Cannot find entity with guid {key}")
        rows = [r for r in self.backups.values() if r["protectedEntity"]["guid"] == key]
        since, until = int(request.query.get("from", "0")), int(request.query.get("to", str(2**62)))
        points = [
            {"time": r["backupTime"], field: r["size"] if field == "size" else r["backupTime"] - r["snapshotTime"]}
            for r in sorted(rows, key=lambda r: r["backupTime"])
            if since <= r["backupTime"] <= until
        ]
        return {"protectedEntity": {"guid": key, "type": enum(request.path_params["kind"])}, "points": points}

    def _transfer_rate(self, request: SimRequest) -> httpx.Response:
        body = self._body(request) or {}
        entity = (body.get("protectedEntity") or {}).get("guid")
        rows = [r for r in self.backups.values() if entity is None or r["protectedEntity"]["guid"] == entity]
        rows = [r for r in rows if body.get("from", 0) <= r["backupTime"] <= body.get("to", 2**62)]
        rates = [
            {"time": r["backupTime"], "rate": r["size"] // max((r["backupTime"] - r["snapshotTime"]) // 1000, 1)}
            for r in rows
        ]
        return json_response(201, rates)

    def _describe(self, request: SimRequest) -> httpx.Response:
        row = self._backup(request.path_params["guid"])
        body = self._body(request)
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            raise Fault(400, 'Expected {"value": "..."}')
        row["description"] = body["value"]
        return json_response(200, row)

    def _set_warnings(self, request: SimRequest) -> httpx.Response:
        row = self._backup(request.path_params["guid"])
        body = self._body(request)
        if not isinstance(body, list) or not all(isinstance(w, dict) and isinstance(w.get("value"), str) for w in body):
            raise Fault(400, 'Expected [{"value": "..."}]')
        row["warnings"] = [w["value"] for w in body]
        row["warningsPresent"] = bool(row["warnings"])
        return json_response(200, row)

    def _acknowledge(self, request: SimRequest) -> httpx.Response:
        row = self._backup(request.path_params["guid"])
        body = self._body(request)
        if not isinstance(body, dict) or not isinstance(body.get("value"), bool):
            raise Fault(400, 'Expected {"value": true|false}')
        row["warningsAcknowledged"] = body["value"]
        return json_response(200, row)

    def _acknowledge_batch(self, request: SimRequest) -> httpx.Response:
        body = self._body(request)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("value"), bool)
            or not isinstance(body.get("backups"), list)
        ):
            raise Fault(400, 'Expected {"backups": [{"guid": ...}], "value": true|false}')
        rows = [self._backup(item.get("guid", "")) for item in body["backups"]]
        for row in rows:
            row["warningsAcknowledged"] = body["value"]
        return json_response(200, rows)

    def _policy_lister(self, kind: str) -> Callable[[SimRequest], httpx.Response]:
        def handler(request: SimRequest) -> httpx.Response:
            rows = list(self.policies[kind].values())
            project = request.query.get("project-uuid") or request.query.get("project")
            if project:
                rows = [p for p in rows if p["project"]["guid"] == project]
            if "nameLike" in request.query:
                rows = [p for p in rows if request.query["nameLike"].lower().strip("%") in p["name"].lower()]
            if "virtual-machine" in request.query:
                vm = self.vms.get(request.query["virtual-machine"])
                rows = [
                    p
                    for p in rows
                    if vm is not None and vm["vmBackupPolicy"] and vm["vmBackupPolicy"]["guid"] == p["guid"]
                ]
            for row in rows:
                if kind == "vm-backup":
                    row["vmCount"] = sum(
                        1
                        for v in self.vms.values()
                        if v["vmBackupPolicy"] and v["vmBackupPolicy"]["guid"] == row["guid"]
                    )
            return self._page(request.query, rows)

        return handler

    def _policy_getter(self, kind: str) -> Callable[[SimRequest], httpx.Response]:
        def handler(request: SimRequest) -> httpx.Response:
            return json_response(200, self._find(self.policies[kind], request.path_params["guid"], "policy"))

        return handler

    def _policy_creator(self, kind: str) -> Callable[[SimRequest], httpx.Response]:
        def handler(request: SimRequest) -> httpx.Response:
            body = self._body(request)
            if not isinstance(body, dict) or not body.get("name"):
                raise Fault(400, "Policy name is required")
            key = str(uuid.uuid4())
            self.policies[kind][key] = {
                "active": True,
                "priority": 50,
                "rules": [],
                "ruleCount": 0,
                "backupDestinations": [],
                "autoAssignMode": "DISABLED",
                "project": None,
                **body,
                "guid": key,
            }
            policy = self.policies[kind][key]
            for item in body.get("vms") or []:
                vm = self.vms.get(item.get("guid", "")) if isinstance(item, dict) else None
                if vm is None:
                    del self.policies[kind][key]
                    raise Fault(404, f"Cannot find virtual machine with guid {item}")
                vm["vmBackupPolicy"] = ref(policy)
            return json_response(201, policy)

        return handler

    def _policy_updater(self, kind: str) -> Callable[[SimRequest], httpx.Response]:
        def handler(request: SimRequest) -> httpx.Response:
            row = self._find(self.policies[kind], request.path_params["guid"], "policy")
            body = self._body(request)
            if not isinstance(body, dict):
                raise Fault(400, "Expected a policy")
            keys: list[str] = []
            if "vms" in body:  # the machines the policy holds now: every one known, or nothing changes
                listed = body["vms"]
                if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
                    raise Fault(400, 'Expected "vms": [{"guid": ...}]')
                keys = [item.get("guid") for item in listed]
                unknown = [k for k in keys if not isinstance(k, str) or k not in self.vms]
                if unknown:
                    raise Fault(404, f"Cannot find virtual machine with guid {unknown[0]}")
                for vm in self.vms.values():
                    if vm.get("vmBackupPolicy") and vm["vmBackupPolicy"]["guid"] == row["guid"]:
                        vm["vmBackupPolicy"] = None
            row.update({k: v for k, v in body.items() if k != "guid"})
            for key in keys:
                self.vms[key]["vmBackupPolicy"] = ref(row)
            return json_response(200, row)

        return handler

    def _policy_deleter(self, kind: str) -> Callable[[SimRequest], httpx.Response]:
        def handler(request: SimRequest) -> httpx.Response:
            self._find(self.policies[kind], request.path_params["guid"], "policy")
            del self.policies[kind][request.path_params["guid"]]
            for vm in self.vms.values():
                if vm.get("vmBackupPolicy") and vm["vmBackupPolicy"]["guid"] == request.path_params["guid"]:
                    vm["vmBackupPolicy"] = None
            return httpx.Response(204)

        return handler

    def _create_rule(self, request: SimRequest) -> httpx.Response:
        body = self._body(request)
        if not isinstance(body, dict) or not body.get("name") or not isinstance(body.get("policy"), dict):
            raise Fault(400, "A rule needs a name and a policy")
        policy = next(
            (p for table in self.policies.values() for key, p in table.items() if key == body["policy"].get("guid")),
            None,
        )
        if policy is None:
            raise Fault(404, f"Cannot find policy with guid {body['policy'].get('guid')}")
        for item in body.get("schedules") or []:
            self._find(self.schedules, item.get("guid", ""), "schedule")
        key = str(uuid.uuid4())
        self.rules[key] = {
            "guid": key,
            "name": body["name"],
            "schedules": body.get("schedules") or [],
            "policy": ref(policy),
            "backupDestinations": [],
        }
        policy["rules"].append({"guid": key, "name": body["name"]})
        policy["ruleCount"] = len(policy["rules"])
        for item in body.get("schedules") or []:  # each schedule names the rules and policies using it
            schedule = self.schedules[item["guid"]]
            schedule.setdefault("rules", []).append({"guid": key, "name": body["name"]})
            schedule.setdefault("policies", []).append(ref(policy))
        return json_response(201, self.rules[key])

    def _create_schedule(self, request: SimRequest) -> httpx.Response:
        body = self._body(request)
        if not isinstance(body, dict) or not body.get("name") or not body.get("executionType"):
            raise Fault(400, "A schedule needs a name and an executionType")
        key = str(uuid.uuid4())
        self.schedules[key] = {
            "active": True,
            "rules": [],
            "policies": [],
            "daysOfWeek": [],
            "months": [],
            **body,
            "guid": key,
        }
        return json_response(201, self.schedules[key])

    def _update_schedule(self, request: SimRequest) -> httpx.Response:
        row = self._find(self.schedules, request.path_params["guid"], "schedule")
        body = self._body(request)
        if not isinstance(body, dict):
            raise Fault(400, "Expected a schedule")
        row.update({k: v for k, v in body.items() if k != "guid"})
        return json_response(200, row)

    def _delete_schedule(self, request: SimRequest) -> httpx.Response:
        self._find(self.schedules, request.path_params["guid"], "schedule")
        del self.schedules[request.path_params["guid"]]
        return httpx.Response(204)

    def _vms_detailed(self, request: SimRequest) -> httpx.Response:
        rows = list(self.vms.values())
        if "filter" in request.query:
            rows = [v for v in rows if request.query["filter"].lower() in v["name"].lower()]
        return self._page(request.query, rows)

    def _tasks(self, request: SimRequest) -> httpx.Response:
        rows = list(self.tasks.values())
        for name, read in (
            ("protectedEntity", lambda t: t["protectedEntity"]["guid"]),
            ("state", lambda t: _name(t["state"])),
            ("type", lambda t: _name(t["type"])),
            ("backup", lambda t: t.get("backup")),
            ("schedule", lambda t: t.get("schedule")),
            ("tenantId", lambda t: t.get("tenantId")),
        ):
            if name in request.query:
                rows = [t for t in rows if read(t) == request.query[name]]
        return self._page(request.query, rows)

    def _export(self, request: SimRequest) -> httpx.Response:
        body = self._body(request)
        if (
            not isinstance(body, dict)
            or not body.get("protectedEntities")
            or not isinstance(body.get("backupDestination"), dict)
        ):
            raise Fault(400, "protectedEntities and backupDestination are required")
        created = []
        for item in body["protectedEntities"]:
            vm = self._find(self.vms, item.get("guid", ""), "virtual machine")
            key = str(uuid.uuid4())
            self.tasks[key] = {
                "guid": key,
                "type": enum("EXPORT"),
                "state": enum("QUEUED"),
                "progress": 0,
                "priority": body.get("priority", 50),
                "windowStart": body.get("windowStart", _ms(self.now())),
                "windowEnd": body.get("windowEnd"),
                "protectedEntity": {**ref(vm), "type": enum("VM")},
                "backupDestination": body["backupDestination"],
                "backupType": enum(body.get("backupType", "INCREMENTAL")),
                "hypervisor": vm["hypervisor"],
                "node": None,
            }
            created.append(self.tasks[key])
        self.exports.append(body)
        return json_response(201, created)
