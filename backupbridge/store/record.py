"""What a run records: ``record_snapshot(store, snapshot, run_started)``.

One transaction per account, so a run killed midway leaves every account either fully recorded or not at
all (the next run records it). Everything is an upsert on the natural key, so two collectors writing the
same accounts at once leave one row per thing, never two.

A failed listing is recorded as failed (``run_listings``), with its typed error; the records of a failed
listing are not written. An account is judged, and its verdicts recorded, when it answered and none of the
listings health is built from failed (``bridge.VERDICT_LISTINGS``: a failed ``list_companies`` alone still
judges it); health is never judged from a failure. An account that neither answered nor failed is recorded as
failed (``NoAnswerError``), never as ok. The run recorded last is the latest: its verdicts and its listings'
``last_seen`` replace the earlier ones even when the vendor's clock went backwards between the two runs.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from ..bridge import VERDICT_LISTINGS, AccountFailure, Snapshot
from ..errors import UnknownVendorError, ValidationError
from ..health import Assessment, HealthPolicy, assess_snapshot, untimed_run_key
from ..models import Capability, Company, Device, Job, Plan
from ..redaction import redact
from . import schema
from .engine import Store
from .errors import StoreError

__all__ = ["LISTINGS", "RunRecord", "begin_run", "in_shard", "job_key", "parse_shard", "record_snapshot"]

LISTINGS = ("list_companies", "list_devices", "list_plans", "list_jobs")
_NO_ANSWER = "the account neither answered nor failed this run: nothing of it was read"


@attrs.frozen(kw_only=True)
class RunRecord:
    """What ``record_snapshot`` wrote.

    Attributes:
        run_id: the run's id in the store.
        accounts_ok / accounts_failed: accounts whose every listing answered / that had a failure or no answer.
        new_jobs: runs of backups the store had not seen before.
        jobs, devices, plans, companies: records written (new or updated).
        failures: the failed listings, as the snapshot had them.
    """

    run_id: int
    started_at: dt.datetime
    finished_at: dt.datetime
    accounts_ok: int
    accounts_failed: int
    new_jobs: int
    jobs: int
    devices: int
    plans: int
    companies: int
    failures: tuple[AccountFailure, ...] = ()


def parse_shard(value: str) -> tuple[int, int]:
    """``"K/N"`` (1 <= K <= N) as ``(K, N)``.

    Raises:
        ValidationError: not of that form.
    """
    k, sep, n = value.partition("/")
    try:
        shard, total = int(k), int(n)
    except ValueError:
        shard, total = 0, 0
    if not sep or total < 1 or not 1 <= shard <= total:
        raise ValidationError(f"a shard is K/N with 1 <= K <= N, like 2/3 (got {value!r})", field="shard")
    return shard, total


def in_shard(account: str, shard: int, total: int) -> bool:
    """Whether ``account`` belongs to shard ``shard`` of ``total``: stable across machines and Python runs
    (CRC-32 of the account name, not ``hash()``, which is salted per process)."""
    return zlib.crc32(account.encode("utf-8")) % total == shard - 1


def _history_vendor(vendor: str) -> bool:
    """Whether the vendor's ``list_jobs`` is a history of runs (else: each device's or plan's last run)."""
    from ..plugins import get_vendor

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
    return untimed_run_key(job, device)


@functools.cache
def _upsert_statement(
    dialect: str, table: sa.Table, key: tuple[str, ...], keep: tuple[str, ...], newer: str | None
) -> Any:
    """``INSERT .. ON CONFLICT (key) DO UPDATE``, built once per table and dialect (building it costs more than
    running it for a small account). Only the dialect in use is imported (PostgreSQL's costs ~40 ms)."""
    statement = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert(table)
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


# The statements of a recording, built once (building a statement costs more than running it for a small
# account); every value is a bound parameter.


def _account_of(table: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.vendor == sa.bindparam("b_vendor"), table.c.account == sa.bindparam("b_account"))


