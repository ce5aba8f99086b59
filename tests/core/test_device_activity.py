"""Every vendor's Device carries what the vendor knows of its last backup and last contact (issue 17, Data).

Devices whose records lack their last backup are filled from ONE job listing (never a request per device);
a failed job listing fails the device listing instead of showing devices that look as if they never backed up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from backupbridge import Device, DeviceStatus, Job, JobStatus, ServerError, connect, connect_async
from backupbridge.bridge import Bridge
from backupbridge.connection import AsyncConnection, Connection
from backupbridge.http import RetryPolicy
from backupbridge.sandbox import make_simulator
from backupbridge.sandbox.options import SimulatorOptions
from backupbridge.vendors import Simulator

FILLED_FROM_JOBS = ("cleverfox", "managedbackup", "vprotect")
# The path of each vendor's run listing (what list_jobs reads and list_devices must not fall back from).
JOB_PATHS = {"cleverfox": "/api/logs", "managedbackup": "/api/Monitoring", "vprotect": "/api/backups"}


class Recorder:
    """A simulator behind a transport that records every request and fails the chosen ones."""

    def __init__(self, vendor: str, *, size: int = 12, fail: Callable[[httpx.Request], bool] | None = None) -> None:
        self.simulator: Simulator = make_simulator(vendor, SimulatorOptions(size=size))
        self.vendor = vendor
        self.fail = fail
        self.paths: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if self.fail is not None and self.fail(request):
            return httpx.Response(500, json={"Message": "the run history is unavailable"})
        return self.simulator.handle(request)

    def connect(self) -> Connection:
        return connect(
            self.vendor,
            transport=httpx.MockTransport(self.handle),
            clock=self.simulator.now,
            retry=RetryPolicy(attempts=1),
            **self.simulator.credentials,
        )

    def connect_async(self) -> AsyncConnection:
        async def handle(request: httpx.Request) -> httpx.Response:
            return self.handle(request)

        return connect_async(
            self.vendor,
            transport=httpx.MockTransport(handle),
            clock=self.simulator.now,
            retry=RetryPolicy(attempts=1),
            **self.simulator.credentials,
        )

    def count(self, work: Callable[[], object]) -> int:
        before = len(self.paths)
        work()
        return len(self.paths) - before


def _when(job: Job) -> dt.datetime | None:
    return job.started_at or job.finished_at


def expected(device: Device, jobs: list[Job]) -> tuple[dt.datetime | None, Job | None]:
    """Restated from the issue: the newest successful run's time, and the newest run that has run."""
    mine = [j for j in jobs if j.device_id == device.id]
    successes = [t for j in mine if j.status is JobStatus.SUCCESS and (t := j.finished_at or j.started_at)]
    timed = [j for j in mine if j.status is not JobStatus.QUEUED and _when(j) is not None]
    newest = None
    for job in timed:  # the first listed wins a tie
        if newest is None or _when(job) > _when(newest):  # type: ignore[operator]
            newest = job
    return max(successes, default=None), newest


@pytest.mark.parametrize("vendor", FILLED_FROM_JOBS)
def test_devices_carry_their_last_backup_from_the_job_listing(vendor: str) -> None:
    rec = Recorder(vendor, size=20)
    with rec.connect() as conn:
        devices = list(conn.list_devices())
        jobs = list(conn.list_jobs())
    filled = 0
    for device in devices:
        last_success, newest = expected(device, jobs)
        assert device.last_backup_at == last_success, device.id
        filled += last_success is not None
        if vendor != "vprotect":  # vProtect's own backupUpToDate gives the status (the device's field wins)
            if newest is None:
                assert device.last_backup_status is JobStatus.UNKNOWN
            else:
                assert (device.last_backup_status, device.vendor_backup_status) == (newest.status, newest.vendor_status)
    assert filled >= len(devices) // 2  # the seeded data backs up most devices: none of them had it before


