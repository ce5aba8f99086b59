"""What a run records: the run and its accounts, entities with first/last seen and names, jobs, verdicts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa

from backupbridge.bridge import AccountFailure
from backupbridge.errors import AuthenticationError
from backupbridge.models import JobStatus, Plan
from backupbridge.store import Store, history, record_snapshot
from backupbridge.store import schema as tables

from .conftest import NOW
from .snapshots import ACCOUNT, VENDOR, device, job, server_down, snapshot

DAY = dt.timedelta(days=1)


def test_a_run_records_its_accounts_entities_jobs_and_verdicts(store: Store, count: Callable[..., int]) -> None:
    snap = snapshot(NOW, jobs=[job("j1", NOW - dt.timedelta(hours=3)), job("j2", NOW - DAY, JobStatus.FAILED)])
    run = record_snapshot(store, snap, NOW, run_finished=NOW + dt.timedelta(seconds=5))
    assert (run.accounts_ok, run.accounts_failed, run.new_jobs, run.jobs, run.devices) == (1, 0, 2, 2, 1)
    with store.read() as conn:
        row = conn.execute(sa.select(tables.runs)).one()
        assert (row.started_at, row.finished_at, row.accounts_ok) == (NOW, NOW + dt.timedelta(seconds=5), 1)
        assert conn.execute(sa.select(tables.devices.c.first_seen, tables.devices.c.last_seen)).one() == (NOW, NOW)
        days = dict(conn.execute(sa.select(tables.jobs.c.job_key, tables.jobs.c.day)).all())
    assert days == {"j1": NOW.date(), "j2": (NOW - DAY).date()}
    assert count("verdicts", kind="device", entity_id="d1") == 1
    assert count("run_listings", operation="list_jobs", ok=True) == 1


def test_the_same_snapshot_twice_leaves_one_row_per_thing(store: Store, count: Callable[..., int]) -> None:
    snap = snapshot(NOW, jobs=[job("j1", NOW - dt.timedelta(hours=3))])
    record_snapshot(store, snap, NOW)
    second = record_snapshot(store, snap, NOW + dt.timedelta(minutes=5))
    assert second.new_jobs == 0
    assert (count("jobs"), count("devices"), count("companies"), count("verdicts"), count("runs")) == (1, 1, 1, 1, 2)


def test_a_job_seen_running_then_finished_is_one_job_with_the_final_status(store: Store) -> None:
    start = NOW - dt.timedelta(hours=1)
    running = job("j1", start, JobStatus.RUNNING)
    record_snapshot(store, snapshot(NOW, jobs=[running]), NOW)
    later = NOW + dt.timedelta(hours=1)
    record_snapshot(store, snapshot(later, jobs=[job("j1", start, JobStatus.SUCCESS)]), later)
    with store.read() as conn:
        assert conn.execute(
            sa.select(tables.jobs.c.status, tables.jobs.c.first_seen, tables.jobs.c.last_seen)
        ).all() == [("success", NOW, later)]


def test_a_rename_is_the_same_device_with_its_name_history(store: Store, count: Callable[..., int]) -> None:
    record_snapshot(store, snapshot(NOW, devices=[device(name="SRV-OLD")]), NOW)
    later = NOW + DAY
    record_snapshot(store, snapshot(later, devices=[device(name="SRV-NEW")]), later)
    assert count("devices") == 1
    with store.read() as conn:
        current = conn.execute(sa.select(tables.devices.c.name, tables.devices.c.first_seen)).one()
        names = conn.execute(
            sa.select(tables.entity_names.c.name, tables.entity_names.c.first_seen, tables.entity_names.c.last_seen)
            .where(tables.entity_names.c.kind == "device")
            .order_by(tables.entity_names.c.first_seen)
        ).all()
    assert current == ("SRV-NEW", NOW)
    assert names == [("SRV-OLD", NOW, NOW), ("SRV-NEW", later, later)]
    found = history(store, "device", "SRV-NEW", days=2)
    assert [e.names for e in found.entities] == [("SRV-OLD", "SRV-NEW")]


def test_a_failed_job_listing_is_recorded_as_failed_never_as_no_result(store: Store, count: Callable[..., int]) -> None:
    record_snapshot(store, snapshot(NOW - DAY, jobs=[job("j1", NOW - DAY - dt.timedelta(hours=2))]), NOW - DAY)
    failed = snapshot(NOW, failures=[("list_jobs", server_down())])
    run = record_snapshot(store, failed, NOW)
    assert (run.accounts_ok, run.accounts_failed) == (0, 1)
    with store.read() as conn:
        listing = conn.execute(
            sa.select(tables.run_listings).where(
                tables.run_listings.c.run_id == run.run_id, tables.run_listings.c.operation == "list_jobs"
            )
        ).one()
        account = conn.execute(sa.select(tables.run_accounts).where(tables.run_accounts.c.run_id == run.run_id)).one()
    assert (listing.ok, listing.error_class, listing.records) == (False, "ServerError", None)
    assert (account.ok, account.error_class) == (False, "ServerError")
    assert "503" in account.error_message
    # No verdict from a pass whose runs could not be listed (the engine would have called it NEVER_RUN).
    assert count("verdicts", day=NOW.date()) == 0
    days = history(store, "device", "d1", days=2).entities[0].days
    assert [(d.day, d.status.value) for d in days] == [((NOW - DAY).date(), "success"), (NOW.date(), "unknown")]


def test_an_account_that_failed_whole_is_recorded_with_its_typed_error(store: Store) -> None:
    snap = snapshot(NOW)
    snap.companies, snap.devices, snap.clocks, snap.timezones = [], [], {}, {}
    refused = AuthenticationError("the API key was refused", status_code=401, vendor=VENDOR)
    snap.failures = [AccountFailure(vendor=VENDOR, account=ACCOUNT, operation="snapshot", error=refused)]
    run = record_snapshot(store, snap, NOW)
    assert run.accounts_failed == 1
    with store.read() as conn:
        account = conn.execute(sa.select(tables.run_accounts)).one()
        listings = conn.execute(sa.select(tables.run_listings.c.operation, tables.run_listings.c.ok)).all()
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.devices)).scalar_one() == 0
    assert (account.ok, account.error_class, account.observed_at) == (False, "AuthenticationError", NOW)
    assert listings == [("snapshot", False)]


def test_a_failed_device_listing_keeps_what_was_known_and_writes_no_verdicts(
    store: Store, count: Callable[..., int]
) -> None:
    record_snapshot(store, snapshot(NOW - DAY), NOW - DAY)
    record_snapshot(store, snapshot(NOW, failures=[("list_devices", server_down())]), NOW)
    with store.read() as conn:
        assert conn.execute(sa.select(tables.devices.c.last_seen)).scalar_one() == NOW - DAY
    assert count("verdicts", day=NOW.date()) == 0


def test_plans_are_judged_per_device_per_day(store: Store, count: Callable[..., int]) -> None:
    plan = Plan(vendor=VENDOR, account=ACCOUNT, id="p1", name="Nightly", company_id="c1", device_ids=("d1", "d2"))
    devices = [device("d1"), device("d2", "SRV-02")]
    jobs = [
        job("j1", NOW - dt.timedelta(hours=2), plan_id="p1"),
        job("j2", NOW - dt.timedelta(hours=2), device_id="d2", plan_id="p1"),
    ]
    record_snapshot(store, snapshot(NOW, devices=devices, plans=[plan], jobs=jobs), NOW)
    assert count("verdicts", kind="plan", entity_id="p1") == 2
    assert count("plans") == 1


def test_secrets_in_vendor_errors_are_not_stored(store: Store) -> None:
    from backupbridge.redaction import Secret

    Secret("hunter2-store-secret")
    error = server_down()
    error.message = "upstream said: token hunter2-store-secret expired"
    record_snapshot(store, snapshot(NOW, failures=[("list_jobs", error)]), NOW)
    with store.read() as conn:
        messages = conn.execute(sa.select(tables.run_listings.c.error_message)).scalars().all()
    assert messages and all("hunter2-store-secret" not in (m or "") for m in messages)


def test_a_later_run_the_same_day_replaces_that_day_s_verdict(store: Store) -> None:
    record_snapshot(store, snapshot(NOW), NOW)  # no run seen yet: never run
    later = NOW + dt.timedelta(hours=2)
    ran = job("j1", NOW + dt.timedelta(hours=1))
    record_snapshot(store, snapshot(later, jobs=[ran]), later)
    record_snapshot(store, snapshot(later + dt.timedelta(minutes=5), jobs=[ran]), later)  # unchanged: kept as is
    with store.read() as conn:
        rows = conn.execute(
            sa.select(tables.verdicts.c.health, tables.verdicts.c.observed_at).where(tables.verdicts.c.kind == "device")
        ).all()
    assert rows == [("ok", later)]
