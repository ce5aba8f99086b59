"""Computers (endpoints) and Monitoring: the computers, their disks, plans and run history, and the latest run
of every plan as the Monitoring rows render it."""

from __future__ import annotations

from typing import Any

import httpx

from backupbridge.plugin import WHOLE_ARRAY, PageShape, SimRequest, json_response

from .common import OK_RESULT, Fault, SimState, iso, not_found, ok

# Only Computers and run history page, by path, in a {"Count", <list>} envelope; the other lists are whole.
COMPUTERS = PageShape(offset="offset", count="count", items="Computers")
HISTORY = PageShape(offset="offset", count="count", items="History")
RUNNING = 3  # Monitoring status of a plan that runs
_RUN_ONLY = ("ErrorMessage", "FilesCopied", "FilesFailed", "DataCopied", "Duration")  # not in a plan listing


class ComputerHandlers(SimState):
    def _route_computers(self) -> None:
        r = self.router.add
        # history paths before /Computers/{offset}/{count}
        r("GET", "/Computers/Plans/history/{offset}/{count}", self._all_history, paging=HISTORY)
        r("GET", "/Computers/{hid}/Plans/history/{offset}/{count}", self._computer_history, paging=HISTORY)
        r("GET", "/Computers/{hid}/Disks", lambda q: ok(self._disks(q.path_params["hid"])))
        r("GET", "/Computers/{hid}/Plans", lambda q: ok(self._computer_plans(q.path_params["hid"])), paging=WHOLE_ARRAY)
        r("POST", "/Computers/{hid}/Plans", self._create_plan)
        r("GET", "/Computers/{hid}/Plans/{pid}/info", lambda q: ok(self._plan_info(q)))
        r(
            "GET",
            "/Computers/{hid}/Plans/{pid}/history",
            lambda q: ok(self.history.get(self._plan(q)["Id"], [])),
            paging=WHOLE_ARRAY,
        )
        r("POST", "/Computers/{hid}/Plans/{pid}/start", self._start_plan)
        r("POST", "/Computers/{hid}/Plans/{pid}/stop", self._stop_plan)
        r("GET", "/Computers/{hid}/Plans/{pid}", lambda q: ok(self._plan(q)))
        r("PUT", "/Computers/{hid}/Plans/{pid}", lambda q: ok(self._plan(q).update(self._obj(q)) or self._plan(q)))
        r("DELETE", "/Computers/{hid}/Plans/{pid}", self._delete_plan)
        r("GET", "/Computers/{hid}/Statistics", lambda q: ok(self._computer(q.path_params["hid"])["BackupStats"]))
        r("GET", "/Computers/{hid}/Usage", lambda q: ok(self._usage(q.path_params["hid"])))
        r("POST", "/Computers/{hid}/authorization", self._authorize)
        r("DELETE", "/Computers/{hid}/authorization", self._deauthorize)
        r("GET", "/Computers/{hid}", lambda q: ok(self._computer(q.path_params["hid"])))
        # Last: two free segments would otherwise swallow "/Computers/{hid}/Plans" and its siblings.
        r("GET", "/Computers/{offset}/{count}", self._computer_page, paging=COMPUTERS)

    def _route_monitoring(self) -> None:
        r = self.router.add
        r("GET", "/Monitoring", lambda q: ok(self.monitoring_rows()), paging=WHOLE_ARRAY)
        r(
            "GET",
            "/Monitoring/{id}",
            lambda q: ok(self.monitoring_rows(self._known_user(q.path_params["id"]), online_only=True)),
            paging=WHOLE_ARRAY,
        )

    # -- monitoring --------------------------------------------------------------------------

    def monitoring_rows(self, user_id: str | None = None, online_only: bool = False) -> list[dict[str, object]]:
        """The Monitoring rows: the latest run of each plan, of one user's online computers when asked."""
        rows: list[dict[str, object]] = []
        for hid, computer in self.computers.items():
            if user_id is not None and computer["UserID"] != user_id:
                continue
            if online_only and not computer["Apps"][0]["Online"]:
                continue
            user = self.users.get(computer["UserID"], {})
            for plan in self.plans.get(hid, []):
                rows.append(
                    {
                        "PlanName": plan["Name"],
                        "CompanyName": computer["CompanyName"],
                        "UserName": user.get("Email"),
                        "UserID": computer["UserID"],
                        "ComputerName": computer["ComputerName"],
                        "BuildVersion": computer["Apps"][0]["Version"],
                        "StorageType": plan["StorageType"],
                        "LastStart": plan["LastStart"],
                        "NextStart": plan["NextStart"],
                        "Status": plan["Status"],
                        "ErrorMessage": plan["ErrorMessage"],
                        "FilesCopied": plan["FilesCopied"],
                        "FilesFailed": plan["FilesFailed"],
                        "DataCopied": plan["DataCopied"],
                        "Duration": plan["Duration"],
                        "DataToBackup": plan["DataCopied"],
                        "TotalData": plan["DataCopied"] * 3,
                        "FilesScanned": plan["FilesCopied"] * 2,
                        "FilesToBackup": plan["FilesCopied"],
                        "PlanId": plan["Id"],
                        "PlanType": plan["Type"],
                        "DetailedReportLink": f"https://mspbackups.com/reports/{plan['Id']}",
                    }
                )
        return rows

    # -- computers ---------------------------------------------------------------------------

    def _computer_page(self, request: SimRequest) -> httpx.Response:
        return self._page(request, list(self.computers.values()), "Computers")

    def _computer_plans(self, key: str) -> list[dict[str, Any]]:
        self._computer(key)
        return [{k: v for k, v in plan.items() if k not in _RUN_ONLY} for plan in self.plans.get(key.strip("{}"), [])]

    def _disks(self, key: str) -> list[dict[str, Any]]:
        computer = self._computer(key)
        if "Windows" in computer["OSTypeString"]:
            return [
                {"Name": "C:", "Label": "System", "FileSystem": "NTFS", "Size": 512 * 2**30, "FreeSpace": 120 * 2**30}
            ]
        return [{"Name": "/", "Label": None, "FileSystem": "ext4", "Size": 256 * 2**30, "FreeSpace": 80 * 2**30}]

    def _usage(self, key: str) -> dict[str, Any]:
        computer = self._computer(key)
        return {"UsedSpace": sum(p["DataCopied"] for p in self.plans.get(computer["ComputerHID"], []))}

    def _authorize(self, request: SimRequest) -> httpx.Response:
        computer = self._computer(request.path_params["hid"])
        user_id = self._obj(request).get("UserId")
        if user_id not in self.users:
            return json_response(404, {"ErrorCode": -6, "Message": f'Object "{user_id}" not found'})
        computer.update(UserID=user_id, LostAuth=False, UserEmail=self.users[user_id]["Email"])
        return json_response(200, dict(OK_RESULT))

    def _deauthorize(self, request: SimRequest) -> httpx.Response:
        self._computer(request.path_params["hid"]).update(
            LostAuth=True, LostAuthChangeDate=iso(self.now().replace(tzinfo=None))
        )
        return json_response(200, None)

    # -- plans -------------------------------------------------------------------------------

    def _plan(self, request: SimRequest) -> dict[str, Any]:
        key = request.path_params["hid"].strip("{}")
        self._computer(key)
        for plan in self.plans.get(key, []):
            if plan["Id"] == request.path_params["pid"]:
                return plan
        raise not_found(request.path_params["pid"])

    def _plan_info(self, request: SimRequest) -> dict[str, Any]:
        plan = self._plan(request)
        return {
            "PlanId": plan["Id"],
            "Name": plan["Name"],
            "Status": plan["Status"],
            "LastStart": plan["LastStart"],
            "NextStart": plan["NextStart"],
            "IsRunning": plan["Status"] == RUNNING,
        }

    def _create_plan(self, request: SimRequest) -> httpx.Response:
        key = request.path_params["hid"].strip("{}")
        self._computer(key)
        body = self._obj(request)
        if not body.get("Name"):
            raise Fault(400, "The Name field is required.", code=-1)
        pid = self._new_key()
        self.plans[key].append(
            {
                "Id": pid,
                "Name": body["Name"],
                "Type": body.get("Type", 3),
                "Status": 4,
                "LastStart": None,
                "NextStart": None,
                "StorageType": body.get("StorageType"),
                "IsEnabled": True,
                "ErrorMessage": None,
                "FilesCopied": 0,
                "FilesFailed": 0,
                "DataCopied": 0,
                "Duration": "00:00:00",
            }
        )
        self.history[pid] = []
        self._refresh_stats(key)
        return json_response(200, pid)

    def _delete_plan(self, request: SimRequest) -> httpx.Response:
        plan = self._plan(request)
        key = request.path_params["hid"].strip("{}")
        self.plans[key].remove(plan)
        self._refresh_stats(key)
        return json_response(200, None)

    def _start_plan(self, request: SimRequest) -> httpx.Response:
        plan = self._plan(request)
        mode = self._obj(request).get("Mode", 0)
        if not isinstance(mode, int) or isinstance(mode, bool) or mode < 0:
            raise Fault(400, "The request is invalid.", code=-1)  # the API binds Mode to an integer
        plan["Status"] = RUNNING
        plan["LastStart"] = iso(self.now().replace(tzinfo=None))
        self.started.append((request.path_params["hid"], plan["Id"], mode))
        return json_response(200, dict(OK_RESULT))

    def _stop_plan(self, request: SimRequest) -> httpx.Response:
        plan = self._plan(request)
        if plan["Status"] != RUNNING and not self._obj(request).get("Force"):
            raise Fault(400, "The plan is not running", code=-2)
        plan["Status"] = 5
        return json_response(200, dict(OK_RESULT))

    # -- run history -------------------------------------------------------------------------

    def _history_rows(self, hids: list[str]) -> list[dict[str, Any]]:
        return [
            dict(run, ComputerHID=hid)
            for hid in hids
            for plan in self.plans.get(hid, [])
            for run in self.history.get(plan["Id"], [])
        ]

    def _all_history(self, request: SimRequest) -> httpx.Response:
        return self._page(request, self._history_rows(list(self.computers)), "History")

    def _computer_history(self, request: SimRequest) -> httpx.Response:
        key = request.path_params["hid"].strip("{}")
        self._computer(key)
        return self._page(request, self._history_rows([key]), "History")
