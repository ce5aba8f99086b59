"""The history store at scale: daily runs of N devices recorded day after day, in SQLite and PostgreSQL.

For each backend and each size (default 1,000 and 10,000 devices, 25 devices a company, 10 accounts) it
records ``--days`` daily runs (each: every company, device and plan upserted, one new job and one verdict per
device) and prints:

    insert rate       job rows per second of recording (entities, names and verdicts written alongside)
    record/day        the median time to record one day's run (and of the last five: does it slow down as
                      the store fills?)
    bytes/job         the store's size over its job rows (SQLite: the whole file; PostgreSQL: every table
                      and index of the schema), so everything a job row costs is counted
    history 30d       the median time of one company's 30-day history (``history(..., "company", ...)``)
    growth            how each figure grows from the smallest size to the largest, measured in the same run

Then the overhead of recording: a sandbox collect of the same accounts with and without recording into
SQLite, alternated ``--rounds`` times, medians compared (the issue's bound is 20%).

A year of daily runs for 10,000 devices (3.65 million job rows) is ``--days 365``; the default of 30 days
finishes in a few minutes. PostgreSQL comes from ``--postgres URL`` or ``$BACKUPBRIDGE_TEST_POSTGRES_URL``
(each size runs in a schema of its own, dropped afterwards).

Run: python benchmarks/bench_store.py [--sizes 1000,10000] [--days 30] [--backends sqlite,postgresql]
         [--postgres URL] [--rounds 7] [--sandbox-size 40] [--tenants 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from backupbridge.bridge import Bridge, Snapshot
from backupbridge.health import Assessment, DeviceHealth, Health
from backupbridge.models import Company, Device, Job, JobStatus, Plan
from backupbridge.store import Store, history, open_store, record_snapshot, store_info
from backupbridge.store import schema as tables

START = dt.datetime(2026, 1, 1, 22, 0, tzinfo=dt.UTC)
VENDOR = "benchvendor"  # not a registered vendor: a history of runs, every listing


def day_snapshot(devices: int, accounts: int, day: int) -> tuple[Snapshot, Assessment]:
    """Day ``day``'s pass: every entity, one run per device (one in twenty failed), one verdict per device."""
    now = START + dt.timedelta(days=day)
    snap = Snapshot()
    verdicts = []
    for index in range(devices):
        account = f"acct-{(index // 25) % accounts}"
        company_id = f"c{index // 25}"
        device_id = f"d{index}"
        snap.devices.append(
            Device(vendor=VENDOR, account=account, id=device_id, name=f"SRV-{index:05}", company_id=company_id)
        )
        failed = (index + day) % 20 == 0
        snap.jobs.append(
            Job(
                vendor=VENDOR,
                account=account,
                id=f"{device_id}-{day}",
                device_id=device_id,
                plan_id=f"p{index // 25}",
                company_id=company_id,
                status=JobStatus.FAILED if failed else JobStatus.SUCCESS,
                started_at=now - dt.timedelta(hours=2),
                finished_at=now - dt.timedelta(hours=1),
                size_bytes=1_000_000 + index,
                files=1000 + index,
                error="Destination not reachable" if failed else None,
            )
        )
        verdicts.append(
            DeviceHealth(
                vendor=VENDOR,
                account=account,
                company_id=company_id,
                device_id=device_id,
                device_name=f"SRV-{index:05}",
                health=Health.FAILED if failed else Health.OK,
                reason="last run failed" if failed else "ok",
                last_success_at=now,
            )
        )
        if index % 25 == 0:
            snap.companies.append(Company(vendor=VENDOR, account=account, id=company_id, name=f"Company {company_id}"))
            snap.plans.append(
                Plan(vendor=VENDOR, account=account, id=f"p{index // 25}", name="Nightly", company_id=company_id)
            )
    for number in range(accounts):
        snap.clocks[(VENDOR, f"acct-{number}")] = now
        snap.timezones[(VENDOR, f"acct-{number}")] = dt.UTC
    return snap, Assessment(plans=(), devices=tuple(verdicts))


