"""Stage 4, ``migrate cutover``: stop the source plans of devices that are ready on the target.

A source plan is disabled (never deleted: its backups stay restorable until their retention ends) once
every device it covers is ready; one with a device still migrating waits. Where the source's API cannot
disable a plan, it is listed for doing by hand. Migration never calls an operation that deletes backup
data (Managed Backup's ``DELETE Users/{id}`` deletes the user's backups): no stage deletes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..connection import Connection
from ..errors import BackupBridgeError, UnsupportedOperationError
from ..models import Capability
from ..terminal import one_line
from .journal import Journal
from .planfile import MigrationError
from .status import DeviceStatus

__all__ = ["CutoverResult", "cutover"]


@attrs.define(kw_only=True)
class CutoverResult:
    """``disabled``: source plans disabled now; ``already``: disabled by an earlier run; ``by_hand``: plan id ->
    what to do in the source's console; ``waiting``: plan id -> the devices not ready yet."""

    disabled: list[str] = attrs.field(factory=list)
    already: list[str] = attrs.field(factory=list)
    by_hand: dict[str, str] = attrs.field(factory=dict)
    waiting: dict[str, list[str]] = attrs.field(factory=dict)


def _can_disable(source: Connection) -> bool:
    return Capability.DISABLE_PLAN in source.capabilities


def cutover(
    data: Mapping[str, Any], source: Connection, statuses: list[DeviceStatus], journal: Journal
) -> CutoverResult:
    """Disable the source plans whose devices are all ready (``statuses`` from ``migration_status``).

    Raises:
        MigrationError: naming the plan whose disabling failed (the journal keeps what was done).
    """
    side = data["source"]
    if (source.vendor_name, source.account) != (side["vendor"], side["account"]):
        raise MigrationError(f"the plan's source is {side['vendor']}/{side['account']}, not {source.account}")
    ready = {s.source_id for s in statuses if s.ready}
    hostnames = {s.source_id: s.hostname for s in statuses}
    entries = journal.entries()
    result = CutoverResult()
    for plan in data["plans"]:
        devices = plan["source_device_ids"]
        if not devices:
            continue
        not_ready = [hostnames.get(d, d) for d in devices if d not in ready]
        if not_ready:
            if len(not_ready) < len(devices):
                result.waiting[plan["source_id"]] = not_ready
            continue
        step = f"cutover:{plan['source_id']}"
        entry = entries.get(step)
        if entry is not None and entry.state == "done":
            result.already.append(plan["source_id"])
            continue
        if not _can_disable(source):
            ids = ", ".join([plan["source_id"], *plan.get("merged_source_ids", [])])
            result.by_hand[plan["source_id"]] = (
                f"disable {plan['source_name']!r} ({ids}) in the {source.vendor_name} console "
                "(its API cannot disable a plan; do not delete it: its backups stay restorable)"
            )
            continue
        journal.record(step, "started", target_id=plan["source_id"], detail={"name": plan["source_name"]})
        try:
            for plan_id in [plan["source_id"], *plan.get("merged_source_ids", [])]:
                source.disable_plan(plan_id)
        except UnsupportedOperationError as exc:
            journal.record(step, "failed", error=one_line(str(exc)))
            result.by_hand[plan["source_id"]] = f"disable {plan['source_name']!r} by hand: {one_line(str(exc))}"
            continue
        except BackupBridgeError as exc:
            journal.record(step, "failed", error=one_line(str(exc)))
            raise MigrationError(f"step {step}: {one_line(str(exc))}", step=step, vendor=exc.vendor) from exc
        journal.record(step, "done", target_id=plan["source_id"], detail={"name": plan["source_name"]})
        result.disabled.extend([plan["source_id"], *plan.get("merged_source_ids", [])])
    return result
