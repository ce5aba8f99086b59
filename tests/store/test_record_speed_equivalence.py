"""``record_snapshot`` made cheaper records exactly what it recorded before.

The oracle below is a frozen copy of ``backupbridge.store.record`` as it was before the speed work (commit
92a4a30): the same sequence of snapshots (sandbox accounts, then hostile edits: renames and a rename back,
changed and duplicated jobs, failed listings, an account failed whole, None fields, a vendor clock gone
backwards, errors carrying secrets, a secret registered between two runs) is recorded with it and with the
current code, and every table must come out the same row for row. A store the old code wrote and the new code
goes on writing must come out the same too (nothing of it is rewritten wholesale or misread), and the digests
of known rows are pinned to the strings the old code stored.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from backupbridge.bridge import VERDICT_LISTINGS, AccountFailure, Bridge, Snapshot
from backupbridge.errors import AuthenticationError, ServerError, UnknownVendorError, ValidationError
from backupbridge.health import Assessment, HealthPolicy, assess
from backupbridge.models import Capability, Company, CompanyStatus, Device, Job, JobStatus, Plan
from backupbridge.redaction import Secret, redact
from backupbridge.store import Store, open_store, schema
from backupbridge.store.errors import StoreError
from backupbridge.store.record import LISTINGS, RunRecord, record_snapshot

from .conftest import POSTGRES_ENV

_NO_ANSWER = "the account neither answered nor failed this run: nothing of it was read"


# ---- the oracle: record.py before the speed work, verbatim but for its imports and record_snapshot's name ----


def _history_vendor(vendor: str) -> bool:
    """Whether the vendor's ``list_jobs`` is a history of runs (else: each device's or plan's last run)."""
    from backupbridge.plugins import get_vendor

    try:
        return Capability.JOB_HISTORY in get_vendor(vendor).capabilities
    except UnknownVendorError:
        return True


def job_key(job: Job, *, history: bool, device: Device | None = None) -> str:
    """The key a run is stored under, unique per (vendor, account).

    A vendor with a history of runs gives each run its own id: that id is the key. A vendor that shows only
    the last run reuses one id for every last run (IDrive 360: ``DEVICE:last``), so the run's time joins
    it and each newly seen last run becomes a new job. A last run with no time at all (IDrive 360 gives
    none for a failed one) is told apart by what it says: status, error and the device's last success;
    the same failure seen on two days is one failed run, not two.
    """
    if history:
        return job.id
    when = job.started_at or job.finished_at
    if when is not None:
        return f"{job.id}@{when.astimezone(dt.UTC).isoformat()}"
    last_success = device.last_backup_at.astimezone(dt.UTC).isoformat() if device and device.last_backup_at else ""
    said = "\x1f".join((job.status.value, job.vendor_status or "", job.error or "", last_success))
    return f"{job.id}@{job.status.value}:{hashlib.sha256(said.encode('utf-8')).hexdigest()[:16]}"


