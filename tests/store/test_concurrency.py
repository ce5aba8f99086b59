"""Two writers at once on one store: no duplicate rows, no lost account, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from backupbridge.models import JobStatus
from backupbridge.store import Store, open_store, record_snapshot

from .conftest import NOW
from .snapshots import device, job, snapshot


def _busy_snapshot(offset: int = 0) -> object:
    devices = [device(f"d{i}", name=f"SRV-{i:03}") for i in range(60)]
    jobs = [
        job(f"j{i}-{day}", NOW - dt.timedelta(days=day, hours=1), JobStatus.SUCCESS, device_id=f"d{i}")
        for i in range(60)
        for day in range(5)
    ]
    return snapshot(NOW + dt.timedelta(seconds=offset), devices=devices, jobs=jobs)


def _record_in_process(url: str, offset: int) -> None:
    with open_store(url) as store:
        record_snapshot(store, _busy_snapshot(offset), NOW)  # type: ignore[arg-type]


def test_two_threads_recording_the_same_accounts_leave_no_duplicates(store: Store, count: Callable[..., int]) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def write(offset: int) -> None:
        barrier.wait()
        try:
            for round_ in range(3):
                record_snapshot(store, _busy_snapshot(offset + round_), NOW)  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in (0, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (count("devices"), count("jobs"), count("entity_names", kind="device"), count("runs")) == (60, 300, 60, 6)
    assert count("run_accounts") == 6


def test_two_processes_recording_at_once_leave_no_duplicates(
    store: Store, store_url: str, count: Callable[..., int]
) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_record_in_process, args=(store_url, n)) for n in (0, 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert (count("devices"), count("jobs"), count("runs"), count("run_accounts")) == (60, 300, 2, 2)


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_an_account_transaction_aborted_by_a_deadlock_is_run_again_whole(
    store: Store, count: Callable[..., int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from backupbridge.store import record

    real = record._record_account
    calls: list[int] = []

    def deadlocks_once(conn: sa.Connection, **kwargs: object) -> dict[str, int]:
        calls.append(1)
        result = real(conn, **kwargs)  # type: ignore[arg-type]
        if len(calls) == 1:  # after writing everything: the rollback must take it all back
            raise sa.exc.OperationalError("UPDATE devices ...", {}, _Deadlock("deadlock detected"))
        return result

    monkeypatch.setattr(record, "_record_account", deadlocks_once)
    run = record_snapshot(store, _busy_snapshot(), NOW)  # type: ignore[arg-type]
    assert len(calls) == 2 and run.new_jobs == 300
    assert (count("run_accounts"), count("jobs"), count("devices")) == (1, 300, 60)


def test_other_failures_are_not_retried(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from backupbridge.store import StoreError, record

    calls: list[int] = []

    def fails(conn: sa.Connection, **kwargs: object) -> dict[str, int]:
        calls.append(1)
        raise sa.exc.OperationalError("INSERT ...", {}, Exception("disk I/O error"))

    monkeypatch.setattr(record, "_record_account", fails)
    with pytest.raises(StoreError, match="disk I/O error"):
        record_snapshot(store, _busy_snapshot(), NOW)  # type: ignore[arg-type]
    assert calls == [1]
