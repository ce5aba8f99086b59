"""Policies of the four kinds, their rules and the schedules: listed, read, created (a policy's machines
assigned), updated (``vms`` reassigns them), deleted (its machines released); a rule names its schedules,
and each schedule the rules and policies using it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from backupbridge.plugin import SimRequest, json_response

from .common import PAGES, Fault, SimState, ref


class PolicyHandlers(SimState):
    def _route_policies(self) -> None:
        r = self.router.add

        def ok(payload: Any, status: int = 200) -> httpx.Response:
            return json_response(status, payload)

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