@pytest.mark.parametrize("vendor", FILLED_FROM_JOBS)
def test_one_job_listing_never_a_request_per_device(vendor: str) -> None:
    rec = Recorder(vendor, size=30)
    with rec.connect() as conn:
        devices = list(conn.list_devices(activity=False))  # logs in first: the counts below are listings only
        plain = rec.count(lambda: list(conn.list_devices(activity=False)))
        runs = rec.count(lambda: list(conn.list_jobs()))
        start = len(rec.paths)
        filled = rec.count(lambda: list(conn.list_devices()))
    assert filled == plain + runs  # the device listing and ONE job listing, each paged
    asked = rec.paths[start:]
    assert not [p for p in asked for d in devices if d.id in p]  # no request names a device


def test_a_vendor_whose_devices_carry_it_pays_no_extra_request() -> None:
    rec = Recorder("idrive360", size=10)
    with rec.connect() as conn:
        list(conn.list_devices(activity=False))
        assert rec.count(lambda: list(conn.list_devices())) == rec.count(
            lambda: list(conn.list_devices(activity=False))
        )


@pytest.mark.parametrize("vendor", FILLED_FROM_JOBS)
def test_a_failed_job_listing_fails_the_device_listing(vendor: str) -> None:
    """Hostile: the run history is down. Devices without their last backup would read as never backed up."""
    rec = Recorder(vendor, fail=lambda r: r.url.path == JOB_PATHS[vendor])
    with rec.connect() as conn:
        listing = conn.list_devices()
        with pytest.raises(ServerError):
            next(iter(listing))
        # Asked for explicitly, the device records alone still come.
        assert list(conn.list_devices(activity=False))


def test_a_job_listing_failing_on_a_later_page_fills_nothing() -> None:
    """Hostile: page 2 of CleverFox's logs fails; half a history must not fill half the devices."""
    rec = Recorder("cleverfox", size=20, fail=lambda r: r.url.path == "/api/logs" and r.url.params.get("PageNo") == "2")
    with rec.connect() as conn:
        seen: list[Device] = []
        with pytest.raises(ServerError):
            seen.extend(conn.list_devices())
    assert seen == []
    assert any(p == "/api/logs" for p in rec.paths)


@pytest.mark.parametrize("vendor", FILLED_FROM_JOBS)
def test_bridge_reports_the_failed_job_listing_as_the_accounts_failure(vendor: str) -> None:
    rec = Recorder(vendor, fail=lambda r: r.url.path == JOB_PATHS[vendor])
    with Bridge([rec.connect()]) as bridge:
        result = bridge.list_devices()
        assert result.records == []
        (failure,) = result.failures
        assert failure.operation == "list_devices" and isinstance(failure.error, ServerError)
        snapshot = bridge.snapshot()
    # The snapshot lists devices without a job listing of their own; its own list_jobs failed, so they stay
    # as listed and the account is not judged.
    assert snapshot.devices and all(d.last_backup_at is None for d in snapshot.devices)
    assert "list_jobs" in snapshot.incomplete[(vendor, "default")]


@pytest.mark.parametrize("vendor", FILLED_FROM_JOBS)
def test_snapshot_fills_devices_from_its_own_jobs_without_another_request(vendor: str) -> None:
    rec = Recorder(vendor, size=20)
    with rec.connect() as conn:
        expected_devices = list(conn.list_devices())
        rec.paths.clear()
        list(conn.list_jobs())
        one_listing = rec.paths.count(JOB_PATHS[vendor])  # its pages
    rec.paths.clear()
    with Bridge([rec.connect()]) as bridge:
        snapshot = bridge.snapshot()
    assert not snapshot.failures
    assert rec.paths.count(JOB_PATHS[vendor]) == one_listing  # the snapshot's own job listing, not a second one
    by_id = {d.id: d for d in snapshot.devices}
    for device in expected_devices:
        mine = by_id[device.id]
        assert (mine.last_backup_at, mine.last_backup_status, mine.vendor_backup_status) == (
            device.last_backup_at,
            device.last_backup_status,
            device.vendor_backup_status,
        )


@pytest.mark.parametrize("vendor", FILLED_FROM_JOBS)
def test_the_async_connection_fills_the_same(vendor: str) -> None:
    rec = Recorder(vendor, size=12)
    with rec.connect() as conn:
        sync = [(d.id, d.last_backup_at, d.last_backup_status) for d in conn.list_devices()]

    async def main() -> list[Any]:
        async with rec.connect_async() as aconn:
            return [(d.id, d.last_backup_at, d.last_backup_status) async for d in aconn.list_devices()]

    assert asyncio.run(main()) == sync


