"""The neutral operations for IDrive 360, built on the client's request builders."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Generator, Mapping
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
from backupbridge.plugin import Batch, Call, ListOp, Op, Reply, collect

from . import mapping
from .client import (
    VENDOR,
    IDrive360API,
    company_by_name_call,
    company_id_param,
    company_summary_call,
    create_backup_plan_call,
    create_company_call,
    decode_reply,
    device_summary_call,
    fetch_backup_plan_call,
    listing_pairs,
    text_param,
    update_email_notification_call,
)
from .records import BackupPlanRecord, CompanyRecord, CreatePlanResult, DeviceRecord

Steps = Generator[Call, Reply, Any]


def _records(typ: Any, reply: Reply) -> tuple[Any, Any]:
    """The decoded record(s) and the untouched JSON they came from (kept as ``raw``)."""
    data = reply.json()
    return decode_reply(typ, reply, data), data


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
        reply = yield company_summary_call()
        record, raw = _records(CompanyRecord, reply)
        if not isinstance(raw, Mapping):
            raise reply.decoding_error("expected a company object")
        return list(mapping.flatten_companies(record, raw, account=self.account))

    def list_companies(self) -> ListOp[Company]:
        def steps() -> Generator[Call | Batch[Company], Reply | None, None]:
            companies = yield from self._tree()
            yield Batch(companies)

        return ListOp("list_companies", steps)

    def get_company(self, company_id: str) -> Op[Company]:
        wanted = str(company_id_param(company_id, "get_company"))

        def steps() -> Steps:
            for found in (yield from self._tree()):
                if found.id == wanted:
                    return found
            # Deeper than the key's direct sub-companies: ask for it by id (the vendor 400s if unknown).
            reply = yield company_summary_call(wanted)
            record, raw = _records(CompanyRecord, reply)
            top = {k: v for k, v in raw.items() if k != "sub_company_list"}
            return mapping.company(record, top, account=self.account, parent_id=None)

        return Op("get_company", steps)

    def create_company(self, name: str, parent_id: str | None = None) -> Op[Company]:
        text_param(name, "create_company", "name", required=True)
        parent = company_id_param(parent_id, "create_company", "parent_id")

        def steps() -> Steps:
            nonlocal parent
            if parent is None:
                # Name the parent explicitly, so the new company's parent_id is known, not implied.
                reply = yield company_summary_call()
                parent = int(decode_reply(CompanyRecord, reply).company_id)
            reply = yield create_company_call(name, parent)
            record, raw = _records(CompanyRecord, reply)
            return mapping.company(record, raw, account=self.account, parent_id=str(parent))

        return Op("create_company", steps)

    def find_company(self, name: str) -> Op[Company | None]:
        """``GET /company/name`` (exact, case-insensitive), then the company as the tree shows it."""
        text_param(name, "find_company", "name", required=True)
        wanted = " ".join(name.split()).casefold()
        call = company_by_name_call(" ".join(name.split()), exact=True)

        def steps() -> Steps:
            found = yield from collect(listing_pairs(call, CompanyRecord, "company_id"))
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

    def _devices(self, call: Call) -> Generator[Call, Reply, list[tuple[DeviceRecord, Any]]]:
        return (yield from collect(listing_pairs(call, DeviceRecord, "device_id")))  # a device twice raises

    def list_devices(self, company_id: str | None = None) -> ListOp[Device]:
        call = device_summary_call(company_id=company_id)
        tz = self.context.timezone

        def steps() -> Generator[Call | Batch[Device], Reply | None, None]:
            pairs = yield from self._devices(call)
            # Decoded whole first (a bad record fails the listing before any is yielded), mapped lazily.
            yield Batch(mapping.device(r, raw, account=self.account, tz=tz) for r, raw in pairs)

        return ListOp("list_devices", steps)

    def get_device(self, device_id: str) -> Op[Device]:
        call = device_summary_call(device_id=text_param(device_id, "get_device", "device_id", required=True))

        def steps() -> Steps:
            reply = yield call
            records, raw = _records(list[DeviceRecord], reply)
            for record, item in zip(records, raw, strict=True):
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
        call = device_summary_call(device_id=text_param(device_id, "list_jobs", "device_id", required=False))
        tz = self.context.timezone

        def keep(job: Job) -> bool:
            if status is not None and job.status is not status:
                return False
            # A run with no known time (a failed last run) is never filtered out by ``since``.
            return since is None or job.finished_at is None or job.finished_at >= since

        def steps() -> Generator[Call | Batch[Job], Reply | None, None]:
            pairs = yield from self._devices(call)
            jobs = (mapping.last_run(r, raw, account=self.account, tz=tz) for r, raw in pairs)
            yield Batch([job for job in jobs if job is not None and keep(job)])

        return ListOp("list_jobs", steps)

    def set_notifications(self, device_id: str, notification: Notification) -> Op[None]:
        emails, when = mapping.notification_request(notification)
        call = update_email_notification_call(device_id, emails, type=when)

        def steps() -> Steps:
            try:
                yield call
            except ConflictError as exc:
                if exc.vendor_code != "same_state":
                    raise
                # Already set that way: the neutral operation is idempotent.
            return None

        return Op("set_notifications", steps)

    # -- plans -------------------------------------------------------------------------------

    def _plans(self, company_id: str, backup_id: str | None = None) -> Generator[Call, Reply, list[Plan]]:
        pairs = yield from collect(
            listing_pairs(fetch_backup_plan_call(company_id, backup_id), BackupPlanRecord, "backup_id")
        )
        return [mapping.plan(r, item, account=self.account, company_id=company_id) for r, item in pairs]

    def list_plans(self, company_id: str | None = None) -> ListOp[Plan]:
        only = None if company_id is None else str(company_id_param(company_id, "list_plans"))

        def steps() -> Generator[Call | Batch[Plan], Reply | None, None]:
            # The API lists one company's plans at a time: walk the tree unless one company was asked for.
            ids = [only] if only is not None else [c.id for c in (yield from self._tree())]
            for cid in ids:
                plans = yield from self._plans(cid)
                if plans:
                    yield Batch(plans)

        return ListOp("list_plans", steps)

    def get_plan(self, plan_id: str) -> Op[Plan]:
        text_param(plan_id, "get_plan", "plan_id", required=True)

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
        call = create_backup_plan_call(mapping.plan_request(spec), dry_run=dry_run)

        def steps() -> Steps:
            reply = yield call
            result, raw = _records(CreatePlanResult, reply)
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
