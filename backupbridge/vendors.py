"""What a plugin registers: a ``Vendor``, and the ``Driver`` base its neutral operations build on."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import httpx

from .errors import UnsupportedOperationError, ValidationError
from .http import ErrorDecoder, ListOp, Op, VendorProfile, collect
from .models import (
    Capability,
    Company,
    Device,
    DeviceSpec,
    Job,
    JobStatus,
    Notification,
    Plan,
    PlanCreation,
    PlanSpec,
)
from .redaction import Secret, register_secret_field

if TYPE_CHECKING:
    from .sandbox import SimulatorOptions

__all__ = ["CredentialField", "Driver", "DriverContext", "Simulator", "Vendor"]


@attrs.frozen(kw_only=True)
class CredentialField:
    """One credential a vendor needs: its keyword, whether it is secret, its environment variable."""

    name: str
    env: str
    secret: bool = True
    description: str = ""


@attrs.frozen(kw_only=True)
class DriverContext:
    """What a driver knows of its connection: the vendor, the account, its time zone and clock.

    ``clock`` gives the current aware time; simulators pass their own, so "how recent" stays
    deterministic in tests.
    """

    vendor: str
    account: str
    timezone: dt.tzinfo
    base_url: str
    clock: Callable[[], dt.datetime] = attrs.field(default=lambda: dt.datetime.now(dt.UTC))


class Simulator(Protocol):
    """An offline fake of a vendor's API. ``handle`` answers one request as the vendor would."""

    @property
    def credentials(self) -> Mapping[str, Any]:
        """The credentials ``connect`` must pass to be let in."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as the vendor would (a protocol: simulators implement it)."""

    def now(self) -> dt.datetime:
        """The simulator's clock (aware)."""

    def device_ids(self) -> set[str]:
        """The declared truth: the ids of every device it holds (the soak compares listings with it)."""

    def secrets(self) -> set[str]:
        """The declared truth: every secret it knows (credentials, minted tokens and session ids)."""


@attrs.frozen(kw_only=True)
class Vendor:
    """A backup vendor, as a plugin registers it.

    Attributes:
        name: the vendor's key (``idrive360``), lower-case.
        title: the product's name for people.
        credentials: the credentials ``connect`` takes.
        make_auth: ``(credentials, base_url)`` -> the ``httpx.Auth`` for every request (secrets arrive
            wrapped in ``Secret``; ``base_url`` locates a login endpoint).
        make_driver: builds the driver (the neutral operations and ``.api``, the full vendor client).
        capabilities: what the neutral API can do with this vendor; the contract suite holds the
            driver to it (an operation outside it must raise ``UnsupportedOperationError``).
        capability_notes: capability name -> a sentence for the capability table ("last run only").
        default_base_url: the vendor's public API root; ``None`` for self-hosted products.
        decode_error: reads the vendor's error bodies.
        simulator: ``SimulatorOptions -> Simulator``, the offline fake used by ``--sandbox`` and tests.
        secret_fields: JSON keys that carry credentials in this vendor's payloads (beyond the generic
            ``password``/``api_key``/token names): scrubbed from cassettes, exports and excerpts.
        device_fields_from_jobs: ``Device`` fields this vendor's device records lack and its runs carry
            (``last_backup_at``...): ``Connection.list_devices`` then reads one job listing to fill them
            (``backupbridge.activity``). Empty (the default): the device records alone, no extra request.
    """

    name: str
    title: str
    credentials: tuple[CredentialField, ...]
    make_auth: Callable[[Mapping[str, Any], str], httpx.Auth]
    make_driver: Callable[[DriverContext], Driver]
    capabilities: frozenset[Capability]
    capability_notes: Mapping[str, str] = attrs.field(factory=dict)
    default_base_url: str | None = None
    decode_error: ErrorDecoder | None = None
    simulator: Callable[[SimulatorOptions], Simulator] | None = None
    docs_url: str | None = None
    secret_fields: tuple[str, ...] = ()
    device_fields_from_jobs: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        _check_make_auth(self.name, self.make_auth)
        _check_device_fields(self.name, self.device_fields_from_jobs)
        # The vendor's own credential-bearing JSON keys join the generic ones the moment it is declared.
        for name in self.secret_fields:
            register_secret_field(name)

    @property
    def profile(self) -> VendorProfile:
        return VendorProfile(name=self.name, decode_error=self.decode_error)

    def wrap_credentials(self, values: Mapping[str, Any]) -> dict[str, Any]:
        by_name = {f.name: f for f in self.credentials}
        return {k: Secret(v) if by_name[k].secret else v for k, v in values.items()}


