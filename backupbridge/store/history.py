"""What the store answers: the daily history of a device, plan, company or account, and compliance.

Each day of the window is one of::

    success     the day's finished runs roll up (``HealthPolicy.rollup``, worst by default) to a success
    warning     ... to a warning
    failure     ... to a failure, a cancellation or a run the vendor reports missed
    no-result   the account's runs were listed that day and this backup had no finished run
    unknown     nothing to go by: no collect that day, the listing of runs failed, or the backup was not
                known yet (or any more): never counted for or against it

Days belong to the account's time zone. Alongside: the days in the current status, the days since the last
result and the last good result, the success rate (success days over days with a result) and, per company,
compliance: the share of device-days and plan-days the health engine judged OK (days it judged ``unknown``
do not count).

Everything is read in one consistent transaction, as of the scope's last collect (its accounts' own clocks),
so history in a sandbox with a simulated clock reads as naturally as in production.

Two readers serve a report: ``health_history`` gives the health engine what the store remembers of some
accounts (``assess(..., history=...)``: runs the vendor forgot, when each run listing answered, the last good
run of every backup, the daily verdicts), and ``report_history`` the 30-day strip of every device and the
compliance of every company for the HTML report (``Report.history``).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from .. import _fastpath
from ..bridge import Snapshot
from ..errors import BackupBridgeError, ValidationError
from ..health import Health, HealthPolicy, Rollup, RunHistory, StoredRun, rollup_day
from ..models import Job, JobKind, JobStatus
from . import schema
from .engine import Store

__all__ = [
    "CompanyCompliance",
    "DayResult",
    "DayStatus",
    "EntityHistory",
    "History",
    "HistoryNotFoundError",
    "ReportHistory",
    "Scope",
    "extend_snapshot",
    "health_history",
    "history",
    "report_history",
]


class HistoryNotFoundError(BackupBridgeError, LookupError):
    """No device, plan, company or account in the store matches."""


class Scope(enum.StrEnum):
    DEVICE = "device"
    PLAN = "plan"
    COMPANY = "company"
    ACCOUNT = "account"
    CUSTOMER = "customer"


class DayStatus(enum.StrEnum):
    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"
    NO_RESULT = "no-result"
    UNKNOWN = "unknown"


_RESULT = {
    JobStatus.SUCCESS: DayStatus.SUCCESS,
    JobStatus.WARNING: DayStatus.WARNING,
    JobStatus.FAILED: DayStatus.FAILURE,
    JobStatus.CANCELLED: DayStatus.FAILURE,
    JobStatus.MISSED: DayStatus.FAILURE,
}
_DONE = tuple(status.value for status in _RESULT)
_HAS_RESULT = (DayStatus.SUCCESS, DayStatus.WARNING, DayStatus.FAILURE)


@attrs.frozen(kw_only=True)
class DayResult:
    """One day of one backup: its status, how many runs it had, and the engine's verdict that day."""

    day: dt.date
    status: DayStatus
    runs: int = 0
    verdict: Health | None = None


@attrs.frozen(kw_only=True)
class EntityHistory:
    """One device or plan over the window.

    Attributes:
        names: every name it has had, oldest first (a rename is the same backup under a new name).
        days: the window, oldest first.
        days_in_status: days from the first day of the current status to the window's end (unknown days do
            not break a streak); at most the window.
        days_since_result / days_since_success: whole days from the last day with a result / a success to the
            window's end, over all stored history (None: never).
        success_rate: success days over days with a result in the window (None: no result).
    """

    kind: Scope
    vendor: str
    account: str
    id: str
    name: str
    company_id: str | None
    names: tuple[str, ...]
    first_seen: dt.datetime
    last_seen: dt.datetime
    days: tuple[DayResult, ...]
    status: DayStatus
    days_in_status: int
    days_since_result: int | None
    days_since_success: int | None
    success_rate: float | None


@attrs.frozen(kw_only=True)
class CompanyCompliance:
    """The share of device-days and plan-days judged OK in the window (None when none was judged)."""

    vendor: str
    account: str
    company_id: str | None
    company: str
    device_days: int
    device_days_ok: int
    plan_days: int
    plan_days_ok: int

    @property
    def device_compliance(self) -> float | None:
        return self.device_days_ok / self.device_days if self.device_days else None

    @property
    def plan_compliance(self) -> float | None:
        return self.plan_days_ok / self.plan_days if self.plan_days else None


@attrs.frozen(kw_only=True)
class History:
    """The answer of ``history()``: one row per device and plan in scope, and compliance per company."""

    scope: Scope
    query: str
    start: dt.date
    end: dt.date
    last_collected: dt.datetime | None
    entities: tuple[EntityHistory, ...]
    compliance: tuple[CompanyCompliance, ...]


@attrs.frozen
class _Entity:
    kind: Scope
    vendor: str
    account: str
    id: str
    name: str
    company_id: str | None
    first_seen: dt.datetime
    last_seen: dt.datetime


