"""Two collectors recording one account at once, the one that started first committing last.

The store's latest run of an account is the one with the highest run id (the order runs began). The older
collector, committing after the newer one, used to move every entity's ``last_seen`` back to its own, older
listing: ``report --from-store`` then read the newer listing's time and found only what the older one had
not named, so an account of six devices reported one, with exit 0. The older collector now leaves the
account's current state (entities, names, verdicts) to the newer run and adds only what is history: its run
and listings, and runs the store had not seen. Its alert pass, likewise, leaves an account the newer run has
judged to that run (it used to re-open a problem the newer run had recovered)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from backupbridge.bridge import Snapshot
from backupbridge.customers import CustomerMap
from backupbridge.health import Health, assess_snapshot
from backupbridge.models import JobStatus
from backupbridge.pipeline import AlertOptions, reconcile_alerts
from backupbridge.store import Store, record_snapshot
from backupbridge.store import record as recording
from backupbridge.store import schema as tables
from backupbridge.store.stored import stored_snapshot

from .snapshots import ACCOUNT, VENDOR, device, job, server_down, snapshot

T1 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
T2 = T1 + dt.timedelta(minutes=30)


def _older_commits_last(
    store: Store, monkeypatch: pytest.MonkeyPatch, older: Any, newer: Any
) -> tuple[recording.RunRecord, recording.RunRecord]:
    """Record ``older`` (its run begun first), with the whole of ``newer`` recorded between its run's start and
    its account's transaction: what two collectors at once give when the older one waits for the lock."""
    original: Callable[..., dict[str, int]] = recording._with_retry
    done: list[recording.RunRecord] = []

    def interleaved(work: Any, store_: Store, account: tuple[str, str], what: str) -> dict[str, int]:
        if not done:
            monkeypatch.setattr(recording, "_with_retry", original)
            done.append(record_snapshot(store, newer, T2))
            monkeypatch.setattr(recording, "_with_retry", interleaved)
        return original(work, store_, account, what)

    monkeypatch.setattr(recording, "_with_retry", interleaved)
    first = record_snapshot(store, older, T1)
    assert first.run_id < done[0].run_id  # the older run began first
    return first, done[0]


