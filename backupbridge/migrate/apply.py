"""Stage 2, ``migrate apply``: the plan file's writes, through the neutral operations, each journaled first.

Order: companies (matched ones checked to still exist, the rest looked up by name, then created), then
(CleverFox targets) one registered device per source device, then the plans. Before a write its step is
``started`` in the journal; after it, ``done`` with the id. A second run skips ``done`` steps; a step left
``started`` or ``failed`` by a run that died is looked up on the target first (by name: the write may
have landed) and only sent again if it did not. ``dry_run`` writes nothing, not even the journal: it uses
the vendor's own dry run where there is one (IDrive 360 ``dry_run=true``) and local checks elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..connection import Connection
from ..errors import BackupBridgeError, NotFoundError
from ..models import Capability, Company, Device, DeviceSpec, Notification, NotifyWhen, Plan, PlanSpec
from ..terminal import one_line
from .enrollment import PER_DEVICE_PLANS, company_enrollment, recognise
from .journal import Journal
from .plan import normalise_name
from .planfile import MigrationError, spec_from_json

__all__ = ["PER_DEVICE_PLANS", "ApplyResult", "StepHook", "apply_plan", "company_step", "device_step", "plan_steps"]

StepHook = Callable[[str, str], None]
"""Called as ``hook(step, state)`` after each journal record (progress output; tests inject a crash)."""


@attrs.define(kw_only=True)
class ApplyResult:
    """What one ``apply`` run did.

    Attributes:
        written: steps whose write was sent in this run (created something).
        found: steps whose object was already on the target (looked up: nothing sent).
        skipped: steps the journal already had as done.
        refused: source plan id -> why it is not migrated (from the plan file).
        waiting: plan steps not run yet because their devices have not all enrolled on the target (a
            multi-device target's plan takes its devices when it is created): run apply again later.
        dry_run: what each step would do (dry runs only).
    """

    migration_id: str
    dry: bool
    written: list[str] = attrs.field(factory=list)
    found: list[str] = attrs.field(factory=list)
    skipped: list[str] = attrs.field(factory=list)
    refused: dict[str, str] = attrs.field(factory=dict)
    waiting: dict[str, str] = attrs.field(factory=dict)
    dry_run: dict[str, str] = attrs.field(factory=dict)


def company_step(source_id: str) -> str:
    return f"company:{source_id}"


def device_step(source_id: str) -> str:
    return f"device:{source_id}"


def plan_steps(plan: Mapping[str, Any], per_device: bool) -> list[tuple[str, str | None]]:
    """``(step, source device id)`` of one plan: one step, or one per device for one-device-plan vendors."""
    if per_device:
        return [(f"plan:{plan['source_id']}:{d}", d) for d in plan["source_device_ids"]]
    return [(f"plan:{plan['source_id']}", None)]


class _Run:
    def __init__(
        self,
        data: Mapping[str, Any],
        target: Connection,
        journal: Journal | None,
        hook: StepHook | None,
        result: ApplyResult,
    ) -> None:
        self.data = data
        self.target = target
        self.journal = journal
        self.hook = hook
        self.result = result
        self.entries = journal.entries() if journal is not None else {}
        self.company_ids: dict[str, str] = {}
        self.device_ids: dict[str, str] = {}
        self.root_id: str | None = None

    def record(self, step: str, state: str, **kwargs: Any) -> None:
        if self.journal is None:
            return
        self.journal.record(step, state, **kwargs)
        if self.hook is not None:
            self.hook(step, state)

    def failed(self, step: str, exc: BackupBridgeError) -> MigrationError:
        line = one_line(str(exc))
        if self.journal is not None:
            self.journal.record(step, "failed", error=line)
        return MigrationError(
            f"step {step}: {line} (the journal keeps every step so far: fix this and run 'migrate apply' again)",
            step=step,
            vendor=exc.vendor,
        )

    def done_before(self, step: str) -> str | None:
        entry = self.entries.get(step)
        if entry is not None and entry.state == "done" and entry.target_id:
            self.result.skipped.append(step)
            return entry.target_id
        return None

    # -- companies -----------------------------------------------------------------------------

    def _root(self) -> str | None:
        if self.root_id is None:
            roots = [c for c in self.target.list_companies() if c.parent_id is None]
            self.root_id = roots[0].id if roots else None
        return self.root_id

    def _find_company(self, name: str) -> Company | None:
        key = normalise_name(name)
        found = [c for c in self.target.list_companies() if normalise_name(c.name) == key]
        return found[0] if found else None

    def company(self, company: Mapping[str, Any]) -> None:
        step = company_step(company["source_id"])
        done = self.done_before(step)
        if done is not None:
            self.company_ids[company["source_id"]] = done
            return
        try:
            if company["action"] == "match":
                tid = company["target_id"]
                try:
                    found = self.target.get_company(tid)
                except NotFoundError:
                    raise MigrationError(
                        f"step {step}: the target company {tid} ({company['target_name']!r}) no longer exists; "
                        "run 'migrate plan' again",
                        step=step,
                    ) from None
                self.company_ids[company["source_id"]] = found.id
                if self.result.dry:
                    self.result.dry_run[step] = f"use {found.name!r} ({found.id})"
                    return
                self.record(step, "done", target_id=found.id, detail={"name": found.name, "how": "matched"})
                self.result.found.append(step)
                return
            existing = self._find_company(company["target_name"])
            if existing is not None:
                self.company_ids[company["source_id"]] = existing.id
                if self.result.dry:
                    self.result.dry_run[step] = f"use the existing {existing.name!r} ({existing.id})"
                    return
                self.record(step, "done", target_id=existing.id, detail={"name": existing.name, "how": "found"})
                self.result.found.append(step)
                return
            if self.result.dry:
                name = company["target_name"]
                if not isinstance(name, str) or not name.strip() or len(name) > 100:
                    raise MigrationError(f"step {step}: the company name {name!r} is not valid", step=step)
                self.result.dry_run[step] = f"create {name!r} (checked locally: the vendor has no dry run)"
                return
            self.record(step, "started", detail={"name": company["target_name"]})
            created = self.target.create_company(company["target_name"])
            self.company_ids[company["source_id"]] = created.id
            enrollment = company_enrollment(self.target, created.id, {d["os"] for d in company["devices"]})
            self.record(
                step, "done", target_id=created.id, detail={"name": created.name, "how": "created", **enrollment}
            )
            self.result.written.append(step)
        except BackupBridgeError as exc:
            if isinstance(exc, MigrationError):
                if self.journal is not None:
                    self.journal.record(step, "failed", error=one_line(str(exc)))
                raise
            raise self.failed(step, exc) from exc

    # -- devices (targets where the migration registers them) ------------------------------------

    def device(self, company: Mapping[str, Any], device: Mapping[str, Any], notification: Notification | None) -> None:
        step = device_step(device["source_id"])
        done = self.done_before(step)
        if done is not None:
            self.device_ids[device["source_id"]] = done
            return
        company_id = self.company_ids.get(company["source_id"])
        if company_id is None:  # dry run of a company still to create
            self.result.dry_run[step] = f"register {device['hostname']!r} once its company exists"
            return
        try:
            listed = self.target.list_devices(company_id, activity=False)  # names and ids: no job listing
            existing = recognise(device["hostname"], device["os"], listed)
            if existing is not None:
                self.device_ids[device["source_id"]] = existing.id
                if self.result.dry:
                    self.result.dry_run[step] = f"use the existing device {existing.name!r} ({existing.id})"
                    return
                self.record(step, "done", target_id=existing.id, detail={"name": existing.name, "how": "found"})
                self.result.found.append(step)
                return
            spec = DeviceSpec(
                name=device["hostname"],
                company_id=company_id,
                timezone=device["timezone"],
                external_id=f"bbmig-{self.data['migration_id'][:8]}-{device['source_id']}"[:100],
                notification=notification,
            )
            if self.result.dry:
                self.result.dry_run[step] = f"register {spec.name!r} in company {company_id} ({spec.timezone})"
                return
            self.record(step, "started", detail={"name": spec.name})
            created = self.target.create_device(spec)
            self.device_ids[device["source_id"]] = created.id
            detail = {"name": created.name, "how": "created", "agent_download": created.raw.get("AgentDownloadUrl")}
            self.record(step, "done", target_id=created.id, detail=detail)
            self.result.written.append(step)
        except BackupBridgeError as exc:
            raise self.failed(step, exc) from exc

    # -- plans -----------------------------------------------------------------------------------

    def _existing_plan(self, company_id: str, name: str, device_id: str | None) -> Plan | None:
        for plan in self.target.list_plans(company_id):
            if plan.name == name and (device_id is None or device_id in plan.device_ids):
                return plan
        return None

    def plan(self, plan: Mapping[str, Any], devices_by_company: Mapping[str, list[Device]]) -> None:
        per_device = self.target.vendor_name in PER_DEVICE_PLANS
        base = spec_from_json(plan["spec"], f"plans[{plan['source_id']}].spec")
        source_company = plan["source_company_id"]
        for step, source_device in plan_steps(plan, per_device):
            if self.done_before(step) is not None:
                continue
            company_id = self.company_ids.get(source_company)
            try:
                if per_device:
                    assert source_device is not None
                    target_device = self.device_ids.get(source_device)
                    if company_id is None or target_device is None:
                        self.result.dry_run[step] = f"create {base.name!r} once its device is registered"
                        continue
                    spec = attrs.evolve(base, company_id=company_id, device_ids=(target_device,))
                else:
                    enrolled = self._recognised(plan, devices_by_company.get(source_company, []))
                    spec = attrs.evolve(base, company_id=company_id, device_ids=enrolled)
                    wanted = len(plan["source_device_ids"])
                    if len(enrolled) < wanted and not self.result.dry:
                        # The API cannot add devices to a plan later: create it once all its devices are there.
                        self.result.waiting[step] = f"{len(enrolled)} of {wanted} devices enrolled on the target"
                        continue
                self._create_plan(step, spec, source_device is not None)
            except BackupBridgeError as exc:
                raise self.failed(step, exc) from exc

    def _recognised(self, plan: Mapping[str, Any], devices: list[Device]) -> tuple[str, ...]:
        """The target devices already enrolled that the plan's source devices became."""
        by_source = {d["source_id"]: d for c in self.data["companies"] for d in c["devices"]}
        found = []
        for source_id in plan["source_device_ids"]:
            device = by_source.get(source_id)
            if device is not None:
                hit = recognise(device["hostname"], device["os"], devices)
                if hit is not None:
                    found.append(hit.id)
        return tuple(found)

    def _create_plan(self, step: str, spec: PlanSpec, per_device: bool) -> None:
        device = spec.device_ids[0] if per_device else None
        if spec.company_id is not None:
            existing = self._existing_plan(spec.company_id, spec.name, device)
            if existing is not None and set(existing.items) != set(spec.items):
                raise MigrationError(
                    f"step {step}: the target already has a plan {spec.name!r} ({existing.id}) backing up "
                    f"{sorted(existing.items)}, not {sorted(spec.items)}: a creation cut short by a run that died, "
                    "or another plan of that name; remove or rename it on the target, then run 'migrate apply' again",
                    step=step,
                )
            if existing is not None and existing.schedule is None:
                self._complete_plan(step, existing, spec)
                return
            if existing is not None:
                if self.result.dry:
                    self.result.dry_run[step] = f"use the existing plan {existing.name!r} ({existing.id})"
                    return
                self.record(step, "done", target_id=existing.id, detail={"name": existing.name, "how": "found"})
                self.result.found.append(step)
                return
        if self.result.dry:
            stand_in = ""
            if spec.company_id is None:
                # The company is created by the real run: the vendor checks the plan against the parent.
                spec = attrs.evolve(spec, company_id=self._root())
                stand_in = f" (checked against the parent company {spec.company_id}: its own is not created yet)"
            outcome = self.target.create_plan(spec, dry_run=True)
            self.result.dry_run[step] = (
                f"create {spec.name!r}{stand_in}: vendor dry run ok, applies to {len(outcome.applied_to)} device(s)"
            )
            return
        self.record(step, "started", detail={"name": spec.name, "company_id": spec.company_id})
        created = self.target.create_plan(spec)
        if not created.plan_id:
            raise MigrationError(f"step {step}: the target answered without the new plan's id", step=step)
        self.record(
            step,
            "done",
            target_id=created.plan_id,
            detail={"name": spec.name, "how": "created", "devices": list(created.applied_to)},
        )
        self.result.written.append(step)

    def _complete_plan(self, step: str, existing: Plan, spec: PlanSpec) -> None:
        """A plan of ours on the target without its schedule: a creation cut short between its writes
        (vProtect's composite: the policy made, its schedule and rule not, and the undo did not land either).
        ``update_plan`` gives it the schedule where the target can; elsewhere the run stops at this step."""
        if Capability.UPDATE_PLAN not in self.target.capabilities:
            raise MigrationError(
                f"step {step}: the target already has a plan {spec.name!r} ({existing.id}) without a schedule, and "
                f"{self.target.vendor_name} cannot update plans: remove it on the target, then run 'migrate apply' "
                "again",
                step=step,
            )
        if self.result.dry:
            self.result.dry_run[step] = (
                f"complete the existing plan {existing.name!r} ({existing.id}): give it its schedule"
            )
            return
        self.record(step, "started", target_id=existing.id, detail={"name": spec.name, "company_id": spec.company_id})
        updated = self.target.update_plan(existing.id, spec)
        self.record(
            step,
            "done",
            target_id=updated.id,
            detail={"name": spec.name, "how": "completed", "devices": list(updated.device_ids)},
        )
        self.result.written.append(step)


def _device_notification(plan: Mapping[str, Any]) -> Notification | None:
    raw = plan.get("device_notification")
    if not raw:
        return None
    return Notification(emails=tuple(raw["emails"]), when=NotifyWhen(raw["when"]))


def apply_plan(
    data: Mapping[str, Any],
    target: Connection,
    journal: Journal | None,
    *,
    dry_run: bool = False,
    after_step: StepHook | None = None,
) -> ApplyResult:
    """Carry out a checked plan file on ``target``.

    Args:
        data: the plan file's content (``read_plan_file``).
        target: the target account (the one the plan names).
        journal: the migration's journal (required unless ``dry_run``).
        dry_run: change nothing, journal included.
        after_step: called after each journal record.

    Raises:
        MigrationError: naming the step that failed (the journal keeps everything before it).
    """
    side = data["target"]
    if (target.vendor_name, target.account) != (side["vendor"], side["account"]):
        raise MigrationError(
            f"the plan targets {side['vendor']}/{side['account']}, not {target.vendor_name}/{target.account}"
        )
    if journal is None and not dry_run:
        raise MigrationError("apply needs a journal (only a dry run goes without)")
    result = ApplyResult(migration_id=data["migration_id"], dry=dry_run)
    run = _Run(data, target, None if dry_run else journal, after_step, result)
    for plan in data["plans"]:
        if plan["status"] == "refused":
            result.refused[plan["source_id"]] = plan["refused_reason"] or "refused"
    for company in data["companies"]:
        run.company(company)
    if target.vendor_name in PER_DEVICE_PLANS:
        ready = [p for p in data["plans"] if p["status"] == "ready"]
        wanted = {d for p in ready for d in p["source_device_ids"]}
        notifications = {d: _device_notification(p) for p in ready for d in p["source_device_ids"]}
        for company in data["companies"]:
            for device in company["devices"]:
                if device["source_id"] in wanted:
                    run.device(company, device, notifications.get(device["source_id"]))
    devices_by_company: dict[str, list[Device]] = {}
    for company in data["companies"]:
        tid = run.company_ids.get(company["source_id"])
        if tid is not None and target.vendor_name not in PER_DEVICE_PLANS:
            devices_by_company[company["source_id"]] = list(target.list_devices(tid))
    for plan in data["plans"]:
        if plan["status"] == "ready":
            run.plan(plan, devices_by_company)
    return result