def test_async_listing_fails_with_the_job_listing() -> None:
    rec = Recorder("cleverfox", fail=lambda r: r.url.path == "/api/logs")

    async def main() -> None:
        async with rec.connect_async() as aconn:
            with pytest.raises(ServerError):
                [d async for d in aconn.list_devices()]

    asyncio.run(main())


def test_cleverfox_last_contact_is_the_agents_last_api_check() -> None:
    from backupbridge_cleverfox import mapping

    rec = Recorder("cleverfox", size=20)
    with rec.connect() as conn:
        devices = list(conn.list_devices(activity=False))
    checked = [d for d in devices if d.raw.get("LastApiCheckAt")]
    assert checked
    for device in checked:
        zone = mapping.windows_zone(device.raw.get("TimeZoneId")) or dt.UTC
        at = dt.datetime.fromisoformat(device.raw["LastApiCheckAt"]).replace(tzinfo=zone)
        assert device.last_seen_at == at
        if device.status is not DeviceStatus.INACTIVE:
            assert device.vendor_status == f"LastApiCheckAt {at.isoformat()}"


def test_async_bridge_fills_devices_as_the_sync_one_does() -> None:
    from backupbridge.bridge import AsyncBridge

    with Bridge.sandbox(list(FILLED_FROM_JOBS), size=10) as bridge:
        sync_snapshot = bridge.snapshot()
        sync_listing = bridge.list_devices()

    def facts(devices: list[Device]) -> set[tuple[Any, ...]]:
        return {(d.vendor, d.id, d.last_backup_at, d.last_backup_status, d.vendor_backup_status) for d in devices}

    async def main() -> tuple[list[Device], list[Device]]:
        abridge = AsyncBridge.sandbox(list(FILLED_FROM_JOBS), size=10)
        return (await abridge.snapshot()).devices, (await abridge.list_devices()).records

    snapshot_devices, listed = asyncio.run(main())
    assert facts(snapshot_devices) == facts(sync_snapshot.devices) == facts(sync_listing.records)
    assert facts(listed) == facts(sync_listing.records)
    assert sum(d.last_backup_at is not None for d in listed) >= len(listed) // 2


@pytest.mark.parametrize("vendor", FILLED_FROM_JOBS)
def test_get_device_is_filled_as_the_listing_is(vendor: str) -> None:
    rec = Recorder(vendor, size=12)
    with rec.connect() as conn:
        listed = [d for d in conn.list_devices() if d.last_backup_at is not None][:3]
        assert listed
        for device in listed:
            assert conn.get_device(device.id) == device
            assert conn.get_device(device.id, activity=False).last_backup_at is None


@pytest.mark.parametrize("vendor", FILLED_FROM_JOBS)
def test_get_device_fails_with_its_job_listing(vendor: str) -> None:
    rec = Recorder(vendor, size=6)
    with rec.connect() as conn:
        device_id = next(iter(conn.list_devices(activity=False))).id
    rec.fail = lambda r: r.url.path.endswith(("/logs", "/Monitoring", "/backups"))
    with rec.connect() as conn, pytest.raises(ServerError):
        conn.get_device(device_id)


def test_a_job_listing_that_never_ends_stops_at_the_accounts_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hostile: a server inventing pages of runs. The Bridge gives the account up at its deadline, and the
    thread stops reading soon after (the Bridge's clock is moved by the listing itself: no timing)."""
    import itertools
    import time

    from backupbridge.bridge import DeadlineExceededError
    from backupbridge.sandbox import connect_sandbox

    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])  # what backupbridge.bridge reads
    conn = connect_sandbox("cleverfox", size=5, account="endless")
    template = next(iter(conn.list_jobs()))
    served = itertools.count()

    def endless(*args: Any, **kwargs: Any) -> Iterator[Job]:
        for n in served:
            if n > 10_000:
                raise AssertionError("the run listing was still being read long after the deadline")
            now[0] += 0.01
            yield template

    conn.list_jobs = endless  # type: ignore[method-assign]
    result = Bridge([conn], account_timeout=5).list_devices()
    (failure,) = result.failures
    assert isinstance(failure.error, DeadlineExceededError) and result.records == []
    assert next(served) < 1000