@functools.cache
def _upsert_statement(
    dialect: str, table: sa.Table, key: tuple[str, ...], keep: tuple[str, ...], newer: str | None
) -> Any:
    """``INSERT .. ON CONFLICT (key) DO UPDATE``, built once per table and dialect (building it costs more than
    running it for a small account)."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    update = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in (*key, *keep)}
    where = table.c[newer] <= statement.excluded[newer] if newer else None
    return statement.on_conflict_do_update(index_elements=list(key), set_=update, where=where)


def _upsert(
    conn: sa.Connection,
    store: Store,
    table: sa.Table,
    rows: Iterable[dict[str, Any]],
    key: Sequence[str],
    *,
    keep: Sequence[str] = (),
    newer: str | None = None,
) -> int:
    """Insert or update ``rows`` on ``key``; ``keep`` columns are never overwritten; with ``newer`` a row is
    only updated by one observed at least as late. Rows are deduplicated and sorted by key first: the same
    order in every writer means two writers wait for each other instead of deadlocking."""
    unique = {tuple(row[k] for k in key): row for row in rows}
    if not unique:
        return 0
    statement = _upsert_statement(store.dialect, table, tuple(key), tuple(keep), newer)
    ordered = [unique[k] for k in sorted(unique)]
    for start in range(0, len(ordered), 1000):
        conn.execute(statement, ordered[start : start + 1000])
    return len(ordered)


def _day(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return moment.astimezone(tz).date()


def _text(value: str | None) -> str | None:
    return redact(value) if value else value


@attrs.define
class _Account:
    vendor: str
    account: str
    companies: list[Company] = attrs.field(factory=list)
    devices: list[Device] = attrs.field(factory=list)
    plans: list[Plan] = attrs.field(factory=list)
    jobs: list[Job] = attrs.field(factory=list)
    failures: list[AccountFailure] = attrs.field(factory=list)


def _by_account(snapshot: Snapshot, accounts: Iterable[tuple[str, str]]) -> dict[tuple[str, str], _Account]:
    grouped: dict[tuple[str, str], _Account] = {}

    def slot(vendor: str, account: str) -> _Account:
        return grouped.setdefault((vendor, account), _Account(vendor, account))

    for key in [*accounts, *snapshot.clocks]:
        slot(*key)
    for failure in snapshot.failures:
        slot(failure.vendor, failure.account).failures.append(failure)
    for records, attr in (
        (snapshot.companies, "companies"),
        (snapshot.devices, "devices"),
        (snapshot.plans, "plans"),
        (snapshot.jobs, "jobs"),
    ):
        for record in records:
            getattr(slot(record.vendor, record.account), attr).append(record)
    return grouped


def old_record_snapshot(
    store: Store,
    snapshot: Snapshot,
    run_started: dt.datetime,
    *,
    run_finished: dt.datetime | None = None,
    assessment: Assessment | None = None,
    policy: HealthPolicy | None = None,
    accounts: Iterable[tuple[str, str]] = (),
    source: str = "collect",
) -> RunRecord:
    """Record one pass over the accounts: the run, then each account in its own transaction.

    Args:
        snapshot: what ``Bridge.snapshot()`` returned.
        run_started: when the pass began (aware).
        run_finished: when it ended (default: now).
        assessment: the health engine's verdicts for this snapshot (default: ``assess`` with ``policy`` and the
            store's history of these accounts, read before anything of this run is written).
        accounts: ``(vendor, account)`` pairs the run covered (an account that neither answered nor failed
            would otherwise go unrecorded); the snapshot's own accounts are always included.
        source: what made the run (``collect``, ``report``).

    Raises:
        StoreError: the store could not be written; accounts already committed stay recorded, the failing
            account's transaction is rolled back whole.
    """
    if run_started.tzinfo is None:
        raise ValidationError("run_started must be aware", field="run_started")
    accounts = list(accounts)
    if assessment is None:
        from backupbridge.store.history import health_history

        covered = {*accounts, *snapshot.clocks, *((f.vendor, f.account) for f in snapshot.failures)}
        assessment = assess(
            snapshot.devices,
            snapshot.plans,
            snapshot.jobs,
            now=snapshot.clocks,
            policy=policy,
            timezones=snapshot.timezones,
            incomplete=snapshot.incomplete,  # an account a listing failed for is not judged, never "no result"
            history=health_history(store, covered, now=snapshot.clocks, policy=policy),  # what the vendor forgot
        )
    with store.write("run") as conn:
        result = conn.execute(sa.insert(schema.runs).values(started_at=run_started, source=source))
        run_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    grouped = _by_account(snapshot, accounts)
    verdicts = _verdicts_by_account(assessment)
    totals = {"ok": 0, "failed": 0, "new_jobs": 0, "jobs": 0, "devices": 0, "plans": 0, "companies": 0}
    for key in sorted(grouped):
        part = grouped[key]
        work = functools.partial(
            _record_account,
            store=store,
            run_id=run_id,
            part=part,
            snapshot=snapshot,
            run_started=run_started,
            verdicts=verdicts.get(key, []),
        )
        counts = _with_retry(work, store, f"recording of account {key[0]}/{key[1]}")
        totals["failed" if part.failures or key not in snapshot.clocks else "ok"] += 1
        for name, value in counts.items():
            totals[name] += value
    finished = run_finished or dt.datetime.now(dt.UTC)
    with store.write("run") as conn:
        conn.execute(
            sa.update(schema.runs)
            .where(schema.runs.c.id == run_id)
            .values(finished_at=finished, accounts_ok=totals["ok"], accounts_failed=totals["failed"])
        )
    return RunRecord(
        run_id=run_id,
        started_at=run_started,
        finished_at=finished,
        accounts_ok=totals["ok"],
        accounts_failed=totals["failed"],
        new_jobs=totals["new_jobs"],
        jobs=totals["jobs"],
        devices=totals["devices"],
        plans=totals["plans"],
        companies=totals["companies"],
        failures=tuple(snapshot.failures),
    )


_TRANSIENT = ("40P01", "40001")  # PostgreSQL: deadlock detected, serialization failure


def _with_retry(work: Callable[[sa.Connection], dict[str, int]], store: Store, what: str) -> dict[str, int]:
    """Run one account's transaction; PostgreSQL may abort one of two writers that wait on each other
    (a deadlock): that transaction was rolled back whole, so it is simply run again (up to three times)."""
    for attempt in range(3):
        try:
            with store.write(what) as conn:
                return work(conn)
        except StoreError as exc:
            cause = exc.__cause__
            code = getattr(getattr(cause, "orig", None), "sqlstate", None)
            if attempt == 2 or code not in _TRANSIENT:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _verdicts_by_account(assessment: Assessment) -> dict[tuple[str, str], list[dict[str, Any]]]:
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for device in assessment.devices:
        rows.setdefault((device.vendor, device.account), []).append(
            {
                "kind": "device",
                "entity_id": device.device_id,
                "device_id": "",
                "company_id": device.company_id,
                "health": device.health.value,
                "reason": device.reason,
            }
        )
    for plan in assessment.plans:
        if plan.plan_id is None:
            continue
        rows.setdefault((plan.vendor, plan.account), []).append(
            {
                "kind": "plan",
                "entity_id": plan.plan_id,
                "device_id": plan.device_id or "",
                "company_id": plan.company_id,
                "health": plan.health.value,
                "reason": plan.reason,
            }
        )
    return rows


def _record_account(
    conn: sa.Connection,
    store: Store,
    run_id: int,
    part: _Account,
    snapshot: Snapshot,
    run_started: dt.datetime,
    verdicts: list[dict[str, Any]],
) -> dict[str, int]:
    key = (part.vendor, part.account)
    tz = snapshot.timezones.get(key, dt.UTC)
    seen = snapshot.clocks.get(key, run_started)
    day = _day(seen, tz)
    failed = {f.operation: f for f in part.failures}
    first = part.failures[0] if part.failures else None
    answered = key in snapshot.clocks
    # An account that neither answered nor failed (no listing was read) is no answer: never recorded as ok.
    silent = not answered and first is None
    conn.execute(
        sa.insert(schema.run_accounts).values(
            run_id=run_id,
            vendor=part.vendor,
            account=part.account,
            observed_at=seen,
            day=day,
            timezone=str(tz),
            ok=first is None and not silent,
            error_class=type(first.error).__name__ if first else ("NoAnswerError" if silent else None),
            error_message=_text(first.message) if first else (_NO_ANSWER if silent else None),
        )
    )
    supported = _supported(part.vendor)
    records: Mapping[str, Sequence[Any]] = {
        "list_companies": part.companies,
        "list_devices": part.devices,
        "list_plans": part.plans,
        "list_jobs": part.jobs,
    }
    listings = []
    for operation in sorted({*failed, *(op for op in LISTINGS if answered and op in supported)}):
        failure = failed.get(operation)
        listings.append(
            {
                "run_id": run_id,
                "vendor": part.vendor,
                "account": part.account,
                "operation": operation,
                "day": day,
                "ok": failure is None,
                "records": len(records[operation]) if failure is None and operation in records else None,
                "error_class": type(failure.error).__name__ if failure else None,
                "error_message": _text(failure.message) if failure else None,
            }
        )
    if listings:
        conn.execute(sa.insert(schema.run_listings), listings)
    ok = {op for op in LISTINGS if answered and op not in failed}
    counts = {"new_jobs": 0, "jobs": 0, "devices": 0, "plans": 0, "companies": 0}
    identity = {"vendor": part.vendor, "account": part.account}
    if "list_companies" in ok:
        counts["companies"] = _sync_entities(
            conn,
            store,
            schema.companies,
            "company",
            part,
            [{"id": c.id, "name": c.name, "parent_id": c.parent_id, "status": c.status.value} for c in part.companies],
            seen,
        )
    if "list_devices" in ok:
        counts["devices"] = _sync_entities(
            conn,
            store,
            schema.devices,
            "device",
            part,
            [
                {"id": d.id, "name": d.name, "company_id": d.company_id, "os": d.os.value, "status": d.status.value}
                for d in part.devices
            ],
            seen,
        )
    if "list_plans" in ok:
        counts["plans"] = _sync_entities(
            conn,
            store,
            schema.plans,
            "plan",
            part,
            [{"id": p.id, "name": p.name, "company_id": p.company_id, "enabled": p.enabled} for p in part.plans],
            seen,
        )
    if "list_jobs" in ok:
        counts["new_jobs"], counts["jobs"] = _record_jobs(conn, store, part, tz, day, seen)
    # Verdicts are recorded whenever the account was judged (a failed list_companies only names companies),
    # so the store never serves an earlier run's verdicts for this one.
    judged = answered and not any(f.operation in VERDICT_LISTINGS for f in part.failures)
    if verdicts and judged:
        table = schema.verdicts
        # A verdict already recorded today, unchanged, is left as it is (observed_at: when it was first given).
        recorded = {
            (row.kind, row.entity_id, row.device_id): (row.health, row.reason, row.company_id)
            for row in conn.execute(
                sa.select(
                    table.c.kind,
                    table.c.entity_id,
                    table.c.device_id,
                    table.c.health,
                    table.c.reason,
                    table.c.company_id,
                ).where(table.c.vendor == part.vendor, table.c.account == part.account, table.c.day == day)
            )
        }
        rows = []
        for verdict in verdicts:
            row = {**identity, **verdict, "day": day, "observed_at": seen, "reason": _text(verdict["reason"]) or ""}
            said = (row["health"], row["reason"], row["company_id"])
            if recorded.get((row["kind"], row["entity_id"], row["device_id"])) != said:
                rows.append(row)
        _upsert(
            conn,
            store,
            schema.verdicts,
            rows,
            ("vendor", "account", "kind", "entity_id", "device_id", "day"),
            # No ``newer``: the run recorded last is the latest (the order ``stored`` reads, by run id), even
            # when the vendor's clock went backwards between two runs.
        )
    return counts


def _supported(vendor: str) -> frozenset[Capability]:
    from backupbridge.plugins import get_vendor

    try:
        return frozenset(get_vendor(vendor).capabilities)
    except UnknownVendorError:
        return frozenset(Capability(op) for op in LISTINGS)


def _digest(row: Mapping[str, Any], columns: Iterable[str]) -> str:
    """A short fingerprint of what can change in a row: an unchanged row is not rewritten."""
    said = "\x1f".join("" if row[c] is None else str(row[c]) for c in columns)
    return hashlib.blake2b(said.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _sync_entities(
    conn: sa.Connection,
    store: Store,
    table: sa.Table,
    kind: str,
    part: _Account,
    rows: list[dict[str, Any]],
    seen: dt.datetime,
) -> int:
    """Upsert the companies, devices or plans of one account's listing.

    A new or changed entity is written whole; an unchanged one only has ``last_seen`` moved (one UPDATE per
    500). A new name (a new entity, or a rename) gets a row in ``entity_names``; the former name keeps when it
    was last seen.
    """
    identity = {"vendor": part.vendor, "account": part.account}
    unique = {row["id"]: row for row in rows}
    fields = [
        c.name for c in table.columns if c.name not in ("vendor", "account", "id", "digest", "first_seen", "last_seen")
    ]
    known = {
        row.id: row
        for row in conn.execute(
            sa.select(table.c.id, table.c.digest, table.c.name, table.c.last_seen).where(
                table.c.vendor == part.vendor, table.c.account == part.account
            )
        )
    }
    changed, unchanged, names, former = [], [], [], []
    for entity_id in sorted(unique):
        row = unique[entity_id]
        digest = _digest(row, fields)
        old = known.get(entity_id)
        if old is not None and old.digest == digest:
            unchanged.append(entity_id)
            continue
        changed.append({**identity, **row, "digest": digest, "first_seen": seen, "last_seen": seen})
        if old is None or old.name != row["name"]:
            names.append(
                {
                    "kind": kind,
                    **identity,
                    "entity_id": entity_id,
                    "name": row["name"],
                    "first_seen": seen,
                    "last_seen": seen,
                }
            )
        if old is not None and old.name != row["name"]:
            former.append({"former": old.name, "entity": entity_id, "when": old.last_seen})
    # ``last_seen`` is the time of the latest recorded listing that named the entity, even when the vendor's
    # clock went backwards: ``stored`` shows the entities whose ``last_seen`` is that latest listing's time.
    _upsert(conn, store, table, changed, ("vendor", "account", "id"), keep=("first_seen",))
    for chunk in _chunks(unchanged):
        conn.execute(
            sa.update(table)
            .where(table.c.vendor == part.vendor, table.c.account == part.account, table.c.id.in_(chunk))
            .where(table.c.last_seen != seen)
            .values(last_seen=seen)
        )
    names_table = schema.entity_names
    if former:
        conn.execute(
            sa.update(names_table)
            .where(
                names_table.c.kind == kind,
                names_table.c.vendor == part.vendor,
                names_table.c.account == part.account,
                names_table.c.entity_id == sa.bindparam("entity"),
                names_table.c.name == sa.bindparam("former"),
                names_table.c.last_seen < sa.bindparam("when"),
            )
            .values(last_seen=sa.bindparam("when")),
            former,
        )
    _upsert(
        conn,
        store,
        names_table,
        names,
        ("kind", "vendor", "account", "entity_id", "name"),
        keep=("first_seen",),
        newer="last_seen",
    )
    return len(unique)


_JOB_FIELDS = (
    "device_id",
    "plan_id",
    "company_id",
    "status",
    "vendor_status",
    "kind",
    "started_at",
    "finished_at",
    "size_bytes",
    "files",
    "error",
)


def _record_jobs(
    conn: sa.Connection, store: Store, part: _Account, tz: dt.tzinfo, day: dt.date, seen: dt.datetime
) -> tuple[int, int]:
    """Write the account's runs that are new or changed; returns (new, listed)."""
    history = _history_vendor(part.vendor)
    devices = {d.id: d for d in part.devices}
    rows: dict[str, dict[str, Any]] = {}
    for job in part.jobs:
        when = job.started_at or job.finished_at
        key = job_key(job, history=history, device=devices.get(job.device_id or ""))
        row: dict[str, Any] = {
            "vendor": part.vendor,
            "account": part.account,
            "job_key": key,
            "job_id": job.id,
            "device_id": job.device_id,
            "plan_id": job.plan_id,
            "company_id": job.company_id,
            "status": job.status.value,
            "vendor_status": job.vendor_status,
            "kind": job.kind.value,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "day": _day(when, tz) if when is not None else day,
            "size_bytes": job.size_bytes,
            "files": job.files,
            "error": _text(job.error),
            "first_seen": seen,
            "last_seen": seen,
        }
        row["digest"] = _digest(row, _JOB_FIELDS)
        rows[key] = row
    jobs = schema.jobs
    keys = sorted(rows)
    known: dict[str, str] = {}
    for chunk in _chunks(keys):
        for job_key_, digest in conn.execute(
            sa.select(jobs.c.job_key, jobs.c.digest).where(
                jobs.c.vendor == part.vendor, jobs.c.account == part.account, jobs.c.job_key.in_(chunk)
            )
        ):
            known[job_key_] = digest
    changed = [rows[k] for k in keys if known.get(k) != rows[k]["digest"]]
    # The day a run belongs to never moves once recorded (a last run without a time keeps the day first seen).
    _upsert(
        conn,
        store,
        jobs,
        changed,
        ("vendor", "account", "job_key"),
        keep=("first_seen", "day", "job_id"),
        newer="last_seen",
    )
    return sum(k not in known for k in keys), len(keys)