def history(
    store: Store,
    scope: Scope | str,
    query: str,
    *,
    days: int = 30,
    end: dt.date | None = None,
    rollup: Rollup = Rollup.WORST,
    treat_warning_as_success: bool = False,
    customers: Mapping[tuple[str, str, str], str] | None = None,
) -> History:
    """The daily history of every device and plan ``query`` names, over the ``days`` ending on ``end``.

    Args:
        scope: what ``query`` names: a device, plan or company (by id, or by current name), or an account
            (``NAME`` or ``VENDOR/NAME``). A company covers its devices and plans; an account all of its own;
            a customer (``customer``) the devices and plans of every company mapped to it in ``customers``.
        customers: ``(vendor, account, company_id)`` -> customer (``customers.CustomerMap.lookup``), required
            by the ``customer`` scope.
        days: the window's length in days.
        end: the window's last day (default: the day of the scope's last collect, in its accounts' zones).
        rollup: how several runs on one day combine (as the health engine's policy).
        treat_warning_as_success: a warning day counts as good for ``days_since_success`` and the rate.

    Raises:
        ValidationError: ``days`` is not positive or ``scope`` unknown.
        HistoryNotFoundError: nothing in the store matches ``query``.
        StoreError: the store could not be read.
    """
    try:
        kind = Scope(scope)
    except ValueError:
        raise ValidationError(f"scope must be one of {', '.join(s.value for s in Scope)}", field="scope") from None
    if kind is Scope.CUSTOMER and customers is None:  # a customer is only known through the mapping
        raise ValidationError(
            "scope must be one of device, plan, company or account, or customer with the customers mapping "
            "(customers=CustomerMap.lookup)",
            field="scope",
        )
    if days < 1 or days > 3660:
        raise ValidationError("days must be between 1 and 3660", field="days")
    with store.read() as conn:
        members = sorted(k for k, name in (customers or {}).items() if name == query)
        entities = _resolve(conn, kind, query, members)
        if not entities and kind is Scope.CUSTOMER and not members:
            raise HistoryNotFoundError(f"no company is mapped to the customer {query!r} ([customers.NAME] tables)")
        if not entities:
            raise HistoryNotFoundError(f"the store knows no {kind.value} {query!r} (collect first, or check the id)")
        accounts = sorted({(e.vendor, e.account) for e in entities})
        zones = _zones(conn, accounts)
        last_collected = _last_collected(conn, accounts)
        if end is None:
            end = max((last_collected[a].astimezone(zones[a]).date() for a in last_collected), default=None)
            end = end or max(e.last_seen.astimezone(zones[(e.vendor, e.account)]).date() for e in entities)
        start = end - dt.timedelta(days=days - 1)
        good = {JobStatus.SUCCESS.value} | ({JobStatus.WARNING.value} if treat_warning_as_success else set())
        rows = []
        for account in accounts:
            mine = [e for e in entities if (e.vendor, e.account) == account]
            rows += _account_history(conn, account, mine, zones[account], start, end, rollup, good)
        compliance = _compliance(conn, entities, start, end)
    return History(
        scope=kind,
        query=query,
        start=start,
        end=end,
        last_collected=max(last_collected.values(), default=None),
        entities=tuple(rows),
        compliance=tuple(compliance),
    )


def _resolve(
    conn: sa.Connection, kind: Scope, query: str, members: Sequence[tuple[str, str, str]] = ()
) -> list[_Entity]:
    devices, plans = schema.devices, schema.plans

    def load(table: sa.Table, entity: Scope, *where: Any) -> list[_Entity]:
        rows = conn.execute(
            sa.select(
                table.c.vendor,
                table.c.account,
                table.c.id,
                table.c.name,
                table.c.company_id,
                table.c.first_seen,
                table.c.last_seen,
            )
            .where(*where)
            .order_by(table.c.vendor, table.c.account, table.c.name, table.c.id)
        )
        return [_Entity(entity, *row) for row in rows]

    def of_companies(companies: Iterable[Sequence[str]]) -> list[_Entity]:
        """The devices and plans of each ``(vendor, account, company id)``."""
        found: list[_Entity] = []
        for vendor, account, company_id in companies:
            for table, entity in ((devices, Scope.DEVICE), (plans, Scope.PLAN)):
                found += load(
                    table,
                    entity,
                    table.c.vendor == vendor,
                    table.c.account == account,
                    table.c.company_id == company_id,
                )
        return found

    if kind is Scope.DEVICE:
        found = load(devices, Scope.DEVICE, devices.c.id == query)
        return found or load(devices, Scope.DEVICE, devices.c.name == query)
    if kind is Scope.PLAN:
        found = load(plans, Scope.PLAN, plans.c.id == query)
        return found or load(plans, Scope.PLAN, plans.c.name == query)
    if kind is Scope.CUSTOMER:
        return of_companies(members)  # its companies in every vendor, by id (names are display)
    if kind is Scope.COMPANY:
        companies = schema.companies
        matches = (
            conn.execute(
                sa.select(companies.c.vendor, companies.c.account, companies.c.id).where(companies.c.id == query)
            ).all()
            or conn.execute(
                sa.select(companies.c.vendor, companies.c.account, companies.c.id).where(companies.c.name == query)
            ).all()
        )
        if not matches:
            # Devices and plans may name a company the account's company listing never showed.
            matches = conn.execute(
                sa.select(devices.c.vendor, devices.c.account, devices.c.company_id)
                .where(devices.c.company_id == query)
                .distinct()
            ).all()
        return of_companies(matches)
    vendor, _, account = query.rpartition("/")
    where = [devices.c.account == account] + ([devices.c.vendor == vendor] if vendor else [])
    plan_where = [plans.c.account == account] + ([plans.c.vendor == vendor] if vendor else [])
    return load(devices, Scope.DEVICE, *where) + load(plans, Scope.PLAN, *plan_where)


