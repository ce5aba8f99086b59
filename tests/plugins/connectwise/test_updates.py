"""Issue 16: the ConnectWise ticket of a problem that stays open gets a note when there is news (one more
failed run between two report runs, an escalation), exactly one per piece of news, and none for a re-run
that saw nothing new. Real ``backupbridge report --sandbox --alerts`` runs against the simulator on loopback."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import backupbridge.sandbox as sandbox
from backupbridge.alerts import Alert, AlertState, reconcile_events
from backupbridge.cli import main
from backupbridge.health import Health
from backupbridge.sinks import deliver_alerts
from backupbridge_cleverfox.seeding import _seed_log
from backupbridge_connectwise import ConnectWiseSimulator, marker

from .conftest import NOW, Wire
from .test_sandbox_cli import config
from .test_sink import Make


def report(capsys: pytest.CaptureFixture[str], cfg: Path, state: Path) -> tuple[int, str]:
    """``report --sandbox --alerts`` over the CleverFox tenant (a vendor that lists every run, so a plan's
    failures in a row can grow)."""
    args = ["report", "--sandbox", "--alerts", "--vendor", "cleverfox", "--size", "8", "--config", str(cfg)]
    code = main([*args, "--state-file", str(state), "--format", "json", "--quiet"])
    return code, capsys.readouterr().err


def one_more_failure(monkeypatch: pytest.MonkeyPatch, plan_id: str, after: dt.datetime) -> None:
    """From now on the sandbox's CleverFox tenant shows one more failed run of job ``plan_id``, an hour after
    ``after`` (its newest run). The tenant is seeded afresh on every run, so the run joins every seeding."""
    original = sandbox.sandbox_tenants

    def tenants(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        for vendor, _account, sim in found:
            if vendor != "cleverfox":
                continue
            tables = sim.tables  # type: ignore[attr-defined]
            job = tables["jobs"][int(plan_id)]
            item = next(i for i in tables["jobitems"].values() if i["JobId"] == job["JobId"])
            newest = max(
                (log for log in tables["logs"].values() if log["JobId"] == job["JobId"]), key=lambda x: x["LogId"]
            )
            device = tables["devices"][job["DeviceId"]]
            start = after.astimezone(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=1)
            _seed_log(sim, device, job, item, newest["TimeZoneId"], start, "Failed")  # type: ignore[arg-type]
        return found

    monkeypatch.setattr(sandbox, "sandbox_tenants", tenants)


def test_one_more_failed_run_between_runs_is_exactly_one_note_and_a_rerun_none(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    served: tuple[ConnectWiseSimulator, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, site = served
    cfg, state = config(tmp_path, site), tmp_path / "state.json"
    _, err = report(capsys, cfg, state)
    assert "error: alerts" not in err, err
    opened = json.loads(state.read_text())["open"]
    failing = sorted(
        (a for a in opened.values() if a["problem"] == "failed" and a["consecutive_failures"] >= 1),
        key=lambda a: a["key"],
    )
    assert failing, "the sandbox tenant has a failing plan"
    alert = failing[0]
    ticket = next(tid for tid, t in sim.tickets.items() if t["summary"].endswith(marker(alert["key"])))
    notes_before = {tid: len(n) for tid, n in sim.notes.items()}

    # Between two report runs the device fails once more.
    one_more_failure(monkeypatch, alert["plan_id"], dt.datetime.fromisoformat(alert["last_run_at"]))
    _, err = report(capsys, cfg, state)
    assert "error: alerts" not in err, err
    now_open = json.loads(state.read_text())["open"][alert["key"]]
    assert now_open["consecutive_failures"] == alert["consecutive_failures"] + 1
    assert now_open["first_seen"] == alert["first_seen"]  # the same problem, still open
    after = {tid: len(n) for tid, n in sim.notes.items()}
    assert after[ticket] == notes_before[ticket] + 1  # exactly one note, on that ticket
    assert {t: n for t, n in after.items() if t != ticket} == {
        t: n for t, n in notes_before.items() if t != ticket
    }  # and no other ticket touched
    note = sim.notes[ticket][-1]["text"]
    assert note.startswith(f"Failed again ({now_open['consecutive_failures']} failures in a row)"), note
    assert len(sim.tickets) == len({t["summary"] for t in sim.tickets.values()})  # no second ticket

    # A third run with nothing new adds nothing anywhere.
    _, err = report(capsys, cfg, state)
    assert "error: alerts" not in err, err
    assert {tid: len(n) for tid, n in sim.notes.items()} == after
    assert json.loads(state.read_text())["outbox"] == []


def _alert(failures: int, severity: str, at: dt.datetime) -> Alert:
    key = Alert.make_key("cleverfox", "fox", "2", "d1", "p1", Health.FAILED)
    return Alert(
        key=key, vendor="cleverfox", account="fox", company_id="2", device_id="d1", plan_id="p1",
        problem=Health.FAILED, severity=severity, reason="last run failed: disk full", first_seen=at, last_seen=at,
        consecutive_failures=failures, device_name="SRV-01", company_name="Acme GmbH",
    )  # fmt: skip


def test_an_escalation_is_one_note_and_a_higher_priority_and_a_lost_answer_writes_nothing_twice(
    tmp_path: Path, sim: ConnectWiseSimulator, wire: Wire, make_sink: Make
) -> None:
    state, sink = AlertState(tmp_path / "s.json"), make_sink()

    def run(failures: int, severity: str, hours: int) -> None:
        changes = reconcile_events(state, [_alert(failures, severity, NOW + dt.timedelta(hours=hours))])
        deliver_alerts(state, changes.opened, changes.recovered, [], [sink], updated=changes.updated)

    run(1, "high", 0)
    (ticket,) = sim.tickets.values()
    assert ticket["priority"]["id"] == 2 and len(sim.notes[ticket["id"]]) == 1
    wire.lose.add(f"POST /service/tickets/{ticket['id']}/notes")  # the note lands, its answer is lost
    run(2, "critical", 1)
    assert [e.event for e in state.outbox] == ["updated"]  # kept for the next run
    assert sim.tickets[ticket["id"]]["priority"]["id"] == 1  # escalated: the priority raised
    run(2, "critical", 2)  # nothing new: only the kept delivery, which finds its note
    texts = [n["text"] for n in sim.notes[ticket["id"]]]
    assert len(texts) == 2 and texts[1].startswith("Escalated to critical") and state.outbox == []
    run(2, "critical", 3)
    assert len(sim.notes[ticket["id"]]) == 2 and len(sim.tickets) == 1
