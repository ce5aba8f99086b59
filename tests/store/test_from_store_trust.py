"""``report --from-store`` never reads a failure, an older run or another run's verdicts as health (review 2).

Each test is a hostile case from /work/notes/review2 (findings 1, 3, 4, 5, 7), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from backupbridge.bridge import AccountFailure, Bridge, Snapshot
from backupbridge.customers import CustomerMap
from backupbridge.errors import BackupBridgeError
from backupbridge.health import Assessment, Health, HealthPolicy, assess
from backupbridge.models import JobStatus
from backupbridge.pipeline import AlertOptions, reconcile_alerts, run_report
from backupbridge.store import Store, record_snapshot
from backupbridge.store import schema as tables
from backupbridge.store.stored import stored_snapshot


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    with Bridge.sandbox(["idrive360"], seed=3, size=6) as bridge:
        return bridge.snapshot(since=None)


def _judge(snapshot: Snapshot) -> Assessment:
    return assess(
        snapshot.devices,
        snapshot.plans,
        snapshot.jobs,
        now=snapshot.clocks,
        timezones=snapshot.timezones,
        incomplete=snapshot.incomplete,
    )


def _health(assessment: object) -> dict[str, Health]:
    return {d.device_id: d.health for d in assessment.devices}  # type: ignore[attr-defined]


def _events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _day_later_failing(snap: Snapshot, victim: str) -> Snapshot:
    later = {k: v + dt.timedelta(days=1) for k, v in snap.clocks.items()}
    extra = [
        attrs.evolve(
            j,
            status=JobStatus.FAILED,
            id=j.id + "-d2",
            started_at=j.started_at and j.started_at + dt.timedelta(days=1),
            finished_at=j.finished_at and j.finished_at + dt.timedelta(days=1),
        )
        for j in snap.jobs
        if j.device_id == victim
    ]
    return attrs.evolve(snap, clocks=later, jobs=[*snap.jobs, *extra])


def test_a_run_whose_list_companies_failed_is_served_with_its_own_verdicts_never_an_earlier_ok(
    store: Store, snap: Snapshot, tmp_path: Path
) -> None:
    record_snapshot(store, snap, dt.datetime.now(dt.UTC), policy=HealthPolicy())
    before = _health(stored_snapshot(store)[1])
    victim = next(d for d, h in before.items() if h is Health.OK)
    key = next(iter(snap.clocks))
    failure = AccountFailure(
        vendor=key[0], account=key[1], operation="list_companies", error=BackupBridgeError("503 on companies")
    )
    snap2 = attrs.evolve(_day_later_failing(snap, victim), failures=[failure])
    live = _judge(snap2)
    assert _health(live)[victim] is not Health.OK
    record_snapshot(store, snap2, dt.datetime.now(dt.UTC), assessment=live, policy=HealthPolicy())
    stored_snap, stored = stored_snapshot(store)
    assert _health(stored)[victim] == _health(live)[victim]
    assert [f.operation for f in stored_snap.failures] == ["list_companies"]

    # The live pass opened the alert; the from-store pass must not recover it.
    state, events = tmp_path / "state.json", tmp_path / "events.ndjson"
    options = AlertOptions(state_file=state, ndjson=events, sandbox=True)
    reconcile_alerts(
        live, snap2, options, tmp_path / "absent.toml", max(snap2.clocks.values()), CustomerMap(), [], False, None
    )
    assert any(e["event"] == "problem" and e.get("device_id") == victim for e in _events(events))
    events.write_text("")
    run_report(None, from_store=True, store=store, alerts=options, config=tmp_path / "absent.toml")
    assert [e for e in _events(events) if e["event"] == "recovered"] == []


def test_a_latest_run_without_verdicts_of_its_own_is_not_judged(store: Store, snap: Snapshot) -> None:
    """A store written before verdicts were kept for such runs: never fall back to an earlier day's verdicts."""
    record_snapshot(store, snap, dt.datetime.now(dt.UTC), policy=HealthPolicy())
    victim = next(d for d, h in _health(stored_snapshot(store)[1]).items() if h is Health.OK)
    snap2 = _day_later_failing(snap, victim)
    record_snapshot(store, snap2, dt.datetime.now(dt.UTC), policy=HealthPolicy())
    day2 = max(v.astimezone(snap.timezones.get(k, dt.UTC)).date() for k, v in snap2.clocks.items())
    with store.write("test") as conn:  # the latest run's verdicts are gone (as an older recorder left them)
        conn.execute(sa.delete(tables.verdicts).where(tables.verdicts.c.day == day2))
    _, stored = stored_snapshot(store)
    assert _health(stored)[victim] is Health.UNKNOWN
    assert set(_health(stored).values()) == {Health.UNKNOWN}
    assert stored.incomplete  # its alerts are left as they were