def _zones(conn: sa.Connection, accounts: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dt.tzinfo]:
    ra = schema.run_accounts
    zones: dict[tuple[str, str], dt.tzinfo] = {}
    for vendor, account in accounts:
        name = conn.execute(
            sa.select(ra.c.timezone)
            .where(ra.c.vendor == vendor, ra.c.account == account)
            .order_by(ra.c.run_id.desc())
            .limit(1)
        ).scalar()
        try:
            zones[(vendor, account)] = zoneinfo.ZoneInfo(name) if name else dt.UTC
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zones[(vendor, account)] = dt.UTC
    return zones


def _last_collected(conn: sa.Connection, accounts: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dt.datetime]:
    ra = schema.run_accounts
    found: dict[tuple[str, str], dt.datetime] = {}
    for vendor, account in accounts:
        when = conn.execute(
            sa.select(sa.func.max(ra.c.observed_at)).where(ra.c.vendor == vendor, ra.c.account == account)
        ).scalar()
        if when is not None:
            found[(vendor, account)] = when
    return found


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


_WIDE = 200  # ids of one kind in one account above which the grid reads the account's range, not an IN list


def _account_history(
    conn: sa.Connection,
    account: tuple[str, str],
    entities: Sequence[_Entity],
    zone: dt.tzinfo,
    start: dt.date,
    end: dt.date,
    rollup: Rollup,
    good: set[str],
    verdicts_too: bool = True,
) -> list[EntityHistory]:
    vendor, name = account
    jobs, listings, verdicts = schema.jobs, schema.run_listings, schema.verdicts
    observed = set(
        conn.execute(
            sa.select(listings.c.day)
            .where(
                listings.c.vendor == vendor,
                listings.c.account == name,
                listings.c.operation == "list_jobs",
                listings.c.ok.is_(True),
                listings.c.day.between(start, end),
            )
            .distinct()
        ).scalars()
    )
    statuses: dict[tuple[Scope, str, dt.date], list[tuple[dt.datetime, str, int]]] = {}
    last_result: dict[tuple[Scope, str], dt.date] = {}
    last_good: dict[tuple[Scope, str], dt.date] = {}
    day_verdicts: dict[tuple[Scope, str, dt.date], Health] = {}
    when = sa.func.coalesce(jobs.c.finished_at, jobs.c.started_at, jobs.c.first_seen, type_=schema.UTCDateTime())
    # Only the "last" rollup needs to know which of a day's statuses came last; the others ignore the order.
    latest_of: Any = sa.func.max(when, type_=schema.UTCDateTime()) if rollup is Rollup.LAST else sa.null()
    for kind, column in ((Scope.DEVICE, jobs.c.device_id), (Scope.PLAN, jobs.c.plan_id)):
        ids = sorted({e.id for e in entities if e.kind is kind})
        wanted = set(ids)
        # Many ids (a report of the whole account): one range over the account, the ids picked here; long IN
        # lists made PostgreSQL scan the whole jobs table once per list.
        wide = len(ids) > _WIDE
        for chunk in [()] if wide and ids else _chunks(ids):
            scope = (jobs.c.vendor == vendor, jobs.c.account == name, *(() if wide else (column.in_(chunk),)))
            for entity_id, day, status, runs, latest in conn.execute(
                sa.select(column, jobs.c.day, jobs.c.status, sa.func.count(), latest_of)
                .where(*scope, jobs.c.day.between(start, end))
                .group_by(column, jobs.c.day, jobs.c.status)
            ):
                if entity_id in wanted:
                    statuses.setdefault((kind, entity_id, day), []).append((latest or dt.datetime.min, status, runs))
            for entity_id, status, day in conn.execute(
                sa.select(column, jobs.c.status, sa.func.max(jobs.c.day))
                .where(*scope, jobs.c.status.in_(_DONE), jobs.c.day <= end)
                .group_by(column, jobs.c.status)
            ):
                if entity_id not in wanted:
                    continue
                key = (kind, entity_id)
                last_result[key] = max(day, last_result.get(key, day))
                if status in good:
                    last_good[key] = max(day, last_good.get(key, day))
            if not verdicts_too:  # the report's strip shows the days, not the verdicts
                continue
            for entity_id, day, health in conn.execute(
                sa.select(verdicts.c.entity_id, verdicts.c.day, verdicts.c.health).where(
                    verdicts.c.vendor == vendor,
                    verdicts.c.account == name,
                    verdicts.c.kind == kind.value,
                    *(() if wide else (verdicts.c.entity_id.in_(chunk),)),
                    verdicts.c.day.between(start, end),
                )
            ):
                if entity_id not in wanted:
                    continue
                verdict = _HEALTH_OF[health]
                previous = day_verdicts.get((kind, entity_id, day))
                # A plan judged on several devices: the day's verdict is its worst.
                if previous is None or verdict.rank > previous.rank:
                    day_verdicts[(kind, entity_id, day)] = verdict
    names = _names(conn, vendor, name, entities)
    results = []
    window = [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]
    for entity in entities:
        known_from = entity.first_seen.astimezone(zone).date()
        known_to = entity.last_seen.astimezone(zone).date()
        cells = []
        for day in window:
            found = statuses.get((entity.kind, entity.id, day), [])
            status = _day_status(found, rollup)
            if status is None:
                status = DayStatus.NO_RESULT if day in observed and known_from <= day <= known_to else DayStatus.UNKNOWN
            cells.append(
                DayResult(
                    day=day,
                    status=status,
                    runs=sum(runs for _, _, runs in found),
                    verdict=day_verdicts.get((entity.kind, entity.id, day)),
                )
            )
        results.append(_summarise(entity, cells, end, last_result, last_good, names, good))
    return results


