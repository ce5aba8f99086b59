"""Two collectors recording one account at once, the one that started first committing last.

The store's latest run of an account is the one with the highest run id (the order runs began). The older
collector, committing after the newer one, used to move every entity's ``last_seen`` back to its own, older
listing: ``report --from-store`` then read the newer listing's time and found only what the older one had
not named, so an account of six devices reported one, with exit 0. The older collector now leaves the
account's current state (entities, names, verdicts) to the newer run and adds only what is history: its run
and listings, and runs the store had not seen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from backupbridge.health import Health
from backupbridge.models import JobStatus
from backupbridge.store import Store, record_snapshot
from backupbridge.store import record as recording
from backupbridge.store import schema as tables
from backupbridge.store.stored import stored_snapshot

from .snapshots import ACCOUNT, VENDOR, device, job, server_down, snapshot

T1 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
T2 = T1 + dt.timedelta(minutes=30)


def _older_commits_last(
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    older: Any,
    newer: Any,
    older_at: dt.datetime = T1,
    newer_at: dt.datetime = T2,
) -> tuple[recording.RunRecord, recording.RunRecord]:
    """Record ``older`` (its run begun first), with the whole of ``newer`` recorded between its run's start and
    its account's transaction: what two collectors at once give when the older one waits for the lock."""
    original: Callable[..., dict[str, int]] = recording._with_retry
    done: list[recording.RunRecord] = []

    def interleaved(work: Any, store_: Store, account: tuple[str, str], what: str) -> dict[str, int]:
        if not done:
            monkeypatch.setattr(recording, "_with_retry", original)
            done.append(record_snapshot(store, newer, newer_at))
            monkeypatch.setattr(recording, "_with_retry", interleaved)
        return original(work, store_, account, what)

    monkeypatch.setattr(recording, "_with_retry", interleaved)
    first = record_snapshot(store, older, older_at)
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
    _older_commits_last(store, monkeypatch, older, newer, late, late + dt.timedelta(minutes=30))
    with store.read() as conn:
        days = dict(
            conn.execute(
                sa.select(tables.verdicts.c.day, tables.verdicts.c.health).where(tables.verdicts.c.kind == "device")
            ).all()
        )
    assert days == {dt.date(2026, 11, 20): "ok", dt.date(2026, 11, 21): "ok"}


def test_the_run_begun_first_is_the_older_even_when_its_listings_end_last(store: Store) -> None:
    """A collect whose snapshot is slow (an account at its timeout) runs into the next one, which finishes its
    listings and records first: the run's id is taken when it begins (``begin_run``), so the next collect's
    newer view stays the account's latest."""
    five = [device(f"d{n}", f"SRV-0{n}") for n in range(1, 6)]
    older = snapshot(T1, devices=five, jobs=[job("j1", T1 - dt.timedelta(hours=1), status=JobStatus.FAILED)])
    newer = snapshot(T2, devices=[*five, device("d6", "SRV-06")], jobs=[job("j2", T2 - dt.timedelta(minutes=25))])
    slow = recording.begin_run(store, T1)
    fast = record_snapshot(store, newer, T2)
    late = record_snapshot(store, older, T1, run_id=slow)
    assert late.run_id == slow < fast.run_id
    snap, assessment = stored_snapshot(store)
    assert snap.clocks[(VENDOR, ACCOUNT)] == T2 and not snap.failures
    assert sorted(d.id for d in snap.devices) == ["d1", "d2", "d3", "d4", "d5", "d6"]
    assert {d.device_id: d.health for d in assessment.devices}["d1"] is Health.OK


def test_a_later_run_whose_vendor_clock_is_days_behind_still_holds_the_account(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The later run is found by its id, whatever day its vendor's clock put it on."""
    five = [device(f"d{n}", f"SRV-0{n}") for n in range(1, 6)]
    behind = T1 - dt.timedelta(days=2)
    older = snapshot(T1, devices=five)
    newer = snapshot(behind, devices=[*five, device("d6", "SRV-06")])
    _older_commits_last(store, monkeypatch, older, newer, T1, behind)
    snap, _ = stored_snapshot(store)
    assert sorted(d.id for d in snap.devices) == ["d1", "d2", "d3", "d4", "d5", "d6"]
    assert not snap.failures


def test_collect_begins_its_run_before_reading_any_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backupbridge.bridge import Bridge
    from backupbridge.cli import main
    from backupbridge.store import open_store

    url = f"sqlite:///{tmp_path / 'collect.sqlite3'}"
    seen: list[int] = []
    snapshot_of = Bridge.snapshot

    def watched(self: Bridge, *args: Any, **kwargs: Any) -> Any:
        with open_store(url) as store, store.read() as conn:
            seen.append(conn.execute(sa.select(sa.func.count()).select_from(tables.runs)).scalar_one())
        return snapshot_of(self, *args, **kwargs)

    monkeypatch.setattr(Bridge, "snapshot", watched)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["collect", "--sandbox", "--vendor", "idrive360", "--size", "2", "--store", url, "--no-alerts"]) == 0
    assert seen == [1]  # the run's row was there before the first listing was read
    with open_store(url) as store, store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.runs)).scalar_one() == 1


def test_begin_run_refuses_a_naive_start_before_writing_anything(store: Store, count: Callable[..., int]) -> None:
    from backupbridge.errors import ValidationError

    with pytest.raises(ValidationError, match="aware"):
        recording.begin_run(store, dt.datetime(2026, 11, 20, 8, 0))
    assert count("runs") == 0
