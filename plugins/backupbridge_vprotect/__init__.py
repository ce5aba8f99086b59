"""vProtect-style backups controller for backupbridge: every endpoint and filter, the neutral mapping, a simulator.

Registered through the entry-point group ``backupbridge`` exactly as a third-party plugin would be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from backupbridge import Capability, CredentialField, Vendor, hookimpl

if TYPE_CHECKING:
    from backupbridge import AsyncConnection, Connection

    from .simulator import VProtectSimulator
from backupbridge.plugin import Simulator, SimulatorOptions

from .client import VENDOR, BackupFilters, VProtectAPI, decode_error, make_auth
from .driver import VProtectDriver

__all__ = ["VENDOR", "BackupFilters", "VProtectAPI", "VProtectDriver", "VProtectSimulator", "api", "vendor"]

CAPABILITIES = frozenset(
    {
        Capability.LIST_COMPANIES,
        Capability.GET_COMPANY,
        Capability.LIST_DEVICES,
        Capability.GET_DEVICE,
        Capability.LIST_PLANS,
        Capability.GET_PLAN,
        Capability.LIST_JOBS,
        Capability.JOB_HISTORY,
        Capability.FIND_COMPANY,
        Capability.CREATE_PLAN,
        Capability.UPDATE_PLAN,
        Capability.ENABLE_PLAN,
        Capability.DISABLE_PLAN,
        Capability.DELETE_PLAN,
    }
)


def _simulator(options: SimulatorOptions) -> Simulator:
    from .simulator import VProtectSimulator  # imported when a simulator is made: never for real accounts

    return VProtectSimulator(options)


def __getattr__(name: str) -> Any:
    if name == "VProtectSimulator":  # the simulator class, imported on first use
        from .simulator import VProtectSimulator

        return VProtectSimulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


vendor = Vendor(
    name=VENDOR,
    title="vProtect-style backups controller",
    credentials=(
        CredentialField(name="login", env="VPROTECT_LOGIN", secret=False, description="user login"),
        CredentialField(name="password", env="VPROTECT_PASSWORD", description="user password"),
    ),
    make_auth=make_auth,
    make_driver=VProtectDriver,
    capabilities=CAPABILITIES,
    capability_notes={
        "list_companies": "projects, as the protected entities and policies carry them (no projects controller)",
        "create_company": "projects are managed in the hypervisor or cloud platform, not through this API",
        "list_devices": "virtual machines (other protected entities stay on conn.vendor)",
        "create_device": "protected entities are discovered from hypervisors",
        "list_plans": "policies of every kind, with their rules' schedules",
        "list_jobs": "backups (the history) plus queued and running export tasks",
        "set_notifications": "notifications are configured on the server, not through this API",
        "find_company": "a walk of the projects",
        "create_plan": "VM plans only (vm-backup policies, what=VM): schedule, then policy (its machines), then "
        "rule, undone in reverse if a step fails; other plan kinds, items, retention, notifications and machines "
        "already in a policy are refused; dry_run checks locally (the API has no dry run)",
        "update_plan": "VM plans only: PUT the policy (name, machines, options) and its own schedule; a schedule "
        "shared with other policies, retention and notifications are refused; the time is kept as a UTC hour",
        "disable_plan": "the policy set inactive (PUT with active false); its backups stay",
        "enable_plan": "the policy set active again",
        "delete_plan": "DELETE /policies/{kind}/{guid}: the policy goes, its backups stay until their retention",
    },
    default_base_url=None,
    decode_error=decode_error,
    device_fields_from_jobs=("last_backup_at",),  # the backups carry it
    simulator=_simulator,
    docs_url="https://storware.gitbook.io/backup-and-recovery/api-integration",
)


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    register(vendor)


def api(conn: Connection | AsyncConnection) -> VProtectAPI:
    """``conn``'s vendor client, typed: ``conn.run(api(conn).<endpoint>(...))`` returns the endpoint's record type
    (``conn.vendor`` runs the same endpoints untyped). ``TypeError`` for another vendor's connection."""
    return conn.api_as(VProtectAPI)