_RESULT_OF = {status.value: day for status, day in _RESULT.items()}
_HEALTH_OF = {health.value: health for health in Health}  # a dict lookup: Health(value) costs more


def _day_status(found: Sequence[tuple[dt.datetime, str, int]], rollup: Rollup) -> DayStatus | None:
    finished = [item for item in found if item[1] in _RESULT_OF]
    if not finished:
        return None
    if len(finished) == 1:  # one status that day (most days): it is the rollup whatever the rule
        return _RESULT_OF[finished[0][1]]
    ordered = [
        Job(vendor="", account="", id="", status=JobStatus(status))
        for _, status, _ in sorted(finished, key=lambda item: item[0].replace(tzinfo=None))
    ]
    return _RESULT.get(rollup_day(ordered, rollup))


def _summarise(
    entity: _Entity,
    cells: Sequence[DayResult],
    end: dt.date,
    last_result: dict[tuple[Scope, str], dt.date],
    last_good: dict[tuple[Scope, str], dt.date],
    names: dict[tuple[Scope, str], tuple[str, ...]],
    good: set[str],
) -> EntityHistory:
    known = [cell for cell in cells if cell.status is not DayStatus.UNKNOWN]
    status = known[-1].status if known else DayStatus.UNKNOWN
    streak_start = known[-1].day if known else end
    for cell in reversed(known):
        if cell.status is not status:
            break
        streak_start = cell.day
    with_result = [cell for cell in cells if cell.status in _HAS_RESULT]
    good_days = {DayStatus.SUCCESS} | ({DayStatus.WARNING} if JobStatus.WARNING.value in good else set())
    key = (entity.kind, entity.id)
    return EntityHistory(
        kind=entity.kind,
        vendor=entity.vendor,
        account=entity.account,
        id=entity.id,
        name=entity.name,
        company_id=entity.company_id,
        names=names.get(key, (entity.name,)),
        first_seen=entity.first_seen,
        last_seen=entity.last_seen,
        days=tuple(cells),
        status=status,
        days_in_status=(end - streak_start).days + 1 if known else 0,
        days_since_result=(end - last_result[key]).days if key in last_result else None,
        days_since_success=(end - last_good[key]).days if key in last_good else None,
        success_rate=sum(c.status in good_days for c in with_result) / len(with_result) if with_result else None,
    )


def _names(
    conn: sa.Connection, vendor: str, account: str, entities: Sequence[_Entity]
) -> dict[tuple[Scope, str], tuple[str, ...]]:
    table = schema.entity_names
    found: dict[tuple[Scope, str], list[str]] = {}
    for kind in (Scope.DEVICE, Scope.PLAN):
        ids = sorted({e.id for e in entities if e.kind is kind})
        for chunk in _chunks(ids):
            for entity_id, name in conn.execute(
                sa.select(table.c.entity_id, table.c.name)
                .where(
                    table.c.kind == kind.value,
                    table.c.vendor == vendor,
                    table.c.account == account,
                    table.c.entity_id.in_(chunk),
                )
                .order_by(table.c.entity_id, table.c.first_seen, table.c.name)
            ):
                found.setdefault((kind, entity_id), []).append(name)
    return {key: tuple(names) for key, names in found.items()}


def _compliance(
    conn: sa.Connection, entities: Sequence[_Entity], start: dt.date, end: dt.date
) -> list[CompanyCompliance]:
    verdicts, companies = schema.verdicts, schema.companies
    wanted = sorted({(e.vendor, e.account, e.company_id) for e in entities}, key=lambda k: (k[0], k[1], k[2] or ""))
    results = []
    for vendor, account, company_id in wanted:
        company_filter = verdicts.c.company_id.is_(None) if company_id is None else verdicts.c.company_id == company_id
        counts: dict[tuple[str, bool], int] = {}
        for row_kind, health, number in conn.execute(
            sa.select(verdicts.c.kind, verdicts.c.health, sa.func.count())
            .where(
                verdicts.c.vendor == vendor,
                verdicts.c.account == account,
                company_filter,
                verdicts.c.health != Health.UNKNOWN.value,
                verdicts.c.day.between(start, end),
            )
            .group_by(verdicts.c.kind, verdicts.c.health)
        ):
            key = (row_kind, health == Health.OK.value)
            counts[key] = counts.get(key, 0) + number
        title = None
        if company_id is not None:
            title = conn.execute(
                sa.select(companies.c.name).where(
                    companies.c.vendor == vendor, companies.c.account == account, companies.c.id == company_id
                )
            ).scalar()
        results.append(
            CompanyCompliance(
                vendor=vendor,
                account=account,
                company_id=company_id,
                company=title or company_id or "(no company)",
                device_days=counts.get(("device", True), 0) + counts.get(("device", False), 0),
                device_days_ok=counts.get(("device", True), 0),
                plan_days=counts.get(("plan", True), 0) + counts.get(("plan", False), 0),
                plan_days_ok=counts.get(("plan", True), 0),
            )
        )
    return results


