"""The neutral operations for Managed Backup, built on the client's groups.

Every operation composes the client's ops through the SDK's public combinators (``yield from op``,
``collect``); raw JSON comes from the endpoints' ``(record, raw)`` pairs, never from a reply read by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from typing import TypeVar

from backupbridge import (
    Company,
    DecodingError,
    Device,
    Driver,
    DriverContext,
    Job,
    JobStatus,
    NotFoundError,
    Plan,
    PlanCreation,
    PlanSpec,
    UnsupportedOperationError,
    ValidationError,
)
from backupbridge.plugin import Batch, Call, ListOp, Op, Raw, Reply, collect, invalid_for

from . import mapping
from .client import VENDOR, ManagedBackupAPI, guid, hid
from .records import CompanyRecord, ComputerRecord

T = TypeVar("T")
Steps = Generator[Call, Reply, T]
"""The steps of an op returning ``T``."""
Listing = Generator[Call | Batch[T], Reply | None, None]
"""The steps of a listing of ``T``."""


_invalid = invalid_for(VENDOR)


class ManagedBackupDriver(Driver):
    """Managed Backup behind the neutral model. ``api`` is the full vendor client."""

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self.api = ManagedBackupAPI()

    @property
    def _tz(self) -> dt.tzinfo:
        return self.context.timezone

    def _companies(self) -> Steps[list[tuple[CompanyRecord, Raw]]]:
        return (yield from collect(self.api.companies.list_pairs()))

    def _company_ids(self) -> Steps[dict[str, str]]:
        return {record.name: record.id for record, _ in (yield from self._companies()) if record.name}

    def _company_ids_with(self, wanted: str | None, operation: str) -> Steps[dict[str, str]]:
        """``_company_ids``, and a ``NotFoundError`` when a company filter names no company of the account."""
        company_ids = yield from self._company_ids()
        if wanted is not None and wanted not in company_ids.values():
            raise NotFoundError(
                f"{VENDOR} has no company {wanted}",
                status_code=404,
                vendor=VENDOR,
                operation=operation,
                field="company_id",
            )
        return company_ids

    def _computer_pairs(self) -> Steps[list[tuple[ComputerRecord, Raw]]]:
        return (yield from collect(self.api.computers.list_pairs()))

    def _computers(self) -> Steps[list[ComputerRecord]]:
        return [record for record, _ in (yield from self._computer_pairs())]

    # -- companies ---------------------------------------------------------------------------

    def list_companies(self) -> ListOp[Company]:
        def steps() -> Listing[Company]:
            pairs = yield from self._companies()
            yield Batch([mapping.company(r, raw, account=self.account) for r, raw in pairs])

        return ListOp("list_companies", steps)

    def get_company(self, company_id: str) -> Op[Company]:
        fetch = self.api.companies.get_pair(company_id)

        def steps() -> Steps[Company]:
            record, raw = yield from fetch
            return mapping.company(record, raw, account=self.account)

        return Op("get_company", steps)

    def create_company(self, name: str, parent_id: str | None = None) -> Op[Company]:
        if parent_id is not None:
            raise _invalid("create_company", "parent_id", "Managed Backup companies have no parent company")
        create = self.api.companies.create({"Name": name})

        def steps() -> Steps[Company]:
            answer = yield from create
            for record, raw in (yield from self._companies()):
                if record.id == answer or (not isinstance(answer, str) and record.name == name):
                    return mapping.company(record, raw, account=self.account)
            raise NotFoundError(
                f"{VENDOR} created the company {name!r} but does not list it",
                status_code=200,
                vendor=VENDOR,
                operation="create_company",
            )

        return Op("create_company", steps)

    # -- devices -----------------------------------------------------------------------------

    def list_devices(self, company_id: str | None = None) -> ListOp[Device]:
        wanted = None if company_id is None else guid(company_id, "list_devices", "company_id")

        def steps() -> Listing[Device]:
            # Computers carry their company's *name*: resolve it to the company id first.
            company_ids = yield from self._company_ids_with(wanted, "list_devices")
            devices = [
                mapping.device(r, raw, account=self.account, tz=self._tz, company_ids=company_ids)
                for r, raw in (yield from self._computer_pairs())
            ]
            yield Batch([d for d in devices if wanted is None or d.company_id == wanted])

        return ListOp("list_devices", steps)

    def get_device(self, device_id: str) -> Op[Device]:
        fetch = self.api.computers.get_pair(device_id)

        def steps() -> Steps[Device]:
            record, raw = yield from fetch
            company_ids = yield from self._company_ids()
            return mapping.device(record, raw, account=self.account, tz=self._tz, company_ids=company_ids)

        return Op("get_device", steps)

    # -- plans -------------------------------------------------------------------------------

    def _plans_of(self, computer: ComputerRecord, company_ids: dict[str, str]) -> Steps[list[Plan]]:
        key = computer.computer_hid.strip("{}")
        try:
            listing = self.api.computers.plans_pairs(key)
        except ValidationError as exc:  # the id came from the vendor: its answer is at fault, not the caller
            raise DecodingError(
                f"{VENDOR} listed a computer whose ComputerHID cannot be sent back in a path ({exc})",
                vendor=VENDOR,
                operation="list_plans",
            ) from None
        pairs = yield from collect(listing)
        company = company_ids.get(computer.company_name or "")
        return [
            mapping.plan(r, raw, account=self.account, tz=self._tz, computer=key, company_id=company)
            for r, raw in pairs
        ]

    def list_plans(self, company_id: str | None = None) -> ListOp[Plan]:
        wanted = None if company_id is None else guid(company_id, "list_plans", "company_id")

        def steps() -> Listing[Plan]:
            company_ids = yield from self._company_ids_with(wanted, "list_plans")
            for computer in (yield from self._computers()):
                if wanted is not None and company_ids.get(computer.company_name or "") != wanted:
                    continue
                plans = yield from self._plans_of(computer, company_ids)
                if plans:
                    yield Batch(plans)

        return ListOp("list_plans", steps)

    def get_plan(self, plan_id: str) -> Op[Plan]:
        wanted = guid(plan_id, "get_plan", "plan_id")

        def steps() -> Steps[Plan]:
            # No endpoint reads a plan without its computer: look through the computers' plans.
            company_ids = yield from self._company_ids()
            for computer in (yield from self._computers()):
                for found in (yield from self._plans_of(computer, company_ids)):
                    if found.id.lower() == wanted.lower():
                        return found
            raise NotFoundError(
                f"{VENDOR} has no plan {plan_id} on any computer",
                status_code=404,
                vendor=VENDOR,
                operation="get_plan",
                field="plan_id",
            )

        return Op("get_plan", steps)

    def create_plan(self, spec: PlanSpec, dry_run: bool = False) -> Op[PlanCreation]:
        raise UnsupportedOperationError(
            VENDOR,
            "create_plan",
            "the plan body of POST api/Computers/{hid}/Plans is not publicly documented; "
            "use conn.vendor.computers.create_plan(hid, payload) with the console's plan settings",
        )

    # -- runs --------------------------------------------------------------------------------

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
        wanted = None if device_id is None else hid(device_id, "list_jobs")

        def steps() -> Listing[Job]:
            company_ids = yield from self._company_ids()
            computers = yield from self._computers()
            device_ids = {
                ((c.user_id or "").lower(), (c.computer_name or "").lower()): c.computer_hid.strip("{}")
                for c in computers
            }
            rows = yield from collect(self.api.monitoring.list_pairs())
            jobs = []
            for record, raw in rows:
                found = mapping.job(
                    record, raw, account=self.account, tz=self._tz, device_ids=device_ids, company_ids=company_ids
                )
                if wanted is not None and found.device_id != wanted:
                    continue
                if status is not None and found.status is not status:
                    continue
                if since is not None and found.started_at is not None and found.started_at < since:
                    continue
                jobs.append(found)
            yield Batch(jobs)

        return ListOp("list_jobs", steps)