# ---- the sequence: sandbox accounts, then hostile edits ----------------------------------------------------

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
CF, IDR, MB, VP = (
    ("cleverfox", "sandbox-cleverfox"),
    ("idrive360", "sandbox-idrive360"),
    ("managedbackup", "sandbox-managedbackup"),
    ("vprotect", "sandbox-vprotect"),
)
TABLES = (
    schema.runs,
    schema.run_accounts,
    schema.run_listings,
    schema.companies,
    schema.devices,
    schema.plans,
    schema.entity_names,
    schema.jobs,
    schema.verdicts,
)


@functools.cache
def _sandbox() -> Snapshot:
    return Bridge.sandbox(size=8).snapshot()


def _of(records: Iterable[Any], key: tuple[str, str]) -> list[Any]:
    return [r for r in records if (r.vendor, r.account) == key]


def _without(records: Iterable[Any], *keys: tuple[str, str]) -> list[Any]:
    return [r for r in records if (r.vendor, r.account) not in keys]


def _at(base: Snapshot, delta: dt.timedelta, **changes: Any) -> Snapshot:
    clocks = {key: moment + delta for key, moment in base.clocks.items()}
    return attrs.evolve(base, **{"clocks": clocks, **changes})


def _edit_first(records: list[Any], key: tuple[str, str], index: int = 0, **changes: Any) -> list[Any]:
    mine = [i for i, r in enumerate(records) if (r.vendor, r.account) == key]
    out = list(records)
    out[mine[index]] = attrs.evolve(out[mine[index]], **changes)
    return out