# --- What a report reads: the engine's history, the devices' strips and the companies' compliance ----------


def _good_statuses(treat_warning_as_success: bool) -> tuple[str, ...]:
    return (JobStatus.SUCCESS.value, *((JobStatus.WARNING.value,) if treat_warning_as_success else ()))


_STATUS_OF = {status.value: status for status in JobStatus}
_KIND_OF = {kind.value: kind for kind in JobKind}


def _job_by_keywords(*values: Any) -> Job:
    names = [a.name for a in attrs.fields(Job)]
    return Job(**dict(zip(names, values, strict=True)))


# A stored run becomes a Job from its values in field order; the generated constructor sets the slots directly
# (what Job's __init__ does), the keyword path is there for a Job it would not be exact for.
_new_job: Any = _fastpath.constructor(Job) or _job_by_keywords
_new_stored: Any = _fastpath.constructor(StoredRun) or (
    lambda job, first_seen, key: StoredRun(job=job, first_seen=first_seen, key=key)
)


def _lists_history(vendor: str) -> bool:
    """Whether the vendor's run listing is a history of runs (a vendor no plugin registers: taken not to be,
    so its stored runs are read; each run is counted once either way)."""
    from ..errors import UnknownVendorError
    from ..models import Capability
    from ..plugins import get_vendor

    try:
        return Capability.JOB_HISTORY in get_vendor(vendor).capabilities
    except UnknownVendorError:
        return False


@attrs.frozen
class _HealthQueries:
    """``health_history``'s statements, built once: a statement built per call costs its construction and its
    cache key each time; these take their values as bound parameters (lists as expanding ones)."""

    successes: sa.Select[Any]
    stored_runs: sa.Select[Any]
    observed: sa.Select[Any]
    device_seen: sa.Select[Any]
    plan_seen: sa.Select[Any]
    verdicts: sa.Select[Any]
    older_by_device: sa.Select[Any]
    older_by_plan: sa.Select[Any]


@functools.cache
def _health_queries() -> _HealthQueries:
    jobs, ra, rl, verdicts = schema.jobs, schema.run_accounts, schema.run_listings, schema.verdicts
    when = sa.func.coalesce(jobs.c.finished_at, jobs.c.started_at, jobs.c.first_seen, type_=schema.UTCDateTime())
    newest = sa.func.max(when, type_=schema.UTCDateTime())
    good: sa.BindParameter[Any] = sa.bindparam("good", expanding=True)
    first_day: sa.BindParameter[Any] = sa.bindparam("first_day")
    vendors: sa.BindParameter[Any] = sa.bindparam("vendors", expanding=True)

    def older(column: sa.Column[Any]) -> sa.Select[Any]:
        # Only ids with no good run since first_day are asked for: their good runs all lie before it.
        return (
            sa.select(jobs.c.plan_id, jobs.c.device_id, newest)
            .where(
                jobs.c.vendor == sa.bindparam("vendor"),
                jobs.c.account == sa.bindparam("account"),
                column.in_(sa.bindparam("ids", expanding=True)),
                jobs.c.status.in_(good),
                jobs.c.day < first_day,
            )
            .group_by(jobs.c.plan_id, jobs.c.device_id)
        )

    # The verdicts' primary key, in its order.
    verdict_key = [verdicts.c[name] for name in ("vendor", "account", "kind", "entity_id", "device_id", "day")]

    def seen(table: sa.Table) -> sa.Select[Any]:
        return sa.select(table.c.vendor, table.c.account, table.c.id, table.c.first_seen).where(
            table.c.vendor.in_(vendors)
        )

    return _HealthQueries(
        successes=sa.select(jobs.c.vendor, jobs.c.account, jobs.c.plan_id, jobs.c.device_id, newest)
        .where(jobs.c.day >= first_day, jobs.c.status.in_(good), jobs.c.vendor.in_(vendors))
        .group_by(jobs.c.vendor, jobs.c.account, jobs.c.plan_id, jobs.c.device_id),
        # In Job's field order, each account's runs in the order they were first seen (then by key): the
        # engine keeps the first run of an identity, so its verdict never follows the rows' physical order or
        # the plan PostgreSQL happens to choose (the same store judged two ways before this ORDER BY).
        stored_runs=sa.select(
            jobs.c.vendor,
            jobs.c.account,
            jobs.c.job_id,
            jobs.c.device_id,
            jobs.c.plan_id,
            jobs.c.company_id,
            jobs.c.status,
            jobs.c.vendor_status,
            jobs.c.kind,
            jobs.c.started_at,
            jobs.c.finished_at,
            jobs.c.size_bytes,
            jobs.c.files,
            jobs.c.error,
            jobs.c.first_seen,
            jobs.c.job_key,
        )
        .where(jobs.c.day >= first_day, jobs.c.vendor.in_(sa.bindparam("last_run_vendors", expanding=True)))
        .order_by(jobs.c.vendor, jobs.c.account, jobs.c.first_seen, jobs.c.job_key),
        observed=sa.select(ra.c.vendor, ra.c.account, ra.c.observed_at)
        .join(rl, sa.and_(rl.c.run_id == ra.c.run_id, rl.c.vendor == ra.c.vendor, rl.c.account == ra.c.account))
        .where(ra.c.vendor.in_(vendors), ra.c.day >= first_day, rl.c.operation == "list_jobs", rl.c.ok.is_(True))
        .order_by(ra.c.observed_at),
        device_seen=seen(schema.devices),
        plan_seen=seen(schema.plans),
        # In the primary key's order: each backup's days come together, oldest first (SQLite reads them off the
        # key's index instead of sorting them).
        verdicts=sa.select(*verdict_key, verdicts.c.health)
        .where(verdicts.c.vendor.in_(vendors), verdicts.c.day >= sa.bindparam("oldest_day"))
        .order_by(*verdict_key),
        older_by_device=older(jobs.c.device_id),
        older_by_plan=older(jobs.c.plan_id),
    )


