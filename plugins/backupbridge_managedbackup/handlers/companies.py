"""Companies, Packages and Licenses: the tenant's customers, the storage packages sold to them, the licenses."""

from __future__ import annotations

from typing import Any

import httpx

from backupbridge.plugin import WHOLE_ARRAY, SimRequest, json_response

from .common import OK_RESULT, Fault, SimState, ok, whole


class CompanyHandlers(SimState):
    def _route_companies(self) -> None:
        r = self.router.add
        r("GET", "/Companies", lambda q: ok(list(self.companies.values())), paging=WHOLE_ARRAY)
        r("GET", "/Companies/{id}", lambda q: ok(self._get(self.companies, q.path_params["id"])))
        r("DELETE", "/Companies/{id}", lambda q: ok(self._delete(self.companies, q.path_params["id"])))
        r("POST", "/Companies", self._create_company)
        r("PUT", "/Companies", lambda q: ok(self._update(self.companies, "Id", self._obj(q))))

    def _route_packages(self) -> None:
        r = self.router.add
        r("GET", "/Packages", lambda q: ok(list(self.packages.values())), paging=WHOLE_ARRAY)
        r("GET", "/Packages/{id}", lambda q: ok(self._get(self.packages, self._package_key(q))))
        r("POST", "/Packages", self._create_package)
        r("PUT", "/Packages", lambda q: ok(self._update(self.packages, "ID", self._obj(q))))
        r("DELETE", "/Packages/{id}", lambda q: ok(self._delete(self.packages, self._package_key(q))))

    def _route_licenses(self) -> None:
        r = self.router.add
        r("GET", "/Licenses", self._licenses, paging=WHOLE_ARRAY)
        r("POST", "/Licenses/Grant", lambda q: ok(self._license_action(q, taken=True)))
        r("POST", "/Licenses/Release", lambda q: ok(self._license_action(q, taken=False)))
        r("POST", "/Licenses/Revoke", lambda q: ok(self._license_action(q, taken=False, revoke=True)))
        r("GET", "/Licenses/{id}", lambda q: ok(self._get(self.licenses, q.path_params["id"])))

    # -- companies ---------------------------------------------------------------------------

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

    # -- packages ----------------------------------------------------------------------------

    def _package_key(self, request: SimRequest) -> int:
        """A package id from the path; -1 (no package: a 404) when it is not a whole number."""
        key = whole(request.path_params["id"])
        return -1 if key is None else key

    def _create_package(self, request: SimRequest) -> httpx.Response:
        body = self._obj(request)
        key = max(self.packages, default=0) + 1
        self.packages[key] = {"ID": key, "Description": None, "StorageLimit": 0, "IsGlobal": False, "Cost": 0.0, **body}
        self.packages[key]["ID"] = key
        return json_response(200, key)

    # -- licenses ----------------------------------------------------------------------------

    def license_computer(self, license_id: str, name: str, os_name: str) -> None:
        self.licenses[license_id].update(ComputerName=name, OperatingSystem=os_name)

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
        return dict(OK_RESULT)
