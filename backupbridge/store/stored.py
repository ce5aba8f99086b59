"""The store's last run of each account, as a ``Snapshot`` and the ``Assessment`` recorded with it.

``report --from-store`` reports from this: no vendor request. What it holds, per account (its latest run in
the ``run_accounts`` table, whichever collector wrote it: one ``collect --shard K/N`` per machine fills one
store, and one report covers it all):

- the failures of that run (each failed listing with its typed error's class and message);
- the companies, devices and plans of that account's latest listing that answered (latest by run id; its
  ``last_seen`` is that listing's time), with what the store keeps of them (names, company, OS, status,
  enabled; not schedules);
- the runs of the last ``policy.window`` before that run, as recorded;
- the verdicts recorded for the account's latest judged day: health and reason exactly as the collector
  judged them (its policy), so the report shows what was seen then. An account whose latest run failed one
  of the listings health is built from is not judged, as in a live report; so is one whose latest run has
  no verdicts of its own in the store (a ``verdicts`` failure row): never an earlier run's verdicts.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from ..bridge import VERDICT_LISTINGS, AccountFailure, Snapshot
from ..errors import BackupBridgeError
from ..health import Assessment, DeviceHealth, Health, HealthPolicy, PlanHealth, not_judged_reason
from ..models import (
    Company,
    CompanyStatus,
    Device,
    DeviceStatus,
    Job,
    JobKind,
    JobStatus,
    OSFamily,
    Plan,
)
from . import schema
from .engine import Store

__all__ = ["NothingStoredError", "RecordedError", "stored_run_ids", "stored_snapshot"]


class NothingStoredError(BackupBridgeError):
    """The store holds no run of the accounts asked for: nothing to report from (never an empty "all is well")."""


class RecordedError(BackupBridgeError):
    """A failure as the store recorded it: the original error's class name (``error_class``) and message.

    ``type(error).__name__`` is the original class's name (``AuthenticationError``...), so a report from the
    store names the error as the live report did."""

    error_class = "BackupBridgeError"


@functools.cache
def _error_type(name: str) -> type[RecordedError]:
    cleaned = name if name.isidentifier() else "BackupBridgeError"
    return type(cleaned, (RecordedError,), {"error_class": cleaned, "__module__": __name__})


def _recorded_error(name: str | None, message: str | None) -> RecordedError:
    return _error_type(name or "BackupBridgeError")(message or "failed (no message recorded)")


def _zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return dt.UTC


def _enum(kind: Any, value: str | None, default: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return default


_LISTING_OF = {"list_companies": "companies", "list_devices": "devices", "list_plans": "plans"}


def stored_snapshot(
    store: Store,
    *,
    policy: HealthPolicy | None = None,
    vendors: Iterable[str] = (),
    accounts: Iterable[str] = (),
    expected: Iterable[tuple[str, str]] | None = None,
    stale_before: dt.datetime | None = None,
) -> tuple[Snapshot, Assessment]:
    """Every account's latest recorded run, as the report reads it (see the module doc); only the accounts of
    ``vendors`` and named in ``accounts`` when those are given.

    ``expected``: the ``(vendor, account)`` pairs the report covers (the configured or sandbox accounts): only
    those are read, and each one the store holds no run of is a failure (``snapshot``: "never collected"),
    never silently absent. Without it, an ``accounts`` name no stored account of ``vendors`` has is such a
    failure too.

    ``stale_before``: an account whose latest run was observed before this is not judged (a ``stale`` failure
    naming when it was collected): old data is never an all-clear.

    Raises:
        NothingStoredError: the store holds no run (of those vendors and accounts), and ``expected`` is None.
        StoreError: the store cannot be read.
    """
    policy = policy or HealthPolicy()
    with store.read() as conn:
        wanted_vendors, wanted_accounts = set(vendors), set(accounts)
        runs = _latest_runs(conn)
        if expected is not None:
            pairs = sorted(set(expected))
            latest = {key: runs[key] for key in pairs if key in runs}
            never = [key for key in pairs if key not in runs]
        else:
            latest = {
                key: row
                for key, row in runs.items()
                if (not wanted_vendors or key[0] in wanted_vendors)
                and (not wanted_accounts or key[1] in wanted_accounts)
            }
            named = {account for _, account in latest}
            vendor = next(iter(wanted_vendors)) if len(wanted_vendors) == 1 else "unknown"
            never = [(vendor, name) for name in sorted(wanted_accounts - named)] if latest else []
        if not latest and expected is None:
            chosen = ", ".join(
                part
                for part in (
                    f"vendor {', '.join(sorted(wanted_vendors))}" if wanted_vendors else "",
                    f"account {', '.join(sorted(wanted_accounts))}" if wanted_accounts else "",
                )
                if part
            )
            of = f" of {chosen}" if chosen else ""
            raise NothingStoredError(
                f"the store {store.url} holds no run{of} yet: run 'backupbridge collect' (or a report without "
                "--from-store) first"
            )
        snapshot = Snapshot()
        devices_out: list[DeviceHealth] = []
        plans_out: list[PlanHealth] = []
        incomplete: dict[tuple[str, str], tuple[str, ...]] = {}
        for (vendor, account), row in sorted(latest.items()):
            part = _account(conn, vendor, account, row, policy, stale_before)
            snapshot.companies.extend(part["companies"])
            snapshot.devices.extend(part["devices"])
            snapshot.plans.extend(part["plans"])
            snapshot.jobs.extend(part["jobs"])
            snapshot.failures.extend(part["failures"])
            if part["answered"]:
                snapshot.clocks[(vendor, account)] = row.observed_at
                snapshot.timezones[(vendor, account)] = _zone(row.timezone)
            devices_out.extend(part["device_health"])
            plans_out.extend(part["plan_health"])
        for vendor, account in never:
            snapshot.failures.append(
                AccountFailure(
                    vendor=vendor,
                    account=account,
                    operation="snapshot",
                    error=_recorded_error(
                        "NeverCollectedError",
                        f"never collected: the store {store.url} holds no run of this account",
                    ),
                )
            )
        incomplete = snapshot.incomplete
        for failure in snapshot.failures:
            if failure.operation in ("verdicts", "stale"):  # no verdicts of its own, or too old to judge from
                key = (failure.vendor, failure.account)
                incomplete[key] = (*incomplete.get(key, ()), failure.operation)
    return snapshot, Assessment(plans=tuple(plans_out), devices=tuple(devices_out), incomplete=incomplete)


def stored_run_ids(store: Store, clocks: Mapping[tuple[str, str], dt.datetime]) -> dict[tuple[str, str], int]:
    """The run each account of a ``stored_snapshot`` was read from: its latest run observed at its clock
    (``snapshot.clocks``), for the alert pass over it (``reconcile_alerts(..., run_id=...)``).

    Raises:
        StoreError: the store cannot be read.
    """
    ra = schema.run_accounts
    found: dict[tuple[str, str], int] = {}
    with store.read() as conn:
        for vendor in sorted({vendor for vendor, _ in clocks}):
            moments = sorted({at for (v, _), at in clocks.items() if v == vendor})
            query = sa.select(ra.c.account, ra.c.observed_at, ra.c.run_id).where(
                ra.c.vendor == vendor, ra.c.observed_at.in_(moments)
            )
            for account, observed, run_id in conn.execute(query):
                key = (vendor, account)
                if clocks.get(key) == observed:
                    found[key] = max(run_id, found.get(key, run_id))
    return found


def _latest_runs(conn: sa.Connection) -> dict[tuple[str, str], Any]:
    ra = schema.run_accounts
    last = (
        sa.select(ra.c.vendor, ra.c.account, sa.func.max(ra.c.run_id).label("run_id"))
        .group_by(ra.c.vendor, ra.c.account)
        .subquery()
    )
    query = sa.select(ra).join(
        last, sa.and_(ra.c.vendor == last.c.vendor, ra.c.account == last.c.account, ra.c.run_id == last.c.run_id)
    )
    return {(row.vendor, row.account): row for row in conn.execute(query)}


def _listed_since(conn: sa.Connection, vendor: str, account: str) -> dict[str, tuple[dt.datetime, int]]:
    """operation -> when that account's latest answered listing of it (the latest by run id, the order runs
    were recorded in, not by the vendor's clock, which may have gone backwards) was observed, and how many
    records it had."""
    rl, ra = schema.run_listings, schema.run_accounts
    last = (
        sa.select(rl.c.operation, sa.func.max(rl.c.run_id).label("run_id"))
        .where(rl.c.vendor == vendor, rl.c.account == account, rl.c.ok.is_(True))
        .group_by(rl.c.operation)
        .subquery()
    )
    query = (
        sa.select(last.c.operation, ra.c.observed_at, rl.c.records)
        .join(ra, sa.and_(ra.c.run_id == last.c.run_id, ra.c.vendor == vendor, ra.c.account == account))
        .join(
            rl,
            sa.and_(
                rl.c.run_id == last.c.run_id,
                rl.c.vendor == vendor,
                rl.c.account == account,
                rl.c.operation == last.c.operation,
            ),
        )
    )
    found: dict[str, tuple[dt.datetime, int]] = {}
    for operation, when, records in conn.execute(query):
        if when is not None:
            found[operation] = (when if when.tzinfo else when.replace(tzinfo=dt.UTC), records or 0)
    return found


def _account(
    conn: sa.Connection, vendor: str, account: str, run: Any, policy: HealthPolicy, stale_before: dt.datetime | None
) -> dict[str, Any]:
    rl = schema.run_listings
    listings = list(
        conn.execute(sa.select(rl).where(rl.c.run_id == run.run_id, rl.c.vendor == vendor, rl.c.account == account))
    )
    failures = [
        AccountFailure(
            vendor=vendor,
            account=account,
            operation=listing.operation,
            error=_recorded_error(listing.error_class, listing.error_message),
        )
        for listing in sorted(listings, key=lambda item: item.operation)
        if not listing.ok
    ]
    answered = any(listing.ok for listing in listings) or (run.ok and not listings)
    if not run.ok and not failures:  # the account failed as a whole (no listing answered)
        failures.append(
            AccountFailure(
                vendor=vendor,
                account=account,
                operation="snapshot",
                error=_recorded_error(run.error_class, run.error_message),
            )
        )
        answered = False
    observed = run.observed_at if run.observed_at.tzinfo else run.observed_at.replace(tzinfo=dt.UTC)
    stale = answered and stale_before is not None and observed < stale_before
    if stale:
        failures.append(
            AccountFailure(
                vendor=vendor,
                account=account,
                operation="stale",
                error=_recorded_error(
                    "StaleRunError",
                    f"the latest stored run was collected {observed.astimezone(dt.UTC):%Y-%m-%d %H:%MZ}, older "
                    "than the limit: not judged from it",
                ),
            )
        )
    since = _listed_since(conn, vendor, account)
    entities: dict[str, list[Any]] = {}
    for operation, table_name in _LISTING_OF.items():
        table = schema.metadata.tables[table_name]
        seen, listed = since.get(operation, (None, 0))
        rows = (
            []
            if seen is None
            else list(
                conn.execute(
                    sa.select(table)
                    # What that listing named: recording sets last_seen to the latest listing's time.
                    .where(table.c.vendor == vendor, table.c.account == account, table.c.last_seen == seen)
                    .order_by(table.c.id)
                )
            )
        )
        if listed and not rows and operation not in {f.operation for f in failures}:
            # Two collectors recorded this account at once, the older run last: never an empty account.
            failures.append(
                AccountFailure(
                    vendor=vendor,
                    account=account,
                    operation=operation,
                    error=_recorded_error(
                        "StoreMismatchError",
                        f"the store holds none of the {listed} records of the latest {operation} (another "
                        "collector recorded this account at the same time?); record a new run",
                    ),
                )
            )
        entities[table_name] = rows
    jobs = _jobs(conn, vendor, account, run.observed_at, policy.window)
    verdicts = _verdicts(conn, vendor, account, run.day)
    plan_devices: dict[str, list[str]] = {}
    for verdict in verdicts:
        if verdict.kind == "plan" and verdict.device_id:
            plan_devices.setdefault(verdict.entity_id, []).append(verdict.device_id)
    good = _good(policy)
    successes = {**_stored_successes(conn, vendor, account, good), **_last_success(jobs, good)}
    companies = [
        Company(
            vendor=vendor,
            account=account,
            id=row.id,
            name=row.name,
            parent_id=row.parent_id,
            status=_enum(CompanyStatus, row.status, CompanyStatus.UNKNOWN),
        )
        for row in entities["companies"]
    ]
    devices = [
        Device(
            vendor=vendor,
            account=account,
            id=row.id,
            name=row.name,
            company_id=row.company_id,
            os=_enum(OSFamily, row.os, OSFamily.UNKNOWN),
            status=_enum(DeviceStatus, row.status, DeviceStatus.UNKNOWN),
            last_backup_at=successes.get((row.id, None)),
        )
        for row in entities["devices"]
    ]
    plans = [
        Plan(
            vendor=vendor,
            account=account,
            id=row.id,
            name=row.name,
            company_id=row.company_id,
            device_ids=tuple(sorted(set(plan_devices.get(row.id, ())))),
            enabled=bool(row.enabled),
        )
        for row in entities["plans"]
    ]
    judged = answered and not stale and not any(f.operation in VERDICT_LISTINGS for f in failures)
    if judged and not verdicts and (devices or plans):
        # The latest run was judged but its verdicts are not in the store (a store recorded before verdicts
        # were kept for every judged run): never another run's verdicts, the account is not judged.
        failures.append(
            AccountFailure(
                vendor=vendor,
                account=account,
                operation="verdicts",
                error=_recorded_error(
                    "NoVerdictsError", f"no verdicts were recorded for the latest run ({run.day.isoformat()})"
                ),
            )
        )
        judged = False
    device_health, plan_health = _health(
        vendor, account, devices, plans, jobs, verdicts, judged, [f.operation for f in failures], successes
    )
    return {
        "companies": companies,
        "devices": devices,
        "plans": plans,
        "jobs": jobs,
        "failures": failures,
        "answered": answered,
        "device_health": device_health,
        "plan_health": plan_health,
    }


def _jobs(conn: sa.Connection, vendor: str, account: str, observed: dt.datetime, window: dt.timedelta) -> list[Job]:
    jobs = schema.jobs
    start = (observed - window - dt.timedelta(days=1)).date()
    rows = conn.execute(
        sa.select(jobs)
        .where(jobs.c.vendor == vendor, jobs.c.account == account, jobs.c.day >= start)
        .order_by(jobs.c.day, jobs.c.job_key)
    )
    return [
        Job(
            vendor=vendor,
            account=account,
            id=row.job_id,
            device_id=row.device_id,
            plan_id=row.plan_id,
            company_id=row.company_id,
            status=_enum(JobStatus, row.status, JobStatus.UNKNOWN),
            vendor_status=row.vendor_status,
            kind=_enum(JobKind, row.kind, JobKind.UNKNOWN),
            started_at=row.started_at,
            finished_at=row.finished_at,
            size_bytes=row.size_bytes,
            files=row.files,
            error=row.error,
        )
        for row in rows
    ]


def _verdicts(conn: sa.Connection, vendor: str, account: str, day: dt.date) -> list[Any]:
    """The verdicts recorded on ``day``, the latest run's day (never an earlier day's: an earlier run's
    verdicts are not this run's health)."""
    verdicts = schema.verdicts
    return list(
        conn.execute(
            sa.select(verdicts)
            .where(verdicts.c.vendor == vendor, verdicts.c.account == account, verdicts.c.day == day)
            .order_by(verdicts.c.kind, verdicts.c.entity_id, verdicts.c.device_id)
        )
    )