def snapshot_history(
    store: Store,
    snapshot: Snapshot,
    *,
    policy: HealthPolicy | None = None,
    accounts: Iterable[tuple[str, str]] = (),
) -> RunHistory:
    """``health_history`` of a pass's accounts: those that answered, those a listing failed for, and
    ``accounts`` (the ones the pass covered, answered or not)."""
    covered = {*accounts, *snapshot.clocks, *((f.vendor, f.account) for f in snapshot.failures)}
    return health_history(store, covered, now=snapshot.clocks, policy=policy)


def health_history(
    store: Store,
    accounts: Iterable[tuple[str, str]],
    *,
    now: dt.datetime | Mapping[tuple[str, str], dt.datetime],
    policy: HealthPolicy | None = None,
) -> RunHistory:
    """What the store remembers of ``accounts``, for ``assess(..., history=...)``.

    Read in one transaction: the stored runs of the policy's window (at least ``max_age`` plus the offline
    tolerance, and a day more) of vendors that show only each backup's last run (a vendor with a history of
    runs lists them itself), the moments each account's run listing answered in it, the daily verdicts of
    its days, when each device and plan was first seen, and the newest good run of every backup (of any
    age: the window's, or the newest before it).

    Args:
        accounts: ``(vendor, account)`` pairs (the snapshot's: ``snapshot.clocks`` and its failed accounts).
        now: the current time, or one per account (``snapshot.clocks``): the window ends there.
        policy: the engine's policy (its window, ``max_age``, and whether a warning counts as a success).

    Raises:
        StoreError: the store could not be read.
    """
    policy = policy or HealthPolicy()
    wanted = sorted(set(accounts))
    if not wanted:
        return RunHistory()
    day = dt.timedelta(days=1)
    lookback = max(policy.window, policy.max_age + policy.offline_tolerance) + day

    def clock(key: tuple[str, str]) -> dt.datetime:
        return now if isinstance(now, dt.datetime) else now.get(key, dt.datetime.now(dt.UTC))

    since = {key: clock(key) - lookback for key in wanted}
    earliest = min(since.values())
    good = list(_good_statuses(policy.treat_warning_as_success))
    queries = _health_queries()
    runs: list[StoredRun] = []
    observed: dict[tuple[str, str], list[dt.datetime]] = {}
    last_success: dict[tuple[str, str, str, str], dt.datetime] = {}
    first_seen: dict[tuple[str, str, str, str], dt.datetime] = {}
    past: dict[tuple[str, str, str, str, str], tuple[tuple[dt.date, Health], ...]] = {}
    window_days = max(1, policy.window.days)
    # A vendor with a history of runs lists the window's runs itself: only a vendor showing each backup's last
    # run needs the stored ones (reading them all would cost a collect more than recording does).
    last_run_vendors = sorted({vendor for vendor, _ in wanted if not _lists_history(vendor)})
    vendors = sorted({vendor for vendor, _ in wanted})
    first_day = (earliest - day).date()  # a day of slack for the accounts' zones
    with store.read() as conn:
        # Ranges over the day index for every account at once: the newest good run of each backup since
        # first_day (of a last-run vendor: from its stored runs below, which are all of those rows).
        covered: dict[tuple[str, str], tuple[set[str], set[str]]] = {key: (set(), set()) for key in wanted}
        history_vendors = [vendor for vendor in vendors if vendor not in last_run_vendors]
        if history_vendors:
            for vendor, account, plan_id, device_id, moment in conn.execute(
                queries.successes, {"first_day": first_day, "good": good, "vendors": history_vendors}
            ):
                sets = covered.get((vendor, account))
                if sets is not None:
                    last_success[(vendor, account, plan_id or "", device_id or "")] = moment
                    if plan_id:
                        sets[0].add(plan_id)
                    if device_id:
                        sets[1].add(device_id)
        if last_run_vendors:
            good_values = set(good)
            status_of, kind_of, unknown_status, unknown_kind = _STATUS_OF, _KIND_OF, JobStatus.UNKNOWN, JobKind.UNKNOWN
            new_job, new_stored = _new_job, _new_stored
            for (
                vendor,
                account,
                job_id,
                device_id,
                plan_id,
                company_id,
                status,
                vendor_status,
                kind,
                started_at,
                finished_at,
                size_bytes,
                files,
                error,
                seen_at,
                stored_key,
            ) in conn.execute(queries.stored_runs, {"first_day": first_day, "last_run_vendors": last_run_vendors}):
                start = since.get((vendor, account))
                if start is None:
                    continue
                moment = finished_at or started_at or seen_at  # the SQL's coalesce: a datetime is never false
                if status in good_values:
                    slot = (vendor, account, plan_id or "", device_id or "")
                    newest = last_success.get(slot)
                    if newest is None or moment > newest:
                        last_success[slot] = moment
                    if plan_id:
                        covered[(vendor, account)][0].add(plan_id)
                    if device_id:
                        covered[(vendor, account)][1].add(device_id)
                if moment >= start:
                    job = new_job(
                        vendor,
                        account,
                        job_id,
                        device_id,
                        plan_id,
                        company_id,
                        status_of.get(status, unknown_status),
                        vendor_status,
                        kind_of.get(kind, unknown_kind),
                        started_at,
                        finished_at,
                        size_bytes,
                        files,
                        error,
                        {},
                    )
                    runs.append(new_stored(job, seen_at, stored_key))
        # Each of these is one query over every account (a query per account cost a collect more than it read).
        for vendor, account, moment in conn.execute(queries.observed, {"vendors": vendors, "first_day": first_day}):
            start = since.get((vendor, account))
            if start is not None and moment >= start:
                observed.setdefault((vendor, account), []).append(moment)
        entities: dict[tuple[str, str], dict[str, list[str]]] = {key: {"device": [], "plan": []} for key in wanted}
        for kind, statement in (("device", queries.device_seen), ("plan", queries.plan_seen)):
            for vendor, account, entity_id, seen in conn.execute(statement, {"vendors": vendors}):
                mine = entities.get((vendor, account))
                if mine is not None:
                    first_seen[(vendor, account, kind, entity_id)] = seen
                    mine[kind].append(entity_id)
        oldest_day = min(clock(key).date() for key in wanted) - dt.timedelta(days=window_days + 1)
        # The values are immutable and repeat: a window holds a few days of a few verdicts, and most backups'
        # days read alike. Each distinct (day, health) and each distinct run of them is made once and shared,
        # so a collect keeps ~a hundred small tuples for the cyclic collector to walk instead of one a row
        # (10,000 at 480 devices a week: they survived into every later pass of the collector).
        pairs: dict[tuple[dt.date, str], tuple[dt.date, Health]] = {}
        runs_of: dict[tuple[tuple[dt.date, Health], ...], tuple[tuple[dt.date, Health], ...]] = {}
        health_of = _HEALTH_OF
        key: tuple[str, str, str, str, str] | None = None
        days: list[tuple[dt.date, Health]] = []
        for vendor, account, kind, entity_id, device_id, verdict_day, health in conn.execute(
            queries.verdicts, {"vendors": vendors, "oldest_day": oldest_day}
        ):
            if (vendor, account) not in since:
                continue
            if key is None or key != (vendor, account, kind, entity_id, device_id):
                if key is not None:
                    found = tuple(days)
                    past[key] = runs_of.setdefault(found, found)
                key, days = (vendor, account, kind, entity_id, device_id), []
            pair = pairs.get((verdict_day, health))
            if pair is None:
                pair = pairs[(verdict_day, health)] = (verdict_day, health_of[health])
            days.append(pair)
        if key is not None:
            found = tuple(days)
            past[key] = runs_of.setdefault(found, found)
        for vendor, account in wanted:
            # The newest good run of a backup with none in the window (the vendor may have forgotten it).
            covered_plans, covered_devices = covered[(vendor, account)]
            mine = entities[(vendor, account)]
            for statement, ids in (
                (queries.older_by_device, [i for i in mine["device"] if i not in covered_devices]),
                (queries.older_by_plan, [i for i in mine["plan"] if i not in covered_plans]),
            ):
                for chunk in _chunks(sorted(ids)):
                    values = {"vendor": vendor, "account": account, "ids": list(chunk), "good": good}
                    for plan_id, device_id, moment in conn.execute(statement, {**values, "first_day": first_day}):
                        slot = (vendor, account, plan_id or "", device_id or "")
                        last_success[slot] = max(moment, last_success.get(slot, moment))
    return RunHistory(
        runs=tuple(runs),
        observed={key: tuple(moments) for key, moments in observed.items()},
        last_success=last_success,
        first_seen=first_seen,
        verdicts=past,
    )


