"""``Connection``: one account of one vendor, its neutral operations run on a blocking ``Session``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TypeVar

from ._connection_base import ConnectionBase, dry_company, refuse_duplicate
from .activity import apply_activity, summarize
from .http import ListOp, Op, Session
from .models import Company, Device, DeviceSpec, Job, JobStatus, Notification, Plan, PlanCreation, PlanSpec

__all__ = ["Connection"]

T = TypeVar("T")


class Connection(ConnectionBase[Session]):
    """One account of one vendor. Use as a context manager, or call ``close()``."""

    def run(self, op: Op[T]) -> T:
        """Run one vendor-client op (``conn.run(conn.api.company_summary())``)."""
        return self._session.run(op)

    def iterate(self, op: ListOp[T]) -> Iterator[T]:
        return self._session.iterate(op)

    def list_companies(self) -> Iterator[Company]:
        """Every company the account can see, sub-companies included (``parent_id`` set)."""
        return self._session.iterate(self._driver.list_companies())

    def get_company(self, company_id: str) -> Company:
        """Raises ``NotFoundError`` for an unknown id."""
        return self._session.run(self._driver.get_company(company_id))

    def create_company(self, name: str, parent_id: str | None = None, *, dry_run: bool = False) -> Company:
        """Create a company; a name the account already has (case ignored) is a ``ConflictError``.

        With ``dry_run`` nothing is written: the arguments and the name are checked, and the company that
        would be made is returned with ``id`` empty and ``raw={"dry_run": True}``.
        """
        op = self._driver.create_company(name, parent_id)  # validates before any request
        refuse_duplicate(self.vendor_name, name, self._session.run(self._driver.find_company(name)))
        if dry_run:
            return dry_company(self.vendor_name, self.account, name, parent_id)
        return self._session.run(op)

    def find_company(self, name: str) -> Company | None:
        """The company named ``name`` (case and surrounding space ignored), or None."""
        return self._session.run(self._driver.find_company(name))

    def list_devices(self, company_id: str | None = None, *, activity: bool = True) -> Iterator[Device]:
        """Devices, lazily; all the account can see, or one company's.

        Where the vendor's device records lack their last backup (``Vendor.device_fields_from_jobs``), one
        job listing is read first (paged, never a request per device) and each device's empty fields are
        filled from its newest runs (``backupbridge.activity``). If that listing fails, so does this one:
        its typed error is raised, never devices that merely look as if they had no backup.
        ``activity=False`` lists the device records alone, with no job request.
        """
        op = self._driver.list_devices(company_id)  # validates before any request
        if not self._needs_jobs(activity):
            return self._session.iterate(op)
        return self._devices_with_activity(op, self._driver.list_jobs())

    def _devices_with_activity(self, devices: ListOp[Device], jobs: ListOp[Job]) -> Iterator[Device]:
        found = summarize(self._session.iterate(jobs))
        for device in self._session.iterate(devices):
            yield apply_activity(device, found.get((device.vendor, device.account, device.id)))

    def get_device(self, device_id: str, *, activity: bool = True) -> Device:
        """One device, filled as ``list_devices`` fills it (from that device's job listing, where its record
        lacks its last backup; a failure of that listing is raised). Raises ``NotFoundError`` for an unknown id.
        """
        op = self._driver.get_device(device_id)
        if not self._needs_jobs(activity):
            return self._session.run(op)
        jobs = self._driver.list_jobs(device_id)
        device = self._session.run(op)
        found = summarize(self._session.iterate(jobs))
        return apply_activity(device, found.get((device.vendor, device.account, device.id)))

    def create_device(self, spec: DeviceSpec) -> Device:
        """Create a device (where the vendor lets a partner pre-register one)."""
        return self._session.run(self._driver.create_device(spec))

    def list_plans(self, company_id: str | None = None) -> Iterator[Plan]:
        return self._session.iterate(self._driver.list_plans(company_id))

    def get_plan(self, plan_id: str) -> Plan:
        return self._session.run(self._driver.get_plan(plan_id))

    def create_plan(self, spec: PlanSpec, dry_run: bool = False) -> PlanCreation:
        """Create a backup plan from a neutral spec; with ``dry_run`` nothing changes at the vendor."""
        return self._session.run(self._driver.create_plan(spec, dry_run))

    def list_jobs(
        self, device_id: str | None = None, since: dt.datetime | None = None, status: JobStatus | None = None
    ) -> Iterator[Job]:
        """Runs (see the capability table: some vendors show only each device's last run)."""
        return self._session.iterate(self._driver.list_jobs(device_id, since, status))

    def set_notifications(self, device_id: str, notification: Notification) -> None:
        self._session.run(self._driver.set_notifications(device_id, notification))

    def update_plan(self, plan_id: str, spec: PlanSpec) -> Plan:
        """Change a plan to ``spec`` (see the capability table)."""
        return self._session.run(self._driver.update_plan(plan_id, spec))

    def enable_plan(self, plan_id: str) -> None:
        self._session.run(self._driver.enable_plan(plan_id))

    def disable_plan(self, plan_id: str) -> None:
        """Stop a plan from running; it is kept, and so are its backups."""
        self._session.run(self._driver.disable_plan(plan_id))

    def delete_plan(self, plan_id: str) -> None:
        """Delete a plan (see the vendor's page for what happens to its backups)."""
        self._session.run(self._driver.delete_plan(plan_id))

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
