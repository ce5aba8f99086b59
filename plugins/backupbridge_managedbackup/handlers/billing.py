"""Billing and Builds: the month's usage per user and computer, and the agent builds on offer."""

from __future__ import annotations

from typing import Any

import httpx

from backupbridge.plugin import SimRequest, json_response

from .common import SimState, ok

BUILDS = [
    {"Type": "Windows", "Version": "7.9.4.83", "DownloadLink": "https://mspbackups.com/builds/win"},
    {"Type": "Linux", "Version": "4.6.0.228", "DownloadLink": "https://mspbackups.com/builds/deb"},
]
VERSIONS = {"Windows": "7.9.4.83", "Linux": "4.6.0.228", "macOS": "4.2.1.19"}


class BillingHandlers(SimState):
    def _route_billing(self) -> None:
        r = self.router.add
        r("GET", "/Billing", lambda q: ok(self._billing()))
        r("PUT", "/Billing", lambda q: ok(self._billing(self._obj(q))))
        r("PUT", "/Billing/Details", self._billing_details)

    def _route_builds(self) -> None:
        r = self.router.add
        r("GET", "/Builds", lambda q: ok(BUILDS))
        r("POST", "/Builds/RequestCustomBuilds", lambda q: ok({"Requested": self._obj(q).get("Editions")}))
        r("GET", "/Builds/AvailableVersions", lambda q: ok(VERSIONS))

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