def extend_snapshot(snapshot: Snapshot, history: RunHistory) -> Snapshot:
    """``snapshot`` with the stored runs the vendor no longer shows added to its jobs (each run once), so the
    report's problem rows and the alerts count failure streaks across them. Record the original snapshot,
    not this one."""
    from ..health import run_identities

    shown_identity, stored_identity = run_identities(history, snapshot.devices)
    known = {shown_identity(job) for job in snapshot.jobs}
    accounts = set(snapshot.clocks) - set(snapshot.incomplete)
    extra = []
    for stored in history.runs:
        identity = stored_identity(stored)
        if identity not in known and (stored.job.vendor, stored.job.account) in accounts:
            known.add(identity)
            extra.append(stored.job)
    return attrs.evolve(snapshot, jobs=[*extra, *snapshot.jobs])


@attrs.frozen(kw_only=True)
class ReportHistory:
    """The HTML report's history: each device's daily strip and each company's compliance.

    Attributes:
        days: the strip's length.
        devices: ``(vendor, account, device_id)`` -> the device's days, ending on its account's last collect.
        compliance: ``(vendor, account, company_id)`` -> the share of device-days and plan-days judged OK.
    """

    days: int
    devices: Mapping[tuple[str, str, str], EntityHistory] = attrs.field(factory=dict, hash=False)
    compliance: Mapping[tuple[str, str, str | None], CompanyCompliance] = attrs.field(factory=dict, hash=False)

    def __bool__(self) -> bool:
        return bool(self.devices or self.compliance)


