"""A complete ticketing plugin for backupbridge: one ticket per backup problem, closed on recovery, and a new
ticket when the problem comes back after it was closed.

Install it as a package whose pyproject.toml declares::

    [project.entry-points.backupbridge]
    tickets = "ticketing_plugin"

Every ``backupbridge report`` run then calls it for each new problem and each recovery. ``Desk`` stands in
for your PSA's API client (ConnectWise, Autotask, HaloPSA...): replace its methods.

Delivery is at least once: the same event may arrive twice (a run killed after calling the hook, before it
saved that it did). So ``open_ticket`` looks the key up first: an open ticket for it is left as it is (a note
is added), a closed one means the problem came back, and a new ticket is opened.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import backupbridge
from backupbridge.alerts import Alert


class Desk:
    """A stand-in PSA: tickets in a JSON file, the current ticket of each alert key under that key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = json.loads(self.path.read_text()) if self.path.exists() else {}
        return data

    def _save(self, tickets: dict[str, dict[str, Any]]) -> None:
        self.path.write_text(json.dumps(tickets, indent=1))

    def open_ticket(self, key: str, title: str, priority: str, details: str) -> int:
        """The open ticket for ``key``: the one already open (a repeat delivery adds a note), or a new one."""
        tickets = self._load()
        current = tickets.get(key)
        if current is not None and current["state"] == "open":
            current["notes"].append(f"seen again: {details}")
        else:
            number = 1 + max((t["id"] for t in tickets.values()), default=0)
            closed = (
                [*current.get("closed", []), {k: v for k, v in current.items() if k != "closed"}] if current else []
            )
            current = {"id": number, "title": title, "priority": priority, "state": "open", "notes": [details]}
            if closed:
                current["closed"] = closed  # the earlier tickets of this key, for the technician's history
            tickets[key] = current
        self._save(tickets)
        return int(current["id"])

    def close_ticket(self, key: str, note: str) -> None:
        tickets = self._load()
        if key in tickets and tickets[key]["state"] == "open":
            tickets[key].update(state="closed", note=note)
            self._save(tickets)


PRIORITY = {"critical": "P1", "high": "P2", "medium": "P3", "low": "P4"}


class TicketingPlugin:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    @backupbridge.hookimpl
    def backup_problem(self, alert: Alert) -> None:
        details = "; ".join(
            part
            for part in (
                alert.reason,
                f"vendor says: {alert.vendor_reason}" if alert.vendor_reason else "",
                f"failed runs in a row: {alert.consecutive_failures}" if alert.consecutive_failures else "",
                f"last success {alert.last_success_at:%Y-%m-%d %H:%M}" if alert.last_success_at else "",
                alert.console_url or "",
            )
            if part
        )
        title = f"[{alert.vendor}/{alert.account}] {alert.title}"
        self.desk.open_ticket(alert.key, title, PRIORITY.get(alert.severity, "P4"), details)

    @backupbridge.hookimpl
    def backup_recovered(self, alert: Alert) -> None:
        self.desk.close_ticket(alert.key, f"recovered at {alert.last_seen.isoformat()}")


# The entry point loads this module: its hookimpls live on this instance.
_plugin = TicketingPlugin(Desk(Path.home() / ".backupbridge-tickets.json"))
backup_problem = _plugin.backup_problem
backup_recovered = _plugin.backup_recovered
