"""Hand-made snapshots for the store tests: one account of a vendor no plugin registers (so it is taken to
have a history of runs and every listing), on a clock the test moves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from backupbridge.bridge import AccountFailure, Snapshot
from backupbridge.errors import BackupBridgeError, ServerError
from backupbridge.models import Company, Device, Job, JobStatus, Plan

VENDOR = "testvendor"
ACCOUNT = "main"


def snapshot(
    now: dt.datetime,
    *,
    jobs: Sequence[Job] = (),
    devices: list[Device] | None = None,
    plans: list[Plan] | None = None,
    companies: list[Company] | None = None,
    failures: Sequence[tuple[str, BackupBridgeError]] = (),
    account: str = ACCOUNT,
    vendor: str = VENDOR,
) -> Snapshot:
    """One account's pass; failed operations have no records (as ``Bridge.snapshot`` gives them)."""
    failed = {operation for operation, _ in failures}
    return Snapshot(
        companies=[] if "list_companies" in failed else (companies if companies is not None else [company()]),
        devices=[] if "list_devices" in failed else (devices if devices is not None else [device()]),
        plans=[] if "list_plans" in failed else (plans if plans is not None else []),
        jobs=[] if "list_jobs" in failed else list(jobs),
        failures=[
            AccountFailure(vendor=vendor, account=account, operation=operation, error=error)
            for operation, error in failures
        ],
        clocks={(vendor, account): now},
        timezones={(vendor, account): dt.UTC},
    )


def company(id: str = "c1", name: str = "Contoso") -> Company:
    return Company(vendor=VENDOR, account=ACCOUNT, id=id, name=name)


def device(id: str = "d1", name: str = "SRV-01", company_id: str = "c1", **kw: object) -> Device:
    return Device(vendor=VENDOR, account=ACCOUNT, id=id, name=name, company_id=company_id, **kw)  # type: ignore[arg-type]


def job(id: str, at: dt.datetime, status: JobStatus = JobStatus.SUCCESS, device_id: str = "d1", **kw: object) -> Job:
    return Job(
        vendor=VENDOR,
        account=ACCOUNT,
        id=id,
        device_id=device_id,
        company_id="c1",
        status=status,
        started_at=at,
        finished_at=at + dt.timedelta(minutes=20),
        **kw,  # type: ignore[arg-type]
    )


def server_down() -> ServerError:
    return ServerError("HTTP 503: service unavailable", status_code=503, vendor=VENDOR)
