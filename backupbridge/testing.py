"""pytest plugin for integrators (simulated vendor accounts as fixtures, no network), and the contract
suite a vendor plugin runs against its simulator (``VendorContract``, at the end).

Installed with backupbridge (entry point ``pytest11``). In a PSA/RMM integration's tests::

    def test_tickets_for_failed_backups(backupbridge_sandbox):
        conn = backupbridge_sandbox("cleverfox", seed=3, size=20)
        failed = [j for j in conn.list_jobs() if j.status.value == "failed"]
        assert my_integration.open_tickets(failed) == len(failed)

Knobs: ``seed`` and ``size`` (the seeded data), ``latency`` (seconds per request), ``faults``
(``backupbridge.sandbox.Faults``). ``conn.simulator`` is the simulator (its tables are the ground truth),
``conn.transport`` counts requests and injected faults. Connections are closed after the test; retries
run without sleeping.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from .connection import AsyncConnection, Connection
from .errors import NotFoundError, UnsupportedOperationError
from .http import ListOp
from .models import (
    BackupTarget,
    Capability,
    Company,
    Device,
    DeviceSpec,
    Frequency,
    Job,
    JobStatus,
    Notification,
    NotifyWhen,
    Plan,
    PlanSpec,
    Schedule,
)
from .plugins import get_vendor
from .sandbox import Faults, SandboxConnection, connect_sandbox, connect_sandbox_async

__all__ = ["VendorContract", "backupbridge_async_sandbox", "backupbridge_sandbox", "backupbridge_vendors"]

SandboxFactory = Callable[..., Connection]


@pytest.fixture
def backupbridge_sandbox() -> Iterator[SandboxFactory]:
    """``factory(vendor, *, seed=0, size=40, latency=0.0, faults=None, **connect_options) -> Connection``."""
    import stamina

    opened: list[Connection] = []

    def factory(
        vendor: str,
        *,
        seed: int = 0,
        size: int = 40,
        latency: float = 0.0,
        faults: Faults | None = None,
        **options: Any,
    ) -> Connection:
        conn = connect_sandbox(vendor, seed=seed, size=size, latency=latency, faults=faults, **options)
        opened.append(conn)
        return conn

    with stamina.set_testing(True, attempts=100, cap=True):
        yield factory
    for conn in opened:
        conn.close()


@pytest.fixture
def backupbridge_async_sandbox() -> Iterator[Callable[..., AsyncConnection]]:
    """The async twin: ``factory(vendor, ...) -> AsyncConnection`` (use ``async with`` to close it)."""
    import stamina

    def factory(
        vendor: str,
        *,
        seed: int = 0,
        size: int = 40,
        latency: float = 0.0,
        faults: Faults | None = None,
        **options: Any,
    ) -> AsyncConnection:
        return connect_sandbox_async(vendor, seed=seed, size=size, latency=latency, faults=faults, **options)

    with stamina.set_testing(True, attempts=100, cap=True):
        yield factory


@pytest.fixture
def backupbridge_vendors() -> list[str]:
    """Every installed vendor that ships a simulator (to parametrise an integration's tests over them)."""
    from .plugins import list_vendors

    return [v.name for v in list_vendors() if v.simulator is not None]


# -- the contract suite ---------------------------------------------------------------------------------------
# What every vendor plugin must do, checked against its own simulator. A third party runs it from the
# installed wheel against its vendor by subclassing ``VendorContract`` in a test module:
#
#     from backupbridge.testing import VendorContract
#
#     class TestMyVendorContract(VendorContract):
#         vendor = "myvendor"
#
# (or overriding the ``contract_vendor`` fixture with ``params=[...]`` to run it for several vendors).


def _records_are_neutral(records: list[Any], kind: Any, conn: Connection) -> None:
    assert records, f"{conn.vendor_name}: the seeded simulator returned no {kind.__name__}"
    for record in records:
        assert isinstance(record, kind)
        assert record.vendor == conn.vendor_name and record.account == conn.account
        assert isinstance(record.id, str) and record.id
        for value in (
            getattr(record, name, None) for name in ("last_backup_at", "next_backup_at", "started_at", "finished_at")
        ):
            assert value is None or (isinstance(value, dt.datetime) and value.tzinfo is not None)
    assert len({r.id for r in records}) == len(records), "ids are unique"


LISTINGS: list[tuple[Capability, Callable[[Any], Any], type]] = [
    (Capability.LIST_COMPANIES, lambda c: c.list_companies(), Company),
    (Capability.LIST_DEVICES, lambda c: c.list_devices(), Device),
    (Capability.LIST_PLANS, lambda c: c.list_plans(), Plan),
    (Capability.LIST_JOBS, lambda c: c.list_jobs(), Job),
]


def _unknown_like(known: str) -> str:
    """An id of the same shape as a real one (a GUID for GUID vendors), that no record has."""
    if re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", known):
        return "00000000-0000-4000-8000-000000000000"
    if known.isdigit():
        return "999999999"
    return "zz" + known[2:][::-1]


GETTERS: list[tuple[Capability, Capability, Callable[[Any], Any], Callable[[Any, str], Any]]] = [
    (Capability.GET_COMPANY, Capability.LIST_COMPANIES, lambda c: c.list_companies(), lambda c, i: c.get_company(i)),
    (Capability.GET_DEVICE, Capability.LIST_DEVICES, lambda c: c.list_devices(), lambda c, i: c.get_device(i)),
    (Capability.GET_PLAN, Capability.LIST_PLANS, lambda c: c.list_plans(), lambda c, i: c.get_plan(i)),
]


COMPANY_FILTERS: list[tuple[Capability, Callable[[Any, str | None], Any]]] = [
    (Capability.LIST_DEVICES, lambda c, company: c.list_devices(company_id=company)),
    (Capability.LIST_PLANS, lambda c, company: c.list_plans(company_id=company)),
]


PLAN_KINDS: tuple[tuple[BackupTarget, tuple[str, ...]], ...] = (
    (BackupTarget.FILES, ("/data",)),
    (BackupTarget.VM, ()),
)
"""The plan kinds the create_plan check asks a dry run for, in turn: a file plan, then a VM plan."""


def _refusal_names_the_write(conn: Connection, exc: UnsupportedOperationError) -> None:
    assert exc.vendor == conn.vendor_name, f"the refusal names vendor {exc.vendor!r}, not {conn.vendor_name!r}"
    assert exc.operation == "create_plan", f"the refusal names operation {exc.operation!r}, not 'create_plan'"


def _create_plan_dry_run(conn: Connection) -> None:
    """A dry run of a file plan on a device; a vendor that declares create_plan but cannot make that kind of
    plan may refuse it (``UnsupportedOperationError`` naming the vendor and ``create_plan``), and then a VM
    plan is asked for, on each device in turn, until one is accepted. Any other outcome fails, and so does a
    vendor that refuses every kind on every device. Without the capability the first refusal propagates."""
    devices = [d for d in conn.list_devices() if d.status.value in ("online", "offline")]
    assert devices, f"{conn.vendor_name}: no online or offline device to plan for"
    refusals: list[str] = []
    for what, items in PLAN_KINDS:
        for device in devices:
            spec = PlanSpec(
                name="contract",
                company_id=device.company_id,
                device_ids=(device.id,),
                what=what,
                items=items,
                schedule=Schedule(frequency=Frequency.DAILY, time=dt.time(23)),
            )
            try:
                result = conn.create_plan(spec, dry_run=True)
            except UnsupportedOperationError as exc:
                if Capability.CREATE_PLAN not in conn.capabilities:
                    raise
                _refusal_names_the_write(conn, exc)
                refusals.append(f"{what.value} on {device.id}: {exc.message}")
                continue
            assert Capability.CREATE_PLAN in conn.capabilities, "create_plan works but is not declared"
            assert result.dry_run and result.plan is None
            assert device.id in result.applied_to + result.not_applied_to
            return
    raise AssertionError(
        f"{conn.vendor_name} declares create_plan but refused every plan kind tried: " + "; ".join(refusals[:4])
    )


def _create_device(conn: Connection) -> None:
    company = next(iter(conn.list_companies()))
    created = conn.create_device(DeviceSpec(name="CONTRACT-PC01", company_id=company.id, timezone="Europe/Berlin"))
    assert created.name == "CONTRACT-PC01" and created.company_id == company.id
    assert conn.get_device(created.id) == created


def _set_notifications(conn: Connection) -> None:
    device = next(d.id for d in conn.list_devices() if d.status.value == "online")
    conn.set_notifications(device, Notification(emails=("noc@example.com",), when=NotifyWhen.ON_FAILURE))


def _create_company(conn: Connection) -> None:
    created = conn.create_company("Contract Test Ltd")
    assert created.name == "Contract Test Ltd"
    assert created.id in {c.id for c in conn.list_companies()}


WRITES: list[tuple[Capability, Callable[[Any], Any]]] = [
    (Capability.CREATE_COMPANY, _create_company),
    (Capability.CREATE_PLAN, _create_plan_dry_run),
    (Capability.CREATE_DEVICE, _create_device),
    (Capability.SET_NOTIFICATIONS, _set_notifications),
]


class VendorContract:
    """The contract suite: every check a vendor plugin must pass, run against its simulator.

    Subclass it in a test module named ``Test...`` and set ``vendor``; ``seed``, ``size`` and ``account``
    choose the seeded data. Every operation is held to the vendor's declared capabilities: a capability it
    claims must work (neutral records, unique ids, aware times, ``NotFoundError`` for unknown ids and
    companies), one it does not must raise ``UnsupportedOperationError``.
    """

    vendor: ClassVar[str] = ""
    seed: ClassVar[int] = 11
    size: ClassVar[int] = 30
    account: ClassVar[str] = "contract"

    @pytest.fixture
    def contract_vendor(self) -> str:
        """The vendor under test (override with ``params=`` to run the suite for several)."""
        if not self.vendor:
            pytest.fail(f"{type(self).__name__} must set vendor (or override the contract_vendor fixture)")
        return self.vendor

    @pytest.fixture
    def conn(self, contract_vendor: str) -> Iterator[SandboxConnection]:
        import stamina

        with stamina.set_testing(True, attempts=100, cap=True):
            conn = connect_sandbox(contract_vendor, seed=self.seed, size=self.size, account=self.account)
            try:
                yield conn
            finally:
                conn.close()

    def test_the_vendor_ships_a_simulator(self, contract_vendor: str) -> None:
        assert get_vendor(contract_vendor).simulator is not None, f"{contract_vendor} ships no simulator"

    def test_simulator_declares_its_truth(self, conn: SandboxConnection) -> None:
        simulator = conn.simulator
        if Capability.LIST_DEVICES in conn.capabilities:
            assert {d.id for d in conn.list_devices()} == set(simulator.device_ids())
        credentials = get_vendor(conn.vendor_name).credentials
        secret = {f.name for f in credentials if f.secret}
        assert {str(v) for k, v in simulator.credentials.items() if k in secret} <= set(simulator.secrets())

    def test_operations_are_values(self, conn: Connection) -> None:
        """An op runs again with the same result; a listing iterated again yields every record again."""
        driver = conn._driver
        for capability, build in (
            (Capability.LIST_COMPANIES, driver.list_companies),
            (Capability.LIST_DEVICES, driver.list_devices),
        ):
            if capability in conn.capabilities:
                listing: ListOp[Any] = build()
                once = [r.id for r in conn.iterate(listing)]
                assert once and [r.id for r in conn.iterate(listing)] == once
        if Capability.GET_DEVICE in conn.capabilities and Capability.LIST_DEVICES in conn.capabilities:
            op = driver.get_device(next(iter(conn.list_devices())).id)
            assert conn.run(op) == conn.run(op)

    @pytest.mark.parametrize(("capability", "listing", "kind"), LISTINGS, ids=[c.value for c, _, _ in LISTINGS])
    def test_listings(
        self, conn: Connection, capability: Capability, listing: Callable[[Any], Any], kind: type
    ) -> None:
        if capability not in conn.capabilities:
            with pytest.raises(UnsupportedOperationError):
                list(listing(conn))
            return
        _records_are_neutral(list(listing(conn)), kind, conn)

    @pytest.mark.parametrize(("capability", "listed", "listing", "getter"), GETTERS, ids=[g[0].value for g in GETTERS])
    def test_get_by_id_and_not_found(
        self,
        conn: Connection,
        capability: Capability,
        listed: Capability,
        listing: Callable[[Any], Any],
        getter: Callable[[Any, str], Any],
    ) -> None:
        if capability not in conn.capabilities:
            with pytest.raises(UnsupportedOperationError):
                getter(conn, "1")
            return
        first = next(iter(listing(conn)))
        assert getter(conn, first.id) == first
        with pytest.raises(NotFoundError) as info:
            getter(conn, _unknown_like(first.id))
        assert (info.value.vendor, info.value.account) == (conn.vendor_name, conn.account)

    @pytest.mark.parametrize(("capability", "listing"), COMPANY_FILTERS, ids=[c.value for c, _ in COMPANY_FILTERS])
    def test_company_filter(
        self, conn: Connection, capability: Capability, listing: Callable[[Any, str | None], Any]
    ) -> None:
        """Each company's records are exactly the ones that name it; an unknown company is NotFoundError, on
        vendors that filter server-side and client-side alike (never a silently empty list)."""
        if capability not in conn.capabilities:
            with pytest.raises(UnsupportedOperationError):
                list(listing(conn, None))
            return
        everything = list(listing(conn, None))
        companies = list(conn.list_companies())
        for company in companies:
            expected = sorted(r.id for r in everything if r.company_id == company.id)
            assert sorted(r.id for r in listing(conn, company.id)) == expected, company.id
        assert any(r.company_id == c.id for r in everything for c in companies), "the filter was exercised"
        with pytest.raises(NotFoundError) as info:
            list(listing(conn, _unknown_like(companies[0].id)))
        assert (info.value.vendor, info.value.account) == (conn.vendor_name, conn.account)

    def test_failed_job_filter(self, conn: Connection) -> None:
        if Capability.LIST_JOBS not in conn.capabilities:
            pytest.skip("no jobs")
        failed = list(conn.list_jobs(status=JobStatus.FAILED))
        assert failed, "seeded data must include failures"
        assert all(j.status is JobStatus.FAILED for j in failed)

    @pytest.mark.parametrize(("capability", "write"), WRITES, ids=[w[0].value for w in WRITES])
    def test_writes_match_capabilities(
        self, conn: Connection, capability: Capability, write: Callable[[Any], Any]
    ) -> None:
        if capability not in conn.capabilities:
            with pytest.raises(UnsupportedOperationError) as info:
                write(conn)
            assert info.value.vendor == conn.vendor_name
            return
        write(conn)

    def test_capability_notes_name_real_capabilities(self, conn: Connection) -> None:
        spec = get_vendor(conn.vendor_name)
        assert set(spec.capability_notes) <= {c.value for c in Capability}
        if Capability.JOB_HISTORY not in conn.capabilities:
            assert "list_jobs" in spec.capability_notes, "say what list_jobs yields without a history"

    def test_async_connection_lists_the_same(self, conn: Connection) -> None:
        import asyncio

        from backupbridge.sandbox import connect_sandbox_async

        async def main() -> list[str]:
            async with connect_sandbox_async(
                conn.vendor_name, seed=self.seed, size=self.size, account=self.account
            ) as aconn:
                return [d.id async for d in aconn.list_devices()]

        assert asyncio.run(main()) == [d.id for d in conn.list_devices()]
