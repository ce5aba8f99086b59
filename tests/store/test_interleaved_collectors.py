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
from typing import Any

import pytest

from backupbridge.health import Health
from backupbridge.store import Store, record_snapshot
from backupbridge.store import record as recording
from backupbridge.store.stored import stored_snapshot

from .snapshots import ACCOUNT, VENDOR, device, job, snapshot

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
