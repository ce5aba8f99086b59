"""The neutral operations for IDrive 360, composed from the client's declared endpoints."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Generator
from typing import Any

from backupbridge import (
    Company,
    ConflictError,
    Device,
    Driver,
    DriverContext,
    Frequency,
    Job,
    JobStatus,
    NotFoundError,
    Notification,
    Plan,
    PlanCreation,
    PlanSpec,
    UnsupportedOperationError,
    ValidationError,
)
from backupbridge.plugin import Batch, Call, ListOp, Op, Reply, collect, text, with_reply

from . import mapping
from .client import (
    API,
    COMPANY_BY_NAME,
    COMPANY_SUMMARY,
    CREATE_BACKUP_PLAN,
    CREATE_COMPANY,
    DEVICE_SUMMARY,
    FETCH_BACKUP_PLAN,
    UPDATE_EMAIL_NOTIFICATION,
    VENDOR,
    IDrive360API,
    company_number,
)

Steps = Generator[Call, Reply, Any]


def _not_found(reply: Reply, what: str, value: str) -> NotFoundError:
    return NotFoundError(
        f"{VENDOR} has no {what} {value!r}",
        status_code=reply.status_code,
        vendor=VENDOR,
        operation=reply.operation,
        field=what.replace(" ", "_"),
    )


class IDrive360Driver(Driver):
    """IDrive 360 behind the neutral model. ``api`` is the full vendor client."""

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self.api = IDrive360API()

    # -- companies ---------------------------------------------------------------------------

    def _tree(self) -> Generator[Call, Reply, list[Company]]:
        record, raw = yield from COMPANY_SUMMARY.pair()
        return list(mapping.flatten_companies(record, raw, account=self.account))

    def list_companies(self) -> ListOp[Company]:
        def steps() -> Generator[Call | Batch[Company], Reply | None, None]:
            companies = yield from self._tree()
            yield Batch(companies)

        return ListOp("list_companies", steps)

    def get_company(self, company_id: str) -> Op[Company]:
        wanted = str(API.argument("get_company", "company_id", company_id, company_number))
        by_id = COMPANY_SUMMARY.pair(company_id=wanted)

        def steps() -> Steps:
            for found in (yield from self._tree()):
                if found.id == wanted:
                    return found
            # Deeper than the key's direct sub-companies: ask for it by id (the vendor 400s if unknown).
            record, raw = yield from by_id
            top = {k: v for k, v in raw.items() if k != "sub_company_list"}
            return mapping.company(record, top, account=self.account, parent_id=None)

        return Op("get_company", steps)

    def create_company(self, name: str, parent_id: str | None = None) -> Op[Company]:
        API.argument("create_company", "name", name, text(), required=True)
        given = API.argument("create_company", "parent_id", parent_id, company_number)

        def steps() -> Steps:
            parent = given
            if parent is None:
                # Name the parent explicitly, so the new company's parent_id is known, not implied.
                parent = int((yield from COMPANY_SUMMARY()).company_id)
            record, raw = yield from CREATE_COMPANY.pair(name=name, company_id=parent)
            return mapping.company(record, raw, account=self.account, parent_id=str(parent))

        return Op("create_company", steps)

    def find_company(self, name: str) -> Op[Company | None]:
        """``GET /company/name`` (exact, case-insensitive), then the company as the tree shows it."""
        API.argument("find_company", "name", name, text(), required=True)
        wanted = " ".join(name.split()).casefold()
        matches = COMPANY_BY_NAME.pairs(name=" ".join(name.split()), exact=True)

        def steps() -> Steps:
            found = yield from collect(matches)
            ids = {str(r.company_id) for r, _ in found if " ".join((r.name or "").split()).casefold() == wanted}
            if not ids:
                return None
            for company in (yield from self._tree()):
                if company.id in ids:
                    return company
            record, raw = next((r, raw) for r, raw in found if str(r.company_id) in ids)
            return mapping.company(record, raw, account=self.account, parent_id=None)

        return Op("find_company", steps)

    # -- devices and runs --------------------------------------------------------------------

    def list_devices(self, company_id: str | None = None) -> ListOp[Device]:
        devices = DEVICE_SUMMARY.pairs(company_id=company_id)  # a device listed twice raises
        tz = self.context.timezone

        def steps() -> Generator[Call | Batch[Device], Reply | None, None]:
            pairs = yield from collect(devices)
            # Decoded whole first (a bad record fails the listing before any is yielded), mapped lazily.
            yield Batch(mapping.device(r, raw, account=self.account, tz=tz) for r, raw in pairs)

        return ListOp("list_devices", steps)

    def get_device(self, device_id: str) -> Op[Device]:
        API.argument("get_device", "device_id", device_id, text(), required=True)
        summary = DEVICE_SUMMARY.whole(device_id=device_id)

        def steps() -> Steps:
            pairs, reply = yield from with_reply(summary)
            for record, item in pairs:
                if record.device_id == device_id:
                    return mapping.device(record, item, account=self.account, tz=self.context.timezone)
            raise _not_found(reply, "device", device_id)

        return Op("get_device", steps)

    def list_jobs(
        self,
        device_id: str | None = None,
        since: dt.datetime | None = None,
        status: JobStatus | None = None,
    ) -> ListOp[Job]:
        if since is not None and (not isinstance(since, dt.datetime) or since.tzinfo is None):
            raise ValidationError("since must be a timezone-aware datetime", field="since", vendor=VENDOR)
        if status is not None and not isinstance(status, JobStatus):
            raise ValidationError("status must be a JobStatus", field="status", vendor=VENDOR)
        API.argument("list_jobs", "device_id", device_id, text())
        devices = DEVICE_SUMMARY.pairs(device_id=device_id)
        tz = self.context.timezone

        def keep(job: Job) -> bool:
            if status is not None and job.status is not status:
                return False
            # A run with no known time (a failed last run) is never filtered out by ``since``.
            return since is None or job.finished_at is None or job.finished_at >= since

        def steps() -> Generator[Call | Batch[Job], Reply | None, None]:
            pairs = yield from collect(devices)
            jobs = (mapping.last_run(r, raw, account=self.account, tz=tz) for r, raw in pairs)
            yield Batch([job for job in jobs if job is not None and keep(job)])

        return ListOp("list_jobs", steps)

    def set_notifications(self, device_id: str, notification: Notification) -> Op[None]:
        emails, when = mapping.notification_request(notification)
        update = UPDATE_EMAIL_NOTIFICATION(device_id=device_id, emails=emails, type=when, backup_set="DEFAULT")

        def steps() -> Steps:
            try:
                yield from update
            except ConflictError as exc:
                if exc.vendor_code != "same_state":
                    raise
                # Already set that way: the neutral operation is idempotent.
            return None

        return Op("set_notifications", steps)

    # -- plans -------------------------------------------------------------------------------

    def _plans(self, company_id: str, backup_id: str | None = None) -> Generator[Call, Reply, list[Plan]]:
        pairs = yield from collect(FETCH_BACKUP_PLAN.pairs(company_id=company_id, backup_id=backup_id))
        return [mapping.plan(r, item, account=self.account, company_id=company_id) for r, item in pairs]

    def list_plans(self, company_id: str | None = None) -> ListOp[Plan]:
        only = None if company_id is None else str(API.argument("list_plans", "company_id", company_id, company_number))

        def steps() -> Generator[Call | Batch[Plan], Reply | None, None]:
            # The API lists one company's plans at a time: walk the tree unless one company was asked for.
            ids = [only] if only is not None else [c.id for c in (yield from self._tree())]
            for cid in ids:
                plans = yield from self._plans(cid)
                if plans:
                    yield Batch(plans)

        return ListOp("list_plans", steps)

    def get_plan(self, plan_id: str) -> Op[Plan]:
        API.argument("get_plan", "plan_id", plan_id, text(), required=True)

        def steps() -> Steps:
            last_reply: Reply | None = None
            for company in (yield from self._tree()):
                try:
                    plans = yield from self._plans(company.id, plan_id)
                except NotFoundError:
                    continue
                for found in plans:
                    if found.id == plan_id:
                        return found
            raise NotFoundError(
                f"{VENDOR} has no backup plan {plan_id!r} in any company of this account",
                status_code=last_reply.status_code if last_reply else 400,
                vendor=VENDOR,
                operation="get_plan",
                field="backup_id",
            )

        return Op("get_plan", steps)

    def _refuse_what_is_lost(self, spec: PlanSpec) -> None:
        """IDrive 360 has no field for these: refused, never dropped."""
        sched = spec.schedule
        zone = getattr(self.context.timezone, "key", None) or "UTC"
        if sched.timezone is not None and not _same_zone(sched.timezone, zone):
            raise UnsupportedOperationError(
                VENDOR,
                "create_plan",
                f"IDrive 360 reads plan times in the account's zone ({zone}), not {sched.timezone}: "
                f"convert schedule.time to {zone} (backupbridge migrate does)",
            )
        retention = spec.retention
        if retention is not None and (retention.keep_last is not None or retention.keep_last_local is not None):
            raise UnsupportedOperationError(VENDOR, "create_plan", "IDrive 360 plans take no retention")
        if sched.grace is not None:
            raise UnsupportedOperationError(VENDOR, "create_plan", "IDrive 360 has no 'late after' window (grace)")
        if sched.interval is not None and not (
            sched.frequency is Frequency.HOURLY and sched.interval == dt.timedelta(hours=1)
        ):
            raise UnsupportedOperationError(VENDOR, "create_plan", "IDrive 360 schedules have no interval")

    def create_plan(self, spec: PlanSpec, dry_run: bool = False) -> Op[PlanCreation]:
        if not isinstance(spec, PlanSpec):
            raise ValidationError("spec must be a PlanSpec", field="spec", vendor=VENDOR, operation="create_plan")
        self._refuse_what_is_lost(spec)
        create = CREATE_BACKUP_PLAN.pair(plan=mapping.plan_request(spec), dry_run=dry_run)

        def steps() -> Steps:
            result, raw = yield from create
            created = None
            if not dry_run and result.backup_id:
                company_id = spec.company_id or (yield from self._tree())[0].id
                for found in (yield from self._plans(company_id, result.backup_id)):
                    if found.id == result.backup_id:
                        created = found
            return PlanCreation(
                vendor=VENDOR,
                account=self.account,
                plan_id=result.backup_id or None,
                dry_run=dry_run,
                plan=created,
                applied_to=result.applied_device_ids,
                not_applied_to=result.not_applied_device_ids,
                replaced={c.device_id: c.plan_name or "" for c in result.conflicts},
                raw=raw,
            )

        return Op("create_plan", steps)


def _same_zone(one: str, other: str | None) -> bool:
    """Two zone names that keep the same clock all year (``UTC`` and ``Etc/UTC``, for one)."""
    if other is None or one == other:
        return one == other
    try:
        a, b = zoneinfo.ZoneInfo(one), zoneinfo.ZoneInfo(other)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    probes = [dt.datetime(2026, month, 15, 12, tzinfo=dt.UTC) for month in (1, 4, 7, 10)]
    return all(p.astimezone(a).utcoffset() == p.astimezone(b).utcoffset() for p in probes)
