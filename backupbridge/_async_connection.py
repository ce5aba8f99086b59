"""``AsyncConnection``: the async twin of ``Connection``, its operations awaited on an ``AsyncSession``."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import TypeVar

from ._connection_base import ConnectionBase, dry_company, refuse_duplicate
from .activity import apply_activity, summarize_async
from .http import AsyncSession, ListOp, Op
from .models import Company, Device, DeviceSpec, Job, JobStatus, Notification, Plan, PlanCreation, PlanSpec

__all__ = ["AsyncConnection"]

T = TypeVar("T")


class AsyncConnection(ConnectionBase[AsyncSession]):
    """The async twin of ``Connection``: the same operations, awaited (listings are async iterators)."""

    async def run(self, op: Op[T]) -> T:
        return await self._session.run(op)

    def iterate(self, op: ListOp[T]) -> AsyncIterator[T]:
        return self._session.iterate(op)

    def list_companies(self) -> AsyncIterator[Company]:
        return self._session.iterate(self._driver.list_companies())

    async def get_company(self, company_id: str) -> Company:
        return await self._session.run(self._driver.get_company(company_id))

    async def create_company(self, name: str, parent_id: str | None = None, *, dry_run: bool = False) -> Company:
        op = self._driver.create_company(name, parent_id)
        refuse_duplicate(self.vendor_name, name, await self._session.run(self._driver.find_company(name)))
        if dry_run:
            return dry_company(self.vendor_name, self.account, name, parent_id)
        return await self._session.run(op)

    async def find_company(self, name: str) -> Company | None:
        return await self._session.run(self._driver.find_company(name))

    def list_devices(self, company_id: str | None = None, *, activity: bool = True) -> AsyncIterator[Device]:
        """As ``Connection.list_devices``: one job listing first where the device records lack their last
        backup; its failure is this listing's."""
        op = self._driver.list_devices(company_id)
        if not self._needs_jobs(activity):
            return self._session.iterate(op)
        return self._devices_with_activity(op, self._driver.list_jobs())

    async def _devices_with_activity(self, devices: ListOp[Device], jobs: ListOp[Job]) -> AsyncIterator[Device]:
        found = await summarize_async(self._session.iterate(jobs))
        async for device in self._session.iterate(devices):
            yield apply_activity(device, found.get((device.vendor, device.account, device.id)))

    async def get_device(self, device_id: str, *, activity: bool = True) -> Device:
        op = self._driver.get_device(device_id)
        if not self._needs_jobs(activity):
            return await self._session.run(op)
        jobs = self._driver.list_jobs(device_id)
        device = await self._session.run(op)
        found = await summarize_async(self._session.iterate(jobs))
        return apply_activity(device, found.get((device.vendor, device.account, device.id)))

    async def create_device(self, spec: DeviceSpec) -> Device:
        return await self._session.run(self._driver.create_device(spec))

    def list_plans(self, company_id: str | None = None) -> AsyncIterator[Plan]:
        return self._session.iterate(self._driver.list_plans(company_id))

    async def get_plan(self, plan_id: str) -> Plan:
        return await self._session.run(self._driver.get_plan(plan_id))

    async def create_plan(self, spec: PlanSpec, dry_run: bool = False) -> PlanCreation:
        return await self._session.run(self._driver.create_plan(spec, dry_run))

    def list_jobs(
        self, device_id: str | None = None, since: dt.datetime | None = None, status: JobStatus | None = None
    ) -> AsyncIterator[Job]:
        return self._session.iterate(self._driver.list_jobs(device_id, since, status))

    async def set_notifications(self, device_id: str, notification: Notification) -> None:
        await self._session.run(self._driver.set_notifications(device_id, notification))

    async def update_plan(self, plan_id: str, spec: PlanSpec) -> Plan:
        return await self._session.run(self._driver.update_plan(plan_id, spec))

    async def enable_plan(self, plan_id: str) -> None:
        await self._session.run(self._driver.enable_plan(plan_id))

    async def disable_plan(self, plan_id: str) -> None:
        await self._session.run(self._driver.disable_plan(plan_id))

    async def delete_plan(self, plan_id: str) -> None:
        await self._session.run(self._driver.delete_plan(plan_id))

    async def aclose(self) -> None:
        await self._session.aclose()

    async def __aenter__(self) -> AsyncConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
