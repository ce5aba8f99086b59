"""Users and Administrators: the accounts of the tenant's end users and of the provider's own staff."""

from __future__ import annotations

from typing import Any

import httpx

from backupbridge.plugin import WHOLE_ARRAY, SimRequest, json_response

from .common import Fault, SimState, ok

USER_PASSWORD = "user-password"  # every seeded user's password, for PUT api/Users/Authenticate


class UserHandlers(SimState):
    def _route_users(self) -> None:
        r = self.router.add
        # specific paths before /Users/{id}
        r("PUT", "/Users/Authenticate", self._authenticate_user)
        r("GET", "/Users", lambda q: ok(list(self.users.values())), paging=WHOLE_ARRAY)
        r("GET", "/Users/{id}/Computers", self._user_computers)
        r("DELETE", "/Users/{id}/Computers", self._delete_user_computers)
        r("DELETE", "/Users/{id}/Account", lambda q: ok(self._delete_user(q.path_params["id"], keep_data=True)))
        r("GET", "/Users/{id}", lambda q: ok(self.users.get(q.path_params["id"])))  # unknown id: 200 with null
        r("PUT", "/Users", lambda q: ok(self._update(self.users, "ID", self._obj(q))))
        r("POST", "/Users", self._create_user)
        r("DELETE", "/Users/{id}", lambda q: ok(self._delete_user(q.path_params["id"], keep_data=False)))

    def _route_administrators(self) -> None:
        r = self.router.add
        r("GET", "/Administrators", lambda q: ok(list(self.administrators.values())), paging=WHOLE_ARRAY)
        r("GET", "/Administrators/{id}", lambda q: ok(self._get(self.administrators, q.path_params["id"])))
        r("POST", "/Administrators", self._create_admin)
        r("PUT", "/Administrators", lambda q: ok(self._update(self.administrators, "AdminID", self._obj(q))))
        r("DELETE", "/Administrators/{id}", lambda q: ok(self._delete(self.administrators, q.path_params["id"])))

    def _authenticate_user(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        for user in self.users.values():
            if user["Email"] == body.get("Email") and body.get("Password") == USER_PASSWORD:
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

    def _create_admin(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        if any(a["Email"] == body.get("Email") for a in self.administrators.values()):
            raise Fault(400, "Administrator with this email already exists", code=-3)
        key = self._new_key()
        self.administrators[key] = {
            "AdminID": key,
            "Enabled": True,
            **{k: v for k, v in body.items() if k != "Password"},
        }
        return json_response(200, key)
