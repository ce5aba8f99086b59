"""Nimbus Vault behind the neutral model: the tutorial plugin of docs/plugins.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator
from typing import Any

from backupbridge import (
    Company,
    CompanyStatus,
    CredentialField,
    Device,
    DeviceStatus,
    Driver,
    DriverContext,
    Job,
    JobStatus,
    OSFamily,
    Vendor,
    hookimpl,
)
from backupbridge.plugin import Batch, Call, ListOp, Op, Reply, capabilities, collect, mapped, with_reply

from .client import BASE_URL, VENDOR, AgentRecord, NimbusAPI, RunRecord, TenantRecord, decode_error, make_auth
from .simulator import NimbusSimulator

RESULTS = {
    "ok": JobStatus.SUCCESS,
    "warning": JobStatus.WARNING,
    "error": JobStatus.FAILED,
    "running": JobStatus.RUNNING,
}
ONLINE: dict[bool | None, DeviceStatus] = {True: DeviceStatus.ONLINE, False: DeviceStatus.OFFLINE}
PLATFORMS = {"windows": OSFamily.WINDOWS, "linux": OSFamily.LINUX, "macos": OSFamily.MACOS}


class NimbusDriver(Driver):
    """The neutral operations, built on the client's ops (``self.api`` is ``conn.vendor``)."""

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self.api = NimbusAPI()

    def _company(self, record: TenantRecord, raw: Any) -> Company:
        status = {"active": CompanyStatus.ACTIVE, "suspended": CompanyStatus.INACTIVE}.get(record.state or "")
        return Company(
            vendor=VENDOR,
            account=self.account,
            id=record.id,
            name=record.name,
            raw=raw,
            status=status or CompanyStatus.UNKNOWN,
            vendor_status=record.state,
        )

    def _device(self, record: AgentRecord, raw: Any) -> Device:
        last = record.last_backup
        return Device(
            vendor=VENDOR, account=self.account, id=record.id, name=record.hostname, company_id=record.tenant_id,
            os=PLATFORMS.get(record.platform or "", OSFamily.UNKNOWN), vendor_os=record.platform,
            status=ONLINE.get(record.online, DeviceStatus.UNKNOWN),
            last_backup_at=last.at if last else None, vendor_backup_status=last.result if last else None,
            last_backup_status=RESULTS.get(last.result or "", JobStatus.UNKNOWN) if last else JobStatus.UNKNOWN,
            raw=raw,
        )  # fmt: skip

    def _job(self, agent: AgentRecord, record: RunRecord, raw: Any) -> Job:
        return Job(
            vendor=VENDOR, account=self.account, id=record.id, device_id=agent.id, company_id=agent.tenant_id,
            status=RESULTS.get(record.result or "", JobStatus.UNKNOWN), vendor_status=record.result,
            started_at=record.started, finished_at=record.ended, size_bytes=record.bytes, error=record.message, raw=raw,
        )  # fmt: skip

    def list_companies(self) -> ListOp[Company]:
        return mapped(self.api.tenants(), lambda pair: self._company(*pair), "list_companies")

    def get_company(self, company_id: str) -> Op[Company]:
        fetch = self.api.tenant(company_id)

        def steps() -> Generator[Call, Reply, Company]:
            record, reply = yield from with_reply(fetch)
            return self._company(record, reply.json())

        return Op("get_company", steps)

    def list_devices(self, company_id: str | None = None) -> ListOp[Device]:
        return mapped(self.api.agents(company_id), lambda pair: self._device(*pair), "list_devices")

    def get_device(self, device_id: str) -> Op[Device]:
        fetch = self.api.agent(device_id)

        def steps() -> Generator[Call, Reply, Device]:
            record, reply = yield from with_reply(fetch)
            return self._device(record, reply.json())

        return Op("get_device", steps)

    def list_jobs(
        self, device_id: str | None = None, since: dt.datetime | None = None, status: JobStatus | None = None
    ) -> ListOp[Job]:
        def wanted(job: Job) -> bool:
            return (status is None or job.status is status) and (
                since is None or (job.started_at is not None and job.started_at >= since)
            )

        def steps() -> Generator[Call | Batch[Job], Reply | None, None]:
            agents = [(yield from with_reply(self.api.agent(device_id)))[0]] if device_id else [
                a for a, _ in (yield from collect(self.api.agents()))
            ]  # fmt: skip
            for agent in agents:
                runs = yield from collect(self.api.runs(agent.id))
                yield Batch([job for job in (self._job(agent, r, raw) for r, raw in runs) if wanted(job)])

        return ListOp("list_jobs", steps)


def _simulator(options: Any) -> NimbusSimulator:
    return NimbusSimulator(options)


vendor = Vendor(
    name=VENDOR,
    title="Nimbus Vault",
    credentials=(CredentialField(name="api_key", env="NIMBUS_API_KEY", description="an API key (Settings > API)"),),
    make_auth=make_auth,
    make_driver=NimbusDriver,
    capabilities=capabilities(
        "list_companies", "get_company", "list_devices", "get_device", "list_jobs", "job_history"
    ),
    capability_notes={"list_jobs": "every run of every agent (one request per agent)"},
    default_base_url=BASE_URL,
    decode_error=decode_error,
    simulator=_simulator,
    secret_fields=("enrollment_token",),
)


@hookimpl
def register_vendors(register: Callable[[Vendor], None]) -> None:
    register(vendor)
