"""A complete ticketing plugin for backupbridge: one ticket per backup problem, closed on recovery.

Install it as a package whose pyproject.toml declares::

    [project.entry-points.backupbridge]
    tickets = "ticketing_plugin"

Every ``backupbridge report`` run then calls it for each new problem and each recovery. ``Desk`` stands in
for your PSA's API client (ConnectWise, Autotask, HaloPSA...): replace its two methods.
"""

from __future__ import annotations

import json
from pathlib import Path

import backupbridge
from backupbridge.alerts import Alert


class Desk:
    """A stand-in PSA: tickets in a JSON file, keyed by the alert's dedupe key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, str]]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def open_ticket(self, key: str, title: str, priority: str) -> None:
        tickets = self._load()
        tickets.setdefault(key, {"title": title, "priority": priority, "state": "open"})
        self.path.write_text(json.dumps(tickets))

    def close_ticket(self, key: str, note: str) -> None:
        tickets = self._load()
        if key in tickets:
            tickets[key].update(state="closed", note=note)
            self.path.write_text(json.dumps(tickets))


PRIORITY = {"critical": "P1", "high": "P2", "medium": "P3", "low": "P4"}


class TicketingPlugin:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    @backupbridge.hookimpl
    def backup_problem(self, alert: Alert) -> None:
        where = " / ".join(x for x in (alert.company_id, alert.device_id, alert.plan_id) if x)
        title = f"[{alert.vendor}] backup {alert.problem.value}: {where} ({alert.reason})"
        self.desk.open_ticket(alert.key, title, PRIORITY.get(alert.severity, "P4"))

    @backupbridge.hookimpl
    def backup_recovered(self, alert: Alert) -> None:
        self.desk.close_ticket(alert.key, f"recovered at {alert.last_seen.isoformat()}")


# The entry point loads this module: its hookimpls live on this instance.
_plugin = TicketingPlugin(Desk(Path.home() / ".backupbridge-tickets.json"))
backup_problem = _plugin.backup_problem
backup_recovered = _plugin.backup_recovered
