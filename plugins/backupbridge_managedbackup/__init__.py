"""Managed Backup (MSP360-style) for backupbridge: every documented method, its neutral mapping, a simulator.

Registered through the entry-point group ``backupbridge`` exactly as a third-party plugin would be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from backupbridge import Capability, CredentialField, Vendor, hookimpl

if TYPE_CHECKING:
    from backupbridge import AsyncConnection, Connection

    from .simulator import ManagedBackupSimulator
from backupbridge.plugin import Simulator, SimulatorOptions

from .client import BASE_URL, VENDOR, ManagedBackupAPI, decode_error, make_auth
from .driver import ManagedBackupDriver

__all__ = ["VENDOR", "ManagedBackupAPI", "ManagedBackupDriver", "ManagedBackupSimulator", "api", "vendor"]

CAPABILITIES = frozenset(
    {
        Capability.LIST_COMPANIES,
        Capability.GET_COMPANY,
        Capability.CREATE_COMPANY,
        Capability.LIST_DEVICES,
        Capability.GET_DEVICE,
        Capability.LIST_PLANS,
        Capability.GET_PLAN,
        Capability.LIST_JOBS,
        Capability.FIND_COMPANY,
    }
)


def _simulator(options: SimulatorOptions) -> Simulator:
    from .simulator import ManagedBackupSimulator  # imported when a simulator is made: never for real accounts

    return ManagedBackupSimulator(options)


def __getattr__(name: str) -> Any:
    if name == "ManagedBackupSimulator":  # the simulator class, imported on first use
        from .simulator import ManagedBackupSimulator

        return ManagedBackupSimulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


vendor = Vendor(
    name=VENDOR,
    title="Managed Backup (MSP360-style API)",
    credentials=(
        CredentialField(name="username", env="MANAGEDBACKUP_USERNAME", secret=False, description="API user name"),
        CredentialField(name="password", env="MANAGEDBACKUP_PASSWORD", description="API password (3-100 characters)"),
    ),
    make_auth=make_auth,
    make_driver=ManagedBackupDriver,
    capabilities=CAPABILITIES,
    capability_notes={
        "list_companies": "flat: no parent companies",
        "list_devices": "computers; the company is resolved from the company name each carries",
        "list_plans": "one request per computer",
        "get_plan": "searches the computers' plans",
        "create_plan": "the plan body is not publicly documented (conn.vendor.computers.create_plan takes a raw one)",
        "create_device": "computers register themselves when the agent is authorized",
        "list_jobs": "the latest run of each plan (Monitoring); per-plan history via conn.vendor.computers",
        "set_notifications": "notification addresses belong to users, not computers (conn.vendor.users.update)",
        "find_company": "a walk of GET API/Companies",
        "disable_plan": "no documented plan update: disable the plan in the console (migrate cutover lists it)",
        "delete_plan": "not offered: deleting users (DELETE API/Users/{id}) deletes their backup data",
    },
    default_base_url=BASE_URL,
    decode_error=decode_error,
    device_fields_from_jobs=("last_backup_at", "last_backup_status"),  # monitoring rows carry it
    simulator=_simulator,
    docs_url="https://help.mspbackups.com/mbs-api-specification",
)


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    register(vendor)


def api(conn: Connection | AsyncConnection) -> ManagedBackupAPI:
    """``conn``'s vendor client, typed: ``conn.run(api(conn).<endpoint>(...))`` returns the endpoint's record type
    (``conn.vendor`` runs the same endpoints untyped). ``TypeError`` for another vendor's connection."""
    return conn.api_as(ManagedBackupAPI)