_FILLED_FROM_JOBS = frozenset({"last_backup_at", "last_backup_status", "vendor_backup_status", "company_id"})


def _check_device_fields(vendor: str, names: tuple[str, ...]) -> None:
    """Only the fields ``backupbridge.activity`` fills can be declared (a typo would silently fill nothing)."""
    unknown = sorted(set(names) - _FILLED_FROM_JOBS)
    if unknown:
        raise ValueError(
            f"vendor {vendor!r}: device_fields_from_jobs names {', '.join(unknown)}; "
            f"the job listing fills only {', '.join(sorted(_FILLED_FROM_JOBS))}"
        )


def _check_make_auth(vendor: str, make_auth: Callable[..., Any]) -> None:
    """``make_auth`` is called as ``make_auth(credentials, base_url)``: one that cannot take both is refused
    when the vendor is declared, naming it (not later, on the first connection, as a bare ``TypeError``)."""
    try:
        signature = inspect.signature(make_auth)
    except (TypeError, ValueError):  # a callable without a readable signature: trusted as is
        return
    try:
        signature.bind({}, "")
    except TypeError:
        raise TypeError(
            f"vendor {vendor!r}: make_auth is called as make_auth(credentials, base_url), but it takes {signature}"
        ) from None


class Driver:
    """The neutral operations for one vendor, written once as sans-I/O ops.

    Each method validates its arguments *when called* (so bad input fails before any request) and
    returns an ``Op`` or ``ListOp``. An operation the vendor lacks is left to this base class, which
    raises ``UnsupportedOperationError`` naming the vendor and the operation.

    Attributes:
        api: the full vendor client (every documented endpoint), reached as ``conn.vendor``.
    """

    api: Any = None

    def __init__(self, context: DriverContext) -> None:
        self.context = context

    @property
    def vendor(self) -> str:
        return self.context.vendor

    @property
    def account(self) -> str:
        return self.context.account

    def _unsupported(self, operation: str) -> UnsupportedOperationError:
        return UnsupportedOperationError(self.vendor, operation)

    def list_companies(self) -> ListOp[Company]:
        raise self._unsupported("list_companies")

    def get_company(self, company_id: str) -> Op[Company]:
        raise self._unsupported("get_company")

    def create_company(self, name: str, parent_id: str | None = None) -> Op[Company]:
        raise self._unsupported("create_company")

    def list_devices(self, company_id: str | None = None) -> ListOp[Device]:
        raise self._unsupported("list_devices")

    def get_device(self, device_id: str) -> Op[Device]:
        raise self._unsupported("get_device")

    def create_device(self, spec: DeviceSpec) -> Op[Device]:
        raise self._unsupported("create_device")

    def list_plans(self, company_id: str | None = None) -> ListOp[Plan]:
        raise self._unsupported("list_plans")

    def get_plan(self, plan_id: str) -> Op[Plan]:
        raise self._unsupported("get_plan")

    def create_plan(self, spec: PlanSpec, dry_run: bool = False) -> Op[PlanCreation]:
        raise self._unsupported("create_plan")

    def list_jobs(
        self,
        device_id: str | None = None,
        since: dt.datetime | None = None,
        status: JobStatus | None = None,
    ) -> ListOp[Job]:
        raise self._unsupported("list_jobs")

    def set_notifications(self, device_id: str, notification: Notification) -> Op[None]:
        raise self._unsupported("set_notifications")

    def find_company(self, name: str) -> Op[Company | None]:
        """The company named ``name`` (case and surrounding space ignored), or None; by default a walk of
        ``list_companies``."""
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("name must be a non-empty string", field="name", vendor=self.vendor)
        wanted = " ".join(name.split()).casefold()
        listing = self.list_companies()

        def steps() -> Any:
            for company in (yield from collect(listing)):
                if " ".join(company.name.split()).casefold() == wanted:
                    return company
            return None

        return Op("find_company", steps())

    def update_plan(self, plan_id: str, spec: PlanSpec) -> Op[Plan]:
        raise self._unsupported("update_plan")

    def enable_plan(self, plan_id: str) -> Op[None]:
        raise self._unsupported("enable_plan")

    def disable_plan(self, plan_id: str) -> Op[None]:
        raise self._unsupported("disable_plan")

    def delete_plan(self, plan_id: str) -> Op[None]:
        raise self._unsupported("delete_plan")
