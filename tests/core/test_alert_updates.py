"""Issue 16: an ``updated`` event for a problem still open whose news changed (one more failed run, a new
failure streak, a higher severity), never for a re-run with nothing new; queued through the same outbox to
plugins implementing ``backup_updated`` and to every sink."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pluggy

from backupbridge.alerts import (
    Alert,
    AlertState,
    Changes,
    Delivery,
    NdjsonAlertSink,
    Receiver,
    hook_receivers,
    reconcile,
    reconcile_events,
)
from backupbridge.health import Health
from backupbridge.hookspecs import hookimpl
from backupbridge.plugins import get_plugin_manager
from backupbridge.sinks import DigestSink, EventSink, WebhookSink, deliver_alerts
from backupbridge.sinks.email import digest_message
from backupbridge.sinks.webhook import verify_signature

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def alert(failures: int = 1, severity: str = "high", at: dt.datetime = NOW, **kw: Any) -> Alert:
    key = Alert.make_key("cleverfox", "fox", "2", "d1", "p1", Health.FAILED)
    fields: dict[str, Any] = {
        "key": key, "vendor": "cleverfox", "account": "fox", "company_id": "2", "device_id": "d1",
        "plan_id": "p1", "problem": Health.FAILED, "severity": severity, "reason": "last run failed: disk full",
        "first_seen": at, "last_seen": at, "consecutive_failures": failures,
        "failing_since": NOW - dt.timedelta(hours=10), "device_name": "SRV-01", "company_name": "Acme GmbH",
    }  # fmt: skip
    fields.update(kw)
    return Alert(**fields)


class Recorder(EventSink):
    def __init__(self) -> None:
        super().__init__("recorder")
        self.seen: list[tuple[str, int, str]] = []

    def send_event(self, entry: Delivery) -> None:
        self.seen.append((entry.event, entry.alert.consecutive_failures, entry.idempotency_key))


class Digest(DigestSink):
    def __init__(self) -> None:
        super().__init__("digest")
        self.sent: list[tuple[list[Delivery], dict[str, Alert]]] = []

    def send_digest(self, entries: Sequence[Delivery], open_alerts: Mapping[str, Alert]) -> None:
        self.sent.append((list(entries), dict(open_alerts)))


def run(state: AlertState, current: list[Alert], sinks: list[Any], receivers: Sequence[Receiver] = ()) -> Changes:
    changes = reconcile_events(state, current)
    deliver_alerts(state, changes.opened, changes.recovered, receivers, sinks, updated=changes.updated)
    return changes


def test_a_rerun_with_nothing_new_is_no_event_and_one_more_failure_is_exactly_one(tmp_path: Path) -> None:
    state, sink = AlertState(tmp_path / "s.json"), Recorder()
    assert run(state, [alert(1)], [sink]).opened
    # The same problem seen again, later, with nothing new: no event (no ticket spam).
    assert run(state, [alert(1, at=NOW + HOUR)], [sink]) == Changes([], [], [])
    # One more failed run between two passes: one updated event, with the first_seen kept.
    changes = run(state, [alert(2, at=NOW + 2 * HOUR)], [sink])
    assert [a.consecutive_failures for a in changes.updated] == [2] and changes.updated[0].first_seen == NOW
    assert run(state, [alert(2, at=NOW + 3 * HOUR)], [sink]).updated == []
    assert [(event, n) for event, n, _ in sink.seen] == [("problem", 1), ("updated", 2)]
    assert state.outbox == [] and state.open[alert().key].consecutive_failures == 2


def test_escalation_and_a_new_streak_are_news_fewer_failures_or_a_lower_severity_are_not(tmp_path: Path) -> None:
    state = AlertState(tmp_path / "s.json")
    reconcile_events(state, [alert(3, "high")])
    assert reconcile_events(state, [alert(3, "critical")]).updated  # escalated
    assert not reconcile_events(state, [alert(3, "high")]).updated  # lower: no news
    assert not reconcile_events(state, [alert(2, "high")]).updated  # fewer failures (fewer runs listed)
    # It succeeded and failed again between two passes: the streak is new though shorter.
    later = reconcile_events(state, [alert(1, "high", failing_since=NOW - HOUR)])
    assert [a.consecutive_failures for a in later.updated] == [1]


def test_reconcile_keeps_its_two_tuple(tmp_path: Path) -> None:
    state = AlertState(tmp_path / "s.json")
    opened, recovered = reconcile(state, [alert(1)])
    assert [a.key for a in opened] == [alert().key] and recovered == []
    assert reconcile(state, [alert(2)]) == ([], [])  # the news is reconcile_events' to report
    assert state.open[alert().key].consecutive_failures == 2


def test_each_piece_of_news_has_its_own_idempotency_key_stable_across_retries(tmp_path: Path) -> None:
    two = Delivery(event="updated", alert=alert(2), pending=["x"])
    assert two.idempotency_key == Delivery(event="updated", alert=alert(2), pending=["y"]).idempotency_key
    others = {
        Delivery(event=e, alert=a, pending=["x"]).idempotency_key
        for e, a in (("updated", alert(3)), ("updated", alert(2, "critical")), ("problem", alert(2)))
    }
    assert two.idempotency_key not in others and len(others) == 3


def test_an_updated_event_that_fails_stays_in_the_outbox_across_a_reload(tmp_path: Path) -> None:
    class Down(EventSink):
        def send_event(self, entry: Delivery) -> None:
            if entry.event == "updated":
                raise OSError("connection refused")

    path = tmp_path / "s.json"
    state = AlertState(path)
    run(state, [alert(1)], [Down("down")])
    run(state, [alert(2)], [Down("down")])
    again = AlertState.load(path)
    assert [(e.event, e.alert.consecutive_failures) for e in again.outbox] == [("updated", 2)]
    sink = Recorder()
    sink.label = "down"  # the same sink, now up: it gets the kept event, once
    run(again, [alert(2)], [sink])
    assert [(event, n) for event, n, _ in sink.seen] == [("updated", 2)] and again.outbox == []


def test_backup_updated_goes_to_plugins_implementing_it_only(tmp_path: Path) -> None:
    class WithUpdates:
        def __init__(self) -> None:
            self.seen: list[tuple[str, int]] = []

        @hookimpl
        def backup_problem(self, alert: Alert) -> None:
            self.seen.append(("problem", alert.consecutive_failures))

        @hookimpl
        def backup_updated(self, alert: Alert) -> None:
            self.seen.append(("updated", alert.consecutive_failures))

    class ProblemsOnly:
        def __init__(self) -> None:
            self.seen: list[str] = []

        @hookimpl
        def backup_problem(self, alert: Alert) -> None:
            self.seen.append("problem")

    pm: pluggy.PluginManager = get_plugin_manager()
    with_updates, problems_only = WithUpdates(), ProblemsOnly()
    pm.register(with_updates, name="test.with-updates")
    pm.register(problems_only, name="test.problems-only")
    try:
        receivers = hook_receivers(pm, only={"test.with-updates", "test.problems-only"})
        state = AlertState(tmp_path / "s.json")
        run(state, [alert(1)], [], receivers)
        run(state, [alert(2)], [], receivers)
        run(state, [alert(2)], [], receivers)
    finally:
        pm.unregister(with_updates)
        pm.unregister(problems_only)
    assert with_updates.seen == [("problem", 1), ("updated", 2)]
    assert problems_only.seen == ["problem"] and state.outbox == []  # owed nothing it cannot take


def test_the_ndjson_sink_writes_updated_lines(tmp_path: Path) -> None:
    out = tmp_path / "alerts.ndjson"
    with out.open("w") as stream:
        ndjson = NdjsonAlertSink(stream)
        receivers = [Receiver("nd", ndjson.backup_problem, ndjson.backup_recovered, ndjson.backup_updated)]
        state = AlertState(tmp_path / "s.json")
        run(state, [alert(1)], [], receivers)
        run(state, [alert(2)], [], receivers)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(x["event"], x["consecutive_failures"]) for x in lines] == [("problem", 1), ("updated", 2)]


def test_the_webhook_sends_updated_with_its_event_name_signed(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    hook = WebhookSink(
        "ops", url="https://hooks.example/x", secret=lambda: "s3cret-value", transport=httpx.MockTransport(answer)
    )
    state = AlertState(tmp_path / "s.json")
    run(state, [alert(1)], [hook])
    run(state, [alert(2, "critical")], [hook])
    assert [r.headers["X-Backupbridge-Event"] for r in seen] == ["problem", "updated"]
    body = json.loads(seen[1].content)
    assert body["event"] == "updated" and body["alert"]["severity"] == "critical"
    assert body["idempotency_key"] == seen[1].headers["Idempotency-Key"] != seen[0].headers["Idempotency-Key"]
    assert verify_signature("s3cret-value", dict(seen[1].headers), seen[1].content)


def test_the_digest_lists_updated_problems_under_ongoing(tmp_path: Path) -> None:
    state, digest = AlertState(tmp_path / "s.json"), Digest()
    run(state, [alert(1)], [digest])
    run(state, [alert(2)], [digest])
    entries, open_alerts = digest.sent[-1]
    assert [e.event for e in entries] == ["updated"]
    message = digest_message(entries, open_alerts, sender="bb@example.org", recipients=["ops@example.org"])
    assert message["Subject"] == "backupbridge: 0 new, 1 ongoing, 0 recovered backup problems"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Ongoing (1)\n  - Acme GmbH / SRV-01 (p1): backup failed" in text and "2 failures in a row" in text
    # A retried digest whose problem recovered since still shows the news, under ongoing, not as new.
    retried = digest_message(entries, {}, sender="bb@example.org", recipients=["ops@example.org"])
    assert "0 new, 1 ongoing" in retried["Subject"]