@attrs.frozen
class Step:
    snapshot: Snapshot
    started: dt.datetime
    judged: bool = True  # False: record_snapshot judges itself, with the store's history
    accounts: tuple[tuple[str, str], ...] = ()

    def assessment(self) -> Assessment | None:
        s = self.snapshot
        if not self.judged:
            return None
        return assess(s.devices, s.plans, s.jobs, now=s.clocks, timezones=s.timezones, incomplete=s.incomplete)


def _steps() -> Iterator[Step]:
    """Each step is made when the one before it is recorded everywhere (secrets are registered on the way)."""
    base = _sandbox()
    unique = uuid.uuid4().hex[:10]
    told = f"told-{unique}-Q7"  # registered before the run that first sees it
    later = f"later-{unique}-Z9"  # stored unredacted first, registered two runs later
    yield Step(_at(base, dt.timedelta()), T0)
    yield Step(_at(base, dt.timedelta(hours=1)), T0 + dt.timedelta(hours=1))  # unchanged: last_seen moves

    Secret(told)
    devices = base.devices
    for key in (CF, IDR, MB, VP):
        devices = _edit_first(devices, key, name=f"{_of(devices, key)[0].name} (renamed)")
        devices = _edit_first(devices, key, 1, company_id=None)
    companies = _edit_first(base.companies, CF, name="Contoso renamed", parent_id=None)
    companies = _edit_first(companies, IDR, status=CompanyStatus.INACTIVE)
    plans = _edit_first(base.plans, CF, enabled=not _of(base.plans, CF)[0].enabled)
    plans = _edit_first(plans, VP, name="renamed plan")
    jobs = _without(base.jobs, MB)
    jobs = _edit_first(jobs, CF, status=JobStatus.FAILED, error=f"upload refused: token {told} rejected")
    duplicate = attrs.evolve(_of(jobs, CF)[1], status=JobStatus.WARNING, error=f"ref {later}")
    bare = Job(vendor=VP[0], account=VP[1], id="bare-1", status=JobStatus.UNKNOWN, error="")
    idr_jobs = _of(jobs, IDR)
    timed = next(i for i, j in enumerate(idr_jobs) if j.finished_at is not None)
    jobs = _edit_first(
        jobs, IDR, timed, status=JobStatus.FAILED, started_at=None, finished_at=None, error=f"no space ({later})"
    )
    failed_jobs = AccountFailure(
        vendor=MB[0],
        account=MB[1],
        operation="list_jobs",
        error=ServerError(f"HTTP 503: token {told} expired", status_code=503, vendor=MB[0]),
    )
    yield Step(
        _at(
            base,
            dt.timedelta(days=1),
            devices=devices,
            companies=companies,
            plans=plans,
            jobs=[*jobs, duplicate, bare],
            failures=[failed_jobs],
            timezones={**base.timezones, VP: __import__("zoneinfo").ZoneInfo("America/New_York")},
        ),
        T0 + dt.timedelta(days=1),
    )

    day2 = dt.timedelta(days=2, hours=1)
    whole = AccountFailure(
        vendor=VP[0],
        account=VP[1],
        operation="snapshot",
        error=AuthenticationError("login refused", status_code=401, vendor=VP[0]),
    )
    no_companies = AccountFailure(
        vendor=CF[0], account=CF[1], operation="list_companies", error=ServerError("HTTP 500", status_code=500)
    )
    third = _at(
        base,
        day2,
        devices=_without(devices, VP),
        companies=_without(companies, CF, VP),
        plans=_without(plans, VP),
        jobs=_without([*jobs, duplicate], VP),
        failures=[no_companies, whole],
    )
    third = attrs.evolve(third, clocks={k: v for k, v in third.clocks.items() if k != VP})
    yield Step(third, T0 + day2, accounts=((CF[0], "never-answered"),))

    back = {**third.clocks, IDR: third.clocks[IDR] - dt.timedelta(hours=3)}  # the vendor's clock went back
    renamed_back = _edit_first(third.devices, CF, name=_of(base.devices, CF)[0].name)
    yield Step(attrs.evolve(third, clocks=back, devices=renamed_back), T0 + day2 + dt.timedelta(hours=1), judged=False)

    Secret(later)  # now redacted from the stored errors that carried it: those runs are rewritten
    fifth = _at(base, dt.timedelta(days=3), jobs=[*jobs, duplicate, bare], devices=devices)
    yield Step(fifth, T0 + dt.timedelta(days=3))
    yield Step(fifth, T0 + dt.timedelta(days=3, minutes=5))  # the same listing at the same clock again


