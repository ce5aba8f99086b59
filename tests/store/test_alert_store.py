"""The alert state and outbox in the store (SQLite and PostgreSQL): reconciled one collector at a time,
each delivery claimed, acknowledged once, retried next run when a sink failed, resumed after a killed run."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from backupbridge.alerts import (
    Alert,
    Delivery,
    Receiver,
    alerts_from,
    open_alert_state,
    reconcile_events,
)
from backupbridge.health import Assessment, Health, PlanHealth
from backupbridge.sinks import AlertsOutcome, DigestSink, EventSink, Sink, SinkError, WebhookSink, deliver_alerts
from backupbridge.store import Store, open_store
from backupbridge.store import schema as tables
from backupbridge.store.alerts import DEFAULT_LEASE, StoreAlertState

from .conftest import NOW

SECRET = "whsec-h7-5a1d"
SINK = "backupbridge.sink.ops"


# -- a loopback webhook receiver ------------------------------------------------------------------------------


class Hook(http.server.BaseHTTPRequestHandler):
    status = 200
    delay = 0.0
    seen: ClassVar[list[tuple[str, str]]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if type(self).delay:
            time.sleep(type(self).delay)
        if type(self).status < 300:
            with type(self).lock:
                type(self).seen.append((self.headers["Idempotency-Key"], f"{body['event']} {body['alert']['key']}"))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, type[Hook]]]:
    handler = type("Handler", (Hook,), {"seen": [], "status": 200, "delay": 0.0, "lock": threading.Lock()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


def webhook(url: str) -> WebhookSink:
    return WebhookSink("ops", url=url, secret=lambda: SECRET, timeout=5)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- passes ---------------------------------------------------------------------------------------------------


def assessment(problems: dict[str, Health]) -> Assessment:
    return Assessment(
        plans=tuple(
            PlanHealth(
                vendor="v", account="a", company_id="c1", device_id="d1", plan_id=plan, plan_name=f"Plan {plan}",
                health=health, reason="because",
            )
            for plan, health in sorted(problems.items())
        ),
        devices=(),
    )  # fmt: skip


def failing(n: int) -> dict[str, Health]:
    return {f"p{i:03}": Health.FAILED for i in range(n)}


def one_pass(
    store: Store,
    problems: dict[str, Health],
    sinks: Sequence[Sink] = (),
    receivers: Sequence[Receiver] = (),
    *,
    at: dt.datetime = NOW,
    import_file: Path | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    timeout: float = 120.0,
) -> AlertsOutcome:
    """What a collect does with its alerts: reconcile (under the store's alert lock), then deliver."""
    options: dict[str, Any] = {"import_file": import_file, "timeout": timeout}
    if clock is not None:
        options["clock"] = clock
    with StoreAlertState.locked(store, **options) as state:
        changes = reconcile_events(state, alerts_from(assessment(problems), at), scope=[("v", "a")])
        return deliver_alerts(state, changes.opened, changes.recovered, receivers, sinks, updated=changes.updated)


def rows(store: Store, table: sa.Table, **where: object) -> list[sa.Row[Any]]:
    query = sa.select(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with store.read() as conn:
        return list(conn.execute(query).all())


class Recorder(EventSink):
    def __init__(self, label: str = "ops", fail: Callable[[Delivery], bool] = lambda _: False) -> None:
        super().__init__(label)
        self.got: list[tuple[str, str, str]] = []
        self.fail = fail

    def send_event(self, entry: Delivery) -> None:
        if self.fail(entry):
            raise SinkError("receiver down")
        self.got.append((entry.event, entry.alert.key, entry.idempotency_key))


# -- one interface, two backends --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["json", "store"])
def test_the_json_file_and_the_store_give_the_same_events(backend: str, store: Store, tmp_path: Path) -> None:
    sink = Recorder()
    events: list[list[tuple[str, str]]] = []
    for problems in (failing(2), failing(2), {"p000": Health.FAILED}, {"p000": Health.MISSED}, {}):
        before = len(sink.got)
        chosen = store if backend == "store" else None
        with open_alert_state(tmp_path / "alerts.json", store=chosen) as state:
            changes = reconcile_events(state, alerts_from(assessment(problems), NOW), scope=[("v", "a")])
            deliver_alerts(state, changes.opened, changes.recovered, [], [sink], updated=changes.updated)
            assert state.outbox == [] and set(state.open) == {f"v|a|c1|d1|{p}|{h.value}" for p, h in problems.items()}
        events.append([(event, key) for event, key, _ in sink.got[before:]])
    assert events == [
        [("problem", "v|a|c1|d1|p000|failed"), ("problem", "v|a|c1|d1|p001|failed")],
        [],
        [("recovered", "v|a|c1|d1|p001|failed")],
        [("problem", "v|a|c1|d1|p000|missed"), ("recovered", "v|a|c1|d1|p000|failed")],
        [("recovered", "v|a|c1|d1|p000|missed")],
    ]
    assert (tmp_path / "alerts.json").exists() == (backend == "json")  # the store never writes the file


def test_open_alert_state_needs_a_file_or_a_store() -> None:
    with pytest.raises(ValueError, match="a state file or a store"), open_alert_state():
        pass


def test_open_problems_and_delivered_events_are_rows_of_the_store(store: Store) -> None:
    sink = Recorder()
    one_pass(store, failing(3), [sink])
    opened = rows(store, tables.alert_open)
    assert sorted(r.key for r in opened) == [f"v|a|c1|d1|p00{i}|failed" for i in range(3)]
    assert Alert.from_json(json.loads(opened[0].alert)).plan_name == "Plan p000"
    delivered = rows(store, tables.alert_outbox, recipient=SINK)
    assert [(r.state, r.event) for r in delivered] == [("delivered", "problem")] * 3
    assert sorted(r.event_key for r in delivered) == sorted(key for _, _, key in sink.got)
    assert all(r.claimed_by is None and r.delivered_at is not None for r in delivered)


def test_the_same_event_is_never_queued_twice_for_one_recipient(store: Store) -> None:
    """The unique (recipient, idempotency key): a second enqueue of an event already queued is a no-op."""
    alert = alerts_from(assessment(failing(1)), NOW)[0]
    for _ in range(2):
        with StoreAlertState.locked(store) as state:
            state.enqueue([alert], [], [], sinks=[SINK])
            state.save()
    assert len(rows(store, tables.alert_outbox)) == 1


# -- retried on the next run when a sink failed ----------------------------------------------------------------


def test_a_sink_that_is_down_on_run_one_gets_the_events_on_run_two(store: Store, hook: tuple[str, type[Hook]]) -> None:
    url, handler = hook
    down = webhook(f"http://127.0.0.1:{closed_port()}/hook")
    first = one_pass(store, failing(3), [down])
    assert first.sinks.delivered == 0 and len(first.sinks.failures) == 1  # down: one timeout, the rest waits
    pending = rows(store, tables.alert_outbox, state="pending")
    assert len(pending) == 3 and sorted(r.attempts for r in pending) == [0, 0, 1]
    assert "unreachable" in max(pending, key=lambda r: r.attempts).last_error
    assert all(r.claimed_by is None for r in pending)  # given back at the end of the run
    second = one_pass(store, failing(3), [webhook(url)])
    assert second.sinks.delivered == 3 and second.sinks.failures == ()
    assert sorted(event for _, event in handler.seen) == [f"problem v|a|c1|d1|p00{i}|failed" for i in range(3)]
    assert {r.state for r in rows(store, tables.alert_outbox)} == {"delivered"}
    assert one_pass(store, failing(3), [webhook(url)]).sinks.delivered == 0  # nothing is sent twice
    assert len(handler.seen) == 3


def test_a_failing_receiver_backs_off_as_recorded_in_the_store(store: Store, hook: tuple[str, type[Hook]]) -> None:
    url, handler = hook
    handler.status = 503
    for _ in range(2):
        one_pass(store, failing(1), [webhook(url)])
    (row,) = rows(store, tables.alert_outbox)
    assert (row.state, row.attempts, row.permanent) == ("pending", 2, False)
    assert "HTTP 503" in row.last_error and row.next_attempt_at > dt.datetime.now(dt.UTC)  # 1 minute after
    handler.status = 200
    assert one_pass(store, failing(1), [webhook(url)]).sinks.waiting == 1  # not before its backoff
    handler.status = 404
    with store.write() as conn:
        conn.execute(sa.update(tables.alert_outbox).values(next_attempt_at=None))
    refused = one_pass(store, failing(1), [webhook(url)])
    assert refused.sinks.failures[0].permanent
    (row,) = rows(store, tables.alert_outbox)
    assert (row.state, row.attempts, row.permanent) == ("pending", 3, True)
    handler.status = 200
    assert one_pass(store, failing(1), [webhook(url)]).sinks.delivered == 1  # permanent: tried every run


def test_a_plugin_that_raises_keeps_its_event_and_an_absent_plugin_is_named(store: Store) -> None:
    calls: list[str] = []

    def flaky(alert: Alert) -> None:
        calls.append(alert.key)
        if len(calls) == 1:
            raise RuntimeError("PSA down")

    psa = Receiver("psa", problem=flaky)
    first = one_pass(store, failing(2), receivers=[psa, Receiver("rmm", problem=lambda a: None)])
    assert first.plugins.delivered == 1 + 2 and [f.plugin for f in first.plugins.failures] == ["psa"]
    assert first.plugins.pending == 1
    later = one_pass(store, failing(2), receivers=[Receiver("rmm", problem=lambda a: None)])
    assert later.plugins.absent == ("psa",) and later.plugins.pending == 1
    last = one_pass(store, failing(2), receivers=[psa])
    assert last.plugins.delivered == 1 and last.plugins.pending == 0
    assert calls == ["v|a|c1|d1|p000|failed", "v|a|c1|d1|p001|failed", "v|a|c1|d1|p000|failed"]


# -- never twice by two collectors at once ----------------------------------------------------------------------


def _collector(store_url: str, hook_url: str, start: Any, problems: int, offset: int) -> None:
    start.wait(60)
    with open_store(store_url) as store:  # each sees the problems a little later (another first_seen)
        one_pass(store, failing(problems), [webhook(hook_url)], at=NOW + dt.timedelta(seconds=offset))


@pytest.mark.parametrize("prequeued", [True, False], ids=["same-outbox", "same-problems"])
def test_two_collector_processes_at_once_deliver_each_event_exactly_once(
    store: Store, store_url: str, hook: tuple[str, type[Hook]], prequeued: bool
) -> None:
    """Two real processes, one store, one loopback receiver: either both find the same outbox queued, or both
    reconcile the same problems at once; each event reaches the receiver exactly once."""
    url, handler = hook
    handler.delay = 0.01
    if prequeued:
        with StoreAlertState.locked(store) as state:
            changes = reconcile_events(state, alerts_from(assessment(failing(30)), NOW), scope=[("v", "a")])
            state.enqueue(changes.opened, [], [], sinks=[SINK])
            state.save()
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [context.Process(target=_collector, args=(store_url, url, start, 30, n)) for n in range(2)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    keys = [key for key, _ in handler.seen]
    assert len(keys) == 30 and len(set(keys)) == 30
    outbox = rows(store, tables.alert_outbox)
    assert len(outbox) == 30 and {r.state for r in outbox} == {"delivered"}


def test_two_threads_with_their_own_engines_reconciling_at_once_queue_and_deliver_once(
    store_url: str, hook: tuple[str, type[Hook]]
) -> None:
    url, handler = hook
    rounds = [failing(12), {**failing(12), "p003": Health.MISSED}, failing(6), {}, failing(4)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def collector(offset: int) -> None:
        try:
            with open_store(store_url) as store:
                for number, problems in enumerate(rounds):
                    barrier.wait(60)
                    at = NOW + dt.timedelta(hours=number, seconds=offset)
                    one_pass(store, problems, [webhook(url)], at=at)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=collector, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == []
    keys = [key for key, _ in handler.seen]
    assert len(keys) == len(set(keys))
    events = sorted(event for _, event in handler.seen)
    # 12 opened; p003 failed -> missed (recovered + problem); p003 missed -> failed (2) and p006..p011
    # recovered; p000..p005 recovered; p000..p003 opened again (a new first_seen: a new event each).
    assert len(events) == 12 + 2 + (2 + 6) + 6 + 4
    with open_store(store_url) as store:
        assert {r.state for r in rows(store, tables.alert_outbox)} == {"delivered"}
        assert sorted(r.key for r in rows(store, tables.alert_open)) == [f"v|a|c1|d1|p00{i}|failed" for i in range(4)]


def test_events_of_an_alert_another_run_holds_wait_for_it_whole(store: Store) -> None:
    """A run that claimed the problem but has not delivered it yet keeps the recovery too: it never overtakes."""
    with StoreAlertState.locked(store) as holder:
        changes = reconcile_events(holder, alerts_from(assessment(failing(1)), NOW), scope=[("v", "a")])
        holder.enqueue(changes.opened, [], [], sinks=[SINK])
        holder.save()
        claimed = holder.owed(SINK)
        assert [e.event for e in claimed] == ["problem"]
        other = Recorder()
        one_pass(store, {}, [other])  # recovers p000 and queues the recovery, but may not deliver it
        assert other.got == []
        assert [r.event for r in rows(store, tables.alert_outbox, state="pending")] == ["problem", "recovered"]
    # the holder ended without delivering: its claim is given back, and the next run delivers both, in order
    late = Recorder()
    one_pass(store, {}, [late])
    assert [event for event, _, _ in late.got] == ["problem", "recovered"]


# -- a run killed mid-delivery -----------------------------------------------------------------------------------


def test_an_exception_between_claim_and_ack_leaves_a_state_the_next_run_resumes(
    store: Store, hook: tuple[str, type[Hook]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, handler = hook
    real = StoreAlertState.mark_delivered
    acks: list[str] = []

    def dies_on_the_third(self: StoreAlertState, entry: Delivery, name: str) -> None:
        if len(acks) == 2:
            raise RuntimeError("killed between the POST and its acknowledgement")
        acks.append(entry.alert.key)
        real(self, entry, name)

    monkeypatch.setattr(StoreAlertState, "mark_delivered", dies_on_the_third)
    with pytest.raises(RuntimeError, match="killed"):
        one_pass(store, failing(5), [webhook(url)])
    monkeypatch.setattr(StoreAlertState, "mark_delivered", real)
    assert len(rows(store, tables.alert_open)) == 5  # the reconciliation was committed before any delivery
    pending = rows(store, tables.alert_outbox, state="pending")
    assert len(pending) == 3 and all(r.claimed_by is None for r in pending)  # claims given back at once
    assert one_pass(store, failing(5), [webhook(url)]).sinks.delivered == 3
    sent = [event for _, event in handler.seen]
    assert len(sent) == 6  # 3 before the "kill", then the 3 not acknowledged
    assert sent[:2] == [f"problem v|a|c1|d1|p00{i}|failed" for i in range(2)]
    assert sent.count("problem v|a|c1|d1|p002|failed") == 2  # sent, never acknowledged: sent again (same key)
    assert all(sent.count(f"problem v|a|c1|d1|p00{i}|failed") == 1 for i in (0, 1, 3, 4))  # acked: never again
    keys = [key for key, event in handler.seen if event.endswith("p002|failed")]
    assert keys[0] == keys[1]


def _killed_collector(store_url: str, hook_url: str) -> None:
    class DiesOnTheThird(EventSink):
        def __init__(self) -> None:
            super().__init__("ops")
            self.inner = webhook(hook_url)
            self.sent = 0

        def send_event(self, entry: Delivery) -> None:
            if self.sent == 2:
                os.kill(os.getpid(), signal.SIGKILL)  # no finally, no release: as a kill -9 or an OOM kill
            self.inner.send_event(entry)
            self.sent += 1

    with open_store(store_url) as store:
        one_pass(store, failing(5), [DiesOnTheThird()])


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_process_killed_mid_delivery_is_resumed_once_its_claims_run_out(
    store: Store, store_url: str, hook: tuple[str, type[Hook]]
) -> None:
    url, handler = hook
    worker = multiprocessing.get_context("spawn").Process(target=_killed_collector, args=(store_url, url))
    worker.start()
    worker.join(timeout=120)
    assert worker.exitcode == -signal.SIGKILL
    pending = rows(store, tables.alert_outbox, state="pending")
    assert len(pending) == 3 and all(r.claimed_by is not None for r in pending)  # its claims outlive it
    assert len(rows(store, tables.alert_open)) == 5
    now = dt.datetime.now(dt.UTC)
    soon = one_pass(store, failing(5), [webhook(url)], clock=lambda: now + dt.timedelta(minutes=1))
    assert soon.sinks.delivered == 0  # the claims still hold: another run may be delivering them
    later = one_pass(store, failing(5), [webhook(url)], clock=lambda: now + DEFAULT_LEASE + dt.timedelta(minutes=1))
    assert later.sinks.delivered == 3
    sent = sorted(event for _, event in handler.seen)
    assert sent == [f"problem v|a|c1|d1|p00{i}|failed" for i in range(5)]  # each exactly once
    assert {r.state for r in rows(store, tables.alert_outbox)} == {"delivered"}


def test_a_long_delivery_renews_its_claims(store: Store) -> None:
    moment = [NOW]
    with StoreAlertState.locked(store, clock=lambda: moment[0]) as state:
        changes = reconcile_events(state, alerts_from(assessment(failing(2)), NOW), scope=[("v", "a")])
        state.enqueue(changes.opened, [], [], sinks=[SINK])
        state.save()
        first, second = state.owed(SINK)
        moment[0] = NOW + DEFAULT_LEASE * 0.75
        state.mark_delivered(first, SINK)
        (held,) = rows(store, tables.alert_outbox, state="pending")
        assert held.claimed_until == moment[0] + DEFAULT_LEASE
        with pytest.raises(ValueError, match="not claimed by this run"):
            state.mark_delivered(Delivery(event="problem", alert=second.alert, pending=[SINK]), SINK)


class Digest(DigestSink):
    def __init__(self, down: bool = False) -> None:
        super().__init__("mail")
        self.down = down
        self.digests: list[tuple[list[str], int]] = []

    def send_digest(self, entries: Sequence[Delivery], open_alerts: Mapping[str, Alert]) -> None:
        if self.down:
            raise SinkError("SMTP 451")
        self.digests.append(([f"{e.event} {e.alert.key}" for e in entries], len(open_alerts)))


def test_a_digest_sink_gets_one_digest_per_run_and_a_failed_one_whole_next_run(store: Store) -> None:
    mail = Digest(down=True)
    assert len(one_pass(store, failing(3), [mail]).sinks.failures) == 3
    assert {r.attempts for r in rows(store, tables.alert_outbox)} == {1}
    mail.down = False
    assert one_pass(store, failing(2), [mail]).sinks.delivered == 4  # the 3 problems and p002's recovery
    assert mail.digests == [
        ([f"problem v|a|c1|d1|p00{i}|failed" for i in range(3)] + ["recovered v|a|c1|d1|p002|failed"], 2)
    ]


def test_an_alert_row_the_store_cannot_read_is_one_line(store: Store) -> None:
    from backupbridge.alerts import AlertStateError

    one_pass(store, failing(1))
    with store.write() as conn:
        conn.execute(sa.update(tables.alert_open).values(alert='{"vendor": 7}'))
    with pytest.raises(AlertStateError, match=r"the store .* holds an alert it cannot read: KeyError") as caught:
        one_pass(store, failing(1))
    assert "\n" not in str(caught.value)