def _when(job: Job) -> dt.datetime | None:
    return job.finished_at or job.started_at


def _good(policy: HealthPolicy) -> tuple[JobStatus, ...]:
    return (JobStatus.SUCCESS, JobStatus.WARNING) if policy.treat_warning_as_success else (JobStatus.SUCCESS,)


def _last_success(jobs: Iterable[Job], good: tuple[JobStatus, ...]) -> dict[tuple[str | None, str | None], dt.datetime]:
    """(device, plan) and (device, None) -> the latest successful run's time."""
    found: dict[tuple[str | None, str | None], dt.datetime] = {}
    for job in jobs:
        when = _when(job)
        if when is None or job.status not in good:
            continue
        for key in ((job.device_id, job.plan_id), (job.device_id, None)):
            if key not in found or found[key] < when:
                found[key] = when
    return found


def _stored_successes(
    conn: sa.Connection, vendor: str, account: str, good: tuple[JobStatus, ...]
) -> dict[tuple[str | None, str | None], dt.datetime]:
    """(device, plan) and (device, None) -> the latest successful run the store holds, however old."""
    jobs = schema.jobs
    when = sa.func.max(sa.func.coalesce(jobs.c.finished_at, jobs.c.started_at))
    found: dict[tuple[str | None, str | None], dt.datetime] = {}
    query = (
        sa.select(jobs.c.device_id, jobs.c.plan_id, when)
        .where(
            jobs.c.vendor == vendor,
            jobs.c.account == account,
            jobs.c.status.in_([status.value for status in good]),
        )
        .group_by(jobs.c.device_id, jobs.c.plan_id)
    )
    for device_id, plan_id, latest in conn.execute(query):
        if latest is None:
            continue
        if isinstance(latest, str):  # SQLite hands an aggregate back as text
            latest = dt.datetime.fromisoformat(latest)
        latest = latest if latest.tzinfo else latest.replace(tzinfo=dt.UTC)
        found[(device_id, plan_id)] = latest
        if (device_id, None) not in found or found[(device_id, None)] < latest:
            found[(device_id, None)] = latest
    return found