def _record(which: str, store: Store, step: Step) -> RunRecord:
    run = old_record_snapshot if which == "old" else record_snapshot
    return run(
        store,
        step.snapshot,
        step.started,
        run_finished=step.started + dt.timedelta(minutes=3),
        assessment=step.assessment(),
        accounts=step.accounts,
    )


def _dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.read() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]
            for table in TABLES
        }


@pytest.fixture(params=["sqlite", "postgresql"])
def new_store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Callable[[], Store]]:
    """Makes empty stores of one dialect (as conftest's ``store``, several per test)."""
    base = os.environ.get(POSTGRES_ENV) if request.param == "postgresql" else None
    if request.param == "postgresql" and not base:
        pytest.skip(f"PostgreSQL store tests need {POSTGRES_ENV} (.ci/run starts a server and sets it)")
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1)) if base else None
    opened: list[Store] = []
    schemas: list[str] = []

    def make() -> Store:
        if base is None or admin is None:
            url = f"sqlite:///{tmp_path / f'store-{len(opened)}.sqlite3'}"
        else:
            name = f"t_{uuid.uuid4().hex[:12]}"
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
            schemas.append(name)
            made = sa.engine.make_url(base).set(drivername="postgresql+psycopg")
            url = made.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)
        opened.append(open_store(url))
        return opened[-1]

    yield make
    for store in opened:
        store.close()
    if admin is not None:
        with admin.begin() as conn:
            for name in schemas:
                conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def test_the_new_recording_writes_every_table_as_the_old_one_did(new_store: Callable[[], Store]) -> None:
    old, new, upgraded = new_store(), new_store(), new_store()  # upgraded: the old code first, then the new
    for index, step in enumerate(_steps()):
        said = _record("old", old, step)
        assert _record("new", new, step) == said, f"step {index}"
        _record("old" if index < 3 else "new", upgraded, step)
        expected = _dump(old)
        assert _dump(new) == expected, f"step {index}"
        assert _dump(upgraded) == expected, f"step {index}"
    counts = {name: len(rows) for name, rows in expected.items()}
    assert all(counts.values()), counts  # every table was written
    stored = expected["jobs"]
    assert {row[1] for row in stored} >= {CF[1], IDR[1], VP[1]}
    assert not any("told-" in str(row) for rows in expected.values() for row in rows)  # known: never stored
    # Registered later: the runs listed since are rewritten redacted (earlier days' verdicts keep what they said).
    assert not any("later-" in str(row) for row in stored) and any("***" in str(row) for row in stored)


