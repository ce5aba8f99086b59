"""The neutral operations for vProtect, built on the client's controllers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from typing import Any

from backupbridge import (
    Company,
    Device,
    Driver,
    DriverContext,
    Job,
    JobStatus,
    NotFoundError,
    Plan,
    PlanCreation,
    PlanSpec,
)
from backupbridge.plugin import Batch, Call, ListOp, Op, Reply, collect, invalid_for, mapped, then

from . import mapping, plans
from .client import POLICY_KINDS, TASK_TYPES, VENDOR, VProtectAPI, guid, millis
from .records import PolicyRecord, Ref, ScheduleRecord, TaskRecord, VirtualMachineRecord

Steps = Generator[Call, Reply, Any]
# A finished task's run is listed as a backup, and of the documented task types only these produce or move
# backup data. Every other task (queued, running, failed, cancelled, or in a state or of a type this client
# does not know) is a run the backups listing may not show yet: it is kept, never silently dropped.
DONE_TASK_STATES = ("FINISHED",)
BACKUP_TASK_TYPES = ("EXPORT", "STORE", "SNAPSHOT")
NOT_BACKUP_TASK_TYPES = tuple(t for t in TASK_TYPES if t not in BACKUP_TASK_TYPES)


_invalid = invalid_for(VENDOR)


class VProtectDriver(Driver):
    """vProtect behind the neutral model. ``api`` is the full vendor client."""

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self.api = VProtectAPI()

    def _vms(self) -> Generator[Call, Reply, list[tuple[VirtualMachineRecord, Any]]]:
        return (yield from collect(self.api.virtual_machines.list_pairs()))

    # -- companies (projects) ----------------------------------------------------------------

    def _projects(self, vms: list[tuple[VirtualMachineRecord, Any]] | None = None) -> Generator[Call, Reply, list[Ref]]:
        """The projects the VMs and the policies of every kind name (``vms``: already listed ones)."""
        found: dict[str, Ref] = {}
        for vm, _ in vms if vms is not None else (yield from self._vms()):
            if vm.project is not None:
                found.setdefault(vm.project.guid, vm.project)
        for kind in POLICY_KINDS:  # every kind list_plans covers, so each plan's project is a company
            for policy, _ in (yield from collect(self.api.policies.list_pairs(kind))):
                if policy.project is not None:
                    found.setdefault(policy.project.guid, policy.project)
        return list(found.values())

    def list_companies(self) -> ListOp[Company]:
        def steps() -> Any:
            projects = yield from self._projects()
            yield Batch([mapping.company(p, account=self.account) for p in projects])

        return ListOp("list_companies", steps)

    def _project(
        self, wanted: str, operation: str, vms: list[tuple[VirtualMachineRecord, Any]] | None = None
    ) -> Generator[Call, Reply, Ref]:
        for project in (yield from self._projects(vms)):
            if project.guid == wanted:
                return project
        raise NotFoundError(
            f"{VENDOR} has no project {wanted}",
            status_code=404,
            vendor=VENDOR,
            operation=operation,
            field="project-uuid",
        )

    def get_company(self, company_id: str) -> Op[Company]:
        wanted = guid(company_id, "get_company", "company_id")

        def steps() -> Steps:
            return mapping.company((yield from self._project(wanted, "get_company")), account=self.account)

        return Op("get_company", steps)

    # -- devices (protected entities) --------------------------------------------------------

    def list_devices(self, company_id: str | None = None) -> ListOp[Device]:
        wanted = None if company_id is None else guid(company_id, "list_devices", "company_id")

        def steps() -> Any:
            matched = False

            def convert(pair: tuple[VirtualMachineRecord, Any]) -> Device | None:
                nonlocal matched
                vm, raw = pair
                if wanted is not None and (vm.project is None or vm.project.guid != wanted):
                    return None
                matched = True
                return mapping.device(vm, raw, account=self.account)

            yield from mapped(self.api.virtual_machines.list_pairs(), convert).steps  # page by page
            if wanted is not None and not matched:  # an unknown project is NotFoundError, not an empty listing
                # No VM names the project, so only the policies can: look there.
                yield from self._project(wanted, "list_devices", [])

        return ListOp("list_devices", steps)

    def get_device(self, device_id: str) -> Op[Device]:
        return then(self.api.virtual_machines.get_pair(device_id), self._device, "get_device")

    def _device(self, pair: tuple[VirtualMachineRecord, Any]) -> Device:
        return mapping.device(*pair, account=self.account)

    # -- plans (policies) --------------------------------------------------------------------

    def vms(self) -> Generator[Call, Reply, list[tuple[VirtualMachineRecord, Any]]]:
        """Every virtual machine with its raw JSON, from inside an op: ``vms = yield from driver.vms()``."""
        return (yield from self._vms())

    def _plan(
        self, policy: PolicyRecord, raw: Any, kind: str, vms: list[tuple[VirtualMachineRecord, Any]]
    ) -> Generator[Call, Reply, Plan]:
        schedules: list[ScheduleRecord] = []
        for rule_ref in policy.rules or ():
            rule = yield from self.api.rules.get(rule_ref.guid)
            for schedule_ref in rule.schedules or ():
                schedules.append((yield from self.api.schedules.get(schedule_ref.guid)))
        devices = tuple(
            vm.guid for vm, _ in vms if vm.vmBackupPolicy is not None and vm.vmBackupPolicy.guid == policy.guid
        )
        return mapping.plan(policy, raw, account=self.account, kind=kind, device_ids=devices, schedules=schedules)

    def read_plan(self, policy_guid: str, kind: str) -> Generator[Call, Reply, Plan]:
        """The plan of the policy ``policy_guid`` of ``kind``, read afresh (after a write), from inside an op."""
        policy, raw = yield from self.api.policies.get_pair(policy_guid, kind)
        vms = yield from self._vms()
        return (yield from self._plan(policy, raw, kind, vms))

    def list_plans(self, company_id: str | None = None) -> ListOp[Plan]:
        wanted = None if company_id is None else guid(company_id, "list_plans", "company_id")

        def steps() -> Any:
            vms = yield from self._vms()
            seen = 0
            for kind in POLICY_KINDS:
                scope = {"project_uuid": wanted} if wanted else {}
                for policy, raw in (yield from collect(self.api.policies.list_pairs(kind, **scope))):
                    found = yield from self._plan(policy, raw, kind, vms)
                    seen += 1
                    yield Batch([found])
            if wanted is not None and not seen:  # an unknown project is NotFoundError, not an empty listing
                yield from self._project(wanted, "list_plans", vms)

        return ListOp("list_plans", steps)

    def get_plan(self, plan_id: str) -> Op[Plan]:
        wanted = guid(plan_id, "get_plan", "plan_id")

        def steps() -> Steps:
            vms = yield from self._vms()
            kind, policy, raw = yield from plans.find_policy(self, wanted, "get_plan")
            return (yield from self._plan(policy, raw, kind, vms))

        return Op("get_plan", steps)

    def create_plan(self, spec: PlanSpec, dry_run: bool = False) -> Op[PlanCreation]:
        """The composite vProtect needs: ``POST /schedules``, then ``POST /policies/vm-backup`` (its machines
        assigned), then ``POST /rules/vm-backup`` joining them. A step that fails undoes the earlier ones in
        reverse; ``dry_run`` checks everything and sends no write (the API has no dry run)."""
        return plans.create(self, spec, dry_run)

    def update_plan(self, plan_id: str, spec: PlanSpec) -> Op[Plan]:
        """``PUT`` the vm-backup policy (name, machines, options) and its own schedule where they differ from
        ``spec`` (plans.py says what is refused)."""
        return plans.update(self, plan_id, spec)

    def delete_plan(self, plan_id: str) -> Op[None]:
        """``DELETE /policies/{kind}/{guid}``: the policy goes; backups made under it stay until their retention."""
        return plans.delete(self, plan_id)

    def disable_plan(self, plan_id: str) -> Op[None]:
        """``PUT /policies/{kind}/{guid}`` with ``active: false``: the policy stops; its backups stay."""
        return plans.set_active(self, plan_id, False, "disable_plan")

    def enable_plan(self, plan_id: str) -> Op[None]:
        """``PUT /policies/{kind}/{guid}`` with ``active: true``."""
        return plans.set_active(self, plan_id, True, "enable_plan")

    # -- runs (backups and live tasks) -------------------------------------------------------

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
        filters: dict[str, Any] = {}
        if device_id is not None:
            filters["protected_entity"] = guid(device_id, "list_jobs", "device_id")
        if since is not None:
            filters["since"] = millis(since, "list_jobs", "since")
        statuses = [name for name, neutral in mapping.BACKUP_STATUS.items() if status is None or neutral is status]
        backups = self.api.backups.list_pairs(
            **filters, **({"status": statuses} if status is not None and statuses else {})
        )
        tasks = self.api.tasks.list_pairs(**({"protected_entity": filters["protected_entity"]} if device_id else {}))

        def steps() -> Any:
            # Backups name their rule; plans are policies: map rule -> policy first.
            plan_of_rule: dict[str, str] = {}
            for kind in POLICY_KINDS:
                for policy, _ in (yield from collect(self.api.policies.list_pairs(kind))):
                    for rule in policy.rules or ():
                        plan_of_rule[rule.guid] = policy.guid
            if status is None or statuses:  # page by page: no page of backups is held past its mapping
                yield from mapped(
                    backups, lambda pair: mapping.job(pair[0], pair[1], account=self.account, plan_of_rule=plan_of_rule)
                ).steps
            yield from mapped(tasks, live_run).steps

        def live_run(pair: tuple[TaskRecord, Any]) -> Job | None:
            """A task still to show up as a backup, as a run (``None``: finished, or not a backup task)."""
            task, raw = pair
            if task.state is not None and task.state.name in DONE_TASK_STATES:
                return None
            if task.type is not None and task.type.name in NOT_BACKUP_TASK_TYPES:
                return None
            job = mapping.task_job(task, raw, account=self.account)
            return job if status is None or job.status is status else None

        return ListOp("list_jobs", steps)