def _last_run(jobs: Iterable[Job]) -> dict[tuple[str | None, str | None], Job]:
    found: dict[tuple[str | None, str | None], Job] = {}
    for job in jobs:
        when = _when(job)
        if when is None:
            continue
        key = (job.device_id, job.plan_id)
        current = found.get(key)
        if current is None or (_when(current) or when) < when:
            found[key] = job
    return found


def _health(
    vendor: str,
    account: str,
    devices: list[Device],
    plans: list[Plan],
    jobs: list[Job],
    verdicts: list[Any],
    judged: bool,
    failed: list[str],
    successes: Mapping[tuple[str | None, str | None], dt.datetime],
) -> tuple[list[DeviceHealth], list[PlanHealth]]:
    last_runs = _last_run(jobs)
    names: Mapping[str, Plan] = {p.id: p for p in plans}
    if not judged:
        reason = (
            "not judged: the stored run is older than the limit"
            if "stale" in failed
            else not_judged_reason(op for op in failed if op != "list_companies")
        )
        plan_health = [
            PlanHealth(
                vendor=vendor,
                account=account,
                company_id=p.company_id,
                device_id=device_id,
                plan_id=p.id,
                plan_name=p.name,
                health=Health.UNKNOWN,
                reason=reason,
            )
            for p in plans
            for device_id in (p.device_ids or (None,))
        ]
        device_health = [
            DeviceHealth(
                vendor=vendor,
                account=account,
                company_id=d.company_id,
                device_id=d.id,
                device_name=d.name,
                health=Health.UNKNOWN,
                reason=reason,
                last_success_at=d.last_backup_at,
                plans=tuple(ph for ph in plan_health if ph.device_id == d.id),
            )
            for d in devices
        ]
        return device_health, plan_health
    plan_health = []
    for verdict in verdicts:
        if verdict.kind != "plan" or verdict.entity_id not in names:
            continue
        plan = names[verdict.entity_id]
        device_id = verdict.device_id or None
        last = last_runs.get((device_id, plan.id))
        plan_health.append(
            PlanHealth(
                vendor=vendor,
                account=account,
                company_id=verdict.company_id,
                device_id=device_id,
                plan_id=plan.id,
                plan_name=plan.name,
                health=_enum(Health, verdict.health, Health.UNKNOWN),
                reason=verdict.reason,
                last_run_at=_when(last) if last else None,
                last_status=last.status if last else None,
                last_success_at=successes.get((device_id, plan.id)),
            )
        )
    by_device = {v.entity_id: v for v in verdicts if v.kind == "device"}
    device_health = []
    for device in devices:
        verdict = by_device.get(device.id)
        device_health.append(
            DeviceHealth(
                vendor=vendor,
                account=account,
                company_id=device.company_id,
                device_id=device.id,
                device_name=device.name,
                health=_enum(Health, verdict.health, Health.UNKNOWN) if verdict else Health.UNKNOWN,
                reason=verdict.reason if verdict else "no verdict recorded",
                last_success_at=device.last_backup_at,
                plans=tuple(ph for ph in plan_health if ph.device_id == device.id),
            )
        )
    return device_health, plan_health
