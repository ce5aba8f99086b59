"""An offline Managed Backup (MSP360-style) API.

Login with ``UserName``/``Password`` for a bearer token that expires (two weeks, on an injectable clock;
401 afterwards, and a new login works), every method of the docs' twelve groups with its happy path and
its documented errors (``{ErrorCode, Message}``, 406 for an unknown login, the 200-with-an-error-string of
user creation), path pagination of computers and history with ``Count``, stateful companies, users,
computers and plans, monitoring rows with every status, and seeded realistic data.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx

from backupbridge.plugin import (
    WHOLE_ARRAY,
    PageShape,
    SimRequest,
    SimulatorBase,
    SimulatorFault,
    SimulatorOptions,
    json_response,
)

__all__ = ["SANDBOX_PASSWORD", "SANDBOX_USERNAME", "ManagedBackupSimulator"]

SANDBOX_USERNAME = "sandbox-api-user"
SANDBOX_PASSWORD = "mbs-sandbox-pass-8d2c61"
BASE_PATH = "/api"
# Only Computers and run history page, by path, in a {"Count", <list>} envelope; the other lists are whole.
COMPUTERS = PageShape(offset="offset", count="count", items="Computers")
HISTORY = PageShape(offset="offset", count="count", items="History")
TOKEN_LIFETIME = dt.timedelta(days=14)
PLAN_NAMES = (("Files to Cloud", 3), ("Image Based", 11), ("SQL Server", 7), ("Hyper-V VMs", 16), ("Exchange", 9))
ERRORS = (
    "Access to the path is denied",
    "The network name cannot be found",
    "VSS snapshot failed",
    "Connection to storage was lost",
    "The device is not ready",
)


class Fault(SimulatorFault):
    def __init__(self, status: int, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code

    def response(self) -> httpx.Response:
        body: dict[str, Any] = {"Message": self.message}
        if self.code is not None:
            body = {"ErrorCode": self.code, "Message": self.message}
        return json_response(self.status, body)


def _iso(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] if value else None


def _not_found(key: str) -> Fault:
    return Fault(404, f'Object "{key}" not found', code=-6)


class ManagedBackupSimulator(SimulatorBase):
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

    def device_ids(self) -> set[str]:
        return set(self.computers)

    def minted_secrets(self) -> list[str]:
        return list(self.tokens)

    def _guid(self) -> str:
        return str(uuid.UUID(int=self.seeder.random.getrandbits(128)))

    # -- seeding (the data itself: seeding.py) ----------------------------------------------

    def _seed(self) -> None:
        from .seeding import seed

        seed(self)

    def license_computer(self, license_id: str, name: str, os_name: str) -> None:
        self.licenses[license_id].update(ComputerName=name, OperatingSystem=os_name)

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

    # -- rendering ---------------------------------------------------------------------------

    def monitoring_rows(self, user_id: str | None = None, online_only: bool = False) -> list[dict[str, Any]]:
        rows = []
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

    # -- request handling --------------------------------------------------------------------

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

    def _routes(self) -> None:
        r = self.router.add

        def ok(payload: Any, status: int = 200) -> httpx.Response:
            return json_response(status, payload)

        r("POST", "/Provider/Login", self._login)
        # Packages
        r("GET", "/Packages", lambda q: ok(list(self.packages.values())), paging=WHOLE_ARRAY)
        r(
            "GET",
            "/Packages/{id}",
            lambda q: ok(self._get(self.packages, int(q.path_params["id"]) if q.path_params["id"].isdigit() else -1)),
        )
        r("POST", "/Packages", self._create_package)
        r("PUT", "/Packages", lambda q: ok(self._update(self.packages, "ID", self._obj(q))))
        r(
            "DELETE",
            "/Packages/{id}",
            lambda q: ok(
                self._delete(self.packages, int(q.path_params["id"]) if q.path_params["id"].isdigit() else -1)
            ),
        )
        # Users (specific paths before /Users/{id})
        r("PUT", "/Users/Authenticate", self._authenticate_user)
        r("GET", "/Users", lambda q: ok(list(self.users.values())), paging=WHOLE_ARRAY)
        r("GET", "/Users/{id}/Computers", self._user_computers)
        r("DELETE", "/Users/{id}/Computers", self._delete_user_computers)
        r("DELETE", "/Users/{id}/Account", lambda q: ok(self._delete_user(q.path_params["id"], keep_data=True)))
        r("GET", "/Users/{id}", lambda q: ok(self.users.get(q.path_params["id"])))  # unknown id: 200 with null
        r("PUT", "/Users", lambda q: ok(self._update(self.users, "ID", self._obj(q))))
        r("POST", "/Users", self._create_user)
        r("DELETE", "/Users/{id}", lambda q: ok(self._delete_user(q.path_params["id"], keep_data=False)))
        # Monitoring
        r("GET", "/Monitoring", lambda q: ok(self.monitoring_rows()), paging=WHOLE_ARRAY)
        r(
            "GET",
            "/Monitoring/{id}",
            lambda q: ok(self.monitoring_rows(self._known_user(q.path_params["id"]), online_only=True)),
            paging=WHOLE_ARRAY,
        )
        # Companies
        r("GET", "/Companies", lambda q: ok(list(self.companies.values())), paging=WHOLE_ARRAY)
        r("GET", "/Companies/{id}", lambda q: ok(self._get(self.companies, q.path_params["id"])))
        r("DELETE", "/Companies/{id}", lambda q: ok(self._delete(self.companies, q.path_params["id"])))
        r("POST", "/Companies", self._create_company)
        r("PUT", "/Companies", lambda q: ok(self._update(self.companies, "Id", self._obj(q))))
        # Computers (history paths before /Computers/{offset}/{count})
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
        r(
            "GET",
            "/Computers/{hid}/Usage",
            lambda q: ok(
                {
                    "UsedSpace": sum(
                        p["DataCopied"] for p in self.plans.get(self._computer(q.path_params["hid"])["ComputerHID"], [])
                    )
                }
            ),
        )
        r("POST", "/Computers/{hid}/authorization", self._authorize)
        r("DELETE", "/Computers/{hid}/authorization", self._deauthorize)
        r("GET", "/Computers/{hid}", lambda q: ok(self._computer(q.path_params["hid"])))
        # Last: two free segments would otherwise swallow "/Computers/{hid}/Plans" and its siblings.
        r("GET", "/Computers/{offset}/{count}", self._computer_page, paging=COMPUTERS)
        # Licenses
        r("GET", "/Licenses", self._licenses, paging=WHOLE_ARRAY)
        r("POST", "/Licenses/Grant", lambda q: ok(self._license_action(q, taken=True)))
        r("POST", "/Licenses/Release", lambda q: ok(self._license_action(q, taken=False)))
        r("POST", "/Licenses/Revoke", lambda q: ok(self._license_action(q, taken=False, revoke=True)))
        r("GET", "/Licenses/{id}", lambda q: ok(self._get(self.licenses, q.path_params["id"])))
        # Destinations
        r("POST", "/Destinations", self._add_destination)
        r("PUT", "/Destinations", self._update_destination)
        r("DELETE", "/Destinations/{id}", self._delete_destination)
        r("GET", "/Destinations/{email}", self._destinations_for, paging=WHOLE_ARRAY)
        # Accounts
        r("GET", "/Accounts", lambda q: ok(list(self.accounts.values())))
        r("POST", "/Accounts/AddDestination", lambda q: ok(self._account_destination(q, "add")))
        r("POST", "/Accounts/CreateDestination", lambda q: ok(self._account_destination(q, "add")))
        r("PUT", "/Accounts/EditDestination", lambda q: ok(self._account_destination(q, "edit")))
        r("PUT", "/Accounts/RemoveDestination", lambda q: ok(self._account_destination(q, "remove")))
        r("GET", "/Accounts/{id}", lambda q: ok(self._get(self.accounts, q.path_params["id"])))
        r("POST", "/Accounts", self._create_account)
        r("PUT", "/Accounts", lambda q: ok(self._update(self.accounts, "AccountID", self._obj(q))))
        # Billing
        r("GET", "/Billing", lambda q: ok(self._billing()))
        r("PUT", "/Billing", lambda q: ok(self._billing(self._obj(q))))
        r("PUT", "/Billing/Details", self._billing_details)
        # Builds
        r(
            "GET",
            "/Builds",
            lambda q: ok(
                [
                    {"Type": "Windows", "Version": "7.9.4.83", "DownloadLink": "https://mspbackups.com/builds/win"},
                    {"Type": "Linux", "Version": "4.6.0.228", "DownloadLink": "https://mspbackups.com/builds/deb"},
                ]
            ),
        )
        r("POST", "/Builds/RequestCustomBuilds", lambda q: ok({"Requested": self._obj(q).get("Editions")}))
        r(
            "GET",
            "/Builds/AvailableVersions",
            lambda q: ok({"Windows": "7.9.4.83", "Linux": "4.6.0.228", "macOS": "4.2.1.19"}),
        )
        # Administrators
        r("GET", "/Administrators", lambda q: ok(list(self.administrators.values())), paging=WHOLE_ARRAY)
        r("GET", "/Administrators/{id}", lambda q: ok(self._get(self.administrators, q.path_params["id"])))
        r("POST", "/Administrators", self._create_admin)
        r("PUT", "/Administrators", lambda q: ok(self._update(self.administrators, "AdminID", self._obj(q))))
        r("DELETE", "/Administrators/{id}", lambda q: ok(self._delete(self.administrators, q.path_params["id"])))

    # -- handlers ----------------------------------------------------------------------------

    def _login(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        password = body.get("Password")
        if not isinstance(password, str) or not 3 <= len(password) <= 100:
            raise Fault(400, "The Password must be between 3 and 100 characters.")
        if body.get("UserName") != SANDBOX_USERNAME or password != SANDBOX_PASSWORD:
            raise Fault(403, "Invalid credentials.")
        token = uuid.uuid4().hex + uuid.uuid4().hex
        self.tokens[token] = self.now() + TOKEN_LIFETIME
        self.logins += 1
        return json_response(
            200, {"access_token": token, "token_type": "bearer", "expires_in": int(TOKEN_LIFETIME.total_seconds())}
        )

    def _get(self, table: dict[Any, dict[str, Any]], key: Any) -> dict[str, Any]:
        if key not in table:
            raise _not_found(str(key))
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

    def _create_package(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        key = max(self.packages, default=0) + 1
        self.packages[key] = {"ID": key, "Description": None, "StorageLimit": 0, "IsGlobal": False, "Cost": 0.0, **body}
        self.packages[key]["ID"] = key
        return json_response(200, key)

    def _known_user(self, user_id: str) -> str:
        if user_id not in self.users:
            raise _not_found(user_id)
        return user_id

    def _authenticate_user(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        for user in self.users.values():
            if user["Email"] == body.get("Email") and body.get("Password") == "user-password":
                return json_response(200, user)
        raise Fault(403, "Invalid user login or password.")

    def _create_user(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        if any(u["Email"] == body.get("Email") for u in self.users.values()):
            return json_response(200, "Email already exist")  # the API's own wording, with a 200
        company = body.get("Company")
        if company is not None and company not in {c["Name"] for c in self.companies.values()}:
            return json_response(200, "Company not found")
        user_id = self._guid()
        user: dict[str, Any] = {
            "ID": user_id,
            "FirstName": None,
            "LastName": None,
            "NotificationEmails": [],
            "Company": None,
            "Enabled": True,
            "LicenseManagmentMode": 2,
            "DestinationList": [],
            "SpaceUsed": 0,
        }
        user.update({k: v for k, v in body.items() if k != "Password"})
        user["ID"] = user_id
        self.users[user_id] = user
        return json_response(200, user_id)

    def _delete_user(self, user_id: str, *, keep_data: bool) -> Any:
        self._known_user(user_id)
        del self.users[user_id]
        if not keep_data:
            for hid in [h for h, c in self.computers.items() if c["UserID"] == user_id]:
                for plan in self.plans.pop(hid, []):
                    self.history.pop(plan["Id"], None)
                del self.computers[hid]
        return None

    def _user_computers(self, request: SimRequest) -> httpx.Response:
        user_id = self._known_user(request.path_params["id"])
        user = self.users[user_id]
        destination = (user.get("DestinationList") or [{}])[0].get("ID")
        rows = [
            {"DestinationId": destination, "ComputerName": c["ComputerName"]}
            for c in self.computers.values()
            if c["UserID"] == user_id
        ]
        return json_response(200, rows)

    def _delete_user_computers(self, request: SimRequest) -> httpx.Response:
        user_id = self._known_user(request.path_params["id"])
        for hid in [h for h, c in self.computers.items() if c["UserID"] == user_id]:
            self.plans.pop(hid, None)
            del self.computers[hid]
        return json_response(200, None)

    def _create_company(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        if not body.get("Name"):
            raise Fault(400, "The Name field is required.", code=-1)
        if any(c["Name"] == body["Name"] for c in self.companies.values()):
            raise Fault(400, f'Company "{body["Name"]}" already exists', code=-3)
        cid = self._guid()
        self.companies[cid] = {
            "Id": cid,
            "StorageLimit": -1,
            "LicenseSettings": 1,
            "Destinations": [],
            "DefaultLicense": 0,
            "AllowedLicenses": [],
            **body,
        }
        self.companies[cid]["Id"] = cid
        return json_response(200, cid)

    def _page(self, request: SimRequest, items: list[Any], key: str | None) -> httpx.Response:
        offset, count = request.path_params["offset"], request.path_params["count"]
        if not (offset.isdigit() and count.isdigit()) or int(count) == 0:
            raise Fault(400, "The request is invalid.", code=-1)
        page = items[int(offset) : int(offset) + int(count)]
        body: dict[str, Any] = {"Count": len(items), "Message": "Success", "StatusCode": 200}
        body[key or "Items"] = page
        return json_response(200, body)

    def _computer_page(self, request: SimRequest) -> httpx.Response:
        return self._page(request, list(self.computers.values()), "Computers")

    def _computer(self, key: str) -> dict[str, Any]:
        computer = self.computers.get(key.strip("{}"))
        if computer is None:
            raise _not_found(key)
        return computer

    def _computer_plans(self, key: str) -> list[dict[str, Any]]:
        self._computer(key)
        return [
            {
                k: v
                for k, v in plan.items()
                if k not in ("ErrorMessage", "FilesCopied", "FilesFailed", "DataCopied", "Duration")
            }
            for plan in self.plans.get(key.strip("{}"), [])
        ]

    def _disks(self, key: str) -> list[dict[str, Any]]:
        computer = self._computer(key)
        if "Windows" in computer["OSTypeString"]:
            return [
                {"Name": "C:", "Label": "System", "FileSystem": "NTFS", "Size": 512 * 2**30, "FreeSpace": 120 * 2**30}
            ]
        return [{"Name": "/", "Label": None, "FileSystem": "ext4", "Size": 256 * 2**30, "FreeSpace": 80 * 2**30}]

    def _plan(self, request: SimRequest) -> dict[str, Any]:
        key = request.path_params["hid"].strip("{}")
        self._computer(key)
        for plan in self.plans.get(key, []):
            if plan["Id"] == request.path_params["pid"]:
                return plan
        raise _not_found(request.path_params["pid"])

    def _plan_info(self, request: SimRequest) -> dict[str, Any]:
        plan = self._plan(request)
        return {
            "PlanId": plan["Id"],
            "Name": plan["Name"],
            "Status": plan["Status"],
            "LastStart": plan["LastStart"],
            "NextStart": plan["NextStart"],
            "IsRunning": plan["Status"] == 3,
        }

    def _create_plan(self, request: SimRequest) -> httpx.Response:
        key = request.path_params["hid"].strip("{}")
        self._computer(key)
        body = self._obj(request)
        if not body.get("Name"):
            raise Fault(400, "The Name field is required.", code=-1)
        pid = str(uuid.uuid4())
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
        body = self._obj(request)
        plan["Status"] = 3
        plan["LastStart"] = _iso(self.now().replace(tzinfo=None))
        self.started.append((request.path_params["hid"], plan["Id"], int(body.get("Mode", 0))))
        return json_response(200, {"ResultCode": 0, "ErrorMessage": ""})

    def _stop_plan(self, request: SimRequest) -> httpx.Response:
        plan = self._plan(request)
        if plan["Status"] != 3 and not self._obj(request).get("Force"):
            raise Fault(400, "The plan is not running", code=-2)
        plan["Status"] = 5
        return json_response(200, {"ResultCode": 0, "ErrorMessage": ""})

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

    def _authorize(self, request: SimRequest) -> httpx.Response:
        computer = self._computer(request.path_params["hid"])
        user_id = self._obj(request).get("UserId")
        if user_id not in self.users:
            return json_response(404, {"ErrorCode": -6, "Message": f'Object "{user_id}" not found'})
        computer.update(UserID=user_id, LostAuth=False, UserEmail=self.users[user_id]["Email"])
        return json_response(200, {"ResultCode": 0, "ErrorMessage": ""})

    def _deauthorize(self, request: SimRequest) -> httpx.Response:
        self._computer(request.path_params["hid"]).update(
            LostAuth=True, LostAuthChangeDate=_iso(self.now().replace(tzinfo=None))
        )
        return json_response(200, None)

    def _licenses(self, request: SimRequest) -> httpx.Response:
        flag = request.query.get("isAvailable")
        rows = list(self.licenses.values())
        if flag is not None:
            available = flag.lower() == "true"
            rows = [lic for lic in rows if (not lic["IsTaken"]) == available]
        return json_response(200, rows)

    def _license_action(self, request: SimRequest, *, taken: bool, revoke: bool = False) -> dict[str, Any]:
        body = self._obj(request)
        lic = self._get(self.licenses, body.get("LicenseID"))
        self._known_user(str(body.get("UserID")))
        lic.update(
            IsTaken=taken,
            UserID=body["UserID"] if taken else None,
            User=self.users[body["UserID"]]["Email"] if taken else None,
        )
        if revoke:
            lic.update(ComputerName=None, OperatingSystem=None)
        return {"ResultCode": 0, "ErrorMessage": ""}

    def _user_destination(self, user_id: str, destination_id: str) -> dict[str, Any]:
        user = self.users[self._known_user(user_id)]
        for destination in user["DestinationList"]:
            if destination["ID"] == destination_id:
                return destination  # type: ignore[no-any-return]
        raise _not_found(destination_id)

    def _add_destination(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        user = self.users[self._known_user(str(body.get("UserID")))]
        account = self._get(self.accounts, body.get("AccountID"))
        destination = {
            "ID": str(uuid.uuid4()),
            "CurrentVolume": 0,
            "PackageID": body.get("PackageID", 1),
            "AccountID": account["AccountID"],
            "AccountDisplayName": account["DisplayName"],
            "Destination": body.get("Destination", "default"),
            "DestinationDisplayName": body.get("Destination", "default"),
        }
        user["DestinationList"].append(destination)
        return json_response(200, destination)

    def _update_destination(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        destination = self._user_destination(str(body.get("UserID")), str(body.get("ID")))
        destination.update({k: v for k, v in body.items() if k not in ("ID", "UserID")})
        return json_response(200, destination)

    def _delete_destination(self, request: SimRequest) -> httpx.Response:
        user_id = request.query.get("UserID", "")
        destination = self._user_destination(user_id, request.path_params["id"])
        self.users[user_id]["DestinationList"].remove(destination)
        return json_response(200, None)

    def _destinations_for(self, request: SimRequest) -> httpx.Response:
        email = request.path_params["email"]
        for user in self.users.values():
            if user["Email"] == email:
                return json_response(200, user["DestinationList"])
        return json_response(406, {"Message": f"User with login {email} not found"})

    def _create_account(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        key = str(uuid.uuid4())
        self.accounts[key] = {"Destinations": [], **body, "AccountID": key}
        return json_response(200, key)

    def _account_destination(self, request: SimRequest, action: str) -> dict[str, Any]:
        body = self._obj(request)
        account = self._get(self.accounts, body.get("AccountID"))
        name = body.get("Destination")
        existing = [d for d in account["Destinations"] if d["Destination"] == name]
        if action == "add":
            if existing:
                raise Fault(400, f"Destination {name} already exists", code=-3)
            account["Destinations"].append(
                {"Destination": name, "DestinationDisplayName": body.get("DestinationDisplayName", name)}
            )
        elif not existing:
            raise _not_found(str(name))
        elif action == "edit":
            existing[0].update({k: v for k, v in body.items() if k != "AccountID"})
        else:
            account["Destinations"].remove(existing[0])
        return account

    def _billing(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        companies = set((query or {}).get("Companies") or [c["Name"] for c in self.companies.values()])
        users = [u for u in self.users.values() if u.get("Company") in companies]
        return {
            "Date": (query or {}).get("Date"),
            "Users": [{"UserID": u["ID"], "Email": u["Email"], "SpaceUsed": u["SpaceUsed"]} for u in users],
        }

    def _billing_details(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        user_id = self._known_user(str(body.get("UserID")))
        rows = [
            {
                "Computer": c["ComputerName"],
                "SizeBackup": sum(p["DataCopied"] for p in self.plans.get(h, [])),
                "SizeRestore": 0,
                "Prefix": c["ComputerName"],
                "AccountID": next(iter(self.accounts)),
                "Destination": "mbs-eu-1",
            }
            for h, c in self.computers.items()
            if c["UserID"] == user_id
        ]
        return json_response(
            200,
            {
                "TotalBackupBytes": sum(r["SizeBackup"] for r in rows),
                "TotalRestoreBytes": 0,
                "UserID": user_id,
                "UserDetailList": rows,
            },
        )

    def _create_admin(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        if any(a["Email"] == body.get("Email") for a in self.administrators.values()):
            raise Fault(400, "Administrator with this email already exists", code=-3)
        key = str(uuid.uuid4())
        self.administrators[key] = {
            "AdminID": key,
            "Enabled": True,
            **{k: v for k, v in body.items() if k != "Password"},
        }
        return json_response(200, key)