# The strings the old code stored for these rows (computed with ``_digest`` above, before the speed work):
# a store written then is read as unchanged now, not rewritten.
PINNED = {
    "jobs": "03cdfc1979d0d454,34646a93101bb84b",
    "devices": "528238ba9a817744,7f65626a6976fbf9",
    "companies": "57f245b1efa68be3,850c9ba69120c93e",
    "plans": "ba0fd98eb811e991,bea1e0dc5eb48032",
}


def _pinned_snapshot() -> Snapshot:
    vendor, account = "testvendor", "pinned"
    zone = __import__("zoneinfo").ZoneInfo("Europe/Berlin")
    started = dt.datetime(2026, 3, 29, 1, 59, 59, 123456, tzinfo=zone)
    return Snapshot(
        companies=[
            Company(vendor=vendor, account=account, id="c1", name="Ünïcode GmbH 🚀", parent_id=None),
            Company(vendor=vendor, account=account, id="c2", name="Child", parent_id="c1", status=CompanyStatus.ACTIVE),
        ],
        devices=[
            Device(vendor=vendor, account=account, id="d1", name="SRV-01", company_id="c1"),
            Device(vendor=vendor, account=account, id="d2", name="", company_id=None),
        ],
        plans=[
            Plan(vendor=vendor, account=account, id="p1", name="Nightly", company_id="c1", enabled=False),
            Plan(vendor=vendor, account=account, id="p2", name="Hourly", company_id=None),
        ],
        jobs=[
            Job(
                vendor=vendor,
                account=account,
                id="j1",
                device_id="d1",
                plan_id="p1",
                company_id="c1",
                status=JobStatus.FAILED,
                vendor_status="Error 0x80070005",
                started_at=started,
                finished_at=started + dt.timedelta(hours=2),
                size_bytes=0,
                files=12,
                error="access denied\n\tat C:\\data",
            ),
            Job(vendor=vendor, account=account, id="j2", size_bytes=2**40, error=""),
        ],
        clocks={(vendor, account): T0},
        timezones={(vendor, account): dt.UTC},
    )


