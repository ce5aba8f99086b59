"""The neutral operations for CleverFox, composed from the client's resources (declared endpoints)."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Callable, Generator
from typing import Any

import attrs

from backupbridge import (
    Company,
    Device,
    DeviceSpec,
    Driver,
    DriverContext,
    Job,
    JobStatus,
    NotFoundError,
    Notification,
    Plan,
    PlanCreation,
    PlanSpec,
    UnsupportedOperationError,
)
from backupbridge.plugin import Batch, Call, ListOp, Op, Reply, collect, first_of, invalid_for, mapped, then

from . import mapping
from .client import API, VENDOR, CleverFoxAPI, record_id
from .records import BackupTypeRecord, DeviceRecord, SubscriptionRecord

Steps = Generator[Call, Reply, Any]
ListSteps = Generator["Call | Batch[Any]", "Reply | None", None]


def _mapped(source: ListOp[tuple[Any, Any]], convert: Callable[[Any, Any], Any | None], name: str) -> ListOp[Any]:
    """A listing of ``(record, raw)`` pairs turned into neutral records (``None`` results dropped)."""
    return mapped(source, lambda pair: convert(*pair), name)


_invalid = invalid_for(VENDOR)


class CleverFoxDriver(Driver):
    """CleverFox behind the neutral model. ``api`` is the full vendor client."""

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self.api = CleverFoxAPI()

    @property
    def _tz(self) -> dt.tzinfo:
        return self.context.timezone

    def _company(self, record: Any, raw: Any) -> Company:
        return mapping.company(record, raw, account=self.account)

    def _device(self, record: Any, raw: Any) -> Device:
        return mapping.device(record, raw, account=self.account, fallback_tz=self._tz, now=self.context.clock())

    def _plan(self, record: Any, raw: Any) -> Plan:
        return mapping.plan(record, raw, account=self.account, fallback_tz=self._tz)

    def _job(self, record: Any, raw: Any) -> Job:
        return mapping.job(record, raw, account=self.account, fallback_tz=self._tz)

    # -- companies ---------------------------------------------------------------------------

    def list_companies(self) -> ListOp[Company]:
        return _mapped(self.api.companies.list_pairs(), self._company, "list_companies")

    def get_company(self, company_id: str) -> Op[Company]:
        return then(self.api.companies.get_pair(company_id), lambda pair: self._company(*pair), "get_company")

    def create_company(self, name: str, parent_id: str | None = None) -> Op[Company]:
        if parent_id is not None:
            raise _invalid("create_company", "parent_id", "CleverFox companies have no parent company")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise _invalid("create_company", "name", "name must be a string of 1 to 100 characters")

        def steps() -> Steps:
            first = yield from first_of(self.api.partners.list_pairs(page_size=1))
            partner = None if first is None else first[0]
            if partner is None:
                raise _invalid("create_company", "partner", "this API key sees no partner to create the company under")
            op = self.api.companies.create(
                {
                    "PartnerId": partner.partner_id,
                    "PlanTypeId": partner.plan_type_id,
                    "Name": name,
                    "ExternalId": _external_id(),
                }
            )
            created = yield from op
            return mapping.company(created, {}, account=self.account)

        return Op("create_company", steps)

    # -- devices -----------------------------------------------------------------------------

    def _in_company(self, company_id: int, listing: ListOp[Any]) -> ListOp[Any]:
        """``listing`` once the company is known to exist: an unknown company is a ``NotFoundError`` (the
        vendor's 404), as on vendors that filter server-side, never a silently empty listing."""

        company = self.api.companies.get(company_id)

        def steps() -> ListSteps:
            yield from company
            yield from listing.steps

        return ListOp(listing.operation, steps)

    def list_devices(self, company_id: str | None = None) -> ListOp[Device]:
        if company_id is None:
            return _mapped(self.api.devices.list_pairs(), self._device, "list_devices")
        wanted = API.argument("list_devices", "company_id", company_id, record_id)

        def convert(record: DeviceRecord, raw: Any) -> Device | None:
            # The API documents no company filter: it is applied here.
            return self._device(record, raw) if record.company_id == wanted else None

        return self._in_company(wanted, _mapped(self.api.devices.list_pairs(), convert, "list_devices"))

    def get_device(self, device_id: str) -> Op[Device]:
        return then(self.api.devices.get_pair(device_id), lambda pair: self._device(*pair), "get_device")

    def create_device(self, spec: DeviceSpec) -> Op[Device]:
        if not isinstance(spec, DeviceSpec):
            raise _invalid("create_device", "spec", "spec must be a DeviceSpec")
        company_id = API.argument("create_device", "company_id", spec.company_id, record_id, required=True)
        unknown = sorted(set(spec.options) - set(mapping.DEVICE_OPTIONS))
        if unknown:
            raise _invalid("create_device", "options", f"unknown CleverFox device options {unknown}")
        external = spec.external_id or _external_id()
        subscription = spec.options.get("subscription_id")
        # Check the payload now (with a placeholder subscription when it is looked up later).
        mapping.device_payload(spec, int(subscription or 1), external)

        def steps() -> Steps:
            chosen = subscription
            if chosen is None:
                chosen = yield from self._subscription_of(company_id)
            payload = mapping.device_payload(spec, int(chosen), external)
            created = yield from self.api.devices.create(payload)
            if created.device_id is None:
                raise NotFoundError(
                    f"CleverFox created the device but its id could not be read back (ExternalId {external!r})",
                    status_code=201,
                    vendor=VENDOR,
                    operation="create_device",
                )
            return self._device(created, {})

        return Op("create_device", steps)

    def _subscription_of(self, company_id: int) -> Generator[Call, Reply, int]:
        for record, _ in (yield from collect(self.api.subscriptions.list_pairs())):
            assert isinstance(record, SubscriptionRecord)
            if record.company_id == company_id and not mapping.flag(record.is_inactive) and record.subscription_id:
                return record.subscription_id
        raise _invalid(
            "create_device", "company_id", f"company {company_id} has no active subscription to add a device to"
        )

    def set_notifications(self, device_id: str, notification: Notification) -> Op[None]:
        op = self.api.devices.update(device_id, mapping.notification_payload(notification))

        return then(op, lambda _: None, "set_notifications")

    # -- plans (CleverFox jobs) --------------------------------------------------------------

    def list_plans(self, company_id: str | None = None) -> ListOp[Plan]:
        if company_id is None:
            return _mapped(self.api.jobs.list_pairs(), self._plan, "list_plans")
        wanted = API.argument("list_plans", "company_id", company_id, record_id)

        def steps() -> ListSteps:
            # Jobs carry their device, not its company: walk the company's devices instead.
            pairs = yield from collect(self.api.devices.list_pairs())
            device_ids = [r.device_id for r, _ in pairs if r.company_id == wanted]
            for device_id in device_ids:
                yield from _mapped(self.api.devices.jobs_pairs(device_id), self._plan, "list_plans").steps

        return self._in_company(wanted, ListOp("list_plans", steps))

    def get_plan(self, plan_id: str) -> Op[Plan]:
        return then(self.api.jobs.get_pair(plan_id), lambda pair: self._plan(*pair), "get_plan")

    def create_plan(self, spec: PlanSpec, dry_run: bool = False) -> Op[PlanCreation]:
        op = "create_plan"
        if not isinstance(spec, PlanSpec):
            raise _invalid(op, "spec", "spec must be a PlanSpec")
        if len(spec.device_ids) != 1:
            raise _invalid(op, "device_ids", "a CleverFox job belongs to exactly one device: give one device id")
        device_id = API.argument(op, "device_ids", spec.device_ids[0], record_id, required=True)
        # Check everything that can be checked before any request.
        mapping.job_payload(spec, device_id, dt.UTC, self.context.clock())

        device_op = self.api.devices.get(device_id)

        def steps() -> Steps:
            device = yield from device_op
            if spec.company_id is not None and str(device.company_id) != str(spec.company_id):
                raise _invalid(op, "company_id", f"device {device_id} belongs to company {device.company_id}")
            tz = mapping.windows_zone(device.time_zone_id) or self._tz
            zone = getattr(tz, "key", None)
            if spec.schedule.timezone is not None and not _same_zone(spec.schedule.timezone, zone):
                # CleverFox reads a job's times in its device's zone: another zone is refused, never dropped.
                raise UnsupportedOperationError(
                    VENDOR,
                    op,
                    f"device {device_id} runs its jobs in {zone or device.time_zone_id}, not "
                    f"{spec.schedule.timezone}: give the time in the device's zone",
                )
            body = mapping.job_payload(spec, device_id, tz, self.context.clock())
            backup_type = spec.options.get("backup_type_id") or (yield from self._folder_backup_type())
            if dry_run:
                # CleverFox has no dry run: everything was checked, nothing is sent.
                return PlanCreation(
                    vendor=VENDOR, account=self.account, plan_id=None, dry_run=True, applied_to=(str(device_id),)
                )
            job = yield from self.api.jobs.create(body)
            for index, folder in enumerate(spec.items):
                item = {
                    "JobId": job.job_id,
                    "Name": f"{spec.name} {index + 1}"[:100],
                    "BackupTypeId": backup_type,
                    "BaseFolder": folder,
                    "IncludeSubFolders": bool(spec.options.get("include_sub_folders", True)),
                }
                yield from self.api.job_items.create(item)
            created = self._plan(*(yield from self.api.jobs.get_pair(job.job_id)))
            return PlanCreation(
                vendor=VENDOR,
                account=self.account,
                plan_id=created.id,
                dry_run=False,
                plan=created,
                applied_to=(str(device_id),),
            )

        return Op(op, steps)

    def update_plan(self, plan_id: str, spec: PlanSpec) -> Op[Plan]:
        """``PUT /jobs/{id}`` with the spec's schedule, retention and name; the job stays on its device and
        keeps its folders (changing those is refused: its job items would change in further requests)."""
        op = "update_plan"
        job = API.argument(op, "plan_id", plan_id, record_id, required=True)
        if not isinstance(spec, PlanSpec):
            raise _invalid(op, "spec", "spec must be a PlanSpec")
        fetch = self.api.jobs.get_pair(job)

        def steps() -> Steps:
            current = self._plan(*(yield from fetch))
            if spec.device_ids and tuple(spec.device_ids) != current.device_ids:
                raise _invalid(
                    op, "device_ids", f"a CleverFox job stays on its device ({', '.join(current.device_ids)})"
                )
            if spec.items and set(spec.items) != set(current.items):
                raise UnsupportedOperationError(VENDOR, op, "changing a job's folders (its job items) is not built")
            device_id = int(current.device_ids[0])
            device = yield from self.api.devices.get(device_id)
            tz = mapping.windows_zone(device.time_zone_id) or self._tz
            zone = getattr(tz, "key", None)
            if spec.schedule.timezone is not None and not _same_zone(spec.schedule.timezone, zone):
                raise UnsupportedOperationError(
                    VENDOR, op, f"device {device_id} runs its jobs in {zone}, not {spec.schedule.timezone}"
                )
            checked = attrs.evolve(spec, items=spec.items or current.items)
            body = mapping.job_payload(checked, device_id, tz, self.context.clock())
            body.pop("DeviceId", None)  # read-only after creation
            yield from self.api.jobs.update(job, body)
            return self._plan(*(yield from fetch))

        return Op(op, steps)

    def _set_inactive(self, plan_id: str, inactive: bool, operation: str) -> Op[None]:
        job = API.argument(operation, "plan_id", plan_id, record_id, required=True)
        return then(self.api.jobs.update(job, {"IsInactive": inactive}), lambda _: None, operation)

    def disable_plan(self, plan_id: str) -> Op[None]:
        """``PUT /jobs/{id}`` with ``IsInactive: true``: the job stops; it, its logs and backups stay."""
        return self._set_inactive(plan_id, True, "disable_plan")

    def enable_plan(self, plan_id: str) -> Op[None]:
        return self._set_inactive(plan_id, False, "enable_plan")

    def _folder_backup_type(self) -> Generator[Call, Reply, int]:
        found: list[BackupTypeRecord] = [r for r, _ in (yield from collect(self.api.backup_types.list_pairs()))]
        for wanted in ("folder", "file"):
            for record in found:
                if (record.engine_type or record.engine_id or "").lower() == wanted and not mapping.flag(
                    record.is_inactive
                ):
                    return int(record.backup_type_id or 0)
        raise _invalid(
            "create_plan", "options", "no File or Folder backup type is available; pass options['backup_type_id']"
        )

    # -- runs (CleverFox logs) ---------------------------------------------------------------

    def list_jobs(
        self,
        device_id: str | None = None,
        since: dt.datetime | None = None,
        status: JobStatus | None = None,
    ) -> ListOp[Job]:
        if since is not None and (not isinstance(since, dt.datetime) or since.tzinfo is None):
            raise _invalid("list_jobs", "since", "since must be a timezone-aware datetime")
        if status is not None and not isinstance(status, JobStatus):
            raise _invalid("list_jobs", "status", "status must be a JobStatus")
        source = self.api.devices.logs_pairs(device_id) if device_id is not None else self.api.logs.list_pairs()

        def convert(record: Any, raw: Any) -> Job | None:
            found = self._job(record, raw)
            if status is not None and found.status is not status:
                return None
            when = found.finished_at or found.started_at
            if since is not None and when is not None and when < since:
                return None
            return found

        return _mapped(source, convert, "list_jobs")


def _external_id() -> str:
    """An ExternalId for records backupbridge creates, so a create whose answer was lost can be found."""
    return f"backupbridge-{uuid.uuid4()}"


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
