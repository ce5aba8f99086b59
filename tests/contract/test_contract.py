"""What every registered vendor must do, checked against its simulator.

Parametrised over every vendor registered through the entry-point group, so a new plugin is held to
the same contract the moment it is installed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest

import backupbridge
from backupbridge import (
    Capability,
    Company,
    Device,
    DeviceSpec,
    Frequency,
    Job,
    JobStatus,
    NotFoundError,
    Notification,
    NotifyWhen,
    Plan,
    PlanSpec,
    Schedule,
    UnsupportedOperationError,
)
from backupbridge.sandbox import connect_sandbox

VENDORS = [v.name for v in backupbridge.list_vendors() if v.simulator is not None]


@pytest.fixture(params=VENDORS)
def conn(request: pytest.FixtureRequest) -> backupbridge.Connection:
    return connect_sandbox(request.param, seed=11, size=30, account="contract")


def test_every_vendor_ships_a_simulator() -> None:
    assert VENDORS == [v.name for v in backupbridge.list_vendors()]


def _records_are_neutral(records: list[Any], kind: type, conn: backupbridge.Connection) -> None:
    assert records, f"{conn.vendor_name}: the seeded simulator returned no {kind.__name__}"
    for record in records:
        assert isinstance(record, kind)
        assert record.vendor == conn.vendor_name and record.account == "contract"
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


@pytest.mark.parametrize(("capability", "listing", "kind"), LISTINGS, ids=[c.value for c, _, _ in LISTINGS])
def test_listings(
    conn: backupbridge.Connection, capability: Capability, listing: Callable[[Any], Any], kind: type
) -> None:
    if capability not in conn.capabilities:
        with pytest.raises(UnsupportedOperationError):
            list(listing(conn))
        return
    _records_are_neutral(list(listing(conn)), kind, conn)


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


@pytest.mark.parametrize(("capability", "listed", "listing", "getter"), GETTERS, ids=[g[0].value for g in GETTERS])
def test_get_by_id_and_not_found(
    conn: backupbridge.Connection,
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
    assert (info.value.vendor, info.value.account) == (conn.vendor_name, "contract")


COMPANY_FILTERS: list[tuple[Capability, Callable[[Any, str | None], Any]]] = [
    (Capability.LIST_DEVICES, lambda c, company: c.list_devices(company_id=company)),
    (Capability.LIST_PLANS, lambda c, company: c.list_plans(company_id=company)),
]


@pytest.mark.parametrize(("capability", "listing"), COMPANY_FILTERS, ids=[c.value for c, _ in COMPANY_FILTERS])
def test_company_filter(
    conn: backupbridge.Connection, capability: Capability, listing: Callable[[Any, str | None], Any]
) -> None:
    """Each company's records are exactly the ones that name it; an unknown company is NotFoundError, on
    vendors that filter server-side and client-side alike (never a silently empty list)."""
    everything = list(listing(conn, None))
    companies = list(conn.list_companies())
    for company in companies:
        expected = sorted(r.id for r in everything if r.company_id == company.id)
        assert sorted(r.id for r in listing(conn, company.id)) == expected, company.id
    assert any(r.company_id == c.id for r in everything for c in companies), "the filter was exercised"
    with pytest.raises(NotFoundError) as info:
        list(listing(conn, _unknown_like(companies[0].id)))
    assert (info.value.vendor, info.value.account) == (conn.vendor_name, "contract")


def test_failed_job_filter(conn: backupbridge.Connection) -> None:
    if Capability.LIST_JOBS not in conn.capabilities:
        pytest.skip("no jobs")
    failed = list(conn.list_jobs(status=JobStatus.FAILED))
    assert failed, "seeded data must include failures"
    assert all(j.status is JobStatus.FAILED for j in failed)


def _create_plan_dry_run(conn: backupbridge.Connection) -> None:
    device = next(d for d in conn.list_devices() if d.status.value in ("online", "offline"))
    spec = PlanSpec(
        name="contract",
        company_id=device.company_id,
        device_ids=(device.id,),
        items=("/data",),
        schedule=Schedule(frequency=Frequency.DAILY, time=dt.time(23)),
    )
    result = conn.create_plan(spec, dry_run=True)
    assert result.dry_run and result.plan is None
    assert device.id in result.applied_to + result.not_applied_to


def _create_device(conn: backupbridge.Connection) -> None:
    company = next(iter(conn.list_companies()))
    created = conn.create_device(DeviceSpec(name="CONTRACT-PC01", company_id=company.id, timezone="Europe/Berlin"))
    assert created.name == "CONTRACT-PC01" and created.company_id == company.id
    assert conn.get_device(created.id) == created


def _set_notifications(conn: backupbridge.Connection) -> None:
    device = next(d.id for d in conn.list_devices() if d.status.value == "online")
    conn.set_notifications(device, Notification(emails=("noc@example.com",), when=NotifyWhen.ON_FAILURE))


def _create_company(conn: backupbridge.Connection) -> None:
    created = conn.create_company("Contract Test Ltd")
    assert created.name == "Contract Test Ltd"
    assert created.id in {c.id for c in conn.list_companies()}


WRITES: list[tuple[Capability, Callable[[Any], Any]]] = [
    (Capability.CREATE_COMPANY, _create_company),
    (Capability.CREATE_PLAN, _create_plan_dry_run),
    (Capability.CREATE_DEVICE, _create_device),
    (Capability.SET_NOTIFICATIONS, _set_notifications),
]


@pytest.mark.parametrize(("capability", "write"), WRITES, ids=[w[0].value for w in WRITES])
def test_writes_match_capabilities(
    conn: backupbridge.Connection, capability: Capability, write: Callable[[Any], Any]
) -> None:
    if capability not in conn.capabilities:
        with pytest.raises(UnsupportedOperationError) as info:
            write(conn)
        assert info.value.vendor == conn.vendor_name
        return
    write(conn)


def test_capability_notes_name_real_capabilities(conn: backupbridge.Connection) -> None:
    spec = backupbridge.get_vendor(conn.vendor_name)
    assert set(spec.capability_notes) <= {c.value for c in Capability}
    if Capability.JOB_HISTORY not in conn.capabilities:
        assert "list_jobs" in spec.capability_notes, "say what list_jobs yields without a history"


def test_async_connection_lists_the_same(conn: backupbridge.Connection) -> None:
    import asyncio

    from backupbridge.sandbox import connect_sandbox_async

    async def main() -> list[str]:
        async with connect_sandbox_async(conn.vendor_name, seed=11, size=30, account="contract") as aconn:
            return [d.id async for d in aconn.list_devices()]

    assert asyncio.run(main()) == [d.id for d in conn.list_devices()]
