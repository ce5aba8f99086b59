"""A fresh store adds nothing the vendor did not show: ``report`` with an empty store judges exactly as
``report --no-store`` (the history may let the engine see more, never judge the same data differently).

The regression behind it: with a history given (even an empty one) the engine placed every run the vendor
gives no time at the account's clock, so CleverFox's week-old "missed" runs (its missed runs carry no time)
became each backup's newest run, and a failed last run turned into "missed, 0 failures".
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from backupbridge.bridge import Bridge
from backupbridge.cli import main
from backupbridge.health import Assessment, Health, HealthPolicy, RunHistory, assess
from backupbridge.models import JobStatus
from backupbridge.sandbox import SimulatorOptions, connect_sandbox, make_simulator
from backupbridge.store import Store, default_store_path, record_snapshot
from backupbridge.store.history import health_history

VENDORS = ("cleverfox", "idrive360", "managedbackup", "vprotect")


@pytest.fixture(autouse=True)
def _no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKUPBRIDGE_CONFIG", str(tmp_path / "absent.toml"))


def _report(capsys: pytest.CaptureFixture[str], vendor: str, state: Path, *extra: str) -> tuple[dict[str, Any], Any]:
    args = ["report", "--sandbox", "--alerts", "--vendor", vendor, "--size", "8", "--format", "json", "--quiet"]
    code = main([*args, "--state-file", str(state), *extra])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    assert "error: store" not in err, err
    return json.loads(out), json.loads(state.read_text())["open"]


def _verdicts(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (p["device"], p["plan"], p["health"], p["reason"], p["consecutive_failures"], p["last_success_at"])
        for p in report["problems"]
    )


def _alerts(opened: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (a["device_id"], a["plan_id"], a["problem"], a["reason"], a["consecutive_failures"]) for a in opened.values()
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_report_with_a_fresh_store_judges_as_one_without(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, vendor: str
) -> None:
    plain, plain_alerts = _report(capsys, vendor, tmp_path / "plain.json", "--no-store")
    assert not default_store_path(sandbox=True).exists()
    stored, stored_alerts = _report(capsys, vendor, tmp_path / "stored.json")
    assert default_store_path(sandbox=True).is_file()  # the second run did use (and record into) a store
    assert _verdicts(stored) == _verdicts(plain)
    assert _alerts(stored_alerts) == _alerts(plain_alerts)
    assert stored["totals"] == plain["totals"]


def test_the_cleverfox_sandbox_failed_last_run_stays_failed_with_its_count(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The lead's repro: ACME-EXCH00's last run failed; a fresh store must not make it "missed/1" nor add
    "missed/0" for devices whose week-old missed run has no time."""
    report, opened = _report(capsys, "cleverfox", tmp_path / "s.json")
    found = {(a["device_name"], a["problem"], a["consecutive_failures"]) for a in opened.values()}
    assert ("ACME-EXCH00", "failed", 1) in found
    assert not any(name == "NORT-EXCH07" for name, _, _ in found)
    assert not any(p["reason"] == "the vendor reports the last run as missed" for p in report["problems"])


def _judge(bridge: Bridge, history: RunHistory | None) -> tuple[Assessment, Any]:
    snap = bridge.snapshot()
    found = assess(
        snap.devices,
        snap.plans,
        snap.jobs,
        now=snap.clocks,
        policy=HealthPolicy(),
        timezones=snap.timezones,
        incomplete=snap.incomplete,
        history=history,
    )
    return found, snap


def test_a_second_run_with_the_history_keeps_a_failed_last_run_failed(store: Store) -> None:
    """A first run is recorded; a later one (six hours on, before the next night: the vendor still lists the
    same runs, now with the stored history behind them) still calls the failed last run "failed", with its
    count, and judges every plan as without a store."""
    sim = make_simulator("cleverfox", SimulatorOptions(seed=0, size=8))
    bridge = Bridge([connect_sandbox("cleverfox", simulator=sim, account="fox")])
    first, snap = _judge(bridge, health_history(store, {("cleverfox", "fox")}, now=bridge.snapshot().clocks))
    record_snapshot(store, snap, dt.datetime.now(dt.UTC), assessment=first)
    failed = [p for p in first.plans if p.health is Health.FAILED]
    assert failed, "the sandbox tenant has a failing plan"

    sim.clock.advance(dt.timedelta(hours=6))  # type: ignore[attr-defined]  # before the next night's run
    plain, snap = _judge(bridge, None)
    remembered = health_history(store, snap.clocks, now=snap.clocks)
    assert remembered.observed  # the history does hold day one
    judged, _ = _judge(bridge, remembered)
    by_key = {(p.plan_id, p.device_id): p for p in judged.plans}
    for before in failed:
        after = by_key[(before.plan_id, before.device_id)]
        assert after.health is Health.FAILED, after.reason
        assert after.last_status is JobStatus.FAILED
        assert after.consecutive_failures is not None and after.consecutive_failures >= 1
    assert [(p.plan_id, p.device_id, p.health, p.reason) for p in judged.plans] == [
        (p.plan_id, p.device_id, p.health, p.reason) for p in plain.plans
    ]
