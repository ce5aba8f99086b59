"""What the store cannot take, and a PostgreSQL session that goes away, never cost the report or the pass.

- Vendor text that is not Unicode (a lone surrogate: JSON's ``"\\ud800"`` decodes to one) and a naive time
  from a plugin are refused with one ``StoreError`` line, the failing account's transaction rolled back
  whole; ``report`` still prints the whole report, then says the run was not recorded (rc 1, no traceback).
- A PostgreSQL session dropped between two accounts (a restart, a failover, an idle timeout) is replaced at
  the next account: the pass records every account and finishes.
- Two writers of one account on PostgreSQL take turns on the account's advisory lock (so they never lock its
  rows in different orders: no deadlock).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import threading
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from backupbridge import bridge as bridge_module
from backupbridge.bridge import Snapshot
from backupbridge.cli import main
from backupbridge.health import Assessment
from backupbridge.models import Device, Job, JobStatus
from backupbridge.store import Store, StoreError, record_snapshot, schema
from backupbridge.store import record as record_module

from .conftest import NOW

VENDOR = "testvendor"


def _snapshot(*accounts: str, name: str = "SRV-1", started: dt.datetime = NOW) -> Snapshot:
    return Snapshot(
        devices=[
            Device(vendor=VENDOR, account=a, id="d1", name=name if a == accounts[-1] else "SRV-1") for a in accounts
        ],
        jobs=[
            Job(vendor=VENDOR, account=a, id="j1", device_id="d1", status=JobStatus.SUCCESS, started_at=started)
            for a in accounts
        ],
        clocks={(VENDOR, a): NOW for a in accounts},
    )


def _recorded(store: Store) -> list[str]:
    with store.read() as conn:
        return sorted(conn.execute(sa.select(schema.run_accounts.c.account)).scalars())


def _naive_in_a2() -> Snapshot:
    snapshot = _snapshot("a1", "a2")
    naive = attrs.evolve(snapshot.jobs[1], started_at=None, finished_at=dt.datetime(2026, 11, 2, 8))  # no zone
    return attrs.evolve(snapshot, jobs=[snapshot.jobs[0], naive])


@pytest.mark.parametrize(
    ("what", "snapshot"),
    [
        ("not valid Unicode", _snapshot("a1", "a2", name="SRV \ud800")),
        ("a value cannot be stored", _naive_in_a2()),  # a plugin's naive time (the engine is not asked here)
    ],
)
def test_a_value_the_store_cannot_take_is_one_store_error_and_rolls_its_account_back(
    store: Store, what: str, snapshot: Snapshot
) -> None:
    with pytest.raises(StoreError, match=what) as raised:
        record_snapshot(store, snapshot, NOW, run_finished=NOW, assessment=Assessment(plans=(), devices=()))
    assert "\n" not in str(raised.value) and "\ud800" not in str(raised.value)
    assert _recorded(store) == ["a1"]  # a1 committed before; nothing of a2
    with store.read() as conn:
        assert conn.execute(sa.select(schema.devices.c.account)).scalars().all() == ["a1"]


def test_report_with_a_text_the_store_cannot_take_is_still_printed(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bridge_module.Bridge.snapshot

    def hostile(self: bridge_module.Bridge, *args: Any, **kwargs: Any) -> Snapshot:
        found = real(self, *args, **kwargs)
        first = found.devices[0]
        return attrs.evolve(found, devices=[attrs.evolve(first, name="SRV \ud800"), *found.devices[1:]])

    monkeypatch.setattr(bridge_module.Bridge, "snapshot", hostile)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(
            ["report", "--sandbox", "--vendor", "idrive360", "--no-alerts", "--store", f"sqlite:///{tmp_path}/s.db"]
        )
    assert code == 1
    assert out.getvalue().startswith("Backup health, ") and "problems" in out.getvalue()
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: store: ") and "not valid Unicode" in lines[0]
    assert "this run was not recorded" in lines[0] and "Traceback" not in err.getvalue()


@pytest.fixture
def pg_store(store: Store) -> Store:
    if store.dialect != "postgresql":
        pytest.skip("a PostgreSQL session's behaviour")
    return store


@contextlib.contextmanager
def _admin(store: Store) -> Iterator[sa.Connection]:
    engine = sa.create_engine(store.engine.url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def test_a_session_dropped_between_two_accounts_is_replaced(pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    pids: set[int] = set()
    sa.event.listen(pg_store.engine, "connect", lambda dbapi, _record: pids.add(dbapi.info.backend_pid))
    pg_store.engine.dispose()  # every connection from here on is seen
    real = record_module._record_account
    done: list[str] = []

    def then_drop(conn: sa.Connection, *args: Any, **kwargs: Any) -> dict[str, int]:
        counts = real(conn, *args, **kwargs)
        done.append(kwargs["part"].account)
        return counts

    monkeypatch.setattr(record_module, "_record_account", then_drop)
    real_retry = record_module._with_retry

    def retry_then_drop(*args: Any, **kwargs: Any) -> dict[str, int]:
        counts = real_retry(*args, **kwargs)
        if len(done) == 1:  # account a1 committed: the server ends our sessions
            with _admin(pg_store) as admin:
                for pid in pids:
                    admin.exec_driver_sql("SELECT pg_terminate_backend(%s)", (pid,))
        return counts

    monkeypatch.setattr(record_module, "_with_retry", retry_then_drop)
    run = record_snapshot(pg_store, _snapshot("a1", "a2", "a3"), NOW, run_finished=NOW)
    assert (run.accounts_ok, run.accounts_failed) == (3, 0)
    assert _recorded(pg_store) == ["a1", "a2", "a3"]
    with pg_store.read() as conn:
        assert conn.execute(sa.select(schema.runs.c.finished_at)).scalars().all() == [NOW]


def test_a_writer_of_an_account_holds_its_advisory_lock(pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """While an account is being recorded its advisory lock is held by that transaction: a second writer of
    the same account waits for it at the start of its own transaction, before touching a row."""
    seen: list[tuple[int, int, bool]] = []
    real = record_module._record_account

    def looking(conn: sa.Connection, *args: Any, **kwargs: Any) -> dict[str, int]:
        mine = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        classid, objid = record_module._account_lock(VENDOR, kwargs["part"].account)
        with _admin(pg_store) as admin:
            rows = admin.exec_driver_sql(
                "SELECT pid, granted FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 "
                "AND classid = (%s::int)::oid AND objid = (%s::int)::oid",  # int4 keys are shown as oids
                (classid, objid),
            ).all()
        seen.extend((pid, mine, granted) for pid, granted in rows)
        return real(conn, *args, **kwargs)

    monkeypatch.setattr(record_module, "_record_account", looking)
    record_snapshot(pg_store, _snapshot("a1"), NOW, run_finished=NOW)
    assert len(seen) == 1 and seen[0][0] == seen[0][1] and seen[0][2]


def test_two_writers_of_one_account_take_turns(pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second writer's transaction waits on the lock until the first commits, then records: both succeed."""
    first_inside, release = threading.Event(), threading.Event()
    real = record_module._record_account
    calls: list[str] = []

    def slow_first(conn: sa.Connection, *args: Any, **kwargs: Any) -> dict[str, int]:
        calls.append(threading.current_thread().name)
        if threading.current_thread().name == "first":
            first_inside.set()
            assert release.wait(10)
        return real(conn, *args, **kwargs)

    monkeypatch.setattr(record_module, "_record_account", slow_first)
    errors: list[BaseException] = []

    def write(name: str) -> Callable[[], None]:
        def run() -> None:
            try:
                record_snapshot(pg_store, _snapshot("a1", name=f"SRV-{name}"), NOW, run_finished=NOW)
            except BaseException as exc:  # reported below
                errors.append(exc)

        return run

    first = threading.Thread(target=write("first"), name="first")
    first.start()
    assert first_inside.wait(10)
    second = threading.Thread(target=write("second"), name="second")
    second.start()
    second.join(0.5)
    waiting = second.is_alive() and calls == ["first"]  # the second has not begun its account: it waits
    release.set()
    first.join(10)
    second.join(10)
    assert not errors and waiting and calls == ["first", "second"]