def test_the_older_collector_committing_last_leaves_the_newer_listing_whole(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    five = [device(f"d{n}", f"SRV-0{n}") for n in range(1, 6)]
    older = snapshot(T1, devices=five, jobs=[job("j1", T1 - dt.timedelta(hours=2))])
    newer = snapshot(
        T2,
        devices=[*five, device("d6", "SRV-06")],
        jobs=[job("j1", T1 - dt.timedelta(hours=2)), job("j2", T2 - dt.timedelta(minutes=25), device_id="d6")],
    )
    _older_commits_last(store, monkeypatch, older, newer)
    snap, assessment = stored_snapshot(store)
    assert not snap.failures
    assert sorted(d.id for d in snap.devices) == ["d1", "d2", "d3", "d4", "d5", "d6"]
    assert {d.device_id for d in assessment.devices} == {"d1", "d2", "d3", "d4", "d5", "d6"}
    assert snap.clocks[(VENDOR, ACCOUNT)] == T2


def test_the_older_collector_still_adds_its_run_its_listings_and_the_runs_it_alone_saw(
    store: Store, monkeypatch: pytest.MonkeyPatch, count: Callable[..., int]
) -> None:
    older = snapshot(T1, jobs=[job("only-in-older", T1 - dt.timedelta(hours=1))])
    newer = snapshot(T2, jobs=[job("j2", T2 - dt.timedelta(minutes=25))])
    first, second = _older_commits_last(store, monkeypatch, older, newer)
    assert count("run_accounts") == 2 and count("run_listings", run_id=first.run_id) == 4
    assert count("jobs") == 2 and first.new_jobs == 1
    # The newer run's verdict stays the account's verdict of the day.
    snap, assessment = stored_snapshot(store)
    (verdict,) = assessment.devices
    assert verdict.health is Health.OK and snap.clocks[(VENDOR, ACCOUNT)] == T2
    assert second.accounts_ok == 1 and first.accounts_ok == 1


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_older_collector_reconciling_last_neither_reopens_nor_recovers_what_the_newer_one_settled(
    store: Store, tmp_path: Path
) -> None:
    events = tmp_path / "events.ndjson"
    options = AlertOptions(ndjson=events, sandbox=True)
    config = tmp_path / "absent.toml"

    def alert_pass(snap: Snapshot, run: recording.RunRecord, messages: list[str]) -> list[str]:
        events.write_text("")
        judged = assess_snapshot(snap)
        reconcile_alerts(
            judged, snap, options, config, max(snap.clocks.values()), CustomerMap(), messages, False, store,
            recorded=(store, run.run_id),
        )  # fmt: skip
        return [str(e["event"]) for e in _events(events)]

    t0 = T1 - dt.timedelta(hours=6)
    failing = snapshot(t0, jobs=[job("j0", t0 - dt.timedelta(hours=1), status=JobStatus.FAILED)])
    assert alert_pass(failing, record_snapshot(store, failing, t0), []) == ["problem"]
    # Two collectors at once: A (begun first, still failing at T1) and B (begun later, recovered at T2). B records
    # and reconciles first; A's recording and alert pass come after.
    older = snapshot(T1, jobs=[job("j1", T1 - dt.timedelta(hours=1), status=JobStatus.FAILED)])
    newer = snapshot(T2, jobs=[job("j2", T2 - dt.timedelta(minutes=25))])
    run_a = record_snapshot(store, older, T1)
    run_b = record_snapshot(store, newer, T2)
    assert alert_pass(newer, run_b, []) == ["recovered"]
    messages: list[str] = []
    assert alert_pass(older, run_a, messages) == []  # no problem re-opened for a recovered backup
    assert any("begun after this one has judged it" in line for line in messages), messages
    # The next collect sees only the newer state: nothing is open.
    later = snapshot(T2 + dt.timedelta(hours=1), jobs=[job("j2", T2 - dt.timedelta(minutes=25))])
    assert alert_pass(later, record_snapshot(store, later, T2 + dt.timedelta(hours=1)), []) == []


def test_a_later_run_that_could_not_judge_the_account_leaves_it_to_the_older_one(store: Store, tmp_path: Path) -> None:
    """A later run whose device listing failed did not judge the account: the older run's news still counts."""
    events = tmp_path / "events.ndjson"
    options = AlertOptions(ndjson=events, sandbox=True)
    older = snapshot(T1, jobs=[job("j1", T1 - dt.timedelta(hours=1), status=JobStatus.FAILED)])
    newer = snapshot(T2, failures=[("list_devices", server_down())])
    run_a = record_snapshot(store, older, T1)
    record_snapshot(store, newer, T2)
    assert recording.recorded_later(store, run_a.run_id, older.clocks) == set()
    reconcile_alerts(
        assess_snapshot(older), older, options, tmp_path / "absent.toml", T1, CustomerMap(), [], False, store,
        recorded=(store, run_a.run_id),
    )  # fmt: skip
    assert [e["event"] for e in _events(events)] == ["problem"]


def test_what_the_later_run_could_not_list_is_still_the_older_runs_to_record(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The later run's device listing failed: the older run's devices are the latest answered listing of them, so
    the older run (committing last) still records them as seen, and a from-store report shows them."""
    devices = [device(f"d{n}", f"SRV-0{n}") for n in range(1, 4)]
    older = snapshot(T1, devices=devices, jobs=[job("j1", T1 - dt.timedelta(hours=2))])
    newer = snapshot(T2, devices=devices, failures=[("list_devices", server_down())])
    record_snapshot(store, snapshot(T1 - dt.timedelta(hours=6), devices=devices[:1]), T1 - dt.timedelta(hours=6))
    _older_commits_last(store, monkeypatch, older, newer)
    snap, _ = stored_snapshot(store)
    assert sorted(d.id for d in snap.devices) == ["d1", "d2", "d3"]
    assert [f.operation for f in snap.failures] == ["list_devices"]  # the latest run's failure, as it was


def test_a_later_run_of_the_next_day_leaves_the_older_runs_day_to_it(
    store: Store, monkeypatch: pytest.MonkeyPatch, count: Callable[..., int]
) -> None:
    """The later run judged the next day: the older run's verdict is still the newest of its own day."""
    late = dt.datetime(2026, 11, 20, 23, 40, tzinfo=dt.UTC)
    failed = job("j0", late - dt.timedelta(days=1, hours=2), status=JobStatus.FAILED)  # on the 19th
    first = snapshot(late - dt.timedelta(hours=12), jobs=[failed])
    record_snapshot(store, first, late - dt.timedelta(hours=12))  # the 20th judged failed: its last run failed
    good = job("j1", late - dt.timedelta(minutes=50))
    older = snapshot(late, jobs=[failed, good])  # recovered, on the 20th
    newer = snapshot(late + dt.timedelta(minutes=30), jobs=[failed, good])  # the 21st
    original: Callable[..., dict[str, int]] = recording._with_retry
    done: list[recording.RunRecord] = []

    def interleaved(work: Any, store_: Store, account: tuple[str, str], what: str) -> dict[str, int]:
        if not done:
            monkeypatch.setattr(recording, "_with_retry", original)
            done.append(record_snapshot(store, newer, late + dt.timedelta(minutes=30)))
            monkeypatch.setattr(recording, "_with_retry", interleaved)
        return original(work, store_, account, what)

    monkeypatch.setattr(recording, "_with_retry", interleaved)
    record_snapshot(store, older, late)
    with store.read() as conn:
        days = dict(
            conn.execute(
                sa.select(tables.verdicts.c.day, tables.verdicts.c.health).where(tables.verdicts.c.kind == "device")
            ).all()
        )
    assert days == {dt.date(2026, 11, 20): "ok", dt.date(2026, 11, 21): "ok"}
