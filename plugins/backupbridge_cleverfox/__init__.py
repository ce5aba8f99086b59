"""CleverFox Backup for backupbridge: every documented resource, its neutral mapping and its simulator.

Registered through the entry-point group ``backupbridge`` exactly as a third-party plugin would be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from backupbridge import Capability, CredentialField, Vendor, hookimpl

if TYPE_CHECKING:
    from backupbridge import AsyncConnection, Connection

    from .simulator import CleverFoxSimulator
from backupbridge.plugin import Simulator, SimulatorOptions

from .client import BASE_URL, VENDOR, CleverFoxAPI, decode_error, make_auth
from .driver import CleverFoxDriver

__all__ = ["VENDOR", "CleverFoxAPI", "CleverFoxDriver", "CleverFoxSimulator", "api", "vendor"]

CAPABILITIES = frozenset(
    {
        Capability.LIST_COMPANIES,
        Capability.GET_COMPANY,
        Capability.CREATE_COMPANY,
        Capability.LIST_DEVICES,
        Capability.GET_DEVICE,
        Capability.CREATE_DEVICE,
        Capability.LIST_PLANS,
        Capability.GET_PLAN,
        Capability.CREATE_PLAN,
        Capability.LIST_JOBS,
        Capability.JOB_HISTORY,
        Capability.SET_NOTIFICATIONS,
        Capability.FIND_COMPANY,
        Capability.ENABLE_PLAN,
        Capability.DISABLE_PLAN,
        Capability.UPDATE_PLAN,
    }
)


def _simulator(options: SimulatorOptions) -> Simulator:
    from .simulator import CleverFoxSimulator  # imported when a simulator is made: never for real accounts

    return CleverFoxSimulator(options)


def __getattr__(name: str) -> Any:
    if name == "CleverFoxSimulator":  # the simulator class, imported on first use
        from .simulator import CleverFoxSimulator

        return CleverFoxSimulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


vendor = Vendor(
    name=VENDOR,
    title="CleverFox Backup",
    credentials=(
        CredentialField(name="api_key", env="CLEVERFOX_API_KEY", description="partner API key (Partner page)"),
    ),
    make_auth=make_auth,
    make_driver=CleverFoxDriver,
    capabilities=CAPABILITIES,
    capability_notes={
        "list_companies": "flat: CleverFox companies have no parent",
        "create_company": "under the key's partner; no parent company",
        "list_devices": "company filter applied client-side (the API has none)",
        "list_plans": "a plan is a CleverFox job (a schedule on one device)",
        "create_plan": "one device per plan; dry_run checks locally (the API has no dry run)",
        "list_jobs": "full run history (CleverFox logs)",
        "set_notifications": "per device (To/Cc/Bcc and the completed/failed/missed flags)",
        "find_company": "a walk of the companies listing",
        "disable_plan": "sets the job IsInactive; the job, its logs and its backups stay",
        "enable_plan": "clears the job IsInactive",
        "update_plan": "PUT /jobs/{id}: name, schedule, retention; the job keeps its device and folders",
        "delete_plan": "the API documents no job deletion",
    },
    default_base_url=BASE_URL,
    secret_fields=("ApiKey",),  # each device's agent key, in device payloads
    decode_error=decode_error,
    device_fields_from_jobs=("last_backup_at", "last_backup_status"),  # the logs carry it
    simulator=_simulator,
    docs_url="https://cleverfoxbackup.com/docs/ab-introduction",
)


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    register(vendor)


def api(conn: Connection | AsyncConnection) -> CleverFoxAPI:
    """``conn``'s vendor client, typed: ``conn.run(api(conn).<endpoint>(...))`` returns the endpoint's record type
    (``conn.vendor`` runs the same endpoints untyped). ``TypeError`` for another vendor's connection."""
    return conn.api_as(CleverFoxAPI)
