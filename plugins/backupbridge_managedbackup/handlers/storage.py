"""Destinations and Accounts: the storage accounts (buckets) of the provider and the users' destinations."""

from __future__ import annotations

from typing import Any

import httpx

from backupbridge.plugin import WHOLE_ARRAY, SimRequest, json_response

from .common import Fault, SimState, not_found, ok


class StorageHandlers(SimState):
    def _route_destinations(self) -> None:
        r = self.router.add
        r("POST", "/Destinations", self._add_destination)
        r("PUT", "/Destinations", self._update_destination)
        r("DELETE", "/Destinations/{id}", self._delete_destination)
        r("GET", "/Destinations/{email}", self._destinations_for, paging=WHOLE_ARRAY)

    def _route_accounts(self) -> None:
        r = self.router.add
        r("GET", "/Accounts", lambda q: ok(list(self.accounts.values())))
        r("POST", "/Accounts/AddDestination", lambda q: ok(self._account_destination(q, "add")))
        r("POST", "/Accounts/CreateDestination", lambda q: ok(self._account_destination(q, "add")))
        r("PUT", "/Accounts/EditDestination", lambda q: ok(self._account_destination(q, "edit")))
        r("PUT", "/Accounts/RemoveDestination", lambda q: ok(self._account_destination(q, "remove")))
        r("GET", "/Accounts/{id}", lambda q: ok(self._get(self.accounts, q.path_params["id"])))
        r("POST", "/Accounts", self._create_account)
        r("PUT", "/Accounts", lambda q: ok(self._update(self.accounts, "AccountID", self._obj(q))))

    # -- a user's destinations ---------------------------------------------------------------

    def _user_destination(self, user_id: str, destination_id: str) -> dict[str, Any]:
        user = self.users[self._known_user(user_id)]
        for destination in user["DestinationList"]:
            if destination["ID"] == destination_id:
                return destination  # type: ignore[no-any-return]
        raise not_found(destination_id)

    def _add_destination(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        user = self.users[self._known_user(str(body.get("UserID")))]
        account = self._get(self.accounts, body.get("AccountID"))
        destination = {
            "ID": self._new_key(),
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

    # -- storage accounts --------------------------------------------------------------------

    def _create_account(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        key = self._new_key()
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
            raise not_found(str(name))
        elif action == "edit":
            existing[0].update({k: v for k, v in body.items() if k != "AccountID"})
        else:
            account["Destinations"].remove(existing[0])
        return account