def report_history(
    store: Store,
    accounts: Iterable[tuple[str, str]],
    *,
    days: int = 30,
    rollup: Rollup = Rollup.WORST,
    treat_warning_as_success: bool = False,
    devices: Iterable[tuple[str, str, str]] | None = None,
) -> ReportHistory:
    """Every device's last ``days`` days and every company's compliance over them, for ``accounts``.

    Each account's window ends on the day of its own last collect (its clock, its zone).

    Args:
        devices: only these ``(vendor, account, device_id)`` (the snapshot's devices); default: every device
            of the accounts the store saw in the window.

    Raises:
        ValidationError: ``days`` is not between 1 and 3660.
        StoreError: the store could not be read.
    """
    if days < 1 or days > 3660:
        raise ValidationError("days must be between 1 and 3660", field="days")
    wanted = sorted(set(accounts))
    only = set(devices) if devices is not None else None
    good = set(_good_statuses(treat_warning_as_success))
    strips: dict[tuple[str, str, str], EntityHistory] = {}
    compliance: dict[tuple[str, str, str | None], CompanyCompliance] = {}
    with store.read() as conn:
        zones = _zones(conn, wanted)
        collected = _last_collected(conn, wanted)
        for key in wanted:
            if key not in collected:
                continue  # never recorded: nothing to show
            zone = zones[key]
            end = collected[key].astimezone(zone).date()
            start = end - dt.timedelta(days=days - 1)
            table = schema.devices
            entities = [
                _Entity(Scope.DEVICE, *row)
                for row in conn.execute(
                    sa.select(
                        table.c.vendor,
                        table.c.account,
                        table.c.id,
                        table.c.name,
                        table.c.company_id,
                        table.c.first_seen,
                        table.c.last_seen,
                    )
                    .where(table.c.vendor == key[0], table.c.account == key[1])
                    .order_by(table.c.name, table.c.id)
                )
                if (only is None and row.last_seen.astimezone(zone).date() >= start)
                or (only is not None and (row.vendor, row.account, row.id) in only)
            ]
            for found in _account_history(conn, key, entities, zone, start, end, rollup, good, verdicts_too=False):
                strips[(found.vendor, found.account, found.id)] = found
            compliance.update(_account_compliance(conn, key, start, end))
    return ReportHistory(days=days, devices=strips, compliance=compliance)


def _account_compliance(
    conn: sa.Connection, account: tuple[str, str], start: dt.date, end: dt.date
) -> dict[tuple[str, str, str | None], CompanyCompliance]:
    """Every company's compliance in one account, in one grouped query (``_compliance`` asks per company)."""
    vendor, name = account
    verdicts, companies = schema.verdicts, schema.companies
    counts: dict[str | None, dict[tuple[str, bool], int]] = {}
    for company_id, row_kind, health, number in conn.execute(
        sa.select(verdicts.c.company_id, verdicts.c.kind, verdicts.c.health, sa.func.count())
        .where(
            verdicts.c.vendor == vendor,
            verdicts.c.account == name,
            verdicts.c.health != Health.UNKNOWN.value,
            verdicts.c.day.between(start, end),
        )
        .group_by(verdicts.c.company_id, verdicts.c.kind, verdicts.c.health)
    ):
        slot = counts.setdefault(company_id, {})
        flag = (row_kind, health == Health.OK.value)
        slot[flag] = slot.get(flag, 0) + number
    titles = {
        row.id: row.name
        for row in conn.execute(
            sa.select(companies.c.id, companies.c.name).where(companies.c.vendor == vendor, companies.c.account == name)
        )
    }
    found = {}
    for company_id, slot in counts.items():
        found[(vendor, name, company_id)] = CompanyCompliance(
            vendor=vendor,
            account=name,
            company_id=company_id,
            company=(titles.get(company_id) if company_id is not None else None) or company_id or "(no company)",
            device_days=slot.get(("device", True), 0) + slot.get(("device", False), 0),
            device_days_ok=slot.get(("device", True), 0),
            plan_days=slot.get(("plan", True), 0) + slot.get(("plan", False), 0),
            plan_days_ok=slot.get(("plan", True), 0),
        )
    return found
