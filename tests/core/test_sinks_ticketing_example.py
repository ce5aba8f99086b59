"""The documented ticket desk (docs/examples/ticketing_plugin.py), run as a plugin through the outbox: one
ticket per problem, a repeat delivery never a second ticket, and a problem that comes back after recovery
gets an open ticket again (it used to stay closed)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path
from typing import Any

from backupbridge import plugins
from backupbridge.alerts import AlertState, alerts_from, hook_receivers, reconcile
from backupbridge.health import Assessment, Health, PlanHealth
from backupbridge.sinks import deliver_alerts

DOCS = Path(__file__).resolve().parents[2] / "docs" / "examples" / "ticketing_plugin.py"
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
KEY = "v|a|c1|d1|p1|failed"


def example() -> Any:
    spec = importlib.util.spec_from_file_location("ticketing_plugin_example_reopen", DOCS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assessment(health: Health) -> Assessment:
    plan = PlanHealth(vendor="v", account="a", company_id="c1", device_id="d1", plan_id="p1", plan_name="Nightly",
                      health=health, reason=f"last run {health.value}")  # fmt: skip
    return Assessment(plans=(plan,), devices=())


def test_a_problem_that_comes_back_after_recovery_gets_an_open_ticket(tmp_path: Path) -> None:
    module = example()
    desk = module.Desk(tmp_path / "tickets.json")
    state = AlertState(tmp_path / "state.json")
    passes = [Health.FAILED, Health.FAILED, Health.OK, Health.FAILED]
    with plugins.registered_plugin(module.TicketingPlugin(desk), "tickets"):
        receivers = hook_receivers(plugins.get_plugin_manager(), only={"tickets"})
        for hour, health in enumerate(passes):
            opened, recovered = reconcile(state, alerts_from(assessment(health), NOW + dt.timedelta(hours=hour)))
            outcome = deliver_alerts(state, opened, recovered, receivers)
            assert outcome.plugins.failures == ()
    tickets = json.loads((tmp_path / "tickets.json").read_text())
    assert list(tickets) == [KEY]
    ticket = tickets[KEY]
    assert ticket["state"] == "open" and ticket["id"] == 2 and ticket["priority"] == "P1"
    assert [t["state"] for t in ticket["closed"]] == ["closed"] and ticket["closed"][0]["id"] == 1
    assert ticket["title"] == "[v/a] c1 / d1 (Nightly): backup failed"


def test_a_repeated_delivery_never_opens_a_second_ticket(tmp_path: Path) -> None:
    module = example()
    desk = module.Desk(tmp_path / "tickets.json")
    plugin = module.TicketingPlugin(desk)
    (alert,) = alerts_from(assessment(Health.FAILED), NOW)
    plugin.backup_problem(alert)
    plugin.backup_problem(alert)  # at least once: a run killed before it saved the delivery
    tickets = json.loads((tmp_path / "tickets.json").read_text())
    assert tickets[KEY]["id"] == 1 and len(tickets[KEY]["notes"]) == 2 and "closed" not in tickets[KEY]
    plugin.backup_recovered(alert)
    plugin.backup_recovered(alert)
    assert json.loads((tmp_path / "tickets.json").read_text())[KEY]["state"] == "closed"
