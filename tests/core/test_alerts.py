"""Alerts: stable keys, opened once, recovered once, kept while an account is silent; the documented plugin."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import backupbridge
from backupbridge import plugins
from backupbridge.alerts import Alert, AlertState, NdjsonAlertSink, alerts_from, reconcile
from backupbridge.health import Assessment, DeviceHealth, Health, PlanHealth

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "examples" / "ticketing_plugin.py"


def plan_health(health: Health, device: str = "d1", plan: str = "p1", account: str = "a") -> PlanHealth:
    return PlanHealth(
        vendor="v",
        account=account,
        company_id="c1",
        device_id=device,
        plan_id=plan,
        plan_name="Nightly",
        health=health,
        reason=f"because {health.value}",
    )


def assessment(*plans: PlanHealth, devices: tuple[DeviceHealth, ...] = ()) -> Assessment:
    return Assessment(plans=plans, devices=devices)


def test_keys_are_stable_and_severities_set() -> None:
    first = alerts_from(assessment(plan_health(Health.FAILED), plan_health(Health.OK, device="d2")), NOW)
    again = alerts_from(assessment(plan_health(Health.FAILED)), NOW + dt.timedelta(hours=1))
    assert [a.key for a in first] == [a.key for a in again] == ["v|a|c1|d1|p1|failed"]
    assert first[0].severity == "critical"


def test_devices_without_plans_alert_too() -> None:
    device = DeviceHealth(
        vendor="v",
        account="a",
        company_id="c",
        device_id="d9",
        device_name="PC",
        health=Health.OVERDUE,
        reason="old",
        last_success_at=None,
    )
    (alert,) = alerts_from(assessment(devices=(device,)), NOW)
    assert (alert.key, alert.severity) == ("v|a|c|d9|-|overdue", "high")


def test_open_once_recover_once(tmp_path: Path) -> None:
    state = AlertState.load(tmp_path / "state.json")
    opened, recovered = reconcile(state, alerts_from(assessment(plan_health(Health.MISSED)), NOW))
    assert [a.problem for a in opened] == [Health.MISSED] and recovered == []
    state.save()
    state = AlertState.load(tmp_path / "state.json")
    later = NOW + dt.timedelta(hours=6)
    opened, recovered = reconcile(state, alerts_from(assessment(plan_health(Health.MISSED)), later))
    assert opened == [] and recovered == []  # still the same problem: no second ticket
    assert state.open["v|a|c1|d1|p1|missed"].first_seen == NOW
    opened, recovered = reconcile(state, alerts_from(assessment(plan_health(Health.OK)), later))
    assert opened == [] and [a.key for a in recovered] == ["v|a|c1|d1|p1|missed"]
    assert state.open == {}


def test_a_changed_problem_recovers_the_old_and_opens_the_new(tmp_path: Path) -> None:
    state = AlertState(tmp_path / "s.json")
    reconcile(state, alerts_from(assessment(plan_health(Health.FAILED)), NOW))
    opened, recovered = reconcile(state, alerts_from(assessment(plan_health(Health.MISSED)), NOW))
    assert [a.problem for a in opened] == [Health.MISSED] and [a.problem for a in recovered] == [Health.FAILED]


def test_a_silent_account_keeps_its_alerts_open(tmp_path: Path) -> None:
    state = AlertState(tmp_path / "s.json")
    reconcile(state, alerts_from(assessment(plan_health(Health.FAILED, account="down")), NOW))
    _, recovered = reconcile(state, [], scope=[("v", "up")])  # "down" did not answer this time
    assert recovered == [] and "v|down|c1|d1|p1|failed" in state.open


def test_ndjson_sink_and_hooks(tmp_path: Path) -> None:
    stream = io.StringIO()
    sink = NdjsonAlertSink(stream)
    with plugins.registered_plugin(sink, "test-sink"):
        pm = plugins.get_plugin_manager()
        alert = alerts_from(assessment(plan_health(Health.WARNING)), NOW)[0]
        pm.hook.backup_problem(alert=alert)
        pm.hook.backup_recovered(alert=alert)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["event"], e["key"], e["severity"]) for e in events] == [
        ("problem", alert.key, "low"),
        ("recovered", alert.key, "low"),
    ]


def test_state_file_round_trip(tmp_path: Path) -> None:
    state = AlertState(tmp_path / "deep" / "state.json")
    reconcile(state, alerts_from(assessment(plan_health(Health.OVERDUE)), NOW))
    state.save()
    loaded = AlertState.load(state.path)
    assert loaded.open == state.open and isinstance(next(iter(loaded.open.values())), Alert)


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("ticketing_plugin_example", DOCS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_documented_ticketing_plugin_works_as_a_plugin(tmp_path: Path) -> None:
    example = _load_example()
    desk = example.Desk(tmp_path / "tickets.json")
    plugin = example.TicketingPlugin(desk)
    state = AlertState(tmp_path / "state.json")
    with plugins.registered_plugin(plugin, "tickets"):
        hook = plugins.get_plugin_manager().hook
        for pass_number, health in enumerate((Health.FAILED, Health.FAILED, Health.OK)):
            opened, recovered = reconcile(
                state, alerts_from(assessment(plan_health(health)), NOW + dt.timedelta(hours=pass_number))
            )
            for alert in opened:
                hook.backup_problem(alert=alert)
            for alert in recovered:
                hook.backup_recovered(alert=alert)
    tickets = json.loads((tmp_path / "tickets.json").read_text())
    assert list(tickets) == ["v|a|c1|d1|p1|failed"]  # one ticket for three passes
    assert tickets["v|a|c1|d1|p1|failed"]["priority"] == "P1" and tickets["v|a|c1|d1|p1|failed"]["state"] == "closed"
    assert backupbridge.hookimpl  # the example uses only names backupbridge exports
