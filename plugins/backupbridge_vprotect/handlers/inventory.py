"""The virtual machines, the hypervisors and the tasks (listed with their filters; an export starts one task
per machine)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from backupbridge.plugin import SimRequest, json_response

from .common import PAGES, Fault, SimState, _ms, _name, enum, ref


class InventoryHandlers(SimState):
    def _route_inventory(self) -> None:
        r = self.router.add

        def ok(payload: Any, status: int = 200) -> httpx.Response:
            return json_response(status, payload)

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
