"""The ConnectWise sink through the outbox: one ticket per problem, notes, close, a new ticket when it comes
back, never a duplicate (a lost answer is looked up, not written again), and every refusal kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from backupbridge.alerts import AlertState
from backupbridge.health import Health
from backupbridge.sinks import deliver_to_sinks, sink_report_lines
from backupbridge_connectwise import ConnectWiseSimulator, ConnectWiseSink, marker

from .conftest import NOW, Wire, named, run_pass

Make = Callable[..., ConnectWiseSink]


def test_a_problem_opens_one_ticket_on_the_board_with_the_alert_in_it(
    tmp_path: Path, sim: ConnectWiseSimulator, make_sink: Make
) -> None:
    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, Health.FAILED, [make_sink()])
    assert outcome.sinks.delivered == 1 and not outcome.sinks.failures and state.outbox == []
    (ticket,) = sim.tickets.values()
    key = "cleverfox|fox|2|d1|p1|failed"
    assert ticket["summary"] == f"Acme GmbH / SRV-01 (Nightly): backup failed {marker(key)}"
    assert ticket["board"]["name"] == "Backups" and ticket["status"]["name"] == "New"
    assert ticket["company"]["identifier"] == "CatchAll" and ticket["closedFlag"] is False
    assert ticket["priority"]["id"] == 1  # failed on an unknown kind: critical
    (note,) = sim.notes[ticket["id"]]
    assert "Reason: last run failed: disk full" in note["text"] and f"Alert key: {key}" in note["text"]
    assert "Device: SRV-01 (id d1, unknown)" in note["text"]


def test_recovery_closes_and_a_comeback_opens_a_new_ticket(
    tmp_path: Path, sim: ConnectWiseSimulator, make_sink: Make
) -> None:
    state, sink = AlertState(tmp_path / "s.json"), make_sink()
    run_pass(state, Health.FAILED, [sink])
    run_pass(state, Health.OK, [sink], NOW + dt.timedelta(days=1))
    (first,) = sim.tickets.values()
    assert first["closedFlag"] is True and first["status"]["name"] == "Closed (resolved)"
    assert sim.notes[first["id"]][-1]["resolutionFlag"] is True
    run_pass(state, Health.FAILED, [sink], NOW + dt.timedelta(days=2))
    old, new = sorted(sim.tickets.values(), key=lambda t: t["id"])
    assert old["closedFlag"] and not new["closedFlag"] and new["status"]["name"] == "Re-opened"
    assert old["summary"] == new["summary"]  # the same problem, the same marker
    assert f"Came back after ticket #{old['id']} was closed." in sim.notes[new["id"]][0]["text"]


def test_seen_again_adds_a_note_and_escalation_raises_the_priority(
    tmp_path: Path, sim: ConnectWiseSimulator, make_sink: Make
) -> None:
    run_pass(AlertState(tmp_path / "a.json"), Health.FAILED, [make_sink(priorities={"critical": 2, "high": 1})])
    # Another machine (or a lost state file) sees the same problem: a note, never a second ticket.
    run_pass(AlertState(tmp_path / "b.json"), Health.FAILED, [make_sink()], NOW + dt.timedelta(hours=5))
    (ticket,) = sim.tickets.values()
    texts = [n["text"] for n in sim.notes[ticket["id"]]]
    assert len(texts) == 2 and texts[1].startswith("Escalated to critical")
    assert ticket["priority"]["id"] == 1
    run_pass(AlertState(tmp_path / "c.json"), Health.FAILED, [make_sink()], NOW + dt.timedelta(hours=6))
    assert len(sim.tickets) == 1 and sim.notes[ticket["id"]][-1]["text"].startswith("Seen again")


@pytest.mark.parametrize("lost", ["POST /service/tickets", "POST /service/tickets/1001/notes"])
def test_a_lost_answer_is_looked_up_and_never_written_twice(
    tmp_path: Path, sim: ConnectWiseSimulator, wire: Wire, make_sink: Make, lost: str
) -> None:
    state, sink = AlertState(tmp_path / "s.json"), make_sink()
    if lost.endswith("notes"):
        run_pass(state, Health.FAILED, [sink])
        wire.lose.add(lost)
        outcome = run_pass(state, Health.OK, [sink], NOW + dt.timedelta(days=1))
    else:
        wire.lose.add(lost)
        outcome = run_pass(state, Health.FAILED, [sink])
    (failure,) = outcome.sinks.failures
    assert not failure.permanent and "unreachable" in failure.error and len(state.outbox) == 1
    assert deliver_to_sinks(state, [sink]).delivered == 1  # the next run
    (ticket,) = sim.tickets.values()
    keys = [n["text"].rsplit(" ", 1)[-1] for n in sim.notes[ticket["id"]]]
    assert len(keys) == len(set(keys))  # no note written twice
    if lost.endswith("notes"):
        assert ticket["closedFlag"] is True and len(keys) == 2


@pytest.mark.parametrize(("status", "permanent"), [(401, True), (403, True), (429, False), (500, False)])
def test_a_psa_refusing_or_failing_keeps_the_event_and_other_sinks_go_on(
    tmp_path: Path, sim: ConnectWiseSimulator, make_sink: Make, status: int, permanent: bool
) -> None:
    state = AlertState(tmp_path / "s.json")
    down, healthy = make_sink(), make_sink()
    healthy.label = "psa2"
    sim.refuse_next(status)
    outcome = run_pass(state, Health.FAILED, [down, healthy])
    (failure,) = outcome.sinks.failures
    assert failure.sink == "psa" and failure.permanent is permanent and f"HTTP {status}" in failure.error
    assert outcome.sinks.delivered == 1 and len(sim.tickets) == 1  # the other sink delivered
    (line,) = sink_report_lines(outcome.sinks)
    assert line.startswith("error: alerts: sink psa ") and "kept for the next run" in line
    assert sim.credentials["private_key"] not in line and sim.credentials["public_key"] not in line
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)  # past any backoff
    assert deliver_to_sinks(state, [down], clock=lambda: later).delivered == 1
    # Both sinks point at one board here: the retry finds the ticket this same event opened, and the note
    # naming this delivery in it, so it writes nothing.
    assert len(sim.tickets) == 1 and state.outbox == [] and len(sim.notes[1001]) == 1


def test_wrong_credentials_are_refused_with_one_line(
    tmp_path: Path, sim: ConnectWiseSimulator, make_sink: Make
) -> None:
    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, Health.FAILED, [make_sink(private_key=lambda: "wrong-private-key")])
    (failure,) = outcome.sinks.failures
    assert failure.permanent and "refused the credentials (HTTP 401" in failure.error
    assert "wrong-private-key" not in failure.error and state.outbox


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"board": "Backup"}, "board 'Backup' does not exist"),
        ({"status_closed": "Done"}, "status 'Done' (status_closed) is not a status of board 'Backups'"),
        ({"companies": {}, "default_company": None}, "is mapped to no ConnectWise company"),
        ({"default_company": "NoSuchCo"}, "company 'NoSuchCo' does not exist"),
    ],
)
def test_names_that_do_not_exist_are_one_clear_refusal(
    tmp_path: Path, sim: ConnectWiseSimulator, make_sink: Make, override: dict[str, object], message: str
) -> None:
    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, Health.FAILED, [make_sink(**override)])
    (failure,) = outcome.sinks.failures
    assert failure.permanent and message in failure.error and state.outbox and not sim.tickets


def test_an_unreachable_psa_keeps_everything(tmp_path: Path, wire: Wire, make_sink: Make) -> None:
    wire.down = True
    state = AlertState(tmp_path / "s.json")
    outcome = run_pass(state, Health.FAILED, [make_sink()])
    (failure,) = outcome.sinks.failures
    assert not failure.permanent and "unreachable" in failure.error and len(state.outbox) == 1


def test_a_long_title_is_cut_to_connectwise_s_100_characters_keeping_the_marker(make_sink: Make) -> None:
    (alert,) = named(Health.FAILED)
    alert = attrs.evolve(alert, plan_name="Nightly " * 30)
    summary = make_sink().summary(alert)
    assert len(summary) <= 100 and summary.endswith(f": backup failed {marker(alert.key)}")
    assert summary.startswith("Acme GmbH / SRV-01") and "Nightly" not in summary  # the plan went first
    alert = attrs.evolve(alert, company_name="Acme " * 40)
    summary = make_sink().summary(alert)
    assert len(summary) == 100 and "...: backup failed [bb:" in summary
