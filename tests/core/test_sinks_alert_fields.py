"""What an alert carries for a technician (names, kind, severity, streak, vendor reason, customer, console
link), the same fields on the report's problem rows, and a key that stays ids only across renames."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from backupbridge.alerts import (
    Alert,
    AlertState,
    DeviceKind,
    alerts_from,
    console_templates,
    device_kind,
    reconcile,
    severity_for,
)
from backupbridge.bridge import Snapshot
from backupbridge.health import Health, HealthPolicy, assess
from backupbridge.models import Company, Device, Frequency, Job, JobStatus, OSFamily, Plan, Schedule
from backupbridge.report import RENDERERS, build_report

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def device(os: OSFamily = OSFamily.WINDOWS, vendor_os: str | None = None, **raw: str) -> Device:
    return Device(vendor="v", account="a", id="d1", name="SRV-01", company_id="c1", os=os, vendor_os=vendor_os, raw=raw)


@pytest.mark.parametrize(
    ("dev", "kind"),
    [
        (device(OSFamily.WINDOWS, "Windows Server 2019 Standard"), DeviceKind.SERVER),
        (device(OSFamily.LINUX, "Ubuntu 22.04"), DeviceKind.SERVER),
        (device(OSFamily.WINDOWS, "Windows 11 Pro"), DeviceKind.WORKSTATION),
        (device(OSFamily.MACOS, "macOS 14"), DeviceKind.WORKSTATION),
        (device(OSFamily.UNKNOWN, "KVM", hvType="KVM"), DeviceKind.VM),
        (device(OSFamily.HYPERVISOR, None), DeviceKind.VM),
        (device(OSFamily.OTHER, "Microsoft 365 Mailbox"), DeviceKind.MAILBOX),
        (device(OSFamily.OTHER, None, type="Exchange Online mailbox"), DeviceKind.MAILBOX),
        (device(OSFamily.UNKNOWN, None), DeviceKind.UNKNOWN),
        (None, DeviceKind.UNKNOWN),
    ],
)
def test_device_kind_from_the_neutral_fields(dev: Device | None, kind: DeviceKind) -> None:
    assert device_kind(dev) is kind


def test_severity_from_the_problem_and_the_device_kind() -> None:
    assert severity_for(Health.FAILED, DeviceKind.SERVER) == "critical"
    assert severity_for(Health.FAILED, DeviceKind.WORKSTATION) == "high"
    assert severity_for(Health.FAILED, DeviceKind.UNKNOWN) == "critical"
    assert severity_for(Health.MISSED, DeviceKind.VM) == "critical"
    assert severity_for(Health.NEVER_RUN, DeviceKind.SERVER) == "high"
    assert severity_for(Health.WARNING, DeviceKind.WORKSTATION) == "low"  # never below low
    assert severity_for(Health.WARNING, DeviceKind.MAILBOX) == "low"


def run(status: JobStatus, hours_ago: int, error: str | None = None, id_: str = "") -> Job:
    at = NOW - dt.timedelta(hours=hours_ago)
    return Job(vendor="v", account="a", id=id_ or f"j{hours_ago}", device_id="d1", plan_id="p1", status=status,
               started_at=at, finished_at=at + dt.timedelta(minutes=5), error=error)  # fmt: skip


def snapshot(company_name: str = "Acme GmbH", device_name: str = "SRV-01") -> Snapshot:
    return Snapshot(
        companies=[Company(vendor="v", account="a", id="c1", name=company_name)],
        devices=[
            Device(
                vendor="v",
                account="a",
                id="d1",
                name=device_name,
                company_id="c1",
                os=OSFamily.WINDOWS,
                vendor_os="Windows Server 2022",
            )
        ],
        plans=[
            Plan(
                vendor="v",
                account="a",
                id="p1",
                name="Nightly",
                company_id="c1",
                device_ids=("d1",),
                schedule=Schedule(frequency=Frequency.DAILY, time=dt.time(1, 0)),
            )
        ],
        jobs=[
            run(JobStatus.SUCCESS, 80),
            run(JobStatus.FAILED, 56, "VSS writer timed out"),
            run(JobStatus.FAILED, 32, "VSS writer timed out"),
            run(JobStatus.FAILED, 8, "Access denied to \\\\nas\\share"),
        ],
        clocks={("v", "a"): NOW},
    )


def alerts(snap: Snapshot, **kwargs: object) -> list[Alert]:
    assessment = assess(snap.devices, snap.plans, snap.jobs, now=NOW, policy=HealthPolicy())
    return alerts_from(assessment, NOW, snapshot=snap, **kwargs)  # type: ignore[arg-type]


def test_an_alert_carries_what_a_technician_acts_on() -> None:
    (alert,) = alerts(snapshot(), customers={("v", "a", "c1"): "acme"})
    assert alert.key == "v|a|c1|d1|p1|failed"
    assert (alert.customer, alert.company_name, alert.device_name, alert.plan_name) == (
        "acme", "Acme GmbH", "SRV-01", "Nightly",
    )  # fmt: skip
    assert alert.device_kind is DeviceKind.SERVER and alert.severity == "critical"
    assert alert.consecutive_failures == 3
    assert alert.failing_since == NOW - dt.timedelta(hours=56) + dt.timedelta(minutes=5)
    assert alert.last_success_at == NOW - dt.timedelta(hours=80) + dt.timedelta(minutes=5)
    assert alert.vendor_reason == "Access denied to \\\\nas\\share"  # the vendor's own words, of the latest run
    assert alert.title == "acme / SRV-01 (Nightly): backup failed"
    assert alert.console_url is None  # no vendor documents a console link


def test_a_console_link_only_from_a_vendor_template_with_ids_quoted() -> None:
    (alert,) = alerts(snapshot(), console_urls={"v": "https://console.example/devices/{device_id}?plan={plan_id}"})
    assert alert.console_url == "https://console.example/devices/d1?plan=p1"
    assert console_templates() == {}  # the built-in vendors register none: no invented URLs


def test_renames_never_change_the_key_and_refresh_the_names(tmp_path: Path) -> None:
    state = AlertState(tmp_path / "s.json")
    opened, _ = reconcile(state, alerts(snapshot()))
    assert len(opened) == 1
    opened, recovered = reconcile(state, alerts(snapshot("ACME Holding GmbH", "SRV-01-new")))
    assert opened == [] and recovered == []  # no second ticket for a rename
    (kept,) = state.open.values()
    assert (kept.company_name, kept.device_name, kept.first_seen) == ("ACME Holding GmbH", "SRV-01-new", NOW)


def test_the_state_round_trips_the_new_fields_and_reads_old_files(tmp_path: Path) -> None:
    state = AlertState(tmp_path / "s.json")
    reconcile(state, alerts(snapshot(), customers={("v", "a", "c1"): "acme"}))
    state.save()
    assert AlertState.load(state.path).open == state.open
    old = {
        "open": {
            "k": {"vendor": "v", "account": "a", "company_id": "c1", "device_id": "d1", "plan_id": "p1",
                  "problem": "failed", "severity": "critical", "reason": "x",
                  "first_seen": NOW.isoformat(), "last_seen": NOW.isoformat()}
        }
    }  # fmt: skip
    (tmp_path / "old.json").write_text(json.dumps(old))
    (alert,) = AlertState.load(tmp_path / "old.json").open.values()
    assert alert.device_kind is DeviceKind.UNKNOWN and alert.customer is None and alert.consecutive_failures == 0


def test_report_rows_carry_the_alert_fields_and_key() -> None:
    snap = snapshot()
    assessment = assess(snap.devices, snap.plans, snap.jobs, now=NOW)
    report = build_report(snap, assessment, generated_at=NOW, customers={("v", "a", "c1"): "acme"})
    (alert,) = alerts_from(assessment, NOW, snapshot=snap, customers={("v", "a", "c1"): "acme"})
    data = report.to_json()
    (row,) = data["problems"]
    for field in ("key", "customer", "company_id", "device_id", "plan_id", "severity", "consecutive_failures",
                  "vendor_reason", "console_url"):  # fmt: skip
        assert row[field] == alert.to_json()[field], field
    assert row["device_kind"] == "server" and (row["company"], row["device"], row["plan"]) == (
        "Acme GmbH", "SRV-01", "Nightly",
    )  # fmt: skip
    assert data["companies"][0]["customer"] == "acme"
    (customer,) = data["customers"]
    assert customer["customer"] == "acme" and customer["companies"] == ["v/a/c1"] and customer["devices"] == 1

    out = io.StringIO()
    RENDERERS["csv"](report, out)
    (csv_row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert csv_row["key"] == alert.key and csv_row["severity"] == "critical" and csv_row["customer"] == "acme"
    assert csv_row["consecutive_failures"] == "3" and csv_row["device_id"] == "d1"
    out = io.StringIO()
    RENDERERS["ndjson"](report, out)
    problems = [json.loads(x) for x in out.getvalue().splitlines() if json.loads(x)["kind"] == "problem"]
    assert [p["key"] for p in problems] == [alert.key] and problems[0]["customer"] == "acme"


def test_a_vendor_plugin_can_carry_a_console_link_template() -> None:
    import attrs
    import httpx

    from backupbridge import plugins
    from backupbridge.hookspecs import hookimpl
    from backupbridge.vendors import Driver, Vendor

    @attrs.frozen(kw_only=True)
    class LinkedVendor(Vendor):
        console_url: str = "https://console.example/c/{company_id}/d/{device_id}"

    vendor = LinkedVendor(
        name="linked", title="Linked", credentials=(), make_auth=lambda creds, base_url: httpx.Auth(),
        make_driver=Driver, capabilities=frozenset(),
    )  # fmt: skip

    class Plugin:
        @hookimpl
        def register_vendors(self, register: object) -> None:
            register(vendor)  # type: ignore[operator]

    snap = snapshot()
    snap = Snapshot(
        companies=[attrs.evolve(c, vendor="linked") for c in snap.companies],
        devices=[attrs.evolve(d, vendor="linked", id="d 1/x") for d in snap.devices],
        plans=[attrs.evolve(p, vendor="linked", device_ids=("d 1/x",)) for p in snap.plans],
        jobs=[attrs.evolve(j, vendor="linked", device_id="d 1/x") for j in snap.jobs],
    )
    with plugins.registered_plugin(Plugin(), "linked-plugin"):
        assert console_templates() == {"linked": "https://console.example/c/{company_id}/d/{device_id}"}
        assessment = assess(snap.devices, snap.plans, snap.jobs, now=NOW)
        (alert,) = alerts_from(assessment, NOW, snapshot=snap)
        (row,) = build_report(snap, assessment, generated_at=NOW).problems
    assert alert.console_url == row.console_url == "https://console.example/c/c1/d/d%201%2Fx"
    assert alert.key == "linked|a|c1|d 1/x|p1|failed"  # the key keeps the ids as they are
