"""The backups controller: every listing with every documented filter applied to the seeded data (so a filter
test proves the filter, not just the query string), the statistics, timelines and transfer rates, and the
description and warning updates."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from backupbridge.plugin import SimRequest, json_response

from .common import DAY_MS, PAGES, Fault, SimState, _name, enum

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


class BackupHandlers(SimState):
    def _route_backups(self) -> None:
        r = self.router.add

        def ok(payload: Any, status: int = 200) -> httpx.Response:
            return json_response(status, payload)

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

    def _set_value(self, request: SimRequest, key: str, kind: type, shown: str) -> httpx.Response:
        """A PUT on one backup whose body is ``{"value": <kind>}``: the value stored under ``key``."""
        row = self._backup(request.path_params["guid"])
        body = self._body(request)
        if not isinstance(body, dict) or not isinstance(body.get("value"), kind):
            raise Fault(400, f'Expected {{"value": {shown}}}')
        row[key] = body["value"]
        return json_response(200, row)

    def _describe(self, request: SimRequest) -> httpx.Response:
        return self._set_value(request, "description", str, '"..."')

    def _set_warnings(self, request: SimRequest) -> httpx.Response:
        row = self._backup(request.path_params["guid"])
        body = self._body(request)
        if not isinstance(body, list) or not all(isinstance(w, dict) and isinstance(w.get("value"), str) for w in body):
            raise Fault(400, 'Expected [{"value": "..."}]')
        row["warnings"] = [w["value"] for w in body]
        row["warningsPresent"] = bool(row["warnings"])
        return json_response(200, row)

    def _acknowledge(self, request: SimRequest) -> httpx.Response:
        return self._set_value(request, "warningsAcknowledged", bool, "true|false")

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
