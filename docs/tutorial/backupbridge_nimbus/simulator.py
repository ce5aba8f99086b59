"""An offline Nimbus Vault: seeded tenants, agents and runs, answered as the (made-up) docs say."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from backupbridge.plugin import PageShape, SimRequest, SimulatorBase, SimulatorFault, SimulatorOptions, json_response

SANDBOX_API_KEY = "nmb_sandbox_3f9a2c7d41e8"
PAGES = PageShape(page="page", size="per_page", first=1, items="data")
RESULTS = {"ok": 0.8, "warning": 0.08, "error": 0.1, "running": 0.02}


class Fault(SimulatorFault):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.body = status, {"error": {"code": code, "message": message, "field": field}}

    def response(self) -> httpx.Response:
        return json_response(self.status, self.body)


def _stamp(value: dt.datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")


class NimbusSimulator(SimulatorBase):
    base_path = "/v2"
    fault_type = Fault

    def __init__(self, options: SimulatorOptions | None = None) -> None:
        super().__init__(options)
        self.credentials = {"api_key": SANDBOX_API_KEY}
        self.tenants: dict[str, dict[str, Any]] = {}
        self.agents: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, list[dict[str, Any]]] = {}
        self.router.add("GET", "/tenants", self._list_tenants, paging=PAGES)
        self.router.add("GET", "/tenants/{id}", self._get_tenant)
        self.router.add("GET", "/agents", self._list_agents, paging=PAGES)
        self.router.add("GET", "/agents/{id}", self._get_agent)
        self.router.add("GET", "/agents/{id}/runs", self._list_runs, paging=PAGES)
        self._seed()

    # -- seeding ------------------------------------------------------------------------------------------
    def _seed(self) -> None:
        seed = self.seeder
        for t in range(max(2, self.options.size // 8)):
            name = seed.company_name(t)
            tenant = {"id": f"tn_{t + 1:04d}", "name": name, "state": "suspended" if t == 3 else "active"}
            self.tenants[tenant["id"]] = tenant
        tenant_ids = list(self.tenants)
        for a in range(self.options.size):
            tenant_id = tenant_ids[a % len(tenant_ids)]
            agent_id = f"ag_{a + 1:05d}"
            runs = []
            for r in range(seed.random.randint(1, 6)):
                started = seed.past(24 * (r + 1), 24 * r)
                result = seed.weighted(RESULTS)
                ended = started + dt.timedelta(minutes=seed.random.randint(3, 90))
                runs.append({
                    "id": f"run_{a + 1:05d}_{r + 1}", "started": _stamp(started), "result": result,
                    "ended": None if result == "running" else _stamp(ended),
                    "bytes": seed.random.randint(10**6, 10**10), "message": "Disk full" if result == "error" else None,
                })  # fmt: skip
            self.runs[agent_id] = runs
            self.agents[agent_id] = {
                "id": agent_id, "tenant_id": tenant_id, "hostname": seed.hostname(self.tenants[tenant_id]["name"], a),
                "platform": seed.weighted({"windows": 0.7, "linux": 0.2, "macos": 0.1}),
                "online": seed.random.random() < 0.8, "enrollment_token": seed.token(24),
                "last_backup": {"at": runs[0]["started"], "result": runs[0]["result"]},
            }  # fmt: skip

    # -- the shared machinery's hooks, and the declared truth ----------------------------------------------
    def authenticate(self, request: SimRequest) -> None:
        if request.headers.get("authorization") != f"Bearer {SANDBOX_API_KEY}":
            raise Fault(401, "unauthorized", "missing or unknown API key")

    def no_route(self, request: SimRequest, path_known: bool) -> Fault:
        return Fault(405 if path_known else 404, "no_route", f"no route {request.method} {request.path}")

    def device_ids(self) -> set[str]:
        return set(self.agents)

    # -- handlers -----------------------------------------------------------------------------------------
    def _page(self, request: SimRequest, rows: list[dict[str, Any]]) -> httpx.Response:
        page, per_page = request.query.get("page", "1"), request.query.get("per_page", "25")
        if not (page.isdigit() and per_page.isdigit() and int(page) >= 1 and 1 <= int(per_page) <= 100):
            raise Fault(400, "invalid", "page must be >= 1 and per_page 1..100", "page")
        start = (int(page) - 1) * int(per_page)
        return json_response(200, {"data": rows[start : start + int(per_page)], "total": len(rows)})

    def _find(self, table: dict[str, dict[str, Any]], key: str, what: str) -> dict[str, Any]:
        if key not in table:
            raise Fault(404, "not_found", f"{what} {key} not found")
        return table[key]

    def _list_tenants(self, request: SimRequest) -> httpx.Response:
        return self._page(request, list(self.tenants.values()))

    def _get_tenant(self, request: SimRequest) -> httpx.Response:
        return json_response(200, self._find(self.tenants, request.path_params["id"], "tenant"))

    def _list_agents(self, request: SimRequest) -> httpx.Response:
        tenant = request.query.get("tenant")
        if tenant is not None:
            self._find(self.tenants, tenant, "tenant")
        return self._page(request, [a for a in self.agents.values() if tenant in (None, a["tenant_id"])])

    def _get_agent(self, request: SimRequest) -> httpx.Response:
        return json_response(200, self._find(self.agents, request.path_params["id"], "agent"))

    def _list_runs(self, request: SimRequest) -> httpx.Response:
        self._find(self.agents, request.path_params["id"], "agent")
        return self._page(request, self.runs[request.path_params["id"]])
