"""The issue's "done when": real ``backupbridge report --sandbox --alerts`` runs with the ConnectWise sink
configured against its simulator served on loopback open, update, close and reopen tickets across three
simulated days, with no duplicate; a config in error or a PSA that refuses is one clear line."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from backupbridge.cli import main
from backupbridge_connectwise import ConnectWiseSimulator, marker

LENIENT = ["--max-age", "60d", "--grace", "30d", "--treat-warning-as-success", "--rollup", "best"]


def config(tmp_path: Path, site: str, **changes: str) -> Path:
    table = {
        "type": '"connectwise"',
        "name": '"psa"',
        "site": f'"{site}"',
        "company_id": '"bbsandbox"',
        "public_key_env": '"CW_PUBLIC_KEY"',
        "private_key_env": '"CW_PRIVATE_KEY"',
        "client_id_env": '"CW_CLIENT_ID"',
        "board": '"Backups"',
        "status_new": '"New"',
        "status_closed": '"Closed (resolved)"',
        "status_reopened": '"Re-opened"',
        "priorities": "{ critical = 1, high = 2, medium = 3, low = 4 }",
        "default_company": '"CatchAll"',
        **changes,
    }
    path = tmp_path / "config.toml"
    path.write_text("[[sinks]]\n" + "".join(f"{k} = {v}\n" for k, v in table.items()))
    return path


def report(capsys: pytest.CaptureFixture[str], cfg: Path, state: Path, *extra: str) -> tuple[int, str]:
    args = [
        "report",
        "--sandbox",
        "--alerts",
        "--vendor",
        "idrive360",
        "--vendor",
        "managedbackup",
        "--size",
        "6",
        "--config",
        str(cfg),
    ]
    code = main([*args, "--state-file", str(state), "--format", "json", "--quiet", *extra])
    return code, capsys.readouterr().err


def open_markers(sim: ConnectWiseSimulator) -> Counter[str]:
    return Counter(t["summary"].rsplit(" ", 1)[-1] for t in sim.tickets.values() if not t["closedFlag"])


def test_three_days_open_update_close_and_reopen_without_a_duplicate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, served: tuple[ConnectWiseSimulator, str]
) -> None:
    sim, site = served
    cfg, state = config(tmp_path, site), tmp_path / "state.json"

    # Day 1: the problems appear, one ticket each.
    _, err = report(capsys, cfg, state)
    assert "error: alerts" not in err, err
    opened = dict(sim.tickets)
    assert opened and all(not t["closedFlag"] and t["status"]["name"] == "New" for t in opened.values())
    assert all(count == 1 for count in open_markers(sim).values())
    assert all(t["board"]["name"] == "Backups" and len(t["summary"]) <= 100 for t in opened.values())
    notes_day1 = {tid: len(n) for tid, n in sim.notes.items()}

    # Day 2: they persist. The same run again writes nothing, and neither does a second machine (a fresh
    # state file) seeing the same problems since the same pass: each finds the ticket and the note of this
    # very delivery (its idempotency key) and writes nothing twice.
    sim.clock.advance(dt.timedelta(days=1))
    report(capsys, cfg, state)
    assert sim.tickets.keys() == opened.keys() and {t: len(n) for t, n in sim.notes.items()} == notes_day1
    _, err = report(capsys, cfg, tmp_path / "other-machine.json")
    assert "error: alerts" not in err, err
    assert sim.tickets.keys() == opened.keys() and {t: len(n) for t, n in sim.notes.items()} == notes_day1

    # Day 3: the backups are fixed (a lenient policy stands for runs that succeed): their tickets are closed,
    # with a resolution note; a problem still open keeps its ticket open.
    sim.clock.advance(dt.timedelta(days=1))
    _, err = report(capsys, cfg, state, *LENIENT)
    assert "error: alerts" not in err, err
    still = {marker(key) for key in json.loads(state.read_text())["open"]}
    closed = {t for t, v in sim.tickets.items() if v["summary"].endswith(tuple(still)) is False}
    assert closed and closed == {t for t, v in sim.tickets.items() if v["closedFlag"]}
    assert all(sim.tickets[t]["status"]["name"] == "Closed (resolved)" for t in closed)
    assert all(sim.notes[t][-1]["resolutionFlag"] for t in closed)  # updated: the resolution note

    # ... and then they come back: a NEW ticket for each, marked re-opened, the closed ones left alone.
    report(capsys, cfg, state)
    again = {t: v for t, v in sim.tickets.items() if t not in opened}
    assert len(again) == len(closed)
    assert all(not t["closedFlag"] and t["status"]["name"] == "Re-opened" for t in again.values())
    assert {t["summary"] for t in again.values()} == {sim.tickets[t]["summary"] for t in closed}
    assert all(count == 1 for count in open_markers(sim).values())  # never two open tickets for a problem
    assert all(sim.tickets[t]["closedFlag"] for t in closed)
    assert all("Came back after ticket #" in sim.notes[t][0]["text"] for t in again)
    saved = json.loads(state.read_text())
    assert saved["outbox"] == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"board": '"Backup"'}, "refused 1"),
        ({"status_closed": '"Done"'}, "status 'Done' (status_closed) is not a status of board 'Backups'"),
    ],
)
def test_unknown_board_or_status_is_one_line_and_keeps_the_deliveries(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    served: tuple[ConnectWiseSimulator, str],
    changes: dict[str, str],
    message: str,
) -> None:
    sim, site = served
    state = tmp_path / "state.json"
    code, err = report(capsys, config(tmp_path, site, **changes), state)
    lines = [line for line in err.splitlines() if line.startswith("error: alerts")]
    assert code == 1 and len(lines) == 1 and "kept for the next run" in lines[0]
    assert ("board 'Backup' does not exist" in lines[0]) if "board" in changes else (message in lines[0])
    assert "Traceback" not in err and not sim.tickets
    kept = len(json.loads(state.read_text())["outbox"])
    assert kept > 0
    _, err = report(capsys, config(tmp_path, site), state)  # fixed: everything kept is delivered
    assert "error: alerts" not in err and len(sim.tickets) == kept


@pytest.mark.parametrize("status", [401, 403, 429, 500])
def test_a_psa_answering_an_error_is_one_line_and_loses_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, served: tuple[ConnectWiseSimulator, str], status: int
) -> None:
    sim, site = served
    cfg, state = config(tmp_path, site), tmp_path / "state.json"
    sim.refuse_next(status)
    code, err = report(capsys, cfg, state)
    lines = [line for line in err.splitlines() if line.startswith("error: alerts")]
    assert code == 1 and len(lines) == 1 and f"HTTP {status}" in lines[0], err
    assert sim.credentials["private_key"] not in err and "Traceback" not in err
    kept = json.loads(state.read_text())["outbox"]
    failed = [k for k in kept if "backupbridge.sink.psa" in k.get("retries", {})]
    assert len(failed) == 1 and failed[0]["retries"]["backupbridge.sink.psa"]["permanent"] is (status in (401, 403))
    assert len(kept) + len(sim.tickets) == 6  # every problem is a ticket or still queued
    if status in (401, 403):
        assert len(kept) == 1
    # A refusal (401/403) is that event's alone: the others went; a 429/500 ends the sink's run, the rest
    # waits untried (and is queued, not lost).


def test_an_unreachable_psa_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, err = report(capsys, config(tmp_path, f"http://127.0.0.1:{port}"), tmp_path / "state.json")
    lines = [line for line in err.splitlines() if line.startswith("error: alerts")]
    assert code == 1 and len(lines) == 1 and "unreachable" in lines[0] and "Traceback" not in err


def test_a_sink_table_in_error_names_the_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = report(capsys, config(tmp_path, "http://psa.example.com", board='"Backups"'), tmp_path / "state.json")
    assert code != 0 and "site must be https://" in err and "Traceback" not in err