def test_stored_digests_are_the_strings_the_old_code_stored(new_store: Callable[[], Store]) -> None:
    store = new_store()
    record_snapshot(store, _pinned_snapshot(), T0)
    found = {}
    with store.read() as conn:
        for name in PINNED:
            table = schema.metadata.tables[name]
            key = table.c.job_key if name == "jobs" else table.c.id
            found[name] = ",".join(conn.execute(sa.select(table.c.digest).order_by(key)).scalars())
    assert found == PINNED


def _big(now: dt.datetime, *, edited: bool) -> Snapshot:
    """One account past every 500-key chunk: 1,100 runs, 520 devices and plans (``edited``: every 130th changed,
    so in every chunk)."""
    changed = set(range(0, 1100, 130)) if edited else set()
    vendor, account = "testvendor", "big"
    devices = [
        Device(vendor=vendor, account=account, id=f"d{i:04}", name=f"SRV-{i}{'-new' if i in changed else ''}")
        for i in range(520)
    ]
    plans = [
        Plan(vendor=vendor, account=account, id=f"p{i:04}", name="Nightly", enabled=i not in changed)
        for i in range(520)
    ]
    jobs = [
        Job(
            vendor=vendor,
            account=account,
            id=f"j{i:05}",
            device_id=f"d{i % 520:04}",
            status=JobStatus.FAILED if i in changed else JobStatus.SUCCESS,
            started_at=T0 - dt.timedelta(hours=i),
            size_bytes=i,
        )
        for i in range(1100)
    ]
    return Snapshot(
        devices=devices,
        plans=plans,
        jobs=jobs,
        companies=[Company(vendor=vendor, account=account, id="c1", name="Contoso")],
        clocks={(vendor, account): now},
        timezones={(vendor, account): dt.UTC},
    )