def test_clock_going_backwards_the_newer_runs_failed_verdict_wins(store: Store, snap: Snapshot) -> None:
    ahead = attrs.evolve(snap, clocks={k: v + dt.timedelta(minutes=50) for k, v in snap.clocks.items()})
    first = _judge(ahead)
    victim = next(d for d, h in _health(first).items() if h is Health.OK)
    record_snapshot(store, ahead, dt.datetime.now(dt.UTC), assessment=first)
    snap2 = attrs.evolve(
        snap, jobs=[attrs.evolve(j, status=JobStatus.FAILED) if j.device_id == victim else j for j in snap.jobs]
    )
    second = _judge(snap2)
    assert _health(second)[victim] is not Health.OK
    record_snapshot(store, snap2, dt.datetime.now(dt.UTC), assessment=second)
    assert _health(stored_snapshot(store)[1])[victim] == _health(second)[victim]


def test_clock_going_backwards_the_latest_listing_decides_which_devices_exist(store: Store, snap: Snapshot) -> None:
    ahead = attrs.evolve(snap, clocks={k: v + dt.timedelta(minutes=50) for k, v in snap.clocks.items()})
    record_snapshot(store, ahead, dt.datetime.now(dt.UTC))
    gone, kept = snap.devices[0], snap.devices[1:]
    new = attrs.evolve(kept[0], id="brand-new-device", name="NEW-01")
    snap2 = attrs.evolve(
        snap,
        devices=[*kept, new],
        jobs=[j for j in snap.jobs if j.device_id != gone.id],
        plans=[attrs.evolve(p, device_ids=tuple(d for d in p.device_ids if d != gone.id)) for p in snap.plans],
    )
    record_snapshot(store, snap2, dt.datetime.now(dt.UTC))
    shown = {d.id for d in stored_snapshot(store)[0].devices}
    assert shown == {d.id for d in snap2.devices}


def test_an_account_that_neither_answered_nor_failed_is_recorded_failed_and_not_judged(
    store: Store, snap: Snapshot
) -> None:
    with Bridge.sandbox(["idrive360"], seed=3, size=6) as bridge:
        accounts = bridge.accounts
    record_snapshot(store, snap, dt.datetime.now(dt.UTC))
    silent = record_snapshot(store, Snapshot(), dt.datetime.now(dt.UTC), accounts=accounts)
    assert (silent.accounts_ok, silent.accounts_failed) == (0, len(accounts))
    with store.read() as conn:
        latest = conn.execute(
            sa.select(tables.run_accounts.c.ok).where(tables.run_accounts.c.run_id == silent.run_id)
        ).scalars()
        assert list(latest) == [False] * len(accounts)
    stored_snap, stored = stored_snapshot(store)
    assert stored_snap.failures and not stored_snap.clocks
    assert set(_health(stored).values()) <= {Health.UNKNOWN}


def test_from_store_leaves_an_alert_newer_than_the_stored_run_as_it_was(
    store: Store, snap: Snapshot, tmp_path: Path
) -> None:
    record_snapshot(store, snap, dt.datetime.now(dt.UTC), policy=HealthPolicy())
    victim = next(d for d, h in _health(_judge(snap)).items() if h is Health.OK)
    snap2 = _day_later_failing(snap, victim)  # a live pass that did not record (--no-store)
    live = _judge(snap2)
    state, events = tmp_path / "state.json", tmp_path / "events.ndjson"
    options = AlertOptions(state_file=state, ndjson=events, sandbox=True)
    reconcile_alerts(
        live, snap2, options, tmp_path / "absent.toml", max(snap2.clocks.values()), CustomerMap(), [], False, None
    )
    assert any(e["event"] == "problem" for e in _events(events))
    events.write_text("")
    run = run_report(None, from_store=True, store=store, alerts=options, config=tmp_path / "absent.toml")
    assert [e["event"] for e in _events(events)] == []
    assert any("newer than" in line for line in run.messages), run.messages


def test_a_stored_run_older_than_stale_after_is_a_failure_and_not_judged(store: Store, snap: Snapshot) -> None:
    record_snapshot(store, snap, dt.datetime.now(dt.UTC), policy=HealthPolicy())
    collected = max(snap.clocks.values())
    fresh = run_report(None, from_store=True, store=store, stale_after=dt.timedelta(hours=1), generated_at=collected)
    assert not fresh.report.failures
    assert Health.OK in set(_health(fresh.assessment).values())
    old = run_report(
        None,
        from_store=True,
        store=store,
        stale_after=dt.timedelta(hours=36),
        generated_at=collected + dt.timedelta(days=2),
    )
    assert [f.operation for f in old.report.failures] == ["stale"]
    assert set(_health(old.assessment).values()) == {Health.UNKNOWN}
    assert not old.ok and old.assessment.incomplete


def test_entities_the_latest_listing_named_but_the_store_lost_are_a_failure_not_an_empty_account(
    store: Store, snap: Snapshot
) -> None:
    """Two collectors recorded one account at once, the older run committing last: the latest listing's
    devices carry another time. Never an account with no devices and no failure."""
    record_snapshot(store, snap, dt.datetime.now(dt.UTC))
    with store.write("test") as conn:
        conn.execute(sa.update(tables.devices).values(last_seen=max(snap.clocks.values()) - dt.timedelta(minutes=5)))
    stored_snap, stored = stored_snapshot(store)
    assert "list_devices" in [f.operation for f in stored_snap.failures]
    assert stored.incomplete
