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
    report            the median time of the whole report from the store, after the last day: the engine's
                      history of every account read (``health_history``), every device judged with it, the
                      report built, every device's 30-day strip and every company's compliance read
                      (``report_history``) and the HTML rendered; the parts are printed beside it. With
                      ``report --from-store``'s reader present (``store.stored.stored_snapshot``) also that
                      report (the snapshot and verdicts of each account's last run read from the store
                      instead of a vendor's listing)
    growth            how each figure grows from the smallest size to the largest, measured in the same run

Then the overhead of recording into SQLite (the issue's bound is 20%), CPU time. A recording collect reads
the store's history of its accounts, judges with it and records the run, as ``collect`` does; the collect
without recording takes the snapshot and judges it on the listings alone. The store first holds
``--history-days`` daily collects (default 8: the engine's window is 7 days and a day), and each figure is
given for a new day (its runs, verdicts and last-seen times written: the daily cron run) and for the same
day collected again (nothing new: the best case). Each earlier day holds what the vendors listed then
(``listed_before``): a new day adds its new runs (578 of 2,481 at the default size), as a real day does.

    by its parts, in one process   every round (after a full garbage collection) takes the snapshot and judges
                      it without the history, then reads the history, judges with it and records; the
                      round's overhead is what the recording's parts took over the collect's. The median
                      of ``--rounds`` rounds, then of ``--processes`` fresh processes. A long-lived
                      collector's view: each round opens its own copy of the seeded store (untimed). Also
                      printed: the mean time a round of the cyclic collector's full passes (``gc.callbacks``)
                      inside the recording's parts and inside the collect's, which move the medians most.
    by its parts, fresh process    ``backupbridge collect --sandbox`` itself, one fresh process a run
                      (``--cold-rounds``), as cron runs it: the store's import (SQLAlchemy with it),
                      opening and closing the store, beginning the run, the history read, judging with it
                      over judging without, the recording, and the stored runs added for the alert pass,
                      timed inside the real command, over the rest of the process's CPU time. What the
                      store's modules cost the interpreter's exit is not timed (a review measured 30-90 ms
                      more CPU in a process that imported and opened the store), so this is a lower bound.
    two arms, in one process       the two collects alternated into a store that holds only their own day
                      (the same day again), medians compared: a cross-check. Its difference is that of two
                      400-600 ms totals, which on a noisy 2-core VM differ by up to 100 ms round to round,
                      more than recording costs there, so it moves by +-10% a process.

``--overhead-only`` measures just these.

A year of daily runs for 10,000 devices (3.65 million job rows) is ``--days 365``; the default of 30 days
finishes in a few minutes. PostgreSQL comes from ``--postgres URL`` or ``$BACKUPBRIDGE_TEST_POSTGRES_URL``
(each size runs in a schema of its own, dropped afterwards).

Run: python benchmarks/bench_store.py [--sizes 1000,10000] [--days 30] [--backends sqlite,postgresql]
         [--postgres URL] [--rounds 8] [--processes 5] [--cold-rounds 7] [--sandbox-size 40] [--tenants 3]
         [--history-days 8] [--overhead-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import sqlalchemy as sa

from backupbridge.bridge import Bridge, Snapshot
from backupbridge.health import Assessment, DeviceHealth, Health, HealthPolicy, assess
from backupbridge.models import Company, Device, Job, JobStatus, Plan
from backupbridge.report import build_report, render_html
from backupbridge.store import Store, history, open_store, record_snapshot, store_info
from backupbridge.store import schema as tables
from backupbridge.store.history import health_history, report_history

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
        live, _ = day_snapshot(devices, accounts, days - 1)
        report = [whole_report(store, live) for _ in range(3)]
        from_store = [r for r in (report_from_store(store) for _ in range(3)) if r is not None]
    parts = {name: statistics.median(r[name] for r in report) for name in report[0]}
    return {
        **{f"report_{name}": value for name, value in parts.items()},
        "from_store": statistics.median(r["total"] for r in from_store) if from_store else float("nan"),
        "jobs": jobs,
        "insert_rate": jobs / sum(per_day),
        "record_day": statistics.median(per_day),
        "record_late": statistics.median(per_day[-5:]),
        "bytes_per_job": size / jobs,
        "history_30d": statistics.median(timings),
    }


def whole_report(store: Store, live: Snapshot) -> dict[str, float]:
    """Seconds of each step of the report of ``live`` (the vendors' view) with the store's history."""
    accounts = sorted(live.clocks)
    policy = HealthPolicy()
    steps: dict[str, float] = {}
    began = time.perf_counter()
    remembered = health_history(store, accounts, now=live.clocks, policy=policy)
    steps["read_history"] = time.perf_counter() - began
    mark = time.perf_counter()
    assessment = assess(
        live.devices, live.plans, live.jobs, now=live.clocks, policy=policy, timezones=live.timezones,
        history=remembered,
    )  # fmt: skip
    built = build_report(live, assessment, generated_at=max(live.clocks.values()))
    steps["judge_and_build"] = time.perf_counter() - mark
    mark = time.perf_counter()
    strips = report_history(store, accounts, days=30)
    steps["read_strips"] = time.perf_counter() - mark
    mark = time.perf_counter()
    page = io.StringIO()
    render_html(attrs.evolve(built, history=strips), page)
    steps["render_html"] = time.perf_counter() - mark
    steps["total"] = time.perf_counter() - began
    assert len(strips.devices) == len(live.devices) and page.tell() > 0
    return steps


def report_from_store(store: Store) -> dict[str, float] | None:
    """Seconds of ``report --from-store`` as a library call: the last run of every account read from the store,
    the strips and compliance, the HTML rendered (None when this checkout has no from-store reader)."""
    try:
        from backupbridge.store.stored import stored_snapshot  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    began = time.perf_counter()
    snap, assessment = stored_snapshot(store)
    built = build_report(snap, assessment, generated_at=max(snap.clocks.values()))
    strips = report_history(store, sorted(snap.clocks), days=30)
    render_html(attrs.evolve(built, history=strips), io.StringIO())
    return {"total": time.perf_counter() - began}


def recording_overhead(rounds: int, size: int, tenants: int) -> dict[str, float]:
    """Median wall and CPU seconds of a sandbox collect (snapshot + verdicts) without and with recording into
    SQLite, alternated on the same accounts after one warm-up run that inserts everything, each round after a
    full garbage collection (untimed). CPU time is the steadier figure on a shared machine (another process's
    load moves the wall clock, not this one's CPU)."""
    bridge = Bridge.sandbox(accounts_per_vendor=tenants, size=size)
    plain: list[float] = []
    recorded: list[float] = []
    cpu: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as directory, open_store(f"sqlite:///{Path(directory) / 'o.sqlite3'}") as store:
        for round_ in range(-1, 2 * rounds):
            # Each round starts from the same collector state: the simulators' heap makes a full collection
            # cost 100-200 ms, and which arm it lands in would otherwise be chance (it was: 0, 1 or 2 a round).
            gc.collect()
            began, began_cpu = time.perf_counter(), time.process_time()
            snap = bridge.snapshot()
            record = round_ < 0 or round_ % 2 == 1
            remembered = health_history(store, snap.clocks, now=snap.clocks) if record else None
            verdicts = assess(
                snap.devices, snap.plans, snap.jobs, now=snap.clocks, timezones=snap.timezones, history=remembered
            )
            if record:
                record_snapshot(store, snap, dt.datetime.now(dt.UTC), assessment=verdicts)
            if round_ >= 0:
                (recorded if record else plain).append(time.perf_counter() - began)
                cpu[record].append(time.process_time() - began_cpu)
    return {
        "wall_plain": statistics.median(plain),
        "wall_recorded": statistics.median(recorded),
        "cpu_plain": statistics.median(cpu[False]),
        "cpu_recorded": statistics.median(cpu[True]),
    }


def _judge_plain(snap: Snapshot) -> float:
    """CPU seconds of judging ``snap`` on its listings alone (the collect without recording)."""
    mark = time.process_time()
    assess(snap.devices, snap.plans, snap.jobs, now=snap.clocks, timezones=snap.timezones)
    return time.process_time() - mark


def _judge_and_record(store: Store, snap: Snapshot) -> tuple[float, float, float]:
    """CPU seconds of what a recording collect does instead: the history read, judging with it, recording (what
    they leave is freed inside the timing, as the plain judgement's is)."""
    cpu = time.process_time
    mark = cpu()
    remembered = health_history(store, snap.clocks, now=snap.clocks)
    read = cpu()
    verdicts = assess(
        snap.devices, snap.plans, snap.jobs, now=snap.clocks, timezones=snap.timezones, history=remembered
    )
    judged = cpu()
    record_snapshot(store, snap, dt.datetime.now(dt.UTC), assessment=verdicts)
    del remembered, verdicts
    return read - mark, judged - read, cpu() - judged


def sandbox_on(day: int, tenants: int, size: int) -> Bridge:
    """``Bridge.sandbox(accounts_per_vendor=tenants, size=size)`` with every simulator's clock ``day`` days after
    the sandbox's own: the same tenants, devices and plans, and the runs of that day's window (a daily collect)."""
    from backupbridge.plugins import list_vendors
    from backupbridge.sandbox import connect_sandbox, make_simulator
    from backupbridge.sandbox.options import DEFAULT_NOW, SimulatorOptions

    now = DEFAULT_NOW + dt.timedelta(days=day)
    connections = []
    for vendor in [v.name for v in list_vendors() if v.simulator is not None]:
        for index in range(tenants):
            account = f"sandbox-{vendor}" if tenants == 1 else f"sandbox-{vendor}-{index + 1}"
            simulator = make_simulator(vendor, SimulatorOptions(seed=index, size=size, now=now))
            connections.append(connect_sandbox(vendor, simulator=simulator, account=account))
    return Bridge(connections)


def _lists_history(vendor: str) -> bool:
    from backupbridge.models import Capability
    from backupbridge.plugins import get_vendor

    return Capability.JOB_HISTORY in get_vendor(vendor).capabilities


def listed_before(day: int, tenants: int, size: int, later: Snapshot) -> Snapshot:
    """What a collect ``day`` days before ``later`` (a day's sandbox snapshot) would have listed.

    A vendor that shows each backup's last run: its simulators on that day (each device's last run then, at that
    day's time: a run of its own). A vendor with a history of runs: ``later``'s runs begun by that day's clock.
    Its simulators on an earlier day are no such view: they list the same run ids at times moved by the days,
    so every run would be rewritten each day (2,416 of 2,481 at 12 accounts x 40 devices) where a real day adds
    one a backup. A run without a time (a missed run) is in every day's listing: its day is not known."""
    with sandbox_on(day, tenants, size) as bridge:
        then = bridge.snapshot()
    jobs = [job for job in then.jobs if not _lists_history(job.vendor)]
    for job in later.jobs:
        when = job.started_at or job.finished_at
        if _lists_history(job.vendor) and (when is None or when <= then.clocks[(job.vendor, job.account)]):
            jobs.append(job)
    return attrs.evolve(then, jobs=jobs)


def record_days(store: Store, days: range, tenants: int, size: int) -> None:
    """One recording collect a day for ``days`` (before the sandbox's day, negative), as cron would have run
    them: each lists what the vendors showed then (``listed_before``), so the sandbox's day adds its new runs."""
    with sandbox_on(0, tenants, size) as bridge:
        today = bridge.snapshot()
    for day in days:
        _judge_and_record(store, listed_before(day, tenants, size, today))


def seeded_store(directory: Path, days: int, tenants: int, size: int) -> Path:
    """A SQLite file in ``directory`` holding ``days`` daily collects before the sandbox's day, its WAL folded
    in (one file to copy)."""
    week = directory / "week.sqlite3"
    with open_store(f"sqlite:///{week}") as seeded:
        record_days(seeded, range(-days, 0), tenants, size)
    with sa.create_engine(f"sqlite:///{week}").connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return week


def recording_parts(rounds: int, size: int, tenants: int, days: int) -> dict[str, float]:
    """What recording adds to a sandbox collect, timed by its parts inside each round (CPU seconds), in a store
    that already holds ``days`` daily collects (the policy's window is 7 days and a day).

    Each round records the sandbox's day into its own copy of that store (``new``: the day's new runs, verdicts
    and last-seen times written, a full window of history read), then that day again (``again``: nothing new,
    the best case). In each, after a full garbage collection (untimed), the snapshot is taken and judged without
    the history (the collect without recording), then the history is read, the snapshot judged with it and
    recorded (what a recording collect does instead); which judgement comes first alternates. The overhead is
    ``history + (judging with it - judging without) + record`` over ``snapshot + judging without``. Unlike the
    two alternated arms of ``recording_overhead``, whose difference is that of two 400-600 ms totals (on this
    machine two snapshots differ by up to 100 ms, more than recording costs), this is the recording's own time,
    measured in the round it is added to. The store is opened before the round (untimed): a long-lived
    collector's view (the fresh-process figure adds the import, opening and closing)."""
    cpu = time.process_time
    names = ("snapshot", "judge", "history", "judge_extra", "record")
    parts: dict[str, dict[str, list[float]]] = {kind: {n: [] for n in names} for kind in ("new", "again")}
    ratios: dict[str, list[float]] = {"new": [], "again": []}
    passes: dict[str, dict[str, list[float]]] = {kind: {"collect": [], "recording": []} for kind in ("new", "again")}
    with tempfile.TemporaryDirectory() as directory:
        week = seeded_store(Path(directory), days, tenants, size)
        full_passes = _FullPasses()  # the seeding's passes are not counted: they precede the rounds
        for round_ in range(rounds):
            copy = Path(directory) / f"round-{round_}.sqlite3"
            shutil.copyfile(week, copy)
            with open_store(f"sqlite:///{copy}") as store, sandbox_on(0, tenants, size) as bridge:
                for kind in ("new", "again"):
                    gc.collect()
                    began, passes_before = cpu(), full_passes.seconds
                    snap = bridge.snapshot()
                    snapped = cpu()
                    if round_ % 2 == 0:
                        judge = _judge_plain(snap)
                        mark = full_passes.seconds
                        history_read, judge_with, record = _judge_and_record(store, snap)
                        in_recording = full_passes.seconds - mark
                    else:
                        mark = full_passes.seconds
                        history_read, judge_with, record = _judge_and_record(store, snap)
                        in_recording = full_passes.seconds - mark
                        judge = _judge_plain(snap)
                    added = history_read + (judge_with - judge) + record
                    ratios[kind].append(added / (snapped - began + judge))
                    values = (snapped - began, judge, history_read, judge_with - judge, record)
                    for name, value in zip(names, values, strict=True):
                        parts[kind][name].append(value)
                    in_collect = full_passes.seconds - passes_before - in_recording  # the snapshot's and judging's
                    passes[kind]["collect"].append(in_collect)
                    passes[kind]["recording"].append(in_recording)
                    del snap
            copy.unlink()
    full_passes.close()
    return {
        **{f"{kind}_ratio": statistics.median(r) for kind, r in ratios.items()},
        **{f"{kind}_{n}": statistics.median(v) for kind, found in parts.items() for n, v in found.items()},
        # The collector's full passes are rare and large: their mean a round is what they cost, not a median.
        **{f"{kind}_passes_{n}": statistics.mean(v) for kind, found in passes.items() for n, v in found.items()},
    }


class _FullPasses:
    """The CPU time of the cyclic garbage collector's full (oldest-generation) passes, as they happen."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._began = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._began = time.process_time()
        else:
            self.seconds += time.process_time() - self._began

    def close(self) -> None:
        gc.callbacks.remove(self._callback)


# ``backupbridge collect --sandbox`` itself in a fresh process, as cron runs it, with what recording adds timed
# by its parts (argv: a file the parts are written to, then the command's arguments). Imported first, untimed:
# the command line and what any collect reads and judges with (the bridge, the engine). Timed as recording: the
# store's import (SQLAlchemy with it, and the collect command's module: conservative), opening the store and
# beginning the run, the history read, judging with the history over judging without (see assess_snapshot
# below), the recording and closing the store.
CLI_COLLECT = """
import json, sys, time
cpu = time.process_time
out, argv = sys.argv[1], sys.argv[2:]
# As the console script (backupbridge.cli.run): the CLI imported, the process owned, its heap frozen, and only
# then the rest (what the bench preloads here is walked by the collector's passes, as in the real command).
import backupbridge.cli
backupbridge.cli._OWNS_PROCESS = True
backupbridge.cli.freeze_heap()
import backupbridge.bridge, backupbridge.health
parts = {}
began = cpu()
import backupbridge.store.commands as commands
import backupbridge.store.engine as engine
backupbridge.cli.freeze_heap(1)  # as the CLI does once it imported a command's modules
parts["import"] = cpu() - began

def timed(name, function):
    def wrapper(*args, **kwargs):
        began = cpu()
        try:
            return function(*args, **kwargs)
        finally:
            parts[name] = parts.get(name, 0.0) + cpu() - began
    return wrapper

commands._open = timed("open", commands._open)
commands.begin_run = timed("begin", commands.begin_run)
commands.snapshot_history = timed("history", commands.snapshot_history)
commands.extend_snapshot = timed("extend", commands.extend_snapshot)  # done only because the history was read
commands.record_snapshot = timed("record", commands.record_snapshot)
engine.Store.close = timed("close", engine.Store.close)
judge = commands.assess_snapshot

def assess_snapshot(snapshot, **options):
    if options.get("history") is None:
        return judge(snapshot, **options)
    # The collect without recording judges once without the history, paying the engine's first use: that
    # judgement is kept in the process's time. Then with the history (the one collect uses), and without it
    # once more: their difference, both warm, is what judging with the history adds; the rest of those two
    # judgements (twice the second) is the measuring's own, taken out of the total.
    judge(snapshot, **{**options, "history": None})
    began = cpu()
    judged = judge(snapshot, **options)
    middle = cpu()
    judge(snapshot, **{**options, "history": None})
    end = cpu()
    parts["judge_extra"] = parts.get("judge_extra", 0.0) + (middle - began) - (end - middle)
    parts["measuring"] = parts.get("measuring", 0.0) + 2 * (end - middle)
    return judged

commands.assess_snapshot = assess_snapshot
code = backupbridge.cli.main(argv)  # run() without its exit: collect freezes again after its snapshot
with open(out, "w") as file:
    json.dump({"code": code, **parts}, file)
"""


def cli_recording_parts(rounds: int, tenants: int, size: int, days: int) -> dict[str, dict[str, float]]:
    """``backupbridge collect --sandbox`` run ``rounds`` times, each in a fresh process, into a store holding
    ``days`` daily collects before the sandbox's day (``new``: each run a copy of that store, so each is a new
    day) and into a store it recorded once already (``again``: nothing new). For each: the median of what
    recording adds over the rest of the process's CPU time, and the medians of the parts (seconds)."""
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as directory:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(directory) / "pycache")  # as an installed package: compiled once
        env["HOME"] = directory  # no configuration file of the user's
        out = Path(directory) / "parts.json"
        week = seeded_store(Path(directory), days, tenants, size)
        again = Path(directory) / "again.sqlite3"
        shutil.copyfile(week, again)
        for kind in ("new", "again"):
            ratios: list[float] = []
            seen: dict[str, list[float]] = {}
            for round_ in range(-1, rounds):
                path = again
                if kind == "new":
                    path = Path(directory) / f"new-{round_}.sqlite3"
                    shutil.copyfile(week, path)
                command = ["collect", "--sandbox", "--tenants", str(tenants), "--size", str(size)]
                command += ["--store", f"sqlite:///{path}"]
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run(
                    [sys.executable, "-c", CLI_COLLECT, str(out), *command],
                    check=True,
                    stdout=subprocess.DEVNULL,
                    env=env,
                )
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                total = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                parts = json.loads(out.read_text())
                if parts.pop("code") != 0:
                    raise RuntimeError(f"backupbridge collect --sandbox exited {parts}")
                expected = {"import", "open", "begin", "history", "judge_extra", "measuring", "record", "extend"}
                missing = {*expected, "close"} - set(parts)
                if missing:  # collect no longer calls what is timed by these names: the figure would be too low
                    raise RuntimeError(f"the recording's parts {sorted(missing)} were not timed")
                if round_ < 0:  # the first process compiles the modules (an installed package has them)
                    continue
                measuring = parts.pop("measuring", 0.0)
                added = sum(parts.values())
                ratios.append(added / (total - measuring - added))
                for name, value in {"total": total - measuring, **parts}.items():
                    seen.setdefault(name, []).append(value)
            results[kind] = {"ratio": statistics.median(ratios), **{n: statistics.median(v) for n, v in seen.items()}}
    return results


def in_a_child(args: argparse.Namespace) -> dict[str, float]:
    """``recording_overhead`` in a fresh process: one process is one draw of what differs between processes
    (hash seeds, memory layout, when the collector runs), which moved a single process's median by +-10%."""
    done = subprocess.run(
        [
            sys.executable, __file__, "--overhead-only", "--one-process", "--rounds", str(args.rounds),
            "--sandbox-size", str(args.sandbox_size), "--tenants", str(args.tenants),
            "--history-days", str(args.history_days),
        ],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    figures: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return figures


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
    parser.add_argument("--cold-rounds", type=int, default=7, help="Fresh backupbridge collect processes.")
    parser.add_argument("--overhead-only", action="store_true", help="Only the recording overhead.")
    parser.add_argument(
        "--processes", type=int, default=5, help="Processes the in-process overhead is measured in (median)."
    )
    parser.add_argument(
        "--history-days", type=int, default=8, help="Daily collects in the store before the overhead is measured."
    )
    parser.add_argument("--one-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.overhead_only:
        args.backends = ""
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = [b for b in args.backends.split(",") if b and (b != "postgresql" or args.postgres)]
    if "postgresql" in args.backends and not args.postgres:
        print("postgresql: skipped (no --postgres URL and no $BACKUPBRIDGE_TEST_POSTGRES_URL)")
    if backends:
        print(f"{args.days} daily runs, {args.accounts} accounts, 25 devices a company")
        print(
            f"{'backend':<11}{'devices':>8}{'job rows':>10}{'jobs/s':>9}{'record/day':>12}{'last 5 days':>13}"
            f"{'bytes/job':>11}{'history 30d':>13}{'report':>9}{'from store':>12}"
        )
    for backend in backends:
        results = {}
        for devices in sizes:
            r = measure(backend, devices, args.days, args.accounts, args.postgres)
            results[devices] = r
            print(
                f"{backend:<11}{devices:>8}{r['jobs']:>10.0f}{r['insert_rate']:>9.0f}{r['record_day']:>11.3f}s"
                f"{r['record_late']:>12.3f}s{r['bytes_per_job']:>11.0f}{r['history_30d'] * 1000:>11.1f}ms"
                f"{r['report_total']:>8.2f}s{r['from_store']:>11.2f}s"
            )
            print(
                f"{'':<11}report parts: history read {r['report_read_history']:.2f}s, judge + build "
                f"{r['report_judge_and_build']:.2f}s, strips + compliance read {r['report_read_strips']:.2f}s, "
                f"HTML {r['report_render_html']:.2f}s"
            )
        if len(sizes) > 1:
            low, high = results[sizes[0]], results[sizes[-1]]
            print(
                f"{backend:<11}growth {sizes[0]} -> {sizes[-1]} devices (x{sizes[-1] / sizes[0]:g}): "
                f"record/day x{high['record_day'] / low['record_day']:.1f}, "
                f"jobs/s x{high['insert_rate'] / low['insert_rate']:.2f}, "
                f"bytes/job x{high['bytes_per_job'] / low['bytes_per_job']:.2f}, "
                f"history 30d x{high['history_30d'] / low['history_30d']:.2f}, "
                f"report x{high['report_total'] / low['report_total']:.1f}"
            )
    if args.one_process:  # a child of --processes: its figures as one JSON line
        figures = recording_overhead(args.rounds, args.sandbox_size, args.tenants)
        by_parts = recording_parts(args.rounds, args.sandbox_size, args.tenants, args.history_days)
        print(json.dumps({**figures, **{f"parts_{name}": value for name, value in by_parts.items()}}))
        return
    runs = [in_a_child(args) for _ in range(args.processes)]
    label = f"sandbox collect, {4 * args.tenants} accounts x {args.sandbox_size} devices, SQLite (bound: +20%)"
    print(f"{label}; CPU time, medians")
    for kind, what in (("new", "a new day"), ("again", "the same day again (nothing new)")):
        shares = sorted(r[f"parts_{kind}_ratio"] for r in runs)
        typical = sorted(runs, key=lambda r: r[f"parts_{kind}_ratio"])[len(runs) // 2]
        print(
            f"  in one process, a store of {args.history_days} daily collects, {what}, recording timed by its parts "
            f"({args.processes} processes of {args.rounds} rounds): {shares[len(shares) // 2] * 100:+.1f}% (each "
            f"process: {', '.join(f'{r * 100:+.1f}%' for r in shares)}); collect "
            f"{typical[f'parts_{kind}_snapshot'] * 1000:.0f} ms snapshot + {typical[f'parts_{kind}_judge'] * 1000:.0f}"
            f" ms judging; recording adds {typical[f'parts_{kind}_history'] * 1000:.1f} ms history read + "
            f"{typical[f'parts_{kind}_judge_extra'] * 1000:.1f} ms judging with it + "
            f"{typical[f'parts_{kind}_record'] * 1000:.1f} ms record; the collector's full passes, mean a round: "
            f"{typical[f'parts_{kind}_passes_recording'] * 1000:.0f} ms inside the recording's parts, "
            f"{typical[f'parts_{kind}_passes_collect'] * 1000:.0f} ms inside the collect's"
        )
    ratios = sorted(r["cpu_recorded"] / r["cpu_plain"] - 1 for r in runs)
    middle = sorted(runs, key=lambda r: r["cpu_recorded"] / r["cpu_plain"])[len(runs) // 2]
    print(
        f"  in one process, two arms alternated ({args.processes} processes of {args.rounds} alternations): "
        f"{ratios[len(ratios) // 2] * 100:+.0f}% (each process: {', '.join(f'{r * 100:+.0f}%' for r in ratios)}); "
        f"{middle['cpu_plain'] * 1000:.0f} ms without recording, {middle['cpu_recorded'] * 1000:.0f} ms with; "
        f"wall {middle['wall_plain'] * 1000:.0f} / {middle['wall_recorded'] * 1000:.0f} ms"
    )
    cli = cli_recording_parts(args.cold_rounds, args.tenants, args.sandbox_size, args.history_days)
    for kind, what in (("new", "a new day"), ("again", "the same day again")):
        found = cli[kind]
        parts = ", ".join(
            f"{name} {found[name] * 1000:.0f}"
            for name in ("import", "open", "begin", "history", "judge_extra", "record", "extend", "close")
        )
        print(
            f"  backupbridge collect --sandbox, one fresh process each ({args.cold_rounds} runs), a store of "
            f"{args.history_days} daily collects, {what}, recording timed by its parts: {found['ratio'] * 100:+.1f}%; "
            f"the process {found['total'] * 1000:.0f} ms, of it recording (ms): {parts}"
        )


if __name__ == "__main__":
    main()
