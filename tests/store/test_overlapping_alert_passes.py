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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from backupbridge.bridge import Snapshot
from backupbridge.customers import CustomerMap
from backupbridge.errors import ValidationError
from backupbridge.health import assess_snapshot
from backupbridge.models import JobStatus
from backupbridge.pipeline import AlertOptions, reconcile_alerts, run_report
from backupbridge.store import Store, begin_run, prune, record_snapshot
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
    assert any(
        f"run {run_b.run_id} has reconciled them already, and it began after run {run_a.run_id}" in line
        for line in messages
    )
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


def test_an_older_pass_whose_listing_failed_says_only_that(store: Store, tmp_path: Path) -> None:
    """Its alerts are left as they were for its failed listing already: no second note about the later run."""
    passes = Passes(store, tmp_path)
    older = snapshot(T1, failures=[("list_jobs", server_down())])
    newer = _failing(T2, "j2")
    run_a, run_b = record_snapshot(store, older, T1), record_snapshot(store, newer, T2)
    assert passes.run(newer, run_b)[0] == ["problem"]
    events, messages = passes.run(older, run_a)
    assert events == [] and not any("has reconciled them already" in line for line in messages), messages
    assert passes.marks() == {(VENDOR, ACCOUNT): run_b.run_id}


def test_a_company_scoped_pass_marks_nothing(store: Store, tmp_path: Path) -> None:
    """A ``--company`` pass looked at some of the account's companies only: an older pass still has the others."""
    passes = Passes(store, tmp_path)
    snap = _failing(T1, "j1")
    assert passes.run(snap, record_snapshot(store, snap, T1), company_scoped=True)[0] == ["problem"]
    assert passes.marks() == {}


def test_the_marks_are_read_and_written_under_the_alert_lock_only(store: Store) -> None:
    one, two = (VENDOR, ACCOUNT), ("other", "x")
    ids = [begin_run(store, T1 + n * HOUR) for n in range(3)]
    with StoreAlertState.locked(store) as state:
        assert state.reconciled_after({one: ids[0]}) == {}
        state.mark_reconciled({one: ids[2], two: ids[1]})
        state.save()
        with pytest.raises(RuntimeError, match="before save"):
            state.reconciled_after({one: ids[0]})
    with StoreAlertState.locked(store) as state:
        assert state.reconciled_after({one: ids[0], two: ids[1]}) == {one: ids[2]}
        assert state.reconciled_after({one: ids[2], two: ids[0]}) == {two: ids[1]}
        state.mark_reconciled({one: ids[0]})  # an older run's mark never lowers a later one's
        state.save()
    with StoreAlertState.locked(store) as state:
        assert state.reconciled_after({one: ids[0], two: ids[0]}) == {one: ids[2], two: ids[1]}


def test_a_run_id_the_store_never_gave_is_refused_before_anything_is_written(store: Store, tmp_path: Path) -> None:
    """A library caller's id from another store (or none from begin_run) would hold the account back for good."""
    passes = Passes(store, tmp_path)
    snap = _failing(T1, "j1")
    record_snapshot(store, snap, T1)
    with pytest.raises(ValidationError, match="run 999 is not a run of the store"):
        passes.run(snap, attrs.evolve(record_snapshot(store, snap, T1), run_id=999))
    assert passes.marks() == {} and passes.open() == set()


def test_a_prune_of_every_run_leaves_no_mark_to_hold_the_next_runs_back(store: Store, tmp_path: Path) -> None:
    """On SQLite the next run after a prune of every run takes id 1 again (found by review: its alerts were left
    as they were until the ids passed the old marks)."""
    passes = Passes(store, tmp_path)
    for hour in range(3):
        snap = _ok(T1 + hour * HOUR, f"j{hour}")
        passes.run(snap, record_snapshot(store, snap, T1 + hour * HOUR))
    assert passes.marks()
    later = T1 + dt.timedelta(days=60)
    assert prune(store, dt.timedelta(days=1), now=later).deleted["alert_reconciled"] == 1
    snap = _failing(later, "j9")
    assert passes.run(snap, record_snapshot(store, snap, later))[0] == ["problem"]


class _Bridge:
    """A report's bridge over one prepared snapshot; ``during`` runs while it is read (another collector)."""

    accounts = ((VENDOR, ACCOUNT),)

    def __init__(self, snap: Snapshot, during: Callable[[], None] | None = None) -> None:
        self.snap, self.during = snap, during

    def snapshot(self, since: object = None) -> Snapshot:
        if self.during is not None:
            self.during()
        return self.snap


def _report(passes: Passes, **options: Any) -> tuple[Any, list[str]]:
    """A report's pipeline on ``passes``'s store: its outcome and the events its own pass sent."""
    sent = passes.events.with_name("report.ndjson")
    sent.write_text("")
    outcome = run_report(
        options.pop("bridge", None), store=passes.store, alerts=AlertOptions(ndjson=sent), config=passes.config,
        customers=CustomerMap(), generated_at="clocks", **options,
    )  # fmt: skip
    return outcome, [str(json.loads(line)["event"]) for line in sent.read_text().splitlines()]


def test_a_report_marks_with_the_run_it_began_and_defers_to_a_collect_begun_after_it(
    store: Store, tmp_path: Path
) -> None:
    passes = Passes(store, tmp_path)
    outcome, events = _report(passes, bridge=_Bridge(_failing(T0, "j0")))
    assert events == ["problem"] and passes.marks() == {(VENDOR, ACCOUNT): outcome.recorded.run_id}

    def newer_collect() -> None:  # begins after the report's run, reconciles first: the backup recovered
        snap, run_id = _ok(T2, "j2"), begin_run(store, T2)
        assert passes.run(snap, record_snapshot(store, snap, T2, run_id=run_id))[0] == ["recovered"]

    outcome, events = _report(passes, bridge=_Bridge(_failing(T1, "j1"), newer_collect))
    assert events == [] and passes.open() == set()  # the report's older view re-opened nothing
    assert any("has reconciled them already" in line for line in outcome.messages)


def test_a_report_from_the_store_defers_to_a_collect_begun_after_the_run_it_read(store: Store, tmp_path: Path) -> None:
    """Found by review: the from-store pass took part in no ordering. It read run 1 (failing, recorded with
    --no-alerts); collect run 2 (fixed) reconciled before it; it then opened a ticket for the fixed backup."""
    passes = Passes(store, tmp_path)
    first = _failing(T0, "j0")
    run_1 = record_snapshot(store, first, T0)  # recorded, its alerts not reconciled

    def newer_collect() -> None:
        snap = _ok(T1, "j1")
        assert passes.run(snap, record_snapshot(store, snap, T1))[0] == []  # nothing was open

    outcome, events = _report(passes, from_store=True, emit=lambda report: newer_collect())
    assert events == [] and passes.open() == set()
    assert any(f"began after run {run_1.run_id}, this pass's" in line for line in outcome.messages)
    # With nothing newer, the from-store pass reconciles and marks the run it read.
    outcome, events = _report(passes, from_store=True)
    assert passes.marks() == {(VENDOR, ACCOUNT): run_1.run_id + 1}