def test_accounts_past_a_chunk_of_keys_are_recorded_as_before(new_store: Callable[[], Store]) -> None:
    old, new = new_store(), new_store()
    for index, (snapshot, started) in enumerate(
        [
            (_big(T0, edited=False), T0),
            (_big(T0 + dt.timedelta(hours=1), edited=False), T0 + dt.timedelta(hours=1)),  # all unchanged: touched
            (_big(T0 + dt.timedelta(hours=2), edited=True), T0 + dt.timedelta(hours=2)),  # some of each in each chunk
        ]
    ):
        step = Step(snapshot, started)
        assert _record("new", new, step) == _record("old", old, step), f"step {index}"
        assert _dump(new) == _dump(old), f"step {index}"
    with new.read() as conn:
        touched = conn.execute(
            sa.select(sa.func.count()).where(schema.devices.c.last_seen == T0 + dt.timedelta(hours=2))
        )
        assert touched.scalar_one() == 520


def test_an_account_pair_given_as_a_list_is_recorded_as_before(new_store: Callable[[], Store]) -> None:
    old, new = new_store(), new_store()
    snapshot = _pinned_snapshot()
    pairs: Any = [["testvendor", "pinned"], ["testvendor", "silent"]]  # a list read from JSON or TOML, not a tuple
    judged = Step(snapshot, T0).assessment()
    assert record_snapshot(new, snapshot, T0, run_finished=T0, assessment=judged, accounts=pairs) == (
        old_record_snapshot(old, snapshot, T0, run_finished=T0, assessment=judged, accounts=pairs)
    )
    assert _dump(new) == _dump(old)
