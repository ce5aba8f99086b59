"""The webhook sink against a real loopback HTTP server: signed, idempotent, kept when the receiver is down,
refusing or failing, and never blocking another sink."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from backupbridge.alerts import AlertState, alerts_from, reconcile
from backupbridge.health import Assessment, Health, PlanHealth
from backupbridge.sinks import (
    EventSink,
    WebhookSink,
    backoff,
    deliver_alerts,
    deliver_to_sinks,
    sink_report_lines,
    verify_signature,
)
from backupbridge.sinks.webhook import sign

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
SECRET = "whsec-3c1f9e77b2"


class Receiver(http.server.BaseHTTPRequestHandler):
    status = 200
    seen: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append(({k: v for k, v in self.headers.items()}, body))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    handler = type("Handler", (Receiver,), {"seen": [], "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook?token=abc", handler
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def problem(health: Health = Health.FAILED, plan: str = "p1") -> Assessment:
    return Assessment(
        plans=(
            PlanHealth(
                vendor="v", account="a", company_id="c1", device_id="d1", plan_id=plan, plan_name="Nightly",
                health=health, reason="because",
            ),
        ),
        devices=(),
    )  # fmt: skip


def run_pass(state: AlertState, health: Health, sinks: list[Any], at: dt.datetime = NOW) -> Any:
    opened, recovered = reconcile(state, alerts_from(problem(health), at))
    return deliver_alerts(state, opened, recovered, [], sinks)


def webhook(url: str, secret: str = SECRET) -> WebhookSink:
    return WebhookSink("ops", url=url, secret=lambda: secret, timeout=2)


def test_a_delivery_is_signed_and_carries_its_idempotency_key(
    tmp_path: Path, receiver: tuple[str, type[Receiver]]
) -> None:
    url, handler = receiver
    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, Health.FAILED, [webhook(url)])
    assert outcome.sinks.delivered == 1 and state.outbox == []
    ((headers, body),) = handler.seen
    assert verify_signature(SECRET, headers, body)
    assert headers["X-Backupbridge-Signature"] == sign(SECRET, headers["X-Backupbridge-Timestamp"], body)
    assert not verify_signature("another-secret", headers, body)
    assert not verify_signature(SECRET, headers, body + b" ")  # the body was changed
    stale = int(headers["X-Backupbridge-Timestamp"]) + 301
    assert not verify_signature(SECRET, headers, body, now=stale)  # a replay outside the tolerance
    assert verify_signature(SECRET, {k.lower(): v for k, v in headers.items()}, body)  # any case of the names
    document = json.loads(body)
    assert document["event"] == "problem" and document["alert"]["key"] == "v|a|c1|d1|p1|failed"
    assert headers["Idempotency-Key"] == document["idempotency_key"] and len(headers["Idempotency-Key"]) == 32


def test_idempotency_keys_are_stable_across_retries_and_new_for_a_reopened_problem(
    tmp_path: Path, receiver: tuple[str, type[Receiver]]
) -> None:
    url, handler = receiver
    handler.status = 503
    state = AlertState(tmp_path / "s.json")
    sink = webhook(url)
    run_pass(state, Health.FAILED, [sink])
    handler.status = 200
    deliver_to_sinks(state, [sink])  # the next run
    first, retried = (h["Idempotency-Key"] for h, _ in handler.seen)
    assert first == retried
    run_pass(state, Health.OK, [sink], NOW + dt.timedelta(hours=1))  # recovered
    run_pass(state, Health.FAILED, [sink], NOW + dt.timedelta(hours=2))  # back again: a new event
    keys = [h["Idempotency-Key"] for h, _ in handler.seen]
    assert len(keys) == 4 and len(set(keys)) == 3
    assert [json.loads(b)["event"] for _, b in handler.seen] == ["problem", "problem", "recovered", "problem"]


@pytest.mark.parametrize("status", [500, 503, 429, 408])
def test_a_failing_receiver_keeps_the_event_for_the_next_run(
    tmp_path: Path, receiver: tuple[str, type[Receiver]], status: int
) -> None:
    url, handler = receiver
    handler.status = status
    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, Health.FAILED, [webhook(url)])
    (failure,) = outcome.sinks.failures
    assert not failure.permanent and f"HTTP {status}" in failure.error
    saved = json.loads(state.path.read_text())
    (entry,) = saved["outbox"]
    retry = entry["retries"]["backupbridge.sink.ops"]
    assert retry["attempts"] == 1 and retry["permanent"] is False and retry["next_attempt_at"]
    assert "token=abc" not in json.dumps(saved) + failure.error  # the URL's query never shows
    handler.status = 200
    assert deliver_to_sinks(AlertState.load(state.path), [webhook(url)]).delivered == 1


@pytest.mark.parametrize("status", [302, 400, 401, 403, 404])
def test_a_refusing_receiver_is_a_permanent_failure_kept_and_reported(
    tmp_path: Path, receiver: tuple[str, type[Receiver]], status: int
) -> None:
    url, handler = receiver
    handler.status = status
    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, Health.FAILED, [webhook(url)])
    (failure,) = outcome.sinks.failures
    assert failure.permanent and f"HTTP {status}" in failure.error
    (line,) = sink_report_lines(outcome.sinks)
    assert line.startswith("error: alerts: sink ops refused 1 deliveries, kept for the next run")
    assert "fix the sink's url or secret" in line
    # permanent: tried again on every run (no backoff), delivered once the configuration is fixed
    handler.status = 200
    state = AlertState.load(state.path)
    later = deliver_to_sinks(state, [webhook(url)], clock=lambda: NOW)
    assert later.delivered == 1 and state.outbox == []


def test_an_unreachable_receiver_loses_nothing_and_backs_off(tmp_path: Path) -> None:
    sink = webhook(f"http://127.0.0.1:{free_port()}/hook")
    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, Health.FAILED, [sink])
    (failure,) = outcome.sinks.failures
    assert "unreachable" in failure.error and not failure.permanent
    start = dt.datetime.now(dt.UTC)
    # the second failure backs off a minute: a run within it does not try, one after it does
    deliver_to_sinks(state, [sink], clock=lambda: start)
    (entry,) = state.outbox
    retry = entry.retries[sink.name]
    assert retry.attempts == 2 and retry.next_attempt_at == start + dt.timedelta(minutes=1)
    waiting = deliver_to_sinks(state, [sink], clock=lambda: start + dt.timedelta(seconds=30))
    assert waiting.waiting == 1 and waiting.failures == () and entry.retries[sink.name].attempts == 2
    deliver_to_sinks(state, [sink], clock=lambda: start + dt.timedelta(minutes=2))
    assert entry.retries[sink.name].attempts == 3 and len(state.outbox) == 1


def test_backoff_grows_and_is_bounded() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [0, 60, 120, 240]
    assert backoff(40) == dt.timedelta(hours=1)


def test_a_missing_secret_fails_that_sink_alone(
    tmp_path: Path, receiver: tuple[str, type[Receiver]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from backupbridge.config import FromEnvironment

    url, handler = receiver
    monkeypatch.delenv("NO_SUCH_WEBHOOK_SECRET", raising=False)
    source = FromEnvironment("NO_SUCH_WEBHOOK_SECRET")
    broken = WebhookSink("broken", url=url, secret=lambda: source.resolve("broken", "secret"))
    working = WebhookSink("working", url=url, secret=lambda: SECRET)
    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, Health.FAILED, [broken, working])
    (failure,) = outcome.sinks.failures
    assert failure.sink == "broken" and failure.permanent and "NO_SUCH_WEBHOOK_SECRET" in failure.error
    assert outcome.sinks.delivered == 1 and len(handler.seen) == 1
    (entry,) = state.outbox
    assert entry.pending == ["backupbridge.sink.broken"]


class Exploding(EventSink):
    def send_event(self, entry: Any) -> None:
        raise RuntimeError("a bug in a sink")


def test_a_sink_that_raises_blocks_no_other_sink_and_keeps_the_order(
    tmp_path: Path, receiver: tuple[str, type[Receiver]]
) -> None:
    url, handler = receiver
    state = AlertState(tmp_path / "s.json")
    bad = Exploding("bad")
    run_pass(state, Health.FAILED, [bad, webhook(url)])
    run_pass(state, Health.OK, [bad, webhook(url)], NOW + dt.timedelta(hours=1))
    assert [json.loads(b)["event"] for _, b in handler.seen] == ["problem", "recovered"]
    assert [(e.event, e.pending) for e in state.outbox] == [
        ("problem", ["backupbridge.sink.bad"]),
        ("recovered", ["backupbridge.sink.bad"]),
    ]
    # the recovery never overtakes its problem: fixed, the sink gets both, in order
    got: list[str] = []

    class Fixed(EventSink):
        def send_event(self, entry: Any) -> None:
            got.append(entry.event)

    after_backoff = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    deliver_to_sinks(state, [Fixed("bad")], clock=lambda: after_backoff)
    assert got == ["problem", "recovered"] and state.outbox == []


def test_a_secret_from_the_keyring_is_read_when_delivering(
    tmp_path: Path, receiver: tuple[str, type[Receiver]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys
    import types

    from backupbridge.sinks import load_sinks

    url, handler = receiver
    config = tmp_path / "config.toml"
    config.write_text(
        f'[[sinks]]\ntype = "webhook"\nurl = "{url}"\nsecret_keyring = {{ service = "bb", username = "ops" }}\n'
    )
    (sink,) = load_sinks(config)  # nothing read yet: the keyring is not even installed
    monkeypatch.setitem(sys.modules, "keyring", None)
    state = AlertState(tmp_path / "s.json")
    (failure,) = run_pass(state, Health.FAILED, [sink]).sinks.failures
    assert failure.permanent and "keyring" in failure.error and handler.seen == []
    fake = types.ModuleType("keyring")
    fake.get_password = lambda service, user: SECRET if (service, user) == ("bb", "ops") else None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    assert deliver_to_sinks(state, [sink]).delivered == 1
    ((headers, body),) = handler.seen
    assert verify_signature(SECRET, headers, body)


def test_a_receiver_that_is_down_costs_one_attempt_per_run_not_one_per_event(tmp_path: Path) -> None:
    sink = webhook(f"http://127.0.0.1:{free_port()}/hook")
    state = AlertState(tmp_path / "s.json")
    opened, _ = reconcile(state, alerts_from(Assessment(plans=problem(plan="p1").plans + problem(plan="p2").plans
                                                         + problem(plan="p3").plans, devices=()), NOW))  # fmt: skip
    outcome = deliver_alerts(state, opened, [], [], [sink])
    assert len(outcome.sinks.failures) == 1 and outcome.sinks.waiting == 2 and len(state.outbox) == 3
    assert [len(e.retries) for e in state.outbox] == [1, 0, 0]  # the untried ones have no failure recorded
