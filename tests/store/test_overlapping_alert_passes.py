"""Two collectors on one account at once, the one begun first reconciling its alerts last.

The alert passes run one after the other (the alert lock), but the second to run used to decide: an older view
reconciled after a newer one re-opened a problem the newer run had recovered (a ticket for a fixed backup), or
recovered one it had opened (a failing backup's ticket closed: a failure read as a recovery). Each pass now
marks the accounts it reconciled with its run (``alert_reconciled``, under the lock), and a pass of a run begun
before that mark leaves the account's alerts as they were. A run that only records, or could not judge the
account, marks nothing and holds no pass back."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from backupbridge.bridge import Snapshot
from backupbridge.customers import CustomerMap
from backupbridge.health import assess_snapshot
from backupbridge.models import JobStatus
from backupbridge.pipeline import AlertOptions, reconcile_alerts
from backupbridge.store import Store, record_snapshot
from backupbridge.store import schema as tables
from backupbridge.store.alerts import StoreAlertState
from backupbridge.store.record import RunRecord

from .snapshots import ACCOUNT, VENDOR, job, server_down, snapshot

T0 = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
T2 = T1 + dt.timedelta(minutes=30)
HOUR = dt.timedelta(hours=1)


class Passes:
    """The alert passes of runs recorded into ``store``, their events read from an NDJSON sink."""

    def __init__(self, store: Store, tmp_path: Path) -> None:
        self.store = store
        self.events = tmp_path / "events.ndjson"
        self.options = AlertOptions(ndjson=self.events, sandbox=True)
        self.config = tmp_path / "absent.toml"

    def run(self, snap: Snapshot, run: RunRecord, *, company_scoped: bool = False) -> tuple[list[str], list[str]]:
        """The pass of ``run`` over ``snap``: its events and its message lines."""
        self.events.write_text("")
        messages: list[str] = []
        reconcile_alerts(
            assess_snapshot(snap), snap, self.options, self.config, max(snap.clocks.values()), CustomerMap(),
            messages, company_scoped, self.store, run_id=run.run_id,
        )  # fmt: skip
        return [str(json.loads(line)["event"]) for line in self.events.read_text().splitlines()], messages

    def marks(self) -> dict[tuple[str, str], int]:
        marks = tables.alert_reconciled
        with self.store.read() as conn:
            return {(r.vendor, r.account): r.run_id for r in conn.execute(sa.select(marks))}

    def open(self) -> set[str]:
        with self.store.read() as conn:
            return {r.key for r in conn.execute(sa.select(tables.alert_open))}


def _failing(at: dt.datetime, name: str) -> Any:
    return snapshot(at, jobs=[job(name, at - HOUR, status=JobStatus.FAILED)])


def _ok(at: dt.datetime, name: str) -> Any:
    return snapshot(at, jobs=[job(name, at - dt.timedelta(minutes=25))])


def test_the_older_pass_reconciling_last_does_not_reopen_what_the_newer_one_recovered(
    store: Store, tmp_path: Path
) -> None:
    passes = Passes(store, tmp_path)
    first = _failing(T0, "j0")
    assert passes.run(first, record_snapshot(store, first, T0))[0] == ["problem"]
    # A (begun first, still failing at T1) and B (begun later, recovered at T2); B reconciles first.
    older, newer = _failing(T1, "j1"), _ok(T2, "j2")
    run_a, run_b = record_snapshot(store, older, T1), record_snapshot(store, newer, T2)
    assert passes.run(newer, run_b)[0] == ["recovered"]
    events, messages = passes.run(older, run_a)
    assert events == []  # no ticket for a backup already fixed
    assert any(f"run {run_b.run_id}, begun after this one (run {run_a.run_id})" in line for line in messages)
    assert passes.open() == set() and passes.marks() == {(VENDOR, ACCOUNT): run_b.run_id}  # never moved back
    # The next collect reconciles as usual.
    later = _failing(T2 + HOUR, "j3")
    assert passes.run(later, record_snapshot(store, later, T2 + HOUR))[0] == ["problem"]


def test_the_older_pass_reconciling_last_does_not_recover_what_the_newer_one_opened(
    store: Store, tmp_path: Path
) -> None:
    passes = Passes(store, tmp_path)
    older, newer = _ok(T1, "j1"), _failing(T2, "j2")
    run_a, run_b = record_snapshot(store, older, T1), record_snapshot(store, newer, T2)
    assert passes.run(newer, run_b)[0] == ["problem"]
    opened = passes.open()
    assert passes.run(older, run_a)[0] == []  # the failing backup's ticket stays open
    assert passes.open() == opened and len(opened) == 1


def test_the_passes_in_the_order_the_runs_began_both_count(store: Store, tmp_path: Path) -> None:
    passes = Passes(store, tmp_path)
    older, newer = _failing(T1, "j1"), _ok(T2, "j2")
    run_a, run_b = record_snapshot(store, older, T1), record_snapshot(store, newer, T2)
    assert passes.run(older, run_a)[0] == ["problem"]
    assert passes.marks() == {(VENDOR, ACCOUNT): run_a.run_id}
    assert passes.run(newer, run_b)[0] == ["recovered"]
    assert passes.marks() == {(VENDOR, ACCOUNT): run_b.run_id}


def test_a_run_that_records_without_reconciling_holds_no_pass_back(store: Store, tmp_path: Path) -> None:
    """``--no-alerts``, a dashboard's recording, a run killed after recording: they mark nothing."""
    passes = Passes(store, tmp_path)
    older, newer = _failing(T1, "j1"), _ok(T2, "j2")
    run_a = record_snapshot(store, older, T1)
    record_snapshot(store, newer, T2)  # recorded, its alerts never reconciled
    assert passes.run(older, run_a)[0] == ["problem"]


