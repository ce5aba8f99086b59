"""The engine's verdict never follows the physical order of the store's rows.

Two stored runs of an IDrive-style device (the vendor shows only the last run, and a failed one has no time)
can share the engine's identity (same id, status and error) while being two jobs in the store (the device's
last success differed). The engine keeps the first one it meets and places it at that run's first sighting,
so the order the store reads them in decides the verdict: without an ORDER BY it was the heap's order, which
a VACUUM FULL, a dump and restore or a sequential scan changes. The store now reads them oldest sighting first.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from backupbridge.bridge import Snapshot
from backupbridge.health import HealthPolicy, assess
from backupbridge.models import Company, Device, DeviceStatus, Frequency, Job, JobStatus, Plan, Schedule
from backupbridge.store import Store, open_store, record_snapshot
from backupbridge.store.history import health_history

V, A = "idrive360", "acct"
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _snap(day: int, error: str, last_ok: dt.datetime) -> Snapshot:
    now = T0 + dt.timedelta(days=day)
    device = Device(
        vendor=V, account=A, id="d1", name="SRV", company_id="c1", status=DeviceStatus.ONLINE, last_backup_at=last_ok
    )
    plan = Plan(
        vendor=V, account=A, id="p1", name="Nightly", company_id="c1", device_ids=("d1",),
        schedule=Schedule(frequency=Frequency.DAILY, time=dt.time(1, 0)),
    )  # fmt: skip
    job = Job(vendor=V, account=A, id="d1:last", device_id="d1", company_id="c1", status=JobStatus.FAILED, error=error)
    return Snapshot(
        companies=[Company(vendor=V, account=A, id="c1", name="C")], devices=[device], plans=[plan], jobs=[job],
        clocks={(V, A): now}, timezones={(V, A): dt.UTC},
    )  # fmt: skip


def _judge(store: Store, now: Snapshot) -> tuple[object, ...]:
    found = health_history(store, now.clocks, now=now.clocks, policy=HealthPolicy())
    plan = assess(now.devices, now.plans, now.jobs, now=now.clocks, timezones=now.timezones, history=found).plans[0]
    return plan.missed_days, plan.health, plan.reason, plan.last_run_at


def test_stored_runs_of_one_identity_judge_the_same_in_any_row_order(store_url: str) -> None:
    sequence = [
        _snap(0, "disk full", T0 - dt.timedelta(days=9)),
        _snap(1, "quota", T0 - dt.timedelta(days=9)),
        _snap(2, "disk full", T0 - dt.timedelta(days=8)),  # the engine's identity of day 0's run, another job
        _snap(3, "vss", T0 - dt.timedelta(days=8)),
    ]
    with open_store(store_url) as store:
        for snap in sequence:
            record_snapshot(store, snap, snap.clocks[(V, A)])
        before = _judge(store, sequence[-1])
        with store.write() as conn:  # the same rows, written again newest first: another physical order
            conn.execute(sa.text("CREATE TEMP TABLE reordered AS SELECT * FROM jobs"))
            conn.execute(sa.text("DELETE FROM jobs"))
            conn.execute(sa.text("INSERT INTO jobs SELECT * FROM reordered ORDER BY first_seen DESC"))
            conn.execute(sa.text("DROP TABLE reordered"))
    scan = store_url
    if store_url.startswith("postgresql"):  # the plan a big table gets: a sequential scan, in the heap's order
        url = sa.engine.make_url(store_url)
        options = url.query["options"]
        assert isinstance(options, str)
        scan = url.update_query_dict(
            {"options": f"{options} -cenable_indexscan=off -cenable_bitmapscan=off"}
        ).render_as_string(hide_password=False)
    with open_store(scan) as store:
        assert _judge(store, sequence[-1]) == before
