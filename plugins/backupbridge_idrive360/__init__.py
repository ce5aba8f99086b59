"""IDrive 360 for backupbridge: the complete MSP API, its neutral mapping and its simulator.

Registered through the entry-point group ``backupbridge`` exactly as a third-party plugin would be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from backupbridge import Capability, CredentialField, Vendor, hookimpl

if TYPE_CHECKING:
    from backupbridge import AsyncConnection, Connection

    from .simulator import IDrive360Simulator
from backupbridge.plugin import Simulator, SimulatorOptions

from .client import BASE_URL, VENDOR, IDrive360API, decode_error, make_auth
from .driver import IDrive360Driver
from .records import ConfigurationId

__all__ = ["VENDOR", "ConfigurationId", "IDrive360API", "IDrive360Driver", "IDrive360Simulator", "api", "vendor"]

CAPABILITIES = frozenset(
    {
        Capability.LIST_COMPANIES,
        Capability.GET_COMPANY,
        Capability.CREATE_COMPANY,
        Capability.LIST_DEVICES,
        Capability.GET_DEVICE,
        Capability.LIST_PLANS,
        Capability.GET_PLAN,
        Capability.CREATE_PLAN,
        Capability.LIST_JOBS,
        Capability.SET_NOTIFICATIONS,
        Capability.FIND_COMPANY,
    }
)


def _simulator(options: SimulatorOptions) -> Simulator:
    from .simulator import IDrive360Simulator  # imported when a simulator is made: never for real accounts

    return IDrive360Simulator(options)


def __getattr__(name: str) -> Any:
    if name == "IDrive360Simulator":  # the simulator class, imported on first use
        from .simulator import IDrive360Simulator

        return IDrive360Simulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


vendor = Vendor(
    name=VENDOR,
    title="IDrive 360 (MSP API)",
    credentials=(
        CredentialField(name="api_key", env="IDRIVE360_API_KEY", description="API key (My Account > API Keys)"),
    ),
    make_auth=make_auth,
    make_driver=IDrive360Driver,
    capabilities=CAPABILITIES,
    capability_notes={
        "list_jobs": "last run of each device only: the API keeps no run history",
        "create_device": "devices enroll themselves: install the agent with the company's configuration id",
        "job_history": "the API shows only each device's last backup status",
        "list_plans": "walks every company of the tree (one request per company)",
        "get_plan": "searches the companies of the tree in turn",
        "set_notifications": "the device's DEFAULT backup set; 'same state' counts as success",
        "find_company": "GET /company/name (exact, case-insensitive)",
        "create_company_dry_run": "no vendor dry run for companies: create_company(dry_run=True) checks locally",
        "update_plan": "no documented endpoint changes a plan",
        "disable_plan": "no documented endpoint: disable the plan in the console (migrate cutover lists it)",
        "enable_plan": "no documented endpoint changes a plan",
        "delete_plan": "no documented endpoint deletes a plan",
    },
    default_base_url=BASE_URL,
    decode_error=decode_error,
    simulator=_simulator,
    docs_url="https://www.idrive.com/endpoint-backup/api-collections",
)


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    register(vendor)


def api(conn: Connection | AsyncConnection) -> IDrive360API:
    """``conn``'s vendor client, typed: ``conn.run(api(conn).<endpoint>(...))`` returns the endpoint's record type
    (``conn.vendor`` runs the same endpoints untyped). ``TypeError`` for another vendor's connection."""
    return conn.api_as(IDrive360API)