def test_a_later_run_that_could_not_judge_the_account_leaves_it_to_the_older_pass(store: Store, tmp_path: Path) -> None:
    passes = Passes(store, tmp_path)
    older = _failing(T1, "j1")
    newer = snapshot(T2, failures=[("list_devices", server_down())])
    run_a, run_b = record_snapshot(store, older, T1), record_snapshot(store, newer, T2)
    assert passes.run(newer, run_b)[0] == []
    assert passes.marks() == {}  # its listing failed: it reconciled nothing of the account
    assert passes.run(older, run_a)[0] == ["problem"]


def test_a_company_scoped_pass_marks_nothing(store: Store, tmp_path: Path) -> None:
    """A ``--company`` pass looked at some of the account's companies only: an older pass still has the others."""
    passes = Passes(store, tmp_path)
    snap = _failing(T1, "j1")
    assert passes.run(snap, record_snapshot(store, snap, T1), company_scoped=True)[0] == ["problem"]
    assert passes.marks() == {}


def test_the_marks_are_read_and_written_under_the_alert_lock_only(store: Store) -> None:
    with StoreAlertState.locked(store) as state:
        assert state.reconciled_after(0, [(VENDOR, ACCOUNT)]) == {}
        state.mark_reconciled(7, [(VENDOR, ACCOUNT), ("other", "x")])
        state.save()
        try:
            state.reconciled_after(0, [(VENDOR, ACCOUNT)])
        except RuntimeError as exc:
            assert "before save()" in str(exc)
        else:
            raise AssertionError("read outside the lock")
    with StoreAlertState.locked(store) as state:
        assert state.reconciled_after(3, [(VENDOR, ACCOUNT)]) == {(VENDOR, ACCOUNT): 7}
        assert state.reconciled_after(7, [(VENDOR, ACCOUNT)]) == {}
        state.mark_reconciled(5, [(VENDOR, ACCOUNT)])  # an older run's mark never lowers a later one's
        state.save()
    with StoreAlertState.locked(store) as state:
        assert state.reconciled_after(0, [(VENDOR, ACCOUNT), ("other", "x")]) == {
            (VENDOR, ACCOUNT): 7,
            ("other", "x"): 7,
        }