@contextmanager
def empty_store(backend: str, postgres: str | None) -> Iterator[Store]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory, open_store(f"sqlite:///{directory}/bench.sqlite3") as store:
            yield store
        return
    assert postgres is not None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    base = sa.engine.make_url(postgres).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        with open_store(base.update_query_dict({"options": f"-csearch_path={schema}"})) as store:
            yield store
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def measure(backend: str, devices: int, days: int, accounts: int, postgres: str | None) -> dict[str, float]:
    with empty_store(backend, postgres) as store:
        per_day = []
        for day in range(days):
            snap, verdicts = day_snapshot(devices, accounts, day)
            began = time.perf_counter()
            record_snapshot(store, snap, START + dt.timedelta(days=day), assessment=verdicts)
            per_day.append(time.perf_counter() - began)
        info = store_info(store)
        jobs = info.rows["jobs"]
        size = info.size_bytes or 0
        timings = []
        for _ in range(5):
            began = time.perf_counter()
            found = history(store, "company", "c1", days=30)
            timings.append(time.perf_counter() - began)
        assert len(found.entities) == 26  # 25 devices and the plan
        with store.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(tables.jobs)).scalar_one() == devices * days
    return {
        "jobs": jobs,
        "insert_rate": jobs / sum(per_day),
        "record_day": statistics.median(per_day),
        "record_late": statistics.median(per_day[-5:]),
        "bytes_per_job": size / jobs,
        "history_30d": statistics.median(timings),
    }


def recording_overhead(rounds: int, size: int, tenants: int) -> tuple[float, float]:
    """Median seconds of a sandbox collect (snapshot + verdicts) without and with recording into SQLite,
    alternated on the same accounts after one warm-up run that inserts everything."""
    from backupbridge.health import assess

    bridge = Bridge.sandbox(accounts_per_vendor=tenants, size=size)
    plain: list[float] = []
    recorded: list[float] = []
    with tempfile.TemporaryDirectory() as directory, open_store(f"sqlite:///{Path(directory) / 'o.sqlite3'}") as store:
        for round_ in range(-1, 2 * rounds):
            began = time.perf_counter()
            snap = bridge.snapshot()
            verdicts = assess(snap.devices, snap.plans, snap.jobs, now=snap.clocks, timezones=snap.timezones)
            record = round_ < 0 or round_ % 2 == 1
            if record:
                record_snapshot(store, snap, dt.datetime.now(dt.UTC), assessment=verdicts)
            if round_ >= 0:
                (recorded if record else plain).append(time.perf_counter() - began)
    return statistics.median(plain), statistics.median(recorded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="Device counts, comma-separated.")
    parser.add_argument("--days", type=int, default=30, help="Daily runs recorded (365: a year).")
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=os.environ.get("BACKUPBRIDGE_TEST_POSTGRES_URL"))
    parser.add_argument("--rounds", type=int, default=8, help="Alternations for the recording overhead.")
    parser.add_argument("--sandbox-size", type=int, default=40)
    parser.add_argument("--tenants", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = [b for b in args.backends.split(",") if b != "postgresql" or args.postgres]
    if "postgresql" in args.backends and not args.postgres:
        print("postgresql: skipped (no --postgres URL and no $BACKUPBRIDGE_TEST_POSTGRES_URL)")
    print(f"{args.days} daily runs, {args.accounts} accounts, 25 devices a company")
    print(
        f"{'backend':<11}{'devices':>8}{'job rows':>10}{'jobs/s':>9}{'record/day':>12}{'last 5 days':>13}"
        f"{'bytes/job':>11}{'history 30d':>13}"
    )
    for backend in backends:
        results = {}
        for devices in sizes:
            r = measure(backend, devices, args.days, args.accounts, args.postgres)
            results[devices] = r
            print(
                f"{backend:<11}{devices:>8}{r['jobs']:>10.0f}{r['insert_rate']:>9.0f}{r['record_day']:>11.3f}s"
                f"{r['record_late']:>12.3f}s{r['bytes_per_job']:>11.0f}{r['history_30d'] * 1000:>11.1f}ms"
            )
        if len(sizes) > 1:
            low, high = results[sizes[0]], results[sizes[-1]]
            print(
                f"{backend:<11}growth {sizes[0]} -> {sizes[-1]} devices (x{sizes[-1] / sizes[0]:g}): "
                f"record/day x{high['record_day'] / low['record_day']:.1f}, "
                f"jobs/s x{high['insert_rate'] / low['insert_rate']:.2f}, "
                f"bytes/job x{high['bytes_per_job'] / low['bytes_per_job']:.2f}, "
                f"history 30d x{high['history_30d'] / low['history_30d']:.2f}"
            )
    plain, recorded = recording_overhead(args.rounds, args.sandbox_size, args.tenants)
    print(
        f"sandbox collect, {4 * args.tenants} accounts x {args.sandbox_size} devices: {plain * 1000:.0f} ms without "
        f"recording, {recorded * 1000:.0f} ms with (SQLite): +{(recorded / plain - 1) * 100:.0f}% (bound: +20%)"
    )


if __name__ == "__main__":
    main()