@functools.cache
def _insert(table: sa.Table) -> sa.Insert:
    return sa.insert(table)


@functools.cache
def _former_names() -> sa.Update:
    """A renamed entity's former name keeps when it was last seen."""
    names = schema.entity_names
    return (
        sa.update(names)
        .where(
            names.c.kind == sa.bindparam("b_kind"),
            _account_of(names),
            names.c.entity_id == sa.bindparam("b_entity"),
            names.c.name == sa.bindparam("b_former"),
            names.c.last_seen < sa.bindparam("b_when", type_=schema.UTCDateTime()),
        )
        .values(last_seen=sa.bindparam("b_when", type_=schema.UTCDateTime()))
    )


class _Reads:
    """The reads and the ``last_seen`` touch a recording runs for every account, in the driver's own SQL.

    They run once per account and table on every collect, so SQLAlchemy's work per statement (compiling on
    the first call of a process, expanding an ``IN`` of hundreds of keys, processing each row) costs more than
    the database does: the SQL is fixed text, a list of keys is one array on PostgreSQL (``= ANY``, one
    parameter: one plan whatever the count) and plain placeholders on SQLite (no JSON1 needed). Values are
    bound and read with the columns' own types, so they are the same as through SQLAlchemy, and errors still
    leave as ``DBAPIError`` (``Store`` turns them into ``StoreError``).
    """

    def __init__(self, dialect: sa.Dialect) -> None:
        self.postgresql = dialect.name == "postgresql"
        self.mark = "%s" if self.postgresql else "?"
        self.bind_time = _processor(schema.UTCDateTime(), dialect, "bind")
        self.read_time = _processor(schema.UTCDateTime(), dialect, "result")
        self.bind_day = _processor(sa.Date(), dialect, "bind")

    def among(self, column: str, values: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
        """``column`` is one of ``values`` (at most 500, see ``_chunks``: old SQLite builds allow 999 parameters)."""
        if self.postgresql:
            return f"{column} = ANY({self.mark})", (list(values),)
        return f"{column} IN ({', '.join('?' * len(values))})", tuple(values)

    def known_entities(
        self, conn: sa.Connection, tables: Sequence[sa.Table], vendor: str, account: str
    ) -> dict[str, list[Any]]:
        """Table name -> ``(id, digest, name, last_seen as stored)`` of every entity of the account in each of
        ``tables`` (``seen`` reads the time), in one statement."""
        found: dict[str, list[Any]] = {table.name: [] for table in tables}
        if not tables:
            return found
        m = self.mark
        sql = " UNION ALL ".join(
            f"SELECT '{table.name}', id, digest, name, last_seen FROM {table.name} WHERE vendor = {m} AND account = {m}"
            for table in tables
        )
        for row in conn.exec_driver_sql(sql, (vendor, account) * len(tables)).all():
            found[row[0]].append(row[1:])
        return found

    def seen(self, stored: Any) -> dt.datetime:
        return self.read_time(stored) if self.read_time else stored  # type: ignore[no-any-return]

    def touch(
        self, conn: sa.Connection, table: sa.Table, vendor: str, account: str, ids: Sequence[str], seen: dt.datetime
    ) -> None:
        """``last_seen`` of the listed entities ``ids`` moved to ``seen`` (those not already there)."""
        m = self.mark
        among, values = self.among("id", ids)
        when = self.bind_time(seen) if self.bind_time else seen
        sql = (
            f"UPDATE {table.name} SET last_seen = {m} "
            f"WHERE vendor = {m} AND account = {m} AND {among} AND last_seen <> {m}"
        )
        conn.exec_driver_sql(sql, (when, vendor, account, *values, when))

    def known_jobs(self, conn: sa.Connection, vendor: str, account: str, keys: Sequence[str]) -> list[Any]:
        """``(job_key, digest)`` of those of ``keys`` the store has."""
        m = self.mark
        among, values = self.among("job_key", keys)
        sql = f"SELECT job_key, digest FROM {schema.jobs.name} WHERE vendor = {m} AND account = {m} AND {among}"
        return list(conn.exec_driver_sql(sql, (vendor, account, *values)).all())

    def later(self, conn: sa.Connection, vendor: str, account: str, run_id: int) -> _Later:
        """What runs begun after ``run_id`` recorded of the account: the runs after it (a range of the runs'
        ids: those begun since, a handful), then each one's listings of the account by key. ``CROSS JOIN``
        keeps SQLite in that order (a plain join may walk the account's whole listing history instead)."""
        m = self.mark
        sql = (
            "SELECT rl.run_id, rl.day, rl.operation, rl.ok FROM runs r CROSS JOIN run_listings rl "
            f"WHERE r.id > {m} AND rl.run_id = r.id AND rl.vendor = {m} AND rl.account = {m}"
        )
        return _later(conn.exec_driver_sql(sql, (run_id, vendor, account)).all())

    def verdicts(self, conn: sa.Connection, vendor: str, account: str, day: dt.date) -> list[Any]:
        """``(kind, entity_id, device_id, health, reason, company_id)`` of the account's verdicts of ``day``."""
        m = self.mark
        sql = (
            "SELECT kind, entity_id, device_id, health, reason, company_id "
            f"FROM {schema.verdicts.name} WHERE vendor = {m} AND account = {m} AND day = {m}"
        )
        return list(conn.exec_driver_sql(sql, (vendor, account, self.bind_day(day) if self.bind_day else day)).all())


def _processor(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect, which: str) -> Callable[[Any], Any] | None:
    impl = type_.dialect_impl(dialect)
    if which == "bind":
        return impl.bind_processor(dialect)
    return impl.result_processor(dialect, None)


_reads: dict[tuple[str, str], _Reads] = {}


def _reads_for(conn: sa.Connection) -> _Reads:
    key = (conn.dialect.name, conn.dialect.driver)
    found = _reads.get(key)
    if found is None:
        found = _reads[key] = _Reads(conn.dialect)
    return found


@attrs.frozen
class _Later:
    """What later runs recorded of one account: the listings one of them answered, and the days (as the store
    keeps them) on which one of them judged it (it answered and none of the listings health is built from
    failed)."""

    answered: frozenset[str] = frozenset()
    judged_days: frozenset[Any] = frozenset()


def _later(rows: Iterable[Sequence[Any]]) -> _Later:
    """``rows``: ``(run_id, day, operation, ok)`` of the later runs' listings of one account."""
    failed: dict[tuple[int, Any], bool] = {}
    answered: set[str] = set()
    for run_id, day, operation, ok in rows:
        if ok:
            answered.add(operation)
        failed[run_id, day] = failed.get((run_id, day), False) or (not ok and operation in VERDICT_LISTINGS)
    return _Later(
        answered=frozenset(answered), judged_days=frozenset(day for (_, day), value in failed.items() if not value)
    )


def _day(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return moment.astimezone(tz).date()


def _text(value: str | None) -> str | None:
    return redact(value) if value else value


class _Texts:
    """``_text`` for one recording, each distinct text redacted once (a run repeats the same reasons and errors
    across hundreds of records). One per ``record_snapshot`` call, so a secret registered since the last
    call is redacted from then on."""

    __slots__ = ("_done",)

    def __init__(self) -> None:
        self._done: dict[str, str] = {}

    def __call__(self, value: str | None) -> str | None:
        if not value:
            return value
        done = self._done.get(value)
        if done is None:
            done = self._done[value] = redact(value)
        return done


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
    for vendor, account in [*accounts, *snapshot.clocks]:
        if (vendor, account) not in grouped:  # a pair given as a list is the same account
            grouped[vendor, account] = _Account(vendor, account)
    for failure in snapshot.failures:
        key = (failure.vendor, failure.account)
        if key not in grouped:
            grouped[key] = _Account(*key)
        grouped[key].failures.append(failure)
    records: tuple[tuple[Sequence[Company | Device | Plan | Job], str], ...] = (
        (snapshot.companies, "companies"),
        (snapshot.devices, "devices"),
        (snapshot.plans, "plans"),
        (snapshot.jobs, "jobs"),
    )
    for listed, attr in records:
        lists: dict[tuple[str, str], list[Any]] = {}  # the account's list for this kind of record
        for record in listed:
            key = (record.vendor, record.account)
            into = lists.get(key)
            if into is None:
                part = grouped.get(key)
                if part is None:
                    part = grouped[key] = _Account(*key)
                into = lists[key] = getattr(part, attr)
            into.append(record)
    return grouped


def begin_run(store: Store, started: dt.datetime, *, source: str = "collect") -> int:
    """Write a run's row now, before its listings are read, and return its id for ``record_snapshot(...,
    run_id=...)``.

    Run ids are the order runs began, and the store takes an account's latest run to be the one begun last:
    when two collectors overlap, the one begun first may finish its listings, and record, after the other
    (a slow account). Taking the id at the start keeps the newer view the latest. A run begun but never
    recorded (the process died) is a run with no accounts and no ``finished_at``.

    Raises:
        ValidationError: ``started`` is naive.
        StoreError: the store could not be written.
    """
    if started.tzinfo is None:
        raise ValidationError("a run's start must be an aware datetime", field="started")
    with store.write("run") as conn:
        result = conn.execute(_insert(schema.runs).values(started_at=started, source=source))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def record_snapshot(
    store: Store,
    snapshot: Snapshot,
    run_started: dt.datetime,
    *,
    run_finished: dt.datetime | None = None,
    assessment: Assessment | None = None,
    policy: HealthPolicy | None = None,
    accounts: Iterable[tuple[str, str]] = (),
    source: str = "collect",
    run_id: int | None = None,
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
        run_id: the run's id from ``begin_run`` (taken before the listings were read, as ``collect`` and
            ``report`` do); without it the run's row is written now.

    Raises:
        StoreError: the store could not be written; accounts already committed stay recorded, the failing
            account's transaction is rolled back whole.
    """
    if run_started.tzinfo is None:
        raise ValidationError("run_started must be aware", field="run_started")
    accounts = list(accounts)
    if assessment is None:
        from .history import snapshot_history

        assessment = assess_snapshot(
            snapshot, policy=policy, history=snapshot_history(store, snapshot, policy=policy, accounts=accounts)
        )
    grouped = _by_account(snapshot, accounts)
    verdicts = _verdicts_by_account(assessment)
    texts = _Texts()
    totals = {"ok": 0, "failed": 0, "new_jobs": 0, "jobs": 0, "devices": 0, "plans": 0, "companies": 0}
    # A connection per transaction: one dropped between two accounts (a server restart, a failover, an idle
    # timeout) is replaced at the next checkout (pool_pre_ping on PostgreSQL), so the pass goes on.
    if run_id is None:
        run_id = begin_run(store, run_started, source=source)
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
            texts=texts,
        )
        counts = _with_retry(work, store, key, f"recording of account {key[0]}/{key[1]}")
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


def _with_retry(
    work: Callable[[sa.Connection], dict[str, int]], store: Store, account: tuple[str, str], what: str
) -> dict[str, int]:
    """Run one account's transaction (``Store.write``: ``BEGIN IMMEDIATE`` on SQLite, all or nothing).

    On PostgreSQL the transaction first takes the account's advisory lock, so two writers of one account
    take turns instead of locking its rows in different orders (a deadlock); a deadlock or serialization
    failure that still happens rolled the transaction back whole, so it is simply run again (up to three
    times)."""
    for attempt in range(3):
        try:
            with store.write(what) as conn:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", _account_lock(*account))
                return work(conn)
        except StoreError as exc:
            cause = exc.__cause__
            code = getattr(getattr(cause, "orig", None), "sqlstate", None)
            if attempt == 2 or code not in _TRANSIENT:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# The advisory-lock space of accounts being recorded (pg_advisory_xact_lock(int4, int4): its own first key,
# so it never meets the schema's or the alerts' single-key locks).
_ACCOUNT_LOCKS = zlib.crc32(b"backupbridge.store.record.account") - 2**31


def _account_lock(vendor: str, account: str) -> tuple[int, int]:
    """The two 32-bit keys of an account's advisory lock (CRC-32 of its identity: stable across processes;
    two accounts sharing one only take turns)."""
    return _ACCOUNT_LOCKS, zlib.crc32(f"{vendor}\x1f{account}".encode("utf-8", "surrogatepass")) - 2**31


# One verdict as recorded: kind, entity_id, device_id, company_id, health, reason (as the engine said it).
_Verdict = tuple[str, str, str, str | None, str, str]


def _verdicts_by_account(assessment: Assessment) -> dict[tuple[str, str], list[_Verdict]]:
    rows: dict[tuple[str, str], list[_Verdict]] = {}
    for device in assessment.devices:
        rows.setdefault((device.vendor, device.account), []).append(
            ("device", device.device_id, "", device.company_id, device.health._value_, device.reason)
        )
    for plan in assessment.plans:
        if plan.plan_id is None:
            continue
        rows.setdefault((plan.vendor, plan.account), []).append(
            ("plan", plan.plan_id, plan.device_id or "", plan.company_id, plan.health._value_, plan.reason)
        )
    return rows


def _record_account(
    conn: sa.Connection,
    store: Store,
    run_id: int,
    part: _Account,
    snapshot: Snapshot,
    run_started: dt.datetime,
    verdicts: list[_Verdict],
    texts: Callable[[str | None], str | None] = _text,
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
    # A run begun later that committed this account first (two collectors at once, this one waiting for the
    # lock) holds the account's current state: of what it answered (and judged), this run adds history only
    # (its run and listings, runs and entities the store has not seen, verdicts of a day without one) and
    # changes nothing the later one wrote, so the latest run by id stays the latest listing (what ``stored``
    # reads).
    reads = _reads_for(conn)
    later = reads.later(conn, part.vendor, part.account, run_id)
    conn.execute(
        _insert(schema.run_accounts),
        {
            "run_id": run_id,
            "vendor": part.vendor,
            "account": part.account,
            "observed_at": seen,
            "day": day,
            "timezone": str(tz),
            "ok": first is None and not silent,
            "error_class": type(first.error).__name__ if first else ("NoAnswerError" if silent else None),
            "error_message": texts(first.message) if first else (_NO_ANSWER if silent else None),
        },
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
                "error_message": texts(failure.message) if failure else None,
            }
        )
    if listings:
        conn.execute(_insert(schema.run_listings), listings)
    ok = {op for op in LISTINGS if answered and op not in failed}
    counts = {"new_jobs": 0, "jobs": 0, "devices": 0, "plans": 0, "companies": 0}
    listed: list[tuple[str, sa.Table, str, Sequence[Company | Device | Plan]]] = [
        (name, table, kind, entities)
        for name, table, kind, entities, operation in (
            ("companies", schema.companies, "company", part.companies, "list_companies"),
            ("devices", schema.devices, "device", part.devices, "list_devices"),
            ("plans", schema.plans, "plan", part.plans, "list_plans"),
        )
        if operation in ok
    ]
    # What the store has of them, read at once (one round trip, not three: a table's rows are read before
    # anything is written to it either way, and nothing written here changes another's).
    known = reads.known_entities(conn, [table for _, table, _, _ in listed], part.vendor, part.account)
    for name, table, kind, entities in listed:
        superseded = f"list_{name}" in later.answered
        counts[name] = _sync_entities(conn, table, kind, part, entities, seen, known[table.name], superseded)
    if "list_jobs" in ok:
        counts["new_jobs"], counts["jobs"] = _record_jobs(conn, store, part, tz, day, seen, texts)
    # Verdicts are recorded whenever the account was judged (a failed list_companies only names companies),
    # so the store never serves an earlier run's verdicts for this one.
    judged = answered and not any(f.operation in VERDICT_LISTINGS for f in part.failures)
    if verdicts and judged:
        # A later run that judged this day has the day's verdicts: only those it did not give are added.
        judged_later = (reads.bind_day(day) if reads.bind_day else day) in later.judged_days
        # A verdict already recorded today, unchanged, is left as it is (observed_at: when it was first given).
        recorded = {
            (kind, entity_id, device_id): (health, reason, company_id)
            for kind, entity_id, device_id, health, reason, company_id in reads.verdicts(
                conn, part.vendor, part.account, day
            )
        }
        rows = []
        for kind, entity_id, device_id, company_id, health, reason in verdicts:
            said = (health, texts(reason) or "", company_id)
            before = recorded.get((kind, entity_id, device_id))
            if before != said and not (judged_later and before is not None):
                rows.append(
                    {
                        "vendor": part.vendor,
                        "account": part.account,
                        "kind": kind,
                        "entity_id": entity_id,
                        "device_id": device_id,
                        "company_id": company_id,
                        "health": health,
                        "reason": said[1],
                        "day": day,
                        "observed_at": seen,
                    }
                )
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
    from ..plugins import get_vendor

    try:
        return frozenset(get_vendor(vendor).capabilities)
    except UnknownVendorError:
        return frozenset(Capability(op) for op in LISTINGS)


def _said(values: Iterable[Any]) -> str:
    """What a digest is taken of: the values as text (None as nothing), apart."""
    return "\x1f".join(["" if value is None else str(value) for value in values])


def _fingerprint(said: str) -> str:
    """A short fingerprint of what can change in a row (``_said``): an unchanged row is not rewritten. The
    digests are stored: the same values must give the same string in every version (a test pins them)."""
    return hashlib.blake2b(said.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


# What can change in an entity, in the order of its table's columns (the digest is taken in that order; a
# test pins it to the rows' columns): the values its row is written with.
_ENTITY_FIELDS: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "company": lambda c: (c.name, c.parent_id, c.status._value_),
    "device": lambda d: (d.name, d.company_id, d.os._value_, d.status._value_),
    "plan": lambda p: (p.name, p.company_id, p.enabled),
}


def _entity_columns(table: sa.Table) -> list[str]:
    return [
        c.name for c in table.columns if c.name not in ("vendor", "account", "id", "digest", "first_seen", "last_seen")
    ]


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _sync_entities(
    conn: sa.Connection,
    table: sa.Table,
    kind: str,
    part: _Account,
    entities: Sequence[Company | Device | Plan],
    seen: dt.datetime,
    stored: Sequence[Any],
    superseded: bool = False,
) -> int:
    """Upsert the companies, devices or plans of one account's listing (``stored``: what the store has of the
    account's, as ``_Reads.known_entities`` read them).

    A new or changed entity is written whole; an unchanged one only has ``last_seen`` moved (one UPDATE per
    500). A new name (a new entity, or a rename) gets a row in ``entity_names``; the former name keeps when it
    was last seen. ``superseded`` (a later run recorded the account first): only entities the store does not
    have are written; the others keep what the later run wrote.
    """
    account = {"b_vendor": part.vendor, "b_account": part.account}
    unique = {entity.id: entity for entity in entities}
    values = _ENTITY_FIELDS[kind]
    columns = _entity_columns(table)
    reads = _reads_for(conn)
    known = {row[0]: row for row in stored}
    changed, unchanged, names, former = [], [], [], []
    for entity_id in sorted(unique):
        said = values(unique[entity_id])
        digest = _fingerprint(_said(said))
        old = known.get(entity_id)
        if old is not None and (old[1] == digest or superseded):
            if not superseded:
                unchanged.append(entity_id)
            continue
        name = said[0]
        changed.append(
            {
                "vendor": part.vendor,
                "account": part.account,
                "id": entity_id,
                **dict(zip(columns, said, strict=True)),
                "digest": digest,
                "first_seen": seen,
                "last_seen": seen,
            }
        )
        if old is None or old[2] != name:
            names.append(
                {
                    "kind": kind,
                    "vendor": part.vendor,
                    "account": part.account,
                    "entity_id": entity_id,
                    "name": name,
                    "first_seen": seen,
                    "last_seen": seen,
                }
            )
        if old is not None and old[2] != name:
            former.append(
                {"b_kind": kind, **account, "b_entity": entity_id, "b_former": old[2], "b_when": reads.seen(old[3])}
            )
    # ``last_seen`` is the time of the latest recorded listing that named the entity, even when the vendor's
    # clock went backwards: ``stored`` shows the entities whose ``last_seen`` is that latest listing's time.
    _upsert_entities(conn, table, changed)
    for chunk in _chunks(unchanged):
        reads.touch(conn, table, part.vendor, part.account, chunk, seen)
    if former:
        conn.execute(_former_names(), former)
    if names:
        _upsert_names(conn, names)
    return len(unique)


def _upsert_entities(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    # ``rows`` are in key order already (one account, sorted by id).
    statement = _upsert_statement(conn.dialect.name, table, ("vendor", "account", "id"), ("first_seen",), None)
    for start in range(0, len(rows), 1000):
        conn.execute(statement, rows[start : start + 1000])


def _upsert_names(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    # ``rows`` are in key order already (one kind of one account, sorted by entity id, one name each).
    statement = _upsert_statement(
        conn.dialect.name,
        schema.entity_names,
        ("kind", "vendor", "account", "entity_id", "name"),
        ("first_seen",),
        "last_seen",
    )
    for start in range(0, len(rows), 1000):
        conn.execute(statement, rows[start : start + 1000])


# What a run's digest is taken of, in this order (``_record_jobs`` spells it out, for speed).
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
    conn: sa.Connection,
    store: Store,
    part: _Account,
    tz: dt.tzinfo,
    day: dt.date,
    seen: dt.datetime,
    texts: Callable[[str | None], str | None] = _text,
) -> tuple[int, int]:
    """Write the account's runs that are new or changed; returns (new, listed).

    Each run's digest is taken of its values as ``_JOB_FIELDS`` orders them (the error redacted); a row is
    built only for a run that is new or changed."""
    history = _history_vendor(part.vendor)
    devices = {d.id: d for d in part.devices} if not history else {}
    listed: dict[str, tuple[str, Job, str | None]] = {}
    blake2b = hashlib.blake2b
    for job in part.jobs:  # a few microseconds a run, thousands of runs a pass: kept tight
        key = job.id if history else job_key(job, history=False, device=devices.get(job.device_id or ""))
        error = job.error
        if error:
            error = texts(error)
        said = "\x1f".join(
            [
                "" if value is None else str(value)
                for value in (
                    job.device_id,
                    job.plan_id,
                    job.company_id,
                    job.status._value_,  # ``.value`` is a Python-level property: several times slower
                    job.vendor_status,
                    job.kind._value_,
                    job.started_at,
                    job.finished_at,
                    job.size_bytes,
                    job.files,
                    error,
                )
            ]
        )
        listed[key] = (blake2b(said.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest(), job, error)
    keys = sorted(listed)
    known: dict[str, str] = {}
    reads = _reads_for(conn)
    for chunk in _chunks(keys):
        known.update(reads.known_jobs(conn, part.vendor, part.account, chunk))
    changed = []
    for key in keys:
        digest, job, error = listed[key]
        if known.get(key) == digest:
            continue
        when = job.started_at or job.finished_at
        changed.append(
            {
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
                "error": error,
                "digest": digest,
                "first_seen": seen,
                "last_seen": seen,
            }
        )
    # The day a run belongs to never moves once recorded (a last run without a time keeps the day first seen).
    _upsert(
        conn,
        store,
        schema.jobs,
        changed,
        ("vendor", "account", "job_key"),
        keep=("first_seen", "day", "job_id"),
        newer="last_seen",
    )
    return sum(k not in known for k in keys), len(keys)
